"""Volumes: selectors (letter, GUID path, @boot/@system/@winre), which volumes a
system image treats as critical, and where WinRE lives."""

from __future__ import annotations

import ntpath
import re
from collections.abc import Mapping, Sequence
from typing import Any

from wbplay.vocab import cmdparse

Rec = dict[str, Any]
Args = Mapping[str, Any]

_LETTER = re.compile(r"^([A-Za-z]):\\?$")
_GUID_PATH = re.compile(r"^\\\\\?\\Volume\{([0-9A-Fa-f-]{36})\}\\?$")


def resolve(volumes: Sequence[Rec] | None, selector: str | None, winre: Rec | None = None) -> Rec | None:
    """A ``volume.list`` record by letter, GUID path or role (@boot, @system, @winre)."""
    if not volumes or not selector:
        return None
    sel = str(selector).strip()
    low = sel.lower()
    if low == "@boot":
        return next((v for v in volumes if v.get("boot")), None)
    if low == "@system":
        return next((v for v in volumes if v.get("system")), None)
    if low == "@winre":
        if not winre or not winre.get("enabled") or winre.get("disk") is None:
            return None
        return next(
            (v for v in volumes if v["disk"] == winre["disk"] and v["partition"] == winre["partition"]), None
        )
    m = _LETTER.match(sel)
    if m:
        want = m.group(1).upper() + ":"
        return next((v for v in volumes if (v.get("letter") or "").upper() == want), None)
    g = _GUID_PATH.match(sel)
    if g:
        return next((v for v in volumes if g.group(1).lower() in v["path"].lower()), None)
    return None


def name_of(v: Rec) -> str:
    return str(v.get("letter") or v["path"])


def winre_of(value: Any) -> Rec | None:
    return cmdparse.reagentc(value["output"]) if isinstance(value, Mapping) and "output" in value else None


def os_version(os_info: Rec | None) -> tuple[int, int]:
    parts = str((os_info or {}).get("version", "10.0.0")).split(".")
    return int(parts[0]), int(parts[1])


def system_drive(volumes: Sequence[Rec]) -> str:
    boot = resolve(volumes, "@boot")
    return str(boot["letter"]) if boot and boot.get("letter") else "C:"


def image_path_drive(path: str, sysdrive: str) -> str | None:
    """The drive a service's ImagePath lives on (``\\SystemRoot\\``, ``%SystemRoot%`` and bare
    ``system32\\`` paths are on the system drive)."""
    p = path.strip()
    p = p[1:].split('"')[0] if p.startswith('"') else p
    p = re.sub(r"^\\\?\?\\", "", p.strip())
    if p.lower().startswith(("\\systemroot\\", "%systemroot%", "system32\\", "%windir%")):
        return sysdrive
    drive = ntpath.splitdrive(p)[0]
    return drive.upper() if re.fullmatch(r"[A-Za-z]:", drive or "") else None


def services_on_missing_volumes(values: Sequence[Any], args: Args) -> list[Rec]:
    """Services whose ImagePath names a drive no volume has: KB980794's cause of "Enumeration of
    the files failed. The parameter is incorrect." in a system state backup [V]."""
    services, vols = values[0] or [], values[1] or []
    sysdrive = system_drive(vols)
    letters = {str(v["letter"]).upper() for v in vols if v.get("letter")}
    out = []
    for s in services:
        drive = image_path_drive(s.get("path") or "", sysdrive)
        if drive is not None and drive not in letters:
            out.append({"name": s["name"], "path": s["path"], "drive": drive})
    return out


def critical_reasons(
    v: Rec, volumes: Sequence[Rec], services: Sequence[Rec] | None, winre: Rec | None
) -> list[str]:
    """Why a system image would treat ``v`` as critical (docs/domain.md s.5.1-5.2).

    Boot/system volumes, volumes hosting a service ImagePath ([3P]; KB980794 [V]) and the
    volume holding WinRE ([V KB975692] for the external-drive case).
    """
    reasons = []
    if v.get("boot"):
        reasons.append("boot")
    if v.get("system"):
        reasons.append("system")
    re_vol = resolve(volumes, "@winre", winre)
    if re_vol is not None and re_vol["path"] == v["path"]:
        reasons.append("winre")
    letter = (v.get("letter") or "").upper()
    if letter and services:
        sysdrive = system_drive(volumes)
        reasons += [
            f"service:{s['name']}"
            for s in sorted(services, key=lambda s: s["name"].lower())
            if s.get("path") and image_path_drive(s["path"], sysdrive) == letter
        ]
    return reasons


def volume(values: Sequence[Any], args: Args) -> Rec | None:
    v = resolve(values[0], args.get("volume"))
    if v is None:
        return None
    # Free space as a share of the volume, so a playbook can say "at least 10 % free" without
    # knowing the disk's size (issue 10's walkthrough); None when Windows reports no size.
    size, free = v.get("size_mb"), v.get("free_mb")
    known = isinstance(size, int | float) and size > 0 and isinstance(free, int | float)
    share = round(100.0 * free / size, 1) if known else None
    return {**v, "free_percent": share}


def disk_of(values: Sequence[Any], args: Args) -> Rec | None:
    vols, disks = values[0], values[1]
    v = resolve(vols, args.get("volume"))
    if v is None or not disks:
        return None
    return next((d for d in disks if d["number"] == v["disk"]), None)


def volume_critical(values: Sequence[Any], args: Args) -> Rec | None:
    vols, services, winre_cmd = values[0], values[1], values[2]
    winre = winre_of(winre_cmd)
    v = resolve(vols, args.get("volume"), winre)
    if v is None:
        return None
    reasons = critical_reasons(v, vols, services, winre)
    return {"volume": name_of(v), "critical": bool(reasons), "reasons": reasons}


def critical_sources(
    vols: Sequence[Rec], services: Sequence[Rec] | None, winre: Rec | None, major_minor: tuple[int, int]
) -> list[Rec]:
    """The volumes a system image includes, each with its ``reasons`` for being critical."""
    out = []
    for v in vols:
        reasons = critical_reasons(v, vols, services, winre)
        if "winre" in reasons and major_minor < (6, 2) and len(reasons) == 1:
            continue  # Win7 images do not take the WinRE volume on its own [U]
        if reasons:
            out.append({**v, "reasons": reasons})
    return out


def winre_placement(values: Sequence[Any], args: Args) -> Rec:
    """Where WinRE lives, and whether that is an external disk (docs/domain.md s.5.2 [V KB975692])."""
    info = cmdparse.reagentc(values[0]["output"]) if values[0] else {"enabled": None}
    disks = values[1] or []
    disk = next((d for d in disks if d["number"] == info.get("disk")), None)
    external = bool(disk) and (disk.get("bus_type") == "USB" or not disk.get("is_boot"))
    return {
        "enabled": info.get("enabled"),
        "location": info.get("location"),
        "disk": info.get("disk"),
        "bus_type": disk.get("bus_type") if disk else None,
        "on_boot_disk": bool(disk and disk.get("is_boot")),
        "external": external,
    }
