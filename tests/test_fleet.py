"""Fleets end to end: many lab PCs on loopback, through the CLI, pywinrm and HTTP, --forks at a time.

Each lab PC's state file is its disk; the tests check every one of them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wbplay import app as app_mod
from wbplay.cli import app
from wbplay.errors import ExitCode
from wbplay.lab.fleet import KINDS, MIX, LabFleet, start_fleet
from wbplay.lab.users import DEFAULT_USER
from wbplay.run import hostlock
from wbplay.run.fleet import Progress, fan_out
from wbplay.sim.model import HostModel
from wbplay.sim.state import builtin_path, read_state

runner = CliRunner()
PLAYBOOK = "fix-0x80070422"


@pytest.fixture(autouse=True)
def lab_login(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WBPLAY_USER", DEFAULT_USER.name)
    monkeypatch.setenv("WBPLAY_PASSWORD", DEFAULT_USER.password)


@pytest.fixture
def fleet50(tmp_path: Path) -> Iterator[LabFleet]:
    with start_fleet(tmp_path / "pcs", 50, kinds=MIX) as fleet:
        yield fleet


def _without_name(state: dict) -> dict:
    return {k: v for k, v in state.items() if k != "hostname"}


def _single_pc_result(kind: str, tmp_path: Path) -> dict:
    """Where a single-PC run (sim:, no fleet) leaves a PC of this kind."""
    source = KINDS[kind]
    assert source is not None
    copy = tmp_path / "single" / f"{kind}.yml"
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_bytes(builtin_path(source).read_bytes())  # type: ignore[union-attr]
    r = runner.invoke(app, ["run", PLAYBOOK, "--host", f"sim:{copy}", "--yes"])
    assert r.exit_code == 0, r.output
    return _without_name(read_state(copy))


def test_mixed_fleet_of_50_ends_where_single_runs_would(fleet50: LabFleet, tmp_path: Path) -> None:
    inv = fleet50.write_inventory(tmp_path / "inventory.yml")
    r = runner.invoke(
        app,
        [
            "run",
            PLAYBOOK,
            "--host",
            "lab",
            "-i",
            str(inv),
            "--forks",
            "10",
            "--yes",
            "--report",
            f"json:{tmp_path}/fleet.json",
            "--report",
            f"junit:{tmp_path}/fleet.xml",
        ],
    )
    # The worst PC's code: the unreachable ones (4) outrank the rolled-back ones (3).
    assert r.exit_code == int(ExitCode.CONNECTION), r.output
    expected = {k: _single_pc_result(k, tmp_path) for k in ("broken", "wbengine-only", "vdi", "healthy")}
    for pc in fleet50.pcs:
        if pc.kind == "unreachable":
            assert not pc.state.exists()
            continue
        now = _without_name(read_state(pc.state))
        if pc.kind == "failing":  # its second write failed: the first was rolled back
            original = _without_name(read_state(builtin_path("pc42")))  # type: ignore[arg-type]
            assert now == original, pc.name
        else:
            assert now == expected[pc.kind], pc.name
    doc = json.loads((tmp_path / "fleet.json").read_text())
    codes = {h["host"]: h["exit_code"] for h in doc["hosts"]}
    assert set(codes) == {pc.name for pc in fleet50.pcs}
    assert {codes[pc.name] for pc in fleet50.pcs if pc.kind == "failing"} == {int(ExitCode.ROLLED_BACK)}
    assert {codes[pc.name] for pc in fleet50.pcs if pc.kind == "unreachable"} == {int(ExitCode.CONNECTION)}
    suites = ET.parse(tmp_path / "fleet.xml").getroot().findall("testsuite")
    assert len(suites) == 50
    assert "exit 3 failed, rolled back: 5 PC(s)" in r.output
    # every lock was released
    assert not list(hostlock.locks_dir().glob("*.lock"))


def test_one_question_for_the_fleet_and_a_pc_that_drifted_since_is_refused_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with start_fleet(tmp_path / "pcs", 6, kinds=("broken",)) as fleet:
        inv = fleet.write_inventory(tmp_path / "inventory.yml")
        asked: list[str] = []
        changed = fleet.pcs[2]

        def ask(prompt: str, **kw: object) -> bool:
            asked.append(prompt)
            # Behind the review's back, someone repairs one service on one PC.
            assert changed.model is not None
            changed.model.service("wbengine")["start_mode"] = "Manual"
            return True

        monkeypatch.setattr("wbplay.cli.fleet.Confirm.ask", ask)
        monkeypatch.setattr("wbplay.cli.fleet._interactive", lambda: True)
        r = runner.invoke(app, ["run", PLAYBOOK, "--host", "lab", "-i", str(inv), "--forks", "3"])
        assert asked == ["Apply these changes to 6 PC(s)?"], r.output
        assert "6 PCs: EventSystem start mode: Manual → Automatic" in r.output
        assert r.exit_code == int(ExitCode.PENDING), r.output  # the one refused PC: its plan is out of date
        for pc in fleet.pcs:
            model = HostModel(read_state(pc.state))
            services = {n: model.service(n)["start_mode"] for n in ("VSS", "wbengine")}
            if pc is changed:
                assert services["VSS"] == "Disabled", "the drifted PC was changed"
            else:
                assert services["VSS"] == "Manual" and services["wbengine"] == "Manual", pc.name


def test_fleet_without_a_terminal_reviews_and_changes_nothing(tmp_path: Path) -> None:
    with start_fleet(tmp_path / "pcs", 4, kinds=("broken", "healthy")) as fleet:
        inv = fleet.write_inventory(tmp_path / "inventory.yml")
        before = [pc.state.read_bytes() for pc in fleet.pcs]
        r = runner.invoke(app, ["run", PLAYBOOK, "--host", "lab", "-i", str(inv)])
        assert r.exit_code == int(ExitCode.PENDING), r.output
        assert "2 of 4 PC(s) compliant, 2 drift" in r.output
        assert [pc.state.read_bytes() for pc in fleet.pcs] == before


def test_second_concurrent_run_on_one_pc_is_refused_naming_the_holder(state_file) -> None:
    pc = state_file("pc42")
    second: list[object] = []

    def confirm(report: object) -> bool:
        # The first run holds the PC while it waits for its answer: a second run now must not start.
        second.append(runner.invoke(app, ["run", PLAYBOOK, "--host", f"sim:{pc}", "--yes"]))
        return False

    req = app_mod.RunRequest(playbook=PLAYBOOK, host=f"sim:{pc}", dry_run=False, variables={})
    report, _ = app_mod.run(req, listener=_Null(), confirm=confirm)
    r = second[0]
    assert r.exit_code == int(ExitCode.CONNECTION), r.output  # type: ignore[attr-defined]
    assert f"locked by run {report.run_id}" in r.output  # type: ignore[attr-defined]
    assert f"pid {os.getpid()}" in r.output  # type: ignore[attr-defined]
    # The first run's lock is gone with it: the next run works.
    assert runner.invoke(app, ["run", PLAYBOOK, "--host", f"sim:{pc}", "--yes"]).exit_code == 0


def test_a_stale_lock_of_a_killed_run_is_taken_over(state_file) -> None:
    pc = state_file("pc42")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    key = f"sim:{pc.resolve()}"
    path = hostlock.lock_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    holder = {
        "run": "old-run",
        "pid": dead.pid,
        "controller": os.uname().nodename,
        "started": "x",
        "host": key,
    }
    path.write_text(json.dumps(holder))
    r = runner.invoke(app, ["run", PLAYBOOK, "--host", f"sim:{pc}", "--yes"])
    assert r.exit_code == 0, r.output
    assert "took over the stale host lock of run old-run" in r.output
    assert not path.exists()


def test_a_live_lock_of_another_controller_is_never_taken_over(tmp_path: Path) -> None:
    lock = hostlock.acquire("winrm://pc7:5986", "run-a", directory=tmp_path)
    with pytest.raises(hostlock.HostLockedError, match="locked by run run-a"):
        hostlock.acquire("winrm://pc7:5986", "run-b", directory=tmp_path)
    lock.release()
    hostlock.acquire("winrm://pc7:5986", "run-b", directory=tmp_path).release()
    assert hostlock.host_key("winrm://CORP\\admin@pc7:5986") == "winrm://pc7:5986"


class _Null:
    def event(self, name: str, fields: object) -> None:
        return None


def test_fan_out_ctrl_c_stops_starting_and_lets_running_finish() -> None:
    started: list[str] = []
    stopped: dict[str, bool] = {}
    release = threading.Event()

    def work(item: str, stop: threading.Event) -> str:
        started.append(item)
        release.wait(5)
        stopped[item] = stop.is_set()
        return f"done {item}"

    interrupted = False

    def progress(p: Progress) -> None:
        nonlocal interrupted
        if p.running == 2 and not interrupted:
            interrupted = True
            release.set()
            raise KeyboardInterrupt

    items = [f"pc{i}" for i in range(6)]
    out = fan_out(
        items,
        work,
        forks=2,
        on_error=lambda h, e: "err",
        on_timeout=lambda h: "timeout",
        on_progress=progress,
    )
    assert out.interrupted
    assert sorted(out.results) == sorted(started) and len(started) == 2
    assert all(stopped.values())  # each running PC was told to stop after its current change
    assert out.not_started == items[2:]


def test_fan_out_a_hung_pc_times_out_alone_and_a_crash_stays_its_own() -> None:
    hang = threading.Event()

    def work(item: str, stop: threading.Event) -> str:
        if item == "hung":
            stop.wait(10)  # answers nothing until told to stop
            hang.set()
            return "late"
        if item == "buggy":
            raise RuntimeError("boom")
        return "ok"

    out = fan_out(
        ["a", "hung", "buggy", "b"],
        work,
        forks=2,
        on_error=lambda h, e: f"error {e}",
        on_timeout=lambda h: "timed out",
        timeout_s=0.3,
        tick_s=0.05,
    )
    assert out.results == {"a": "ok", "hung": "timed out", "buggy": "error boom", "b": "ok"}
    assert out.timed_out == ["hung"]
    assert hang.wait(5)  # the hung PC was told to stop, and did


def test_killing_the_controller_mid_fleet_leaves_every_pc_recoverable(tmp_path: Path) -> None:
    home = Path(os.environ["WBPLAY_HOME"])
    with start_fleet(tmp_path / "pcs", 20, kinds=("broken",), latency_s=0.03) as fleet:
        inv = fleet.write_inventory(tmp_path / "inventory.yml")
        original = _without_name(read_state(builtin_path("pc42")))  # type: ignore[arg-type]
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "wbplay",
                "run",
                PLAYBOOK,
                "--host",
                "lab",
                "-i",
                str(inv),
                "--forks",
                "5",
                "--yes",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=dict(os.environ),
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and proc.poll() is None:
                done = [p for p in (home / "runs").glob("*.jsonl") if '"change.done"' in p.read_text()]
                if len(done) >= 3:
                    break
                time.sleep(0.05)
            assert proc.poll() is None, "the fleet finished before it could be killed"
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.wait()
        assert list(hostlock.locks_dir().glob("*.lock")), "the killed run left its locks behind"
        journals = sorted((home / "runs").glob("*.jsonl"))
        for j in journals:
            back = runner.invoke(app, ["rollback", j.stem, "--yes", "-i", str(inv)])
            assert back.exit_code == 0, back.output
        for pc in fleet.pcs:
            assert _without_name(read_state(pc.state)) == original, pc.name


def test_fleet_plan_applies_per_pc_and_refuses_only_the_pc_that_drifted(tmp_path: Path) -> None:
    with start_fleet(
        tmp_path / "pcs", 5, kinds=("broken", "broken", "healthy", "unreachable", "broken")
    ) as fleet:
        inv = fleet.write_inventory(tmp_path / "inventory.yml")
        plan = tmp_path / "fleet-plan.json"
        r = runner.invoke(app, ["plan", PLAYBOOK, "--host", "lab", "-i", str(inv), "-o", str(plan)])
        assert r.exit_code == int(ExitCode.CONNECTION), r.output  # one PC could not be planned
        doc = json.loads(plan.read_text())
        assert sorted(doc["plans"]) == ["pc0001", "pc0002", "pc0003", "pc0005"]
        assert "pc0004" in doc["unplanned"]
        # pc0002 drifts after the review: someone repaired one of its services by hand.
        drifted = fleet.pcs[1]
        assert drifted.model is not None
        drifted.model.service("VSS")["start_mode"] = "Manual"
        r = runner.invoke(app, ["apply", str(plan), "--yes", "--expect", doc["digest"], "-i", str(inv)])
        assert r.exit_code == int(ExitCode.PENDING), r.output  # the drifted PC's plan is out of date
        assert "exit 0 fixed: 2 PC(s)" in r.output and "exit 0 compliant: 1 PC(s)" in r.output
        for pc in fleet.pcs:
            if pc.kind == "broken":
                model = HostModel(read_state(pc.state))
                wanted = "Disabled" if pc is drifted else "Manual"
                assert model.service("wbengine")["start_mode"] == wanted, pc.name
        # An edited fleet plan is refused whole.
        doc["plans"]["pc0001"]["steps"][0]["observed"] = "edited"
        doc["digest"] = "0" * 64
        plan.write_text(json.dumps(doc))
        r = runner.invoke(app, ["apply", str(plan), "--yes", "-i", str(inv)])
        assert r.exit_code == int(ExitCode.INVALID) and "does not match its digest" in r.output, r.output


def test_inventory_lists_what_a_host_expression_names_from_csv_host_list_and_limit(tmp_path: Path) -> None:
    csv_file = tmp_path / "office.csv"
    csv_file.write_text(
        "name,address,port,scheme,groups\n"
        "pc01,10.0.0.1,5985,http,office floor1\n"
        "pc02,10.0.0.2,,,office floor2\n"
        "kiosk,10.0.7.20,5986,https,office\n"
    )
    r = runner.invoke(app, ["inventory", "office", "-i", str(csv_file), "--limit", "pc0*,!floor2"])
    assert r.exit_code == 0, r.output
    assert "pc01  http://10.0.0.1:5985/wsman" in r.output and f"{csv_file}:2" in r.output
    assert "pc02" not in r.output and "kiosk" not in r.output and "1 PC(s)" in r.output
    r = runner.invoke(app, ["inventory", "floor1,floor2", "-i", str(csv_file)])
    assert "pc01" in r.output and "pc02  https://10.0.0.2:5986/wsman" in r.output and "2 PC(s)" in r.output

    hosts = tmp_path / "lab.txt"
    hosts.write_text("# lab PCs\nhttp://127.0.0.1:5001\nbox7:5985  # the old one\n")
    r = runner.invoke(app, ["inventory", "lab", "-i", str(hosts)])
    assert r.exit_code == 0, r.output
    assert "127.0.0.1-5001  http://127.0.0.1:5001/wsman" in r.output and f"{hosts}:2" in r.output
    assert "box7-5985" in r.output and "http://box7:5985/wsman" in r.output

    bad = tmp_path / "bad.csv"
    bad.write_text("name,port\npc01,eighty\n")
    r = runner.invoke(app, ["inventory", "pc01", "-i", str(bad)])
    assert r.exit_code == int(ExitCode.INVALID) and "bad.csv:2" in r.output, r.output
    r = runner.invoke(app, ["inventory", "office", "-i", str(csv_file), "--limit", "nothing*"])
    assert r.exit_code == int(ExitCode.INVALID) and "no PC of 3 matches" in r.output, r.output


def test_limit_narrows_a_fleet_run(tmp_path: Path) -> None:
    with start_fleet(tmp_path / "pcs", 4, kinds=("broken",)) as fleet:
        inv = fleet.write_inventory(tmp_path / "inventory.yml")
        r = runner.invoke(
            app, ["run", PLAYBOOK, "--host", "lab", "-i", str(inv), "--limit", "pc000[12]", "--dry-run"]
        )
        assert r.exit_code == int(ExitCode.PENDING), r.output
        assert "dry-run of 2 PC(s)" in r.output and "pc0003" not in r.output


def test_wbplay_lab_count_serves_many_pcs_with_their_own_state_files(tmp_path: Path) -> None:
    d = tmp_path / "labfleet"
    proc = subprocess.Popen(
        [sys.executable, "-m", "wbplay", "lab", "--count", "3", "--dir", str(d), "--latency", "0.01"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert "3 PC(s) on 127.0.0.1" in first, first
        r = runner.invoke(app, ["run", PLAYBOOK, "--host", "lab", "-i", str(d / "inventory.yml"), "--yes"])
        assert r.exit_code == 0, r.output
        for name in ("pc0001", "pc0002", "pc0003"):
            assert HostModel(read_state(d / f"{name}.yml")).service("wbengine")["start_mode"] == "Manual"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(10)


def test_a_rollback_takes_the_host_lock_too(state_file) -> None:
    pc = state_file("pc42")
    done = runner.invoke(app, ["run", PLAYBOOK, "--host", f"sim:{pc}", "--yes"])
    assert done.exit_code == 0, done.output
    run_id = done.output.split("runs/")[1].split(".jsonl")[0]
    fixed = pc.read_bytes()
    with hostlock.held(f"sim:{pc.resolve()}", "another-run"):
        back = runner.invoke(app, ["rollback", run_id, "--yes"])
        assert back.exit_code == int(ExitCode.CONNECTION), back.output
        assert "locked by run another-run" in back.output
        assert pc.read_bytes() == fixed
    assert runner.invoke(app, ["rollback", run_id, "--yes"]).exit_code == 0
