"""JUnit XML for CI systems: one testcase per step; drift and failures fail."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from wbplay.playbook.matchers import show
from wbplay.safetext import escape_char, one_line, visible

_FAILING = {"drift", "failed", "error", "blocked", "manual", "finding"}
# Characters XML 1.0 cannot hold at all (ElementTree would write them and break the file).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(value: Any, *, newlines: bool = False) -> str:
    """A value from a PC or a file as XML text: hidden characters and those XML forbids, escaped."""
    text = visible(str(value), newlines=True) if newlines else one_line(str(value))
    return _NOT_XML.sub(lambda m: escape_char(m.group()), text)


def render(doc: dict[str, Any]) -> str:
    steps = doc["steps"]
    failures = sum(1 for s in steps if s["status"] in _FAILING)
    skipped = sum(1 for s in steps if s["status"] == "skipped")
    suite = ET.Element(
        "testsuite",
        name=f"wbplay.{_xml(doc['playbook']['id'])}",
        tests=str(len(steps)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
        timestamp=_xml(doc["started"]),
        time=f"{sum(s['duration_ms'] for s in steps) / 1000:.3f}",
    )
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="host", value=_xml(doc["host"]["identity"]))
    ET.SubElement(props, "property", name="mode", value=_xml(doc["mode"]))
    for s in steps:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=_xml(doc["playbook"]["id"]),
            name=_xml(s["id"]),
            time=f"{s['duration_ms'] / 1000:.3f}",
        )
        if s["status"] == "skipped":
            ET.SubElement(case, "skipped", message=_xml(s["message"] or "skipped"))
        elif s["status"] in _FAILING:
            text = f"observed {show(s['observed'])}, expected {s['expected']}"
            if s["change"]:
                text += f"; change: {s['change']['description']}"
            failure = ET.SubElement(
                case, "failure", type=_xml(s["status"]), message=_xml(s["error"] or s["message"] or text)
            )
            failure.text = _xml(text, newlines=True)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"
