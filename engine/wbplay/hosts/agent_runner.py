"""What the WinRM and local hosts share: turning one agent run's raw output into results.

Both transports start ``powershell.exe`` with the same tiny bootstrap
(``wbplay.agent.protocol.POWERSHELL_ARGS``), feed the request on stdin and get
back stdout, stderr and an exit code.  This module owns the rules for reading
that triple, so both hosts fail the same way on the same output.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from wbplay.agent.protocol import clean_stderr, decode_response
from wbplay.errors import AgentError, TransportError
from wbplay.vocab.ops import Op, OpResult

STDERR_LIMIT = 2000  # characters of cleaned stderr quoted in an error message


class WriteOutcomeUnknownError(TransportError):
    """A write was sent, but whether the PC applied it is unknown.

    Raised when the connection dropped, the shell vanished or the write's
    deadline passed after the request's input had started to go out.  The
    runner must re-read the state the write would change and decide from that;
    replaying the write blindly could apply it twice.  ``op`` is the write.
    """

    def __init__(self, message: str, *, op: Op) -> None:
        super().__init__(message)
        self.op = op


@dataclass(frozen=True)
class RawOutput:
    """One finished agent process: its two output streams and its exit code."""

    stdout: bytes
    stderr: bytes
    exit_code: int


def interpret(raw: RawOutput, expected: int, *, where: str) -> list[OpResult]:
    """The ``expected`` results framed in ``raw.stdout``, or an :class:`AgentError`.

    A response frame wins over the exit code (the agent may exit non-zero
    after answering).  Without a frame, the error quotes stderr with the BOM
    and CLIXML noise (progress records) removed, because that is where
    PowerShell reports a script that never got going.
    """
    try:
        return decode_response(raw.stdout, expected)
    except AgentError as e:
        detail = _stderr_text(raw.stderr)
        if raw.exit_code != 0:
            raise AgentError(
                f"the agent on {where} exited with code {raw.exit_code}: "
                + (f"{detail} ({e})" if detail else f"{e}; it wrote no error output")
            ) from e
        if detail:
            raise AgentError(f"the agent on {where}: {e}; error output: {detail}") from e
        raise AgentError(f"the agent on {where}: {e}") from e


def _stderr_text(stderr: bytes) -> str:
    text = clean_stderr(stderr).strip()
    if len(text) > STDERR_LIMIT:
        text = text[:STDERR_LIMIT] + " [...]"
    return text


def chunks(data: bytes, size: int) -> Iterator[tuple[bytes, bool]]:
    """``data`` in pieces of at most ``size`` bytes, each with "is this the last one"."""
    if size <= 0:
        raise ValueError("chunk size must be positive")
    if not data:
        yield b"", True
        return
    for start in range(0, len(data), size):
        yield data[start : start + size], start + size >= len(data)
