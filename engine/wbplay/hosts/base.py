"""The one interface every host implements: batched reads, single writes.

A host opened ``read_only`` refuses every write op with
:class:`~wbplay.errors.ReadOnlyHostError` *before* anything reaches the PC, so
a dry run cannot change anything by construction, not by convention.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from types import TracebackType

from wbplay.errors import ReadOnlyHostError
from wbplay.vocab.ops import Op, OpResult


class Host(ABC):
    """A Windows PC that wbplay can read from and, unless read-only, write to."""

    def __init__(self, name: str, *, read_only: bool) -> None:
        self.name = name
        self.read_only = read_only
        # Called with each line of a slow tool's live output (chkdsk, sfc) as it arrives.
        self.on_output: Callable[[str], None] | None = None
        # Called with each agent run's raw output (stdout, stderr, exit code) before it is read,
        # by hosts that run the agent: `wbplay doctor --record` saves it as a replay fixture.
        self.on_raw: Callable[[bytes, bytes, int], None] | None = None

    def _raw(self, stdout: bytes, stderr: bytes, exit_code: int) -> None:
        if self.on_raw is not None:
            self.on_raw(stdout, stderr, exit_code)

    def _output(self, line: str) -> None:
        if self.on_output is not None:
            self.on_output(line)

    # -- the public contract ------------------------------------------------------
    def read(self, ops: Sequence[Op]) -> list[OpResult]:
        """Run read ops in one round trip; results come back in the same order."""
        for op in ops:
            if op.writes:
                raise ReadOnlyHostError(f"{op.name} is a write op and cannot be sent with reads")
        if not ops:
            return []
        return self._read(ops)

    def apply(self, op: Op) -> OpResult:
        """Run one write op.  Refused outright when the host is read-only."""
        if self.read_only:
            raise ReadOnlyHostError(
                f"refused {op.name} on {self.name}: the host was opened read-only (dry-run)"
            )
        if not op.writes:
            raise ReadOnlyHostError(f"{op.name} is a read op; use read()")
        return self._apply(op)

    def close(self) -> None:  # noqa: B027 - optional hook; most hosts hold nothing to release
        """Release the connection, if the host holds one."""

    @property
    def user(self) -> str | None:
        """The account wbplay logs on as, when it is not the local one (WinRM); never a password."""
        return None

    @property
    def identity(self) -> str:
        """A stable description of which PC this is, for journals and plans."""
        return self.name

    # -- what implementations provide ---------------------------------------------
    @abstractmethod
    def _read(self, ops: Sequence[Op]) -> list[OpResult]: ...

    @abstractmethod
    def _apply(self, op: Op) -> OpResult: ...

    def __enter__(self) -> Host:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
