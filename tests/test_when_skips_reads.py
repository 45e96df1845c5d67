"""Don't run what a dry-run would skip (issue 17): a slow scan whose step is skipped by its
``when`` is never executed; when the ``when`` holds, it runs (after the batched read)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from wbplay.hosts.sim import SimHost
from wbplay.playbook import load as playbook
from wbplay.run.journal import Journal
from wbplay.run.options import Options
from wbplay.run.runner import Runner
from wbplay.vocab.ops import Op, OpResult


class Counting(SimHost):
    """The simulated PC, remembering every op it was asked to read."""

    def __init__(self, state: Path) -> None:
        super().__init__(state, read_only=True)
        self.ops: list[Op] = []

    def _read(self, ops: Sequence[Op]) -> list[OpResult]:
        self.ops += ops
        return super()._read(ops)


def dry_run(state: Path, variables: dict[str, Any]) -> tuple[Any, Counting]:
    pb = playbook.load(playbook.resolve("fix-0x8007045d"))
    host = Counting(state)
    values = {name: spec.default for name, spec in pb.vars.items()} | variables
    report = Runner(
        pb,
        host,
        variables=values,
        options=Options(dry_run=True),
        journal=Journal("t-when", state.parent / "runs"),
        listener=type("L", (), {"event": lambda self, n, f: None})(),
        confirm=lambda r: pytest.fail("dry-run must not ask"),
    ).run()
    return report, host


def scans(host: Counting) -> list[str]:
    return [str(op.args.get("volume")) for op in host.ops if op.name == "chkdsk.scan"]


def test_a_scan_whose_step_is_skipped_is_not_run(state_file) -> None:
    report, host = dry_run(state_file("win7-target-bad-sectors"), {})
    status = {s.id: s.status for s in report.steps}
    target_scans = [s.id for s in report.steps if s.status == "skipped" and "scan" in s.id]
    assert target_scans, status  # the target's scan step is skipped (no target given) ...
    assert scans(host) == ["C:"]  # ... and only the source volume was scanned
    skipped = next(s for s in report.steps if s.id == target_scans[0])
    assert skipped.fingerprint  # a plan still pins what the step (did not) read


def test_a_scan_whose_when_holds_still_runs(state_file) -> None:
    _, host = dry_run(state_file("win7-target-bad-sectors"), {"target": "E:"})
    assert sorted(scans(host)) == ["C:", "E:"]
    assert host.round_trips == 1  # its when names only variables: known to hold before the batch


def test_a_scan_whose_when_names_an_earlier_step_waits_for_it(state_file) -> None:
    # source-repair-needed's scans wait for the steps their when names; none runs if they are ok.
    report, host = dry_run(state_file("win10-healthy"), {})
    assert scans(host) == ["C:"]  # the unconditional source scan only
    assert all(s.status in ("ok", "skipped") for s in report.steps)
