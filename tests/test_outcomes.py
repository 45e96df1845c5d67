"""Honest outcomes (issue 15): a run knows what it is for, reads the PC's context, says why on
the console, follows the evidence's order of consent, and checks admin rights up front."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wbplay.cli import app
from wbplay.sim.backup import attempt_backup
from wbplay.sim.executor import execute
from wbplay.sim.model import HostModel
from wbplay.sim.state import load_host_model, read_state
from wbplay.vocab.ops import ERROR_ACCESS_DENIED, OP_SPECS, Op

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def _retarget(state: Path, old: str, new: str) -> None:
    """Move the PC's backup drive letter in its failure events only."""
    text = state.read_text(encoding="utf-8").replace(f"BackupTarget: '{old}'", f"BackupTarget: '{new}'")
    state.write_text(text, encoding="utf-8")


# -- 1. outcome = was the reported failure explained? ----------------------------------------


def test_all_checks_pass_for_a_named_failure_is_no_cause_found_with_the_next_playbooks(state_file) -> None:
    state = state_file("win10-recovery-full")
    r = invoke("run", "fix-vss-writers", "--host", f"sim:{state}", "--for", "0x80780119", "--yes")
    assert r.exit_code == 6, r.output
    assert "No cause found for 0x80780119" in r.output
    assert "compliant" not in r.output and "success" not in r.output
    assert "Next, triage would try: fix-shadow-storage" in r.output
    assert f"wbplay run fix-shadow-storage --host sim:{state} --for 0x80780119 --dry-run" in r.output
    # Without a failure named, the same run is a compliance check, and all-ok is success.
    assert invoke("run", "fix-vss-writers", "--host", f"sim:{state}", "--yes").exit_code == 0


def test_for_takes_every_spelling_of_a_code_and_refuses_what_is_not_one(state_file) -> None:
    state = state_file("win10-recovery-full")
    decimal = invoke("run", "fix-vss-writers", "--host", f"sim:{state}", "--for", "2155348249", "-n")
    assert decimal.exit_code == 6 and "0x80780119" in decimal.output, decimal.output
    bad = invoke("run", "fix-vss-writers", "--host", f"sim:{state}", "--for", "banana", "-n")
    assert bad.exit_code == 2 and "is not an error code" in bad.output


def test_json_report_says_what_the_run_was_for(state_file) -> None:
    state = state_file("win10-recovery-full")
    r = invoke("run", "fix-vss-writers", "--host", f"sim:{state}", "--for-event", "-n", "--json")
    doc = json.loads(r.stdout)
    assert doc["exit_code"] == 6 and doc["outcome"] == "no cause found"
    assert doc["for"]["code"] == "0x80780119" and doc["for"]["next_playbooks"][0] == "fix-shadow-storage"
    assert doc["for"]["source"].startswith("event Microsoft-Windows-Backup")


# -- 2. context the PC gives -----------------------------------------------------------------


def test_the_backup_target_comes_from_the_failure_event(state_file, wbplay_home: Path) -> None:
    state = state_file("win10-recovery-full")
    _retarget(state, "E:", "F:")
    r = invoke("run", "check-image-destination", "--host", f"sim:{state}", "--for-event", "-n")
    journal = sorted((wbplay_home / "runs").glob("*.jsonl"))[-1].read_text(encoding="utf-8")
    start = json.loads(journal.splitlines()[0])
    assert start["variables"]["target"] == "F:", r.output  # not the playbook's default E:
    assert start["for_failure"]["code"] == "0x80780119"


def test_a_needed_fact_neither_given_nor_readable_stops_the_run(state_file, wbplay_home: Path) -> None:
    state = state_file("win7-winre-on-usb")  # Windows 7's event 4104 names no target
    r = invoke("run", "fix-0x81000031", "--host", f"sim:{state}", "--for", "0x81000031", "--yes")
    assert r.exit_code == 2, r.output
    assert "needs the backup target" in r.output and "--var target=" in r.output
    assert not (wbplay_home / "runs").exists() or not list((wbplay_home / "runs").glob("*.jsonl"))
    given = invoke(
        "run", "fix-0x81000031", "--host", f"sim:{state}", "--for", "0x81000031", "--var", "target=E:", "-n"
    )
    assert given.exit_code == 1, given.output


# -- 3. findings and blocks say why ----------------------------------------------------------


def test_a_finding_prints_its_cause_and_advice(state_file) -> None:
    r = invoke("run", "check-user-folders", "--host", f"sim:{state_file('win11-relocated-users')}", "-n")
    assert "FINDING" in r.output
    assert "cause: " in r.output
    assert "advice: " in r.output


def test_a_step_held_back_by_a_guard_prints_blocked_with_the_reason_and_the_variable(state_file) -> None:
    state = state_file("win11-ssd-io-errors")
    r = invoke("run", "fix-0x8007045d", "--host", f"sim:{state}", "--var", "allow_chkdsk_r=true", "-n")
    line = next(ln for ln in r.output.splitlines() if "source-pass-1-schedule" in ln and "BLOCKED" in ln)
    assert "wear an SSD" in line and "--var allow_chkdsk_r_on_ssd=true" in line
    assert "condition (when) not met" not in line


def test_a_step_blocked_for_consent_prints_the_variable_on_its_line(state_file) -> None:
    r = invoke("run", "fix-0x8007045d", "--host", f"sim:{state_file('pc42-io-errors')}", "-n")
    lines = r.output.splitlines()
    i = next(i for i, ln in enumerate(lines) if "BLOCKED  source-pass-1-schedule   would change" in ln)
    assert "--var allow_chkdsk_r=true" in lines[i + 1]


# -- 4. order of consent ---------------------------------------------------------------------


def test_sfc_is_not_offered_while_chkdsk_is_blocked(state_file) -> None:
    state = state_file("pc42-io-errors")
    before = read_state(state)
    r = invoke("run", "fix-0x8007045d", "--host", f"sim:{state}", "--var", "allow_sfc=true", "--yes")
    assert r.exit_code == 1, r.output
    assert "APPLY    system-files" not in r.output  # consent to sfc does not steer around chkdsk
    assert "not offered: source-pass-1-schedule" in r.output
    assert "First: source-pass-1-schedule must be allowed and run" in r.output
    assert read_state(state) == before


# -- 6/7. the account: preconditions up front, and writes that fail with 5 --------------------


_SAMPLE = {"string": "x", "integer": 1, "boolean": True, "strings": ["x"], "integers": [1], "any": "x"}


def _as(state: Path, admin: bool, elevated: bool) -> None:
    flags = f"admin: {str(admin).lower()}, elevated: {str(elevated).lower()}"
    with state.open("a", encoding="utf-8") as f:
        f.write(f"account: {{name: PC42\\user, {flags}}}\n")


@pytest.mark.parametrize(("admin", "elevated"), [(False, True), (True, False)])
def test_every_write_op_fails_with_access_denied_without_an_elevated_admin(
    state_file, admin: bool, elevated: bool
) -> None:
    state = state_file("pc42")
    _as(state, admin, elevated)
    model = HostModel(read_state(state))
    writes = [spec for spec in OP_SPECS.values() if spec.writes]
    assert len(writes) > 5
    for spec in writes:
        # Well-typed arguments; their values do not matter: access is checked first.
        args = {a.name: _SAMPLE[a.type] for a in spec.args if a.required}
        result = execute(model, Op(spec.name, args))
        assert not result.ok and result.error is not None, spec.name
        assert result.error.code == ERROR_ACCESS_DENIED, (spec.name, result.error)
    changed = execute(model, Op("service.set_start_mode", {"name": "wbengine", "start_mode": "Manual"}))
    assert changed.error is not None and changed.error.code == ERROR_ACCESS_DENIED
    assert "Access is denied" in changed.error.message


def test_a_writing_playbook_checks_admin_rights_before_any_change(state_file, wbplay_home: Path) -> None:
    state = state_file("pc42")
    _as(state, admin=True, elevated=False)
    before = read_state(state)
    dry = invoke("run", "fix-0x80070422", "--host", f"sim:{state}", "-n")
    assert "a real run will refuse before its first change" in dry.output
    r = invoke("run", "fix-0x80070422", "--host", f"sim:{state}", "--yes")
    assert r.exit_code == 5, r.output
    assert "without elevation" in r.output and "nothing was changed" in r.output
    assert read_state(state) == before
    journal = sorted((wbplay_home / "runs").glob("*.jsonl"))[-1].read_text(encoding="utf-8")
    assert '"change.intent"' not in journal


def test_a_read_only_playbook_runs_without_admin_rights(state_file) -> None:
    state = state_file("win10-healthy")
    _as(state, admin=False, elevated=False)
    assert invoke("run", "check-user-folders", "--host", f"sim:{state}").exit_code == 0


def test_the_lab_pc_refuses_changes_from_the_same_account_state(state_file, monkeypatch) -> None:
    from test_e2e_lab import PASSWORD, Lab
    from wbplay.lab.users import DEFAULT_USER

    monkeypatch.setenv("WBPLAY_USER", DEFAULT_USER.name)
    monkeypatch.setenv("WBPLAY_PASSWORD", PASSWORD)
    state = state_file("pc42")
    _as(state, admin=False, elevated=True)
    lab = Lab(state)
    try:
        r = runner.invoke(app, ["run", "fix-0x80070422", "--host", lab.host, "--yes"])
    finally:
        lab.stop()
    assert r.exit_code == 5, r.output
    assert "is not an administrator" in r.output


def test_a_server_without_windows_server_backup_cannot_back_up() -> None:
    out = attempt_backup(load_host_model("srv2019-no-wsb"))
    assert not out.ok and out.reason == "engine-missing"
    assert attempt_backup(load_host_model("srv2019-healthy")).ok


def test_triage_run_carries_the_failure_and_the_target_over(state_file, wbplay_home: Path) -> None:
    state = state_file("win10-recovery-full")
    r = invoke("triage", "--host", f"sim:{state}", "--run", "--dry-run")
    assert r.exit_code == 1, r.output  # the shadow-storage changes wait for a real run
    start = json.loads(sorted((wbplay_home / "runs").glob("*.jsonl"))[-1].read_text().splitlines()[0])
    assert start["playbook"]["id"] == "fix-shadow-storage"
    assert start["for_failure"]["code"] == "0x80780119"
    assert invoke("triage", "--error", "0x80780119", "--run").exit_code == 2  # --run needs a PC


def test_the_markdown_report_says_no_cause_found_and_what_is_next(state_file, tmp_path: Path) -> None:
    state = state_file("win10-recovery-full")
    md = tmp_path / "r.md"
    invoke("run", "fix-vss-writers", "--host", f"sim:{state}", "--for-event", "-n", "--report", f"md:{md}")
    text = md.read_text(encoding="utf-8")
    assert "Run for **0x80780119**" in text
    assert "**No cause found:**" in text and "`fix-shadow-storage`" in text
