"""Repair history and disk errors: chkdsk's reports, the I/O errors logged against a
volume's disk, and whether a volume needs a repairing pass."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from wbplay.vocab import cmdparse
from wbplay.vocab.derive.volumes import Args, Rec, name_of, resolve


def _same_volume(report_volume: str | None, v: Rec) -> bool:
    if not report_volume:
        return False
    if report_volume.startswith("\\\\?\\"):
        return report_volume.lower().rstrip("\\") == v["path"].lower().rstrip("\\")
    return (v.get("letter") or "").upper() == report_volume.upper()


def chkdsk_reports(vols: Sequence[Rec], event_lists: Sequence[Any], selector: str | None) -> list[Rec]:
    """Repairing-pass reports (Wininit 1001, Chkdsk 26226) about one volume, newest first."""
    v = resolve(vols, selector)
    if v is None:
        return []
    out = []
    for events in event_lists:
        for e in events or []:
            report = cmdparse.chkdsk_report(e.get("message") or "")
            if _same_volume(report["volume"], v):
                out.append({"time": e["time"], "source": e["provider"], "id": e["id"], **report})
    return sorted(out, key=lambda r: r["time"], reverse=True)


def chkdsk_last_result(values: Sequence[Any], args: Args) -> Rec | None:
    reports = chkdsk_reports(values[0], values[1:], args.get("volume"))
    return reports[0] if reports else None


_DISK_DEVICE = re.compile(r"\\Device\\Harddisk(\d+)\\", re.IGNORECASE)
_NTFS_VOLUME = re.compile(r"(?:volume|ボリューム)\s+([A-Za-z]):", re.IGNORECASE)


def disk_errors(values: Sequence[Any], args: Args) -> Rec | None:
    """System-log disk and NTFS errors that belong to ``volume``'s disk (docs/domain.md s.3.4:
    decide whether errors are on the source or the target before recommending chkdsk).

    ``since_last_check`` counts only the errors logged after the newest repairing chkdsk
    pass of the volume, so a volume that was repaired is not repaired again for old events.
    """
    vols, disk_ev, ntfs_ev, ntfs_ev2 = values[0], values[1], values[2], values[3]
    v = resolve(vols, args.get("volume"))
    if v is None:
        return None
    mine = []
    for e in disk_ev or []:
        text = f"{e.get('message') or ''} {e.get('fields', {}).get('DeviceName', '')}"
        m = _DISK_DEVICE.search(text)
        if m and int(m.group(1)) == v["disk"]:
            mine.append(e)
    for e in [*(ntfs_ev or []), *(ntfs_ev2 or [])]:
        fields = e.get("fields", {})
        drive = str(fields.get("DriveName") or "")
        m = _NTFS_VOLUME.search(e.get("message") or "")
        named = drive.upper().rstrip("\\") if drive else (m.group(1).upper() + ":" if m else "")
        if named and named == (v.get("letter") or "").upper():
            mine.append(e)
    mine.sort(key=lambda e: e["time"], reverse=True)
    reports = chkdsk_reports(vols, values[4:], args.get("volume"))
    last_check = reports[0]["time"] if reports else None
    recent = [e for e in mine if last_check is None or e["time"] > last_check]
    return {
        "volume": name_of(v),
        "disk": v["disk"],
        "count": len(mine),
        "since_last_check": len(recent),
        "last_check": last_check,
        "events": [
            {"time": e["time"], "provider": e["provider"], "id": e["id"], "message": e.get("message")}
            for e in mine[:20]
        ],
    }


def repair_needed(values: Sequence[Any], args: Args) -> Rec | None:
    """Whether a volume needs a repairing chkdsk pass, and why (the seed's Path 3 criteria):
    I/O errors on its disk since its last repairing pass, the dirty bit, a read-only scan
    that found problems, or a last pass that still had to fix something (the seed repeats
    chkdsk /r until a pass comes back clean)."""
    vols, scan = values[0], values[1]
    v = resolve(vols, args.get("volume"))
    if v is None:
        return None
    errors = disk_errors([vols, *values[2:5], *values[5:8]], args) or {}
    reports = chkdsk_reports(vols, values[5:8], args.get("volume"))
    scan_problems = bool(scan and cmdparse.chkdsk_scan(scan["output"], scan["exit_code"])["problems"])
    reasons = []
    if errors.get("since_last_check"):
        reasons.append("io-errors")
    if v.get("dirty"):
        reasons.append("dirty")
    if scan_problems:
        reasons.append("scan")
    if reports and not reports[0]["clean"]:
        reasons.append("last-pass-not-clean")
    return {"volume": name_of(v), "needed": bool(reasons), "reasons": reasons}
