"""Ctrl-C anywhere, and manual steps, as a sysadmin at a terminal sees them (issue 14).

Each test drives the real ``wbplay`` on a pseudo-terminal (tests/ptyrun.py): the prompt is a
real terminal prompt and Ctrl-C is the key press, delivered by the terminal as SIGINT.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ptyrun import CTRL_C, PtyRun
from wbplay.cli import app
from wbplay.lab.serve import build_lab
from wbplay.lab.users import DEFAULT_USER
from wbplay.sim.state import load_host_model

# fix-0x81000031 touches Windows RE only once a repair disc exists (KB975692 step 2; issue 12).
DISC = ["--var", "repair_disc_ready=true"]


def journal_events(home: Path) -> list[dict]:
    (path,) = (home / "runs").glob("*.jsonl")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def names(events: list[dict]) -> list[str]:
    return [e["event"] for e in events]


def test_ctrl_c_while_the_pc_restarts_stops_waiting_then_resume_finishes(
    wbplay_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WBPLAY_USER", DEFAULT_USER.name)
    monkeypatch.setenv("WBPLAY_PASSWORD", DEFAULT_USER.password)
    model = load_host_model("pc42-io-errors")
    lab = build_lab(model, port=0, reboot_downtime_s=6.0).start()  # chkdsk /r: away for a while
    try:
        run = PtyRun(
            [
                "run",
                "fix-0x8007045d",
                "--host",
                f"http://127.0.0.1:{lab.port}",
                "--yes",
                "--var",
                "allow_chkdsk_r=true",
                "--reboot-poll",
                "0.2",
            ],
            dict(os.environ),
        )
        run.expect(r"waiting for the PC to restart")
        assert lab.restarting
        run.send(CTRL_C)
        code = run.wait()
        text = run.text
        assert code == 130, text
        assert lab.restarting, "the run must stop waiting before the PC is back"
        events = journal_events(wbplay_home)
        run_id = events[0]["run"]
        assert f"wbplay rollback {run_id}" in text and f"wbplay resume {run_id}" in text, text
        assert "stopped waiting" in text and "it is not answering" in text
        # No undo was attempted against the PC that was away; the journal ends properly.
        assert "rollback.start" not in names(events)
        assert not any(n.startswith("undo.") for n in names(events))
        skipped = next(e for e in events if e["event"] == "rollback.skipped")
        assert "source-pass-1-schedule" in skipped["changes"]
        assert events[-1]["event"] == "run.end" and events[-1]["exit_code"] == 130
        assert events[-1]["outcome"] == "interrupted, changes left in place"

        # The PC comes back; later restarts are quick, so the rest of the run takes seconds.
        lab.config = replace(lab.config, reboot_downtime_s=0.5)
        deadline = time.monotonic() + 30
        while lab.restarting:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        resumed = CliRunner().invoke(app, ["resume", run_id, "--yes", "--reboot-poll", "0.1"])
    finally:
        lab.stop()
    assert resumed.exit_code in (0, 1), resumed.output  # findings remain by design, as in a fresh run
    assert f"This run resumed {run_id}" in resumed.output
    second = max((wbplay_home / "runs").glob("*.jsonl"), key=lambda p: p.stat().st_mtime)
    start = json.loads(second.read_text(encoding="utf-8").splitlines()[0])
    assert start["resumes"] == run_id and start["allow"] == [] and start["variables"]["allow_chkdsk_r"]
    volume = next(v for v in model.state["volumes"] if v.get("letter") == "C:")
    assert volume["bad_sectors"] == 0 and "chkdsk_scheduled" not in volume


def test_resume_refuses_a_dry_run(wbplay_home: Path) -> None:
    dry = CliRunner().invoke(app, ["run", "fix-0x80070422", "--host", "sim:pc42", "-n"])
    assert dry.exit_code == 1
    run_id = journal_events(wbplay_home)[0]["run"]
    result = CliRunner().invoke(app, ["resume", run_id, "--yes"])
    assert result.exit_code == 2 and "dry run" in result.output


def test_ctrl_c_at_the_confirmation_acts_at_once(wbplay_home: Path) -> None:
    run = PtyRun(["run", "fix-0x80070422", "--host", "sim:pc42"], dict(os.environ))
    run.expect(r"Apply \d+ change\(s\) to")
    run.at_prompt()
    run.send(CTRL_C)  # no Enter
    code = run.wait()
    assert code == 130, run.text
    assert "change.intent" not in names(journal_events(wbplay_home))


def winre_state(tmp_path: Path) -> Path:
    from wbplay.sim.state import builtin_path

    path = tmp_path / "winre.yml"
    path.write_bytes(builtin_path("win7-winre-on-usb").read_bytes())  # type: ignore[union-attr]
    return path


def test_ctrl_c_at_a_manual_prompt_acts_at_once_and_rolls_back(wbplay_home: Path, tmp_path: Path) -> None:
    state = winre_state(tmp_path)
    run = PtyRun(["run", "fix-0x81000031", "--host", f"sim:{state}", *DISC, "--yes"], dict(os.environ))
    text = run.expect(r'Answer "done" once it is done')
    # The instruction and the prompt ask for the same answer.
    assert re.search(r'Answer "done"\s+once it is disconnected', text), text
    run.at_prompt()
    run.send(CTRL_C)  # no Enter
    code = run.wait()
    assert code == 130, run.text
    events = journal_events(wbplay_home)
    assert [e["answer"] for e in events if e["event"] == "step.manual"] == ["interrupted"]
    # The PC answers, so the change made before the prompt was rolled back at once.
    assert "winre-disabled-off-external" in next(e for e in events if e["event"] == "rollback.end")["undone"]


def test_a_manual_step_whose_verify_fails_is_reported_failed(wbplay_home: Path, tmp_path: Path) -> None:
    state = winre_state(tmp_path)
    report = tmp_path / "r.json"
    run = PtyRun(
        ["run", "fix-0x81000031", "--host", f"sim:{state}", *DISC, "--yes", "--report", f"json:{report}"],
        dict(os.environ),
    )
    run.expect(r'Answer "done" once it is done')
    run.at_prompt()
    run.send(b"done\r")  # ... but the drive is still plugged in
    code = run.wait()
    assert code == 3, run.text  # the step failed; the change before it was rolled back
    steps = {s["id"]: s for s in json.loads(report.read_text(encoding="utf-8"))["steps"]}
    assert steps["external-drive-disconnected"]["status"] == "failed"
    assert "verification failed" in steps["external-drive-disconnected"]["error"]
    assert "1 manual" not in run.text


def test_without_a_terminal_a_manual_step_refuses_before_the_first_change(
    wbplay_home: Path, tmp_path: Path
) -> None:
    state = winre_state(tmp_path)
    before = state.read_bytes()
    result = CliRunner().invoke(app, ["run", "fix-0x81000031", "--host", f"sim:{state}", *DISC, "--yes"])
    assert result.exit_code == 1, result.output
    assert "Nothing was changed" in result.output and "--skip-manual" in result.output
    assert state.read_bytes() == before
    assert "change.intent" not in names(journal_events(wbplay_home))

    skipped = CliRunner().invoke(
        app, ["run", "fix-0x81000031", "--host", f"sim:{state}", *DISC, "--yes", "--skip-manual"]
    )
    assert skipped.exit_code == 1, skipped.output  # the change ran; the manual step stays pending
    assert state.read_bytes() != before


def test_apply_of_a_plan_asks_for_its_manual_step_on_a_terminal(wbplay_home: Path, tmp_path: Path) -> None:
    state = winre_state(tmp_path)
    plan = tmp_path / "plan.json"
    made = CliRunner().invoke(
        app, ["plan", "fix-0x81000031", "--host", f"sim:{state}", *DISC, "-o", str(plan)]
    )
    assert made.exit_code == 1, made.output
    run = PtyRun(["apply", str(plan), "--yes"], dict(os.environ))
    run.expect(r'Answer "done" once it is done, or "skip"')
    run.at_prompt()
    run.send(b"skip\r")
    code = run.wait()
    assert code == 1, run.text  # applied what it could; the manual step is left pending
    assert re.search(r"MANUAL\s+external-drive-disconnected\s+operator answered: not done", run.text)


CHANGE_THEN_RESTART = """\
id: change-then-restart
title: A reversible change, then a restart the PC does not come back from in time
description: A test playbook for the wait after a restart.
applies_to: {error_codes: ["0x80070422"]}
references: ["tests"]
vars:
  allow_restart: {type: boolean, description: consent to restart, default: false}
steps:
  - id: vss-not-disabled
    title: VSS is not Disabled
    why: A test step for the wait after a restart.
    check: {kind: service.start_mode, name: VSS}
    expect: {not: {in: [Disabled, null]}}
    remedy: {kind: service.set_start_mode, name: VSS, start_mode: Manual}
  - id: restart
    title: The PC restarted
    why: A test step for the wait after a restart.
    check: {kind: service.start_mode, name: VSS}
    expect: {equals: Never}
    remedy: {kind: host.reboot, reason: test}
    opt_in: allow_restart
"""


def test_a_pc_that_does_not_come_back_in_time_is_not_rolled_back_blind(
    wbplay_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WBPLAY_USER", DEFAULT_USER.name)
    monkeypatch.setenv("WBPLAY_PASSWORD", DEFAULT_USER.password)
    book = tmp_path / "change-then-restart.yml"
    book.write_text(CHANGE_THEN_RESTART, encoding="utf-8")
    lab = build_lab(load_host_model("pc42"), port=0, reboot_downtime_s=600.0).start()
    try:
        args = ["run", str(book), "--host", f"http://127.0.0.1:{lab.port}", "--yes", "--allow", "restart"]
        result = CliRunner().invoke(app, [*args, "--reboot-poll", "0.1", "--reboot-timeout", "1"])
        assert lab.restarting, result.output
    finally:
        lab.stop()
    assert result.exit_code == 5, result.output
    events = journal_events(wbplay_home)
    assert "rollback.start" not in names(events)
    assert not any(n.startswith("undo.") for n in names(events))
    skipped = next(e for e in events if e["event"] == "rollback.skipped")
    assert "it is not answering" in skipped["reason"]
    assert skipped["changes"] == ["vss-not-disabled", "restart"]
    assert f"wbplay rollback {events[0]['run']}" in result.output
