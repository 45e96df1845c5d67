"""One client connection to the lab: TLS, HTTP/1.1 keep-alive, auth and encryption, POST /wsman.

:class:`LabServer` (server.py) owns the shared state (shells, the request log,
counters, fault injection, restarts); this module turns each HTTP request into
a call of its WinRS service and the reply back into HTTP.

Windows behaviours reproduced here: 401 + ``WWW-Authenticate: Negotiate`` for
anonymous requests; the final leg of an empty-body handshake gets 200 and an
empty body; a body sealed with another connection's context gets 400; an
unencrypted SOAP body after NTLM over HTTP gets 401 unless AllowUnencrypted;
an envelope larger than MaxEnvelopeSizekb (150 KiB on Windows 7, 500 KiB
later) gets 413; WS-Man faults go out with HTTP 500.
"""

from __future__ import annotations

import base64
import contextlib
import socket
import ssl
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from wbplay.lab import encryption
from wbplay.lab.auth import ConnectionAuth, Outcome
from wbplay.lab.users import LabUser

if TYPE_CHECKING:
    from wbplay.lab.records import Interruption
    from wbplay.lab.server import LabServer

_BODY_HARD_CAP = 16 * 1024 * 1024  # beyond this the body is not even read: 413 and close


class LabHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    lab: LabServer

    def verify_request(self, request: Any, client_address: Any) -> bool:
        return self.lab._accept(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        self.lab._bump("connection_errors")
        # TLS handshakes that fail (a client without the CA) and clients that vanish are normal here;
        # anything else is a lab bug, and socketserver prints its traceback.
        if not isinstance(sys.exc_info()[1], (ssl.SSLError, ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class ConnectionHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""
    timeout = 120  # seconds an idle keep-alive connection stays open
    server: LabHTTPServer
    _interruption: Interruption | None = None

    def setup(self) -> None:
        lab = self.server.lab
        if lab._ssl_context is not None:
            self.request.settimeout(10)
            self.request = lab._ssl_context.wrap_socket(self.request, server_side=True)
        # Headers and body go out in separate writes; without NODELAY, Nagle + delayed ACK add 40 ms each.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().setup()
        self.auth: ConnectionAuth = lab._authenticator.connection()
        self.connection_id, self.boot = lab._connection_opened(self.request)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.lab._connection_closed(self.request)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the structured request log replaces http.server's access log

    def do_GET(self) -> None:
        self._respond(405, headers=[("Allow", "POST")])

    def do_POST(self) -> None:
        lab = self.server.lab
        self._interruption = lab._count_request()
        if lab._stale(self):
            lab._bump("refused")
            lab._record(self, 0)
            self._drop()
            return
        body = self._read_body()
        if body is None:
            return
        if self._interruption is not None and not self._interruption.serve:
            self._interrupt()
            return
        if body and lab._take_drop():
            lab._bump("dropped")
            lab._record(self, 0)
            self._drop()
            return
        authenticated = self._authenticate()
        if authenticated is None:
            return
        user, final = authenticated
        if not body:
            # The last leg of pywinrm's empty-body handshake (setup_encryption): 200, empty.
            lab._record(self, 200)
            self._respond(200, headers=final)
            return
        opened = self._open_body(body, final)
        if opened is None:
            return
        plain, context = opened
        encrypted = context is not None
        reply = lab._service.handle(
            plain, user, client_ip=self.client_address[0], address=lab.url, inject_fault=lab._take_failure()
        )
        request = reply.request
        action = request.action.rsplit("/", 1)[-1] if request is not None else None
        shell_id = request.shell_id if request is not None else None
        # Log (and go down) before answering: a test looking right after its response must see it.
        lab._record(self, reply.status, action=action, shell_id=shell_id, encrypted=encrypted)
        open_sockets = lab._go_down() if reply.restarts_host else []
        try:
            if context is not None:
                body = encryption.wrap(context, reply.body)
                self._respond(reply.status, body, encryption.CONTENT_TYPE, final)
            else:
                self._respond(reply.status, reply.body, "application/soap+xml;charset=UTF-8", final)
        finally:
            if reply.restarts_host:
                # Only now: the answer of host.reboot must reach the client whole, as on Windows.
                lab._close(self, open_sockets)

    # --- the steps of a POST --------------------------------------------------------------

    def _read_body(self) -> bytes | None:
        """The request body, or None after answering a request the lab will not read."""
        status = 0
        length_text = self.headers.get("Content-Length")
        if self.path.split("?", 1)[0].lower() != "/wsman":
            status = 404
        elif length_text is None or not length_text.isdigit():
            status = 411
        elif int(length_text) > _BODY_HARD_CAP:
            status = 413
        if status:
            self.close_connection = True  # the unread body would desynchronise the connection
            self.server.lab._record(self, status)
            self._respond(status)
            return None
        return self.rfile.read(int(length_text or 0))

    def _authenticate(self) -> tuple[LabUser, list[tuple[str, str]]] | None:
        """The request's user and the headers for the final auth token, or None after a 401."""
        lab = self.server.lab
        assert lab._authenticator is not None
        authorization = self.headers.get("Authorization")
        result = self.auth.authenticate(authorization)
        if result.outcome is Outcome.CONTINUE:
            token = base64.b64encode(result.token or b"").decode()
            lab._record(self, 401)
            self._respond(401, headers=[("WWW-Authenticate", f"Negotiate {token}")])
            return None
        if result.outcome is Outcome.DENIED or result.user is None:
            if authorization:
                lab._bump("auth_failures")
            lab._record(self, 401)
            self._respond(401, headers=[("WWW-Authenticate", c) for c in lab._authenticator.challenges()])
            return None
        if result.handshake_done:
            lab._bump("auth_handshakes")
        # SPNEGO ends with a mechListMIC token that pypsrp expects on the 200.
        final = (
            [("WWW-Authenticate", f"Negotiate {base64.b64encode(result.token).decode()}")]
            if result.token
            else []
        )
        return result.user, final

    def _open_body(self, body: bytes, final: list[tuple[str, str]]) -> tuple[bytes, Any] | None:
        """(plain SOAP, the sealing context or None if it came unencrypted), or None after an error reply."""
        lab = self.server.lab
        assert lab._authenticator is not None
        content_type = self.headers.get("Content-Type", "")
        context = self.auth.sealing_context
        if encryption.is_encrypted(content_type):
            try:
                if context is None:
                    raise encryption.DecryptError("an encrypted body on a connection without NTLM")
                plain = encryption.unwrap(context, body, content_type)
            except encryption.DecryptError:
                lab._record(self, 400, encrypted=True)
                self._respond(400, headers=final)
                return None
        else:
            if context is not None and not lab.config.tls and not lab.config.allow_unencrypted:
                # AllowUnencrypted=false: NTLM-authenticated SOAP over HTTP must be sealed.
                lab._record(self, 401)
                self._respond(401, headers=[("WWW-Authenticate", c) for c in lab._authenticator.challenges()])
                return None
            plain, context = body, None
        if len(plain) > lab.config.max_envelope_bytes:
            lab._record(self, 413, encrypted=context is not None)
            self._respond(413, headers=final)
            return None
        return plain, context

    # --- answering ------------------------------------------------------------------------

    def _respond(
        self,
        status: int,
        body: bytes = b"",
        content_type: str | None = None,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        if self._interruption is not None:
            self._interrupt()  # served: only the answer is lost
            return
        latency = self.server.lab.latency_s
        if latency > 0:
            time.sleep(latency)
        self.send_response(status)
        for name, value in headers or []:
            self.send_header(name, value)
        if body and content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _interrupt(self) -> None:
        """interrupt_at: once no agent command runs, call its ``then`` and close without answering."""
        lab, interruption = self.server.lab, self._interruption
        assert interruption is not None
        self._interruption = None
        lab.shells.wait_idle()
        lab._bump("interrupted")
        lab._record(self, 0)
        if interruption.then is not None:
            interruption.then()
        self._drop()

    def _drop(self) -> None:
        """Close the TCP connection without answering."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


__all__ = ["ConnectionHandler", "LabHTTPServer"]
