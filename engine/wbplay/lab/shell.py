"""WinRS shells and their commands: the state behind Create/Command/Send/Receive/Signal/Delete.

When a command runs:

* cmd built-ins (``echo``, ``hostname``, ...) finish at Command time; they read no stdin.
* A powershell.exe command runs its :data:`PowerShellHandler` once its stdin is
  complete, i.e. **when a Send with End="true" arrives, or at the first Receive
  if no Send was ever made for it**.  The first case is wbplay's agent (and
  Ansible's pattern: a small -EncodedCommand bootstrap that reads the payload
  from stdin); the second is pywinrm's ``run_ps`` and any command that takes no
  input.  A client that sends stdin without End keeps the command waiting, as
  a real powershell.exe blocked on ``$input`` would, and its Receives time out
  with the OperationTimeout fault until it sends End.

The handler runs in a worker thread, so a Receive can wait up to its
OperationTimeout and answer with the 2150858793 fault while the handler is
still busy.  Output is delivered in chunks bounded by the client's
MaxEnvelopeSize (and ``receive_chunk_bytes``): a partial Receive says Running,
the last one carries the End streams plus Done and the exit code.

A process whose output says ``restarts_host`` (the agent ran ``host.reboot``)
marks the Receive that delivers the last of its output: the server restarts the
lab once that response is out (``ReceiveResult.restarts_host``).
"""

from __future__ import annotations

import codecs
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from wbplay.lab import wsman
from wbplay.lab.cmdexe import CommandOutput, HostIdentity, PowerShellHandler, interpret
from wbplay.lab.wsman import CommandLine, SendChunk, ShellInfo, ShellRequest

DEFAULT_CODEPAGE = 437
DEFAULT_IDLE_TIMEOUT_S = 7200.0
STATUS_CONTROL_C_EXIT = -1073741510  # 0xC000013A, what a process killed by Ctrl+C returns
UTF8_BOM = b"\xef\xbb\xbf"

LAB_ONLY_MESSAGE = "wbplay lab: powershell.exe is not emulated; this lab only runs the wbplay agent.\r\n"


def reject_powershell(argv: list[str], stdin: bytes) -> CommandOutput:
    """The default PowerShellHandler: no agent registered, so refuse clearly."""
    return CommandOutput(stderr=LAB_ONLY_MESSAGE, exit_code=1)


def codec_for(codepage: int) -> str:
    """The Python codec for a Windows codepage (65001 is UTF-8); LookupError if unknown."""
    name = "utf-8" if codepage == 65001 else f"cp{codepage}"
    return codecs.lookup(name).name


@dataclass
class _Command:
    id: str
    powershell_argv: tuple[str, ...] | None
    cond: threading.Condition
    stdin: bytearray = field(default_factory=bytearray)
    stdin_used: bool = False
    started: bool = False
    done: bool = False
    terminated: bool = False
    exit_code: int | None = None
    restarts_host: bool = False
    pending: list[tuple[str, bytes]] = field(default_factory=list)


@dataclass
class _Shell:
    id: str
    owner: str
    codepage: int
    codec: str
    noprofile: bool
    idle_timeout_s: float
    input_streams: str
    output_streams: str
    environment: dict[str, str]
    last_activity: float
    commands: dict[str, _Command] = field(default_factory=dict)
    commands_created: int = 0


@dataclass(frozen=True)
class ReceiveResult:
    chunks: list[tuple[str, bytes]]
    done: bool
    exit_code: int | None
    restarts_host: bool = False  # this response carries the end of a process that restarts the PC


class ShellManager:
    """Every open shell of one lab, keyed by ShellId; all methods are thread-safe."""

    def __init__(
        self,
        host: HostIdentity,
        *,
        powershell: PowerShellHandler = reject_powershell,
        max_shells_per_user: int = 30,
        max_commands_per_shell: int | None = None,
        receive_chunk_bytes: int | None = None,
        bom_at_65001: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.host = host
        self.powershell = powershell
        self.max_shells_per_user = max_shells_per_user
        self.max_commands_per_shell = max_commands_per_shell
        self.receive_chunk_bytes = receive_chunk_bytes
        self.bom_at_65001 = bom_at_65001
        self._clock = clock
        self._lock = threading.Lock()
        self._shells: dict[str, _Shell] = {}
        self._running = 0  # PowerShell handlers still running in their worker threads
        self._idle = threading.Condition(self._lock)

    # --- shells ---------------------------------------------------------------------------

    def create(
        self, owner: str, request: ShellRequest, *, codepage: int, noprofile: bool, client_ip: str
    ) -> ShellInfo:
        try:
            codec = codec_for(codepage)
        except LookupError as e:
            raise wsman.fault_invalid_option("WINRS_CODEPAGE", str(codepage)) from e
        with self._lock:
            self._expire_idle()
            owned = sum(1 for s in self._shells.values() if s.owner.lower() == owner.lower())
            if owned >= self.max_shells_per_user:
                raise wsman.fault_quota_shells(self.max_shells_per_user)
            shell_id = (request.shell_id or "").upper()
            if not shell_id or shell_id in self._shells:
                shell_id = str(uuid.uuid4()).upper()  # Windows-style upper-case GUIDs
            shell = _Shell(
                id=shell_id,
                owner=owner,
                codepage=codepage,
                codec=codec,
                noprofile=noprofile,
                idle_timeout_s=request.idle_timeout_s or DEFAULT_IDLE_TIMEOUT_S,
                input_streams=request.input_streams,
                output_streams=request.output_streams,
                environment=dict(request.environment),
                last_activity=self._clock(),
            )
            self._shells[shell_id] = shell
        return ShellInfo(
            shell_id=shell_id,
            owner=owner,
            client_ip=client_ip,
            idle_timeout_s=shell.idle_timeout_s,
            input_streams=shell.input_streams,
            output_streams=shell.output_streams,
        )

    def delete(self, owner: str, shell_id: str | None) -> None:
        with self._lock:
            shell = self._shell(owner, shell_id)
            for command in shell.commands.values():
                command.terminated = True
                command.cond.notify_all()
            del self._shells[shell.id]

    def close(self) -> None:
        """Drop every shell and wake every waiting Receive (the lab stops, or the PC restarts)."""
        with self._lock:
            for shell in self._shells.values():
                for command in shell.commands.values():
                    command.terminated = True
                    command.cond.notify_all()
            self._shells.clear()

    def wait_idle(self, timeout_s: float = 30.0) -> bool:
        """Wait until no PowerShell handler is running (its changes have landed); False on timeout."""
        with self._lock:
            return self._idle.wait_for(lambda: self._running == 0, timeout_s)

    def open_shells(self) -> int:
        with self._lock:
            self._expire_idle()
            return len(self._shells)

    # --- commands -------------------------------------------------------------------------

    def command(self, owner: str, shell_id: str | None, line: CommandLine, *, skip_cmd_shell: bool) -> str:
        with self._lock:
            shell = self._shell(owner, shell_id)
            if (
                self.max_commands_per_shell is not None
                and shell.commands_created >= self.max_commands_per_shell
            ):
                # WinRS does not give the operation back when a command ends (ansible's winrm.py).
                raise wsman.fault_quota_operations()
            invocation = interpret(line.joined(), skip_cmd_shell=skip_cmd_shell, host=self.host, user=owner)
            command_id = (line.command_id or "").upper()
            if not command_id or command_id in shell.commands:
                command_id = str(uuid.uuid4()).upper()
            command = _Command(
                id=command_id,
                powershell_argv=invocation.powershell_argv,
                cond=threading.Condition(self._lock),
            )
            shell.commands_created += 1
            shell.commands[command.id] = command
            if invocation.output is not None:
                command.started = True
                self._finish(shell, command, invocation.output)
            return command.id

    def send(self, owner: str, shell_id: str | None, chunks: list[SendChunk]) -> None:
        with self._lock:
            shell = self._shell(owner, shell_id)
            for chunk in chunks:
                command = self._command(shell, chunk.command_id)
                if command.started:
                    continue  # the process has its input already (or takes none)
                command.stdin_used = True
                command.stdin += chunk.data
                if chunk.end:
                    self._start(shell, command)

    def receive(
        self, owner: str, shell_id: str | None, command_id: str | None, *, timeout_s: float, max_bytes: int
    ) -> ReceiveResult:
        deadline = time.monotonic() + timeout_s
        with self._lock:
            shell = self._shell(owner, shell_id)
            command = self._command(shell, command_id)
            if not command.started and not command.stdin_used:
                self._start(shell, command)
            while not command.pending and not command.done and not command.terminated:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise wsman.fault_operation_timeout()
                command.cond.wait(remaining)
            if command.terminated:
                raise wsman.fault_unknown_command()
            shell.last_activity = self._clock()
            budget = (
                max_bytes if self.receive_chunk_bytes is None else min(max_bytes, self.receive_chunk_bytes)
            )
            chunks = _take(command.pending, max(budget, 1))
            done = command.done and not command.pending
            restarts = done and command.restarts_host
            if done:
                command.restarts_host = False  # one restart per process, however often its end is read
            return ReceiveResult(chunks, done, command.exit_code if done else None, restarts_host=restarts)

    def signal(self, owner: str, shell_id: str | None, command_id: str | None, code: str) -> None:
        with self._lock:
            shell = self._shell(owner, shell_id)
            command = self._command(shell, command_id)
            if code == "terminate":
                command.terminated = True
                command.cond.notify_all()
                del shell.commands[command.id]
            elif code in ("ctrl_c", "ctrl_break") and not command.done:
                command.done = True
                command.exit_code = STATUS_CONTROL_C_EXIT
                command.cond.notify_all()

    # --- internals (called with the lock held) ---------------------------------------------

    def _expire_idle(self) -> None:
        now = self._clock()
        for shell_id in [s.id for s in self._shells.values() if now - s.last_activity > s.idle_timeout_s]:
            for command in self._shells[shell_id].commands.values():
                command.terminated = True
                command.cond.notify_all()
            del self._shells[shell_id]

    def _shell(self, owner: str, shell_id: str | None) -> _Shell:
        self._expire_idle()
        shell = self._shells.get((shell_id or "").upper())
        # Another user's shell is as invisible as a missing one.
        if shell is None or shell.owner.lower() != owner.lower():
            raise wsman.fault_unknown_shell(shell_id or "")
        shell.last_activity = self._clock()
        return shell

    @staticmethod
    def _command(shell: _Shell, command_id: str | None) -> _Command:
        command = shell.commands.get((command_id or "").upper())
        if command is None:
            raise wsman.fault_unknown_command()
        return command

    def _start(self, shell: _Shell, command: _Command) -> None:
        command.started = True
        argv = list(command.powershell_argv or ())
        stdin = bytes(command.stdin)
        self._running += 1
        worker = threading.Thread(
            target=self._run_powershell, args=(shell, command, argv, stdin), name=f"lab-ps-{command.id[:8]}"
        )
        worker.daemon = True
        worker.start()

    def _run_powershell(self, shell: _Shell, command: _Command, argv: list[str], stdin: bytes) -> None:
        output: CommandOutput | None = None
        try:
            output = self.powershell(argv, stdin)
        finally:
            # A crashing handler is a crashed process: the command still ends, so no client waits forever.
            # The exception itself propagates to threading.excepthook, which prints it on the lab's stderr.
            if output is None:
                output = CommandOutput(stderr="wbplay lab: the PowerShell handler crashed.\r\n", exit_code=1)
            with self._lock:
                if not command.terminated and not command.done:
                    self._finish(shell, command, output, powershell=True)
                self._running -= 1
                self._idle.notify_all()

    def _finish(
        self, shell: _Shell, command: _Command, output: CommandOutput, powershell: bool = False
    ) -> None:
        bom = powershell and self.bom_at_65001 and shell.codepage == 65001
        for name, data in (("stdout", output.stdout), ("stderr", output.stderr)):
            raw = data if isinstance(data, bytes) else data.encode(shell.codec, errors="replace")
            if raw:
                command.pending.append((name, UTF8_BOM + raw if bom else raw))
        command.done = True
        command.exit_code = output.exit_code
        command.restarts_host = output.restarts_host
        command.cond.notify_all()


def _take(pending: list[tuple[str, bytes]], budget: int) -> list[tuple[str, bytes]]:
    """Pop up to ``budget`` bytes of output, splitting a chunk if needed."""
    taken: list[tuple[str, bytes]] = []
    while pending and budget > 0:
        name, data = pending[0]
        if len(data) <= budget:
            taken.append(pending.pop(0))
            budget -= len(data)
        else:
            taken.append((name, data[:budget]))
            pending[0] = (name, data[budget:])
            budget = 0
    return taken
