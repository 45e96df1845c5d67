"""``wbplay rollback`` and ``wbplay triage --host`` over many lab PCs, through the CLI, pywinrm and HTTP.

A fleet run records its id in every PC's journal; ``rollback --fleet ID`` undoes
them all, PCs --forks at a time, each PC exactly as ``rollback RUN`` would.  Every
PC's state file is checked.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from wbplay.cli import app
from wbplay.lab.agent_handler import AgentHandler
from wbplay.lab.fleet import LabFleet, start_fleet
from wbplay.lab.users import DEFAULT_USER
from wbplay.sim.state import read_state, save_state

runner = CliRunner()
PLAYBOOK = "fix-0x80070422"
MIXED = ("broken", "healthy", "wbengine-only", "unreachable", "failing", "vdi")


@pytest.fixture(autouse=True)
def lab_login(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WBPLAY_USER", DEFAULT_USER.name)
    monkeypatch.setenv("WBPLAY_PASSWORD", DEFAULT_USER.password)


def _states(fleet: LabFleet) -> dict[str, dict]:
    return {pc.name: read_state(pc.state) for pc in fleet.pcs if pc.server is not None}


def _fleet_run(inv: Path) -> tuple[str, dict[str, str]]:
    """A real fleet run: its fleet id and each PC's run id, from the console."""
    r = runner.invoke(app, ["run", PLAYBOOK, "--host", "lab", "-i", str(inv), "--forks", "3", "--yes"])
    assert "Undo it on every PC with: wbplay rollback --fleet " in r.output, r.output
    fleet_id = r.output.split("wbplay rollback --fleet ")[1].split()[0]
    run_ids = {
        line.split(":")[0].strip(): line.split("runs/")[1].split(".jsonl")[0]
        for line in r.output.splitlines()
        if "journal " in line and "runs/" in line
    }
    return fleet_id, run_ids


def test_rollback_fleet_undoes_every_pc_of_a_fleet_run(tmp_path: Path) -> None:
    with start_fleet(tmp_path / "pcs", 6, kinds=MIXED) as fleet:
        inv = fleet.write_inventory(tmp_path / "inventory.yml")
        before = _states(fleet)
        fleet_id, run_ids = _fleet_run(inv)
        changed = {n for n, s in _states(fleet).items() if s != before[n]}
        assert changed == {"pc0001", "pc0003", "pc0006"}  # broken, wbengine-only, vdi were fixed

        back = runner.invoke(app, ["rollback", "--fleet", fleet_id, "--forks", "3", "--yes", "-i", str(inv)])
        assert back.exit_code == 0, back.output
        assert "6 run(s) on 6 PC(s); their journals hold 10 change(s) to undo" in back.output
        assert "exit 0: 6 PC(s)" in back.output
        for name in ("pc0001", "pc0003", "pc0006"):
            assert f"{name}: {run_ids[name]}: rolled back" in back.output
        assert _states(fleet) == before  # every PC back where it was, the failing one included

        again = runner.invoke(app, ["rollback", "--fleet", fleet_id, "--yes", "-i", str(inv)])
        assert again.exit_code == 0, again.output
        assert "was already rolled back" in again.output


def test_rollback_of_several_runs_with_one_pc_gone_exits_with_the_worst(tmp_path: Path) -> None:
    with start_fleet(tmp_path / "pcs", 3, kinds=("broken",)) as fleet:
        inv = fleet.write_inventory(tmp_path / "inventory.yml")
        before = _states(fleet)
        _, run_ids = _fleet_run(inv)
        gone = fleet.pcs[1]
        assert gone.server is not None and gone.model is not None
        gone.server.crash()
        ids = [run_ids[pc.name] for pc in fleet.pcs]
        back = runner.invoke(app, ["rollback", *ids, "--forks", "3", "--yes", "-i", str(inv)])
        assert back.exit_code == 4, back.output  # the worst PC's: could not connect
        assert "exit 0: 2 PC(s)" in back.output and "exit 4: 1 PC(s)" in back.output
        after = _states(fleet)
        assert after["pc0001"] == before["pc0001"] and after["pc0003"] == before["pc0003"]
        assert after["pc0002"] != before["pc0002"]  # untouched: its journal still holds its changes

        model, state = gone.model, gone.state
        gone.server.revive(AgentHandler(model, on_change=lambda: save_state(state, model.state)))
        last = runner.invoke(app, ["rollback", run_ids["pc0002"], "--yes", "-i", str(inv)])
        assert last.exit_code == 0, last.output
        assert _states(fleet) == before


def test_rollback_fleet_without_a_terminal_or_yes_changes_nothing(tmp_path: Path) -> None:
    with start_fleet(tmp_path / "pcs", 2, kinds=("broken",)) as fleet:
        inv = fleet.write_inventory(tmp_path / "inventory.yml")
        fleet_id, _ = _fleet_run(inv)
        fixed = _states(fleet)
        r = runner.invoke(app, ["rollback", "--fleet", fleet_id, "-i", str(inv)])
        assert r.exit_code == 1, r.output
        assert "stdin is not a terminal: nothing was changed" in r.output
        assert _states(fleet) == fixed


def test_rollback_of_an_unknown_fleet_is_a_usage_error() -> None:
    r = runner.invoke(app, ["rollback", "--fleet", "fleet-20990101T000000Z-000000", "--yes"])
    assert r.exit_code == 2, r.output
    assert "no journal belongs to fleet fleet-20990101T000000Z-000000" in r.output
    assert runner.invoke(app, ["rollback"]).exit_code == 2


def test_triage_over_a_fleet_groups_pcs_by_best_match(tmp_path: Path) -> None:
    with start_fleet(tmp_path / "pcs", 6, kinds=MIXED) as fleet:
        inv = fleet.write_inventory(tmp_path / "inventory.yml")
        before = _states(fleet)
        r = runner.invoke(app, ["triage", "--host", "lab", "-i", str(inv), "--forks", "3"])
        assert r.exit_code == 4, r.output  # the worst PC's: pc0004 does not answer
        assert "5 of 6 PC(s) read" in r.output
        assert "4 PC(s): fix-0x80070422 (0x80070422)" in r.output
        assert "wbplay run fix-0x80070422 --host pc0001,pc0003,pc0005,pc0006" in r.output
        assert "1 PC(s): no playbook matched" in r.output  # the healthy one
        assert "pc0004: exit 4: cannot connect" in r.output
        assert _states(fleet) == before  # read-only

        limited = runner.invoke(app, ["triage", "--host", "lab", "-i", str(inv), "--limit", "!unreachable"])
        assert limited.exit_code == 1, limited.output  # the healthy PC's: no playbook matched, as alone
        assert "5 of 5 PC(s) read" in limited.output
        refused = runner.invoke(app, ["triage", "--host", "lab", "-i", str(inv), "--run"])
        assert refused.exit_code == 2 and "--run takes one PC" in refused.output
