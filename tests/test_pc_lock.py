"""The PC-side host lock (``WBPLAY_PC_LOCK=1``): two controllers (two WBPLAY_HOME state
directories) never change one PC at once.  The simulator's twin of the agent's ``host.lock``
first, then end to end through the CLI, pywinrm and HTTP against one lab PC, with each
controller its own process or state directory.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wbplay.cli import app
from wbplay.lab.fleet import LabFleet, LabPC, start_fleet
from wbplay.lab.users import DEFAULT_USER
from wbplay.sim.executor import execute
from wbplay.sim.model import HostModel
from wbplay.sim.state import builtin_path, read_state
from wbplay.vocab.ops import Op

PLAYBOOK = "fix-0x80070422"


def _lock(model: HostModel, action: str, run: str, stale_after_s: int = 3600, steal: str = "") -> dict:
    args = {"action": action, "run": run, "controller": "ADMIN1", "stale_after_s": stale_after_s}
    if steal:
        args["steal"] = steal
    res = execute(model, Op("host.lock", args))
    assert res.ok, res.error
    return res.value


def test_sim_twin_one_holder_named_released_only_by_it_stale_taken_over() -> None:
    pc = HostModel(read_state(builtin_path("pc42")))  # type: ignore[arg-type]
    assert _lock(pc, "acquire", "run-a")["held"] is True
    again = _lock(pc, "acquire", "run-a")  # the same acquire sent again (a lost answer)
    assert again["held"] is True and again["holder"]["run"] == "run-a"
    refused = _lock(pc, "acquire", "run-b")
    assert refused["held"] is False and refused["holder"]["run"] == "run-a"
    assert refused["holder"]["controller"] == "ADMIN1" and refused["holder"]["started"].endswith("Z")
    _lock(pc, "release", "run-b")  # not the holder: nothing changes
    assert _lock(pc, "acquire", "run-b")["held"] is False
    stolen = _lock(pc, "acquire", "run-b", steal="run-a")  # run-a's journal says it ended
    assert stolen["held"] is True and stolen["replaced"]["run"] == "run-a"
    stale = _lock(pc, "acquire", "run-c", stale_after_s=0)  # older than the bound
    assert stale["held"] is True and stale["replaced"]["run"] == "run-b"
    _lock(pc, "release", "run-c")
    assert _lock(pc, "acquire", "run-d")["held"] is True and _lock(pc, "acquire", "run-d")["replaced"] is None
    bad = execute(pc, Op("host.lock", {"action": "grab", "run": "x", "controller": "c", "stale_after_s": 1}))
    assert not bad.ok and bad.error is not None and bad.error.code == 87


@pytest.fixture
def one_pc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LabFleet, Path]]:
    monkeypatch.setenv("WBPLAY_USER", DEFAULT_USER.name)
    monkeypatch.setenv("WBPLAY_PASSWORD", DEFAULT_USER.password)
    monkeypatch.setenv("WBPLAY_PC_LOCK", "1")
    with start_fleet(tmp_path / "pcs", 1, kinds=("broken",), latency_s=0.05) as fleet:
        yield fleet, fleet.write_inventory(tmp_path / "inventory.yml")


def _controller_a(inv: Path, home: Path) -> subprocess.Popen[str]:
    """Admin A's run, from its own state directory."""
    return subprocess.Popen(
        [sys.executable, "-m", "wbplay", "run", PLAYBOOK, "--host", "pc0001", "-i", str(inv), "--yes"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dict(os.environ, WBPLAY_HOME=str(home)),
    )


def _freeze_holding_the_lock(pc: LabPC, proc: subprocess.Popen[str]) -> None:
    """Stop controller A (SIGSTOP) once it holds the PC-side lock and its first change landed:
    A is between two requests, mid-run, as slow as a WAN makes it; the lab PC still answers others."""
    assert pc.model is not None
    before = read_state(pc.state)
    deadline = time.monotonic() + 60
    while getattr(pc.model, "pc_lock", None) is None or read_state(pc.state) == before:
        assert proc.poll() is None, proc.communicate()[0]
        assert time.monotonic() < deadline, "controller A never took the PC-side lock"
        time.sleep(0.01)
    proc.send_signal(signal.SIGSTOP)


def _as_b(home: Path, monkeypatch: pytest.MonkeyPatch, *args: str):
    monkeypatch.setenv("WBPLAY_HOME", str(home))
    return CliRunner().invoke(app, list(args))


def test_a_second_controller_is_refused_while_the_first_changes_the_pc(
    one_pc: tuple[LabFleet, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet, inv = one_pc
    pc = fleet.pcs[0]
    a = _controller_a(inv, tmp_path / "home-a")
    try:
        _freeze_holding_the_lock(pc, a)
        during = read_state(pc.state)
        b = _as_b(
            tmp_path / "home-b", monkeypatch, "run", PLAYBOOK, "--host", "pc0001", "-i", str(inv), "--yes"
        )
        # Refused at its first write (the lock is taken there): nothing changed.  The runner reports
        # it as a failed step (exit 3), not yet as exit 4 like the controller-side refusal.
        assert b.exit_code == 3, b.output
        assert "locked on the PC by run " in b.output and "-pc0001-" in b.output
        assert "a wbplay on another controller is changing this PC" in b.output
        assert read_state(pc.state) == during  # B changed nothing
        a.send_signal(signal.SIGCONT)
        out, _ = a.communicate(timeout=120)
    finally:
        if a.poll() is None:
            a.kill()
            a.wait()
    assert a.returncode == 0, out
    # A released the PC-side lock at its end: B may change the PC now (it is compliant: nothing to do).
    done = _as_b(
        tmp_path / "home-b", monkeypatch, "run", PLAYBOOK, "--host", "pc0001", "-i", str(inv), "--yes"
    )
    assert done.exit_code == 0, done.output


def test_a_killed_controllers_pc_lock_holds_off_others_until_its_own_rollback_frees_it(
    one_pc: tuple[LabFleet, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet, inv = one_pc
    pc = fleet.pcs[0]
    original = read_state(pc.state)
    home_a = tmp_path / "home-a"
    a = _controller_a(inv, home_a)
    try:
        _freeze_holding_the_lock(pc, a)
        a.send_signal(signal.SIGKILL)  # A is gone; its PC-side lock stays on the PC
    finally:
        a.wait()
    b = _as_b(tmp_path / "home-b", monkeypatch, "run", PLAYBOOK, "--host", "pc0001", "-i", str(inv), "--yes")
    assert b.exit_code == 3 and "locked on the PC by run" in b.output, b.output

    run_a = next((home_a / "runs").glob("*.jsonl")).stem
    back = _as_b(home_a, monkeypatch, "rollback", run_a, "--yes", "-i", str(inv))
    assert back.exit_code == 0, back.output
    assert "took over the PC-side host lock of run " + run_a in back.output
    assert read_state(pc.state) == original

    fixed = _as_b(
        tmp_path / "home-b", monkeypatch, "run", PLAYBOOK, "--host", "pc0001", "-i", str(inv), "--yes"
    )
    assert fixed.exit_code == 0, fixed.output  # A's rollback released the lock: B fixes the PC
