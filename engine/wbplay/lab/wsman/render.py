"""WS-Management / WinRS responses in Windows' shapes.

``a:RelatesTo`` echoes the request's MessageID verbatim (pypsrp compares the
strings); faults are rendered here too, and go out with HTTP 500 (a fault sent
with 200 is not detected by pywinrm).
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from wbplay.lab.wsman.faults import WsmanFault
from wbplay.lab.wsman.names import (
    ACTION_COMMAND,
    ACTION_CREATE,
    ACTION_DELETE,
    ACTION_FAULT,
    ACTION_RECEIVE,
    ACTION_SEND,
    ACTION_SIGNAL,
    ANONYMOUS,
    CMD_RESOURCE_URI,
    NS_A,
    NS_F,
    NS_P,
    NS_RSP,
    NS_S,
    NS_W,
    NS_WMI,
    NS_X,
    STATE_DONE,
    STATE_RUNNING,
)
from wbplay.lab.wsman.parse import WsmanRequest

_NS_DECLS = (
    f'xmlns:s="{NS_S}" xmlns:a="{NS_A}" xmlns:x="{NS_X}" xmlns:w="{NS_W}" '
    f'xmlns:rsp="{NS_RSP}" xmlns:p="{NS_P}"'
)


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
