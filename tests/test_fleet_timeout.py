"""``--timeout-per-host``: a lab PC that stops answering mid-run ends with a timeout outcome,
the others finish, and the hung PC's journal is recoverable with ``wbplay rollback``.

The controller is a real ``python -m wbplay`` process (it exits with the hung PC's
thread still waiting, as an admin's would); the lab PCs run in this process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wbplay.cli import app
from wbplay.lab.fleet import start_fleet
from wbplay.lab.users import DEFAULT_USER
from wbplay.run import hostlock
from wbplay.sim.state import read_state

PLAYBOOK = "fix-0x80070422"


@pytest.fixture(autouse=True)
def lab_login(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WBPLAY_USER", DEFAULT_USER.name)
    monkeypatch.setenv("WBPLAY_PASSWORD", DEFAULT_USER.password)


def test_a_hung_pc_times_out_alone_and_its_journal_rolls_back(tmp_path: Path) -> None:
    home = Path(os.environ["WBPLAY_HOME"])
    with start_fleet(tmp_path / "pcs", 3, kinds=("broken", "hung", "broken")) as fleet:
        inv = fleet.write_inventory(tmp_path / "inventory.yml")
        before = {pc.name: read_state(pc.state) for pc in fleet.pcs}
        hung = fleet.pcs[1]
        started = time.monotonic()
        done = subprocess.run(
            [
                sys.executable, "-m", "wbplay", "run", PLAYBOOK, "--host", "lab", "-i", str(inv),
                "--forks", "3", "--timeout-per-host", "20", "--yes",
                "--report", f"json:{tmp_path}/fleet.json",
            ],
            capture_output=True, text=True, env=dict(os.environ), timeout=120,
        )  # fmt: skip
        took = time.monotonic() - started
        assert done.returncode == 5, done.stdout + done.stderr  # the worst PC's: the hung one needs attention
        assert hung.hanging, "the hung PC's write should still be stuck when the controller is gone"
        assert took < 90, took
        report = {h["host"]: h for h in json.loads((tmp_path / "fleet.json").read_text())["hosts"]}
        assert report["pc0001"]["exit_code"] == 0 and report["pc0003"]["exit_code"] == 0, done.stdout
        assert report["pc0002"]["exit_code"] == 5
        assert "no result within --timeout-per-host 20 s" in report["pc0002"]["error"]
        assert "no result within --timeout-per-host 20 s" in done.stdout
        fleet_id = done.stdout.split("wbplay rollback --fleet ")[1].split()[0]
        assert f"wbplay runs --fleet {fleet_id}" in report["pc0002"]["error"]
        listed = CliRunner().invoke(app, ["runs", "--fleet", fleet_id])
        assert listed.exit_code == 0 and listed.output.count("pc0002") == 1, listed.output

        # The PC answers again (its stuck write lands late); the journal the given-up run left
        # names both changes (the second announced, never confirmed), and the lock of the gone
        # controller is taken over.
        hung.answer_again()
        journal = next(p for p in (home / "runs").glob("*pc0002*.jsonl"))
        records = [json.loads(line) for line in journal.read_text().splitlines()]
        assert [r["event"] for r in records].count("change.intent") == 2
        assert not any(r["event"] == "run.end" for r in records)
        assert list(hostlock.locks_dir().glob("*.lock")), "the gone controller's lock is left behind"
        back = CliRunner().invoke(app, ["rollback", journal.stem, "--yes", "-i", str(inv)])
        assert back.exit_code == 0, back.output
        assert "stale host lock" in back.output, back.output
        assert read_state(hung.state) == before["pc0002"]
