"""The PowerShellHandler that runs wbplay's agent requests against a simulated host.

On Windows, wbplay runs ``powershell.exe <POWERSHELL_ARGS>`` whose
``-EncodedCommand`` is a small bootstrap that reads the agent script and the
request from stdin.  The lab cannot run PowerShell, so this handler checks
that it is given exactly that: the bootstrap (decoded from
``-EncodedCommand`` and compared to ``protocol.BOOTSTRAP``) and, on stdin or
(packed) in the shell's environment, the agent script this wbplay ships.  It
then decodes the request, runs every op through the simulator's executor
(refusing writes in a read-only request, as the agent does) and prints the
encoded response, exit 0.  Anything else exits 1 with a clear message on
stderr.

Ops run under a lock (commands of several shells may arrive at once), and
``on_change`` is called after a request that ran write ops, so the caller can
persist the host state.

A request whose op restarts the PC (``OpSpec.reboots``, i.e. ``host.reboot``)
and succeeded answers like the agent on Windows, which schedules
``shutdown /r /t 5`` and returns: the response comes back normally, marked
``restarts_host``.  What a restart does to connections and shells is the
server's business; this handler only reports that the process asked for one.
The simulated boot itself (chkdsk passes, services, new boot time) happens in
the model right away: no client can see it before the lab is back up.
"""

from __future__ import annotations

import base64
import binascii
import threading
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from wbplay.agent.bootstrap import LANGUAGE_MODE_MESSAGE
from wbplay.errors import WbplayError
from wbplay.lab.cmdexe import CommandOutput
from wbplay.lab.shell import reject_powershell
from wbplay.vocab.ops import ERROR_ACCESS_DENIED, SLOW_OPS, Op, OpResult

_ENCODED_COMMAND = "encodedcommand"

Execute = Callable[[Any, Op], OpResult]


def encoded_command(argv: list[str]) -> str | None:
    """The decoded script of ``-EncodedCommand`` (any prefix, or the ``-ec`` alias), or None."""
    for i, arg in enumerate(argv[:-1]):
        name = arg.lower()
        if (
            name[:1] in ("-", "/")
            and len(name) > 1
            and (_ENCODED_COMMAND.startswith(name[1:]) or name[1:] == "ec")
        ):
            try:
                return base64.b64decode(argv[i + 1], validate=True).decode("utf-16-le")
            except (binascii.Error, UnicodeDecodeError):
                return None
    return None


def _normalise(script: str) -> str:
    return script.lstrip("\ufeff").replace("\r\n", "\n").rstrip()


def bootstrap_refusal(model: Any) -> str | None:
    """The bootstrap's fatal message on a simulated PC whose ``powershell.language_mode`` is not
    FullLanguage (AppLocker, WDAC, Smart App Control), else None."""
    state = getattr(model, "state", None)
    section = state.get("powershell") if isinstance(state, dict) else None
    mode = str((section or {}).get("language_mode") or "FullLanguage")
    return None if mode == "FullLanguage" else LANGUAGE_MODE_MESSAGE.format(mode=mode)


def _failure(message: str) -> CommandOutput:
    return CommandOutput(stderr=f"wbplay lab: {message}\r\n", exit_code=1)


class AgentHandler:
    """A :data:`~wbplay.lab.cmdexe.PowerShellHandler` bound to one host model."""

    def __init__(
        self,
        model: Any,
        *,
        on_change: Callable[[], None] | None = None,
        lock: threading.Lock | None = None,
        protocol: ModuleType | None = None,
        execute: Execute | None = None,
    ) -> None:
        if protocol is None:
            from wbplay.agent import protocol as agent_protocol

            protocol = agent_protocol
        if execute is None:
            from wbplay.sim.executor import execute as sim_execute

            execute = sim_execute
        self.model = model
        self.on_change = on_change
        self.lock = lock or threading.Lock()
        self._protocol = protocol
        self._execute = execute

    takes_environment = True  # the shell's environment, where the agent travels once per shell

    def __call__(
        self, argv: list[str], stdin: bytes, environment: Mapping[str, str] | None = None
    ) -> CommandOutput:
        protocol = self._protocol
        if encoded_command(argv) != protocol.BOOTSTRAP:
            return reject_powershell(argv, stdin)
        try:
            agent_text, request_text = protocol.split_stdin(stdin)
            if not agent_text:  # as the bootstrap: nothing before the separator, so the shell's copy
                agent_text = protocol.unpack_agent(environment or {})
        except (WbplayError, ValueError) as e:
            return _failure(f"stdin does not hold the agent and a request: {e}")
        if _normalise(agent_text) != _normalise(protocol.agent_script()):
            return _failure(
                "the agent script on stdin is not the one this wbplay ships; "
                "client and lab must come from the same wbplay version"
            )
        refusal = bootstrap_refusal(self.model)
        if refusal is not None:  # what the bootstrap itself prints under Constrained Language Mode
            return CommandOutput(stdout=protocol.encode_fatal(refusal), exit_code=1)
        try:
            mode, ops = protocol.decode_request(request_text)
        except (WbplayError, ValueError) as e:
            return _failure(f"invalid agent request: {e}")
        results: list[OpResult] = []
        live: list[str] = []  # what the agent streams before its frame (slow tools' output lines)
        wrote = restarts = False
        with self.lock:
            for op in ops:
                if op.writes and mode == "read":
                    results.append(
                        OpResult.failure(
                            ERROR_ACCESS_DENIED, f"Access is denied. ({op.name} in a read-only request)"
                        )
                    )
                    continue
                result = self._execute(self.model, op)
                results.append(result)
                if op.name in SLOW_OPS and result.ok and isinstance(result.value, dict):
                    text = str(result.value.get("output") or "")
                    live += [protocol.encode_output_line(x) for x in text.splitlines() if x.strip()]
                wrote = wrote or op.writes
                restarts = restarts or (op.spec.reboots and result.ok)
            if wrote and self.on_change is not None:
                self.on_change()
        stdout = "".join(live) + protocol.encode_response(results)
        return CommandOutput(stdout=stdout, exit_code=0, restarts_host=restarts)
