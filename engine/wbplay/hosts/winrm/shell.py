"""One connection and the WinRS shell reused on it: run the agent, feed its stdin, collect its output.

* the shell is opened on first use with ``WINRS_CODEPAGE=65001`` and
  ``WINRS_NOPROFILE``, and the agent (packed) in its environment: it travels
  once per shell, and each run's stdin holds only the request;
* each agent run is ONE command: the fixed bootstrap is the only thing on the
  command line, the payload goes over stdin in ``Send`` chunks well under the
  PC's envelope limit (``MaxEnvelopeSizekb``, 150 KiB on old hosts);
* our own deadline around pywinrm's Receive loop (which retries the
  OperationTimeout fault forever): when it passes, the command gets a
  ``Signal terminate`` and :class:`DeadlineExpired` is raised.

Every pywinrm call goes through :meth:`WinRSSession.call`, which translates
its failures (:mod:`wbplay.hosts.winrm.failures`).  What to do about a lost
connection or shell is the host's decision, not this module's.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from winrm.exceptions import WinRMOperationTimeoutError
from winrm.protocol import Protocol

from wbplay.agent.protocol import POWERSHELL_ARGS, OutputLines, packed_agent
from wbplay.errors import HostError
from wbplay.hosts.agent_runner import RawOutput, chunks
from wbplay.hosts.credentials import Credentials
from wbplay.hosts.target import Target
from wbplay.hosts.winrm.failures import WINRM_FAILURES, ConnectionLost, DeadlineExpired, translate

log = logging.getLogger(__name__)

T = TypeVar("T")

STDIN_CHUNK = 100_000  # bytes per Send; base64 makes it ~133 KB, under the 150 KiB envelope of old hosts
CODEPAGE_UTF8 = 65001


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait until the block is done, then interrupt (KeyboardInterrupt).

    For short requests whose answer must not be lost: Create (the ShellId is
    what Delete needs) and Delete itself.  Only the main thread gets signals.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []

    def hold(signum: int, frame: object) -> None:
        held.append(signum)

    previous = {sig: signal.signal(sig, hold) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if held:
        raise KeyboardInterrupt


@dataclass
class WinRMCounters:
    """What a host did on the wire, for tests and benchmarks (mutable by design)."""

    commands: int = 0  # agent runs: one per read batch, one per write
    shells_opened: int = 0
    connections: int = 0  # Protocol objects built: each is a new TCP connection + authentication
    reconnects: int = 0  # connections rebuilt after a drop
    receives: int = 0  # Receive requests, including OperationTimeout retries


@dataclass
class Progress:
    """How far one agent run got: whether any of its input went out (so the agent may have seen it)."""

    input_started: bool = False


class WinRSSession:
    """A pywinrm ``Protocol`` and its shell, (re)built on demand through ``connect``."""

    def __init__(
        self,
        target: Target,
        credentials: Credentials | None,
        *,
        connect: Callable[[], Protocol],
        counters: WinRMCounters,
        chunk_size: int,
        clock: Callable[[], float],
        on_output: Callable[[str], None],
    ) -> None:
        self.target = target
        self._credentials = credentials
        self._connect = connect
        self.counters = counters
        self.chunk_size = chunk_size
        self._clock = clock
        self._on_output = on_output
        self._protocol: Protocol | None = None
        self._shell_id: str | None = None
        self._connected_once = False
        self._interrupted = False  # a request was cut off by Ctrl-C/SIGTERM: this connection is unusable

    @property
    def name(self) -> str:
        return self.target.name

    def open(self) -> tuple[Protocol, str]:
        """The connection and shell, connecting, authenticating and opening them if needed."""
        if self._protocol is None:
            self._protocol = self._connect()
        if self._shell_id is None:
            # The agent travels here, once per shell, not with every run (agent/bootstrap.py).
            # Ctrl-C or SIGTERM waits for Create's answer: without the ShellId the shell
            # could not be deleted, and would stay open on the PC until its IdleTimeout.
            with interrupts_held():
                self._shell_id = self.call(
                    self._protocol.open_shell, codepage=CODEPAGE_UTF8, noprofile=True, env_vars=packed_agent()
                )
            self.counters.shells_opened += 1
            self._connected_once = True
        return self._protocol, self._shell_id

    def close(self) -> None:
        """Delete the open shell (Windows allows 30 per user), on a new connection if need be.

        After an interrupted request the connection's security context is gone
        (a Delete sealed with its keys is refused), so the Delete goes out on a
        new ``Protocol``: new TCP connection, new authentication.
        """
        protocol, shell_id, interrupted = self._protocol, self._shell_id, self._interrupted
        self._protocol = self._shell_id = None
        self._interrupted = False
        if protocol is None:
            return
        try:
            if shell_id is not None and (interrupted or not self._delete(protocol, shell_id)):
                self._delete_on_new_connection(shell_id)
        finally:
            protocol.transport.close_session()

    def _delete(self, protocol: Protocol, shell_id: str) -> bool:
        try:
            self.call(protocol.close_shell, shell_id, close_session=False)
        except HostError as e:
            log.debug("deleting the shell on %s failed: %s; trying a new connection", self.name, e)
            return False
        return True

    def _delete_on_new_connection(self, shell_id: str) -> None:
        try:
            fresh = self._connect()
        except HostError as e:
            log.warning("%s: could not reconnect to delete shell %s: %s", self.name, shell_id, e)
            return
        try:
            with interrupts_held():  # a second Ctrl-C must not leave this Delete half-sent
                self.call(fresh.close_shell, shell_id, close_session=False)
        except HostError as e:  # it dies with its IdleTimeout anyway
            log.warning("%s: could not delete shell %s: %s", self.name, shell_id, e)
        finally:
            fresh.transport.close_session()

    def forget_shell(self) -> None:
        """Open a new shell next time (the old one expired or hit a quota)."""
        self._shell_id = None

    def drop_connection(self) -> None:
        """Abandon the connection and its shell; the next run builds new ones."""
        protocol, self._protocol, self._shell_id = self._protocol, None, None
        if protocol is not None:
            protocol.transport.close_session()

    # -- one agent run ----------------------------------------------------------------------
    def run(self, payload: bytes, deadline: float, progress: Progress) -> RawOutput:
        """Run the agent once with ``payload`` on stdin; ``progress`` says how far it got."""
        deadline_at = self._clock() + deadline
        protocol, shell_id = self.open()
        command_id = self.call(
            protocol.run_command, shell_id, "powershell.exe", list(POWERSHELL_ARGS), console_mode_stdin=False
        )
        self.counters.commands += 1
        progress.input_started = True
        for chunk, last in chunks(payload, self.chunk_size):
            self.call(protocol.send_command_input, shell_id, command_id, chunk, end=last)
        raw = self._receive(protocol, shell_id, command_id, deadline_at)
        # MS-WSMV: the client signals the command once all output is in.  The
        # result is already known, so a failure here only costs the connection.
        try:
            self.call(protocol.cleanup_command, shell_id, command_id)
        except ConnectionLost as e:
            log.debug("%s: connection lost after the command finished: %s", self.name, e)
            self.drop_connection()
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
                raise DeadlineExpired("the deadline passed")
            self.counters.receives += 1
            try:
                out, err, code, done = self.call(protocol.get_command_output_raw, shell_id, command_id)
            except WinRMOperationTimeoutError:
                continue  # no output within OperationTimeout: normal for a slow command, ask again
            stdout.append(out)
            stderr.append(err)
            for line in live.feed(out):
                self._on_output(line)
            if done:
                return RawOutput(b"".join(stdout), b"".join(stderr), code)

    def _terminate(self, protocol: Protocol, shell_id: str, command_id: str) -> None:
        try:
            self.call(protocol.cleanup_command, shell_id, command_id)
        except HostError as e:
            log.warning("%s: could not stop the timed-out command: %s", self.name, e)

    # -- error translation ------------------------------------------------------------------
    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call pywinrm; translate its failures into wbplay errors without chaining them."""
        failure: HostError
        try:
            return fn(*args, **kwargs)
        except WinRMOperationTimeoutError:
            raise  # not a failure: the caller's Receive loop asks again
        except KeyboardInterrupt:
            self._interrupted = True  # possibly mid-request: close() deletes the shell on a new connection
            raise
        except WINRM_FAILURES as e:
            failure = translate(
                e,
                self.target,
                self._credentials,
                connected_once=self._connected_once,
                chunk_size=self.chunk_size,
            )
        # Raised here, after the except block, so the pywinrm/requests exception
        # (which can reference a request holding credentials) is not kept as context.
        raise failure
