"""The library's use cases: validate, list, triage; and the authoring tools (new, doc, lint, export)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wbplay import resources
from wbplay.app.runs import RunRequest, library, load_playbook
from wbplay.errors import PlaybookError, UsageError
from wbplay.hosts.factory import ConnectOptions, open_host
from wbplay.library import coverage, scaffold
from wbplay.library import triage as triage_mod
from wbplay.library.export import build as export_mod
from wbplay.library.export.results import document as results_document
from wbplay.library.export.results import read_results
from wbplay.playbook import lint as lint_mod
from wbplay.playbook import load as playbook_mod
from wbplay.playbook.variables import bind
from wbplay.report import ReportSpec
from wbplay.report import imported as imported_mod
from wbplay.run.runner import check_allow
from wbplay.sim.state import read_state
from wbplay.vocab import kinddoc


@dataclass(frozen=True, slots=True)
class ValidationResult:
    path: Path
    kind: str  # "playbook" | "scenarios"
    items: int  # steps of a playbook, scenarios of a scenario file
    error: PlaybookError | None


def _is_scenario_file(path: Path) -> bool:
    return path.name.endswith(".scenarios.yml") or path.parent.name == "scenarios"


def validate(paths: Iterable[Path]) -> list[ValidationResult]:
    """Check playbooks, and scenario files against their own schema, touching no host."""
    from wbplay.library import scenarios

    out = []
    files = [p for p in playbook_mod.expand_paths(list(paths)) if p.name != "README.md"]
    if not files:
        raise UsageError("no playbook files found in the given paths")
    for path in files:
        kind = "scenarios" if _is_scenario_file(path) else "playbook"
        if path.name.endswith(".state.yml"):  # a simulated PC beside its scenarios (wbplay new)
            kind = "host state"
        try:
            if kind == "host state":
                count = len(read_state(path).get("services") or {})
            elif kind == "scenarios":
                count = len(scenarios.load(path).scenarios)
            else:
                count = len(playbook_mod.load(path).steps)
            out.append(ValidationResult(path, kind, count, None))
        except PlaybookError as e:
            out.append(ValidationResult(path, kind, 0, e))
    return out


def triage(
    *, error: str | None, host_spec: str | None, since_days: int, connect: ConnectOptions | None = None
) -> triage_mod.TriageResult:
    """Rank the library for a pasted error and/or a PC's recent backup events (read-only)."""
    host = open_host(host_spec, read_only=True, options=connect or ConnectOptions()) if host_spec else None
    try:
        return triage_mod.run(error=error, host=host, playbooks=library(), since_days=since_days)
    finally:
        if host is not None:
            host.close()


def run_request_from_triage(
    result: triage_mod.TriageResult, host: str, *, dry_run: bool, connect: ConnectOptions | None = None
) -> RunRequest:
    """``triage --run``: the best match, run *for* the failure that matched it, with the
    variables triage read off the PC (the backup target)."""
    if not result.matches:
        raise UsageError("triage found no playbook for this failure: nothing to run")
    best = result.matches[0]
    pb = load_playbook(best.playbook_id)
    handled = set(pb.applies_to.error_codes)
    codes = [c for e in result.evidence for c in (e.code, e.detailed_code) if c]
    code = next((c for c in codes if c in handled), codes[0] if codes else None)
    return RunRequest(
        playbook=best.playbook_id,
        host=host,
        dry_run=dry_run,
        variables=dict(best.suggested_vars),
        connect=connect or ConnectOptions(),
        for_code=code,
        for_event=code is None,
    )


def schema_file(name: str) -> Path:
    """The installed JSON Schema ``name`` (playbook, scenarios, hoststate, inventory, report)."""
    path = resources.schemas_dir() / f"{name}.schema.json"
    if not path.is_file():
        names = (p.name.removesuffix(".schema.json") for p in resources.schemas_dir().glob("*.schema.json"))
        known = ", ".join(sorted(names))
        raise UsageError(f"no schema named {name!r}; choose one of: {known}")
    return path


def kind_doc(kind: str) -> kinddoc.KindDoc:
    try:
        return kinddoc.describe(kind)
    except KeyError:
        close = difflib.get_close_matches(kind, kinddoc.check_kinds() + kinddoc.remedy_kinds(), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else "; `wbplay doc` lists them"
        raise UsageError(f"no check or remedy kind {kind!r}{hint}") from None


def kind_index() -> tuple[list[kinddoc.KindDoc], list[kinddoc.KindDoc]]:
    """Every check kind and every remedy kind, documented."""
    return [kinddoc.describe(k) for k in kinddoc.check_kinds()], [
        kinddoc.describe(k) for k in kinddoc.remedy_kinds()
    ]


def lint(paths: list[Path], *, run_scenarios: bool = False) -> list[lint_mod.Finding]:
    """The lint findings of these playbooks; ``run_scenarios`` adds WB017 (runs the scenarios)."""
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise UsageError(f"no such file or folder: {missing[0]}")
    findings = lint_mod.lint_paths(paths)
    if run_scenarios:
        broken = {f.path for f in findings if f.rule == "WB000"}
        for path in lint_mod.playbook_files(paths):
            if str(path) not in broken:
                findings += coverage.unexercised(path)
    return sorted(findings, key=lambda f: (f.path, f.line, f.column, f.rule))


def new_playbook(name: str, dest: Path, from_playbook: str | None, checks: list[str]) -> scaffold.Scaffold:
    return scaffold.new(name, dest, from_playbook=from_playbook, checks=checks)


def export(
    playbook: str, engine: str, out_dir: Path, variables: dict[str, str], allow: frozenset[str]
) -> export_mod.ExportResult:
    """``wbplay export ENGINE``: the use case is :func:`wbplay.library.export.build.export`."""
    pb = load_playbook(playbook)
    check_allow(pb, allow)
    return export_mod.export(pb, engine, out_dir, bind(pb.vars, variables), allow)


def import_results(path: Path, reports: list[ReportSpec]) -> dict[str, Any]:
    """``wbplay results import FILE``: Intune's per-device results as wbplay's fleet picture."""
    for spec in reports:
        if spec.format not in ("json", "md"):
            raise UsageError(f"results import writes --report json:FILE or md:FILE, not {spec.format}:")
    devices, fmt = read_results(path)
    doc = results_document(devices, str(path), fmt)
    imported_mod.write(doc, reports)
    return doc
