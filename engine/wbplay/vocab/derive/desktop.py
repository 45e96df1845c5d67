"""The user's desktop around a backup: shell folders and profiles off the system
drive, and Remote Desktop Easy Print printers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from wbplay.vocab import domain
from wbplay.vocab.derive.volumes import Args, Rec, system_drive


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


def system_writer_errors(value: Any) -> list[Rec] | None:
    """CAPI2 513 events that say something about the System Writer: the MSLLDP "Access is
    denied" one, benign on every Windows Server (KB3209092 [V]), is left out."""
    if value is None:
        return None
    return [e for e in value if not domain.benign_capi2_513(e.get("message"))]


def unavailable_libraries(value: Any) -> list[str] | None:
    """``"<profile>: <library> -> <folder>"`` for every library folder that cannot be reached now:
    KB975692's first cause of 0x81000031 (custom libraries on unavailable network or removable
    drives) [V]."""
    if value is None:
        return None
    return [
        f"{lib['profile']}: {lib['name']} -> {loc['path']}"
        for lib in value
        for loc in lib.get("locations", [])
        if not loc.get("available")
    ]


def policy_disabled(values: Sequence[Any], args: Args) -> list[str]:
    """The services of ``names`` that Group Policy sets to Disabled: flipping them locally lasts
    only until the next policy refresh (RSOP_SystemService [V]; docs/domain-review.md A.1)."""
    wanted = {str(n).lower() for n in args.get("names") or []}
    return [
        p["name"]
        for p in values[0] or []
        if str(p.get("name", "")).lower() in wanted and p.get("start_mode") == "Disabled"
    ]


def decimal_not_period(value: Any) -> list[Rec]:
    """The hives whose decimal symbol is not ".": KB982736's cause of 0x80070057 as third-party
    pages quote it ([3P]).  A hive without the value keeps its locale's default: not listed."""
    return [
        {"hive": h["hive"], "decimal": h["decimal"], "locale_name": h.get("locale_name")}
        for h in value or []
        if h.get("decimal") is not None and h["decimal"] != domain.BACKUP_DECIMAL_SYMBOL
    ]
