"""Where wbplay keeps its own state on the operator's machine, and reading files safely.

Every file wbplay reads (playbooks, plans, journals, inventories, host states)
goes through :func:`read_regular`: a FIFO or a device is refused *before* it is
opened for reading (``validate`` on a FIFO must not hang, ``/dev/zero`` must not
be read forever), and every problem names the path.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from wbplay.errors import PathError

MAX_FILE_BYTES = 16 * 1024 * 1024
"""Far above any playbook, plan or journal wbplay writes; a bigger file is refused, not read."""

_HOME_HINT = "set WBPLAY_HOME to a directory you can write (or remove what is in the way)"


def state_home() -> Path:
    """``$WBPLAY_HOME``, else ``$XDG_STATE_HOME/wbplay``, else ``~/.local/state/wbplay``."""
    if os.environ.get("WBPLAY_HOME"):
        return Path(os.environ["WBPLAY_HOME"])
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "state"
    return base / "wbplay"


def runs_dir() -> Path:
    return state_home() / "runs"


def sim_dir() -> Path:
    return state_home() / "sim"


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISREG, "a file"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def _missing(path: Path, e: OSError) -> str:
    """Why ``path`` cannot be stat'ed, in words: a loop and a dangling symlink say so."""
    if e.errno == errno.ELOOP:
        return "it is a symlink loop"
    if path.is_symlink():
        return f"it is a symlink to {os.readlink(path)}, which does not exist"
    if e.errno == errno.ENOTDIR:
        return "a part of the path is a file, not a directory"
    return e.strerror or str(e)


def _culprit(path: Path) -> tuple[Path, str] | None:
    """The deepest existing part of ``path`` that is not a directory, and what it is instead."""
    part = path
    while not os.path.lexists(part) and part != part.parent:
        part = part.parent
    try:
        mode = os.stat(part).st_mode
    except OSError as e:
        return part, _missing(part, e)
    if not stat.S_ISDIR(mode):
        return part, f"it is {_kind(mode)}"
    return None


def ensure_dir(path: Path, what: str = "wbplay's state directory") -> Path:
    """Create ``path`` if needed and check it is a directory; errors name the part in the way."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        found = _culprit(path)
        where, reason = found if found else (path, e.strerror or str(e))
        raise PathError(str(where), f"cannot use {path} as {what}: {reason}", _HOME_HINT) from None
    if not path.is_dir():  # mkdir(exist_ok) accepts nothing else, but a race could swap it
        raise PathError(str(path), f"cannot use it as {what}: not a directory", _HOME_HINT)
    return path


def read_regular(path: Path, what: str = "file", limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file, refusing FIFOs, devices and oversized files without reading them."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise PathError(str(path), f"cannot read the {what}: {_missing(path, e)}") from None
    if not stat.S_ISREG(st.st_mode):
        raise PathError(
            str(path), f"cannot read the {what}: it is {_kind(st.st_mode)}", "give the path of a regular file"
        )
    if st.st_size > limit:
        raise PathError(str(path), f"the {what} is larger than {limit // 1024 // 1024} MiB")
    try:
        # O_NONBLOCK: if the path was swapped for a FIFO since the stat, opening it must not hang.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise PathError(str(path), f"cannot read the {what}: it is not a regular file")
            data = f.read(limit + 1)
    except OSError as e:
        raise PathError(str(path), f"cannot read the {what}: {e.strerror or e}") from None
    if len(data) > limit:
        raise PathError(str(path), f"the {what} is larger than {limit // 1024 // 1024} MiB")
    return data
