"""Phase 2 of a real run: change, verify, undo.

The steps are walked again in order, each re-read once anything has changed.
A manual step asks a human and then verifies; a drift journals its intent
before the change, then verifies it.  A failed step (or Ctrl-C) undoes the
applied changes in reverse order, unless the run or the step says not to.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from typing import Any

from wbplay.errors import HostError
from wbplay.playbook import matchers
from wbplay.playbook.model import Action, Probe, Step
from wbplay.run import rollback, verdict
from wbplay.run.assess import batch_read, classify, emit_check, observe
from wbplay.run.binding import Bound, reads_for
from wbplay.run.context import RunContext, ms_since
from wbplay.run.journal import now_iso
from wbplay.run.options import AskManual
from wbplay.run.reboot import answers, reboot
from wbplay.run.recorded import MISSING
from wbplay.run.results import DRIFT, FAILED, FINDING, FIXED, MANUAL, ROLLED_BACK, RunReport, StepResult
from wbplay.vocab import actions


def apply_changes(
    ctx: RunContext, bound: Sequence[Bound], report: RunReport, ask_manual: AskManual | None
) -> None:
    """Apply the assessed ``report``'s drifts and manual steps, updating it in place."""
    _Apply(ctx, bound, report, ask_manual).run()


class _Apply:
    def __init__(
        self, ctx: RunContext, bound: Sequence[Bound], report: RunReport, ask_manual: AskManual | None
    ) -> None:
        self.ctx = ctx
        self.bound = bound
        self.report = report
        self.ask_manual = ask_manual
        self.applied: list[rollback.RecordedChange] = []
        self.by_id = {r.id: r for r in report.steps}

    def run(self) -> None:
        ctx, by_id = self.ctx, self.by_id
        statuses: dict[str, str] = {}
        for b in self.bound:
            ctx.step_now = b.step.id
            try:
                res, change = self._process(b, by_id[b.step.id], statuses, changed=bool(self.applied))
            except HostError as e:
                # The connection failed mid-step: whatever this step did is unknown, so stop
                # and let the rollback re-read the host to find out (if it answers again).
                res = by_id[b.step.id]
                res.status, res.error = FAILED, f"lost the host during this step: {e}"
                ctx.host_away = ctx.host_away or f"the connection was lost during {b.step.id}"
                ctx.emit("change.failed", step=b.step.id, error=res.error, ms=0)
                change = _recorded(b, res) if res.change is not None else None
            if change is not None:
                self.applied.append(change)
            by_id[b.step.id] = res
            statuses[b.step.id] = res.status
            if ctx.interrupted or (ctx.options.stop is not None and ctx.options.stop.is_set()):
                ctx.emit("run.interrupted", after_step=b.step.id)
                self._stop(None)
                return
            if res.status == FAILED and b.step.on_failure != "continue":
                self._stop(b.step)
                return
        if any(r.status == FIXED for r in by_id.values()):
            self._recheck_findings()
        self._sync_report()

    def _recheck_findings(self) -> None:
        """After a repair, read the findings again: one that passes now was its evidence, not a
        problem left over, and it no longer keeps the run pending (informational)."""
        for b in self.bound:
            res = self.by_id[b.step.id]
            if res.status != FINDING:
                continue
            observed, error = observe(b.check, batch_read(self.ctx.host, reads_for(b)))
            if error is None and matchers.matches(b.expect, observed):
                res.verified = True
                res.message = f"resolved by the repair: now observed {matchers.show(observed)}"
                self.ctx.emit("finding.resolved", step=b.step.id, observed=observed, before=res.observed)

    def _sync_report(self) -> None:
        self.report.steps = [self.by_id[b.step.id] for b in self.bound]

    def _process(
        self, b: Bound, res: StepResult, statuses: Mapping[str, str], *, changed: bool
    ) -> tuple[StepResult, rollback.RecordedChange | None]:
        """One step of a real run: re-check if needed, then ask a human or change and verify."""
        ctx = self.ctx
        if changed:
            # Something changed since the batch read: decide on fresh facts.
            t0 = time.monotonic()
            new = classify(ctx, b, batch_read(ctx.host, reads_for(b)), statuses)
            new.duration_ms = ms_since(t0)
            if (new.status, new.observed) != (res.status, res.observed):
                emit_check(ctx, new)
            res = new
        plan = ctx.options.plan
        if plan is not None and res.status == DRIFT and b.step.id not in plan.changes:
            res.message = "not in the approved plan: left unchanged"
            ctx.emit("step.unplanned", step=b.step.id, observed=res.observed)
            return res, None
        if res.status == MANUAL:
            return self._manual(b, res), None
        if res.status == DRIFT:
            return self._change_step(b, res)
        return res, None

    def _manual(self, b: Bound, res: StepResult) -> StepResult:
        ctx = self.ctx
        if self.ask_manual is None:
            if ctx.options.skip_manual:
                ctx.emit(
                    "step.manual", step=b.step.id, instruction=res.message, answer="skipped (--skip-manual)"
                )
                return res
            # Only a manual step the assessment did not foresee gets here (the runner refuses a
            # run with a foreseen one before any change).
            res.status = FAILED
            res.error = (
                "this step needs a human and there is no terminal to ask: run wbplay interactively, "
                "or pass --skip-manual to leave it pending"
            )
            ctx.emit("step.manual", step=b.step.id, instruction=res.message, answer="no terminal")
            ctx.emit("change.failed", step=b.step.id, error=res.error, ms=0)
            return res
        try:
            with ctx.interruptible():  # Ctrl-C at the prompt acts at once, not after Enter
                done = self.ask_manual(b.step, res.message)
        except KeyboardInterrupt:
            ctx.interrupted = True
            ctx.emit("step.manual", step=b.step.id, instruction=res.message, answer="interrupted")
            return res
        ctx.emit(
            "step.manual", step=b.step.id, instruction=res.message, answer="done" if done else "not done"
        )
        if not done:
            return res
        observed, error, ok, _ = self._verify(b)
        expected = matchers.describe(b.verify_expect)
        ctx.emit("step.verify", step=b.step.id, observed=observed, expected=expected, ok=ok, error=error)
        res.observed, res.verified = observed, ok
        if ok:
            res.status = FIXED
        else:
            res.status = FAILED
            res.error = error or (
                f"answered done, but verification failed: observed {matchers.show(observed)}, "
                f"expected {expected}"
            )
        return res

    def _change_step(self, b: Bound, res: StepResult) -> tuple[StepResult, rollback.RecordedChange | None]:
        assert b.remedy is not None and res.change is not None
        ctx = self.ctx
        change = res.change
        recorded = _recorded(b, res)
        t0 = time.monotonic()
        ctx.emit(
            "change.intent",
            step=b.step.id,
            action=change.action,
            description=change.description,
            risk=change.risk,
            before=change.before,
            before_probe=_probe_dict(b.before_probe),
            inverse=change.undo,
        )
        op = actions.to_op(b.remedy)
        result = reboot(ctx, b.step.id, op) if op.spec.reboots else ctx.host.apply(op)
        if not result.ok:
            err = result.error
            res.status = FAILED
            res.error = f"{err.message} ({err.hresult})" if err else "the change failed"
            ctx.emit("change.failed", step=b.step.id, error=res.error, ms=ms_since(t0))
            # It may have partly landed: rollback re-reads to find out.
            return res, dataclasses.replace(recorded, failed=res.error)
        ctx.emit("change.done", step=b.step.id, ms=ms_since(t0))
        done_at = now_iso()
        observed, error, ok, after = self._verify(b, also=b.before_probe)
        # `after`: what the before-probe reads now, so a rollback can tell if anyone changed it since.
        ctx.emit(
            "step.verify",
            step=b.step.id,
            observed=observed,
            expected=matchers.describe(b.verify_expect),
            ok=ok,
            error=error,
            ms=ms_since(t0),
            **({} if after is MISSING else {"after": after}),
        )
        recorded = dataclasses.replace(recorded, done=done_at, after=after)
        res.verified = ok
        res.duration_ms = ms_since(t0)
        if ok:
            res.status, res.observed = FIXED, observed
        else:
            res.status = FAILED
            res.error = error or (
                f"verification failed: observed {matchers.show(observed)}, "
                f"expected {matchers.describe(b.verify_expect)}"
            )
        return res, recorded

    def _verify(self, b: Bound, also: Probe | None = None) -> tuple[Any, str | None, bool, Any]:
        """A fresh read of the step's verify probe: (observed, error, matches the expectation, and the
        value of ``also`` read in the same batch, or MISSING)."""
        fresh = batch_read(self.ctx.host, [b.verify_probe] + ([also] if also is not None else []))
        observed, error = observe(b.verify_probe, fresh)
        after: Any = MISSING
        if also is not None:
            value, also_error = observe(also, fresh)
            after = MISSING if also_error else value
        return observed, error, error is None and matchers.matches(b.verify_expect, observed), after

    # -- undo -----------------------------------------------------------------------------
    def _stop(self, failed: Step | None) -> None:
        """Stop here, after a failed step (``failed``) or Ctrl-C (``None``): roll back what was
        applied unless told not to, or unless the PC is not answering (every undo would fail
        against it; ``wbplay rollback RUN`` does it once the PC is back)."""
        ctx, report = self.ctx, self.report
        self._sync_report()
        why = ""
        if not ctx.options.rollback:
            why = "--no-rollback"
        elif failed is not None and failed.on_failure == "stop":
            why = f"on_failure: stop in {failed.id}"
        elif ctx.host_away and self.applied and (ctx.interrupted or not answers(ctx.host)):
            # After Ctrl-C, do not probe a PC that is away: the operator wants out now.
            why = f"{ctx.host_away}; it is not answering"
        if why:
            ctx.emit("rollback.skipped", reason=why, changes=[c.step_id for c in self.applied])
        else:
            self._roll_back()
        if failed is None:
            report.exit_code, report.outcome = (
                verdict.INTERRUPTED_LEFT_IN_PLACE if why and self.applied else verdict.INTERRUPTED
            )
        else:
            report.exit_code, report.outcome = verdict.after_failure(report, rolled_back=not why)

    def _roll_back(self) -> None:
        ctx, report, by_id = self.ctx, self.report, self.by_id
        ctx.emit("rollback.start", changes=[c.step_id for c in self.applied])
        # An undo that is itself irreversible runs only for steps the operator named with --allow.
        policy = rollback.UndoPolicy(allow=ctx.options.allow, run_id=ctx.journal.run_id)
        outcomes = rollback.undo(ctx.host, self.applied, ctx.emit, policy)
        for o in outcomes:
            if o.status == "undone":
                report.rolled_back.append(o.step_id)
                if by_id[o.step_id].status == FIXED:
                    by_id[o.step_id].status = ROLLED_BACK
            elif o.status in rollback.ATTENTION:
                report.rollback_failed.append(o.step_id)
            # "not-applied" (it never landed) and "ran" (a restart) are neither undone nor failed.
        self._sync_report()
        ctx.emit("rollback.end", undone=report.rolled_back, failed=report.rollback_failed)


def _recorded(b: Bound, res: StepResult) -> rollback.RecordedChange:
    assert b.remedy is not None and res.change is not None
    undo = res.change.undo
    inverse = Action(undo["kind"], {k: v for k, v in undo.items() if k != "kind"}) if undo else None
    return rollback.RecordedChange(b.step.id, b.remedy, res.change.before, b.before_probe, inverse)


def _probe_dict(p: Probe | None) -> dict[str, Any] | None:
    return None if p is None else {"kind": p.kind, "args": dict(p.args), "field": p.field}
