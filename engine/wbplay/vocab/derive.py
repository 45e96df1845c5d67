"""What a sysadmin concludes from several reads at once, computed in the engine.

Probes that need more than one read (is this destination a critical volume?
which disk do these I/O errors belong to?) join the typed results of plain
read ops here, so the agent stays a dumb reader and every host (sim, lab,
real PC) is judged by the same, tested code.  Each function takes the op
values in the order its probe declares them, plus the probe's arguments.
"""

from __future__ import annotations

import ntpath
import re
from collections.abc import Mapping, Sequence
from typing import Any

from wbplay.vocab import cmdparse, codes, domain

Rec = dict[str, Any]
Args = Mapping[str, Any]

_LETTER = re.compile(r"^([A-Za-z]):\\?$")
_GUID_PATH = re.compile(r"^\\\\\?\\Volume\{([0-9A-Fa-f-]{36})\}\\?$")


# -- volumes -----------------------------------------------------------------------------------


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


def _winre(value: Any) -> Rec | None:
    return cmdparse.reagentc(value["output"]) if isinstance(value, Mapping) and "output" in value else None


def _version(os_info: Rec | None) -> tuple[int, int]:
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
    return resolve(values[0], args.get("volume"))


def disk_of(values: Sequence[Any], args: Args) -> Rec | None:
    vols, disks = values[0], values[1]
    v = resolve(vols, args.get("volume"))
    if v is None or not disks:
        return None
    return next((d for d in disks if d["number"] == v["disk"]), None)


def volume_critical(values: Sequence[Any], args: Args) -> Rec | None:
    vols, services, winre_cmd = values[0], values[1], values[2]
    winre = _winre(winre_cmd)
    v = resolve(vols, args.get("volume"), winre)
    if v is None:
        return None
    reasons = critical_reasons(v, vols, services, winre)
    return {"volume": name_of(v), "critical": bool(reasons), "reasons": reasons}


def _image_sources(
    vols: Sequence[Rec], services: Sequence[Rec] | None, winre: Rec | None, major_minor: tuple[int, int]
) -> list[Rec]:
    out = []
    for v in vols:
        reasons = critical_reasons(v, vols, services, winre)
        if "winre" in reasons and major_minor < (6, 2) and len(reasons) == 1:
            continue  # Win7 images do not take the WinRE volume on its own [U]
        if reasons:
            out.append({**v, "reasons": reasons})
    return out


def image_target(values: Sequence[Any], args: Args) -> Rec:
    """Everything that decides whether a system image can go to ``target`` (docs/domain.md s.5)."""
    vols, disks, services, winre_cmd, os_info, catalog, root = values[:7]
    winre = _winre(winre_cmd)
    mm = _version(os_info)
    t = resolve(vols, args.get("target"), winre)
    if t is None:
        return {"exists": False, "target": args.get("target")}
    disk = next((d for d in disks or [] if d["number"] == t["disk"]), {})
    reasons = critical_reasons(t, vols, services, winre)
    sources = [s for s in _image_sources(vols, services, winre, mm) if s["path"] != t["path"]]
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
    mm = _version(os_info)
    sources = _image_sources(vols or [], services, _winre(winre_cmd), mm)
    limit_applies = mm < domain.FIRST_4KN_VERSION  # Win7 VHD limit (0x807800B4 [V])
    too_large = [name_of(s) for s in sources if limit_applies and s["size_mb"] > domain.VHD_LIMIT_MB]
    return {
        "volumes": [
            {"volume": name_of(s), "size_mb": s["size_mb"], "reasons": s["reasons"]} for s in sources
        ],
        "too_large": too_large,
    }


# -- shadow storage -----------------------------------------------------------------------------


def _ref_matches(ref: Rec, selector: str) -> bool:
    low = selector.strip().lower()
    if low == "@boot":
        return bool(ref.get("boot"))
    if low == "@system":
        return bool(ref.get("system"))
    return resolve([{**ref, "disk": -1, "partition": -1}], selector) is not None


def shadowstorage_max(values: Sequence[Any], args: Args) -> int | None:
    """The maximum of the association ``for_volume`` -> ``on_volume`` (0 = UNBOUNDED), None if absent.

    The op already filtered by ``for_volume`` on the host (roles like @winre resolve there).
    """
    for a in values[0] or []:
        if _ref_matches(a["on"], str(args.get("on_volume", ""))):
            return int(a["max_mb"])
    return None


def _room(v: Rec, assoc: Rec | None, vols: Sequence[Rec], storage: Rec | None = None) -> Rec:
    need = domain.headroom_needed_mb(v["size_mb"])
    out: Rec = {
        "volume": name_of(v),
        "size_mb": v["size_mb"],
        "free_mb": v["free_mb"],
        "needed_mb": need,
        "storage_on": None,
        "max_mb": None,
    }
    if assoc is None:
        ok, why = v["free_mb"] >= need, f"{v['free_mb']} MB free on the volume itself, {need} MB needed"
    else:
        on = resolve(vols, assoc["on"]["path"])
        out["storage_on"], out["max_mb"] = name_of(assoc["on"]), assoc["max_mb"]
        if assoc["max_mb"] and assoc["max_mb"] < need:
            ok, why = False, f"the association's maximum is {assoc['max_mb']} MB, {need} MB needed"
        elif on is None or on["free_mb"] < need:
            ok, why = False, f"not enough free space on {out['storage_on']} ({need} MB needed)"
        else:
            ok, why = True, f"shadow storage on {out['storage_on']}"
    out["ok"], out["why"] = ok, why
    out["fix"] = None if ok else _room_fix(v, assoc, need, storage)
    return out


def _room_fix(v: Rec, assoc: Rec | None, need: int, storage: Rec | None) -> str:
    """What would give ``v``'s shadow copy room: ``resize`` a too-small association on the volume
    itself, ``add`` an association on another volume with space, else ``free-space`` (a human
    must free or enlarge the partition).  docs/domain.md s.2 0x80780119/0x807800C5 [3P]."""
    if assoc is not None:
        same = assoc["on"]["path"] == v["path"]
        return (
            "resize"
            if same and assoc["max_mb"] and assoc["max_mb"] < need and v["free_mb"] >= need
            else "free-space"
        )
    if storage is not None and storage["path"] != v["path"] and storage["free_mb"] >= need:
        return "add"
    return "free-space"


def shadowstorage_room(values: Sequence[Any], args: Args) -> Rec | None:
    """Whether ``volume``'s shadow copy has room (docs/domain.md s.2 0x80780119: thresholds [U])."""
    vols, assocs, winre_cmd = values[0], values[1], values[2]
    winre = _winre(winre_cmd)
    v = resolve(vols, args.get("volume"), winre)
    if v is None:
        return None
    mine = [a for a in assocs or [] if a["for"]["path"] == v["path"]]
    storage = resolve(vols, args.get("storage_volume"), winre)
    return _room(v, mine[0] if mine else None, vols, storage)


def critical_room(values: Sequence[Any], args: Args) -> list[Rec]:
    """The critical source volumes whose shadow copy has no room: the usual cause of
    0x80780119 / 0x81000019 (docs/domain.md s.2, s.5.4 [3P])."""
    vols, services, winre_cmd, os_info, assocs = values[:5]
    sources = _image_sources(vols or [], services, _winre(winre_cmd), _version(os_info))
    out = []
    for s in sources:
        mine = [a for a in assocs or [] if a["for"]["path"] == s["path"]]
        room = _room(s, mine[0] if mine else None, vols)
        if not room["ok"]:
            out.append(room)
    return out


# -- chkdsk history and disk errors -----------------------------------------------------------------


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


# -- WinRE ----------------------------------------------------------------------------------------


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


# -- users, printers, backup errors ------------------------------------------------------------------


def _expand(path: str, profile: str | None, sysdrive: str) -> str:
    out = path
    for var, value in (
        ("%USERPROFILE%", profile or f"{sysdrive}\\Users\\?"),
        ("%SYSTEMDRIVE%", sysdrive),
        ("%SYSTEMROOT%", f"{sysdrive}\\Windows"),
        ("%WINDIR%", f"{sysdrive}\\Windows"),
        ("%PUBLIC%", f"{sysdrive}\\Users\\Public"),
    ):
        out = re.sub(re.escape(var), lambda _m, v=value: v, out, flags=re.IGNORECASE)
    return out


def folders_off_system(values: Sequence[Any], args: Args) -> list[Rec]:
    """User shell folders (per loaded ``HKU\\<SID>``) and profiles that live off the system drive:
    the seed's "user folders relocated off C:" (docs/domain.md s.4, s.5.9 [3P])."""
    users, vols = values[0] or [], values[1] or []
    sysdrive = system_drive(vols).upper()
    out = []
    for u in users:
        profile = u.get("profile_path")
        if profile and _expand(profile, None, sysdrive).upper()[:2] != sysdrive:
            out.append({"sid": u["sid"], "folder": "(profile)", "path": profile})
        for name, raw in sorted(u.get("folders", {}).items()):
            path = _expand(str(raw), profile, sysdrive)
            if path.startswith("\\\\") or path.upper()[:2] != sysdrive:
                out.append({"sid": u["sid"], "folder": name, "path": path})
    return out


def easy_print(values: Sequence[Any], args: Args) -> Rec:
    """Remote Desktop Easy Print drivers and redirected printers (the seed's suspicion; no source
    links them to backup failures: docs/domain.md s.4, low confidence)."""
    drivers, printers = values[0] or [], values[1] or []
    names = sorted({d["name"] for d in drivers if "easy print" in d["name"].lower()})
    redirected = sorted(
        p["name"]
        for p in printers
        if "easy print" in p.get("driver", "").lower() or re.match(r"^TS\d+", p.get("port", ""))
    )
    return {"present": bool(names or redirected), "drivers": names, "printers": redirected}


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
