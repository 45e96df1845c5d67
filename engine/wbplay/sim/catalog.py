"""The backup sets on a target: system images (``WindowsImageBackup``) and Windows 7
file-backup sets, as ``backup.catalog`` and ``wbadmin get versions`` see them, and as the
backup engine (:mod:`wbplay.sim.backup`) checks them."""

from __future__ import annotations

import re
from typing import Any

from wbplay.sim import storage
from wbplay.sim.model import HostModel
from wbplay.sim.reply import Handler, command
from wbplay.sim.text.wbadmin import wbadmin_versions
from wbplay.vocab.ops import OpResult, machine_name, unc_target

ERROR_FILE_CORRUPT = 0x80070570


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
    # One folder per computer; a quarantined <PC>.wbplay-old is not a computer name, so it is
    # out of Windows Backup's sight, as for file sets below [U].
    return [
        {"machine": name, "path": f"{root}\\{name}", "readable": not _under_damaged(m, f"{root}\\{name}")}
        for name in m.children(root)
        if machine_name(name)
        and m.state["files"][m.file_key(f"{root}\\{name}") or ""].get("kind") == "directory"
    ]


def file_sets(m: HostModel, letter: str) -> list[dict[str, Any]]:
    """Windows 7 file-backup sets: ``<target>\\<machine>\\Backup Set ...`` folders (Windows
    Backup only looks in folders named like a computer, so a renamed set is out of its sight)."""
    out = []
    for name in m.children(letter + "\\"):
        if not machine_name(name):
            continue
        folder = f"{letter}\\{name}"
        if any(child.lower().startswith("backup set ") for child in m.children(folder)):
            out.append({"machine": name, "path": folder, "readable": not _under_damaged(m, folder)})
    return out


def _backup_root(m: HostModel, target: str) -> str | None:
    """``X:`` of a volume with a letter, ``\\\\server\\share`` of a share target (files under
    that path in the state), else None: as the agent's Get-WbBackupRoot."""
    share = unc_target(target)
    if share is not None:
        return share
    v = storage.find_volume(m, target)
    return v["letter"] if v is not None and v.get("letter") else None


def _backup_catalog(m: HostModel, a: dict[str, Any]) -> OpResult:
    letter = _backup_root(m, a["target"])
    if letter is None:
        return OpResult.success(None)
    return OpResult.success(
        {"target": letter, "image_sets": image_sets(m, letter), "file_sets": file_sets(m, letter)}
    )


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
    share = unc_target(target) if target else None
    v = storage.find_volume(m, target) if target and share is None else None
    root = share or (storage.name_of(v) if v is not None else None)
    versions, error = _versions_on(m, root) if root is not None else ([], None)
    code, out = wbadmin_versions(m, versions, error)
    return command(line, code, out)


HANDLERS: dict[str, Handler] = {
    "backup.catalog": _backup_catalog,
    "wbadmin.get_versions": _get_versions,
}
