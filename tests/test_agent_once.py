"""The agent travels once per shell (issue 17): packed in the shell's environment at Create,
and every run's stdin holds only the request; the lab checks that copy as the bootstrap reads it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from wbplay.agent import protocol
from wbplay.hosts.credentials import Credentials, Secret
from wbplay.hosts.target import Target
from wbplay.hosts.winrm.host import WinRMHost
from wbplay.lab.agent_handler import AgentHandler
from wbplay.lab.cmdexe import CommandOutput, HostIdentity
from wbplay.lab.server import LabConfig, LabServer
from wbplay.lab.users import DEFAULT_USER
from wbplay.sim.state import load_host_model
from wbplay.vocab.ops import Op

GOOD = Credentials(DEFAULT_USER.name, Secret(DEFAULT_USER.password), "test")


class Recording:
    """The real agent handler, remembering what each process got on stdin and in its environment."""

    takes_environment = True

    def __init__(self, handler: AgentHandler) -> None:
        self.handler = handler
        self.runs: list[tuple[bytes, dict[str, str]]] = []

    def __call__(
        self, argv: list[str], stdin: bytes, environment: Mapping[str, str] | None = None
    ) -> CommandOutput:
        self.runs.append((stdin, dict(environment or {})))
        return self.handler(argv, stdin, environment)


@pytest.fixture
def recording() -> Iterator[tuple[LabServer, Recording]]:
    model = load_host_model("pc42")
    rec = Recording(AgentHandler(model))
    lab = LabServer(
        LabConfig(
            host=HostIdentity(str(model.hostname), str(model.os["version"])), profile="win7", powershell=rec
        )
    ).start()
    try:
        yield lab, rec
    finally:
        lab.stop()


def host_for(lab: LabServer) -> WinRMHost:
    target = Target(
        name="pc42", address="127.0.0.1", port=lab.port, scheme="http", transport="ntlm",
        operation_timeout=5, read_timeout=15,
    )
    return WinRMHost(target, read_only=False, credentials=GOOD)


def test_reads_writes_and_verifies_upload_the_agent_once(recording: tuple[LabServer, Recording]) -> None:
    lab, rec = recording
    with host_for(lab) as host:
        for _ in range(3):
            assert all(r.ok for r in host.read([Op("service.get", {"name": "wbengine"}), Op("os.info")]))
        assert host.apply(Op("service.set_start_mode", {"name": "wbengine", "start_mode": "Manual"})).ok
        assert host.read([Op("service.get", {"name": "wbengine"})])[0].value["start_mode"] == "Manual"
    assert len(rec.runs) == 5 and lab.counters.shells_created == 1
    for stdin, environment in rec.runs:
        assert stdin.startswith(protocol.SEPARATOR.encode() + b"\n")  # no agent text on stdin
        assert protocol.unpack_agent(environment) == protocol.agent_script()
    agent_bytes = len(protocol.agent_script())
    create = sum(r.body_bytes for r in lab.log if r.action == "Create")
    assert create < agent_bytes  # packed: ~30 % of the agent's size, base64 included
    sends = [r.body_bytes for r in lab.log if r.action == "Send"]
    assert len(sends) == 5 and max(sends) < 10_000  # each run sends its request, never the agent


def test_a_new_shell_carries_its_own_copy(recording: tuple[LabServer, Recording]) -> None:
    lab, rec = recording
    with host_for(lab) as host:
        host.read([Op("os.info")])
        host.close()  # the next read opens a new connection and shell
        assert host.read([Op("os.info")])[0].ok
    assert lab.counters.shells_created == 2
    assert all(protocol.unpack_agent(env) == protocol.agent_script() for _, env in rec.runs)


def _run(handler: AgentHandler, environment: dict[str, str]) -> Any:
    stdin = protocol.build_stdin([Op("os.info")], mode="read", with_agent=False)
    return handler(list(protocol.POWERSHELL_ARGS), stdin, environment)


def test_the_lab_refuses_a_run_with_no_agent_anywhere() -> None:
    out = _run(AgentHandler(load_host_model("pc42")), {})
    assert out.exit_code == 1 and "no agent on stdin" in out.stderr


def test_the_lab_refuses_a_damaged_copy() -> None:
    packed = protocol.packed_agent()
    first = next(iter(packed))
    packed[first] = packed[first][:-8] + "AAAAAAAA"
    out = _run(AgentHandler(load_host_model("pc42")), packed)
    assert out.exit_code == 1 and "damaged" in out.stderr


def test_the_packed_agent_fits_windows_environment_limits() -> None:
    packed = protocol.packed_agent()
    # The names the bootstrap's loop reads, in order.
    assert list(packed) == [f"WBPLAY_AGENT_{i}" for i in range(len(packed))]
    assert all(0 < len(v) <= 8000 for v in packed.values())  # under cmd.exe's 8191 and Windows' 32767
    assert "GZipStream" in protocol.BOOTSTRAP and "WBPLAY_AGENT_" in protocol.BOOTSTRAP


def test_the_stdin_form_still_works_for_local_runs() -> None:
    # LocalHost starts a new powershell.exe per run and keeps the agent on stdin.
    stdin = protocol.build_stdin([Op("os.info")], mode="read")
    out = AgentHandler(load_host_model("pc42"))(list(protocol.POWERSHELL_ARGS), stdin)
    assert out.exit_code == 0
