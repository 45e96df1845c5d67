"""The export use case: a playbook -> the scripts and README an admin uploads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wbplay.errors import PathError
from wbplay.library.export.compile import compile_plan
from wbplay.library.export.readme import readme
from wbplay.library.export.scripts import Exported, script
from wbplay.playbook.model import Playbook

# engine -> (file, mode) for each script.
ENGINES: dict[str, tuple[tuple[str, str], ...]] = {
    "intune": (("detect.ps1", "detect"), ("remediate.ps1", "remediate")),
    "configmgr": (("discovery.ps1", "discover"), ("remediation.ps1", "configmgr")),
}


@dataclass(frozen=True, slots=True)
class ExportResult:
    engine: str
    directory: Path
    files: tuple[Exported, ...]  # the scripts, then README.md
    left_out: tuple[str, ...]  # irreversible steps not in the remediation (no --allow)
    manual: tuple[str, ...]  # steps detection reports and no script runs
    reported: dict[str, str]  # reported-only steps (not checked unattended) and why


def export(
    playbook: Playbook,
    engine: str,
    out_dir: Path,
    variables: Mapping[str, Any],
    allow: frozenset[str] = frozenset(),
) -> ExportResult:
    """Write the engine's scripts and README.md into ``out_dir``; raises ExportError / PathError."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {sorted(ENGINES)}")
    plan = compile_plan(playbook, variables, allow)
    scripts = [script(plan, mode, name) for name, mode in ENGINES[engine]]
    steps = plan.data["steps"]
    left_out = tuple(s["id"] for s in steps if s["remedy"] not in ("", "manual") and not s["consented"])
    manual = tuple(s["id"] for s in steps if s["remedy"] == "manual")
    reported = {s["id"]: s["reported"] for s in steps if s.get("reported")}
    doc = Exported("README.md", readme(playbook, engine, scripts, left_out, manual, reported))
    files = (*scripts, doc)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for f in files:
            (out_dir / f.name).write_bytes(f.text.encode("utf-8"))
    except OSError as e:
        raise PathError(str(out_dir), f"cannot write the export: {e.strerror or e}") from None
    return ExportResult(engine, out_dir, files, left_out, manual, reported)
