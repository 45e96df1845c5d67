"""Many simulated PCs on loopback at once, one WinRM endpoint (port) each: the lab at fleet size.

Each PC is a copy of a built-in state in its own file (``pc0001.yml``), renamed
to its own hostname, and kept in step with what runs change, so a test can
check every PC's disk afterwards.  ``mix`` makes a test fleet: PCs broken in
different ways, healthy ones, unreachable ones (a port nobody listens on) and
ones that fail mid-run (their second write fails with ERROR_IO_DEVICE, as a
flaky driver would).  ``latency_s`` delays every answer, as a WAN would.  A
``hung`` PC (not in the mix) stops answering at its second write: the command
runs on and on, as one stuck behind a hung service control manager would, until
:meth:`LabPC.answer_again` (or the fleet stops); then that write lands.

:meth:`LabFleet.write_inventory` writes a YAML inventory with the group
``lab`` (and one group per kind) so ``--host lab`` names them all.
"""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wbplay.errors import UsageError
from wbplay.lab.agent_handler import AgentHandler
from wbplay.lab.cmdexe import HostIdentity
from wbplay.lab.server import LabConfig, LabServer
from wbplay.sim.executor import execute as sim_execute
from wbplay.sim.model import HostModel
from wbplay.sim.state import builtin_path, read_state, save_state
from wbplay.vocab.ops import ERROR_IO_DEVICE, Op, OpResult, win32_failure

# kind -> the built-in state it starts from (None: nothing listens).
KINDS: dict[str, str | None] = {
    "broken": "pc42",  # five services to repair
    "wbengine-only": "srv2019-wbengine-disabled",  # a different change set: one service
    "vdi": "win10-vdi-disabled",  # another: four services
    "healthy": "win10-healthy",
    "unreachable": None,
    "failing": "pc42",  # its second write fails mid-run: the run rolls back
    "hung": "pc42",  # its second write never answers until released: --timeout-per-host
}
# A test fleet's mix, repeated: mostly broken the same way, as after one bad script.
MIX: tuple[str, ...] = (
    "broken",
    "broken",
    "broken",
    "healthy",
    "wbengine-only",
    "broken",
    "vdi",
    "broken",
    "unreachable",
    "failing",
)


def _dead_port() -> tuple[int, socket.socket]:
    """A loopback port nothing listens on: bound (so no other lab PC gets it) but never listening,
    so a connection is refused, as by a PC whose WinRM service is stopped."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    return int(s.getsockname()[1]), s


class _FailNthWrite:
    """The simulator's executor, but the n-th write op fails and changes nothing."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.writes = 0
        self._lock = threading.Lock()

    def __call__(self, model: Any, op: Op) -> OpResult:
        if op.writes and op.name != "host.lock":  # a run's changes, not the lock around them
            with self._lock:
                self.writes += 1
                fail = self.writes == self.n
            if fail:
                return win32_failure(ERROR_IO_DEVICE)
        return sim_execute(model, op)


class _HangAtNthWrite:
    """The simulator's executor, but the n-th write op waits until ``release`` is set, then runs."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.writes = 0
        self.release = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, model: Any, op: Op) -> OpResult:
        if op.writes and op.name != "host.lock":  # a run's changes, not the lock around them
            with self._lock:
                self.writes += 1
                hang = self.writes == self.n
            if hang:
                self.release.wait()
        return sim_execute(model, op)


@dataclass
class LabPC:
    name: str
    kind: str
    state: Path
    port: int
    server: LabServer | None = None  # None: unreachable
    model: HostModel | None = None  # the PC the server serves (tests change it behind a run's back)
    reserved: socket.socket | None = None  # an unreachable PC's port, held so no other PC takes it
    hang: _HangAtNthWrite | None = None  # a hung PC's

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def hanging(self) -> bool:
        """A hung PC whose stuck write has begun and not been released."""
        return self.hang is not None and self.hang.writes >= self.hang.n and not self.hang.release.is_set()

    def answer_again(self) -> None:
        """A hung PC's stuck write finishes (and lands); it answers as usual from now on."""
        if self.hang is not None:
            self.hang.release.set()


@dataclass
class LabFleet:
    pcs: list[LabPC] = field(default_factory=list)

    def stop(self) -> None:
        for pc in self.pcs:
            pc.answer_again()  # no lab thread stays stuck in a hung write
        for pc in self.pcs:
            if pc.server is not None:
                pc.server.stop()
            if pc.reserved is not None:
                pc.reserved.close()

    def __enter__(self) -> LabFleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def requests(self) -> int:
        return sum(pc.server.counters.requests for pc in self.pcs if pc.server is not None)

    def write_inventory(self, path: Path) -> Path:
        """A YAML inventory: group ``lab`` is every PC, and each kind is a group of its own."""
        lines = ["all:", "  vars: {transport: ntlm}", "groups:", "  lab:", "    hosts:"]
        lines += [
            f"      {pc.name}: {{address: 127.0.0.1, port: {pc.port}, scheme: http}}" for pc in self.pcs
        ]
        for kind in dict.fromkeys(pc.kind for pc in self.pcs if pc.kind != "lab"):
            lines += [f"  {kind}:", "    hosts:"]
            lines += [f"      {pc.name}:" for pc in self.pcs if pc.kind == kind]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    def write_host_list(self, path: Path) -> Path:
        path.write_text("".join(pc.url + "\n" for pc in self.pcs), encoding="utf-8")
        return path


def start_fleet(
    directory: Path,
    count: int,
    *,
    kinds: Sequence[str] = ("broken",),
    latency_s: float = 0.0,
    timeout_scale: float = 0.05,
    prefix: str = "pc",
    state: Path | None = None,
) -> LabFleet:
    """Start ``count`` lab PCs whose kinds cycle through ``kinds`` (use :data:`MIX` for a test fleet);
    with ``state`` (a host state file), every PC starts as a copy of it instead."""
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise UsageError(f"unknown lab PC kind(s) {unknown}; use {', '.join(KINDS)}")
    directory.mkdir(parents=True, exist_ok=True)
    fleet = LabFleet()
    try:
        for i in range(count):
            kind = kinds[i % len(kinds)]
            name = f"{prefix}{i + 1:04d}"
            fleet.pcs.append(_start_one(directory, name, kind, latency_s, timeout_scale, state))
    except BaseException:
        fleet.stop()
        raise
    return fleet


def _start_one(
    directory: Path, name: str, kind: str, latency_s: float, timeout_scale: float, custom: Path | None
) -> LabPC:
    source = KINDS[kind]
    state = directory / f"{name}.yml"
    if source is None:
        port, reserved = _dead_port()
        return LabPC(name, kind, state, port, reserved=reserved)
    src = custom or builtin_path(source)
    assert src is not None, source
    shutil.copyfile(src, state)
    data = read_state(state)
    data["hostname"] = name.upper()
    save_state(state, data)
    model = HostModel(read_state(state))
    hang = _HangAtNthWrite(2) if kind == "hung" else None
    handler = AgentHandler(
        model,
        on_change=lambda: save_state(state, model.state),
        execute=_FailNthWrite(2) if kind == "failing" else hang,
    )
    server = LabServer(
        LabConfig(
            host=HostIdentity(model.hostname, str(model.os["version"])),
            powershell=handler,
            timeout_scale=timeout_scale,
        )
    ).start()
    server.latency_s = latency_s
    return LabPC(name, kind, state, server.port, server, model, hang=hang)
