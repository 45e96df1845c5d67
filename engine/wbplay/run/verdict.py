"""How a run ends: its exit code and one-line outcome.

A run that went its course is judged from its steps' statuses; a run cut short
(declined, refused, interrupted, failed) says so in an outcome of its own.
"""

from __future__ import annotations

from wbplay.errors import ExitCode, HostError
from wbplay.run.results import ERROR, FAILED, FIXED, PENDING_STATUSES, RunReport

Verdict = tuple[ExitCode, str]

DECLINED: Verdict = (ExitCode.PENDING, "declined")
INTERRUPTED: Verdict = (ExitCode.INTERRUPTED, "interrupted")
INTERRUPTED_LEFT_IN_PLACE: Verdict = (ExitCode.INTERRUPTED, "interrupted, changes left in place")
NEEDS_HUMAN: Verdict = (ExitCode.PENDING, "refused: a step needs a human and there is no terminal")
PLAN_REFUSED: Verdict = (ExitCode.PENDING, "refused: the plan is out of date")


def verdict(report: RunReport, dry_run: bool) -> Verdict:
    """The outcome of a run that went its course, from its steps' statuses."""
    statuses = {s.status for s in report.steps}
    if ERROR in statuses or FAILED in statuses:
        return ExitCode.NEEDS_ATTENTION, "some checks could not run" if ERROR in statuses else "failed"
    if statuses & set(PENDING_STATUSES):
        return ExitCode.PENDING, "changes pending" if dry_run else "attention needed"
    return ExitCode.OK, "compliant" if not any(s.status == FIXED for s in report.steps) else "fixed"


def host_error(e: HostError) -> Verdict:
    """Reads failed before any change: the connection error is the outcome."""
    return e.exit_code, f"host error: {e}"


def after_failure(report: RunReport, *, rolled_back: bool) -> Verdict:
    """A failed step stopped the run; ``rolled_back`` says whether its changes were undone."""
    if not rolled_back:
        return ExitCode.NEEDS_ATTENTION, "failed, changes left in place"
    if report.rollback_failed:
        return ExitCode.NEEDS_ATTENTION, "failed, rollback incomplete"
    return ExitCode.ROLLED_BACK, "failed, rolled back"
