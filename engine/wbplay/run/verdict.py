"""How a run ends: its exit code and one-line outcome.

A run that went its course is judged by one question: was the failure it was
started for (``--for``) explained and fixed?  Every step passing explains
nothing: with a failure named, that is "no cause found" (exit 6), never
"compliant".  Without one, a run is a compliance check and all-ok is success.
A finding that passes when read again after a repair was that repair's
evidence: it is informational and does not keep the run pending.  A run cut
short (declined, refused, interrupted, failed) says so in an outcome of its own.
"""

from __future__ import annotations

from wbplay.errors import ExitCode, HostError
from wbplay.run.results import ERROR, FAILED, FINDING, FIXED, PENDING_STATUSES, RunReport

Verdict = tuple[ExitCode, str]

DECLINED: Verdict = (ExitCode.PENDING, "declined")
INTERRUPTED: Verdict = (ExitCode.INTERRUPTED, "interrupted")
INTERRUPTED_LEFT_IN_PLACE: Verdict = (ExitCode.INTERRUPTED, "interrupted, changes left in place")
NEEDS_HUMAN: Verdict = (ExitCode.PENDING, "refused: a step needs a human and there is no terminal")
PLAN_REFUSED: Verdict = (ExitCode.PENDING, "refused: the plan is out of date")
NO_CAUSE = "no cause found"


def verdict(report: RunReport, dry_run: bool) -> Verdict:
    """The outcome of a run that went its course."""
    statuses = {s.status for s in report.steps}
    if ERROR in statuses or FAILED in statuses:
        return ExitCode.NEEDS_ATTENTION, "some checks could not run" if ERROR in statuses else "failed"
    pending = [
        s for s in report.steps if s.status in PENDING_STATUSES and not (s.status == FINDING and s.verified)
    ]
    if pending:
        return ExitCode.PENDING, "changes pending" if dry_run else "attention needed"
    if FIXED in statuses:
        return ExitCode.OK, "fixed"
    if report.for_failure is not None:
        return ExitCode.NO_CAUSE, NO_CAUSE
    return ExitCode.OK, "compliant"


NOT_ADMIN: Verdict = (ExitCode.NEEDS_ATTENTION, "refused before any change: not an elevated administrator")


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
