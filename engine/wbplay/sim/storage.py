"""Disks, volumes, shadow storage, VSS writers and WinRE of a simulated PC.

The state holds only what Windows would store; everything a sysadmin reads
off it (is this volume critical for a system image? does its shadow copy have
room?) is derived here, so the backup engine (:mod:`wbplay.sim.backup`), the
command outputs (:mod:`wbplay.sim.text`) and the op handlers
(:mod:`wbplay.sim.disks`, :mod:`wbplay.sim.vss`...) agree by construction.
"""

from __future__ import annotations

import ntpath
import re
from typing import Any

from wbplay.sim.model import HostModel
from wbplay.vocab import domain

Vol = dict[str, Any]
Disk = dict[str, Any]

_GUID_PATH = re.compile(r"^\\\\\?\\Volume\{([0-9a-fA-F-]{36})\}\\?$")
_LETTER = re.compile(r"^([A-Za-z]):\\?$")

# Writers every Windows version registers (names as vssadmin prints them, with the
# service that hosts each one).  The writer -> service mapping is general Windows
# knowledge, not in docs/domain.md: [U].
DEFAULT_WRITERS: tuple[tuple[str, str, str], ...] = (
    ("System Writer", "{e8132975-6f93-4464-a53e-1050253ae220}", "CryptSvc"),
    ("ASR Writer", "{be000cbe-11fe-4426-9c58-531aa6355fc4}", "VSS"),
    ("COM+ REGDB Writer", "{542da469-d3e1-473c-9f4f-7847f01fc64f}", "VSS"),
    ("Registry Writer", "{afbab4a2-367d-4d15-a586-71dbb18f8485}", "VSS"),
    ("Shadow Copy Optimization Writer", "{4dc3bdd4-ab48-4d07-adb0-3bee2926fd7f}", "VSS"),
    ("WMI Writer", "{a6ad56c2-b509-4e6c-bb19-49d8f43532f0}", "Winmgmt"),
)

WRITER_ERROR_HRESULTS = {
    # vsserror.h VSS_E_WRITERERROR_* (docs/domain.md s.2 names 0x800423F4 [V]; the others are
    # the neighbouring constants of the same header).
    "inconsistent-snapshot": 0x800423F0,
    "out-of-resources": 0x800423F1,
    "timed-out": 0x800423F2,
    "retryable": 0x800423F3,
    "non-retryable": 0x800423F4,
    "unexpected": 0x800423F3,
}

SMALL_VOLUME_MB = domain.SMALL_VOLUME_MB
VHD_LIMIT_MB = domain.VHD_LIMIT_MB


# -- lookups ----------------------------------------------------------------------------


def disks(m: HostModel) -> list[Disk]:
    out: list[Disk] = m.state.get("disks", [])
    return out


def volumes(m: HostModel) -> list[Vol]:
    out: list[Vol] = m.state.get("volumes", [])
    return out


def disk(m: HostModel, number: int) -> Disk | None:
    return next((d for d in disks(m) if d["number"] == number), None)


def attached(m: HostModel, v: Vol) -> bool:
    d = disk(m, v["disk"])
    return d is not None and d.get("attached", True)


def online_volumes(m: HostModel) -> list[Vol]:
    return [v for v in volumes(m) if attached(m, v)]


def volume_path(v: Vol) -> str:
    return f"\\\\?\\Volume{{{v['guid']}}}\\"


def name_of(v: Vol) -> str:
    """How Windows names a volume in messages: its letter, else its GUID path."""
    return str(v.get("letter") or volume_path(v))


def boot_volume(m: HostModel) -> Vol | None:
    return next((v for v in online_volumes(m) if v.get("boot")), None)


def system_drive(m: HostModel) -> str:
    v = boot_volume(m)
    return str(v["letter"]) if v and v.get("letter") else "C:"


def winre_volume(m: HostModel) -> Vol | None:
    re_ = m.state.get("winre")
    if not re_ or not re_.get("enabled") or "disk" not in re_:
        return None
    return next(
        (v for v in online_volumes(m) if v["disk"] == re_["disk"] and v["partition"] == re_["partition"]),
        None,
    )


def find_volume(m: HostModel, selector: str) -> Vol | None:
    """A volume by letter, GUID path or role (@boot, @system, @winre), among attached disks."""
    sel = selector.strip()
    if sel.lower() == "@boot":
        return boot_volume(m)
    if sel.lower() == "@system":
        return next((v for v in online_volumes(m) if v.get("system")), None)
    if sel.lower() == "@winre":
        return winre_volume(m)
    letter = _LETTER.match(sel)
    if letter:
        want = letter.group(1).upper() + ":"
        return next((v for v in online_volumes(m) if (v.get("letter") or "").upper() == want), None)
    guid = _GUID_PATH.match(sel)
    if guid:
        want = guid.group(1).lower()
        return next((v for v in online_volumes(m) if v["guid"].lower() == want), None)
    return None


def volume_record(m: HostModel, v: Vol) -> dict[str, Any]:
    """One ``volume.list`` entry."""
    return {
        "path": volume_path(v),
        "letter": v.get("letter"),
        "label": v.get("label", ""),
        "file_system": v["file_system"],
        "size_mb": v["size_mb"],
        "free_mb": v["free_mb"],
        "disk": v["disk"],
        "partition": v["partition"],
        "system": bool(v.get("system")),
        "boot": bool(v.get("boot")),
        "pagefile": bool(v.get("pagefile")),
        "dirty": bool(v.get("dirty")),
    }


def disk_record(m: HostModel, d: Disk) -> dict[str, Any]:
    """One ``disk.list`` entry."""
    on_disk = [v for v in volumes(m) if v["disk"] == d["number"]]
    return {
        "number": d["number"],
        "model": d.get("model", ""),
        "media_type": d["media_type"],
        "bus_type": d["bus_type"],
        "partition_style": d.get("partition_style", "MBR"),
        "size_mb": d["size_mb"],
        "logical_sector_size": d.get("logical_sector_size", 512),
        "physical_sector_size": d.get("physical_sector_size", 512),
        "is_boot": any(v.get("boot") for v in on_disk),
        "is_system": any(v.get("system") for v in on_disk),
    }


# -- what a system image includes ------------------------------------------------------


def image_path_volume(m: HostModel, image_path: str) -> str | None:
    """The drive letter a service's ImagePath lives on (``\\SystemRoot\\`` and relative paths: C:)."""
    p = image_path.strip().strip('"').split('"')[0].strip()
    p = re.sub(r"^\\\?\?\\", "", p)
    low = p.lower()
    if low.startswith(("\\systemroot\\", "%systemroot%", "system32\\", "%windir%")):
        return system_drive(m)
    drive = ntpath.splitdrive(p)[0]
    return drive.upper() if re.fullmatch(r"[A-Za-z]:", drive or "") else None


def services_on(m: HostModel, v: Vol) -> list[str]:
    """Services whose ImagePath lives on ``v``: they make it a critical volume (docs/domain.md s.5.1)."""
    letter = (v.get("letter") or "").upper()
    if not letter:
        return []
    return sorted(
        name
        for name, s in m.state["services"].items()
        if s.get("path") and image_path_volume(m, s["path"]) == letter
    )


def critical_reasons(m: HostModel, v: Vol) -> list[str]:
    """Why a system image must include ``v`` (empty: it is not critical).

    Boot and system volumes are critical; so is a volume hosting a service ImagePath
    (docs/domain.md s.5.1, [3P]; KB980794 [V] for the missing-volume case) and, from
    Windows 8 on, the volume holding WinRE [U: observed behaviour of Win10 images].
    """
    reasons = []
    if v.get("boot"):
        reasons.append("boot")
    if v.get("system"):
        reasons.append("system")
    if m.major_minor >= (6, 2) and winre_volume(m) is v:
        reasons.append("winre")
    reasons += [f"service:{name}" for name in services_on(m, v)]
    return reasons


def image_sources(m: HostModel) -> list[Vol]:
    """The volumes a system image includes: every critical volume plus the job's extra includes."""
    job = m.state.get("backup") or {}
    extra = {x.upper() for x in job.get("include", [])}
    return [
        v for v in online_volumes(m) if critical_reasons(m, v) or (v.get("letter") or "").upper() in extra
    ]


# -- shadow storage ---------------------------------------------------------------------


def associations(m: HostModel) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = m.state.get("shadow_storage", [])
    return out


def association_for(m: HostModel, v: Vol) -> dict[str, Any] | None:
    for a in associations(m):
        if find_volume(m, a["for"]) is v:
            return a
    return None


def headroom_needed_mb(v: Vol) -> int:
    """KB3135522: 50 MB under 500 MB, 320 MB from 500 MB, 1 GB above 1 GB [V] (domain.py)."""
    return domain.headroom_needed_mb(v["size_mb"])


def shadow_room(m: HostModel, v: Vol) -> tuple[bool, str]:
    """Whether a shadow copy of ``v`` has room for its diff area, and why not.

    Without an association the diff area sits on the volume itself and needs free space
    there; with one it needs free space on the storage volume and a maximum that allows it
    (docs/domain.md s.2 0x80780119/0x81000019 [3P], s.5.4).
    """
    if v.get("file_system") not in domain.SHADOW_STORAGE_FILE_SYSTEMS:
        return True, ""  # a FAT32 ESP has no diff area (VSS FAQ [V]; how a backup treats it is [U])
    need = headroom_needed_mb(v)
    a = association_for(m, v)
    if a is None:
        if v["free_mb"] < need:
            return False, f"{name_of(v)} has {v['free_mb']} MB free; its shadow copy needs {need} MB"
        return True, ""
    on = find_volume(m, a["on"])
    if on is None:
        return False, f"the shadow storage volume of {name_of(v)} is not available"
    if a["max_mb"] and a["max_mb"] < need:
        return False, f"shadow storage for {name_of(v)} is limited to {a['max_mb']} MB; it needs {need} MB"
    if on["free_mb"] < need:
        return False, f"{name_of(on)} has {on['free_mb']} MB free for the shadow copy of {name_of(v)}"
    return True, ""


# -- VSS writers ------------------------------------------------------------------------


def writers(m: HostModel) -> list[dict[str, Any]]:
    """The writer table, materialised with the defaults the first time it is needed."""
    if "vss_writers" not in m.state:
        m.state["vss_writers"] = [
            {"name": n, "id": i, "service": s, "state": 1, "last_error": "none"}
            for n, i, s in DEFAULT_WRITERS
        ]
    out: list[dict[str, Any]] = m.state["vss_writers"]
    return out


def writer_view(m: HostModel) -> list[dict[str, Any]]:
    """The writers without materialising the defaults (reads must not change the state)."""
    if "vss_writers" in m.state:
        out: list[dict[str, Any]] = m.state["vss_writers"]
        return out
    return [
        {"name": n, "id": i, "service": s, "state": 1, "last_error": "none"} for n, i, s in DEFAULT_WRITERS
    ]


def failed(writer: dict[str, Any]) -> bool:
    """VSS_WRITER_STATE 6-15 are the Failed* states (docs/domain.md s.3.2 [V])."""
    return int(writer.get("state", 1)) in domain.WRITER_FAILED_STATES


def reset_writers_of(m: HostModel, service: str) -> None:
    """Restarting a writer's host process clears its failed state."""
    if "vss_writers" not in m.state:
        return
    for w in m.state["vss_writers"]:
        if w["service"].lower() == service.lower():
            w["state"], w["last_error"] = 1, "none"


def profiles_relocated(m: HostModel) -> bool:
    """C:\\Users or C:\\ProgramData replaced by a junction: the System Writer then fails
    (CAPI2 513, docs/domain.md s.2 notes and s.5.9, [3P] social.technet)."""
    for name in ("Users", "ProgramData"):
        key = m.file_key(f"{system_drive(m)}\\{name}")
        if key is not None and m.state["files"][key].get("reparse"):
            return True
    return False
