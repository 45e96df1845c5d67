r"""One change at a time per PC: two locks a real run (or a rollback) holds on its host.

**Controller side.**  In wbplay's state directory (``locks/``), one file per PC,
created with ``O_EXCL`` so that of two runs exactly one wins.  The file names
the holder (run id, process, controller, start time) so the refusal can say who
holds it.  A lock whose process is gone (same controller, pid no longer alive)
is stale: the next run takes it over and says so.  It costs no request, and it
is taken before the PC is touched, so a second run from the same state
directory is refused without a word on the wire.

**PC side.**  Two admins on two controllers (two state directories) do not see
each other's ``locks/``: only the PC can keep them apart.  ``host.lock`` (the
agent's ``Invoke-WbHostLock``, ``system.ps1``) creates
``%ProgramData%\wbplay\lock`` with ``FileMode.CreateNew`` — atomic on NTFS, so
exactly one controller wins — holding the run id, the controller's name and the
PC's time.  :class:`PcLockedHost` takes it just before a run's first write (a
run that changes nothing sends no lock op) and the run releases it at its end:
two agent runs per run that changes something.  Opt-in (``WBPLAY_PC_LOCK=1``)
until the recovery sweep and the request budget account for it.  A lock older than
:data:`PC_LOCK_STALE_S` is taken over; so is one naming a run of this state
directory (while we hold the controller lock, no run of ours can be running),
which is how a killed controller's next run or rollback frees its PCs at once.
:func:`take_pc_lock` is the one place the op is sent from (a seam for folding
it into a run's first write request).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import socket
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from wbplay import paths
from wbplay.errors import ExitCode, HostError
from wbplay.hosts.base import Host
from wbplay.vocab.ops import Op, OpResult


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


# -- the PC-side lock ----------------------------------------------------------------------

PC_LOCK_ENV = "WBPLAY_PC_LOCK"


def pc_lock_enabled() -> bool:
    """Whether real runs and rollbacks take the PC-side lock (``WBPLAY_PC_LOCK=1``).

    Opt-in for now: it costs two agent runs per run that changes something, and the recovery
    sweep's audit (every write announced in the journal first) does not know the lock op yet."""
    return os.environ.get(PC_LOCK_ENV, "") == "1"


PC_LOCK_STALE_S = 6 * 3600
"""A PC-side lock older than this is stale: longer than any real run holds it (a run waits at
most ``reboot_timeout_s``, 4 h by default, for a restart), short enough that a PC whose controller
died is free again the same working day."""


def pc_lock_op(action: str, run_id: str, *, stale_after_s: int = PC_LOCK_STALE_S, steal: str = "") -> Op:
    return Op(
        "host.lock",
        {
            "action": action,
            "run": run_id,
            "controller": socket.gethostname(),
            "stale_after_s": int(stale_after_s),
            **({"steal": steal} if steal else {}),
        },
    )


def journal_is_here(run_id: str, runs_dir: Path | None = None) -> bool:
    """Whether ``run_id`` (or the run a rollback's lock names) has its journal in this state directory.

    Asked only while this controller holds the PC's controller-side lock: a run of this
    state directory that were still running would hold that lock itself, so a PC-side lock
    naming one of our own runs is a leftover (its controller killed, its release lost)."""
    stem = run_id.removesuffix(" (rollback)")
    d = runs_dir or paths.runs_dir()
    return bool(stem) and "/" not in stem and "\\" not in stem and (d / f"{stem}.jsonl").is_file()


def _pc_holder(h: dict[str, Any]) -> str:
    run, controller, started = (h.get(k) or "?" for k in ("run", "controller", "started"))
    return f"run {run} (from {controller}, since {started} on the PC)"


def take_pc_lock(
    host: Host,
    run_id: str,
    *,
    stale_after_s: int = PC_LOCK_STALE_S,
    ours: Callable[[str], bool] = journal_is_here,
) -> str | None:
    """Take the PC-side lock for ``run_id`` (one agent run; the one place it is sent from).

    Returns the holder it replaced (stale, or a leftover of this state directory's own
    run), else None; raises :class:`HostLockedError` naming the holder when another
    controller's run holds it.  Two agent runs only when it must take over a leftover."""
    value = _lock_result(host, pc_lock_op("acquire", run_id, stale_after_s=stale_after_s))
    if not value.get("held"):
        holder = value.get("holder") or {}
        other = str(holder.get("run") or "")
        if other and ours(other):
            value = _lock_result(
                host, pc_lock_op("acquire", run_id, stale_after_s=stale_after_s, steal=other)
            )
    if not value.get("held"):
        holder = value.get("holder") or {}
        raise HostLockedError(
            f"{host.name} is locked on the PC by {_pc_holder(holder)}: a wbplay on another controller is "
            f"changing this PC; nothing was changed here. Wait for it to finish; a lock older than "
            f"{stale_after_s // 3600} h is taken over"
        )
    replaced = value.get("replaced")
    return _pc_holder(replaced) if isinstance(replaced, dict) else None


def release_pc_lock(host: Host, run_id: str) -> None:
    """Release the PC-side lock if ``run_id`` holds it.  A PC that no longer answers keeps the
    lock until it is stale or this state directory's next run on it takes it over."""
    with contextlib.suppress(HostError):
        host.apply(pc_lock_op("release", run_id))


def _lock_result(host: Host, op: Op) -> dict[str, Any]:
    res = host.apply(op)
    if not res.ok or not isinstance(res.value, dict):
        raise HostError(f"{host.name}: could not take the PC-side host lock: {res.error}")
    return res.value


class PcLockedHost(Host):
    """``inner`` whose PC-side lock is taken just before the first write, so a run that changes
    nothing sends no lock op; :meth:`release` (called by whoever opened it) gives it back."""

    def __init__(self, inner: Host, run_id: str, *, on_replaced: Callable[[str], None] | None = None) -> None:
        # No Host.__init__: name, read_only and the output hooks are the inner host's own.
        self.inner = inner
        self.run_id = run_id
        self.held = False
        self._on_replaced = on_replaced

    @property  # type: ignore[override]
    def name(self) -> str:
        return self.inner.name

    @property  # type: ignore[override]
    def read_only(self) -> bool:
        return self.inner.read_only

    @property  # type: ignore[override]
    def on_output(self) -> Callable[[str], None] | None:
        return self.inner.on_output

    @on_output.setter
    def on_output(self, value: Callable[[str], None] | None) -> None:
        self.inner.on_output = value

    @property  # type: ignore[override]
    def on_raw(self) -> Callable[[bytes, bytes, int], None] | None:
        return self.inner.on_raw

    @on_raw.setter
    def on_raw(self, value: Callable[[bytes, bytes, int], None] | None) -> None:
        self.inner.on_raw = value

    @property
    def user(self) -> str | None:
        return self.inner.user

    @property
    def identity(self) -> str:
        return self.inner.identity

    def __getattr__(self, name: str) -> Any:  # anything else a host offers (counters, target...)
        return getattr(self.inner, name)

    def _ensure(self) -> None:
        if not self.held:
            replaced = take_pc_lock(self.inner, self.run_id)
            self.held = True
            if replaced is not None and self._on_replaced is not None:
                self._on_replaced(replaced)

    def _read(self, ops: Sequence[Op]) -> list[OpResult]:
        return self.inner.read(ops)

    def _apply(self, op: Op) -> OpResult:
        self._ensure()
        return self.inner.apply(op)

    def apply_then_read(self, op: Op, reads: Sequence[Op]) -> tuple[OpResult, list[OpResult]]:
        self._ensure()
        both: tuple[OpResult, list[OpResult]] = self.inner.apply_then_read(op, reads)  # type: ignore[attr-defined]
        return both

    def release(self) -> None:
        if self.held:
            release_pc_lock(self.inner, self.run_id)
            self.held = False

    def close(self) -> None:
        self.inner.close()
