"""The lab's fault hooks for sweeps: interrupt_at (request lost / answer lost) and crash / revive."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import requests
from winrm.protocol import Protocol

from wbplay.lab.cmdexe import CommandOutput
from wbplay.lab.server import LabConfig, LabServer
from wbplay.lab.users import DEFAULT_USER


class SlowCounter:
    """A PowerShell handler that takes a while and counts how often it ran."""

    def __init__(self) -> None:
        self.runs = 0
        self.release = threading.Event()

    def __call__(self, argv: list[str], stdin: bytes) -> CommandOutput:
        self.release.wait(5)
        self.runs += 1
        return CommandOutput(stdout=f"run {self.runs}\r\n", exit_code=0)


@pytest.fixture
def handler() -> SlowCounter:
    return SlowCounter()


@pytest.fixture
def lab(handler: SlowCounter) -> Iterator[LabServer]:
    with LabServer(LabConfig(timeout_scale=0.02, powershell=handler)) as server:
        yield server


def protocol(lab: LabServer) -> Protocol:
    return Protocol(
        lab.url, transport="ntlm", username=DEFAULT_USER.name, password=DEFAULT_USER.password, proxy=None
    )


def powershell_with_stdin(p: Protocol, shell: str) -> str:
    command = p.run_command(shell, "powershell.exe", ["-NoProfile", "-Command", "-"])
    p.send_command_input(shell, command, b"input", end=True)  # the handler starts now
    return command


def test_request_lost_is_never_served_and_the_count_includes_auth_legs(
    lab: LabServer, handler: SlowCounter
) -> None:
    p = protocol(lab)
    shell = p.open_shell()  # 3 NTLM legs + Create
    assert lab.counters.requests == 4
    command = p.run_command(shell, "powershell.exe", ["-Command", "-"])  # 5
    lab.interrupt_at(6)  # the Send that would start the process
    handler.release.set()
    with pytest.raises(requests.exceptions.ConnectionError):
        p.send_command_input(shell, command, b"input", end=True)
    assert lab.counters.interrupted == 1
    assert lab.log[-1].status == 0
    assert lab.shells.wait_idle(1) and handler.runs == 0  # nothing ran


def test_answer_lost_serves_the_request_and_calls_then_once_nothing_runs(
    lab: LabServer, handler: SlowCounter
) -> None:
    p = protocol(lab)
    shell = p.open_shell()
    seen: list[int] = []
    lab.interrupt_at(lab.counters.requests + 2, serve=True, then=lambda: seen.append(handler.runs))
    threading.Timer(0.2, handler.release.set).start()
    with pytest.raises(requests.exceptions.ConnectionError):
        powershell_with_stdin(p, shell)  # Command, then the Send: served, its answer lost
    assert seen == [1]  # `then` ran after the process had finished, not while it ran
    assert lab.counters.interrupted == 1


def test_crash_forgets_every_shell_and_resets_connections_until_revive(
    lab: LabServer, handler: SlowCounter
) -> None:
    handler.release.set()
    p = protocol(lab)
    shell = p.open_shell()
    lab.crash()
    assert lab.restarting and lab.counters.crashes == 1
    with pytest.raises(requests.exceptions.ConnectionError):
        protocol(lab).open_shell()  # reset as soon as it is accepted
    replacement = SlowCounter()
    replacement.release.set()
    lab.revive(replacement)
    assert not lab.restarting
    fresh = protocol(lab)
    new_shell = fresh.open_shell()
    assert new_shell != shell
    assert lab.shells.open_shells() == 1  # the old shell died with the crash
    command = powershell_with_stdin(fresh, new_shell)
    assert fresh.get_command_output(new_shell, command)[0] == b"run 1\r\n"
    assert replacement.runs == 1 and handler.runs == 0  # the PC came back with the new handler
