"""host.reboot through the runner: the connection drops, wbplay waits for a new boot time,
and multi-read probes still travel in one batch."""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from wbplay.errors import ConnectError, TransportError
from wbplay.hosts.sim import SimHost
from wbplay.playbook import load as playbook_mod
from wbplay.playbook.variables import bind
from wbplay.run.journal import Journal, read
from wbplay.run.options import Options
from wbplay.run.runner import Runner
from wbplay.sim.state import builtin_path
from wbplay.vocab.ops import Op, OpResult


class Events:
    def __init__(self) -> None:
        self.names: list[str] = []

    def event(self, name: str, fields: Mapping[str, Any]) -> None:
        self.names.append(name)


class DroppingHost(SimHost):
    """A PC that restarts like a real one over WinRM: the restart request never gets an
    answer, and the next few reads fail while Windows boots."""

    def __init__(self, path: Path, *, unreachable_reads: int, reboots: bool = True) -> None:
        super().__init__(path, read_only=False)
        self.unreachable_reads = 0
        self.after_reboot = unreachable_reads
        self.reboots = reboots

    def _apply(self, op: Op) -> OpResult:
        if op.name == "host.reboot":
            if self.reboots:
                super()._apply(op)
            self.unreachable_reads = self.after_reboot
            raise TransportError("the connection was reset by the peer")
        return super()._apply(op)

    def _read(self, ops: Sequence[Op]) -> list[OpResult]:
        if self.unreachable_reads:
            self.unreachable_reads -= 1
            raise ConnectError("connection refused")
        return super()._read(ops)


def run(
    host: SimHost, tmp_path: Path, variables: dict[str, Any], **opts: Any
) -> tuple[Any, list[str], Journal]:
    pb = playbook_mod.load(playbook_mod.resolve("fix-0x8007045d"))
    events = Events()
    journal = Journal("reboot-test", tmp_path / "runs")
    try:
        report = Runner(
            pb,
            host,
            variables=bind(pb.vars, variables),
            options=Options(dry_run=False, **opts),
            journal=journal,
            listener=events,
            confirm=lambda _r: True,
        ).run()
    finally:
        journal.close()
    return report, events.names, journal


@pytest.fixture
def pc(tmp_path: Path) -> Path:
    src = builtin_path("pc42-io-errors")
    assert src is not None
    dst = tmp_path / "pc42-io-errors.yml"
    shutil.copyfile(src, dst)
    return dst


def test_runner_waits_for_the_host_to_come_back(pc: Path, tmp_path: Path) -> None:
    host = DroppingHost(pc, unreachable_reads=2)
    report, names, journal = run(host, tmp_path, {"allow_chkdsk_r": True}, reboot_poll_s=0.0)
    statuses = {s.id: s.status for s in report.steps}
    assert statuses["source-pass-1-restart"] == "fixed"
    assert statuses["source-pass-3-restart"] == "fixed" and statuses["source-clean"] == "ok"
    assert names.count("host.reboot.dropped") == 3
    assert names.count("host.reboot.retry") == 6  # two unreachable reads per restart
    assert names.count("host.back") == 3
    recorded = [r["event"] for r in read("reboot-test", journal.dir)]
    assert recorded.index("host.reboot.wait") < recorded.index("host.back")


def test_a_host_that_never_restarts_times_out(pc: Path, tmp_path: Path) -> None:
    host = DroppingHost(pc, unreachable_reads=0, reboots=False)
    report, names, _ = run(
        host, tmp_path, {"allow_chkdsk_r": True}, reboot_timeout_s=0.05, reboot_poll_s=0.01
    )
    restart = next(s for s in report.steps if s.id == "source-pass-1-restart")
    assert restart.status == "failed" and "0x800705B4" in (restart.error or "")
    assert int(report.exit_code) == 5  # on_failure: stop, an irreversible step cannot be rolled back
    assert "host.back" not in names


def test_dry_run_of_a_multi_read_playbook_is_one_round_trip(pc: Path, tmp_path: Path) -> None:
    host = SimHost(pc, read_only=True)
    pb = playbook_mod.load(playbook_mod.resolve("fix-0x8007045d"))
    journal = Journal("dry", tmp_path / "runs")
    try:
        report = Runner(
            pb,
            host,
            variables=bind(pb.vars, {"target": "E:"}),
            options=Options(dry_run=True),
            journal=journal,
            listener=Events(),
            confirm=lambda _r: False,
        ).run()
    finally:
        journal.close()
    # One batched read, plus one for the slow scan (sfc) whose when waited for an earlier step's
    # status (issue 17: a scan whose step is skipped is never run).
    assert host.round_trips == 2 and host.writes == 0
    assert {s.id: s.status for s in report.steps}["source-repair-needed"] == "finding"
