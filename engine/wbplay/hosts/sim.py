"""``--host sim:NAME``: a simulated PC in this process, persisted to its state file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from wbplay.hosts.base import Host
from wbplay.sim.executor import execute
from wbplay.sim.model import HostModel
from wbplay.sim.state import read_state, save_state
from wbplay.vocab.ops import ERROR_IO_DEVICE, SLOW_OPS, Op, OpResult, win32_failure


class SimHost(Host):
    """Reads and writes a :class:`HostModel`; every successful write is saved at once.

    ``fail_write`` injects a failure for tests: the n-th write (1-based) fails
    with ERROR_IO_DEVICE and changes nothing, as a flaky disk or driver would.
    """

    def __init__(
        self, path: Path, *, read_only: bool, name: str | None = None, fail_write: int | None = None
    ):
        super().__init__(name or path.stem, read_only=read_only)
        self.path = path
        self.model = HostModel(read_state(path))
        self.fail_write = fail_write
        self.writes = 0
        self.round_trips = 0

    @property
    def identity(self) -> str:
        return f"sim:{self.name} ({self.model.hostname}, {self.model.os['caption']})"

    def _read(self, ops: Sequence[Op]) -> list[OpResult]:
        self.round_trips += 1
        results = [execute(self.model, op) for op in ops]
        for op, result in zip(ops, results, strict=True):
            self._echo(op, result)
        return results

    def _echo(self, op: Op, result: OpResult) -> None:
        """Show a slow tool's output lines as the agent would stream them (all at once here)."""
        if op.name in SLOW_OPS and result.ok and isinstance(result.value, dict):
            for line in str(result.value.get("output") or "").splitlines():
                if line.strip():
                    self._output(line)

    def _apply(self, op: Op) -> OpResult:
        self.round_trips += 1
        self.writes += 1
        if self.fail_write is not None and self.writes == self.fail_write:
            return win32_failure(ERROR_IO_DEVICE)
        before = self.model.snapshot()
        result = execute(self.model, op)
        if self.model.state != before:
            save_state(self.path, self.model.state)
        return result
