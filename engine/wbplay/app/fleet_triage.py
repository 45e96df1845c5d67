"""``wbplay triage --host GROUP``: each PC's recent backup failures read (read-only), ``forks`` at a
time, and the PCs grouped by the playbook that best explains theirs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

from wbplay.app.library import triage
from wbplay.errors import ExitCode, WbplayError
from wbplay.hosts.credentials import PromptOnce
from wbplay.hosts.factory import ConnectOptions
from wbplay.library.triage import TriageResult
from wbplay.run import fleet as fleet_mod


@dataclass(frozen=True, slots=True)
class PcTriage:
    host: str
    exit_code: ExitCode  # 0: a playbook matched; 1: none did; else the error's
    result: TriageResult | None = None
    error: str = ""

    @property
    def best(self) -> str:
        """The best match's playbook id, or "" (no match, or the PC could not be read)."""
        return self.result.matches[0].playbook_id if self.result and self.result.matches else ""

    @property
    def codes(self) -> tuple[str, ...]:
        """The error codes the PC's evidence carries, once each."""
        if self.result is None:
            return ()
        seen = (c for e in self.result.evidence for c in (e.code, e.detailed_code) if c)
        return tuple(dict.fromkeys(seen))


def triage_many(
    hosts: list[str],
    *,
    error: str | None,
    since_days: int,
    connect: ConnectOptions | None = None,
    forks: int = 10,
    timeout_per_host_s: float | None = None,
    on_progress: Callable[[fleet_mod.Progress], None] | None = None,
) -> tuple[list[PcTriage], list[str]]:
    """Triage every PC (read-only); return each PC's result in ``hosts`` order and those not started."""
    base = connect or ConnectOptions()
    if base.prompts is None:
        base = replace(base, prompts=PromptOnce())

    def one(host: str, stop: threading.Event) -> PcTriage:
        try:
            result = triage(error=error, host_spec=host, since_days=since_days, connect=base)
        except WbplayError as e:
            return PcTriage(host, e.exit_code, error=str(e))
        return PcTriage(host, ExitCode.OK if result.matches else ExitCode.PENDING, result)

    def crashed(host: str, e: Exception) -> PcTriage:
        code = e.exit_code if isinstance(e, WbplayError) else ExitCode.NEEDS_ATTENTION
        return PcTriage(host, code, error=f"internal error: {type(e).__name__}: {e}")

    def timed_out(host: str) -> PcTriage:
        return PcTriage(
            host, ExitCode.CONNECTION, error=f"no answer within --timeout-per-host {timeout_per_host_s:g} s"
        )

    fanned = fleet_mod.fan_out(
        hosts,
        one,
        forks=forks,
        on_error=crashed,
        on_timeout=timed_out,
        failed=lambda t: t.exit_code not in (ExitCode.OK, ExitCode.PENDING),
        timeout_s=timeout_per_host_s,
        on_progress=on_progress,
    )
    abandoned = "still being read at the second Ctrl-C"
    return [
        fanned.results.get(h) or PcTriage(h, ExitCode.INTERRUPTED, error=abandoned)
        for h in hosts
        if h in fanned.results or h in fanned.timed_out
    ], fanned.not_started


def groups(results: list[PcTriage]) -> list[tuple[str, list[PcTriage]]]:
    """PCs by best match, the biggest group first; no match and unreadable PCs last."""
    by: dict[str, list[PcTriage]] = {}
    for t in results:
        if t.result is not None:
            by.setdefault(t.best, []).append(t)
    matched = sorted(((k, v) for k, v in by.items() if k), key=lambda kv: (-len(kv[1]), kv[0]))
    return matched + ([("", by[""])] if "" in by else [])
