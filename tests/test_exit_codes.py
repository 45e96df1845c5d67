"""Exit codes exactly as the README says: one row per documented code, through the CLI."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wbplay.cli import app
from wbplay.cli.console import _EXIT_TEXT
from wbplay.errors import ExitCode
from wbplay.hosts.sim import SimHost

REPO = Path(__file__).resolve().parent.parent
runner = CliRunner()

# Step one changes VSS (reversible); step two changes swprv, and its verify can never pass:
# the run fails after a change, and rolls that change back.
FAILING = """\
schema_version: 1
id: t-fails-after-a-change
title: A run whose second change fails verification
description: For the exit-code table.
applies_to: {os: [windows-7]}
references: ["test"]
steps:
  - id: vss
    title: VSS is Manual
    why: a test step for the exit-code table
    check: {kind: service.start_mode, name: VSS}
    expect: {equals: Manual}
    remedy: {kind: service.set_start_mode, name: VSS, start_mode: Manual}
  - id: swprv
    title: swprv is Manual
    why: a test step for the exit-code table
    check: {kind: service.start_mode, name: swprv}
    expect: {equals: Manual}
    remedy: {kind: service.set_start_mode, name: swprv, start_mode: Manual}
    verify:
      check: {kind: service.start_mode, name: swprv}
      expect: {equals: Boot}
"""


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def _last_run_id(home: Path) -> str:
    return sorted((home / "runs").glob("*.jsonl"))[-1].stem


Case = Callable[..., object]


def _ok_fixed(state_file, **_: object):
    return invoke("run", "fix-0x80070422", "--host", f"sim:{state_file('pc42')}", "--yes")


def _ok_informational_findings_after_a_repair(state_file, **_: object):
    # chkdsk /r three times, then sfc: the evidence findings pass when read again.
    r = invoke(
        "run", "fix-0x8007045d", "--host", f"sim:{state_file('pc42-io-errors')}", "--yes",
        "--var", "allow_chkdsk_r=true", "--var", "allow_sfc=true", "--reboot-poll", "0",
    )  # fmt: skip
    assert "RESOLVED" in r.output and "Exit 0" in r.output, r.output
    return r


# A run whose only change is a restart (chkdsk was already scheduled by someone else).
RESTART_ONLY = """\
schema_version: 1
id: t-restart-only
title: "Restart so that the chkdsk already scheduled on C: runs"
description: For the exit-code table.
applies_to: {os: [windows-7]}
references: ["test"]
vars:
  allow_restart: {type: boolean, description: consent to restart, default: false}
steps:
  - id: restart
    title: No chkdsk waits for a restart on C
    why: a test step for the exit-code table
    check: {kind: chkdsk.scheduled, volume: "C:"}
    expect: {equals: false}
    remedy: {kind: host.reboot, reason: "run the scheduled chkdsk"}
    opt_in: allow_restart
"""


def _ok_rollback_of_a_restart(state_file, tmp_path: Path, wbplay_home: Path, **_: object):
    state = state_file("pc42-io-errors")
    text = state.read_text(encoding="utf-8")
    scheduled = text.replace("  letter: 'C:'\n", "  letter: 'C:'\n  chkdsk_scheduled: r\n", 1)
    state.write_text(scheduled, encoding="utf-8")
    pb = tmp_path / "t-restart-only.yml"
    pb.write_text(RESTART_ONLY, encoding="utf-8")
    consent = ("--yes", "--allow", "restart", "--reboot-poll", "0")
    ran = invoke("run", str(pb), "--host", f"sim:{state}", *consent)
    assert "restart" in ran.output and "change.intent" in _last_journal(wbplay_home), ran.output
    r = invoke("rollback", _last_run_id(wbplay_home))
    assert "restart" in r.output and "leaves nothing to restore" in r.output, r.output
    return r


def _attention_rollback_of_a_chkdsk_pass(state_file, wbplay_home: Path, **_: object):
    # chkdsk /r ran at the restart: it is listed as having run, never as undone or not applied.
    one_pass = ("--var", "allow_chkdsk_r=true", "--var", "max_passes=1", "--reboot-poll", "0")
    invoke("run", "fix-0x8007045d", "--host", f"sim:{state_file('pc42-io-errors')}", "--yes", *one_pass)
    r = invoke("rollback", _last_run_id(wbplay_home))
    schedule = next(x for x in r.output.splitlines() if "source-pass-1-schedule" in x)
    assert "ran at" in schedule and "cannot be undone" in schedule, r.output
    assert "leaves nothing to restore" in r.output, r.output
    return r


def _last_journal(home: Path) -> str:
    return sorted((home / "runs").glob("*.jsonl"))[-1].read_text(encoding="utf-8")


def _ok_rollback_twice(state_file, wbplay_home: Path, **_: object):
    invoke("run", "fix-0x80070422", "--host", f"sim:{state_file('pc42')}", "--yes")
    run_id = _last_run_id(wbplay_home)
    assert invoke("rollback", run_id, "--yes").exit_code == 0
    r = invoke("rollback", run_id)
    assert "was already rolled back" in r.output, r.output
    return r


def _pending(state_file, **_: object):
    return invoke("run", "fix-0x80070422", "--host", f"sim:{state_file('pc42')}", "--dry-run")


def _invalid_missing_plan(tmp_path: Path, **_: object):
    return invoke("apply", str(tmp_path / "no-such-plan.json"), "--yes")


def _invalid_plan_file(tmp_path: Path, **_: object):
    bad = tmp_path / "plan.json"
    bad.write_text("{not json", encoding="utf-8")
    return invoke("apply", str(bad), "--yes")


def _rolled_back(state_file, tmp_path: Path, **_: object):
    pb = tmp_path / "t-fails-after-a-change.yml"
    pb.write_text(FAILING, encoding="utf-8")
    return invoke("run", str(pb), "--host", f"sim:{state_file('pc42')}", "--yes")


def _connection(**_: object):
    return invoke("run", "fix-0x80070422", "--host", "http://127.0.0.1:9", "--dry-run")


def _needs_attention_not_admin(state_file, **_: object):
    state = state_file("pc42")
    with state.open("a", encoding="utf-8") as f:
        f.write("account: {name: PC42\\user, admin: false, elevated: false}\n")
    return invoke("run", "fix-0x80070422", "--host", f"sim:{state}", "--yes")


def _no_cause(state_file, **_: object):
    state = state_file("win10-recovery-full")
    return invoke("run", "fix-vss-writers", "--host", f"sim:{state}", "--for-event", "--yes")


def _interrupted(state_file, monkeypatch: pytest.MonkeyPatch, **_: object):
    def ctrl_c(self: SimHost, op: object) -> object:
        raise KeyboardInterrupt

    monkeypatch.setattr(SimHost, "apply", ctrl_c)
    return invoke("run", "fix-0x80070422", "--host", f"sim:{state_file('pc42')}", "--yes")


TABLE: list[tuple[ExitCode, Case]] = [
    (ExitCode.OK, _ok_fixed),
    (ExitCode.OK, _ok_informational_findings_after_a_repair),
    (ExitCode.OK, _ok_rollback_of_a_restart),
    (ExitCode.OK, _ok_rollback_twice),
    (ExitCode.PENDING, _pending),
    (ExitCode.INVALID, _invalid_missing_plan),
    (ExitCode.INVALID, _invalid_plan_file),
    (ExitCode.ROLLED_BACK, _rolled_back),
    (ExitCode.CONNECTION, _connection),
    (ExitCode.NEEDS_ATTENTION, _needs_attention_not_admin),
    (ExitCode.NEEDS_ATTENTION, _attention_rollback_of_a_chkdsk_pass),
    (ExitCode.NO_CAUSE, _no_cause),
    (ExitCode.INTERRUPTED, _interrupted),
]


@pytest.mark.parametrize(("code", "case"), TABLE, ids=[f"{int(c)}-{f.__name__.strip('_')}" for c, f in TABLE])
def test_every_documented_exit_code(
    code: ExitCode, case: Case, state_file, tmp_path: Path, wbplay_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = case(state_file=state_file, tmp_path=tmp_path, wbplay_home=wbplay_home, monkeypatch=monkeypatch)
    assert r.exit_code == int(code), r.output  # type: ignore[attr-defined]


def test_the_readme_table_lists_exactly_the_exit_codes() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### Exit codes") :]
    section = section[: section.index("\n## ")]
    documented = {int(m) for m in re.findall(r"^\| (\d+) \|", section, re.MULTILINE)}
    assert documented == {int(c) for c in ExitCode}
    assert {int(c) for c in TABLE_CODES} == documented, "every documented code has a row in TABLE"
    assert set(_EXIT_TEXT) == documented, "the console names every code"


TABLE_CODES = {c for c, _ in TABLE}
