"""The CLI end to end on the simulated PC: exit codes, readable output, errors with line numbers."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from wbplay import app as app_mod
from wbplay.cli import app
from wbplay.report import ReportSpec
from wbplay.sim.state import read_state

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_dry_run_then_run_then_rollback(state_file) -> None:
    state = state_file("pc42")
    original = read_state(state)
    dry = invoke("run", "fix-0x80070422.yml", "--host", f"sim:{state}", "--dry-run")
    assert dry.exit_code == 1, dry.output
    assert "would change wbengine start mode: Disabled → Manual [reversible]" in dry.output
    assert "Nothing was changed (dry-run)." in dry.output
    assert read_state(state) == original

    # Not a terminal and no --yes: refuses to change anything.
    refused = invoke("run", "fix-0x80070422", "--host", f"sim:{state}")
    assert refused.exit_code == 1 and "not confirmed" in refused.output
    assert read_state(state) == original

    done = invoke("run", "fix-0x80070422", "--host", f"sim:{state}", "--yes")
    assert done.exit_code == 0, done.output
    assert "VERIFY" in done.output and "Exit 0" in done.output
    run_id = done.output.split("runs/")[1].split(".jsonl")[0]

    listed = invoke("runs")
    assert listed.exit_code == 0 and "fix-0x80070422" in listed.output
    log = invoke("log", run_id)
    assert "change.intent" in log.output and "wbengine-not-disabled" in log.output

    back = invoke("rollback", run_id, "--yes")
    assert back.exit_code == 0, back.output
    assert read_state(state) == original


def test_builtin_sim_uses_a_working_copy(wbplay_home: Path) -> None:
    first = invoke("run", "fix-0x80070422", "--host", "sim:pc42", "--yes")
    assert first.exit_code == 0
    assert (wbplay_home / "sim" / "pc42.yml").is_file()
    second = invoke("run", "fix-0x80070422", "--host", "sim:pc42", "--dry-run")
    assert second.exit_code == 0, "the simulated PC remembers it was fixed"
    assert invoke("sim", "reset", "pc42").exit_code == 0
    assert invoke("run", "fix-0x80070422", "--host", "sim:pc42", "--dry-run").exit_code == 1


def test_validate_reports_file_line_and_exit_code(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("id: x\nid: y\n", encoding="utf-8")
    r = invoke("validate", str(tmp_path), str(Path(__file__).parent.parent / "playbooks"))
    assert r.exit_code == 2
    assert f"{bad}:2:1: duplicate key 'id'" in r.output
    assert "valid   " in r.output


def test_usage_errors_exit_2_with_a_clear_message(state_file) -> None:
    state = state_file("pc42")
    r = invoke("run", "no-such-book", "--host", f"sim:{state}")
    assert r.exit_code == 2 and "no playbook named 'no-such-book'" in r.output
    r = invoke("run", "fix-0x80070422", "--host", f"sim:{state}", "--var", "nope=1")
    assert r.exit_code == 2 and "unknown variable 'nope'" in r.output
    r = invoke("run", "fix-0x80070422", "--host", f"sim:{state}", "--var", "wbengine_start_mode=Disabled")
    assert r.exit_code == 2 and "must be one of Manual, Automatic" in r.output
    r = invoke("run", "fix-0x80070422", "--host", "sim:nowhere")
    assert r.exit_code == 2 and "pc42" in r.output


def test_list_and_show() -> None:
    r = invoke("list")
    assert r.exit_code == 0 and "fix-0x80070422" in r.output and "0x80070422" in r.output
    r = invoke("show", "fix-0x80070422")
    assert r.exit_code == 0
    assert "wbengine-not-disabled" in r.output and "reversible" in r.output


def test_long_actions_show_progress_lines(state_file) -> None:
    state = state_file("pc42-io-errors")
    r = invoke(
        "run",
        "fix-0x8007045d",
        "--host",
        f"sim:{state}",
        "--yes",
        "--var",
        "allow_chkdsk_r=true",
        "--var",
        "allow_sfc=true",
    )
    assert "WAIT     source-pass-1-restart    waiting for the PC to restart" in r.output
    assert "BACK     source-pass-1-restart    the PC is back after" in r.output
    assert "APPLY    system-files             sfc /scannow" in r.output


def test_many_hosts_run_and_exit_with_the_worst(state_file, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WBPLAY_USER", "wbadmin")
    monkeypatch.setenv("WBPLAY_PASSWORD", "not-used-the-port-is-closed")
    broken, healthy = state_file("pc42"), state_file("win10-healthy")
    hosts = f"sim:{broken},sim:{healthy},http://127.0.0.1:9"  # port 9: nothing listens there
    r = invoke("run", "fix-0x80070422", "--host", hosts, "--yes", "--report", f"json:{tmp_path}/r.json")
    assert r.exit_code == 4, r.output  # the unreachable PC is the worst outcome
    assert "all hosts" in r.output
    assert "exit 0 fixed: 1 PC(s)" in r.output and f"sim:{broken}: journal" in r.output
    assert "exit 0 compliant: 1 PC(s)" in r.output and f"sim:{healthy}: journal" in r.output
    assert "http://127.0.0.1:9: cannot connect" in r.output
    doc = json.loads((tmp_path / "r.json").read_text())  # one report over every PC
    assert [(h["host"], h["exit_code"]) for h in doc["hosts"]] == [
        (f"sim:{broken}", 0), (f"sim:{healthy}", 0), ("http://127.0.0.1:9", 4)
    ]


def test_each_host_of_a_multi_host_run_gets_its_own_report_file() -> None:
    specs = [ReportSpec("md", Path("out/r.md")), ReportSpec("junit", Path("r.xml"))]
    assert app_mod.per_host(specs, "https://pc 7:5986") == [
        ReportSpec("md", Path("out/r.https---pc-7-5986.md")),
        ReportSpec("junit", Path("r.https---pc-7-5986.xml")),
    ]


def test_the_summary_does_not_repeat_the_exit_text_as_the_outcome() -> None:
    r = invoke("run", "fix-0x80070422", "--host", "sim:pc42", "--dry-run")
    assert r.exit_code == 1
    assert "Exit 1: changes pending\n" in r.output
    assert "(changes pending)" not in r.output
