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
# Disk 153 "... for Disk 2 (PDO name: ...) was retried", 157 "Disk 2 has been surprise removed"
# (troubleshoot-data-corruption-and-disk-errors.md [V]); the Japanese wording is [U].
_DISK_NUMBER = re.compile(r"(?:\bfor Disk|^Disk|ディスク)\s*(\d+)", re.IGNORECASE)
_NTFS_VOLUME = re.compile(r"(?:volume|ボリューム)\s+([A-Za-z]):", re.IGNORECASE)

# What each System-log event means for a repair (Microsoft's data-corruption guide,
# troubleshoot-data-corruption-and-disk-errors.md [V]; docs/domain-review.md A.2):
# NTFS 55/98/50/140 are file-system corruption, the one case for chkdsk /f /r; Disk 153/129
# (timeouts: relieve the load, check the controller/iSCSI/MPIO), 157 (surprise removal: cable,
# bridge, SAN) and 11 (controller error) are the transport, which no chkdsk fixes; Disk 7/51
# (bad block, paging error) mean "back up and replace the disk", not a repair trigger.
NTFS_CORRUPTION_IDS = (55, 98, 50, 140)
TRANSPORT_IDS = (11, 129, 153, 157)
BAD_BLOCK_IDS = (7, 51)


def _event_disk(e: Rec) -> int | None:
    text = f"{e.get('message') or ''} {e.get('fields', {}).get('DeviceName', '')}"
    m = _DISK_DEVICE.search(text) or _DISK_NUMBER.search(e.get("message") or "")
    return int(m.group(1)) if m else None


def _brief(e: Rec) -> Rec:
    return {"time": e["time"], "provider": e["provider"], "id": e["id"], "message": e.get("message")}


def disk_errors(values: Sequence[Any], args: Args) -> Rec | None:
    """System-log disk and NTFS errors that belong to ``volume``'s disk (docs/domain.md s.3.4:
    decide whether errors are on the source or the target before recommending chkdsk).

    ``since_last_check`` counts only the NTFS corruption events logged after the newest
    repairing chkdsk pass of the volume, so a volume that was repaired is not repaired again
    for old events, and a storage timeout or a surprise removal never re-arms a pass.
    ``transport`` (in the query window) and ``bad_blocks`` (since the last pass) count the
    disk's other errors, findings for a human: cable, bridge, controller, or a disk to replace.
    """
    vols, disk_ev, ntfs_ev, ntfs_ev2 = values[0], values[1], values[2], values[3]
    v = resolve(vols, args.get("volume"))
    if v is None:
        return None
    on_disk = [e for e in disk_ev or [] if _event_disk(e) == v["disk"]]
    corruption = []
    for e in [*(ntfs_ev or []), *(ntfs_ev2 or [])]:
        fields = e.get("fields", {})
        drive = str(fields.get("DriveName") or "")
        m = _NTFS_VOLUME.search(e.get("message") or "")
        named = drive.upper().rstrip("\\") if drive else (m.group(1).upper() + ":" if m else "")
        if e["id"] in NTFS_CORRUPTION_IDS and named and named == (v.get("letter") or "").upper():
            corruption.append(e)
    mine = sorted([*on_disk, *corruption], key=lambda e: e["time"], reverse=True)
    reports = chkdsk_reports(vols, values[4:], args.get("volume"))
    last_check = reports[0]["time"] if reports else None
    recent = [e for e in corruption if last_check is None or e["time"] > last_check]
    transport = [e for e in on_disk if e["id"] in TRANSPORT_IDS]
    # A /R pass maps out the bad blocks logged before it; only newer ones say the disk goes on failing.
    bad_blocks = [
        e for e in on_disk if e["id"] in BAD_BLOCK_IDS and (last_check is None or e["time"] > last_check)
    ]
    return {
        "volume": name_of(v),
        "disk": v["disk"],
        "count": len(mine),
        "since_last_check": len(recent),
        "last_check": last_check,
        "transport": len(transport),
        "bad_blocks": len(bad_blocks),
        "events": [_brief(e) for e in mine[:20]],
    }


def repair_needed(values: Sequence[Any], args: Args) -> Rec | None:
    """Whether a volume needs a repairing chkdsk pass, and why (the seed's Path 3 criteria):
    NTFS corruption events (55/98/50/140) since its last repairing pass, the dirty bit, a
    read-only scan that found problems, or a last pass that still had to fix something (the
    seed repeats chkdsk /r until a pass comes back clean).  Disk timeouts, surprise removals
    and bad-block events are not reasons: see :func:`disk_errors`."""
    vols, scan = values[0], values[1]
    v = resolve(vols, args.get("volume"))
    if v is None:
        return None
    errors = disk_errors([vols, *values[2:5], *values[5:8]], args) or {}
    reports = chkdsk_reports(vols, values[5:8], args.get("volume"))
    scan_problems = bool(scan and cmdparse.chkdsk_scan(scan["output"], scan["exit_code"])["problems"])
    reasons = []
    if errors.get("since_last_check"):
        reasons.append("ntfs-errors")
    if v.get("dirty"):
        reasons.append("dirty")
    if scan_problems:
        reasons.append("scan")
    if reports and not reports[0]["clean"]:
        reasons.append("last-pass-not-clean")
    return {"volume": name_of(v), "needed": bool(reasons), "reasons": reasons}
