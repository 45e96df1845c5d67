"""The lab's WinRM listener: its lifecycle, request log, counters, fault injection and restarts.

:class:`LabServer` is what tests and ``wbplay lab`` use::

    with LabServer(LabConfig(timeout_scale=0.05)) as lab:
        session = winrm.Session(lab.url, auth=("wbadmin", "wbplay-lab-only"), transport="ntlm")
        session.run_cmd("hostname")

It keeps a request log of ``(action, shell_id, status, ...)`` records (never
bodies or credentials), counters, and fault injection: :meth:`LabServer.drop_after`,
:meth:`LabServer.fail_with_500`, :attr:`LabServer.latency_s` and
:meth:`LabServer.interrupt_at`, which stops the exchange at the k-th request of
any kind (auth legs included) for fault sweeps: the request is lost, or served
and only its answer lost, and a callback runs first (kill the client, crash the
lab) while no agent command is still running, so every sweep point is
deterministic.  :meth:`LabServer.crash` and :meth:`LabServer.revive` kill the
endpoint and bring it back on the same port.

Each connection is served by :class:`~wbplay.lab.connection.ConnectionHandler`
(HTTP, auth, encryption, the Windows status codes); the underscore methods of
:class:`LabServer` are the hooks it calls into the shared state.

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

import contextlib
import math
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from wbplay.errors import UsageError
from wbplay.lab.auth import Authenticator
from wbplay.lab.cmdexe import HostIdentity, PowerShellHandler
from wbplay.lab.connection import ConnectionHandler, LabHTTPServer
from wbplay.lab.records import Counters, Interruption, RequestRecord
from wbplay.lab.service import WinRSService
from wbplay.lab.shell import ShellManager, reject_powershell
from wbplay.lab.tls import LabCertificates, generate
from wbplay.lab.users import DEFAULT_USER, LabUser

PROFILES = ("default", "win7")
DEFAULT_HOST = HostIdentity("PC42", "6.1.7601")


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
        self._interruption: Interruption | None = None
        self._connections: dict[int, socket.socket] = {}
        self._next_connection = 0
        self._boot = 0  # bumped by every restart: a connection of an earlier boot is dead
        self._down_until = 0.0  # time.monotonic() before which the PC is still restarting
        self._httpd: LabHTTPServer | None = None
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
            httpd = LabHTTPServer((self.config.bind, self.config.port), ConnectionHandler)
        except OSError as e:
            self._authenticator.close()
            if self._certs is not None:
                self._certs.remove()
            raise UsageError(
                f"the lab cannot listen on {self.config.bind}:{self.config.port}: {e.strerror}"
            ) from e
        httpd.lab = self
        self._httpd = httpd
        # stop() waits for serve_forever to notice, up to one poll: 10 ms keeps the suite's hundreds
        # of lab stops quick, at a negligible cost for an idle lab.
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, name="wbplay-lab", daemon=True
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

    def interrupt_at(
        self, request: int, *, serve: bool = False, then: Callable[[], None] | None = None
    ) -> None:
        """Give no answer to the ``request``-th request (counted like ``counters.requests``).

        The lab reads the request; if ``serve`` it also serves it (a write lands) and
        waits for any agent command to finish; in any case it waits until no command
        runs, calls ``then`` (from the connection's thread: a test kills the client or
        stops the lab there) and closes the connection without a byte of answer.
        """
        with self._lock:
            self._interruption = Interruption(request, serve, then)

    def crash(self) -> None:
        """The endpoint dies (the WinRM service or the PC crashes) until :meth:`revive`.

        Every connection closes, every shell and command is forgotten, and new
        connections are reset as soon as they are accepted.  The port stays the
        lab's, so the endpoint that comes back is this one.
        """
        for sock in self._go_down(math.inf, counter="crashes"):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def revive(self, powershell: PowerShellHandler | None = None) -> None:
        """Come back after :meth:`crash`; ``powershell``: the handler of the PC as it restarted."""
        if powershell is not None:
            self.shells.powershell = powershell
        with self._lock:
            self._down_until = 0.0

    @property
    def restarting(self) -> bool:
        """True while the simulated PC is restarting and WinRM does not listen."""
        with self._lock:
            return time.monotonic() < self._down_until

    # --- internals, and the hooks connection.py calls -------------------------------------

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

    def _go_down(self, downtime_s: float | None = None, counter: str = "reboots") -> list[socket.socket]:
        """The PC starts restarting: forget every shell, refuse connections a while.

        Returns the open connections, for :meth:`_close` once the last answer is out.
        """
        with self._lock:
            self._boot += 1
            down = self.config.downtime_s if downtime_s is None else downtime_s
            self._down_until = time.monotonic() + down
            self._counters[counter] = self._counters.get(counter, 0) + 1
            open_sockets = list(self._connections.values())
        self.shells.close()
        return open_sockets

    @staticmethod
    def _close(h: ConnectionHandler, open_sockets: list[socket.socket]) -> None:
        h.close_connection = True
        for sock in open_sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _stale(self, h: ConnectionHandler) -> bool:
        """A connection from before the last restart, or one that slipped in while restarting."""
        with self._lock:
            return h.boot != self._boot or time.monotonic() < self._down_until

    def _connection_closed(self, sock: socket.socket) -> None:
        with self._lock:
            self._connections.pop(id(sock), None)

    def _record(
        self,
        handler: ConnectionHandler,
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

    def _count_request(self) -> Interruption | None:
        """Count one POST; the interruption planned for it, if any."""
        with self._lock:
            n = self._counters["requests"] = self._counters.get("requests", 0) + 1
            planned = self._interruption
            if planned is None or planned.request != n:
                return None
            self._interruption = None
            return planned

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


__all__ = ["Counters", "Interruption", "LabConfig", "LabServer", "RequestRecord"]
