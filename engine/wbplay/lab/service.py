"""The WinRS shell service: a decrypted SOAP envelope in, a SOAP response (or fault) out.

HTTP, authentication and encryption happen around it (``server.py``); the
shells and commands live in :class:`~wbplay.lab.shell.ShellManager`.  Every
WS-Man fault becomes HTTP 500 with the SOAP fault as its body.  A Receive that
delivers the end of a process which restarts the PC says so in its
:class:`Reply`; the server restarts the lab after sending it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from wbplay.lab import wsman
from wbplay.lab.shell import ShellManager
from wbplay.lab.users import LabUser
from wbplay.lab.wsman import WsmanFault, WsmanRequest

DEFAULT_OPERATION_TIMEOUT_S = 60.0  # WinRM's default when the header is absent


@dataclass(frozen=True)
class Reply:
    """What to answer one SOAP request with."""

    status: int  # HTTP status: 200, or 500 with a fault
    body: bytes  # the SOAP response
    request: WsmanRequest | None  # the parsed request, if it parsed
    restarts_host: bool = False  # send this, then restart the PC (the agent ran host.reboot)


class WinRSService:
    """Dispatches WinRS actions (Create, Command, Send, Receive, Signal, Delete) to a ShellManager."""

    def __init__(
        self,
        shells: ShellManager,
        *,
        machine: str,
        include_shell_block: bool,
        timeout_scale: float,
        on_event: Callable[[str], None],
    ) -> None:
        self.shells = shells
        self.machine = machine
        self.include_shell_block = include_shell_block
        self.timeout_scale = timeout_scale
        self._on_event = on_event  # counter names: "shells_created", "commands", "faults"

    def handle(
        self, plain: bytes, user: LabUser, *, client_ip: str, address: str, inject_fault: bool = False
    ) -> Reply:
        try:
            request = wsman.parse_request(plain)
        except WsmanFault as fault:
            self._on_event("faults")
            return Reply(500, wsman.render_fault(fault, None, self.machine), None)
        try:
            if inject_fault:
                raise wsman.fault_injected()
            if request.action == wsman.ACTION_RECEIVE:
                return self._receive(request, user)
            return Reply(200, self._route(request, user, client_ip, address), request)
        except WsmanFault as fault:
            self._on_event("faults")
            return Reply(500, wsman.render_fault(fault, request.message_id, self.machine), request)

    def _receive(self, request: WsmanRequest, user: LabUser) -> Reply:
        receive = wsman.parse_receive(request)
        timeout = (request.operation_timeout_s or DEFAULT_OPERATION_TIMEOUT_S) * self.timeout_scale
        # Leave room for the envelope and base64's 4/3 growth inside the client's MaxEnvelopeSize.
        budget = max(1024, (request.max_envelope_size - 8192) * 3 // 4)
        result = self.shells.receive(
            user.name, request.shell_id, receive.command_id, timeout_s=timeout, max_bytes=budget
        )
        body = wsman.render_receive(
            request, (receive.command_id or "").upper(), result.chunks, result.done, result.exit_code
        )
        return Reply(200, body, request, restarts_host=result.restarts_host)

    def _route(self, request: WsmanRequest, user: LabUser, client_ip: str, address: str) -> bytes:
        action = request.action
        if action == wsman.ACTION_CREATE:
            if request.resource_uri and request.resource_uri != wsman.CMD_RESOURCE_URI:
                raise wsman.fault_action_not_supported(f"{action} on {request.resource_uri}")
            codepage_text = request.options.get("WINRS_CODEPAGE", "437")
            if not codepage_text.isdigit():
                raise wsman.fault_invalid_option("WINRS_CODEPAGE", codepage_text)
            info = self.shells.create(
                user.name,
                wsman.parse_shell(request),
                codepage=int(codepage_text),
                noprofile=request.option_bool("WINRS_NOPROFILE", False),
                client_ip=client_ip,
            )
            self._on_event("shells_created")
            return wsman.render_create(request, address, info, include_shell_block=self.include_shell_block)
        if action == wsman.ACTION_COMMAND:
            command_id = self.shells.command(
                user.name,
                request.shell_id,
                wsman.parse_command_line(request),
                skip_cmd_shell=request.option_bool("WINRS_SKIP_CMD_SHELL", False),
            )
            self._on_event("commands")
            return wsman.render_command(request, command_id)
        if action == wsman.ACTION_SEND:
            self.shells.send(user.name, request.shell_id, wsman.parse_send(request))
            return wsman.render_send(request)
        if action == wsman.ACTION_SIGNAL:
            signal = wsman.parse_signal(request)
            self.shells.signal(user.name, request.shell_id, signal.command_id, signal.code)
            return wsman.render_signal(request)
        if action == wsman.ACTION_DELETE:
            self.shells.delete(user.name, request.shell_id)
            return wsman.render_delete(request)
        raise wsman.fault_action_not_supported(action)
