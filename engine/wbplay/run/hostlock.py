"""One change at a time per PC: a lock a real run (or a rollback) holds on its host.

The lock lives on the controller, in wbplay's state directory (``locks/``), one
file per PC, created with ``O_EXCL`` so that of two runs exactly one wins.  The
file names the holder (run id, process, controller, start time) so the refusal
can say who holds it.  A lock whose process is gone (same controller, pid no
longer alive) is stale: the next run takes it over and says so.

Why the controller and not the PC: the agent is stateless, one request per
call on PowerShell 2.0+, and a PC-side lock would need a new write op (with its
own lease and clean-up after a killed controller) on every Windows version the
agent supports.  A controller-side lock covers every run that shares this
state directory (one admin workstation, a CI runner); two controllers with
different state directories are not kept apart — see README "Fleets".
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from wbplay import paths
from wbplay.errors import ExitCode, HostError


class HostLockedError(HostError):
    """Another run holds this PC: nothing was touched."""

    exit_code = ExitCode.CONNECTION


@dataclass(frozen=True, slots=True)
class Holder:
    run: str
    pid: int
    controller: str
    started: str
    host: str

    def describe(self) -> str:
        return f"run {self.run} (pid {self.pid} on {self.controller}, since {self.started})"


def locks_dir() -> Path:
    return paths.state_home() / "locks"


def lock_path(host_key: str, directory: Path | None = None) -> Path:
    digest = hashlib.sha256(host_key.encode("utf-8")).hexdigest()[:24]
    return (directory or locks_dir()) / f"{digest}.lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def _read(path: Path) -> Holder | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Holder(
            str(data["run"]),
            int(data["pid"]),
            str(data["controller"]),
            str(data["started"]),
            str(data.get("host", "")),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        # Half-written by a run killed between create and write: no live holder can be named.
        return Holder("?", 0, socket.gethostname(), "?", "")


def _stale(holder: Holder) -> bool:
    return holder.controller == socket.gethostname() and (holder.pid == 0 or not _alive(holder.pid))


@dataclass
class HostLock:
    """A held lock; ``recovered`` names the stale holder it replaced, if any."""

    path: Path
    holder: Holder
    recovered: Holder | None = None

    def release(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            current = _read(self.path)
            if current is not None and current.run == self.holder.run and current.pid == self.holder.pid:
                self.path.unlink()


def acquire(host_key: str, run_id: str, *, directory: Path | None = None) -> HostLock:
    """Take the lock on ``host_key`` for ``run_id``, or raise :class:`HostLockedError`."""
    path = lock_path(host_key, directory)
    paths.ensure_dir(path.parent)
    me = Holder(
        run_id,
        os.getpid(),
        socket.gethostname(),
        datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        host_key,
    )
    recovered: Holder | None = None
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            holder = _read(path)
            if holder is None:
                continue  # released between our create and read: try again
            if not _stale(holder):
                raise HostLockedError(
                    f"{host_key} is locked by {holder.describe()}: another wbplay run is changing this PC; "
                    f"nothing was done here. Wait for it to finish (if that process is gone, remove {path})"
                ) from None
            # Rename first, so that of two runs recovering the same stale lock only one removes it.
            aside = path.with_name(f"{path.name}.stale-{os.getpid()}")
            try:
                os.rename(path, aside)
            except OSError as e:
                if e.errno == errno.ENOENT:
                    continue
                raise
            aside.unlink()
            recovered = holder
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(
                {
                    "run": me.run,
                    "pid": me.pid,
                    "controller": me.controller,
                    "started": me.started,
                    "host": host_key,
                },
                f,
            )
        return HostLock(path, me, recovered)
    raise HostLockedError(f"{host_key}: could not take the host lock ({path}) after 3 attempts")


@contextlib.contextmanager
def held(host_key: str, run_id: str, *, directory: Path | None = None) -> Iterator[HostLock]:
    lock = acquire(host_key, run_id, directory=directory)
    try:
        yield lock
    finally:
        lock.release()


def host_key(identity: str) -> str:
    """The lock's name for a PC: its identity without the account (one PC, whoever connects)."""
    scheme, sep, rest = identity.partition("://")
    if sep and "@" in rest.split("/", 1)[0]:
        rest = rest.split("@", 1)[1]
    return f"{scheme}{sep}{rest}"
