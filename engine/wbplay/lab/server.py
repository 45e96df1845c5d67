"""The lab's WinRM listener: HTTP/1.1 keep-alive, POST /wsman, auth and encryption per connection.

:class:`LabServer` is what tests and ``wbplay lab`` use::

    with LabServer(LabConfig(timeout_scale=0.05)) as lab:
        session = winrm.Session(lab.url, auth=("wbadmin", "wbplay-lab-only"), transport="ntlm")
        session.run_cmd("hostname")

It keeps a request log of ``(action, shell_id, status, ...)`` records (never
bodies or credentials), counters, and fault injection: :meth:`LabServer.drop_after`,
:meth:`LabServer.fail_with_500` and :attr:`LabServer.latency_s`.

Windows behaviours reproduced here: 401 + ``WWW-Authenticate: Negotiate`` for
anonymous requests; the final leg of an empty-body handshake gets 200 and an
empty body; a body sealed with another connection's context gets 400; an
unencrypted SOAP body after NTLM over HTTP gets 401 unless AllowUnencrypted;
an envelope larger than MaxEnvelopeSizekb (150 KiB on Windows 7, 500 KiB
later) gets 413; WS-Man faults go out with HTTP 500.

Restarts.  When the agent runs ``host.reboot`` it answers normally (on Windows
it schedules ``shutdown /r /t 5`` and returns); once the Receive carrying the
end of that answer has been sent, the lab restarts: every open TCP connection
is closed (with its NTLM context), every shell and command is forgotten (an old
ShellId gets the 2150858843 fault), and for ``LabConfig.reboot_downtime_s``
(times ``timeout_scale``) every new connection is reset as soon as it is
accepted, before a byte is read.  Then connections authenticate as usual and
see the rebooted model.  A process that restarts the PC without its output
ever being fetched does not restart the lab (Windows would, 5 s later).
"""

from __future__ import annotations

import base64
import contextlib
import socket
import ssl
import struct
import sys
import threading
import time
from dataclasses import dataclass, fields, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from wbplay.errors import UsageError
from wbplay.lab import encryption
from wbplay.lab.auth import Authenticator, ConnectionAuth, Outcome
from wbplay.lab.cmdexe import HostIdentity, PowerShellHandler
from wbplay.lab.service import WinRSService
from wbplay.lab.shell import ShellManager, reject_powershell
from wbplay.lab.tls import LabCertificates, generate
from wbplay.lab.users import DEFAULT_USER, LabUser

PROFILES = ("default", "win7")
DEFAULT_HOST = HostIdentity("PC42", "6.1.7601")
_BODY_HARD_CAP = 16 * 1024 * 1024  # beyond this the body is not even read: 413 and close


@dataclass(frozen=True)
class LabConfig:
    """Everything a lab instance is built from."""

    host: HostIdentity = DEFAULT_HOST
    users: tuple[LabUser, ...] = (DEFAULT_USER,)
    profile: str = (
        "default"  # "default": Windows 2012+; "win7": 150 KiB envelopes, no rsp:Shell in CreateResponse
    )
    tls: bool = False
    basic: bool = False
    allow_unencrypted: bool = False
    timeout_scale: float = 1.0  # multiplies every OperationTimeout (tests use small values)
    max_shells_per_user: int = 30
    max_commands_per_shell: int | None = None
    receive_chunk_bytes: int | None = None  # cap output bytes per ReceiveResponse (to exercise Running)
    bom_at_65001: bool = False  # PS2 on 2008 R2 prefixes UTF-8 output with a BOM
    powershell: PowerShellHandler = reject_powershell
    bind: str = "127.0.0.1"
    port: int = 0
    reboot_downtime_s: float = 3.0  # how long the PC is away after a restart (times timeout_scale)

    @property
    def max_envelope_bytes(self) -> int:
        return (150 if self.profile == "win7" else 500) * 1024

    @property
    def downtime_s(self) -> float:
        """Seconds the lab refuses connections after a restart: ``reboot_downtime_s`` scaled."""
        return self.reboot_downtime_s * self.timeout_scale


@dataclass(frozen=True)
class RequestRecord:
    """One HTTP request as the lab saw it: no bodies, no credentials."""

    connection: int
    action: str | None  # "Create", "Command", ... or None for auth legs and unparsed bodies
    shell_id: str | None
    status: int  # 0: the lab dropped the connection instead of answering (drop_after)
    content_type: str  # of the request as it arrived on the socket
    encrypted: bool
    user: str | None


@dataclass(frozen=True)
class Counters:
    requests: int = 0
    connections: int = 0
    auth_handshakes: int = 0
    auth_failures: int = 0
    shells_created: int = 0
    commands: int = 0
    faults: int = 0
    dropped: int = 0
    connection_errors: int = 0  # failed TLS handshakes, clients that vanished mid-request
    reboots: int = 0  # restarts of the PC (the agent ran host.reboot and its answer went out)
    refused: int = 0  # connections reset, and stray requests dropped, while the PC was restarting


class _HTTPServer(ThreadingHTTPServer):
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


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""
    timeout = 120  # seconds an idle keep-alive connection stays open
    server: _HTTPServer

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
        self.server.lab._serve_post(self)

    # --- helpers used by LabServer -------------------------------------------------------------

    def _respond(
        self,
        status: int,
        body: bytes = b"",
        content_type: str | None = None,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
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

    def _drop(self) -> None:
        """Close the TCP connection without answering."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class LabServer:
    """A WinRM endpoint on loopback serving one simulated PC; a context manager."""

    def __init__(self, config: LabConfig | None = None, **overrides: Any) -> None:
        config = config or LabConfig()
        if overrides:
            config = replace(config, **overrides)
        if config.profile not in PROFILES:
            raise UsageError(f"unknown lab profile {config.profile!r}; use one of {', '.join(PROFILES)}")
        self.config = config
        self.latency_s = 0.0
        self.shells = ShellManager(
            config.host,
            powershell=config.powershell,
            max_shells_per_user=config.max_shells_per_user,
            max_commands_per_shell=config.max_commands_per_shell,
            receive_chunk_bytes=config.receive_chunk_bytes,
            bom_at_65001=config.bom_at_65001,
        )
        self._service = WinRSService(
            self.shells,
            machine=config.host.hostname,
            include_shell_block=config.profile != "win7",
            timeout_scale=config.timeout_scale,
            on_event=self._bump,
        )
        self._lock = threading.Lock()
        self._counters: dict[str, int] = {}
        self._log: list[RequestRecord] = []
        self._drop_countdown = 0
        self._fail_remaining = 0
        self._connections: dict[int, socket.socket] = {}
        self._next_connection = 0
        self._boot = 0  # bumped by every restart: a connection of an earlier boot is dead
        self._down_until = 0.0  # time.monotonic() before which the PC is still restarting
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._certs: LabCertificates | None = None
        self._ssl_context: ssl.SSLContext | None = None
        self._authenticator: Authenticator | None = None

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> LabServer:
        if self._httpd is not None:
            return self
        if self.config.tls:
            self._certs = generate(self.config.host.hostname)
            self._ssl_context = self._certs.server_context()
        self._authenticator = Authenticator(
            self.config.users,
            self.config.host.hostname,
            basic=self.config.basic,
            allow_unencrypted=self.config.allow_unencrypted,
            tls=self.config.tls,
        )
        try:
            httpd = _HTTPServer((self.config.bind, self.config.port), _Handler)
        except OSError as e:
            self._authenticator.close()
            if self._certs is not None:
                self._certs.remove()
            raise UsageError(
                f"the lab cannot listen on {self.config.bind}:{self.config.port}: {e.strerror}"
            ) from e
        httpd.lab = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="wbplay-lab", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        self.shells.close()
        with self._lock:
            open_sockets = list(self._connections.values())
        for sock in open_sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._authenticator is not None:
            self._authenticator.close()
        if self._certs is not None:
            self._certs.remove()

    def serve_until_interrupted(self) -> None:
        """Block until Ctrl-C (for the CLI), then stop."""
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(timeout=0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> LabServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what tests look at ---------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the lab is not running")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        scheme = "https" if self.config.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}/wsman"

    @property
    def ca_path(self) -> Path | None:
        """The CA bundle that validates the lab's certificate (None without TLS)."""
        return self._certs.ca_path if self._certs is not None else None

    @property
    def log(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._log)

    @property
    def counters(self) -> Counters:
        with self._lock:
            known = {f.name for f in fields(Counters)}
            return Counters(**{k: v for k, v in self._counters.items() if k in known})

    def reset_counters(self) -> None:
        with self._lock:
            self._counters.clear()
            self._log.clear()

    def drop_after(self, n: int = 1) -> None:
        """Close the connection instead of answering the n-th next request that carries a body."""
        with self._lock:
            self._drop_countdown = n

    def fail_with_500(self, n: int = 1) -> None:
        """Answer the next n authenticated SOAP requests with HTTP 500 and a generic fault."""
        with self._lock:
            self._fail_remaining = n

    @property
    def restarting(self) -> bool:
        """True while the simulated PC is restarting and WinRM does not listen."""
        with self._lock:
            return time.monotonic() < self._down_until

    # --- internals ------------------------------------------------------------------------

    def _bump(self, name: str, by: int = 1) -> None:
        with self._lock:
            self._counters[name] = self._counters.get(name, 0) + by

    def _connection_opened(self, sock: socket.socket) -> tuple[int, int]:
        """(connection number, the boot it belongs to)."""
        with self._lock:
            self._next_connection += 1
            self._connections[id(sock)] = sock
            self._counters["connections"] = self._counters.get("connections", 0) + 1
            return self._next_connection, self._boot

    def _accept(self, sock: socket.socket) -> bool:
        """Whether to serve a just-accepted connection; while restarting, reset it at once."""
        if not self.restarting:
            return True
        self._bump("refused")
        # Linger 0: close() sends a RST, as close as a listener can get to a port nobody listens on.
        # socketserver's own shutdown/close that follow are no-ops on the closed socket.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        return False

    def _go_down(self) -> list[socket.socket]:
        """The PC starts restarting: forget every shell, refuse connections a while.

        Returns the open connections, for :meth:`_close` once the last answer is out.
        """
        with self._lock:
            self._boot += 1
            self._down_until = time.monotonic() + self.config.downtime_s
            self._counters["reboots"] = self._counters.get("reboots", 0) + 1
            open_sockets = list(self._connections.values())
        self.shells.close()
        return open_sockets

    @staticmethod
    def _close(h: _Handler, open_sockets: list[socket.socket]) -> None:
        h.close_connection = True
        for sock in open_sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _stale(self, h: _Handler) -> bool:
        """A connection from before the last restart, or one that slipped in while restarting."""
        with self._lock:
            return h.boot != self._boot or time.monotonic() < self._down_until

    def _connection_closed(self, sock: socket.socket) -> None:
        with self._lock:
            self._connections.pop(id(sock), None)

    def _record(
        self,
        handler: _Handler,
        status: int,
        *,
        action: str | None = None,
        shell_id: str | None = None,
        encrypted: bool = False,
    ) -> None:
        user = handler.auth.user.name if handler.auth.user is not None else None
        record = RequestRecord(
            connection=handler.connection_id,
            action=action,
            shell_id=shell_id,
            status=status,
            content_type=handler.headers.get("Content-Type", ""),
            encrypted=encrypted,
            user=user,
        )
        with self._lock:
            self._log.append(record)

    def _take_drop(self) -> bool:
        with self._lock:
            if self._drop_countdown <= 0:
                return False
            self._drop_countdown -= 1
            return self._drop_countdown == 0

    def _take_failure(self) -> bool:
        with self._lock:
            if self._fail_remaining <= 0:
                return False
            self._fail_remaining -= 1
            return True

    def _serve_post(self, h: _Handler) -> None:
        self._bump("requests")
        if self._stale(h):
            self._bump("refused")
            self._record(h, 0)
            h._drop()
            return
        body = self._read_body(h)
        if body is None:
            return
        if body and self._take_drop():
            self._bump("dropped")
            self._record(h, 0)
            h._drop()
            return
        authenticated = self._authenticate(h)
        if authenticated is None:
            return
        user, final = authenticated
        if not body:
            # The last leg of pywinrm's empty-body handshake (setup_encryption): 200, empty.
            self._record(h, 200)
            h._respond(200, headers=final)
            return
        opened = self._open_body(h, body, final)
        if opened is None:
            return
        plain, context = opened
        encrypted = context is not None
        reply = self._service.handle(
            plain, user, client_ip=h.client_address[0], address=self.url, inject_fault=self._take_failure()
        )
        request = reply.request
        action = request.action.rsplit("/", 1)[-1] if request is not None else None
        shell_id = request.shell_id if request is not None else None
        # Log (and go down) before answering: a test looking right after its response must see it.
        self._record(h, reply.status, action=action, shell_id=shell_id, encrypted=encrypted)
        open_sockets = self._go_down() if reply.restarts_host else []
        try:
            if context is not None:
                body = encryption.wrap(context, reply.body)
                h._respond(reply.status, body, encryption.CONTENT_TYPE, final)
            else:
                h._respond(reply.status, reply.body, "application/soap+xml;charset=UTF-8", final)
        finally:
            if reply.restarts_host:
                # Only now: the answer of host.reboot must reach the client whole, as on Windows.
                self._close(h, open_sockets)

    def _read_body(self, h: _Handler) -> bytes | None:
        """The request body, or None after answering a request the lab will not read."""
        status = 0
        length_text = h.headers.get("Content-Length")
        if h.path.split("?", 1)[0].lower() != "/wsman":
            status = 404
        elif length_text is None or not length_text.isdigit():
            status = 411
        elif int(length_text) > _BODY_HARD_CAP:
            status = 413
        if status:
            h.close_connection = True  # the unread body would desynchronise the connection
            self._record(h, status)
            h._respond(status)
            return None
        return h.rfile.read(int(length_text or 0))

    def _authenticate(self, h: _Handler) -> tuple[LabUser, list[tuple[str, str]]] | None:
        """The request's user and the headers for the final auth token, or None after a 401."""
        assert self._authenticator is not None
        authorization = h.headers.get("Authorization")
        result = h.auth.authenticate(authorization)
        if result.outcome is Outcome.CONTINUE:
            token = base64.b64encode(result.token or b"").decode()
            self._record(h, 401)
            h._respond(401, headers=[("WWW-Authenticate", f"Negotiate {token}")])
            return None
        if result.outcome is Outcome.DENIED or result.user is None:
            if authorization:
                self._bump("auth_failures")
            self._record(h, 401)
            h._respond(401, headers=[("WWW-Authenticate", c) for c in self._authenticator.challenges()])
            return None
        if result.handshake_done:
            self._bump("auth_handshakes")
        # SPNEGO ends with a mechListMIC token that pypsrp expects on the 200.
        final = (
            [("WWW-Authenticate", f"Negotiate {base64.b64encode(result.token).decode()}")]
            if result.token
            else []
        )
        return result.user, final

    def _open_body(self, h: _Handler, body: bytes, final: list[tuple[str, str]]) -> tuple[bytes, Any] | None:
        """(plain SOAP, the sealing context or None if it came unencrypted), or None after an error reply."""
        assert self._authenticator is not None
        content_type = h.headers.get("Content-Type", "")
        context = h.auth.sealing_context
        if encryption.is_encrypted(content_type):
            try:
                if context is None:
                    raise encryption.DecryptError("an encrypted body on a connection without NTLM")
                plain = encryption.unwrap(context, body, content_type)
            except encryption.DecryptError:
                self._record(h, 400, encrypted=True)
                h._respond(400, headers=final)
                return None
        else:
            if context is not None and not self.config.tls and not self.config.allow_unencrypted:
                # AllowUnencrypted=false: NTLM-authenticated SOAP over HTTP must be sealed.
                self._record(h, 401)
                h._respond(401, headers=[("WWW-Authenticate", c) for c in self._authenticator.challenges()])
                return None
            plain, context = body, None
        if len(plain) > self.config.max_envelope_bytes:
            self._record(h, 413, encrypted=context is not None)
            h._respond(413, headers=final)
            return None
        return plain, context


__all__ = ["Counters", "LabConfig", "LabServer", "RequestRecord"]
