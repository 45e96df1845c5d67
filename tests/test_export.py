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
from collections.abc import Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

import pwsh_lint
from test_runner import run as run_playbook
from test_runner import statuses
from wbplay import app, resources
from wbplay.cli import app as cli_app
from wbplay.hosts.sim import SimHost
from wbplay.library.export import interp
from wbplay.library.export.compile import ExportError, compile_plan
from wbplay.library.export.joins import DERIVED
from wbplay.library.export.scripts import SIZE_LIMIT, script
from wbplay.playbook import matchers
from wbplay.playbook.model import Probe
from wbplay.playbook.variables import bind
from wbplay.sim.executor import execute
from wbplay.sim.model import HostModel
from wbplay.sim.state import read_state
from wbplay.vocab import cmdparse, domain, probes
from wbplay.vocab.ops import Op, OpResult

PLAYBOOKS = sorted(p.stem for p in resources.playbooks_dir().glob("*.yml"))
STATES = sorted(p.stem for p in resources.states_dir().glob("*.yml"))
MODES = ("detect", "remediate", "discover", "configmgr")
_DATA_LINE = re.compile(r"^\$WbExportData = '[A-Za-z0-9+/=]*'\r?$", re.MULTILINE)


def _plan(book: str, variables: dict[str, str] | None = None, allow: Sequence[str] = ()):
    pb = app.load_playbook(book)
    return compile_plan(pb, bind(pb.vars, variables or {}), frozenset(allow))


BOOK = "fix-0x80070422"
EXPORTABLE = PLAYBOOKS


def _reported(plan) -> dict[str, str]:
    return {s["id"]: s["reported"] for s in plan.data["steps"] if s.get("reported")}


def test_every_shipped_playbook_exports_and_0x80070422_whole() -> None:
    for book in PLAYBOOKS:
        plan = _plan(book)
        assert [s["id"] for s in plan.data["steps"]] == [s.id for s in app.load_playbook(book).steps]
    whole = [b for b in PLAYBOOKS if not _reported(_plan(b))]
    # fix-0x80070005 left this set when issue 12 added its backup.errors step (not ported to the runner yet).
    assert {BOOK, "fix-vss-writers", "fix-0x8004230f", "check-easy-print-driver"} <= set(
        whole
    )


@pytest.mark.parametrize("book", PLAYBOOKS)
def test_a_reported_only_step_says_why_in_the_readme(book: str, tmp_path: Path) -> None:
    plan = _plan(book)
    result = app.export(book, "intune", tmp_path, {}, frozenset())
    readme = (tmp_path / "README.md").read_text()
    for step_id, reason in _reported(plan).items():
        assert reason
        assert f"`{step_id}`: {reason}" in readme
    assert set(result.reported) == set(_reported(plan))


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
    text = script(_plan(BOOK), "detect", "detect.ps1").text
    assert text.count("$WbExportMode = 'detect'") == 1
    assert "$wbJson = $null" not in text  # the agent's own main would print a frame and exit
    assert text.startswith("#") and "param([string]$Request)" in text


def test_no_playbook_string_is_outside_the_data_block() -> None:
    plan = _plan(BOOK)
    text = script(plan, "remediate", "remediate.ps1").text
    code = _DATA_LINE.sub("", text)
    assert code != text
    for step in plan.data["steps"]:
        assert step["id"] not in code and step["title"] not in code
    # The code is the same whatever the playbook says: only the data line differs.
    hostile = _plan(BOOK)
    hostile.data["steps"][0]["title"] = "'; Remove-Item C:\\ -Recurse; '$(evil)`"
    other = script(hostile, "remediate", "remediate.ps1").text
    assert _DATA_LINE.sub("", other) == code
    assert "evil" not in _DATA_LINE.sub("", other)


def test_the_embedded_plan_round_trips() -> None:
    plan = _plan(BOOK)
    assert interp.embedded_plan(script(plan, "detect", "detect.ps1").text) == plan.data


def test_an_export_over_the_size_limit_fails_clearly() -> None:
    plan = _plan(BOOK)
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
        reported = {s["id"] for s in plan["steps"] if s.get("reported")}
        assert {j.step for j in judged if j.status == "reported"} == reported
        report, _path, _rec = run_playbook(state, dry_run=True, book=book)
        dry = {
            s.id: (s.status, s.observed) for s in report.steps if s.status != "error" and s.id not in reported
        }
        mine = {j.step: (j.status, j.observed) for j in judged if j.status not in ("error", "reported")}
        assert mine == dry, (book, name)
        assert {j.step for j in judged if j.status == "error"} == {
            s.id for s in report.steps if s.status == "error" and s.id not in reported
        }


# Known gap (issue 9, open): on this PC the exported remediation sets IgnoreNTFS where
# `run --yes` leaves it; strict, so the mark fails the day the two agree again.
_REMEDIATION_GAPS = {"srv2019-network-target-denied"}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason="issue 9: export and run disagree here"))
        if n in _REMEDIATION_GAPS
        else n
        for n in STATES
    ],
)
def test_remediation_leaves_the_pc_where_run_yes_does(name: str, state_file) -> None:
    compared = 0
    for book in EXPORTABLE:
        ours, theirs = state_file(name), state_file(name)
        theirs = theirs.rename(theirs.with_name("theirs.yml"))
        ours = state_file(name)
        plan = interp.embedded_plan(script(_plan(book), "remediate", "remediate.ps1").text)
        reported = {s["id"] for s in plan["steps"] if s.get("reported")}
        execute_ops, model = _sim(ours)
        code, _statuses = interp.remediate(plan, execute_ops)
        report, _path, _rec = run_playbook(theirs, dry_run=False, book=book)
        assert code == 0, (book, name)
        if any(s.id in reported and s.status == "fixed" for s in report.steps):
            continue  # run --yes repaired a step the export leaves to wbplay over WinRM
        assert model.state == SimHost(theirs, read_only=True).model.state, (book, name)
        compared += 1
    assert compared >= len([b for b in EXPORTABLE if not _reported(_plan(b))])


def test_a_failed_change_rolls_back_newest_first(state_file) -> None:
    state = state_file("win10-vdi-disabled")
    plan = _plan(BOOK).data
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
    report, _p, _r = run_playbook(state_file("win10-vdi-disabled"), dry_run=True, book=BOOK)
    assert "drift" in statuses(report).values()


def test_cli_writes_the_intune_pair_and_readme(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli_app, ["export", "intune", BOOK, "-o", str(tmp_path)])
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
    ok = CliRunner().invoke(cli_app, ["export", "configmgr", BOOK, "-o", str(tmp_path / "cm")])
    assert ok.exit_code == 0, ok.output
    assert "Equals" in (tmp_path / "cm" / "README.md").read_text()
    partial = CliRunner().invoke(
        cli_app, ["export", "intune", "fix-shadow-storage", "-o", str(tmp_path / "x")]
    )
    assert partial.exit_code == 0, partial.output
    assert "reported only" in partial.output
    typo = CliRunner().invoke(
        cli_app, ["export", "intune", BOOK, "-o", str(tmp_path / "y"), "--allow", "nope"]
    )
    assert typo.exit_code == 2


def _derived_probes() -> list[tuple[str, object]]:
    """Every check (and verify) of a derived kind in the shipped playbooks, bound with defaults."""
    from wbplay.run.binding import bind as bind_step

    found: dict[str, object] = {}
    for book in PLAYBOOKS:
        pb = app.load_playbook(book)
        variables = bind(pb.vars, {})
        for step in pb.steps:
            b = bind_step(step, variables)
            for probe in (b.check, b.verify_probe):
                if probe.kind in DERIVED:
                    found[f"{probe.kind}:{sorted(probe.args.items())}"] = probe
    for kind in set(DERIVED) - {p.kind for p in found.values()}:  # a kind no playbook uses yet
        found[f"{kind}:[]"] = Probe(kind, {})
    return sorted(found.items())


DERIVED_PROBES = _derived_probes()


@pytest.mark.parametrize("name", STATES)
def test_each_derivation_gives_the_python_value_on_every_simulated_pc(name: str) -> None:
    """The runner's algorithm (interp.derive, its line-for-line twin) against the engine's own
    parsers and joins, over the same reads of every shipped simulated PC."""
    assert {p.kind for _k, p in DERIVED_PROBES} == set(DERIVED)  # every derivation is exercised
    model = HostModel(read_state(resources.states_dir() / f"{name}.yml"))
    for _key, probe in DERIVED_PROBES:
        results = [execute(model, op) for op in probes.to_ops(probe)]
        if not all(r.ok for r in results):
            continue
        derivation, params = DERIVED[probe.kind]
        got = interp.derive(derivation, [r.value for r in results], params(probe.args))
        assert probes.select(got, probe.field) == probes.observe_all(probe, results), (probe.kind, name)


def _runner_text() -> str:
    return (Path(interp.__file__).parent / "runner.ps1").read_text()


def test_the_runner_and_its_twin_know_the_same_derivations() -> None:
    node = pwsh_lint.function_node(_runner_text(), "Get-WbDerived")
    assert node is not None
    labels = set(pwsh_lint.switch_labels(node)) - {"default"}
    assert labels == {name for name, _params in DERIVED.values()}
    twin = (Path(interp.__file__)).read_text()
    assert labels == set(re.findall(r'if name == "([a-z_]+)":', twin))


def test_the_runner_takes_every_table_from_the_plan() -> None:
    """No regex, id list or phrase of a derivation is written in runner.ps1: each comes from
    the Python constants through the plan's params, so the two cannot drift apart."""
    text = pwsh_lint.strip_comments(_runner_text())
    for call in re.findall(r"\[regex\]::(?:Match|IsMatch)\(([^)]*\))", text):
        assert "[string]$P[" in call or call.endswith("[string]$Arg)"), call  # plan data only
    used = set(re.findall(r"\$P\['([a-z_]+)'\]", text))
    given: set[str] = set()
    for _key, probe in DERIVED_PROBES:
        given |= set(DERIVED[probe.kind][1](probe.args))
    twin = set(re.findall(r'\bp\["([a-z_]+)"\]', Path(interp.__file__).read_text()))
    assert used == given == twin
    params = DERIVED["vss.writers"][1]({})
    assert params["guid_re"] == cmdparse._GUID.pattern and params["state_re"] == cmdparse._STATE.pattern
    assert params["name_re"] == cmdparse._BLOCK_NAME.pattern
    assert set(params["failed_states"]) == set(domain.WRITER_FAILED_STATES)
    assert set(DERIVED["vss.providers"][1]({})["microsoft"]) == domain.MICROSOFT_VSS_PROVIDERS


def test_a_failed_registry_change_puts_the_absent_value_back(state_file) -> None:
    state = state_file("srv2019-file-backup-extend-denied")
    plan = _plan("fix-0x80070005").data
    execute_ops, model = _sim(state)
    original = read_state(state)
    judged = {j.step: j for j in interp.assess(plan, execute_ops)}
    assert judged["ignore-ntfs-metadata"].status == "drift"
    seen: list[str] = []

    def verify_fails(ops: Sequence[Op]) -> list[OpResult]:
        seen.extend(op.name for op in ops)
        if seen.count("registry.set") == 1 and not ops[0].writes and ops[0].name == "registry.get":
            return [OpResult(False)]  # the read after the change: the change is not verified
        return execute_ops(ops)

    code, st = interp.remediate(plan, verify_fails)
    assert code == 1 and st["ignore-ntfs-metadata"] == "failed"
    undo = "registry.delete" if not judged["ignore-ntfs-metadata"].before["exists"] else "registry.set"
    assert seen.count(undo) >= 1
    assert model.state == HostModel(original).state
