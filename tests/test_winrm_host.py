"""WinRMHost against the lab on 127.0.0.1 (unmodified pywinrm, NTLM, a simulated PC behind it),
and LocalHost, which runs the same agent through powershell.exe."""

from __future__ import annotations

import logging
import platform
import subprocess
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from wbplay.agent.protocol import POWERSHELL_ARGS, build_stdin
from wbplay.errors import AuthenticationError, ConnectError, ReadOnlyHostError, TransportError, UsageError
from wbplay.hosts.credentials import Credentials, Secret
from wbplay.hosts.factory import ConnectOptions, open_host
from wbplay.hosts.local import LocalHost
from wbplay.hosts.target import Target
from wbplay.hosts.winrm.host import WinRMHost, WriteOutcomeUnknownError
from wbplay.lab.agent_handler import AgentHandler
from wbplay.lab.cmdexe import CommandOutput, HostIdentity
from wbplay.lab.server import LabConfig, LabServer
from wbplay.lab.users import DEFAULT_USER
from wbplay.sim.state import load_host_model
from wbplay.vocab.ops import Op

GOOD = Credentials(DEFAULT_USER.name, Secret(DEFAULT_USER.password), "test")
WRONG_PASSWORD = "Wr0ng-but-secret-!x7"

READS = [
    Op("os.info"),
    Op("service.get", {"name": "wbengine"}),
    Op("service.get", {"name": "VSS"}),
    Op("path.get", {"path": "C:\\Windows"}),
]


def start_lab(*, tls: bool = False, wrap: Callable[[Any], Any] | None = None, **config: Any) -> LabServer:
    """A lab serving the built-in pc42 (the real agent handler over the sim), on an ephemeral port."""
    model = load_host_model("pc42")
    handler: Any = AgentHandler(model)
    lab = LabServer(
        LabConfig(
            host=HostIdentity(str(model.hostname), str(model.os["version"])),
            tls=tls,
            profile="win7",  # pc42 is Windows 7: 150 KiB envelopes, the tightest limit
            timeout_scale=0.02,
            powershell=wrap(handler) if wrap else handler,
            **config,
        )
    )
    return lab.start()


@pytest.fixture
def lab() -> Iterator[LabServer]:
    server = start_lab()
    try:
        yield server
    finally:
        server.stop()


def target_for(lab: LabServer, **overrides: Any) -> Target:
    fields: dict[str, Any] = {
        "name": "pc42",
        "address": "127.0.0.1",
        "port": lab.port,
        "scheme": "https" if lab.config.tls else "http",
        "transport": "ntlm",
        "operation_timeout": 5,
        "read_timeout": 15,
        "read_deadline": 30.0,
        "write_deadline": 30.0,
    }
    fields.update(overrides)
    return Target(**fields)


def host_for(
    lab: LabServer,
    *,
    read_only: bool = False,
    creds: Credentials = GOOD,
    chunk_size: int = 100_000,
    **kw: Any,
) -> WinRMHost:
    return WinRMHost(target_for(lab, **kw), read_only=read_only, credentials=creds, chunk_size=chunk_size)


def actions(lab: LabServer) -> list[str | None]:
    return [r.action for r in lab.log if r.action is not None]


# -- the happy path: one shell, one command per batch ----------------------------------------


def test_many_reads_and_writes_share_one_shell(lab: LabServer):
    with host_for(lab) as host:
        for _ in range(3):
            results = host.read(READS)
            assert len(results) == len(READS)
        assert host.apply(Op("service.set_start_mode", {"name": "wbengine", "start_mode": "Manual"})).ok
        after = host.read([Op("service.get", {"name": "wbengine"})])
        assert after[0].value["start_mode"] == "Manual"
        assert host.counters.shells_opened == 1
        assert host.counters.commands == 5  # 3 read batches + 1 write + 1 read
        assert host.counters.connections == 1
    assert lab.counters.shells_created == 1
    assert lab.counters.commands == 5
    assert lab.counters.connections == 1  # one TCP connection, one NTLM handshake
    assert lab.counters.auth_handshakes == 1
    assert actions(lab)[0] == "Create" and actions(lab)[-1] == "Delete"


def test_a_read_of_n_ops_is_one_command(lab: LabServer):
    with host_for(lab) as host:
        values = host.read(READS)
        assert values[0].ok and values[0].value["hostname"].upper() == "PC42"
        assert values[1].ok and values[1].value["name"].lower() == "wbengine"
    assert actions(lab).count("Command") == 1
    assert actions(lab).count("Signal") == 1  # MS-WSMV: signal the command once its output is in


LONG_PATH = "C:\\" + "\\".join(["a-rather-long-folder-name"] * 400)
BIG_READ = [Op("path.get", {"path": f"{LONG_PATH}\\{i}"}) for i in range(10)]


def test_the_request_goes_over_stdin_not_the_command_line(lab: LabServer):
    # ~100,000 characters of arguments: far beyond cmd.exe's 8191, and beyond the
    # 150 KiB envelope of a Windows 7 PC once encoded, so it takes several Sends.
    assert sum(len(o.args["path"]) for o in BIG_READ) > 100_000
    with host_for(lab) as host:
        results = host.read(BIG_READ)
    assert [r.value["exists"] for r in results] == [False] * 10
    assert actions(lab).count("Command") == 1
    payload = len(build_stdin(BIG_READ, mode="read", with_agent=False))  # the agent is in the shell
    assert actions(lab).count("Send") == -(-payload // 100_000) >= 2  # 100,000-byte chunks
    assert 413 not in [r.status for r in lab.log]
    assert len(" ".join(POWERSHELL_ARGS)) < 8191


def test_an_envelope_over_the_pc_limit_is_a_clear_error(lab: LabServer):
    with host_for(lab, chunk_size=200_000) as host, pytest.raises(TransportError) as info:
        host.read(BIG_READ)
    assert "HTTP 413" in str(info.value) and "MaxEnvelopeSizekb" in str(info.value)


def test_read_only_host_refuses_writes_before_the_wire(lab: LabServer):
    with host_for(lab, read_only=True) as host, pytest.raises(ReadOnlyHostError):
        host.apply(Op("service.start", {"name": "wbengine"}))
    assert lab.counters.requests == 0


def test_identity_names_user_host_and_port_but_no_password(lab: LabServer):
    host = host_for(lab)
    assert host.identity == f"winrm://wbadmin@127.0.0.1:{lab.port}"
    assert DEFAULT_USER.password not in host.identity


# -- authentication and TLS ---------------------------------------------------------------


def test_wrong_password_is_an_authentication_error_that_never_shows_the_password(lab, caplog):
    creds = Credentials("wbadmin", Secret(WRONG_PASSWORD), "environment variable WBPLAY_PASSWORD")
    host = host_for(lab, creds=creds)
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthenticationError) as info:
        host.read(READS)
    exc = info.value
    assert "rejected the credentials for user wbadmin" in str(exc)
    assert "WBPLAY_PASSWORD" in str(exc)  # says where the password came from
    rendered = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    for text in (str(exc), repr(exc), rendered, caplog.text):
        assert WRONG_PASSWORD not in text
    assert exc.__context__ is None and exc.__cause__ is None  # pywinrm's exception is not kept
    assert lab.counters.auth_failures >= 1


def test_wrong_password_over_basic_https_leaks_nothing(caplog):
    # Basic puts the password in an Authorization header of every request object.
    lab = start_lab(tls=True, basic=True)
    try:
        creds = Credentials("wbadmin", Secret(WRONG_PASSWORD), "prompt")
        host = host_for(lab, creds=creds, transport="basic", ca_bundle=str(lab.ca_path))
        with caplog.at_level(logging.DEBUG), pytest.raises(AuthenticationError) as info:
            host.read(READS)
        exc = info.value
        rendered = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        for text in (str(exc), repr(exc), rendered, caplog.text):
            assert WRONG_PASSWORD not in text
        good = host_for(lab, transport="basic", ca_bundle=str(lab.ca_path))
        assert good.read(READS[:1])[0].ok
        good.close()
    finally:
        lab.stop()


def test_self_signed_certificate_fails_without_ca_and_works_with_it():
    lab = start_lab(tls=True)
    try:
        with pytest.raises(ConnectError) as info:
            host_for(lab).read(READS)
        text = str(info.value)
        assert "certificate validation failed" in text
        assert "ca_bundle" in text and "--insecure-skip-tls-verify" in text
        with host_for(lab, ca_bundle=str(lab.ca_path)) as host:
            assert host.read(READS)[0].ok
        with host_for(lab, cert_validation="ignore") as host:
            assert host.read(READS)[0].ok
    finally:
        lab.stop()


def test_connection_refused_is_a_connect_error():
    lab = start_lab()
    port = lab.port
    lab.stop()
    target = Target(
        name="pc42", address="127.0.0.1", port=port, scheme="http", operation_timeout=2, read_timeout=5
    )
    host = WinRMHost(target, read_only=True, credentials=GOOD)
    with pytest.raises(ConnectError, match="connection refused"):
        host.read(READS)


# -- recovery ---------------------------------------------------------------------------------


def test_dropped_connection_on_a_read_reconnects_and_retries_once(lab: LabServer):
    with host_for(lab) as host:
        first = host.read(READS)
        lab.drop_after(1)  # the next request with a body (the next Command) gets no answer
        again = host.read(READS)
        assert [r.value for r in again] == [r.value for r in first]
        assert host.counters.reconnects == 1
        assert host.counters.connections == 2
        assert host.counters.shells_opened == 2
    assert lab.counters.dropped == 1
    assert lab.counters.connections == 2  # a fresh TCP connection...
    assert lab.counters.auth_handshakes == 2  # ...and a fresh NTLM handshake on it
    assert 400 not in [r.status for r in lab.log]  # no body sealed with the old context was replayed


def test_dropped_connection_during_receive_of_a_read_is_retried(lab: LabServer):
    with host_for(lab) as host:
        host.read(READS)
        lab.drop_after(3)  # Command, Send, then the Receive is dropped
        assert len(host.read(READS)) == len(READS)
        assert host.counters.reconnects == 1


def test_dropped_connection_twice_gives_up(lab: LabServer):
    with host_for(lab) as host:
        host.read(READS)
        rebuild = host._new_protocol

        def rebuild_and_drop_again() -> Any:
            lab.drop_after(1)  # the retry's first request (Create) is dropped too
            return rebuild()

        host._new_protocol = rebuild_and_drop_again  # type: ignore[method-assign]
        lab.drop_after(1)
        with pytest.raises(TransportError, match="dropped again") as info:
            host.read(READS)
        assert not isinstance(info.value, WriteOutcomeUnknownError)
        assert host.counters.reconnects == 1
        assert lab.counters.dropped == 2


def test_write_dropped_after_its_input_went_out_is_outcome_unknown():
    lab = start_lab()
    try:
        with host_for(lab) as host:
            host.read(READS)
            lab.drop_after(3)  # Command and Send (End) arrive, the Receive is dropped
            op = Op("service.set_start_mode", {"name": "wbengine", "start_mode": "Manual"})
            with pytest.raises(WriteOutcomeUnknownError) as info:
                host.apply(op)
            assert isinstance(info.value, TransportError)
            assert info.value.op == op
            assert "unknown" in str(info.value)
            # It was applied; the runner finds out by reading, on a new connection.
            after = host.read([Op("service.get", {"name": "wbengine"})])
            assert after[0].value["start_mode"] == "Manual"
            assert actions(lab).count("Command") == 3  # the write was never replayed
    finally:
        lab.stop()


def test_write_dropped_before_any_input_is_retried_safely():
    lab = start_lab()
    try:
        with host_for(lab) as host:
            host.read(READS)
            lab.drop_after(1)  # the write's Command is dropped: nothing reached the agent
            result = host.apply(Op("service.set_start_mode", {"name": "wbengine", "start_mode": "Manual"}))
            assert result.ok
            assert host.counters.reconnects == 1
    finally:
        lab.stop()


def test_deadline_expiry_signals_terminate_and_raises():
    release = threading.Event()

    def slow(handler: Any) -> Any:
        def run(argv: list[str], stdin: bytes) -> CommandOutput:
            release.wait(10)
            result: CommandOutput = handler(argv, stdin)
            return result

        return run

    lab = start_lab(wrap=slow)
    try:
        host = host_for(lab, operation_timeout=1, read_timeout=5, read_deadline=0.5)
        started = time.monotonic()
        with pytest.raises(TransportError, match=r"did not finish within 0\.5 s") as info:
            host.read(READS)
        assert not isinstance(info.value, WriteOutcomeUnknownError)
        assert time.monotonic() - started < 5
        assert host.counters.receives >= 2  # OperationTimeout faults were retried until the deadline
        assert actions(lab)[-1] == "Signal"
        host.close()
        assert actions(lab)[-1] == "Delete"
    finally:
        release.set()
        lab.stop()


def test_write_deadline_expiry_is_outcome_unknown():
    release = threading.Event()

    def slow(handler: Any) -> Any:
        return lambda argv, stdin: (release.wait(10), handler(argv, stdin))[1]

    lab = start_lab(wrap=slow)
    try:
        host = host_for(lab, operation_timeout=1, read_timeout=5, write_deadline=0.3)
        with pytest.raises(WriteOutcomeUnknownError, match=r"did not finish within 0\.3 s"):
            host.apply(Op("service.start", {"name": "wbengine"}))
        host.close()
    finally:
        release.set()
        lab.stop()


def test_shell_deleted_behind_our_back_is_reopened(lab: LabServer):
    with host_for(lab) as host:
        host.read(READS)
        lab.shells.close()  # the PC dropped every shell (IdleTimeout, service restart)
        assert len(host.read(READS)) == len(READS)
        assert host.counters.shells_opened == 2
        assert host.counters.connections == 1  # same connection, new shell


def test_agent_failure_without_a_frame_quotes_clean_stderr():
    def broken(handler: Any) -> Any:
        clixml = (
            b'#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
            b'<Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T>'
            b'</TN><MS><I64 N="SourceId">1</I64><PR N="Record"><AV>Preparing modules for first use.</AV>'
            b"</PR></MS></Obj>"
            b"<S S=\"Error\">The term 'Get-Nothing' is not recognized_x000D__x000A_</S></Objs>"
        )
        return lambda argv, stdin: CommandOutput(stdout=b"", stderr=b"\xef\xbb\xbf" + clixml, exit_code=1)

    from wbplay.errors import AgentError

    lab = start_lab(wrap=broken)
    try:
        with host_for(lab) as host, pytest.raises(AgentError) as info:
            host.read(READS)
        text = str(info.value)
        assert "exited with code 1: The term" in text
        assert "Get-Nothing" in text
        assert "CLIXML" not in text and "Preparing modules" not in text
    finally:
        lab.stop()


# -- LocalHost: the same agent, run by powershell.exe on this machine ---------------------------


def test_local_host_needs_windows():
    with pytest.raises(ConnectError) as info:
        LocalHost(read_only=True, system="Linux")
    assert str(info.value) == (
        "--host local runs the agent through powershell.exe and needs Windows; this machine is Linux. "
        "Use --host sim:NAME to try a playbook on a simulated PC, or --host <pc> to reach a Windows PC "
        "over WinRM."
    )
    if platform.system() != "Windows":
        with pytest.raises(ConnectError, match=f"this machine is {platform.system()}"):
            LocalHost(read_only=True)


class FakePowerShell:
    """Stands in for subprocess.run: hands argv and stdin to the lab's agent handler over the sim."""

    def __init__(self) -> None:
        self.handler = AgentHandler(load_host_model("pc42"))
        self.calls: list[tuple[list[str], dict[str, Any]]] = []

    def __call__(self, argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        self.calls.append((argv, kwargs))
        out = self.handler(argv[1:], kwargs["input"])
        encode = lambda v: v if isinstance(v, bytes) else v.encode("utf-8")  # noqa: E731
        return subprocess.CompletedProcess(argv, out.exit_code, encode(out.stdout), encode(out.stderr))


def test_local_host_runs_the_bootstrap_with_the_request_on_stdin():
    fake = FakePowerShell()
    host = LocalHost(read_only=False, run=fake, system="Windows")
    results = host.read(BIG_READ)
    assert [r.value["exists"] for r in results] == [False] * 10
    argv, kwargs = fake.calls[0]
    assert argv == ["powershell.exe", *POWERSHELL_ARGS]
    assert kwargs["input"] == build_stdin(BIG_READ, mode="read")
    assert kwargs["capture_output"] is True and kwargs["timeout"] == host.read_deadline
    assert "a-rather-long-folder-name" not in " ".join(argv)
    assert kwargs["input"] not in " ".join(argv).encode()

    op = Op("service.set_start_mode", {"name": "wbengine", "start_mode": "Manual"})
    assert host.apply(op).ok
    argv, kwargs = fake.calls[1]
    assert argv == ["powershell.exe", *POWERSHELL_ARGS]
    assert kwargs["input"] == build_stdin([op], mode="write")
    assert host.read([Op("service.get", {"name": "wbengine"})])[0].value["start_mode"] == "Manual"
    assert host.commands_run == 3


def test_local_host_timeouts_and_missing_powershell():
    def timing_out(argv: list[str], **kwargs: Any) -> Any:
        raise subprocess.TimeoutExpired(argv, kwargs["timeout"])

    host = LocalHost(read_only=False, run=timing_out, system="Windows", read_deadline=1, write_deadline=2)
    with pytest.raises(TransportError, match="within 1 s") as info:
        host.read(READS)
    assert not isinstance(info.value, WriteOutcomeUnknownError)
    with pytest.raises(WriteOutcomeUnknownError, match="within 2 s"):
        host.apply(Op("service.start", {"name": "wbengine"}))

    def missing(argv: list[str], **kwargs: Any) -> Any:
        raise FileNotFoundError(2, "No such file", argv[0])

    with pytest.raises(ConnectError, match=r"powershell\.exe was not found"):
        LocalHost(read_only=True, run=missing, system="Windows").read(READS)


# -- from --host to a connected host -------------------------------------------------------------


def test_open_host_resolves_the_inventory_and_takes_the_password_from_the_environment(
    lab: LabServer, tmp_path, monkeypatch
):
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(
        "groups:\n"
        "  lab:\n"
        "    vars: {scheme: http, username: wbadmin}\n"
        "    hosts:\n"
        f"      pc42: {{address: 127.0.0.1, port: {lab.port}}}\n"
        f"      pc43: {{address: 127.0.0.1, port: {lab.port}}}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("WBPLAY_PASSWORD_PC42", DEFAULT_USER.password)
    host = open_host("pc42", read_only=True, options=ConnectOptions(inventory=inventory))
    try:
        assert isinstance(host, WinRMHost)
        assert host.identity == f"winrm://wbadmin@127.0.0.1:{lab.port}"
        assert host.read(READS)[0].ok
    finally:
        host.close()
    with pytest.raises(UsageError, match="names 2 hosts"):
        open_host("lab", read_only=True, options=ConnectOptions(inventory=inventory))


def test_slow_ops_get_a_long_deadline() -> None:
    from wbplay.vocab.ops import SLOW_DEADLINE_S, deadline_for

    assert deadline_for([Op("os.info")], 300.0) == 300.0
    assert deadline_for([Op("os.info"), Op("sfc.verifyonly")], 300.0) == SLOW_DEADLINE_S
    assert deadline_for([Op("chkdsk.run", {"volume": "E:", "mode": "r"})], 900.0) == SLOW_DEADLINE_S
