"""Rollback end to end: CLI → engine → pywinrm → HTTP (NTLM-encrypted) → lab → host model, and on a
real terminal (a pty) for the confirmation question."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time

import pytest

from test_e2e_lab import Lab, invoke
from wbplay.lab.users import LabUser
from wbplay.run import journal
from wbplay.sim.state import read_state

SECRET = "Rb-7q!unique-Pa55-rollback"


def _run_id(output: str) -> str:
    return output.split("runs/")[1].split(".jsonl")[0]


@pytest.fixture
def ops_lab(state_file, monkeypatch: pytest.MonkeyPatch):
    made: list[Lab] = []

    def make(name: str) -> Lab:
        lab = Lab(state_file(name), users=(LabUser("opsadmin", SECRET),))
        made.append(lab)
        return lab

    monkeypatch.setenv("WBPLAY_PASSWORD", SECRET)
    try:
        yield make
    finally:
        for lab in made:
            lab.stop()


def test_rollback_of_a_winrm_run_logs_on_as_the_journal_s_user(ops_lab, monkeypatch, wbplay_home) -> None:
    lab = ops_lab("pc42")
    original = read_state(lab.state)
    monkeypatch.setenv("WBPLAY_USER", "opsadmin")
    done = invoke("run", "fix-0x80070422", "--host", lab.host, "--yes")
    assert done.exit_code == 0, done.output
    run_id = _run_id(done.output)
    pc = next(json.loads(x) for x in journal.find(run_id).read_text().splitlines() if '"host.identity"' in x)
    assert pc["user"] == "opsadmin"
    monkeypatch.setenv("WBPLAY_USER", "someone-else")  # today's shell has another user set
    back = invoke("rollback", run_id, "--yes")
    assert back.exit_code == 0, back.output
    assert read_state(lab.state) == original
    for f in wbplay_home.rglob("*.jsonl"):
        assert SECRET not in f.read_text(encoding="utf-8")


def test_rollback_over_winrm_refuses_a_different_pc_naming_both(ops_lab, monkeypatch) -> None:
    monkeypatch.setenv("WBPLAY_USER", "opsadmin")
    pc42, other = ops_lab("pc42"), ops_lab("win10-healthy")
    done = invoke("run", "fix-0x80070422", "--host", pc42.host, "--yes")
    assert done.exit_code == 0, done.output
    untouched = other.state.read_bytes()
    r = invoke("rollback", _run_id(done.output), "--yes", "--host", other.host)
    assert r.exit_code == 2, r.output
    assert "PC42" in r.output and "WIN10-OK" in r.output and "different PC" in r.output
    assert other.state.read_bytes() == untouched


def test_rollback_over_winrm_asks_consent_for_a_shrink(ops_lab, monkeypatch) -> None:
    monkeypatch.setenv("WBPLAY_USER", "opsadmin")
    lab = ops_lab("srv2019-shadowstorage-small")
    original = read_state(lab.state)
    done = invoke("run", "fix-shadow-storage", "--host", lab.host, "--yes")
    assert done.exit_code == 0, done.output
    run_id = _run_id(done.output)
    left = invoke("rollback", run_id, "--yes")
    assert left.exit_code == 5, left.output
    assert "--allow windows-volume-grow-storage" in left.output
    assert read_state(lab.state)["shadow_storage"][0]["max_mb"] == 1024
    ok = invoke("rollback", run_id, "--yes", "--allow", "windows-volume-grow-storage")
    assert ok.exit_code == 0, ok.output
    assert read_state(lab.state) == original


def _read_until(fd: int, needle: bytes, timeout: float = 60.0) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{needle!r} never appeared:\n{seen.decode(errors='replace')}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


def test_rollback_on_a_terminal_shows_the_plan_and_asks(state_file) -> None:
    state = state_file("pc42")
    original = read_state(state)
    done = invoke("run", "fix-0x80070422", "--host", f"sim:{state}", "--yes")
    assert done.exit_code == 0, done.output
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "wbplay", "rollback", _run_id(done.output)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=dict(os.environ, COLUMNS="200"),
        close_fds=True,
    )
    os.close(slave)
    try:
        shown = _read_until(master, b"Undo 5 change(s)")
        assert b"would change wbengine start mode: Manual" in shown
        assert read_state(state) != original  # nothing happens before the answer
        os.write(master, b"y\r")
        _read_until(master, b"Exit 0")
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert read_state(state) == original
