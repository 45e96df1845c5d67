"""The lab dies while a failed run rolls back: the console names the command that finishes the job.

Through the CLI, pywinrm and HTTP to a lab PC whose third write fails (the run
rolls back) and which crashes right after the first undo lands.
"""

from __future__ import annotations

import threading
from typing import Any

from test_e2e_lab import Lab, invoke, lab_pc42  # noqa: F401 - lab_pc42 is a fixture
from wbplay.lab.agent_handler import AgentHandler
from wbplay.sim.executor import execute as sim_execute
from wbplay.sim.state import read_state, save_state
from wbplay.vocab.ops import ERROR_IO_DEVICE, Op, OpResult, win32_failure


def _dies_during_rollback(lab: Lab) -> None:
    writes = 0

    def execute(model: Any, op: Op) -> OpResult:
        nonlocal writes
        if not op.writes or op.name == "host.lock":  # count the run's changes, not its PC-side lock
            return sim_execute(model, op)
        writes += 1
        if writes == 3:  # the run's third change fails: it rolls back
            return win32_failure(ERROR_IO_DEVICE)
        result = sim_execute(model, op)
        if writes == 4:  # the first undo lands, then the PC is gone before it answers
            threading.Thread(target=lab.server.crash).start()
        return result

    lab.server.shells.powershell = AgentHandler(
        lab.model, on_change=lambda: save_state(lab.state, lab.model.state), execute=execute
    )


def test_a_rollback_cut_short_by_the_pc_dying_prints_wbplay_rollback_run(lab_pc42: Lab) -> None:  # noqa: F811
    original = read_state(lab_pc42.state)
    _dies_during_rollback(lab_pc42)
    r = invoke("run", "fix-0x80070422", "--host", lab_pc42.host, "--yes")
    assert r.exit_code == 5, r.output
    assert "Could not roll back" in r.output
    assert "check by hand" not in r.output
    run_id = r.output.split("runs/")[1].split(".jsonl")[0]
    assert f"    wbplay rollback {run_id}\n" in r.output
    assert read_state(lab_pc42.state) != original  # something is left to undo

    lab_pc42.server.revive(
        AgentHandler(lab_pc42.model, on_change=lambda: save_state(lab_pc42.state, lab_pc42.model.state))
    )
    back = invoke("rollback", run_id, "--yes")
    assert back.exit_code == 0, back.output
    assert read_state(lab_pc42.state) == original
