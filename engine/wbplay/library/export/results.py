"""Intune's per-device results of an exported Remediation, read into :class:`DeviceResult`.

Two shapes, both written from the documented fields (the test fixtures are too; no tenant
was exported here):

* **Graph JSON**: ``GET /deviceManagement/deviceHealthScripts/{id}/deviceRunStates
  ?$expand=managedDevice`` (a ``{"value": [...]}`` page, or a bare list of them).  Fields of
  the deviceHealthScriptDeviceState resource (learn.microsoft.com/graph/api/resources/
  intune-devices-devicehealthscriptdevicestate [V]): ``detectionState`` (unknown, success, fail,
  scriptError, pending, notApplicable), ``remediationState`` (unknown, skipped, success,
  remediationFailed, scriptError, unknownFutureValue: the remediationState enum page [V]),
  ``preRemediationDetectionScriptOutput``, ``postRemediationDetectionScriptOutput``,
  ``lastStateUpdateDateTime``; the PC's name is the related ``managedDevice.deviceName``
  (or a top-level ``deviceName``, as flattened exports write it).
* **CSV** from the portal's device status export.  Its column titles are not documented in
  anything found [U]: a column is recognised by the Graph property name or by the portal's
  words ("Device name", "Detection status", "Remediation status", "Pre-remediation detection
  output", "Post-remediation detection output", "Last run"), compared without case, spaces or
  punctuation; the states likewise (Graph's enum names, or "Without issues", "With issues",
  "Issue fixed", "Recurred", "Failed", "Not applicable", "Pending") [U for the portal words].

wbplay's words: remediationState ``success`` is *fixed*; ``remediationFailed`` ("executed
successfully but failed to remediate the device state" [V]) is *recurred*: the drift was still
there at the detection after the fix; ``scriptError`` either side, or a line from the exported
scripts' own error path (``wbplay export: ...``, which exits 3 = "no issue" to Intune), is *failed*.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

from wbplay.errors import PlaybookError, ResultsError
from wbplay.playbook import yamlsafe

# wbplay's words, in the order the summary shows them.
OUTCOMES = ("failed", "recurred", "with-issues", "fixed", "compliant", "pending", "not-applicable")
MEANING = {
    "compliant": "detection found nothing to remediate",
    "fixed": "remediation ran and the detection after it found nothing",
    "failed": "a script failed (Intune scriptError, or wbplay's own 'wbplay export:' line)",
    "recurred": "remediation ran, and the detection after it still found the drift",
    "with-issues": "detection found drift and no remediation ran (yet)",
    "pending": "no result yet",
    "not-applicable": "the package does not apply to this PC",
}


@dataclass(frozen=True, slots=True)
class DeviceResult:
    device: str
    outcome: str  # one of OUTCOMES
    detection: str  # the state as the file spelt it
    remediation: str
    line: str  # the detection line the PC is grouped by (before remediation)
    after: str  # the detection line after remediation ('' when none ran)
    updated: str
    where: str  # file:line of the record


def document(devices: Sequence[DeviceResult], source: str, fmt: str) -> dict[str, Any]:
    """The fleet picture: counts in wbplay's words, and the PCs grouped by (outcome, detection line)."""
    counts = {o: sum(d.outcome == o for d in devices) for o in OUTCOMES}
    groups: dict[tuple[str, str], list[DeviceResult]] = {}
    for d in devices:
        groups.setdefault((d.outcome, d.line), []).append(d)
    ordered = sorted(groups.items(), key=lambda kv: (OUTCOMES.index(kv[0][0]), -len(kv[1]), kv[0][1]))
    return {
        "kind": "imported-results",
        "source": source,
        "format": fmt,
        "devices": len(devices),
        "counts": counts,
        "meaning": dict(MEANING),
        "groups": [
            {
                "outcome": outcome,
                "line": line,
                "after": sorted({d.after for d in members if d.after}),
                "devices": sorted(d.device for d in members),
            }
            for (outcome, line), members in ordered
        ],
        "records": [asdict(d) for d in devices],
    }


_FIELDS = {
    "device": ("devicename", "device"),
    "detection": ("detectionstate", "detectionstatus"),
    "remediation": ("remediationstate", "remediationstatus"),
    "pre": ("preremediationdetectionscriptoutput", "preremediationdetectionoutput"),
    "post": ("postremediationdetectionscriptoutput", "postremediationdetectionoutput"),
    "updated": ("laststateupdatedatetime", "lastrun", "laststatusupdate"),
}
_DETECTION = {
    "success": "ok",
    "withoutissues": "ok",
    "fail": "issue",
    "withissues": "issue",
    "scripterror": "error",
    "failed": "error",
    "error": "error",
    "pending": "pending",
    "notapplicable": "n/a",
    "unknown": "pending",
    "": "pending",
}
_REMEDIATION = {
    "success": "fixed",
    "issuefixed": "fixed",
    "fixed": "fixed",
    "remediationfailed": "recurred",
    "recurred": "recurred",
    "issuerecurred": "recurred",
    "scripterror": "error",
    "failed": "error",
    "error": "error",
    "skipped": "none",
    "notrun": "none",
    "none": "none",
    "unknown": "none",
    "unknownfuturevalue": "none",
    "": "none",
}
_OWN_ERROR = "wbplay export:"


def _key(text: Any) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text or "").lower())


def _last_line(text: Any) -> str:
    lines = [ln for ln in str(text or "").replace("\r", "\n").split("\n") if ln.strip()]
    return lines[-1].strip() if lines else ""


def outcome(detection: str, remediation: str, pre: str, post: str) -> str:
    """wbplay's word for one PC, from the normalised states and the two detection lines."""
    if detection == "error" or remediation == "error" or _OWN_ERROR in pre or _OWN_ERROR in post:
        return "failed"
    if remediation == "recurred":
        return "recurred"
    if remediation == "fixed":
        return "fixed"
    return {"ok": "compliant", "issue": "with-issues", "n/a": "not-applicable"}.get(detection, "pending")


def _record(fields: Mapping[str, Any], where: str, error: Callable[[str, str], ResultsError]) -> DeviceResult:
    device = str(fields.get("device") or "").strip()
    if not device:
        raise error("the record names no device", "device")
    detection = _DETECTION.get(_key(fields.get("detection")))
    if detection is None:
        raise error(f"unknown detection state {str(fields.get('detection'))[:60]!r}", "detection")
    remediation = _REMEDIATION.get(_key(fields.get("remediation")))
    if remediation is None:
        raise error(f"unknown remediation state {str(fields.get('remediation'))[:60]!r}", "remediation")
    pre, post = _last_line(fields.get("pre")), _last_line(fields.get("post"))
    return DeviceResult(
        device=device,
        outcome=outcome(detection, remediation, pre, post),
        detection=str(fields.get("detection") or ""),
        remediation=str(fields.get("remediation") or ""),
        line=pre,
        after=post,
        updated=str(fields.get("updated") or ""),
        where=where,
    )


_HINT = (
    "export the device status of the remediation from the Intune portal (CSV), or save "
    "GET .../deviceHealthScripts/{id}/deviceRunStates?$expand=managedDevice (JSON)"
)


_JSON_NAMES = {
    "device": "managedDevice.deviceName",
    "detection": "detectionState",
    "remediation": "remediationState",
}


def _json_error(
    doc: yamlsafe.Document, key_path: tuple[Any, ...], entry: Mapping[str, Any], message: str, field: str
) -> ResultsError:
    name = _JSON_NAMES[field]
    sub = (*key_path, name) if name in entry else key_path
    return doc.error(f"{message} (field {name})", sub, _HINT, ResultsError)


def _from_json(text: str, path: str) -> Iterator[DeviceResult]:
    try:
        value = yamlsafe.loads_json(text, path)  # syntax errors with line:column
    except PlaybookError as e:
        raise ResultsError(e.message, path=path, line=e.line, column=e.column, hint=_HINT) from None
    doc = yamlsafe.load_text(text, path, ResultsError)  # the same data, with the line of every key
    pages: list[tuple[tuple[Any, ...], Any]] = []
    if isinstance(value, dict) and isinstance(value.get("value"), list):
        pages = [(("value", i), v) for i, v in enumerate(value["value"])]
    elif isinstance(value, list):
        for i, page in enumerate(value):
            if isinstance(page, dict) and isinstance(page.get("value"), list):
                pages += [((i, "value", j), v) for j, v in enumerate(page["value"])]
            else:
                pages.append(((i,), page))
    else:
        raise ResultsError(
            'expected a Graph list ({"value": [...]}) or a list of device states',
            path=path,
            line=1,
            hint=_HINT,
        )
    for key_path, entry in pages:
        if not isinstance(entry, dict):
            raise doc.error("a device state must be an object", key_path, _HINT, ResultsError)
        device = entry.get("managedDevice") if isinstance(entry.get("managedDevice"), dict) else {}
        fields = {
            "device": entry.get("deviceName") or device.get("deviceName"),
            "detection": entry.get("detectionState"),
            "remediation": entry.get("remediationState"),
            "pre": entry.get("preRemediationDetectionScriptOutput"),
            "post": entry.get("postRemediationDetectionScriptOutput"),
            "updated": entry.get("lastStateUpdateDateTime"),
        }
        mark = doc.mark_for(key_path)
        where = f"{path}:{mark.line}" if mark else path
        yield _record(fields, where, partial(_json_error, doc, key_path, entry))


def _csv_error(
    path: str, line: int, header: list[str], index: Mapping[str, int], message: str, field: str
) -> ResultsError:
    column = header[index[field]] if field in index else field
    return ResultsError(message, path=path, line=line, key_path=column, hint=_HINT)


def _from_csv(text: str, path: str) -> Iterator[DeviceResult]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise ResultsError("the file is empty", path=path, hint=_HINT) from None
    except csv.Error as e:
        raise ResultsError(f"not valid CSV: {e}", path=path, line=1, hint=_HINT) from None
    columns = {_key(h): i for i, h in enumerate(header)}
    index: dict[str, int] = {}
    for field, names in _FIELDS.items():
        found = next((columns[n] for n in names if n in columns), None)
        if found is not None:
            index[field] = found
    missing = [f for f in ("device", "detection") if f not in index]
    if missing:
        raise ResultsError(
            f"no {' or '.join(_FIELDS[missing[0]])} column in the header",
            path=path,
            line=1,
            hint="the first row must name the columns; " + _HINT,
        )
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise ResultsError(f"not valid CSV: {e}", path=path, line=reader.line_num, hint=_HINT) from None
        if not any(cell.strip() for cell in row):
            continue
        line = reader.line_num
        if len(row) != len(header):
            raise ResultsError(
                f"{len(row)} cells where the header has {len(header)}",
                path=path,
                line=line,
                hint="quote a cell that holds a comma",
            )
        fields = {f: row[i] for f, i in index.items()}

        yield _record(fields, f"{path}:{line}", partial(_csv_error, path, line, header, index))


def read_results(path: Path) -> tuple[list[DeviceResult], str]:
    """The PCs of a results file and its format (``graph-json`` or ``csv``); raises ResultsError."""
    text, _raw = yamlsafe.read_text(path, ResultsError, "results file")
    name = str(path)
    if text.lstrip()[:1] in ("{", "["):
        return list(_from_json(text, name)), "graph-json"
    return list(_from_csv(text, name)), "csv"
