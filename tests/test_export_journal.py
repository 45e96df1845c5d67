"""A journal remediate.ps1 wrote on the PC, read and undone from the controller (issue 9).

The exported plan runs on the simulated PC through interp (the twin of runner.ps1), its journal
lands where remediate.ps1 writes it (%ProgramData%\\wbplay\\runs), then `wbplay log --host` and
`wbplay rollback RUN --host` read it over the agent's journal.read and undo it.
"""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from wbplay import app
from wbplay.cli import app as cli_app
from wbplay.library.export import interp
from wbplay.library.export.compile import compile_plan
from wbplay.library.export.scripts import script
from wbplay.playbook.variables import bind
from wbplay.sim.executor import execute
from wbplay.sim.files import EXPORT_RUNS
from wbplay.sim.model import HostModel
from wbplay.sim.state import read_state, save_state

RUN = "20261130T030211Z-fix-0x80070422-PC42"


def test_a_pc_side_journal_is_listed_shown_and_rolled_back(state_file, wbplay_home: Path) -> None:
    state = state_file("win10-vdi-disabled")
    original = HostModel(read_state(state)).state
    pb = app.load_playbook("fix-0x80070422")
    plan = interp.embedded_plan(script(compile_plan(pb, bind(pb.vars, {})), "remediate", "r.ps1").text)
    model = HostModel(read_state(state))
    journal = interp.Journal(RUN, lambda: "2026-11-30T03:02:11.000Z")
    code, statuses = interp.remediate(plan, lambda ops: [execute(model, op) for op in ops], journal)
    assert code == 0 and "fixed" in statuses.values()
    changed = model.state
    assert changed != original
    files = model.state["files"]
    files.setdefault("C:\\ProgramData\\wbplay", {"kind": "directory"})
    files[EXPORT_RUNS] = {"kind": "directory"}
    files[f"{EXPORT_RUNS}\\{RUN}.jsonl"] = {"kind": "file", "content": journal.text()}
    save_state(state, model.state)

    runner = CliRunner()
    listed = runner.invoke(cli_app, ["log", "--host", f"sim:{state}"])
    assert listed.exit_code == 0 and RUN in listed.output, listed.output
    shown = runner.invoke(cli_app, ["log", RUN, "--host", f"sim:{state}"])
    assert shown.exit_code == 0 and "change.intent" in shown.output, shown.output
    undone = runner.invoke(cli_app, ["rollback", RUN, "--host", f"sim:{state}", "--yes"])
    assert undone.exit_code == 0, undone.output
    after = read_state(state)
    after["files"] = {k: v for k, v in after["files"].items() if "wbplay" not in k}
    before = dict(original)
    before["files"] = {k: v for k, v in original["files"].items() if "wbplay" not in k}
    assert HostModel(after).state["services"] == HostModel(before).state["services"]
