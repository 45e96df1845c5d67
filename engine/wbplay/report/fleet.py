"""One report over every PC of a fleet: ``--report json:`` / ``junit:`` / ``md:`` with several hosts.

Each entry is a PC: its exit code, outcome and full run document, or the
error that stopped it (unreachable, locked, timed out).  JUnit: one testsuite
per PC inside one ``<testsuites>``; a PC without a report is one errored case.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wbplay.report import ReportSpec, junit, markdown
from wbplay.safetext import one_line


@dataclass(frozen=True, slots=True)
class HostEntry:
    host: str
    exit_code: int
    outcome: str
    document: dict[str, Any] | None  # the PC's run document; None when it never produced one
    error: str = ""


def document(entries: Sequence[HostEntry], exit_code: int, not_started: Sequence[str]) -> dict[str, Any]:
    return {
        "kind": "fleet-report",
        "exit_code": exit_code,
        "hosts": [
            {
                "host": e.host,
                "exit_code": e.exit_code,
                "outcome": e.outcome,
                "error": e.error,
                "report": e.document,
            }
            for e in entries
        ],
        "not_started": list(not_started),
    }


def _junit(doc: dict[str, Any]) -> str:
    root = ET.Element("testsuites", name="wbplay fleet")
    for h in doc["hosts"]:
        if h["report"] is not None:
            suite = ET.fromstring(junit.render(h["report"]))
            suite.set("name", f"{suite.get('name')}@{one_line(h['host'])}")
        else:
            suite = ET.Element(
                "testsuite",
                name=f"wbplay@{one_line(h['host'])}",
                tests="1",
                failures="0",
                errors="1",
                skipped="0",
            )
            case = ET.SubElement(suite, "testcase", classname="wbplay.host", name="connect")
            ET.SubElement(case, "error", type=h["outcome"], message=one_line(h["error"]))
        root.append(suite)
    for host in doc["not_started"]:
        suite = ET.SubElement(
            root,
            "testsuite",
            name=f"wbplay@{one_line(host)}",
            tests="1",
            failures="0",
            errors="0",
            skipped="1",
        )
        case = ET.SubElement(suite, "testcase", classname="wbplay.host", name="run")
        ET.SubElement(case, "skipped", message="not started: the fleet was interrupted")
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _markdown(doc: dict[str, Any]) -> str:
    parts = [f"# wbplay fleet: {len(doc['hosts'])} PC(s), exit {doc['exit_code']}\n"]
    for h in doc["hosts"]:
        parts.append(f"\n## {one_line(h['host'])}: exit {h['exit_code']} ({one_line(h['outcome'])})\n")
        parts.append(
            markdown.render(h["report"]) if h["report"] is not None else f"\n{one_line(h['error'])}\n"
        )
    if doc["not_started"]:
        parts.append("\n## Not started\n\n" + "".join(f"- {one_line(h)}\n" for h in doc["not_started"]))
    return "".join(parts)


def write(doc: dict[str, Any], specs: Sequence[ReportSpec]) -> None:
    render = {
        "json": lambda d: json.dumps(d, indent=2, ensure_ascii=False, default=str) + "\n",
        "junit": _junit,
        "md": _markdown,
    }
    for spec in specs:
        spec.path.parent.mkdir(parents=True, exist_ok=True)
        spec.path.write_text(render[spec.format](doc), encoding="utf-8")
