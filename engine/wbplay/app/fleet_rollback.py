"""``wbplay rollback`` over many runs at once: several run ids, or every run of one fleet run.

A fleet run records its id in each PC's journal (``run.start`` ``fleet``), so
``wbplay rollback --fleet ID`` finds the runs without a list.  Runs are grouped
by PC: one PC's runs are undone in turn, newest first (each takes the PC's host
lock; two at once on one PC would refuse each other), and PCs ``forks`` at a
time.  Each run's rollback is exactly the single-run one (the PC's identity
checked, each value re-read, conflicts left unless ``--force``).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from wbplay.app.journal import rollback_run
from wbplay.errors import ExitCode, UsageError, WbplayError
from wbplay.hosts.credentials import PromptOnce
from wbplay.hosts.factory import ConnectOptions
from wbplay.run import fleet as fleet_mod
from wbplay.run import history
from wbplay.run import journal as journal_mod
from wbplay.run import recorded as recorded_mod
from wbplay.run.fleet_review import worst
from wbplay.run.options import Listener
from wbplay.run.rollback import UndoPolicy
from wbplay.run.rollback_run import RollbackResult


@dataclass(frozen=True, slots=True)
class RunToUndo:
    run_id: str  # the full id (a prefix given on the command line is resolved)
    host: str  # the --host spec the run was given
    started: str
    changes: int  # changes the journal holds that are not settled yet


@dataclass(frozen=True, slots=True)
class RunUndone:
    run_id: str
    exit_code: ExitCode
    message: str
    result: RollbackResult | None = None


@dataclass(frozen=True, slots=True)
class PcUndone:
    """One PC of a fleet rollback: its runs' rollbacks, newest first; exit code the worst of them."""

    host: str
    runs: tuple[RunUndone, ...]

    @property
    def exit_code(self) -> ExitCode:
        return worst(r.exit_code for r in self.runs)


def runs_to_undo(run_ids: list[str], fleet: str | None, runs_dir: Path | None = None) -> list[RunToUndo]:
    """The runs named (a unique prefix each) and those of ``fleet``, read from their journals
    before any PC is touched, so a wrong id stops everything at once."""
    ids = list(run_ids)
    if fleet:
        members = history.summaries(runs_dir, fleet=fleet)
        if not members:
            raise UsageError(
                f"no journal belongs to fleet {fleet}: `wbplay runs` lists past runs and their fleet "
                "(a fleet id is printed at the end of a fleet run)"
            )
        ids += [s.run_id for s in members]
    out: dict[str, RunToUndo] = {}
    for run_id in ids:
        found = journal_mod.load(run_id, runs_dir)
        start = found.records[0] if found.records and found.records[0].get("event") == "run.start" else {}
        entries = recorded_mod.entries(found)
        spec = start.get("host_spec") or start.get("host") or "?"
        out[found.path.stem] = RunToUndo(
            found.path.stem, str(spec), str(start.get("ts", "")), len(entries.changes)
        )
    return list(out.values())


def rollback_many(
    runs: list[RunToUndo],
    *,
    listener_for: Callable[[str], Listener],
    connect: ConnectOptions | None = None,
    policy: UndoPolicy | None = None,
    dry_run: bool = False,
    forks: int = 10,
    timeout_per_host_s: float | None = None,
    on_progress: Callable[[fleet_mod.Progress], None] | None = None,
    runs_dir: Path | None = None,
) -> tuple[list[PcUndone], list[str]]:
    """Undo every run, PCs ``forks`` at a time; return each PC's outcome and the PCs never started.

    The caller has asked (once, for all of them): each run's own confirmation is
    yes unless the fleet was told to stop (Ctrl-C, or the PC's timeout) before it began.
    """
    by_pc: dict[str, list[RunToUndo]] = {}
    for r in runs:
        by_pc.setdefault(r.host, []).append(r)
    for members in by_pc.values():
        members.sort(key=lambda r: (r.started, r.run_id), reverse=True)  # newest first, as on one PC
    opts = dataclasses.replace(connect or ConnectOptions(), prompts=PromptOnce())

    def one(host: str, stop: threading.Event) -> PcUndone:
        done: list[RunUndone] = []
        for r in by_pc[host]:
            if stop.is_set():
                done.append(RunUndone(r.run_id, ExitCode.INTERRUPTED, "not started: the fleet was stopped"))
                continue
            try:
                result = rollback_run(
                    r.run_id,
                    host_spec=None,
                    listener=listener_for(host),
                    connect=opts,
                    runs_dir=runs_dir,
                    policy=policy,
                    dry_run=dry_run,
                    confirm=lambda plan: not stop.is_set(),
                )
            except WbplayError as e:
                done.append(RunUndone(r.run_id, e.exit_code, str(e)))
                continue
            done.append(RunUndone(r.run_id, result.exit_code, result.message, result))
        return PcUndone(host, tuple(done))

    def crashed(host: str, e: Exception) -> PcUndone:
        code = e.exit_code if isinstance(e, WbplayError) else ExitCode.NEEDS_ATTENTION
        return PcUndone(host, (RunUndone("", code, f"internal error: {type(e).__name__}: {e}"),))

    def timed_out(host: str) -> PcUndone:
        why = (
            f"no result within --timeout-per-host {timeout_per_host_s:g} s: its journal says what is "
            "still to undo; run `wbplay rollback RUN` for it when the PC answers"
        )
        return PcUndone(host, tuple(RunUndone(r.run_id, ExitCode.NEEDS_ATTENTION, why) for r in by_pc[host]))

    fanned = fleet_mod.fan_out(
        list(by_pc),
        one,
        forks=forks,
        on_error=crashed,
        on_timeout=timed_out,
        failed=lambda o: o.exit_code not in (ExitCode.OK, ExitCode.PENDING),
        timeout_s=timeout_per_host_s,
        on_progress=on_progress,
    )
    abandoned = "still running at the second Ctrl-C: check its journal"
    outcomes = [
        fanned.results.get(h)
        or PcUndone(h, tuple(RunUndone(r.run_id, ExitCode.INTERRUPTED, abandoned) for r in by_pc[h]))
        for h in by_pc
        if h in fanned.results or h in fanned.timed_out
    ]
    return outcomes, fanned.not_started
