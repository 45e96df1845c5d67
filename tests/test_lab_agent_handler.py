"""The agent PowerShellHandler, driven over WinRM like wbplay drives a real PC.

The agent protocol and the simulator's executor are injected as small fakes
here, so these tests pin the handler's own duties: recognise the bootstrap,
insist on the shipped agent, refuse writes in read mode, serialise ops, report
changes.  The lead's integration tests cover the real protocol and executor.
"""

from __future__ import annotations

import base64
import json
import threading
from types import SimpleNamespace
from typing import Any

import pytest
from winrm.protocol import Protocol

from wbplay.lab.agent_handler import AgentHandler, encoded_command
from wbplay.lab.serve import build_lab, profile_for
from wbplay.lab.server import LabConfig, LabServer
from wbplay.lab.users import DEFAULT_USER
from wbplay.vocab.ops import Op, OpResult

BOOTSTRAP = "$s = [Console]::In.ReadToEnd(); . ([ScriptBlock]::Create($s))"
AGENT = "# the agent\r\nfunction Invoke-Op { }\r\n"
SEPARATOR = b"\n#<<<REQUEST>>>\n"


def _split(data: bytes) -> tuple[str, str]:
    agent, sep, request = data.partition(SEPARATOR)
    if not sep:
        raise ValueError("no request marker")
    return agent.decode("utf-8"), request.decode("utf-8")


def _decode(text: str) -> tuple[str, list[Op]]:
    data = json.loads(text)
    return data["mode"], [Op(o["name"], o.get("args", {})) for o in data["ops"]]


def _encode(results: list[OpResult]) -> str:
    return json.dumps(
        [{"ok": r.ok, "value": r.value, "code": r.error.code if r.error else None} for r in results]
    )


FAKE_PROTOCOL: Any = SimpleNamespace(
    BOOTSTRAP=BOOTSTRAP,
    POWERSHELL_ARGS=[
        "-NoProfile",
        "-NonInteractive",
        "-EncodedCommand",
        base64.b64encode(BOOTSTRAP.encode("utf-16-le")).decode(),
    ],
    split_stdin=_split,
    agent_script=lambda: AGENT,
    decode_request=_decode,
    encode_response=_encode,
)


class FakeModel:
    def __init__(self) -> None:
        self.services = {"wbengine": "Disabled"}
        self.calls: list[str] = []


def fake_execute(model: FakeModel, op: Op) -> OpResult:
    model.calls.append(op.name)
    if op.name == "service.get":
        return OpResult.success({"name": op.args["name"], "start_mode": model.services[op.args["name"]]})
    if op.name == "service.set_start_mode":
        model.services[op.args["name"]] = op.args["start_mode"]
        return OpResult.success()
    return OpResult.failure(87, "The parameter is incorrect.")


def stdin_for(mode: str, ops: list[dict[str, Any]], agent: str = AGENT) -> bytes:
    return agent.encode("utf-8") + SEPARATOR + json.dumps({"mode": mode, "ops": ops}).encode("utf-8")


def run_agent(lab: LabServer, stdin: bytes) -> tuple[bytes, bytes, int]:
    p = Protocol(
        lab.url, transport="ntlm", username=DEFAULT_USER.name, password=DEFAULT_USER.password, proxy=None
    )
    shell = p.open_shell(codepage=65001, noprofile=True)
    try:
        command = p.run_command(shell, "PowerShell", FAKE_PROTOCOL.POWERSHELL_ARGS, console_mode_stdin=False)
        for start in range(0, len(stdin), 100):  # several Sends, End on the last, like wbplay's transport
            p.send_command_input(shell, command, stdin[start : start + 100], end=start + 100 >= len(stdin))
        result = p.get_command_output(shell, command)
        p.cleanup_command(shell, command)
        return result
    finally:
        p.close_shell(shell)


@pytest.fixture
def model() -> FakeModel:
    return FakeModel()


def make_lab(model: FakeModel, changes: list[int]) -> LabServer:
    handler = AgentHandler(
        model, on_change=lambda: changes.append(1), protocol=FAKE_PROTOCOL, execute=fake_execute
    )
    return LabServer(LabConfig(powershell=handler))


def test_encoded_command_accepts_powershell_spellings() -> None:
    b64 = base64.b64encode("x".encode("utf-16-le")).decode()
    for flag in ("-EncodedCommand", "-encodedcommand", "-enc", "-ec", "/e"):
        assert encoded_command(["-NoProfile", flag, b64]) == "x"
    assert encoded_command(["-ExecutionPolicy", b64]) is None
    assert encoded_command(["-EncodedCommand", "%%%"]) is None


def test_read_request_runs_ops_and_changes_nothing(model: FakeModel) -> None:
    changes: list[int] = []
    with make_lab(model, changes) as lab:
        ops = [{"name": "service.get", "args": {"name": "wbengine"}}]
        stdout, stderr, rc = run_agent(lab, stdin_for("read", ops))
    assert (stderr, rc) == (b"", 0)
    assert json.loads(stdout) == [
        {"ok": True, "value": {"name": "wbengine", "start_mode": "Disabled"}, "code": None}
    ]
    assert changes == []


def test_writes_are_refused_in_read_mode(model: FakeModel) -> None:
    changes: list[int] = []
    with make_lab(model, changes) as lab:
        ops = [{"name": "service.set_start_mode", "args": {"name": "wbengine", "start_mode": "Manual"}}]
        stdout, _, rc = run_agent(lab, stdin_for("read", ops))
    assert rc == 0
    assert json.loads(stdout) == [{"ok": False, "value": None, "code": 5}]
    assert model.services["wbengine"] == "Disabled"
    assert model.calls == []
    assert changes == []


def test_write_request_applies_and_reports_the_change(model: FakeModel) -> None:
    changes: list[int] = []
    with make_lab(model, changes) as lab:
        ops = [
            {"name": "service.set_start_mode", "args": {"name": "wbengine", "start_mode": "Manual"}},
            {"name": "service.get", "args": {"name": "wbengine"}},
        ]
        stdout, _, rc = run_agent(lab, stdin_for("write", ops))
    assert rc == 0
    assert json.loads(stdout)[1]["value"]["start_mode"] == "Manual"
    assert changes == [1]


def test_a_different_agent_is_refused(model: FakeModel) -> None:
    with make_lab(model, []) as lab:
        stdout, stderr, rc = run_agent(lab, stdin_for("read", [], agent="# some other script\n"))
    assert (stdout, rc) == (b"", 1)
    assert b"not the one this wbplay ships" in stderr
    assert model.calls == []


def test_other_powershell_is_refused(model: FakeModel) -> None:
    handler = AgentHandler(model, protocol=FAKE_PROTOCOL, execute=fake_execute)
    out = handler(["-Command", "Get-Service"], b"")
    assert out.exit_code == 1
    assert "only runs the wbplay agent" in str(out.stderr)
    broken = handler(FAKE_PROTOCOL.POWERSHELL_ARGS, b"no marker")
    assert broken.exit_code == 1 and "stdin does not hold" in str(broken.stderr)


def test_ops_are_serialised_with_the_lock(model: FakeModel) -> None:
    lock = threading.Lock()
    handler = AgentHandler(model, lock=lock, protocol=FAKE_PROTOCOL, execute=fake_execute)
    with lock:
        worker = threading.Thread(
            target=handler, args=(FAKE_PROTOCOL.POWERSHELL_ARGS, stdin_for("read", [{"name": "os.info"}]))
        )
        worker.start()
        worker.join(timeout=0.2)
        assert worker.is_alive() and model.calls == []  # blocked on the held lock
    worker.join(timeout=5)
    assert model.calls == ["os.info"]


def test_build_lab_from_a_host_model(model: FakeModel) -> None:
    assert profile_for("6.1.7601") == "win7"
    assert profile_for("10.0.19045") == "default"
    host_model = SimpleNamespace(hostname="DESKTOP-7", os={"version": "10.0.19045"})
    handler = AgentHandler(host_model, protocol=FAKE_PROTOCOL, execute=fake_execute)
    with build_lab(host_model, port=0, powershell=handler) as lab:
        p = Protocol(
            lab.url, transport="ntlm", username=DEFAULT_USER.name, password=DEFAULT_USER.password, proxy=None
        )
        shell = p.open_shell()
        command = p.run_command(shell, "hostname")
        assert p.get_command_output(shell, command) == (b"DESKTOP-7\r\n", b"", 0)
    assert lab.config.profile == "default"
    assert lab.config.powershell is handler


def test_the_shipped_agent_against_the_simulated_pc42() -> None:
    """End to end with the real agent protocol and simulator (no fakes): one read batch."""
    from wbplay.agent import protocol as real_protocol
    from wbplay.sim.state import load_host_model

    changes: list[int] = []
    host_model = load_host_model("pc42")
    with build_lab(host_model, port=0, on_change=lambda: changes.append(1)) as lab:
        assert lab.config.profile == profile_for(str(host_model.os["version"]))
        p = Protocol(
            lab.url, transport="ntlm", username=DEFAULT_USER.name, password=DEFAULT_USER.password, proxy=None
        )
        shell = p.open_shell(codepage=65001, noprofile=True)
        command = p.run_command(
            shell, "powershell.exe", list(real_protocol.POWERSHELL_ARGS), console_mode_stdin=False
        )
        ops = [Op("os.info"), Op("service.get", {"name": "wbengine"})]
        p.send_command_input(shell, command, real_protocol.build_stdin(ops, mode="read"), end=True)
        stdout, stderr, rc = p.get_command_output(shell, command)
        p.cleanup_command(shell, command)
        p.close_shell(shell)
    assert rc == 0, stderr
    info, service = real_protocol.decode_response(stdout, len(ops), stderr=stderr)
    assert info.ok and info.value["hostname"] == host_model.hostname
    assert service.ok
    assert changes == []
