"""What the simulated PC tells about itself: the OS, the session, users' shell folders, printers."""

from __future__ import annotations

import re
from typing import Any

from wbplay.sim import clock, storage
from wbplay.sim.account import account
from wbplay.sim.model import HostModel, normalise_key
from wbplay.sim.reply import Handler
from wbplay.vocab.ops import OpResult


def _os_info(m: HostModel, _: dict[str, Any]) -> OpResult:
    os = m.os
    return OpResult.success(
        {
            "hostname": m.hostname,
            "caption": os["caption"],
            "version": os["version"],
            "build": int(os["version"].split(".")[2]),
            "sp": os.get("sp", 0),
            "ps_version": os["ps_version"],
            "locale": os["locale"],
            "oem_codepage": os["oem_codepage"],
            "product_type": os["product_type"],
            # The agent reports PROCESSOR_ARCHITECTURE's vocabulary (OSArchitecture is localized).
            "arch": {"64-bit": "x64", "32-bit": "x86"}.get(os.get("arch", "64-bit"), "x64"),
            "boot_time": clock.last_boot(m),
        }
    )


def _session_info(m: HostModel, _: dict[str, Any]) -> OpResult:
    s = m.state.get("session") or {}
    a = account(m)
    return OpResult.success(
        {
            "user": a.name,
            "sid": s.get("sid", "S-1-5-21-1004336348-1177238915-682003330-500"),
            "is_admin": a.admin,
            "elevated": a.elevated,
        }
    )


def _interactive(m: HostModel, _: dict[str, Any]) -> OpResult:
    # The simulated PCs keep their clock in UTC and use it as local time; the first signed-in
    # user sits at the console.
    users = m.state.get("signed_in") or []
    return OpResult.success(
        {
            "local_time": clock.parse(m.state["clock"]).strftime("%Y-%m-%dT%H:%M:%S"),
            "console_user": users[0]["user"] if users else None,
            "desktop_sessions": sorted({int(u.get("session_id", 1)) for u in users}),
        }
    )


def powershell(m: HostModel) -> dict[str, Any]:
    """The state's ``powershell`` section over its defaults: FullLanguage; WinRM 2.0's quotas
    (150 MB and 5 shells per user [V: the MaxMemoryPerShellMB policy text; U: shells]) with
    PowerShell 2.0, WinRM 3.0+'s (1024 MB, 30) otherwise; the 65001 shell wbplay opens."""
    ps2 = str(m.os["ps_version"]).startswith("2.")
    defaults: dict[str, Any] = {
        "language_mode": "FullLanguage",
        "clr_version": "2.0.50727.5485" if ps2 else "4.0.30319.42000",
        "shell_codepage": 65001,
        "winrs_max_memory_mb": 150 if ps2 else 1024,
        "winrs_max_shells_per_user": 5 if ps2 else 30,
        "process_64bit": None,
    }
    return {**defaults, **(m.state.get("powershell") or {})}


def _agent_environment(m: HostModel, _: dict[str, Any]) -> OpResult:
    ps = powershell(m)
    os64 = m.os.get("arch", "64-bit") == "64-bit"
    return OpResult.success(
        {
            "language_mode": ps["language_mode"],
            "ps_version": m.os["ps_version"],
            "clr_version": ps["clr_version"],
            "os_64bit": os64,
            "process_64bit": os64 if ps["process_64bit"] is None else bool(ps["process_64bit"]),
            "shell_codepage": ps["shell_codepage"],
            "oem_codepage": m.os["oem_codepage"],
            "winrs_max_memory_mb": ps["winrs_max_memory_mb"],
            "winrs_max_shells_per_user": ps["winrs_max_shells_per_user"],
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


def location_available(m: HostModel, path: str) -> bool:
    """A library folder can be reached: it exists, on a volume that is attached (a removable
    drive that was taken away, or a share whose server is down, is not)."""
    if m.file_key(path) is None:
        return False
    letter = re.match(r"^([A-Za-z]:)", path)
    return letter is None or storage.find_volume(m, letter.group(1).upper()) is not None


def _user_libraries(m: HostModel, _: dict[str, Any]) -> OpResult:
    out = [
        {
            "profile": lib["profile"],
            "name": lib["name"],
            "locations": [
                {"path": p, "available": location_available(m, p)} for p in lib.get("locations", [])
            ],
        }
        for lib in m.state.get("libraries", [])
    ]
    return OpResult.success(sorted(out, key=lambda x: (x["profile"], x["name"])))


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


HANDLERS: dict[str, Handler] = {
    "os.info": _os_info,
    "session.info": _session_info,
    "session.interactive": _interactive,
    "agent.environment": _agent_environment,
    "user.shell_folders": _user_shell_folders,
    "user.libraries": _user_libraries,
    "printer.list": _printer_list,
    "printer.drivers": _printer_drivers,
}
