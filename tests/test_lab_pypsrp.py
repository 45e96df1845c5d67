"""pypsrp's WinRS client, a second independent implementation, against the lab."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pypsrp.exceptions import AuthenticationError, WSManFaultError
from pypsrp.shell import Process, SignalCode, WinRS
from pypsrp.wsman import WSMan

from wbplay.lab.cmdexe import CommandOutput
from wbplay.lab.server import LabConfig, LabServer
from wbplay.lab.users import DEFAULT_USER


def echo_stdin(argv: list[str], stdin: bytes) -> CommandOutput:
    return CommandOutput(stdout=stdin, stderr="", exit_code=len(argv))


@pytest.fixture(scope="module")
def lab() -> Iterator[LabServer]:
    with LabServer(LabConfig(timeout_scale=0.05, powershell=echo_stdin)) as server:
        yield server


def wsman(lab: LabServer, auth: str, password: str = DEFAULT_USER.password) -> WSMan:
    return WSMan(
        "127.0.0.1",
        port=lab.port,
        ssl=False,
        auth=auth,
        username=DEFAULT_USER.name,
        password=password,
        no_proxy=True,
        operation_timeout=20,
    )


@pytest.mark.parametrize("auth", ["ntlm", "negotiate"])
def test_process_over_encrypted_http(lab: LabServer, auth: str) -> None:
    with WinRS(wsman(lab, auth)) as shell:
        assert shell.owner == DEFAULT_USER.name  # read from the rsp:Shell block (2012+ profile)
        process = Process(shell, "cmd.exe", ["/c", "echo", "hi"])
        process.invoke()
        process.signal(SignalCode.TERMINATE)
    assert (process.rc, process.stdout, process.stderr) == (0, b"hi\r\n", b"")


def test_stdin_with_python_cased_end(lab: LabServer) -> None:
    with WinRS(wsman(lab, "ntlm"), codepage=65001) as shell:
        process = Process(shell, "powershell.exe", ["-NoProfile", "-Command", "-"])
        process.begin_invoke()
        process.send(b"first ", end=False)
        process.send(b"second", end=True)  # pypsrp writes End="True"
        process.end_invoke()
        process.signal(SignalCode.CTRL_C)
    assert (process.stdout, process.rc) == (b"first second", 3)


def test_unknown_command_fault(lab: LabServer) -> None:
    with WinRS(wsman(lab, "negotiate")) as shell:
        process = Process(shell, "hostname", [])
        process.begin_invoke()
        process.id = "0D0BA5E0-0000-0000-0000-000000000000"
        with pytest.raises(WSManFaultError) as caught:
            process.poll_invoke()
    assert caught.value.code == 2150858843


def test_wrong_password(lab: LabServer) -> None:
    with pytest.raises(AuthenticationError), WinRS(wsman(lab, "negotiate", password="wrong")):
        pass


def test_win7_profile_without_shell_block() -> None:
    with LabServer(LabConfig(profile="win7")) as lab, WinRS(wsman(lab, "ntlm")) as shell:
        assert shell.owner is None  # Windows 7 sends only the selector
        process = Process(shell, "ver", [])
        process.invoke()
        process.signal(SignalCode.TERMINATE)
    assert process.stdout == b"\r\nMicrosoft Windows [Version 6.1.7601]\r\n"
