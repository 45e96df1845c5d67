"""Windows Backup: whether a system image can go to a target, which volumes it takes,
the sets already on a target, and the failures the backup logs recorded."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wbplay.vocab import cmdparse, codes, domain
from wbplay.vocab.derive.volumes import (
    Args,
    Rec,
    critical_reasons,
    critical_sources,
    name_of,
    os_version,
    resolve,
    winre_of,
)


def image_target(values: Sequence[Any], args: Args) -> Rec:
    """Everything that decides whether a system image can go to ``target`` (docs/domain.md s.5)."""
    vols, disks, services, winre_cmd, os_info, catalog, root = values[:7]
    winre = winre_of(winre_cmd)
    mm = os_version(os_info)
    t = resolve(vols, args.get("target"), winre)
    if t is None:
        return {"exists": False, "target": args.get("target")}
    disk = next((d for d in disks or [] if d["number"] == t["disk"]), {})
    reasons = critical_reasons(t, vols, services, winre)
    sources = [s for s in critical_sources(vols, services, winre, mm) if s["path"] != t["path"]]
    needed = sum(max(s["size_mb"] - s["free_mb"], 0) for s in sources)
    lss = int(disk.get("logical_sector_size", 512))
    vm_folders = sorted(
        name
        for name in (root or [])
        if any(h == name.lower() or h in name.lower() for h in domain.VM_FOLDER_HINTS)
    )
    sets = (catalog or {}).get("image_sets", [])
    return {
        "exists": True,
        "target": name_of(t),
        "file_system": t["file_system"],
        "ntfs": t["file_system"] == "NTFS",
        "size_mb": t["size_mb"],
        "free_mb": t["free_mb"],
        "needed_mb": needed,
        "enough_space": t["free_mb"] >= needed,
        "disk": t["disk"],
        "bus_type": disk.get("bus_type"),
        "media_type": disk.get("media_type"),
        "logical_sector_size": lss,
        "physical_sector_size": disk.get("physical_sector_size"),
        "sector_size_supported": lss == 512 or mm >= domain.FIRST_4KN_VERSION,
        "critical": bool(reasons),
        "critical_reasons": reasons,
        "boot_or_system": bool({"boot", "system"} & set(reasons)),
        "winre_on_target": "winre" in reasons,
        "services_on_target": [r.split(":", 1)[1] for r in reasons if r.startswith("service:")],
        "same_disk_as_source": any(s["disk"] == t["disk"] for s in sources),
        "vm_folders": vm_folders,
        "image_sets": [s["machine"] for s in sets],
        "unreadable_image_sets": [s["path"] for s in sets if not s.get("readable", True)],
    }


def image_sources(values: Sequence[Any], args: Args) -> Rec:
    vols, services, winre_cmd, os_info = values[:4]
    mm = os_version(os_info)
    sources = critical_sources(vols or [], services, winre_of(winre_cmd), mm)
    limit_applies = mm < domain.FIRST_4KN_VERSION  # Win7 VHD limit (0x807800B4 [V])
    too_large = [name_of(s) for s in sources if limit_applies and s["size_mb"] > domain.VHD_LIMIT_MB]
    return {
        "volumes": [
            {"volume": name_of(s), "size_mb": s["size_mb"], "reasons": s["reasons"]} for s in sources
        ],
        "too_large": too_large,
    }


def backup_sets(value: Any) -> Rec | None:
    """``backup.catalog`` plus the paths of the sets Windows cannot read (old or corrupt sets)."""
    if value is None:
        return None
    return {
        **value,
        "unreadable_image_sets": [
            s["path"] for s in value.get("image_sets", []) if not s.get("readable", True)
        ],
        "unreadable_file_sets": [
            s["path"] for s in value.get("file_sets", []) if not s.get("readable", True)
        ],
    }


def backup_errors(values: Sequence[Any], args: Args) -> list[Rec]:
    """Failed or warning backup events, newest first, with codes read by field name and normalised
    (docs/domain.md s.3.1: read HRESULT/DetailedHRESULT/ErrorCode by name; decimal -> hex)."""
    out = []
    for events in values:
        for e in events or []:
            if e.get("level") not in ("Error", "Warning", "Critical"):
                continue
            fields = e.get("fields") or {}
            code = codes.normalise(fields.get("HRESULT")) or codes.normalise(fields.get("ErrorCode"))
            detail = codes.normalise(fields.get("DetailedHRESULT"))
            mentioned = codes.codes_in(e.get("message") or "")
            out.append(
                {
                    "time": e["time"],
                    "provider": e["provider"],
                    "id": e["id"],
                    "code": code or (mentioned[0] if mentioned else None),
                    "detailed_code": detail if detail and detail != code else None,
                    "target": fields.get("BackupTarget") or None,
                    "message": e.get("message"),
                }
            )
    return sorted(out, key=lambda r: r["time"], reverse=True)


def last_result(values: Sequence[Any], args: Args) -> Rec | None:
    """The newest backup outcome: a failure as :func:`backup_errors` reads it, or a success
    (Backup event 4, "finished successfully", docs/domain.md s.3.1), whichever is newer; so a
    finding on an old failure clears once a backup has worked again."""
    failures = backup_errors(values, args)
    successes = [
        e
        for events in values
        for e in events or []
        if e.get("provider") == "Microsoft-Windows-Backup" and e.get("id") == domain.BACKUP_SUCCEEDED_ID
    ]
    newest_ok = max(successes, key=lambda e: e["time"], default=None)
    if failures and (newest_ok is None or failures[0]["time"] >= newest_ok["time"]):
        return {"ok": False, **failures[0]}
    if newest_ok is None:
        return None
    return {
        "ok": True,
        "time": newest_ok["time"],
        "provider": newest_ok["provider"],
        "id": newest_ok["id"],
        "code": None,
        "detailed_code": None,
        "target": (newest_ok.get("fields") or {}).get("BackupTarget") or None,
        "message": newest_ok.get("message"),
    }


def backup_in_progress(values: Sequence[Any], args: Args) -> Rec:
    """Whether a backup or a shadow copy is running now, so that no VSS/CryptSvc/Winmgmt/BITS
    restart kills it (docs/domain.md s.6: stopping VSS or wbengine mid-job kills the running
    backup; docs/domain-review.md A.6).  Two signs, both from reads wbplay already makes:
    writers in a Waiting* state (any requester's snapshot) and a Backup-log job that started
    (1) after the newest completion (14)."""
    writers_cmd, events = values[0], values[1] or []
    busy = [
        w["name"]
        for w in (cmdparse.writers(writers_cmd["output"]) if writers_cmd else [])
        if w["state"] in domain.WRITER_BUSY_STATES
    ]
    started = [e["time"] for e in events if e.get("id") == domain.BACKUP_STARTED_ID]
    ended = [e["time"] for e in events if e.get("id") == domain.BACKUP_COMPLETED_ID]
    job = bool(started) and (not ended or max(started) > max(ended))
    why = []
    if job:
        why.append(f"a Windows backup started at {max(started)} and has not completed")
    if busy:
        why.append("a shadow copy is in progress (writers waiting: " + ", ".join(busy) + ")")
    return {
        "running": bool(why),
        "why": "; ".join(why),
        "job_started": max(started) if job else None,
        "busy_writers": busy,
    }
