"""A Windows PC reached over WinRM: ops become agent runs in one reused WinRS shell.

Each :meth:`read` batch is ONE agent run and each :meth:`apply` another
(:mod:`wbplay.hosts.winrm.shell` runs them).  This module decides what a
failure on the way means.

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
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from winrm.protocol import Protocol

from wbplay.agent.protocol import build_stdin
from wbplay.errors import TransportError, UsageError
from wbplay.hosts.agent_runner import RawOutput, WriteOutcomeUnknownError, interpret
from wbplay.hosts.base import Host
from wbplay.hosts.credentials import Credentials, get_credentials, needs_password
from wbplay.hosts.inventory.resolve import resolve
from wbplay.hosts.target import Target
from wbplay.hosts.winrm.connection import new_protocol, username_for
from wbplay.hosts.winrm.failures import ConnectionLost, DeadlineExpired, ShellGone
from wbplay.hosts.winrm.shell import STDIN_CHUNK, Progress, WinRMCounters, WinRSSession
from wbplay.vocab.ops import Op, OpResult, deadline_for

__all__ = ["WinRMCounters", "WinRMHost", "WriteOutcomeUnknownError", "open_winrm_host"]

log = logging.getLogger(__name__)


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
        self.counters = WinRMCounters()
        self._session = WinRSSession(
            target,
            credentials,
            # A lambda, not the bound method: _new_protocol is looked up at each
            # reconnect, so a test can replace it on the instance.
            connect=lambda: self._new_protocol(),
            counters=self.counters,
            chunk_size=chunk_size,
            clock=clock,
            on_output=self._output,
        )

    # -- Host contract --------------------------------------------------------------
    @property
    def user(self) -> str | None:
        return username_for(self.target, self._credentials)

    @property
    def identity(self) -> str:
        user = username_for(self.target, self._credentials)
        host = f"[{self.target.address}]" if ":" in self.target.address else self.target.address
        return f"winrm://{user + '@' if user else ''}{host}:{self.target.port}"

    def open(self) -> None:
        """Connect, authenticate and open the shell now (otherwise the first call does)."""
        self._session.open()

    def close(self) -> None:
        self._session.close()

    def _read(self, ops: Sequence[Op]) -> list[OpResult]:
        payload = build_stdin(list(ops), mode="read", with_agent=False)
        raw = self._execute(payload, write=None, deadline=deadline_for(ops, self.read_deadline))
        self._raw(raw.stdout, raw.stderr, raw.exit_code)
        return interpret(raw, len(ops), where=self.name)

    def _apply(self, op: Op) -> OpResult:
        payload = build_stdin([op], mode="write", with_agent=False)
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
            progress = Progress()
            try:
                return self._session.run(payload, deadline, progress)
            except ShellGone as e:
                self._session.forget_shell()
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
            except ConnectionLost as e:
                self._session.drop_connection()
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
            except DeadlineExpired as e:
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

    def _new_protocol(self) -> Protocol:
        protocol = new_protocol(self.target, self._credentials)
        self.counters.connections += 1
        return protocol


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
    target = targets[0]
    username = getattr(options, "username", None)
    if username:
        target = dataclasses.replace(target, username=username)
    prompts = getattr(options, "prompts", None)
    if prompts is None or not needs_password(target.transport):
        return WinRMHost(target, read_only=read_only)
    credentials = get_credentials(target.name, target.username, prompts=prompts)
    return WinRMHost(target, read_only=read_only, credentials=credentials)
