"""A restart in the lab behaves like a Windows restart seen over WinRM.

The agent's answer to ``host.reboot`` arrives whole; then every connection closes, every shell is
gone, new connections are reset until the downtime has passed, and after it the PC answers with a
new boot time and the work scheduled for boot (chkdsk) done.  Loopback only, bounded waits.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from typer.testing import CliRunner
from winrm.exceptions import WSManFaultError
from winrm.protocol import Protocol

from wbplay.agent.protocol import POWERSHELL_ARGS, build_stdin
from wbplay.cli import app
from wbplay.errors import HostError
from wbplay.hosts.credentials import Credentials, Secret
from wbplay.hosts.target import Target
from wbplay.hosts.winrm.host import WinRMHost
from wbplay.lab.agent_handler import AgentHandler
from wbplay.lab.cmdexe import CommandOutput, HostIdentity
from wbplay.lab.serve import build_lab
from wbplay.lab.server import LabConfig, LabServer
from wbplay.lab.users import DEFAULT_USER
from wbplay.sim.model import HostModel
from wbplay.sim.state import load_host_model
from wbplay.vocab.ops import Op, OpResult

GOOD = Credentials(DEFAULT_USER.name, Secret(DEFAULT_USER.password), "test")
DOWNTIME_S = 0.6
WAIT_S = 15.0  # upper bound for any wait below; a healthy run needs about DOWNTIME_S


def host_for(lab: LabServer) -> WinRMHost:
    target = Target(
        name="pc42",
        address="127.0.0.1",
        port=lab.port,
        scheme="https" if lab.config.tls else "http",
        ca_bundle=str(lab.ca_path) if lab.ca_path else None,
        transport="ntlm",
        operation_timeout=5,
        read_timeout=10,
        read_deadline=20.0,
        write_deadline=20.0,
    )
    return WinRMHost(target, read_only=False, credentials=GOOD)


def boot_time(host: WinRMHost) -> str:
    result = host.read([Op("os.info", {})])[0]
    assert result.ok, result
    return str(result.value["boot_time"])


def wait_until_back(host: WinRMHost, before: str) -> tuple[str, list[HostError]]:
    """What wbplay.run.reboot does: read os.info until it answers with another boot time."""
    failures: list[HostError] = []
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            now: str | None = boot_time(host)
        except HostError as e:
            failures.append(e)
            now = None
        if now is not None and now != before:
            return now, failures
        assert time.monotonic() < deadline, f"the PC did not come back; last errors: {failures[-3:]}"
        time.sleep(0.05)


def c_volume(model: HostModel) -> dict[str, Any]:
    return next(v for v in model.state["volumes"] if v.get("letter") == "C:")


def wininit_reports(model: HostModel) -> list[dict[str, Any]]:
    return [e for e in model.state["events"] if e["provider"] == "Wininit" and e["id"] == 1001]


@pytest.fixture
def model() -> HostModel:
    return load_host_model("pc42-io-errors")


@pytest.fixture(params=[False, True], ids=["http", "https"])
def lab(model: HostModel, request: pytest.FixtureRequest) -> Iterator[LabServer]:
    server = LabServer(
        LabConfig(
            host=HostIdentity(str(model.hostname), str(model.os["version"])),
            tls=request.param,
            profile="win7",
            timeout_scale=0.05,
            reboot_downtime_s=DOWNTIME_S / 0.05,  # scaled like every lab timing
            powershell=AgentHandler(model),
        )
    ).start()
    try:
        yield server
    finally:
        server.stop()


def test_downtime_is_scaled_like_other_lab_timings() -> None:
    assert LabConfig().downtime_s == 3.0
    assert LabConfig(timeout_scale=0.1, reboot_downtime_s=5.0).downtime_s == pytest.approx(0.5)


def test_winrm_host_sees_the_pc_restart_and_come_back(lab: LabServer, model: HostModel) -> None:
    with host_for(lab) as host:
        assert host.apply(Op("chkdsk.schedule", {"volume": "C:", "mode": "r"})).ok
        before = boot_time(host)
        assert c_volume(model)["chkdsk_scheduled"] == "r"

        sent = host.apply(Op("host.reboot", {"reason": "test"}))
        assert sent.ok, sent  # the agent's answer arrived whole before the PC went away
        assert lab.counters.reboots == 1
        assert lab.restarting
        t0 = time.monotonic()

        after, failures = wait_until_back(host, before)

    assert failures, "the lab answered while it was supposed to be restarting"
    assert time.monotonic() - t0 >= DOWNTIME_S * 0.8
    assert after != before
    assert lab.counters.refused >= 1
    assert lab.counters.connections >= 2  # a new TCP connection and NTLM handshake after the restart
    # The boot ran what was scheduled: one /R pass on C:, reported by Wininit.
    volume = c_volume(model)
    assert "chkdsk_scheduled" not in volume
    assert volume["bad_sectors"] == 0 and volume["bad_sectors_mapped"] == 24
    assert len(wininit_reports(model)) == 1
    assert lab.counters.reboots == 1


@pytest.mark.parametrize(
    ("ops", "reboot_ok", "restarts"),
    [
        ([Op("host.reboot", {"reason": "test"})], True, True),
        ([Op("host.reboot", {"reason": "test"})], False, False),  # e.g. access denied: no restart
        ([Op("service.set_start_mode", {"name": "wbengine", "start_mode": "Manual"})], True, False),
    ],
)
def test_agent_handler_marks_output_of_a_successful_reboot(
    ops: list[Op], reboot_ok: bool, restarts: bool
) -> None:
    def execute(model: object, op: Op) -> OpResult:
        return OpResult.success() if reboot_ok else OpResult.failure(5, "Access is denied.")

    handler = AgentHandler(object(), execute=execute)
    output = handler(list(POWERSHELL_ARGS), build_stdin(ops, mode="write"))
    assert output.exit_code == 0, output.stderr
    assert output.restarts_host is restarts


def restarting_handler(argv: list[str], stdin: bytes) -> CommandOutput:
    return CommandOutput(stdout="scheduled: shutdown /r /t 5\r\n" * 4, exit_code=0, restarts_host=True)


def protocol(lab: LabServer) -> Protocol:
    return Protocol(
        lab.url, transport="ntlm", username=GOOD.username, password=DEFAULT_USER.password, proxy=None
    )


def test_shells_and_connections_are_gone_and_new_ones_refused_until_back() -> None:
    config = LabConfig(
        timeout_scale=0.05,
        reboot_downtime_s=DOWNTIME_S / 0.05,
        receive_chunk_bytes=16,  # the answer takes several Receives: the restart waits for the last
        powershell=restarting_handler,
    )
    with LabServer(config) as lab:
        p = protocol(lab)
        shell = p.open_shell()
        idle = p.open_shell()  # a second shell, not involved in the restart
        command = p.run_command(shell, "powershell.exe", ["-NoProfile", "-Command", "Restart-Computer"])
        out, err, code = p.get_command_output(shell, command)
        assert (out, err, code) == (b"scheduled: shutdown /r /t 5\r\n" * 4, b"", 0)
        assert [r.action for r in lab.log].count("Receive") == 8  # 116 bytes in 16-byte chunks
        assert lab.counters.reboots == 1 and lab.restarting
        assert lab.shells.open_shells() == 0

        # The old connection is closed; a new one is reset while the PC restarts.
        with pytest.raises(requests.exceptions.ConnectionError):
            p.cleanup_command(shell, command)
        with pytest.raises(requests.exceptions.ConnectionError):
            protocol(lab).open_shell()
        assert lab.counters.refused >= 1

        deadline = time.monotonic() + WAIT_S
        while lab.restarting:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        fresh = protocol(lab)
        for old in (shell, idle):
            with pytest.raises(WSManFaultError) as caught:
                fresh.run_command(old, "hostname")
            assert caught.value.wsman_fault_code == 2150858843
        new_shell = fresh.open_shell()
        assert fresh.get_command_output(new_shell, fresh.run_command(new_shell, "hostname"))[0] == b"PC42\r\n"
        fresh.close_shell(new_shell)
        assert lab.counters.reboots == 1


def test_cli_run_fix_0x8007045d_survives_three_restarts(
    monkeypatch: pytest.MonkeyPatch, wbplay_home: Path
) -> None:
    """The seed's final fix end to end: chkdsk /r at boot, restart, repeat until clean, then sfc."""
    monkeypatch.setenv("WBPLAY_USER", DEFAULT_USER.name)
    monkeypatch.setenv("WBPLAY_PASSWORD", DEFAULT_USER.password)
    model = load_host_model("pc42-io-errors")
    lab = build_lab(model, port=0, reboot_downtime_s=DOWNTIME_S).start()
    try:
        result = CliRunner().invoke(
            app,
            [
                "run",
                "fix-0x8007045d",
                "--host",
                f"http://127.0.0.1:{lab.port}",
                "--yes",
                "--var",
                "allow_chkdsk_r=true",
                "--var",
                "allow_sfc=true",
                # poll fast so three restarts take seconds; give up early if the lab never returns
                "--reboot-poll",
                "0.1",
                "--reboot-timeout",
                str(WAIT_S),
            ],
        )
    finally:
        lab.stop()
    assert result.exit_code in (0, 1), result.output  # findings remain by design (scenario: exit 1)

    journals = list((wbplay_home / "runs").glob("*.jsonl"))
    assert len(journals) == 1
    events = [json.loads(line) for line in journals[0].read_text(encoding="utf-8").splitlines()]
    names = [e["event"] for e in events]
    backs = names.count("host.back")
    assert backs >= 1, names
    assert names.count("host.reboot.retry") + names.count("host.reboot.dropped") >= 1, names

    counters = lab.counters
    assert counters.reboots >= 1 and counters.reboots == backs
    assert counters.connections > counters.reboots  # a new connection after every restart
    # Every restart ran the pass scheduled for it: Wininit reports, and C: ends clean.
    assert len(wininit_reports(model)) == counters.reboots
    volume = c_volume(model)
    assert "chkdsk_scheduled" not in volume
    assert volume["bad_sectors"] == 0 and volume["fs_errors"] == [] and not volume["dirty"]
    assert model.state["system_files"]["corrupt"] == []
