"""Loading and saving simulated PCs.

``sim:pc42`` names a built-in PC.  The first time it is used, wbplay copies it
to ``<state home>/sim/pc42.yml`` and works on that copy from then on, so the
simulated PC remembers what a run did (a dry-run, then a run, then a
rollback, like a real PC).  ``wbplay sim reset pc42`` restores the built-in.
``sim:path/to/state.yml`` works on that file in place.

Saves are atomic (write, fsync, rename): a run killed mid-change leaves either
the old or the new state, never half a file.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any

import yaml

from wbplay.errors import HostStateError, UsageError
from wbplay.paths import ensure_dir, sim_dir
from wbplay.playbook.schema import validate
from wbplay.playbook.yamlsafe import load_file
from wbplay.resources import states_dir
from wbplay.sim.comments import keep_comments
from wbplay.sim.model import HostModel


def builtin_names() -> list[str]:
    return sorted(p.stem for p in states_dir().glob("*.yml"))


def builtin_path(name: str) -> Path | None:
    p = states_dir() / f"{name}.yml"
    return p if p.is_file() else None


def summary(name: str, width: int = 110) -> str:
    """A built-in PC's description on one line: its first sentence, clipped to ``width``."""
    path = builtin_path(name)
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path is not None else None
    text = " ".join(str(data.get("description") or "").split()) if isinstance(data, dict) else ""
    first = re.split(r"(?<=\.)\s", text, maxsplit=1)[0]
    return first if len(first) <= width else first[: width - 1] + "…"


def read_state(path: Path) -> dict[str, Any]:
    """Parse and validate a host state file (errors name file:line:column)."""
    doc = load_file(path, HostStateError)
    if not isinstance(doc.data, dict):
        raise doc.error(
            "a host state must be a YAML mapping", (), "start with hostname:, os:, services:", HostStateError
        )
    validate(doc, "hoststate", HostStateError)
    data: dict[str, Any] = doc.data
    return data


def dump_state(state: dict[str, Any]) -> str:
    # No folding: at width 100 PyYAML folded a long registry key with spaces (HKU\<SID>\...\User
    # Shell Folders) over two lines, which no YAML loader reads back as a key.
    return yaml.safe_dump(state, sort_keys=False, allow_unicode=True, width=1 << 16)


def save_state(path: Path, state: dict[str, Any]) -> None:
    """Atomically replace ``path`` with ``state``, keeping the file's mode and, in a file
    the user named (not a working copy of a built-in), its comments."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode: int | None = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = None
    own_copy = path.resolve().parent == sim_dir().resolve()
    text = (None if own_copy else keep_comments(path, state)) or dump_state(state)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            if mode is not None:  # mkstemp makes 0600; a user's 0644 file must stay 0644
                os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
        raise


def resolve_state_file(spec: str) -> Path:
    """``pc42`` -> its working copy (created on first use); a path -> itself."""
    if spec.endswith((".yml", ".yaml")) or os.sep in spec or "/" in spec:
        path = Path(spec)
        if not path.is_file():
            raise UsageError(f"no host state file at {spec}")
        return path
    builtin = builtin_path(spec)
    if builtin is None:
        names = ", ".join(builtin_names())
        raise UsageError(f"no built-in simulated PC named {spec!r}; choose one of: {names}")
    copy = sim_dir() / f"{spec}.yml"
    if not copy.exists():
        ensure_dir(copy.parent, "wbplay's simulated PCs directory")
        shutil.copyfile(builtin, copy)
    return copy


def reset(name: str) -> Path:
    """Restore the working copy of a built-in PC to its shipped state."""
    builtin = builtin_path(name)
    if builtin is None:
        raise UsageError(
            f"no built-in simulated PC named {name!r}; choose one of: {', '.join(builtin_names())}"
        )
    copy = sim_dir() / f"{name}.yml"
    ensure_dir(copy.parent, "wbplay's simulated PCs directory")
    shutil.copyfile(builtin, copy)
    return copy


def load_host_model(spec: str) -> HostModel:
    """A fresh in-memory PC: a built-in by name (never its working copy) or a file."""
    builtin = builtin_path(spec)
    path = builtin if builtin is not None and "/" not in spec else Path(spec)
    if not path.is_file():
        raise UsageError(
            f"no built-in simulated PC or state file named {spec!r}; built-ins: {', '.join(builtin_names())}"
        )
    return HostModel(read_state(path))
