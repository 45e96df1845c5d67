"""This Windows PC: the agent run by ``powershell.exe`` as a child process.

Same agent, same bootstrap and same stdin request as over WinRM
(:mod:`wbplay.hosts.agent_runner`), so a playbook behaves identically
whether it runs on the PC or against it.  The request never goes on the
command line: it is data on stdin, and the argv is the fixed bootstrap.
"""

from __future__ import annotations

import platform
import socket
import subprocess
from collections.abc import Callable, Sequence
from typing import Any

from wbplay.agent.protocol import POWERSHELL_ARGS, OutputLines, build_stdin
from wbplay.errors import ConnectError, TransportError
from wbplay.hosts.agent_runner import RawOutput, WriteOutcomeUnknownError, interpret
from wbplay.hosts.base import Host
from wbplay.vocab.ops import Op, OpResult, deadline_for

POWERSHELL = "powershell.exe"
DEFAULT_READ_DEADLINE = 300.0
DEFAULT_WRITE_DEADLINE = 900.0

Runner = Callable[..., "subprocess.CompletedProcess[bytes]"]


def agent_argv() -> list[str]:
    """The command line of one agent run: the bootstrap only, never the request."""
    return [POWERSHELL, *POWERSHELL_ARGS]


class LocalHost(Host):
    """The agent on the machine wbplay runs on (Windows only)."""

    def __init__(
        self,
        *,
        read_only: bool,
        run: Runner = subprocess.run,
        system: str | None = None,
        read_deadline: float = DEFAULT_READ_DEADLINE,
        write_deadline: float = DEFAULT_WRITE_DEADLINE,
    ) -> None:
        system = platform.system() if system is None else system
        if system != "Windows":
            raise ConnectError(
                "--host local runs the agent through powershell.exe and needs Windows; this machine is "
                f"{system or 'unknown'}. Use --host sim:NAME to try a playbook on a simulated PC, or "
                "--host <pc> to reach a Windows PC over WinRM."
            )
        super().__init__(socket.gethostname() or "localhost", read_only=read_only)
        self._run = run
        self.read_deadline = read_deadline
        self.write_deadline = write_deadline
        self.commands_run = 0

    @property
    def identity(self) -> str:
        return f"local://{self.name}"

    def _read(self, ops: Sequence[Op]) -> list[OpResult]:
        raw = self._execute(build_stdin(list(ops), mode="read"), None, deadline_for(ops, self.read_deadline))
        self._raw(raw.stdout, raw.stderr, raw.exit_code)
        return interpret(raw, len(ops), where=self.name)

    def _apply(self, op: Op) -> OpResult:
        raw = self._execute(build_stdin([op], mode="write"), op, deadline_for([op], self.write_deadline))
        return interpret(raw, 1, where=self.name)[0]

    def _execute(self, payload: bytes, write: Op | None, deadline: float) -> RawOutput:
        kwargs: dict[str, Any] = {
            "input": payload,
            "capture_output": True,
            "timeout": deadline,
            "check": False,
        }
        self.commands_run += 1
        try:
            done = self._run(agent_argv(), **kwargs)
        except subprocess.TimeoutExpired:
            # subprocess.run has killed the agent by now.
            if write is not None:
                raise WriteOutcomeUnknownError(
                    f"{write.name} did not finish within {deadline:g} s and was stopped; whether the "
                    "change was applied is unknown. wbplay re-reads the state to find out.",
                    op=write,
                ) from None
            raise TransportError(f"reading the local PC did not finish within {deadline:g} s") from None
        except FileNotFoundError:
            raise ConnectError(f"{POWERSHELL} was not found on the PATH of this machine") from None
        except OSError as e:
            raise ConnectError(f"cannot start {POWERSHELL}: {e.strerror}") from None
        # subprocess.run returns when the agent ends, so the tool's lines come at once, not live.
        for line in OutputLines().feed((done.stdout or b"") + b"\n"):
            self._output(line)
        return RawOutput(done.stdout or b"", done.stderr or b"", done.returncode)
