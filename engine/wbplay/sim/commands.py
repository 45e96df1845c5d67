"""The storage, VSS, WinRE and repair ops of the simulated PC (ops.py, issue 4).

Reads answer typed lists (``disk.list``...) or, for console commands, the
``{command_line, exit_code, output}`` a real PC prints in its UI language
(:mod:`wbplay.sim.text`).  Writes change the state the way Windows would:
``chkdsk.schedule`` only arms the boot-time check (:mod:`wbplay.sim.boot` runs
it at ``host.reboot``), ``chkdsk.run`` repairs a lockable volume now, ``sfc
/scannow`` repairs what the component store can, ``reagentc /enable`` puts
WinRE back where it was unless that disk is gone (KB975692's reason to unplug
the external drive first).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from wbplay.sim import clock, storage, text
from wbplay.sim.model import HostModel, normalise_key
from wbplay.sim.storage import Vol
from wbplay.vocab import ops as O
from wbplay.vocab.ops import OpResult, win32_failure

Handler = Callable[[HostModel, dict[str, Any]], OpResult]

VSS_E_OBJECT_NOT_FOUND = 0x80042308
VSS_E_OBJECT_ALREADY_EXISTS = 0x8004230D
ERROR_FILE_CORRUPT = 0x80070570
MIN_SHADOW_STORAGE_MB = 300  # vssadmin: "MaxSizeSpec must be 300MB or greater" [U]

CHKDSK_EVENT = ("Chkdsk", 26226)  # an online chkdsk's report, Application log [U: id]


def _vssfail(code: int, text_: str) -> OpResult:
    return OpResult.failure(code, text_)


def _cmd(line: str, exit_code: int, output: str) -> OpResult:
    return OpResult.success({"command_line": line, "exit_code": exit_code, "output": output})


def _volume_or_fail(m: HostModel, selector: str) -> Vol | OpResult:
    v = storage.find_volume(m, selector)
    return win32_failure(O.ERROR_FILE_NOT_FOUND) if v is None else v


# -- typed reads ----------------------------------------------------------------------------


def _disk_list(m: HostModel, _: dict[str, Any]) -> OpResult:
    attached = [d for d in storage.disks(m) if d.get("attached", True)]
    return OpResult.success([storage.disk_record(m, d) for d in sorted(attached, key=lambda d: d["number"])])


def _volume_list(m: HostModel, _: dict[str, Any]) -> OpResult:
    return OpResult.success([storage.volume_record(m, v) for v in storage.online_volumes(m)])


def _vol_ref(v: Vol) -> dict[str, Any]:
    return {
        "path": storage.volume_path(v),
        "letter": v.get("letter"),
        "label": v.get("label", ""),
        "system": bool(v.get("system")),
        "boot": bool(v.get("boot")),
    }


def _shadowstorage_list(m: HostModel, a: dict[str, Any]) -> OpResult:
    only = storage.find_volume(m, a["for_volume"]) if a.get("for_volume") else None
    if a.get("for_volume") and only is None:
        return OpResult.success([])
    out = []
    for assoc in m.state.get("shadow_storage", []):
        for_v, on_v = storage.find_volume(m, assoc["for"]), storage.find_volume(m, assoc["on"])
        if for_v is None or on_v is None or (only is not None and for_v is not only):
            continue
        out.append(
            {
                "for": _vol_ref(for_v),
                "on": _vol_ref(on_v),
                "used_mb": assoc.get("used_mb", 0),
                "allocated_mb": assoc.get("allocated_mb", 0),
                "max_mb": assoc["max_mb"],
            }
        )
    return OpResult.success(out)


def _under_damaged(m: HostModel, folder: str) -> bool:
    base = folder.lower().rstrip("\\") + "\\"
    return any(
        e.get("damaged")
        for p, e in m.state["files"].items()
        if p.lower().startswith(base) or p.lower() == folder.lower()
    )


def image_sets(m: HostModel, letter: str) -> list[dict[str, Any]]:
    root = f"{letter}\\WindowsImageBackup"
    key = m.file_key(root)
    if key is None or m.state["files"][key]["kind"] != "directory":
        return []
    return [
        {"machine": name, "path": f"{root}\\{name}", "readable": not _under_damaged(m, f"{root}\\{name}")}
        for name in m.children(root)
        if m.state["files"][m.file_key(f"{root}\\{name}") or ""].get("kind") == "directory"
    ]


_MACHINE = re.compile(r"^[A-Za-z0-9-]{1,15}$")


def file_sets(m: HostModel, letter: str) -> list[dict[str, Any]]:
    """Windows 7 file-backup sets: ``<target>\\<machine>\\Backup Set ...`` folders (Windows
    Backup only looks in folders named like a computer, so a renamed set is out of its sight)."""
    out = []
    for name in m.children(letter + "\\"):
        if not _MACHINE.match(name):
            continue
        folder = f"{letter}\\{name}"
        if any(child.lower().startswith("backup set ") for child in m.children(folder)):
            out.append({"machine": name, "path": folder, "readable": not _under_damaged(m, folder)})
    return out


def _backup_catalog(m: HostModel, a: dict[str, Any]) -> OpResult:
    v = storage.find_volume(m, a["target"])
    if v is None or not v.get("letter"):
        return OpResult.success(None)
    letter = v["letter"]
    return OpResult.success(
        {"target": letter, "image_sets": image_sets(m, letter), "file_sets": file_sets(m, letter)}
    )


def _session_info(m: HostModel, _: dict[str, Any]) -> OpResult:
    s = m.state.get("session") or {}
    return OpResult.success(
        {
            "user": s.get("user", f"{m.hostname}\\Administrator"),
            "sid": s.get("sid", "S-1-5-21-1004336348-1177238915-682003330-500"),
            "is_admin": bool(s.get("admin", True)),
            "elevated": bool(s.get("elevated", True)),
        }
    )


_SHELL_FOLDERS = "Software\\Microsoft\\Windows\\CurrentVersion\\Explorer\\User Shell Folders"
_PROFILE_LIST = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList"
_USER_SID = re.compile(r"^S-1-5-21-[\d-]+$", re.IGNORECASE)


def _user_shell_folders(m: HostModel, _: dict[str, Any]) -> OpResult:
    out = []
    for stored in m.state["registry"]:
        key = normalise_key(stored)
        hive, _, rest = key.partition("\\")
        sid, _, sub = rest.partition("\\")
        if hive != "HKU" or not _USER_SID.match(sid) or sub.lower() != _SHELL_FOLDERS.lower():
            continue
        values = m.state["registry"][stored]
        profile = m.registry_key(f"{_PROFILE_LIST}\\{sid}")
        path = profile[1].get("ProfileImagePath", {}).get("value") if profile else None
        out.append(
            {"sid": sid, "profile_path": path, "folders": {n: v["value"] for n, v in sorted(values.items())}}
        )
    return OpResult.success(sorted(out, key=lambda u: u["sid"]))


def _printer_list(m: HostModel, _: dict[str, Any]) -> OpResult:
    return OpResult.success(
        [
            {"name": p["name"], "driver": p["driver"], "port": p.get("port", "")}
            for p in m.state.get("printers", [])
        ]
    )


def _printer_drivers(m: HostModel, _: dict[str, Any]) -> OpResult:
    return OpResult.success(
        [
            {
                "name": d["name"],
                "environment": d.get("environment", "Windows x64"),
                "version": d.get("version", 3),
            }
            for d in m.state.get("printer_drivers", [])
        ]
    )


# -- command reads ---------------------------------------------------------------------------


def _chkdsk_scan(m: HostModel, a: dict[str, Any]) -> OpResult:
    v = _volume_or_fail(m, a["volume"])
    if isinstance(v, OpResult):
        return v
    switch = " /scan" if m.major_minor >= (6, 2) else ""
    code, out = text.chkdsk_readonly(m, v)
    return _cmd(f"chkdsk {storage.name_of(v)}{switch}", code, out)


def _chkntfs(m: HostModel, a: dict[str, Any]) -> OpResult:
    v = _volume_or_fail(m, a["volume"])
    if isinstance(v, OpResult):
        return v
    return _cmd(f"chkntfs {storage.name_of(v)}", 0, text.chkntfs(m, v))


def _fsutil_dirty(m: HostModel, a: dict[str, Any]) -> OpResult:
    v = _volume_or_fail(m, a["volume"])
    if isinstance(v, OpResult):
        return v
    return _cmd(f"fsutil dirty query {storage.name_of(v)}", 0, text.fsutil_dirty(m, v))


def _fsutil_ntfsinfo(m: HostModel, a: dict[str, Any]) -> OpResult:
    v = _volume_or_fail(m, a["volume"])
    if isinstance(v, OpResult):
        return v
    code, out = text.fsutil_ntfsinfo(m, v)
    return _cmd(f"fsutil fsinfo ntfsinfo {storage.name_of(v)}", code, out)


def _list_writers(m: HostModel, _: dict[str, Any]) -> OpResult:
    return _cmd("vssadmin list writers", 0, text.vssadmin_list_writers(m))


def _list_shadowstorage(m: HostModel, _: dict[str, Any]) -> OpResult:
    code, out = text.vssadmin_list_shadowstorage(m)
    return _cmd("vssadmin list shadowstorage", code, out)


def _versions_on(m: HostModel, letter: str) -> tuple[list[tuple[str, str]], int | None]:
    v = storage.find_volume(m, letter)
    label = f"{v.get('label', '')}({letter})" if v else letter
    versions: list[tuple[str, str]] = []
    for s in image_sets(m, letter):
        if s["machine"].lower() != m.hostname.lower():
            continue
        if not s["readable"]:
            return [], ERROR_FILE_CORRUPT
        for child in m.children(s["path"]):
            stamp = re.fullmatch(r"Backup (\d{4})-(\d\d)-(\d\d) (\d\d)(\d\d)(\d\d)", child)
            if stamp:
                y, mo, d, hh, mi, _ = stamp.groups()
                versions.append((f"{y}-{mo}-{d}T{hh}:{mi}:00Z", label))
    return sorted(versions), None


def _get_versions(m: HostModel, a: dict[str, Any]) -> OpResult:
    target = a.get("target") or (m.state.get("backup") or {}).get("target")
    line = "wbadmin get versions" + (f" -backupTarget:{a['target']}" if a.get("target") else "")
    v = storage.find_volume(m, target) if target else None
    versions, error = _versions_on(m, storage.name_of(v)) if v is not None else ([], None)
    code, out = text.wbadmin_versions(m, versions, error)
    return _cmd(line, code, out)


def _reagentc_info(m: HostModel, _: dict[str, Any]) -> OpResult:
    return _cmd("reagentc /info", 0, text.reagentc_info(m))


def _system_files(m: HostModel) -> dict[str, list[str]]:
    sf: dict[str, list[str]] = m.state.get("system_files") or {}
    return sf


def _sfc_verifyonly(m: HostModel, _: dict[str, Any]) -> OpResult:
    sf = _system_files(m)
    found = bool(sf.get("corrupt") or sf.get("unrepairable"))
    return _cmd("sfc /verifyonly", 0, text.sfc_output(m, verify_only=True, found=found, unrepaired=False))


def _cbs_sr_lines(m: HostModel, _: dict[str, Any]) -> OpResult:
    lines = [ln for ln in m.state.get("cbs_log", []) if "[SR]" in ln]
    out = "\r\n".join(lines) + ("\r\n" if lines else "")
    return _cmd('findstr /c:"[SR]" %windir%\\Logs\\CBS\\CBS.log', 0 if lines else 1, out)


# -- repairs -----------------------------------------------------------------------------------


def repair_pass(m: HostModel, v: Vol, mode: str, *, at_boot: bool) -> str:
    """One chkdsk /F or /R pass: fixes the next layer of file-system damage and, with /R,
    maps out every unreadable sector; returns its report (docs/domain.md s.4, s.6).

    Each pass finds what the previous one left (the seed's "repeat until no more errors").
    On an SSD every /R pass is counted as wear: chkdsk.md warns that repeated full-surface
    scans add write/erase cycles [V], the seed's warning.
    """
    layers = list(v.get("fs_errors") or [])
    found = layers.pop(0) if layers else 0
    v["fs_errors"] = layers
    added_clusters = 0
    if mode == "r":
        bad = int(v.get("bad_sectors", 0))
        added_clusters = text.bad_sector_kb(m, v, bad) // 4
        v["bad_sectors_mapped"] = int(v.get("bad_sectors_mapped", 0)) + bad
        v["bad_sectors"] = 0
        d = storage.disk(m, v["disk"])
        if d is not None and d["media_type"] == "SSD":
            d["wear_passes"] = int(d.get("wear_passes", 0)) + 1
    v["dirty"] = False
    v.pop("chkdsk_scheduled", None)
    return text.chkdsk_pass_text(m, v, mode, found, added_clusters, at_boot=at_boot)


def _chkdsk_schedule(m: HostModel, a: dict[str, Any]) -> OpResult:
    v = _volume_or_fail(m, a["volume"])
    if isinstance(v, OpResult):
        return v
    if a["mode"] not in O.MODES:
        return win32_failure(O.ERROR_INVALID_PARAMETER)
    if v.get("chkdsk_scheduled") != "r":  # /R already covers /F
        v["chkdsk_scheduled"] = a["mode"]
    return OpResult.success()


def _chkdsk_run(m: HostModel, a: dict[str, Any]) -> OpResult:
    v = _volume_or_fail(m, a["volume"])
    if isinstance(v, OpResult):
        return v
    if a["mode"] not in O.MODES:
        return win32_failure(O.ERROR_INVALID_PARAMETER)
    if v.get("boot") or v.get("system") or v.get("pagefile"):
        # "Chkdsk cannot run because the volume is in use by another process" (docs/domain.md s.6).
        return win32_failure(O.ERROR_SHARING_VIOLATION)
    clock.advance(m, 30 if a["mode"] == "r" else 5)
    report = repair_pass(m, v, a["mode"], at_boot=False)
    source, event_id = CHKDSK_EVENT
    clock.log_event(
        m, log="Application", provider=source, event_id=event_id, level="Information", message=report
    )
    return OpResult.success()


def _sfc_scannow(m: HostModel, _: dict[str, Any]) -> OpResult:
    sf = m.state.setdefault("system_files", {})
    repaired, unrepairable = list(sf.get("corrupt", [])), list(sf.get("unrepairable", []))
    stamp = clock.advance(m, 20).replace("T", " ").rstrip("Z")
    m.state.setdefault("cbs_log", []).extend(text.cbs_sr_lines(stamp, repaired, unrepairable))
    sf["corrupt"] = []
    return OpResult.success()


# -- shadow storage ------------------------------------------------------------------------------


def _assoc_key(v: Vol) -> str:
    return str(v.get("letter") or storage.volume_path(v))


def _find_assoc(m: HostModel, for_v: Vol, on_v: Vol) -> dict[str, Any] | None:
    for a in storage.associations(m):
        if storage.find_volume(m, a["for"]) is for_v and storage.find_volume(m, a["on"]) is on_v:
            return a
    return None


def _storage_args(m: HostModel, a: dict[str, Any]) -> tuple[Vol, Vol] | OpResult:
    for_v, on_v = storage.find_volume(m, a["for_volume"]), storage.find_volume(m, a["on_volume"])
    if for_v is None or on_v is None:
        return win32_failure(O.ERROR_FILE_NOT_FOUND)
    return for_v, on_v


def _bad_max(a: dict[str, Any]) -> bool:
    mx = a["max_size_mb"]
    return mx < 0 or 0 < mx < MIN_SHADOW_STORAGE_MB


def _storage_add(m: HostModel, a: dict[str, Any]) -> OpResult:
    vols = _storage_args(m, a)
    if isinstance(vols, OpResult):
        return vols
    for_v, on_v = vols
    if _bad_max(a) or on_v["file_system"] != "NTFS":
        return win32_failure(O.ERROR_INVALID_PARAMETER)
    if storage.association_for(m, for_v) is not None:
        return _vssfail(VSS_E_OBJECT_ALREADY_EXISTS, "The object already exists.")
    m.state.setdefault("shadow_storage", []).append(
        {
            "for": _assoc_key(for_v),
            "on": _assoc_key(on_v),
            "max_mb": a["max_size_mb"],
            "used_mb": 0,
            "allocated_mb": 0,
        }
    )
    return OpResult.success()


def _storage_resize(m: HostModel, a: dict[str, Any]) -> OpResult:
    vols = _storage_args(m, a)
    if isinstance(vols, OpResult):
        return vols
    if _bad_max(a):
        return win32_failure(O.ERROR_INVALID_PARAMETER)
    found = _find_assoc(m, *vols)
    if found is None:
        return _vssfail(VSS_E_OBJECT_NOT_FOUND, "The specified object was not found.")
    found["max_mb"] = a["max_size_mb"]
    return OpResult.success()


def _storage_delete(m: HostModel, a: dict[str, Any]) -> OpResult:
    vols = _storage_args(m, a)
    if isinstance(vols, OpResult):
        return vols
    found = _find_assoc(m, *vols)
    if found is None:
        return _vssfail(VSS_E_OBJECT_NOT_FOUND, "The specified object was not found.")
    m.state["shadow_storage"].remove(found)
    if not m.state["shadow_storage"]:
        del m.state["shadow_storage"]  # as before the first add: keeps rollback comparisons exact
    return OpResult.success()


# -- WinRE ---------------------------------------------------------------------------------------


def _winre_disable(m: HostModel, _: dict[str, Any]) -> OpResult:
    re_ = m.state.get("winre")
    if re_ is None:
        return win32_failure(O.ERROR_NOT_SUPPORTED)
    re_["enabled"] = False  # winre.wim goes back to C:\Windows\System32\Recovery; the location is remembered
    return OpResult.success()


def _winre_enable(m: HostModel, _: dict[str, Any]) -> OpResult:
    """Back to the remembered location if its disk is still attached, else to the home
    location: why KB975692 says to disconnect the external drive first [V]."""
    re_ = m.state.get("winre")
    if re_ is None:
        return win32_failure(O.ERROR_NOT_SUPPORTED)
    if re_.get("enabled"):
        return OpResult.success()
    remembered = storage.disk(m, re_["disk"]) if "disk" in re_ else None
    if remembered is None or not remembered.get("attached", True):
        boot = storage.boot_volume(m)
        if boot is None:
            return win32_failure(O.ERROR_FILE_NOT_FOUND)
        re_["disk"] = re_.get("home_disk", boot["disk"])
        re_["partition"] = re_.get("home_partition", boot["partition"])
        re_["path"] = re_.get("home_path", "\\Recovery\\WindowsRE")
    re_["enabled"] = True
    return OpResult.success()


HANDLERS: dict[str, Handler] = {
    "disk.list": _disk_list,
    "volume.list": _volume_list,
    "shadowstorage.list": _shadowstorage_list,
    "backup.catalog": _backup_catalog,
    "session.info": _session_info,
    "user.shell_folders": _user_shell_folders,
    "printer.list": _printer_list,
    "printer.drivers": _printer_drivers,
    "chkdsk.scan": _chkdsk_scan,
    "chkntfs.query": _chkntfs,
    "fsutil.dirty_query": _fsutil_dirty,
    "fsutil.ntfsinfo": _fsutil_ntfsinfo,
    "vssadmin.list_writers": _list_writers,
    "vssadmin.list_shadowstorage": _list_shadowstorage,
    "wbadmin.get_versions": _get_versions,
    "reagentc.info": _reagentc_info,
    "sfc.verifyonly": _sfc_verifyonly,
    "cbs.sr_lines": _cbs_sr_lines,
    "chkdsk.schedule": _chkdsk_schedule,
    "chkdsk.run": _chkdsk_run,
    "sfc.scannow": _sfc_scannow,
    "shadowstorage.add": _storage_add,
    "shadowstorage.resize": _storage_resize,
    "shadowstorage.delete": _storage_delete,
    "winre.disable": _winre_disable,
    "winre.enable": _winre_enable,
}
