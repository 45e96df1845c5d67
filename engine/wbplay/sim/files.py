"""The files and folders of the simulated PC: ``path.*`` ops."""

from __future__ import annotations

import ntpath
import re
from typing import Any

from wbplay.sim.model import HostModel, normalise_path
from wbplay.sim.reply import Handler
from wbplay.vocab import ops as O
from wbplay.vocab.ops import OpResult, win32_failure

# Path rules shared with the agent (agent.ps1): absolute drive or UNC paths only.
ERROR_INVALID_NAME = 123
ERROR_BAD_PATHNAME = 161
ERROR_DIRECTORY = 267
_ABSOLUTE = re.compile(r"^([A-Za-z]:[\\/]|\\\\[^\\]+\\[^\\]+)")


def _relative(path: str) -> OpResult | None:
    return None if _ABSOLUTE.match(path) else win32_failure(ERROR_BAD_PATHNAME)


def _path_get(m: HostModel, a: dict[str, Any]) -> OpResult:
    if bad := _relative(a["path"]):
        return bad
    key = m.file_key(a["path"])
    if key is None:
        return OpResult.success({"exists": False, "kind": None, "size": None, "reparse": False})
    e = m.state["files"][key]
    return OpResult.success(
        {
            "exists": True,
            "kind": e["kind"],
            "size": e.get("size", 0) if e["kind"] == "file" else None,  # a folder has no size
            "reparse": bool(e.get("reparse", False)),
        }
    )


def _path_list(m: HostModel, a: dict[str, Any]) -> OpResult:
    if bad := _relative(a["path"]):
        return bad
    key = m.file_key(a["path"])
    if key is None:
        return OpResult.success(None)
    if m.state["files"][key]["kind"] != "directory":
        return win32_failure(ERROR_DIRECTORY)
    return OpResult.success(m.children(a["path"]))


def _path_rename(m: HostModel, a: dict[str, Any]) -> OpResult:
    new_name = a["new_name"]
    if not new_name or any(c in new_name for c in '\\/:*?"<>|'):
        return win32_failure(ERROR_INVALID_NAME)
    if bad := _relative(a["path"]):
        return bad
    key = m.file_key(a["path"])
    if key is None:
        return win32_failure(O.ERROR_FILE_NOT_FOUND)
    old = normalise_path(key)
    new = ntpath.join(ntpath.dirname(old), new_name)
    if m.file_key(new) is not None:
        return win32_failure(O.ERROR_ALREADY_EXISTS)
    files = m.state["files"]
    for stored in list(files):
        norm = normalise_path(stored)
        if norm.lower() == old.lower() or norm.lower().startswith(old.lower() + "\\"):
            files[new + norm[len(old) :]] = files.pop(stored)
    return OpResult.success()


def _path_delete(m: HostModel, a: dict[str, Any]) -> OpResult:
    if bad := _relative(a["path"]):
        return bad
    if ntpath.splitdrive(normalise_path(a["path"]))[1] in ("", "\\"):
        return OpResult.failure(O.ERROR_INVALID_PARAMETER, f"refusing to operate on a root: {a['path']!r}")
    key = m.file_key(a["path"])
    if key is None:
        return win32_failure(O.ERROR_FILE_NOT_FOUND)
    old = normalise_path(key).lower()
    tree = [
        s for s in m.state["files"] if (n := normalise_path(s).lower()) == old or n.startswith(old + "\\")
    ]
    # The agent renames a folder before deleting it: a file open inside fails that rename,
    # and nothing is deleted (docs/agent-review.md likely bug 13).
    if any(m.state["files"][s].get("locked") for s in tree):
        return win32_failure(O.ERROR_SHARING_VIOLATION)
    for stored in tree:
        del m.state["files"][stored]
    return OpResult.success()


# remediate.ps1 journals to [Environment]::GetFolderPath('CommonApplicationData')\wbplay\runs.
EXPORT_RUNS = "C:\\ProgramData\\wbplay\\runs"
_RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")


def _journal_read(m: HostModel, a: dict[str, Any]) -> OpResult:
    name = a.get("name") or ""
    if not name:
        names = [
            n for n in (m.children(EXPORT_RUNS) if m.file_key(EXPORT_RUNS) else []) if n.endswith(".jsonl")
        ]
        out = []
        for n in sorted(names):
            key = m.file_key(ntpath.join(EXPORT_RUNS, n))
            entry = m.state["files"][key] if key else {}
            size = (
                len(entry.get("content", "").encode("utf-8")) if "content" in entry else entry.get("size", 0)
            )
            out.append({"name": n[: -len(".jsonl")], "size": size})
        return OpResult.success(out)
    if not _RUN_NAME.match(name) or ".." in name:
        return OpResult.failure(
            ERROR_INVALID_NAME, "argument 'name' must be a run id (letters, digits, '.', '-', '_')"
        )
    key = m.file_key(ntpath.join(EXPORT_RUNS, name + ".jsonl"))
    if key is None:
        return OpResult.success(None)
    return OpResult.success({"name": name, "text": m.state["files"][key].get("content", "")})


HANDLERS: dict[str, Handler] = {
    "journal.read": _journal_read,
    "path.get": _path_get,
    "path.list": _path_list,
    "path.rename": _path_rename,
    "path.delete": _path_delete,
}
