"""End to end through the real path: CLI → engine → pywinrm → HTTP (NTLM-encrypted) → lab → host model.

Every lab here listens on 127.0.0.1 on an ephemeral port and serves a simulated
PC whose state file the test inspects.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from wbplay.cli import app
from wbplay.hosts.target import TlsVerificationDisabledWarning
from wbplay.lab.agent_handler import AgentHandler
from wbplay.lab.cmdexe import HostIdentity
from wbplay.lab.server import LabConfig, LabServer
from wbplay.lab.users import DEFAULT_USER
from wbplay.sim.model import HostModel
from wbplay.sim.state import read_state, save_state

runner = CliRunner()
PASSWORD = DEFAULT_USER.password


class Lab:
    """A lab serving a state file; every change the agent makes is saved to that file."""

    def __init__(self, state: Path, **config: Any) -> None:
        self.state = state
        self.model = HostModel(read_state(state))
        handler = AgentHandler(self.model, on_change=lambda: save_state(state, self.model.state))
        self.server = LabServer(
            LabConfig(
                host=HostIdentity(self.model.hostname, str(self.model.os["version"])),
                powershell=handler,
                timeout_scale=0.05,
                **config,
            )
        ).start()
        scheme = "https" if config.get("tls") else "http"
        self.host = f"{scheme}://127.0.0.1:{self.server.port}"

    def stop(self) -> None:
        self.server.stop()


@pytest.fixture
def lab_pc42(state_file, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    monkeypatch.setenv("WBPLAY_USER", DEFAULT_USER.name)
    monkeypatch.setenv("WBPLAY_PASSWORD", PASSWORD)
    lab = Lab(state_file("pc42"))
    try:
        yield lab
    finally:
        lab.stop()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_dry_run_run_and_rollback_over_winrm(lab_pc42: Lab) -> None:
    original = read_state(lab_pc42.state)
    dry = invoke("run", "fix-0x80070422", "--host", lab_pc42.host, "--dry-run")
    assert dry.exit_code == 1, dry.output
    assert "would change wbengine start mode: Disabled → Manual" in dry.output
    assert read_state(lab_pc42.state) == original
    # One shell and one agent round trip for all of a dry-run's reads.
    assert lab_pc42.server.counters.shells_created == 1
    assert lab_pc42.server.counters.commands == 1

    done = invoke("run", "fix-0x80070422", "--host", lab_pc42.host, "--yes")
    assert done.exit_code == 0, done.output
    assert HostModel(read_state(lab_pc42.state)).service("wbengine")["start_mode"] == "Manual"
    # every SOAP request after the handshake was sealed
    sealed = [r for r in lab_pc42.server.log if r.status == 200 and r.action]
    assert sealed and all(r.encrypted for r in sealed)

    run_id = done.output.split("runs/")[1].split(".jsonl")[0]
    back = invoke("rollback", run_id, "--yes")
    assert back.exit_code == 0, back.output
    assert read_state(lab_pc42.state) == original


def test_wrong_password_is_clear_exit_4_and_never_shown(lab_pc42: Lab, monkeypatch, tmp_path: Path) -> None:
    secret = "Sup3r-Secret-Wr0ng!"
    monkeypatch.setenv("WBPLAY_PASSWORD", secret)
    r = invoke(
        "run", "fix-0x80070422", "--host", lab_pc42.host, "--dry-run", "--report", f"json:{tmp_path}/r.json"
    )
    assert r.exit_code == 4
    assert "rejected the credentials" in r.output and DEFAULT_USER.name in r.output
    assert secret not in r.output
    for f in Path(os.environ["WBPLAY_HOME"]).rglob("*"):
        if f.is_file():
            assert secret not in f.read_text(errors="replace"), f
    if r.exception is not None:
        assert secret not in "".join(traceback.format_exception(r.exception))


def test_certificate_that_fails_validation(state_file, monkeypatch) -> None:
    monkeypatch.setenv("WBPLAY_USER", DEFAULT_USER.name)
    monkeypatch.setenv("WBPLAY_PASSWORD", PASSWORD)
    lab = Lab(state_file("pc42"), tls=True)
    try:
        r = invoke("run", "fix-0x80070422", "--host", lab.host, "--dry-run")
        assert r.exit_code == 4
        assert "certificate" in r.output.lower()
        with pytest.warns(TlsVerificationDisabledWarning, match="certificate validation is OFF"):
            skipped = invoke(
                "run", "fix-0x80070422", "--host", lab.host, "--dry-run", "--insecure-skip-tls-verify"
            )
        assert skipped.exit_code == 1, skipped.output
    finally:
        lab.stop()


# Requests of a run: 1-3 NTLM handshake, 4 Create, then Command/Send/Receive/Signal per agent call:
# 5-8 the batched read, 9-12 the first write, 13-16 its verification read.  drop_after counts
# requests with a body, which starts at Create (4): the n-th counted request is request n + 3.
SEND_OF_FIRST_WRITE, SEND_OF_VERIFY_READ = 10 - 3, 14 - 3


def test_connection_dropped_during_a_read_mid_run_is_recovered(lab_pc42: Lab) -> None:
    lab_pc42.server.drop_after(SEND_OF_VERIFY_READ)
    r = invoke("run", "fix-0x80070422", "--host", lab_pc42.host, "--yes")
    assert r.exit_code == 0, r.output
    assert lab_pc42.server.counters.dropped == 1
    assert lab_pc42.server.counters.connections == 2  # re-authenticated on a new connection, read retried
    assert HostModel(read_state(lab_pc42.state)).service("wbengine")["start_mode"] == "Manual"


def test_connection_dropped_during_a_write_is_never_replayed_and_rolls_back(lab_pc42: Lab) -> None:
    original = read_state(lab_pc42.state)
    lab_pc42.server.drop_after(SEND_OF_FIRST_WRITE)
    r = invoke("run", "fix-0x80070422", "--host", lab_pc42.host, "--yes")
    assert r.exit_code == 3, r.output
    assert "lost the host during this step" in r.output or "outcome" in r.output
    assert read_state(lab_pc42.state) == original


JA_BOOK = """\
id: ja-check
title: Japanese text round trip
description: Reads a Japanese display name and a Japanese event message.
applies_to: {error_codes: ["0x80070422"]}
references: ["tests"]
steps:
  - id: display-name
    title: wbengine display name is the Japanese one
    why: A ja-JP PC's strings must arrive intact over WinRM (issue 3, cp932 PC).
    check: {kind: service, name: wbengine, field: display_name}
    expect: {equals: "ブロック レベル バックアップ エンジン サービス"}
  - id: event-message
    title: The backup error event carries the seed's Japanese message
    why: Triage matches pasted Japanese messages, so event text must not be mangled.
    check: {kind: events, provider: Windows Backup, ids: [4104], field: "0.message"}
    expect: {matches: "内部エラーのため、バックアップアプリケーションを開始できませんでした"}
"""


def test_japanese_pc_strings_arrive_intact(state_file, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("WBPLAY_USER", DEFAULT_USER.name)
    monkeypatch.setenv("WBPLAY_PASSWORD", PASSWORD)
    state = state_file("pc42")
    data = read_state(state)
    # Test data, not a claim about Windows: the seed shows English display names on this PC.
    data["services"]["wbengine"]["display_name"] = "ブロック レベル バックアップ エンジン サービス"
    save_state(state, data)
    book = tmp_path / "ja.yml"
    book.write_text(JA_BOOK, encoding="utf-8")
    lab = Lab(state)
    try:
        r = invoke("run", str(book), "--host", lab.host, "--dry-run")
        assert r.exit_code == 0, r.output
        assert "ブロック レベル バックアップ エンジン サービス" in r.output
    finally:
        lab.stop()


def test_a_request_larger_than_8191_characters(lab_pc42: Lab, tmp_path: Path) -> None:
    long_path = "C:\\" + "\\".join(["very-long-folder-name-" + str(i) for i in range(400)])
    assert len(long_path) > 9000
    book = tmp_path / "long.yml"
    book.write_text(
        JA_BOOK.split("steps:")[0]
        + "steps:\n  - id: long-path\n    title: A very long path is absent\n"
        + "    why: Requests far above cmd.exe's 8191-character limit must still work.\n"
        + f"    check: {{kind: path.exists, path: '{long_path}'}}\n    expect: {{equals: false}}\n",
        encoding="utf-8",
    )
    r = invoke("run", str(book), "--host", lab_pc42.host, "--dry-run")
    assert r.exit_code == 0, r.output
    assert lab_pc42.server.counters.commands == 1


def _spawn_run(lab: Lab, home: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, WBPLAY_HOME=str(home), PYTHONUNBUFFERED="1", COLUMNS="200")
    return subprocess.Popen(
        [sys.executable, "-m", "wbplay", "run", "fix-0x80070422", "--host", lab.host, "--yes"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def _wait_for_line(proc: subprocess.Popen[str], needle: str, timeout: float = 20.0) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if needle in line:
            return lines
    proc.kill()
    raise AssertionError(f"{needle!r} never appeared:\n{''.join(lines)}")


def test_sigkill_mid_change_then_rollback_restores_exactly(lab_pc42: Lab, wbplay_home: Path) -> None:
    original = read_state(lab_pc42.state)
    lab_pc42.server.latency_s = 0.3  # each request takes a while, so the kill lands mid-change
    proc = _spawn_run(lab_pc42, wbplay_home)
    _wait_for_line(proc, "APPLY")
    time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    lab_pc42.server.latency_s = 0.0
    runs = sorted((wbplay_home / "runs").glob("*.jsonl"))
    assert len(runs) == 1
    assert '"run.end"' not in runs[0].read_text()  # it really died mid-run

    r = invoke("rollback", runs[0].stem, "--yes")
    assert r.exit_code == 0, r.output
    assert "Could not confirm" not in r.output
    assert read_state(lab_pc42.state) == original


def test_ctrl_c_during_a_change_finishes_it_then_rolls_back(lab_pc42: Lab, wbplay_home: Path) -> None:
    original = read_state(lab_pc42.state)
    lab_pc42.server.latency_s = 0.3
    proc = _spawn_run(lab_pc42, wbplay_home)
    _wait_for_line(proc, "APPLY")
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out
    assert "Rolling back" in out
    assert read_state(lab_pc42.state) == original
    journal = next((wbplay_home / "runs").glob("*.jsonl")).read_text()
    assert '"run.interrupted"' in journal and '"outcome": "interrupted"' in journal


def test_password_reaches_no_output_journal_report_or_argv(
    state_file, tmp_path: Path, wbplay_home: Path
) -> None:
    """A real, successful run with a distinctive password: it must appear nowhere we write or expose."""
    from wbplay.lab.users import LabUser

    secret = "Zq-7v!unique-Pa55word-913"
    state = state_file("pc42")
    lab = Lab(state, users=(LabUser("opsadmin", secret),))
    lab.server.latency_s = 0.05
    env = dict(os.environ, WBPLAY_HOME=str(wbplay_home), WBPLAY_USER="opsadmin", WBPLAY_PASSWORD=secret)
    report_md, report_json = tmp_path / "r.md", tmp_path / "r.json"
    try:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "wbplay",
                "run",
                "fix-0x80070422",
                "--host",
                lab.host,
                "--yes",
                "--report",
                f"md:{report_md}",
                "--report",
                f"json:{report_json}",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        seen_argv = []
        while proc.poll() is None:
            try:
                seen_argv.append(Path(f"/proc/{proc.pid}/cmdline").read_bytes())
            except OSError:
                break
            time.sleep(0.02)
        out, err = proc.communicate(timeout=60)
    finally:
        lab.stop()
    assert proc.returncode == 0, out + err
    assert seen_argv and all(secret.encode() not in a for a in seen_argv)
    assert secret not in out and secret not in err
    written = [report_md, report_json, *wbplay_home.rglob("*.jsonl")]
    assert len(written) >= 3
    for f in written:
        assert secret not in f.read_text(encoding="utf-8"), f


def test_slow_tool_output_is_shown_line_by_line(state_file, monkeypatch) -> None:
    """chkdsk's console text travels as live output lines ahead of the agent's frame, even when the
    lab cuts stdout into tiny Receive chunks, and the console shows each line under its step."""
    monkeypatch.setenv("WBPLAY_USER", DEFAULT_USER.name)
    monkeypatch.setenv("WBPLAY_PASSWORD", PASSWORD)
    lab = Lab(state_file("pc42-io-errors"), receive_chunk_bytes=64)
    try:
        r = invoke("run", "fix-0x8007045d", "--host", lab.host, "--dry-run")
    finally:
        lab.stop()
    assert r.exit_code == 1, r.output
    assert "│ CHKDSK はファイルを検査しています (ステージ 1/3)..." in r.output
    journal = next(Path(os.environ["WBPLAY_HOME"]).glob("runs/*.jsonl")).read_text(encoding="utf-8")
    assert '"event": "op.output"' in journal
