"""A Windows PC reached over WinRM: the agent runs in one reused WinRS shell.

Why pywinrm's ``Protocol`` and not ``Session``: ``Session.run_ps`` opens and
deletes a shell (and re-authenticates) for every call, always uses codepage
437 and puts the script on cmd.exe's command line, which stops at 8191
characters.  Here:

* one shell per host object, opened on first use with ``WINRS_CODEPAGE=65001``
  and ``WINRS_NOPROFILE``, closed by :meth:`WinRMHost.close`;
* each :meth:`read` batch is ONE command and each :meth:`apply` another: the
  fixed bootstrap ``powershell.exe ... -EncodedCommand <b64>`` is the only
  thing on the command line, the request goes over stdin in ``Send`` chunks
  well under the PC's envelope limit (``MaxEnvelopeSizekb``, 150 KiB on old hosts);
* our own deadline around pywinrm's Receive loop (which retries the
  OperationTimeout fault forever): when it passes, the command gets a
  ``Signal terminate`` and the call raises :class:`~wbplay.errors.TransportError`.

Dropped connections.  NTLM authenticates a TCP connection, and over HTTP the
message bodies are sealed with that connection's keys, so a body can never be
replayed on a new connection.  When a connection drops (or the PC answers 400,
which is what Windows says to a body sealed with a lost context):

* a **read** is retried once, transparently, on a brand-new ``Protocol`` (new
  requests session, new TCP connection, new authentication) and a new shell;
* a **write** is retried only if the drop happened before any of its input was
  sent (the agent never saw the request).  Otherwise its outcome is unknown and
  :class:`WriteOutcomeUnknownError` is raised: the caller must re-read the
  state to learn whether the change happened, never blindly send it again.
  The same holds when a write's deadline passes.

The old shell of a dropped connection is abandoned, not deleted: deleting it
could kill a write that is still running there.  WinRM removes it after its
IdleTimeout.

No credential ever reaches an exception, a log line or a traceback: pywinrm's
exceptions (and the ``requests`` objects they reference, whose
``PreparedRequest`` carries the ``Authorization`` header for Basic auth) are
translated into wbplay errors *outside* the ``except`` block, so they are not
even kept as ``__context__``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from xml.etree.ElementTree import ParseError

import requests
from winrm.exceptions import (
    InvalidCredentialsError,
    WinRMError,
    WinRMOperationTimeoutError,
    WinRMTransportError,
    WSManFaultError,
)
from winrm.protocol import Protocol

from wbplay.agent.protocol import POWERSHELL_ARGS, OutputLines, build_stdin
from wbplay.errors import AuthenticationError, ConnectError, HostError, TransportError, UsageError
from wbplay.hosts.agent_runner import RawOutput, WriteOutcomeUnknownError, chunks, interpret
from wbplay.hosts.base import Host
from wbplay.hosts.credentials import Credentials, get_credentials, needs_password
from wbplay.hosts.inventory.resolve import resolve
from wbplay.hosts.target import Target
from wbplay.vocab.ops import Op, OpResult, deadline_for

__all__ = ["WinRMCounters", "WinRMHost", "WriteOutcomeUnknownError", "open_winrm_host"]

log = logging.getLogger(__name__)

T = TypeVar("T")

STDIN_CHUNK = 100_000  # bytes per Send; base64 makes it ~133 KB, under the 150 KiB envelope of old hosts
CODEPAGE_UTF8 = 65001

WSMAN_INVALID_SELECTORS = 2150858843  # the shell id is unknown: it timed out or was deleted
# ERROR_WSMAN_QUOTA_MAX_OPERATIONS: WinRS never decrements a shell's operation
# count, so a long-lived shell eventually refuses commands; Ansible opens a new one.
WSMAN_QUOTA_MAX_OPERATIONS = 0x803381A6
WSMAN_QUOTA_MAX_SHELLS = 0x803381A5

# Exceptions a pywinrm call can raise that we translate.  AssertionError and
# StopIteration are how pywinrm 0.5 reports a reply it cannot make sense of
# (RelatesTo mismatch, missing ShellId/CommandId element).
_WINRM_FAILURES = (
    requests.RequestException,
    WinRMError,
    WinRMTransportError,
    AssertionError,
    StopIteration,
    ParseError,
)


class _ConnectionLost(TransportError):
    """Internal: the TCP connection (or its security context) is gone."""


class _ShellGone(TransportError):
    """Internal: the shell expired or hit a quota; a new one may be opened."""


class _DeadlineExpired(TransportError):
    """Internal: our per-request deadline passed."""


@dataclass
class WinRMCounters:
    """What a host did on the wire, for tests and benchmarks (mutable by design)."""

    commands: int = 0  # agent runs: one per read batch, one per write
    shells_opened: int = 0
    connections: int = 0  # Protocol objects built: each is a new TCP connection + authentication
    reconnects: int = 0  # connections rebuilt after a drop
    receives: int = 0  # Receive requests, including OperationTimeout retries


@dataclass
class _Progress:
    input_started: bool = False


class WinRMHost(Host):
    """The agent on a Windows PC over WinRM (see the module docstring)."""

    def __init__(
        self,
        target: Target,
        *,
        read_only: bool,
        credentials: Credentials | None = None,
        read_deadline: float | None = None,
        write_deadline: float | None = None,
        chunk_size: int = STDIN_CHUNK,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(target.name, read_only=read_only)
        if credentials is None and needs_password(target.transport):
            credentials = get_credentials(target.name, target.username)
        self.target = target
        self._credentials = credentials
        self.read_deadline = target.read_deadline if read_deadline is None else read_deadline
        self.write_deadline = target.write_deadline if write_deadline is None else write_deadline
        self.chunk_size = chunk_size
        self._clock = clock
        self.counters = WinRMCounters()
        self._protocol: Protocol | None = None
        self._shell_id: str | None = None
        self._connected_once = False

    # -- Host contract --------------------------------------------------------------
    @property
    def identity(self) -> str:
        user = self._username
        host = f"[{self.target.address}]" if ":" in self.target.address else self.target.address
        return f"winrm://{user + '@' if user else ''}{host}:{self.target.port}"

    def open(self) -> None:
        """Connect, authenticate and open the shell now (otherwise the first call does)."""
        self._ensure_shell()

    def close(self) -> None:
        protocol, shell_id = self._protocol, self._shell_id
        self._protocol = self._shell_id = None
        if protocol is None:
            return
        if shell_id is not None:
            try:
                self._call(protocol.close_shell, shell_id, close_session=True)
            except HostError as e:  # the shell dies with its IdleTimeout anyway
                log.debug("closing the shell on %s failed: %s", self.name, e)
        protocol.transport.close_session()

    def _read(self, ops: Sequence[Op]) -> list[OpResult]:
        payload = build_stdin(list(ops), mode="read")
        raw = self._execute(payload, write=None, deadline=deadline_for(ops, self.read_deadline))
        return interpret(raw, len(ops), where=self.name)

    def _apply(self, op: Op) -> OpResult:
        payload = build_stdin([op], mode="write")
        raw = self._execute(payload, write=op, deadline=deadline_for([op], self.write_deadline))
        return interpret(raw, 1, where=self.name)[0]

    # -- counters (flat names, for benchmarks) ----------------------------------------
    @property
    def commands_run(self) -> int:
        return self.counters.commands

    @property
    def shells_opened(self) -> int:
        return self.counters.shells_opened

    # -- one agent run, with recovery ---------------------------------------------------
    def _execute(self, payload: bytes, *, write: Op | None, deadline: float) -> RawOutput:
        reconnected = reopened = False
        while True:
            progress = _Progress()
            try:
                return self._run_once(payload, deadline, progress)
            except _ShellGone as e:
                self._shell_id = None
                if write is not None and progress.input_started:
                    raise WriteOutcomeUnknownError(
                        f"the shell on {self.name} vanished while {write.name} was running ({e}); "
                        "whether the change was applied is unknown. wbplay re-reads the state to find out.",
                        op=write,
                    ) from None
                # Refused before any input went out (expired shell, quota): nothing ran,
                # so a new shell is safe, once.
                if reopened:
                    raise TransportError(f"{self.name}: {e}") from None
                reopened = True
                log.info("%s: %s; opening a new shell", self.name, e)
            except _ConnectionLost as e:
                self._drop_connection()
                if write is not None and progress.input_started:
                    raise WriteOutcomeUnknownError(
                        f"the connection to {self.name} dropped while {write.name} was being sent or run "
                        f"({e}); whether the change was applied is unknown. wbplay re-reads the state "
                        "to find out instead of sending it again.",
                        op=write,
                    ) from None
                if reconnected:
                    raise TransportError(
                        f"the connection to {self.name} ({self.target.url}) dropped again after "
                        f"reconnecting: {e}"
                    ) from None
                reconnected = True
                self.counters.reconnects += 1
                log.info("%s: connection lost (%s); reconnecting and retrying once", self.name, e)
            except _DeadlineExpired as e:
                if write is not None:
                    raise WriteOutcomeUnknownError(
                        f"{write.name} on {self.name} did not finish within {deadline:g} s ({e}); "
                        "wbplay stopped it, and whether the change was applied is unknown. "
                        "wbplay re-reads the state to find out.",
                        op=write,
                    ) from None
                raise TransportError(
                    f"reading from {self.name} did not finish within {deadline:g} s; wbplay stopped the "
                    "agent (raise read_deadline in the inventory if the PC is just slow)"
                ) from None

    def _run_once(self, payload: bytes, deadline: float, progress: _Progress) -> RawOutput:
        deadline_at = self._clock() + deadline
        protocol, shell_id = self._ensure_shell()
        command_id = self._call(
            protocol.run_command, shell_id, "powershell.exe", list(POWERSHELL_ARGS), console_mode_stdin=False
        )
        self.counters.commands += 1
        progress.input_started = True
        for chunk, last in chunks(payload, self.chunk_size):
            self._call(protocol.send_command_input, shell_id, command_id, chunk, end=last)
        raw = self._receive(protocol, shell_id, command_id, deadline_at)
        # MS-WSMV: the client signals the command once all output is in.  The
        # result is already known, so a failure here only costs the connection.
        try:
            self._call(protocol.cleanup_command, shell_id, command_id)
        except _ConnectionLost as e:
            log.debug("%s: connection lost after the command finished: %s", self.name, e)
            self._drop_connection()
        except HostError as e:
            log.debug("%s: Signal after the command failed: %s", self.name, e)
        return raw

    def _receive(self, protocol: Protocol, shell_id: str, command_id: str, deadline_at: float) -> RawOutput:
        stdout: list[bytes] = []
        stderr: list[bytes] = []
        live = OutputLines()  # slow tools' output, shown to the operator as it arrives
        while True:
            if self._clock() >= deadline_at:
                self._terminate(protocol, shell_id, command_id)
                raise _DeadlineExpired("the deadline passed")
            self.counters.receives += 1
            try:
                out, err, code, done = self._call(protocol.get_command_output_raw, shell_id, command_id)
            except WinRMOperationTimeoutError:
                continue  # no output within OperationTimeout: normal for a slow command, ask again
            stdout.append(out)
            stderr.append(err)
            for line in live.feed(out):
                self._output(line)
            if done:
                return RawOutput(b"".join(stdout), b"".join(stderr), code)

    def _terminate(self, protocol: Protocol, shell_id: str, command_id: str) -> None:
        try:
            self._call(protocol.cleanup_command, shell_id, command_id)
        except HostError as e:
            log.warning("%s: could not stop the timed-out command: %s", self.name, e)

    # -- connection and shell --------------------------------------------------------------
    @property
    def _username(self) -> str | None:
        if self._credentials is not None:
            return self._credentials.username
        return self.target.username

    def _new_protocol(self) -> Protocol:
        t = self.target
        failure: HostError
        try:
            protocol = Protocol(
                endpoint=t.url,
                transport=t.transport,  # type: ignore[arg-type]
                username=self._username,
                # The one place a password leaves its Secret wrapper.
                password=self._credentials.password.reveal() if self._credentials else None,
                server_cert_validation=t.cert_validation,  # type: ignore[arg-type]
                # None, not pywinrm's "legacy_requests": no CA bundle or proxy picked up
                # silently from REQUESTS_CA_BUNDLE / HTTPS_PROXY; the inventory says.
                ca_trust_path=t.ca_bundle,  # type: ignore[arg-type]
                proxy=None,
                cert_pem=t.cert_pem,
                cert_key_pem=t.cert_key_pem,
                read_timeout_sec=t.read_timeout,
                operation_timeout_sec=t.operation_timeout,
            )
            self.counters.connections += 1
            return protocol
        except InvalidCredentialsError as e:  # pywinrm's own argument checks (missing cert file...)
            failure = AuthenticationError(f"cannot authenticate to {t.name}: {e}")
        except (WinRMError, ValueError) as e:
            failure = ConnectError(f"cannot set up WinRM for {t.name}: {e}")
        raise failure  # outside the except block: no pywinrm exception kept as context

    def _ensure_shell(self) -> tuple[Protocol, str]:
        if self._protocol is None:
            self._protocol = self._new_protocol()
        if self._shell_id is None:
            self._shell_id = self._call(self._protocol.open_shell, codepage=CODEPAGE_UTF8, noprofile=True)
            self.counters.shells_opened += 1
            self._connected_once = True
        return self._protocol, self._shell_id

    def _drop_connection(self) -> None:
        protocol, self._protocol, self._shell_id = self._protocol, None, None
        if protocol is not None:
            protocol.transport.close_session()

    # -- error translation ------------------------------------------------------------------
    def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call pywinrm; translate its failures into wbplay errors without chaining them."""
        failure: HostError
        try:
            return fn(*args, **kwargs)
        except WinRMOperationTimeoutError:
            raise  # not a failure: the caller's Receive loop asks again
        except _WINRM_FAILURES as e:
            failure = self._translate(e)
        # Raised here, after the except block, so the pywinrm/requests exception
        # (which can reference a request holding credentials) is not kept as context.
        raise failure

    def _translate(self, e: BaseException) -> HostError:
        t, url = self.target, self.target.url
        if isinstance(e, InvalidCredentialsError):
            source = f" (password from {self._credentials.source})" if self._credentials else ""
            return AuthenticationError(
                f"the host rejected the credentials for user {self._username or '(none)'} at {url}{source}; "
                "check the user name (DOMAIN\\user or .\\user for a local account), the password, and that "
                f"the account may use WinRM ({t.transport} authentication)"
            )
        if isinstance(e, requests.exceptions.SSLError):
            return ConnectError(
                f"certificate validation failed for {url}: {_ssl_reason(e)}. Give the CA that signed "
                "the PC's WinRM certificate with `ca_bundle: /path/to/ca.pem` in the inventory; only on a "
                "network you trust, skip the check with --insecure-skip-tls-verify (or cert_validation: "
                "ignore)"
            )
        if isinstance(e, requests.exceptions.ConnectTimeout):
            return ConnectError(
                f"no answer from {url} within {t.read_timeout} s: check the address, that WinRM listens on "
                f"port {t.port} (winrm quickconfig{' -transport:https' if t.scheme == 'https' else ''}) "
                "and that the firewall lets it through"
            )
        if isinstance(e, requests.exceptions.ReadTimeout):
            if not self._connected_once:
                return ConnectError(
                    f"{url} accepted the connection but did not answer within {t.read_timeout} s "
                    "(read_timeout): is it a WinRM listener?"
                )
            return _ConnectionLost(f"{url} did not answer within read_timeout {t.read_timeout} s")
        if isinstance(e, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
            if not self._connected_once:
                return ConnectError(f"cannot connect to {url}: {_connect_reason(e)}")
            return _ConnectionLost(f"connection error: {_connect_reason(e)}")
        if isinstance(e, requests.RequestException):
            # e.g. a Kerberos exchange that failed (no ticket, wrong SPN).
            hint = " (Kerberos: is there a ticket? run kinit)" if "Kerberos" in type(e).__name__ else ""
            return ConnectError(f"cannot talk to {url}: {type(e).__name__}{hint}")
        if isinstance(e, WSManFaultError):
            details = ", ".join(
                f"{k} {v}"
                for k, v in (
                    ("fault", e.fault_code),
                    ("subcode", e.fault_subcode),
                    ("WSManFault", e.wsman_fault_code),
                    ("WMI error", f"0x{e.wmierror_code:08X}" if e.wmierror_code is not None else None),
                )
                if v is not None
            )
            text = f"WS-Management fault from {url}: {e.reason.strip()} ({details}; HTTP {e.code})"
            codes = {e.wsman_fault_code, e.wmierror_code}
            if WSMAN_INVALID_SELECTORS in codes or WSMAN_QUOTA_MAX_OPERATIONS in codes:
                return _ShellGone(text)
            if WSMAN_QUOTA_MAX_SHELLS in codes:
                text += (
                    f"; the account has too many WinRM shells open on {t.name} (MaxShellsPerUser): "
                    "wait for idle shells to expire, or close other WinRM sessions"
                )
            return TransportError(text)
        if isinstance(e, WinRMTransportError):
            if e.code == 413:
                return TransportError(
                    f"{url} refused a request as too large (HTTP 413: larger than its MaxEnvelopeSizekb). "
                    f"wbplay sends at most {self.chunk_size} bytes per message; if the PC's limit is lower, "
                    'raise it: winrm set winrm/config @{MaxEnvelopeSizekb="500"}'
                )
            if e.code == 400:
                # What Windows answers to a body sealed with a security context it no longer has.
                return _ConnectionLost(
                    f"{url} answered HTTP 400 (the connection's security context was lost)"
                )
            return TransportError(f"{url} answered HTTP {e.code}")
        if isinstance(e, WinRMError):
            text = str(e)
            hint = ""
            if "kerberos" in text:
                hint = " (install Kerberos support: pip install 'pywinrm[kerberos]', and kinit first)"
            elif "credssp" in text:
                hint = " (install CredSSP support: pip install 'pywinrm[credssp]')"
            return ConnectError(f"cannot use WinRM on {url}: {text}{hint}")
        # AssertionError / StopIteration / ParseError: a reply pywinrm could not read.
        return TransportError(
            f"{url} sent a WS-Management reply that could not be understood ({type(e).__name__})"
        )


def open_winrm_host(spec: str, *, read_only: bool, options: Any = None) -> WinRMHost:
    """The host factory's entry point: resolve ``spec`` to ONE target and wrap it.

    ``options`` is the factory's ``ConnectOptions`` (``inventory``,
    ``transport``, ``insecure_skip_tls_verify``).  Nothing connects yet: the
    first read (or :meth:`WinRMHost.open`) does.  Credentials are looked up
    here (environment, keyring, prompt on a terminal).
    """
    targets = resolve(
        spec,
        getattr(options, "inventory", None),
        insecure_skip_tls_verify=bool(getattr(options, "insecure_skip_tls_verify", False)),
        transport=getattr(options, "transport", None),
    )
    if len(targets) != 1:
        names = ", ".join(t.name for t in targets)
        raise UsageError(
            f"--host {spec} names {len(targets)} hosts ({names}); this command takes one host at a time"
        )
    return WinRMHost(targets[0], read_only=read_only)


def _ssl_reason(e: BaseException) -> str:
    match = re.search(r"certificate verify failed: ([^(')]+)", str(e))
    if match:
        return match.group(1).strip()
    if "hostname" in str(e).lower() and "match" in str(e).lower():
        return "the certificate's name does not match the host name"
    return "the TLS handshake failed"


def _connect_reason(e: BaseException) -> str:
    text = str(e)
    for needle, reason in (
        ("Connection refused", "connection refused (is WinRM listening on that port?)"),
        ("Name or service not known", "the host name does not resolve"),
        ("nodename nor servname", "the host name does not resolve"),
        ("getaddrinfo failed", "the host name does not resolve"),
        ("Temporary failure in name resolution", "the host name does not resolve"),
        ("No route to host", "no route to host"),
        ("Network is unreachable", "network unreachable"),
        ("RemoteDisconnected", "the server closed the connection"),
        ("Connection reset", "the connection was reset"),
        ("Connection aborted", "the connection was aborted"),
    ):
        if needle in text:
            return reason
    return type(e).__name__
