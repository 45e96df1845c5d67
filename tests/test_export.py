"""wbplay export (issue 9): the exported scripts, proven without Windows.

The PowerShell cannot run here, so the proof has three legs: the scripts parse
and pass the agent's lints; the PowerShell interpreter has the same shape as its
Python twin (:mod:`wbplay.library.export.interp`, same matcher keys, same picks);
and the twin, run over the plan *extracted from the script* against every shipped
simulated PC, decides exactly what ``wbplay run --dry-run`` / ``--yes`` decide.
"""

from __future__ import annotations

import base64
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import pwsh_lint
from test_runner import run as run_playbook
from test_runner import statuses
from wbplay import app, resources
from wbplay.cli import app as cli_app
from wbplay.hosts.sim import SimHost
from wbplay.library.export import interp
from wbplay.library.export.compile import ExportError, compile_plan
from wbplay.library.export.scripts import SIZE_LIMIT, script
from wbplay.playbook import matchers
from wbplay.playbook.variables import bind
from wbplay.sim.executor import execute
from wbplay.sim.model import HostModel
from wbplay.sim.state import read_state
from wbplay.vocab.ops import Op, OpResult

PLAYBOOKS = sorted(p.stem for p in resources.playbooks_dir().glob("*.yml"))
STATES = sorted(p.stem for p in resources.states_dir().glob("*.yml"))
MODES = ("detect", "remediate", "discover", "configmgr")
_DATA_LINE = re.compile(r"^\$WbExportData = '[A-Za-z0-9+/=]*'\r?$", re.MULTILINE)


def _plan(book: str, variables: dict[str, str] | None = None, allow: Sequence[str] = ()):
    pb = app.load_playbook(book)
    return compile_plan(pb, bind(pb.vars, variables or {}), frozenset(allow))


def _services_only() -> str:
    """fix-0x80070422 without its policy check (a joined read no export compiles yet), as a file."""
    doc = yaml.safe_load((resources.playbooks_dir() / "fix-0x80070422.yml").read_text(encoding="utf-8"))
    simple = ("service.start_mode", "service.state", "service.exists")
    dropped = {s["id"] for s in doc["steps"] if s["check"]["kind"] not in simple}

    def keep(cond: object) -> object:
        if isinstance(cond, list):
            kept = [c for c in cond if not (isinstance(c, dict) and c.get("step") in dropped)]
            return kept or None
        if isinstance(cond, dict) and cond.get("step") in dropped:
            return None
        return cond

    steps = []
    for step in doc["steps"]:
        if step["id"] in dropped:
            continue
        when = keep(step.get("when"))
        step.pop("when", None)
        if when is not None:
            step["when"] = when
        steps.append(step)
    doc["steps"] = steps
    path = Path(tempfile.mkdtemp(prefix="wbplay-export-")) / "fix-0x80070422.yml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return str(path)


SERVICES_ONLY = _services_only()


def _exportable() -> list[str]:
    out = [SERVICES_ONLY]
    for book in PLAYBOOKS:
        try:
            _plan(book)
        except ExportError:
            continue
        out.append(book)
    return out


EXPORTABLE = _exportable()


def test_the_service_steps_of_the_0x80070422_fix_export() -> None:
    assert len(_plan(SERVICES_ONLY).data["steps"]) >= 10


@pytest.mark.parametrize("book", sorted(set(PLAYBOOKS) - set(EXPORTABLE)))
def test_a_playbook_that_cannot_export_says_which_kind(book: str) -> None:
    with pytest.raises(ExportError, match=r"kind '[a-z_.]+'"):
        _plan(book)


@pytest.mark.parametrize("mode", MODES)
def test_every_exported_script_parses_and_passes_the_agent_lints(mode: str) -> None:
    for book in EXPORTABLE:
        text = script(_plan(book), mode, "x.ps1").text
        assert text.isascii()
        assert pwsh_lint.syntax_errors(text) == []
        assert pwsh_lint.ps3_violations(text) == []
        assert pwsh_lint.unsafe_constructs(text) == []
        assert pwsh_lint.undefined_variables(text) == []
        assert pwsh_lint.call_problems(text) == []
        assert pwsh_lint.pipeline_leaks(text) == []
        defined, called = pwsh_lint.function_calls(text)
        assert called - defined == set()


def test_the_script_holds_the_mode_once_and_no_agent_main() -> None:
    text = script(_plan(SERVICES_ONLY), "detect", "detect.ps1").text
    assert text.count("$WbExportMode = 'detect'") == 1
    assert "$wbJson = $null" not in text  # the agent's own main would print a frame and exit
    assert text.startswith("#") and "param([string]$Request)" in text


def test_no_playbook_string_is_outside_the_data_block() -> None:
    plan = _plan(SERVICES_ONLY)
    text = script(plan, "remediate", "remediate.ps1").text
    code = _DATA_LINE.sub("", text)
    assert code != text
    for step in plan.data["steps"]:
        assert step["id"] not in code and step["title"] not in code
    # The code is the same whatever the playbook says: only the data line differs.
    hostile = _plan(SERVICES_ONLY)
    hostile.data["steps"][0]["title"] = "'; Remove-Item C:\\ -Recurse; '$(evil)`"
    other = script(hostile, "remediate", "remediate.ps1").text
    assert _DATA_LINE.sub("", other) == code
    assert "evil" not in _DATA_LINE.sub("", other)


def test_the_embedded_plan_round_trips() -> None:
    plan = _plan(SERVICES_ONLY)
    assert interp.embedded_plan(script(plan, "detect", "detect.ps1").text) == plan.data


def test_an_export_over_the_size_limit_fails_clearly() -> None:
    plan = _plan(SERVICES_ONLY)
    plan.data["padding"] = "x" * SIZE_LIMIT
    with pytest.raises(ExportError, match="200 KB"):
        script(plan, "detect", "detect.ps1")


def test_the_powershell_interpreter_knows_exactly_the_matcher_keys() -> None:
    runner = (Path(interp.__file__).parent / "runner.ps1").read_text()
    node = pwsh_lint.function_node(runner, "Test-WbMatchOne")
    assert node is not None
    body = node.text.decode() if node.text else ""
    labels = set(re.findall(r"^\s*'([a-z]+)' \{", body, re.MULTILINE))  # both of its switches
    assert labels == set(matchers.MATCHER_KEYS)
    assert "'=present'" in runner and "'=registry'" in runner  # the picks interp.py mirrors


def _sim(state: Path):
    model = HostModel(read_state(state))

    def run(ops: Sequence[Op]) -> list[OpResult]:
        return [execute(model, op) for op in ops]

    return run, model


@pytest.mark.parametrize("name", STATES)
def test_detection_decides_as_the_dry_run_on_every_simulated_pc(name: str, state_file) -> None:
    for book in EXPORTABLE:
        state = state_file(name)
        plan = interp.embedded_plan(script(_plan(book), "detect", "detect.ps1").text)
        execute_ops, _model = _sim(state)
        judged = interp.assess(plan, execute_ops)
        report, _path, _rec = run_playbook(state, dry_run=True, book=book)
        dry = {s.id: (s.status, s.observed) for s in report.steps if s.status != "error"}
        mine = {j.step: (j.status, j.observed) for j in judged if j.status != "error"}
        assert mine == dry, (book, name)
        assert {j.step for j in judged if j.status == "error"} == {
            s.id for s in report.steps if s.status == "error"
        }


@pytest.mark.parametrize("name", STATES)
def test_remediation_leaves_the_pc_where_run_yes_does(name: str, state_file) -> None:
    for book in EXPORTABLE:
        ours, theirs = state_file(name), state_file(name)
        theirs = theirs.rename(theirs.with_name("theirs.yml"))
        ours = state_file(name)
        plan = interp.embedded_plan(script(_plan(book), "remediate", "remediate.ps1").text)
        execute_ops, model = _sim(ours)
        code, _statuses = interp.remediate(plan, execute_ops)
        _report, _path, _rec = run_playbook(theirs, dry_run=False, book=book)
        assert model.state == SimHost(theirs, read_only=True).model.state, (book, name)
        assert code == 0


def test_a_failed_change_rolls_back_newest_first(state_file) -> None:
    state = state_file("win10-vdi-disabled")
    plan = _plan(SERVICES_ONLY).data
    execute_ops, model = _sim(state)
    original = read_state(state)
    writes: list[Op] = []

    def flaky(ops: Sequence[Op]) -> list[OpResult]:
        if ops and ops[0].writes:
            writes.append(ops[0])
            if len(writes) == 3:
                return [OpResult(False)]
        return execute_ops(ops)

    assert sum(j.status == "drift" for j in interp.assess(plan, execute_ops)) >= 3
    code, st = interp.remediate(plan, flaky)
    assert code == 1 and "failed" in st.values()
    assert model.state == HostModel(original).state
    undo_names = [op.args["name"] for op in writes[3:]]
    assert undo_names == [op.args["name"] for op in writes[:3]][::-1]


def test_statuses_helper_is_the_runner_view(state_file) -> None:
    report, _p, _r = run_playbook(state_file("win10-vdi-disabled"), dry_run=True, book=SERVICES_ONLY)
    assert "drift" in statuses(report).values()


def test_cli_writes_the_intune_pair_and_readme(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli_app, ["export", "intune", SERVICES_ONLY, "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["README.md", "detect.ps1", "remediate.ps1"]
    readme = (tmp_path / "README.md").read_text()
    assert "64-bit PowerShell" in readme and "Exit **1**" in readme
    assert "detect.ps1" in readme and "bytes" in readme
    data = interp.embedded_plan((tmp_path / "detect.ps1").read_text())
    assert data["playbook"] == "fix-0x80070422"
    assert base64.b64decode  # the block is base64 (embedded_plan decoded it)


def test_cli_configmgr_and_a_clear_error(tmp_path: Path) -> None:
    ok = CliRunner().invoke(cli_app, ["export", "configmgr", SERVICES_ONLY, "-o", str(tmp_path / "cm")])
    assert ok.exit_code == 0, ok.output
    assert "Equals" in (tmp_path / "cm" / "README.md").read_text()
    bad = CliRunner().invoke(cli_app, ["export", "intune", "fix-vss-writers", "-o", str(tmp_path / "x")])
    assert bad.exit_code == 2
    assert "cannot be exported" in bad.output
    typo = CliRunner().invoke(
        cli_app, ["export", "intune", SERVICES_ONLY, "-o", str(tmp_path / "y"), "--allow", "nope"]
    )
    assert typo.exit_code == 2
