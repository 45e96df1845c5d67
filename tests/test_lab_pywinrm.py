"""Unmodified pywinrm 0.5 against the lab over NTLM with HTTP message encryption, on loopback."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator

import pytest
import requests
import winrm
from winrm.exceptions import (
    InvalidCredentialsError,
    WinRMOperationTimeoutError,
    WinRMTransportError,
    WSManFaultError,
)
from winrm.protocol import Protocol

from wbplay.lab.cmdexe import CommandOutput
from wbplay.lab.server import LabConfig, LabServer
from wbplay.lab.users import DEFAULT_USER

USER, PASSWORD = DEFAULT_USER.name, DEFAULT_USER.password


@pytest.fixture
def lab() -> Iterator[LabServer]:
    with LabServer(LabConfig(timeout_scale=0.02)) as server:
        yield server


def session(lab: LabServer, password: str = PASSWORD, **kwargs: object) -> winrm.Session:
    return winrm.Session(lab.url, auth=(USER, password), transport="ntlm", proxy=None, **kwargs)


def protocol(lab: LabServer, **kwargs: object) -> Protocol:
    return Protocol(lab.url, transport="ntlm", username=USER, password=PASSWORD, proxy=None, **kwargs)


def test_run_cmd_builtins(lab: LabServer) -> None:
    s = session(lab)
    r = s.run_cmd("hostname")
    assert (r.std_out, r.std_err, r.status_code) == (b"PC42\r\n", b"", 0)
    assert s.run_cmd("whoami").std_out == b"pc42\\wbadmin\r\n"
    assert s.run_cmd("echo", ["hi"]).std_out == b"hi\r\n"
    unknown = s.run_cmd("wbadmin", ["get", "versions"])
    assert unknown.status_code == 9009
    assert unknown.std_out == b""
    assert unknown.std_err == (
        b"'wbadmin' is not recognized as an internal or external command,\r\n"
        b"operable program or batch file.\r\n"
    )


def test_domain_forms_of_the_user_name(lab: LabServer) -> None:
    for name in ("PC42\\wbadmin", ".\\WBADMIN"):
        s = winrm.Session(lab.url, auth=(name, PASSWORD), transport="ntlm", proxy=None)
        assert s.run_cmd("whoami").std_out == b"pc42\\wbadmin\r\n"


def test_wrong_password_is_rejected(lab: LabServer) -> None:
    with pytest.raises(InvalidCredentialsError):
        session(lab, password="not-the-password").run_cmd("hostname")
    with pytest.raises(InvalidCredentialsError):
        winrm.Session(lab.url, auth=("nobody", PASSWORD), transport="ntlm", proxy=None).run_cmd("hostname")
    assert lab.counters.auth_failures == 2
    assert lab.counters.shells_created == 0


def test_every_run_cmd_reauthenticates_on_a_new_connection(lab: LabServer) -> None:
    s = session(lab)
    s.run_cmd("hostname")
    s.run_cmd("hostname")
    counters = lab.counters
    assert counters.connections == 2
    assert counters.auth_handshakes == 2


@pytest.mark.parametrize(("codepage", "codec"), [(65001, "utf-8"), (932, "cp932")])
def test_codepages_round_trip_japanese(lab: LabServer, codepage: int, codec: str) -> None:
    p = protocol(lab)
    shell = p.open_shell(codepage=codepage)
    try:
        for text in ("日本語のテスト", "バックアップ"):
            command = p.run_command(shell, "echo", [text])
            out, err, rc = p.get_command_output(shell, command)
            p.cleanup_command(shell, command)
            assert (out.decode(codec), err, rc) == (text + "\r\n", b"", 0)
    finally:
        p.close_shell(shell)
    assert lab.counters.connections == 1  # one shell, several commands, one TCP connection
    assert lab.counters.shells_created == 1
    assert lab.counters.commands == 2


def test_codepage_437_turns_japanese_into_question_marks(lab: LabServer) -> None:
    assert session(lab).run_cmd("echo", ["日本語 ok"]).std_out == b"??? ok\r\n"


def test_bodies_after_auth_are_encrypted_on_the_wire(lab: LabServer) -> None:
    session(lab).run_cmd("hostname")
    soap = [r for r in lab.log if r.action is not None]
    assert [r.action for r in soap] == ["Create", "Command", "Receive", "Signal", "Delete"]
    for record in soap:
        assert record.encrypted
        assert record.content_type.startswith("multipart/encrypted;")
        assert 'protocol="application/HTTP-SPNEGO-session-encrypted"' in record.content_type
    handshake = [r.status for r in lab.log if r.action is None]
    assert handshake == [401, 401, 200]  # anonymous, NEGOTIATE -> challenge, AUTHENTICATE -> 200 empty


def test_unencrypted_soap_after_ntlm_over_http_gets_401(lab: LabServer) -> None:
    with pytest.raises(InvalidCredentialsError):
        session(lab, message_encryption="never").run_cmd("hostname")
    assert lab.counters.shells_created == 0


def test_allow_unencrypted_accepts_plain_soap_after_ntlm() -> None:
    with LabServer(LabConfig(allow_unencrypted=True)) as lab:
        assert session(lab, message_encryption="never").run_cmd("hostname").std_out == b"PC42\r\n"
        assert not any(r.encrypted for r in lab.log)


def slow_handler(argv: list[str], stdin: bytes) -> CommandOutput:
    time.sleep(0.8)
    return CommandOutput(stdout=f"slept, argv={argv}\r\n")


def test_operation_timeout_faults_and_pywinrm_retries() -> None:
    # OperationTimeout PT20S scaled by 0.01 -> 0.2 s per Receive; the handler needs 0.8 s.
    with LabServer(LabConfig(timeout_scale=0.01, powershell=slow_handler)) as lab:
        r = session(lab).run_ps("Start-Sleep 1")
        assert r.status_code == 0
        assert r.std_out.startswith(b"slept, argv=['-encodedcommand', ")
        receives = [rec.status for rec in lab.log if rec.action == "Receive"]
        assert receives.count(500) >= 2
        assert receives[-1] == 200


def test_receive_before_stdin_end_times_out() -> None:
    seen: list[bytes] = []

    def echo_stdin(argv: list[str], stdin: bytes) -> CommandOutput:
        seen.append(stdin)
        return CommandOutput(stdout=stdin)

    with LabServer(LabConfig(timeout_scale=0.01, powershell=echo_stdin)) as lab:
        p = protocol(lab)
        shell = p.open_shell(codepage=65001)
        command = p.run_command(
            shell, "powershell.exe", ["-NoProfile", "-EncodedCommand", "JABpAG4AcAB1AHQA"]
        )
        p.send_command_input(shell, command, b"part one, ", end=False)
        with pytest.raises(WinRMOperationTimeoutError):
            p.get_command_output_raw(shell, command)  # still waiting for End, as powershell on $input would
        p.send_command_input(shell, command, b"part two", end=True)
        out, _, rc = p.get_command_output(shell, command)
        p.cleanup_command(shell, command)
        p.close_shell(shell)
    assert (out, rc) == (b"part one, part two", 0)
    assert seen == [b"part one, part two"]


def test_default_powershell_handler_refuses_clearly(lab: LabServer) -> None:
    r = session(lab).run_ps("Get-Service")
    assert r.status_code == 1
    assert b"only runs the wbplay agent" in r.std_err


def test_partial_output_arrives_in_running_chunks() -> None:
    with LabServer(LabConfig(receive_chunk_bytes=16)) as lab:
        text = "0123456789" * 10
        r = session(lab).run_cmd("echo", [text])
        assert r.std_out == (text + "\r\n").encode()
        assert [rec.action for rec in lab.log].count("Receive") == 7  # 102 bytes in 16-byte chunks


def test_unknown_shell_id_is_invalid_selectors(lab: LabServer) -> None:
    p = protocol(lab)
    with pytest.raises(WSManFaultError) as caught:
        p.run_command("0D0BA5E0-0000-0000-0000-000000000000", "hostname")
    assert caught.value.wsman_fault_code == 2150858843
    assert caught.value.fault_subcode == "w:InvalidSelectors"
    assert caught.value.code == 500


def test_unknown_command_id_is_invalid_selectors(lab: LabServer) -> None:
    p = protocol(lab)
    shell = p.open_shell()
    with pytest.raises(WSManFaultError) as caught:
        p.get_command_output_raw(shell, "0D0BA5E0-0000-0000-0000-000000000000")
    assert caught.value.wsman_fault_code == 2150858843
    p.close_shell(shell)


def test_integer_idle_timeout_is_a_schema_validation_fault(lab: LabServer) -> None:
    with pytest.raises(WSManFaultError) as caught:
        protocol(lab).open_shell(idle_timeout=3600)
    assert caught.value.wsman_fault_code == 2150858817
    assert protocol(lab).open_shell(idle_timeout="PT3600S")


def test_oversized_envelope_gets_413() -> None:
    with LabServer(LabConfig(profile="win7")) as lab:
        p = protocol(lab)
        shell = p.open_shell()
        command = p.run_command(shell, "powershell", ["-NoProfile"])
        p.send_command_input(shell, command, b"x" * 60_000, end=False)  # 80 KB of base64: fine
        with pytest.raises(WinRMTransportError) as caught:
            p.send_command_input(shell, command, b"x" * 120_000, end=True)  # 160 KB > 150 KiB
        assert caught.value.code == 413
        assert lab.log[-1].status == 413


def test_cmd_line_limit_over_winrm(lab: LabServer) -> None:
    s = session(lab)
    fits = s.run_cmd("echo", ["x" * (8191 - 5)])
    assert fits.status_code == 0 and fits.std_out == b"x" * 8186 + b"\r\n"
    too_long = s.run_cmd("echo", ["x" * (8191 - 4)])
    assert (too_long.std_out, too_long.status_code) == (b"The command line is too long.\r\n", 1)
    # run_ps of a ~3,100-character script blows the limit: -encodedcommand is UTF-16LE base64.
    assert s.run_ps("Write-Output 1;" * 210).std_out == b"The command line is too long.\r\n"


def test_drop_after_breaks_the_connection_and_a_replayed_body_gets_400(lab: LabServer) -> None:
    p = protocol(lab)
    shell = p.open_shell()
    lab.drop_after(1)
    with pytest.raises(requests.exceptions.ConnectionError):
        p.run_command(shell, "hostname")
    assert lab.counters.dropped == 1
    # pywinrm re-authenticates on a new connection but replays a body sealed with the old
    # context: Windows answers 400, and so does the lab.
    with pytest.raises(WinRMTransportError) as caught:
        p.run_command(shell, "hostname")
    assert caught.value.code == 400
    # A fresh client works, and the shell survived the broken connection.
    fresh = protocol(lab)
    command = fresh.run_command(shell, "hostname")
    assert fresh.get_command_output(shell, command) == (b"PC42\r\n", b"", 0)


def test_latency_is_added_to_every_response(lab: LabServer) -> None:
    start = time.monotonic()
    session(lab).run_cmd("hostname")
    fast = time.monotonic() - start
    lab.latency_s = 0.05
    start = time.monotonic()
    session(lab).run_cmd("hostname")
    slow = time.monotonic() - start
    assert slow >= 8 * 0.05  # 3 auth legs + Create, Command, Receive, Signal, Delete
    assert slow > fast


def test_fail_with_500_injects_generic_faults(lab: LabServer) -> None:
    lab.fail_with_500(1)
    with pytest.raises(WSManFaultError) as caught:
        session(lab).run_cmd("hostname")
    assert caught.value.code == 500
    assert caught.value.fault_subcode == "w:InternalError"
    assert session(lab).run_cmd("hostname").status_code == 0


def test_shell_quota_per_user() -> None:
    assert LabConfig().max_shells_per_user == 30
    with LabServer(LabConfig(max_shells_per_user=2)) as lab:
        p = protocol(lab)
        shells = [p.open_shell(), p.open_shell()]
        with pytest.raises(WSManFaultError) as caught:
            p.open_shell()
        assert caught.value.wsman_fault_code == 2150859173
        assert caught.value.wmierror_code == 2150859173
        p.close_shell(shells[0], close_session=False)
        assert p.open_shell()


def test_operations_quota_per_shell() -> None:
    with LabServer(LabConfig(max_commands_per_shell=2)) as lab:
        p = protocol(lab)
        shell = p.open_shell()
        for _ in range(2):
            command = p.run_command(shell, "hostname")
            p.get_command_output(shell, command)
            p.cleanup_command(shell, command)
        with pytest.raises(WSManFaultError) as caught:
            p.run_command(shell, "hostname")
        assert caught.value.wmierror_code == 0x803381A6  # what Ansible catches to recreate the shell


def test_win7_profile_omits_the_shell_block_and_pywinrm_still_works() -> None:
    with LabServer(LabConfig(profile="win7")) as lab:
        assert session(lab).run_cmd("ver").std_out == b"\r\nMicrosoft Windows [Version 6.1.7601]\r\n"


def test_bom_profile_prefixes_utf8_powershell_output() -> None:
    def hello(argv: list[str], stdin: bytes) -> CommandOutput:
        return CommandOutput(stdout="hi\r\n")

    with LabServer(LabConfig(bom_at_65001=True, powershell=hello)) as lab:
        p = protocol(lab)
        shell = p.open_shell(codepage=65001)
        encoded = base64.b64encode("'hi'".encode("utf-16-le")).decode()
        command = p.run_command(shell, "powershell", ["-EncodedCommand", encoded])
        assert p.get_command_output(shell, command) == (b"\xef\xbb\xbfhi\r\n", b"", 0)


def test_idle_shells_expire(lab: LabServer) -> None:
    p = protocol(lab)
    shell = p.open_shell(idle_timeout="PT0.4S")
    assert lab.shells.open_shells() == 1
    time.sleep(0.5)
    with pytest.raises(WSManFaultError) as caught:
        p.run_command(shell, "hostname")
    assert caught.value.wsman_fault_code == 2150858843
    assert lab.shells.open_shells() == 0
