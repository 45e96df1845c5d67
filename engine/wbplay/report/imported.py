"""``wbplay results import --report json:/md:``: the document of :mod:`wbplay.library.export.results`.

The PCs another engine (Intune) ran an export on, grouped by wbplay's outcome and the detection
line the exported ``detect.ps1`` printed, written like a fleet's reports (report/fleet.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from wbplay.report import ReportSpec
from wbplay.safetext import one_line


def _markdown(doc: dict[str, Any]) -> str:
    parts = [f"# wbplay results: {doc['devices']} PC(s) from {one_line(doc['source'])} ({doc['format']})\n\n"]
    parts.append("| outcome | PCs | meaning |\n|---|---|---|\n")
    for outcome, count in doc["counts"].items():
        if count:
            parts.append(f"| {outcome} | {count} | {doc['meaning'][outcome]} |\n")
    for g in doc["groups"]:
        parts.append(f"\n## {g['outcome']}: {len(g['devices'])} PC(s)\n\n")
        parts.append(f"Detection line: `{one_line(g['line']) or '(empty)'}`\n\n")
        for after in g["after"]:
            parts.append(f"After remediation: `{one_line(after)}`\n\n")
        parts.append("".join(f"- {one_line(d)}\n" for d in g["devices"]))
    return "".join(parts)


def write(doc: dict[str, Any], specs: Sequence[ReportSpec]) -> None:
    render = {
        "json": lambda d: json.dumps(d, indent=2, ensure_ascii=False) + "\n",
        "md": _markdown,
    }
    for spec in specs:
        if spec.format not in render:
            raise ValueError(f"results reports are json or md, not {spec.format}")
        spec.path.parent.mkdir(parents=True, exist_ok=True)
        spec.path.write_text(render[spec.format](doc), encoding="utf-8")
