"""``wbplay rollback RUN`` on a host already opened: check it is the run's PC,
show what would be undone, ask, then undo (:mod:`wbplay.run.rollback`).

Requests, in order (deterministic, so a kill point can be named): one read
batch (the PC's identity and every change's before-probe, for the preview);
then, newest change first, what :func:`wbplay.run.rollback.undo` sends.  A
``--dry-run`` stops after the first batch, on a host opened read-only, and
appends nothing to the journal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wbplay.errors import ExitCode, JournalError
from wbplay.hosts.base import Host
from wbplay.run import history, identity, rollback
from wbplay.run.identity import PcIdentity
from wbplay.run.journal import Journal, JournalFile
from wbplay.run.options import Listener
from wbplay.run.recorded import Entries, Skipped
from wbplay.run.rollback import ATTENTION, Decision, UndoOutcome, UndoPolicy
from wbplay.vocab import probes


class IdentityMismatchError(JournalError):
    """The PC is not the one the journal's run changed: rollback refuses, touching nothing."""


@dataclass(frozen=True, slots=True)
class RollbackPlan:
    """What a rollback would do, from one fresh read of the PC (shown before asking)."""

    run_id: str
    journal: Path
    pc: PcIdentity
    decisions: list[Decision]  # newest change first
    skipped: list[Skipped]

    @property
    def undoes(self) -> list[Decision]:
        return [d for d in self.decisions if d.status == "undo"]


@dataclass(frozen=True, slots=True)
class RollbackResult:
    run_id: str
    journal: Path
    exit_code: ExitCode
    message: str
    outcomes: list[UndoOutcome] = field(default_factory=list)  # what was done (empty unless applied)
    plan: RollbackPlan | None = None
    skipped: list[Skipped] = field(default_factory=list)
    applied: bool = False  # False: dry-run, declined, or nothing to do


Confirm = Callable[[RollbackPlan], bool]


def _attention(skipped: list[Skipped]) -> bool:
    return any(s.hides_change for s in skipped)


def nothing_to_do(journal: JournalFile, ent: Entries) -> RollbackResult:
    """A journal whose every change is settled: say so without touching the PC.

    If a damaged line may have announced a change, nothing can be done from this
    journal: refused (exit 2), naming the file and the lines.
    """
    hidden = [s for s in ent.skipped if s.hides_change]
    if hidden:
        lines = "; ".join(f"{journal.path}:{s.line}: damaged journal line ({s.reason})" for s in hidden)
        raise JournalError(
            f"{lines}. It may have announced a change, and the journal holds nothing else to undo: "
            "check the PC by hand. Nothing was changed."
        )
    if ent.last_rollback:
        msg = f"{journal.path.stem} was already rolled back (at {ent.last_rollback}): nothing left to undo"
    else:
        msg = "the journal announces no change: nothing to undo"
    ran = sorted(s for s, how in ent.settled.items() if how == "ran")
    if ran:
        msg += f"; ran and cannot be undone: {', '.join(ran)}"
    return RollbackResult(journal.path.stem, journal.path, ExitCode.OK, msg, skipped=ent.skipped)


def check_identity(
    journal: JournalFile, recorded_pc: PcIdentity | None, now: PcIdentity, force: bool
) -> None:
    where = journal.path
    if recorded_pc is None:
        if force:
            return
        raise IdentityMismatchError(
            f"{where}: the journal does not record which PC it ran on (hostname and MachineGuid), so "
            f"nothing proves {now.describe()} is that PC. Nothing was changed; check it is, then pass "
            "--force to roll back anyway."
        )
    if not recorded_pc.same_pc(now):
        raise IdentityMismatchError(
            f"{where}: the run changed {recorded_pc.describe()}, but this host is {now.describe()}: "
            "refusing to roll back a different PC. Nothing was changed."
        )


def roll_back(
    host: Host,
    journal: JournalFile,
    ent: Entries,
    *,
    policy: UndoPolicy,
    listener: Listener,
    dry_run: bool = False,
    confirm: Confirm | None = None,
) -> RollbackResult:
    run_id = journal.path.stem
    changes = ent.changes
    wanted = {
        probes.to_op(c.before_probe).key(): probes.to_op(c.before_probe) for c in changes if c.before_probe
    }
    now, results = identity.read(host, list(wanted.values()))
    check_identity(journal, ent.identity, now, policy.force)
    started = str(ent.start.get("ts") or min(c.started for c in changes))
    others = history.later_changes(run_id, started, now, changes, journal.path.parent)
    decisions = rollback.preview(dict(zip(wanted, results, strict=True)), changes, policy, others)
    plan = RollbackPlan(run_id, journal.path, now, decisions, ent.skipped)
    if dry_run:
        code = _planned_code(plan)
        return RollbackResult(
            run_id, journal.path, code, "dry-run: nothing was changed", plan=plan, skipped=ent.skipped
        )
    if plan.undoes and confirm is not None and not confirm(plan):
        return RollbackResult(
            run_id,
            journal.path,
            ExitCode.PENDING,
            "not confirmed: nothing was changed",
            plan=plan,
            skipped=ent.skipped,
        )
    writer = Journal(run_id, journal.path.parent)  # append to the run's own journal, numbering on
    try:

        def emit(name: str, **fields: Any) -> None:
            writer.append(name, **fields)
            listener.event(name, fields)

        emit(
            "rollback.start",
            changes=[c.step_id for c in changes],
            source="journal",
            pc=now.to_record(),
            skipped=[s.describe() for s in ent.skipped],
        )
        outcomes = rollback.undo(host, changes, emit, policy, others)
        by = _by_status(outcomes)
        emit(
            "rollback.end",
            undone=by.get("undone", []),
            not_applied=by.get("not-applied", []),
            ran=by.get("ran", []) + by.get("irreversible", []),
            left=by.get("conflict", []) + by.get("needs-consent", []),
            failed=by.get("failed", []) + by.get("unconfirmed", []),
        )
    finally:
        writer.close()
    attention = any(o.status in ATTENTION for o in outcomes) or _attention(ent.skipped)
    code = ExitCode.NEEDS_ATTENTION if attention else ExitCode.OK
    msg = "the host needs attention" if attention else "rolled back"
    return RollbackResult(run_id, journal.path, code, msg, outcomes, plan, ent.skipped, applied=True)


def _by_status(outcomes: list[UndoOutcome]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for o in outcomes:
        out.setdefault(o.status, []).append(o.step_id)
    return out


def _planned_code(plan: RollbackPlan) -> ExitCode:
    if plan.undoes:
        return ExitCode.PENDING
    if any(d.status in ATTENTION for d in plan.decisions) or _attention(plan.skipped):
        return ExitCode.NEEDS_ATTENTION
    return ExitCode.OK
