"""JUnit XML for CI systems: one testcase per step; drift and failures fail."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from wbplay.playbook.matchers import show

_FAILING = {"drift", "failed", "error", "blocked", "manual", "finding"}


def render(doc: dict[str, Any]) -> str:
    steps = doc["steps"]
    failures = sum(1 for s in steps if s["status"] in _FAILING)
    skipped = sum(1 for s in steps if s["status"] == "skipped")
    suite = ET.Element(
        "testsuite",
        name=f"wbplay.{doc['playbook']['id']}",
        tests=str(len(steps)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
        timestamp=doc["started"],
        time=f"{sum(s['duration_ms'] for s in steps) / 1000:.3f}",
    )
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="host", value=str(doc["host"]["identity"]))
    ET.SubElement(props, "property", name="mode", value=doc["mode"])
    for s in steps:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=doc["playbook"]["id"],
            name=s["id"],
            time=f"{s['duration_ms'] / 1000:.3f}",
        )
        if s["status"] == "skipped":
            ET.SubElement(case, "skipped", message=s["message"] or "skipped")
        elif s["status"] in _FAILING:
            text = f"observed {show(s['observed'])}, expected {s['expected']}"
            if s["change"]:
                text += f"; change: {s['change']['description']}"
            failure = ET.SubElement(
                case, "failure", type=s["status"], message=s["error"] or s["message"] or text
            )
            failure.text = text
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"
