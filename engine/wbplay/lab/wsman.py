"""WS-Management / WinRS SOAP: parse requests, render responses and faults.

Only the subset WinRS clients use is understood: Create / Command / Send /
Receive / Signal / Delete on the ``windows/shell/cmd`` resource.  Parsing is
namespace-aware and tolerant in the ways real clients differ (pywinrm sends one
space-joined ``rsp:Arguments``, pypsrp and masterzen/winrm one element per
argument, sometimes in CDATA; ``End="true"`` vs ``End="True"``; signal codes
``terminate`` vs ``Terminate``).  Responses copy Windows' shapes closely:
``a:RelatesTo`` echoes the request's MessageID verbatim (pypsrp compares the
strings), and every fault goes out with HTTP 500 (a fault sent with 200 is not
detected by pywinrm).
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from wbplay.errors import WbplayError

NS_S = "http://www.w3.org/2003/05/soap-envelope"
NS_A = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
NS_W = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
NS_P = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"
NS_RSP = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
NS_X = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
NS_F = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"
NS_WMI = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/MSFT_WmiError"

ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
CMD_RESOURCE_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"

ACTION_CREATE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
ACTION_DELETE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
ACTION_COMMAND = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command"
ACTION_SEND = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send"
ACTION_RECEIVE = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive"
ACTION_SIGNAL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal"
ACTION_FAULT = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"

STATE_DONE = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"
STATE_RUNNING = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running"

DEFAULT_MAX_ENVELOPE_SIZE = 153600  # what pywinrm and pypsrp send

# WSManFault codes (wsmerror.h) the lab emits.
CODE_OPERATION_TIMEOUT = 2150858793  # ERROR_WSMAN_OPERATION_TIMEDOUT 0x80338029
CODE_INVALID_SELECTORS = 2150858843  # shell / command not found, 0x8033805B
CODE_SCHEMA_VALIDATION = 2150858817  # ERROR_WSMAN_SCHEMA_VALIDATION_ERROR 0x80338041
CODE_ACTION_NOT_SUPPORTED = 2150858771  # ERROR_WSMAN_ACTION_NOT_SUPPORTED 0x80338013
CODE_QUOTA_MAX_SHELLS = 2150859173  # ERROR_WSMAN_QUOTA_MAX_SHELLS 0x803381A5
CODE_QUOTA_MAX_OPERATIONS = 2150859174  # ERROR_WSMAN_QUOTA_MAX_OPERATIONS 0x803381A6
CODE_INVALID_PARAMETER = 87  # ERROR_INVALID_PARAMETER, used by WinRS for bad option values
CODE_E_FAIL = 2147500037  # E_FAIL 0x80004005, the injected generic failure

_NS_DECLS = (
    f'xmlns:s="{NS_S}" xmlns:a="{NS_A}" xmlns:x="{NS_X}" xmlns:w="{NS_W}" '
    f'xmlns:rsp="{NS_RSP}" xmlns:p="{NS_P}"'
)


class WsmanFault(WbplayError):
    """A WS-Management fault the lab answers with (HTTP 500 + SOAP fault)."""

    def __init__(
        self,
        *,
        code: str,
        subcode: str,
        reason: str,
        wsman_code: int,
        message: str | None = None,
        fault_detail: str | None = None,
        wmi_error_code: int | None = None,
    ) -> None:
        self.code = code
        self.subcode = subcode
        self.reason = reason
        self.wsman_code = wsman_code
        self.message = message if message is not None else reason
        self.fault_detail = fault_detail
        self.wmi_error_code = wmi_error_code
        super().__init__(f"{subcode} ({wsman_code}): {reason}")


def fault_operation_timeout() -> WsmanFault:
    text = (
        "The WS-Management service cannot complete the operation within the time specified in "
        "OperationTimeout."
    )
    return WsmanFault(code="s:Receiver", subcode="w:TimedOut", reason=text, wsman_code=CODE_OPERATION_TIMEOUT)


def fault_unknown_shell(shell_id: str) -> WsmanFault:
    return WsmanFault(
        code="s:Sender",
        subcode="w:InvalidSelectors",
        reason="The WS-Management service cannot process the request because the request contained "
        "invalid selectors for the resource.",
        wsman_code=CODE_INVALID_SELECTORS,
        message=f"The request for the Windows Remote Shell with ShellId {shell_id} failed because the "
        "shell was not found on the server. Possible causes are: the specified ShellId is incorrect or the "
        "shell no longer exists on the server. Provide the correct ShellId or create a new shell and retry "
        "the operation.",
        fault_detail="http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/UnexpectedSelectors",
    )


def fault_unknown_command() -> WsmanFault:
    return WsmanFault(
        code="s:Sender",
        subcode="w:InvalidSelectors",
        reason="The WS-Management service cannot process the request because the request contained "
        "invalid selectors for the resource.",
        wsman_code=CODE_INVALID_SELECTORS,
        message="The Windows Remote Shell received a request to perform an operation on a command identifier "
        "that does not exist. Either the command has completed execution or the client specified an invalid "
        "command identifier.",
        fault_detail="http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/UnexpectedSelectors",
    )


def fault_schema(element: str) -> WsmanFault:
    return WsmanFault(
        code="s:Sender",
        subcode="w:SchemaValidationError",
        reason="The SOAP XML in the message does not match the corresponding XML schema definition. "
        "Change the XML and retry.",
        wsman_code=CODE_SCHEMA_VALIDATION,
        message=f"The Windows Remote Shell cannot process the request. The SOAP packet contains an element "
        f"{element} that is invalid. Retry the request with the correct XML element.",
    )


def fault_action_not_supported(action: str) -> WsmanFault:
    return WsmanFault(
        code="s:Sender",
        subcode="a:ActionNotSupported",
        reason="The WS-Management service does not support the action specified in the request.",
        wsman_code=CODE_ACTION_NOT_SUPPORTED,
        message=f"The WS-Management service does not support the action {action}.",
    )


def fault_invalid_option(name: str, value: str) -> WsmanFault:
    return WsmanFault(
        code="s:Sender",
        subcode="w:InvalidOptions",
        reason="The WS-Management service cannot process the request because an option is invalid.",
        wsman_code=CODE_INVALID_PARAMETER,
        message=f"The parameter is incorrect. (option {name}={value!r})",
    )


def fault_quota_shells(limit: int) -> WsmanFault:
    return WsmanFault(
        code="s:Receiver",
        subcode="w:QuotaLimit",
        reason="The WS-Management service cannot process the request. "
        f"This user is allowed a maximum number of {limit} concurrent shells, which has been exceeded. "
        "Close existing shells or raise the quota for this user.",
        wsman_code=CODE_QUOTA_MAX_SHELLS,
        wmi_error_code=CODE_QUOTA_MAX_SHELLS,
    )


def fault_quota_operations() -> WsmanFault:
    return WsmanFault(
        code="s:Receiver",
        subcode="w:QuotaLimit",
        reason="The WS-Management service cannot process the request. The maximum number of concurrent "
        "operations for this user has been exceeded. Close existing operations for this user, or raise the "
        "quota for this user.",
        wsman_code=CODE_QUOTA_MAX_OPERATIONS,
        wmi_error_code=CODE_QUOTA_MAX_OPERATIONS,
    )


def fault_invalid_xml(problem: str) -> WsmanFault:
    return WsmanFault(
        code="s:Sender",
        subcode="w:SchemaValidationError",
        reason="The WS-Management service cannot process the request because the XML is invalid.",
        wsman_code=CODE_SCHEMA_VALIDATION,
        message=f"The request is not a valid WS-Management envelope: {problem}",
    )


def fault_injected() -> WsmanFault:
    return WsmanFault(
        code="s:Receiver",
        subcode="w:InternalError",
        reason="The WS-Management service cannot process the request. (fault injected by wbplay lab)",
        wsman_code=CODE_E_FAIL,
    )


# --- requests ---------------------------------------------------------------------------------


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


# --- responses --------------------------------------------------------------------------------


def _envelope(action: str, relates_to: str | None, body: str) -> bytes:
    relates = f"<a:RelatesTo>{escape(relates_to)}</a:RelatesTo>" if relates_to else ""
    message_id = f"uuid:{str(uuid.uuid4()).upper()}"
    return (
        f'<s:Envelope xml:lang="en-US" {_NS_DECLS}><s:Header>'
        f"<a:Action>{escape(action)}</a:Action><a:MessageID>{message_id}</a:MessageID>"
        f"<a:To>{ANONYMOUS}</a:To>{relates}</s:Header><s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


@dataclass(frozen=True)
class ShellInfo:
    """What a Windows 2012+ CreateResponse reports in its ``rsp:Shell`` block."""

    shell_id: str
    owner: str
    client_ip: str
    idle_timeout_s: float
    input_streams: str
    output_streams: str


def render_create(request: WsmanRequest, address: str, info: ShellInfo, include_shell_block: bool) -> bytes:
    selector = f'<w:Selector Name="ShellId">{escape(info.shell_id)}</w:Selector>'
    body = (
        f"<x:ResourceCreated><a:Address>{escape(address)}</a:Address><a:ReferenceParameters>"
        f"<w:ResourceURI>{CMD_RESOURCE_URI}</w:ResourceURI><w:SelectorSet>{selector}</w:SelectorSet>"
        f"</a:ReferenceParameters></x:ResourceCreated>"
    )
    if include_shell_block:
        body += (
            f'<rsp:Shell xmlns:rsp="{NS_RSP}"><rsp:ShellId>{escape(info.shell_id)}</rsp:ShellId>'
            f"<rsp:ResourceUri>{CMD_RESOURCE_URI}</rsp:ResourceUri><rsp:Owner>{escape(info.owner)}</rsp:Owner>"
            f"<rsp:ClientIP>{escape(info.client_ip)}</rsp:ClientIP>"
            f"<rsp:IdleTimeOut>PT{info.idle_timeout_s:.3f}S</rsp:IdleTimeOut>"
            f"<rsp:InputStreams>{escape(info.input_streams)}</rsp:InputStreams>"
            f"<rsp:OutputStreams>{escape(info.output_streams)}</rsp:OutputStreams>"
            f"<rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime><rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity>"
            f"</rsp:Shell>"
        )
    return _envelope(ACTION_CREATE + "Response", request.message_id, body)


def render_command(request: WsmanRequest, command_id: str) -> bytes:
    body = f"<rsp:CommandResponse><rsp:CommandId>{escape(command_id)}</rsp:CommandId></rsp:CommandResponse>"
    return _envelope(ACTION_COMMAND + "Response", request.message_id, body)


def render_receive(
    request: WsmanRequest,
    command_id: str,
    chunks: Iterable[tuple[str, bytes]],
    done: bool,
    exit_code: int | None,
    streams: Iterable[str] = ("stdout", "stderr"),
) -> bytes:
    """A ReceiveResponse: data chunks, then (when done) empty End streams plus Done/ExitCode."""
    cid = quoteattr(command_id)
    parts = [
        f'<rsp:Stream Name="{name}" CommandId={cid}>{base64.b64encode(data).decode("ascii")}</rsp:Stream>'
        for name, data in chunks
        if data
    ]
    if done:
        parts += [f'<rsp:Stream Name="{name}" CommandId={cid} End="true"></rsp:Stream>' for name in streams]
        parts.append(
            f'<rsp:CommandState CommandId={cid} State="{STATE_DONE}">'
            f"<rsp:ExitCode>{exit_code if exit_code is not None else 0}</rsp:ExitCode></rsp:CommandState>"
        )
    else:
        parts.append(f'<rsp:CommandState CommandId={cid} State="{STATE_RUNNING}"></rsp:CommandState>')
    body = f"<rsp:ReceiveResponse>{''.join(parts)}</rsp:ReceiveResponse>"
    return _envelope(ACTION_RECEIVE + "Response", request.message_id, body)


def render_send(request: WsmanRequest) -> bytes:
    return _envelope(ACTION_SEND + "Response", request.message_id, "<rsp:SendResponse/>")


def render_signal(request: WsmanRequest) -> bytes:
    return _envelope(ACTION_SIGNAL + "Response", request.message_id, "<rsp:SignalResponse/>")


def render_delete(request: WsmanRequest) -> bytes:
    return _envelope(ACTION_DELETE + "Response", request.message_id, "")


def render_fault(fault: WsmanFault, relates_to: str | None, machine: str) -> bytes:
    detail = ""
    if fault.fault_detail:
        detail += f"<w:FaultDetail>{escape(fault.fault_detail)}</w:FaultDetail>"
    detail += (
        f'<f:WSManFault xmlns:f="{NS_F}" Code="{fault.wsman_code}" Machine={quoteattr(machine)}>'
        f"<f:Message>{escape(fault.message)}</f:Message></f:WSManFault>"
    )
    if fault.wmi_error_code is not None:
        detail += (
            f'<e:MSFT_WmiError xmlns:e="{NS_WMI}"><e:error_Code>{fault.wmi_error_code}</e:error_Code>'
            f"<e:Message>{escape(fault.reason)}</e:Message></e:MSFT_WmiError>"
        )
    body = (
        f"<s:Fault><s:Code><s:Value>{fault.code}</s:Value><s:Subcode><s:Value>{fault.subcode}</s:Value>"
        f'</s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">{escape(fault.reason)}</s:Text></s:Reason>'
        f"<s:Detail>{detail}</s:Detail></s:Fault>"
    )
    return _envelope(ACTION_FAULT, relates_to, body)
