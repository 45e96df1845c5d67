"""WS-Management / WinRS requests: the SOAP envelope's header and the body of each action.

Namespace-aware and tolerant in the ways real clients differ (pywinrm sends one
space-joined ``rsp:Arguments``, pypsrp and masterzen/winrm one element per
argument, sometimes in CDATA; ``End="true"`` vs ``End="True"``; signal codes
``terminate`` vs ``Terminate``).  What is not a valid request raises a
:class:`~wbplay.lab.wsman.faults.WsmanFault`.
"""

from __future__ import annotations

import base64
import binascii
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field

from wbplay.lab.wsman.faults import fault_invalid_xml, fault_schema
from wbplay.lab.wsman.names import NS_A, NS_RSP, NS_S, NS_W

DEFAULT_MAX_ENVELOPE_SIZE = 153600  # what pywinrm and pypsrp send


@dataclass(frozen=True)
class WsmanRequest:
    """The header fields of one request, and its body element."""

    action: str
    message_id: str
    resource_uri: str
    shell_id: str | None
    options: Mapping[str, str]
    operation_timeout_s: float | None
    max_envelope_size: int
    body: ET.Element = field(compare=False, repr=False)

    def option_bool(self, name: str, default: bool) -> bool:
        value = self.options.get(name)
        if value is None:
            return default
        return value.strip().lower() == "true"


@dataclass(frozen=True)
class ShellRequest:
    """The ``rsp:Shell`` of a Create."""

    shell_id: str | None
    input_streams: str
    output_streams: str
    idle_timeout_s: float | None
    working_directory: str | None
    environment: Mapping[str, str]


@dataclass(frozen=True)
class CommandLine:
    """The ``rsp:CommandLine`` of a Command."""

    command: str
    arguments: tuple[str, ...]
    command_id: str | None

    def joined(self) -> str:
        """The line cmd.exe sees: WinRS joins command and arguments with single spaces."""
        return " ".join((self.command, *self.arguments)) if self.arguments else self.command


@dataclass(frozen=True)
class SendChunk:
    stream: str
    command_id: str | None
    data: bytes
    end: bool


@dataclass(frozen=True)
class ReceiveRequest:
    command_id: str | None
    streams: tuple[str, ...]


@dataclass(frozen=True)
class SignalRequest:
    command_id: str | None
    code: str  # the last URI segment, lower case: "terminate", "ctrl_c", "ctrl_break"


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


_DURATION = re.compile(
    r"^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: str) -> float:
    """Seconds in an xs:duration (``PT20S``, ``PT7200.000S``, ``P0DT1H``); ValueError otherwise."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise ValueError(f"not an xs:duration: {text!r}")
    years, months, days, hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return ((years * 365 + months * 30 + days) * 24 + hours) * 3600 + minutes * 60 + seconds


def parse_request(data: bytes) -> WsmanRequest:
    """Parse a SOAP envelope; raise :class:`WsmanFault` if it is not one."""
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        # WinRM refuses DTDs; refusing them here also keeps entity expansion out of the parser.
        raise fault_invalid_xml("DTDs are not allowed")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        raise fault_invalid_xml(str(e)) from e
    if root.tag != _q(NS_S, "Envelope"):
        raise fault_invalid_xml("the root element is not a SOAP 1.2 Envelope")
    header = root.find(_q(NS_S, "Header"))
    body = root.find(_q(NS_S, "Body"))
    if header is None or body is None:
        raise fault_invalid_xml("the envelope needs a Header and a Body")

    def text(ns: str, name: str) -> str | None:
        element = header.find(_q(ns, name))
        return element.text.strip() if element is not None and element.text else None

    action = text(NS_A, "Action")
    message_id = text(NS_A, "MessageID")
    if not action or not message_id:
        raise fault_invalid_xml("a:Action and a:MessageID are required")

    shell_id = None
    for selector in header.iterfind(f"{_q(NS_W, 'SelectorSet')}/{_q(NS_W, 'Selector')}"):
        if selector.get("Name") == "ShellId":
            shell_id = (selector.text or "").strip()
    options = {
        option.get("Name", ""): (option.text or "").strip()
        for option in header.iterfind(f"{_q(NS_W, 'OptionSet')}/{_q(NS_W, 'Option')}")
    }

    timeout_text = text(NS_W, "OperationTimeout")
    operation_timeout = None
    if timeout_text is not None:
        try:
            operation_timeout = parse_duration(timeout_text)
        except ValueError as e:
            raise fault_schema("OperationTimeout") from e

    envelope_text = text(NS_W, "MaxEnvelopeSize")
    max_envelope = DEFAULT_MAX_ENVELOPE_SIZE
    if envelope_text is not None:
        if not envelope_text.isdigit():
            raise fault_schema("MaxEnvelopeSize")
        max_envelope = int(envelope_text)

    return WsmanRequest(
        action=action,
        message_id=message_id,
        resource_uri=text(NS_W, "ResourceURI") or "",
        shell_id=shell_id,
        options=options,
        operation_timeout_s=operation_timeout,
        max_envelope_size=max_envelope,
        body=body,
    )


def _child_text(parent: ET.Element, name: str) -> str | None:
    element = parent.find(_q(NS_RSP, name))
    if element is None:
        return None
    return element.text or ""


def parse_shell(request: WsmanRequest) -> ShellRequest:
    shell = request.body.find(_q(NS_RSP, "Shell"))
    if shell is None:
        raise fault_schema("Shell")
    idle_text = _child_text(shell, "IdleTimeOut")
    idle = None
    if idle_text is not None:
        try:
            idle = parse_duration(idle_text)
        except ValueError as e:
            # pywinrm passes idle_timeout through unconverted, so an int gives this fault (pywinrm#377).
            raise fault_schema("IdleTimeOut") from e
    environment: dict[str, str] = {}
    env = shell.find(_q(NS_RSP, "Environment"))
    if env is not None:
        for variable in env.iterfind(_q(NS_RSP, "Variable")):
            environment[variable.get("Name", "")] = variable.text or ""
    return ShellRequest(
        shell_id=shell.get("ShellId"),
        input_streams=(_child_text(shell, "InputStreams") or "stdin").strip(),
        output_streams=(_child_text(shell, "OutputStreams") or "stdout stderr").strip(),
        idle_timeout_s=idle,
        working_directory=_child_text(shell, "WorkingDirectory"),
        environment=environment,
    )


def parse_command_line(request: WsmanRequest) -> CommandLine:
    line = request.body.find(_q(NS_RSP, "CommandLine"))
    if line is None:
        raise fault_schema("CommandLine")
    command = _child_text(line, "Command")
    if command is None:
        raise fault_schema("Command")
    # masterzen/winrm quotes the command in the XML text; ElementTree already resolved CDATA.
    arguments = tuple(a.text or "" for a in line.iterfind(_q(NS_RSP, "Arguments")))
    return CommandLine(command=command.strip(), arguments=arguments, command_id=line.get("CommandId"))


def _is_true(value: str | None) -> bool:
    return value is not None and value.strip().lower() == "true"


def parse_send(request: WsmanRequest) -> list[SendChunk]:
    send = request.body.find(_q(NS_RSP, "Send"))
    if send is None:
        raise fault_schema("Send")
    chunks = []
    for stream in send.iterfind(_q(NS_RSP, "Stream")):
        try:
            data = base64.b64decode((stream.text or "").strip(), validate=True)
        except (binascii.Error, ValueError) as e:
            raise fault_schema("Stream") from e
        chunks.append(
            SendChunk(
                stream=stream.get("Name", "stdin"),
                command_id=stream.get("CommandId"),
                data=data,
                end=_is_true(stream.get("End")),
            )
        )
    return chunks


def parse_receive(request: WsmanRequest) -> ReceiveRequest:
    receive = request.body.find(_q(NS_RSP, "Receive"))
    if receive is None:
        raise fault_schema("Receive")
    desired = receive.find(_q(NS_RSP, "DesiredStream"))
    if desired is None:
        raise fault_schema("DesiredStream")
    return ReceiveRequest(command_id=desired.get("CommandId"), streams=tuple((desired.text or "").split()))


def parse_signal(request: WsmanRequest) -> SignalRequest:
    signal = request.body.find(_q(NS_RSP, "Signal"))
    if signal is None:
        raise fault_schema("Signal")
    code = (_child_text(signal, "Code") or "").strip()
    return SignalRequest(command_id=signal.get("CommandId"), code=code.rsplit("/", 1)[-1].lower())
