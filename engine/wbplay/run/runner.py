"""The run state machine: when → read → match → ok | drift → (plan | apply → verify) → rollback.

One batched read assesses every step (a dry-run is a single round trip).  A
real run then walks the steps again, re-reading a step's state once anything
has changed, journals each intent before its change, verifies each change and,
on failure, undoes the applied changes in reverse order.  A change whose op
restarts the PC (``OpSpec.reboots``) is followed by a wait for the host to
answer with a new boot time; the dropped connection is expected, not a failure.
"""

from __future__ import annotations

import hashlib
import json
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from wbplay.errors import ExitCode, HostError, PlanError, UsageError
from wbplay.hosts.base import Host
from wbplay.playbook import conditions, matchers
from wbplay.playbook.model import Action, Playbook, Probe, Risk, Step
from wbplay.playbook.variables import substitute
from wbplay.run import rollback
from wbplay.run.journal import Journal, now_iso
from wbplay.run.results import (
    BLOCKED,
    DRIFT,
    ERROR,
    FAILED,
    FINDING,
    FIXED,
    MANUAL,
    OK,
    PENDING_STATUSES,
    ROLLED_BACK,
    SKIPPED,
    Change,
    RunReport,
    StepResult,
)
from wbplay.vocab import actions, probes
from wbplay.vocab.ops import ERROR_TIMEOUT, Op, OpResult, check_args, win32_failure


class Listener(Protocol):
    """Receives every run event (the console); the journal gets the same stream."""

    def event(self, name: str, fields: Mapping[str, Any]) -> None: ...


Confirm = Callable[[RunReport], bool]
AskManual = Callable[[Step, str], bool]  # (step, instruction) -> the human says it is done


@dataclass(frozen=True, slots=True)
class PlanGuard:
    """What an approved plan pins: the facts each step read and the exact changes."""

    facts_fingerprint: str
    fingerprints: Mapping[str, str]  # step id -> fingerprint at plan time
    changes: Mapping[str, Mapping[str, Any]]  # step id -> the planned action


@dataclass(frozen=True, slots=True)
class Options:
    dry_run: bool
    rollback: bool = True
    allow: frozenset[str] = frozenset()  # step ids opted in from the command line
    # chkdsk /r at boot reads every sector: hours on a large HDD (docs/domain.md §6), so wait long.
    reboot_timeout_s: float = 4 * 3600.0  # how long to wait for a host to come back after host.reboot
    reboot_poll_s: float = 10.0  # pause between reconnection attempts
    plan: PlanGuard | None = None  # apply exactly this plan, or refuse
    skip_manual: bool = False  # without a terminal, leave manual steps pending instead of failing


@dataclass(slots=True)
class _Eval:
    observed: Any = None
    matched: bool = False
    before: Any = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class _Bound:
    """A step with its variables substituted: what will really be read and written."""

    step: Step
    check: Probe
    remedy: Action | None
    verify_probe: Probe
    verify_expect: Mapping[str, Any]
    expect: Mapping[str, Any]
    undo: Action | None
    before_probe: Probe | None


class Runner:
    def __init__(
        self,
        playbook: Playbook,
        host: Host,
        *,
        variables: Mapping[str, Any],
        options: Options,
        journal: Journal,
        listener: Listener,
        confirm: Confirm,
        ask_manual: AskManual | None = None,
        host_spec: str = "",
    ) -> None:
        self.host_spec = host_spec
        self.pb = playbook
        self.host = host
        self.vars = dict(variables)
        self.opts = options
        self.journal = journal
        self.listener = listener
        self.confirm = confirm
        self.ask_manual = ask_manual
        self.facts: dict[str, Any] = {}
        self._interrupted = False
        unknown = sorted(options.allow - {s.id for s in playbook.steps})
        if unknown:
            raise UsageError(f"--allow names no step of {playbook.id}: {', '.join(unknown)}")
        self.bound = [self._bind(s) for s in playbook.steps]
        self._step_now: str | None = None  # the step whose op is running, for live output lines
        host.on_output = self._on_output

    # -- binding ------------------------------------------------------------------------
    def _bind(self, step: Step) -> _Bound:
        check = Probe(step.check.kind, substitute(step.check.args, self.vars), step.check.field)
        remedy = Action(step.remedy.kind, substitute(step.remedy.args, self.vars)) if step.remedy else None
        undo = Action(step.undo.kind, substitute(step.undo.args, self.vars)) if step.undo else None
        if step.verify:
            vprobe = step.verify.probe
            verify_probe = Probe(vprobe.kind, substitute(vprobe.args, self.vars), vprobe.field)
            verify_expect: Mapping[str, Any] = substitute(step.verify.expect, self.vars)
        else:
            verify_probe, verify_expect = check, substitute(step.expect, self.vars)
        before = actions.before_probe(remedy) if remedy else None
        for op in [*probes.to_ops(check), *probes.to_ops(verify_probe)] + (
            [actions.to_op(remedy)] if remedy and remedy.kind != "manual" else []
        ):
            problems = check_args(op)
            if problems:
                raise UsageError(f"step {step.id}: after substituting variables, {'; '.join(problems)}")
        expect = substitute(step.expect, self.vars)  # {{ var }} in an expectation is data too
        return _Bound(step, check, remedy, verify_probe, verify_expect, expect, undo, before)

    # -- events -------------------------------------------------------------------------
    def _on_output(self, line: str) -> None:
        self._emit("op.output", step=self._step_now, line=line)

    def _emit(self, name: str, **fields: Any) -> None:
        self.journal.append(name, **fields)
        self.listener.event(name, fields)

    # -- reading --------------------------------------------------------------------------
    def _reads_for(self, b: _Bound) -> list[Probe]:
        out = [b.check]
        if b.before_probe is not None:
            out.append(b.before_probe)
        return out

    def _batch_read(self, probe_list: list[Probe]) -> dict[tuple[str, str], OpResult]:
        ops: dict[tuple[str, str], Op] = {}
        for p in probe_list:
            for op in probes.to_ops(p):  # a probe may join several reads; identical reads run once
                ops.setdefault(op.key(), op)
        results = self.host.read(list(ops.values()))
        return dict(zip(ops.keys(), results, strict=True))

    def _observe(self, probe: Probe, results: Mapping[tuple[str, str], OpResult]) -> tuple[Any, str | None]:
        got = [results[op.key()] for op in probes.to_ops(probe)]
        for result in got:
            if not result.ok:
                err = result.error
                return None, f"{err.message} ({err.hresult})" if err else "read failed"
        return probes.observe_all(probe, got), None

    def _evaluate(self, b: _Bound, results: Mapping[tuple[str, str], OpResult]) -> _Eval:
        observed, error = self._observe(b.check, results)
        if error:
            return _Eval(error=error)
        before = None
        if b.before_probe is not None:
            before, error = self._observe(b.before_probe, results)
            if error:
                return _Eval(observed=observed, error=error)
        return _Eval(observed, matchers.matches(b.expect, observed), before)

    # -- the run --------------------------------------------------------------------------
    def run(self) -> RunReport:
        report = RunReport(
            run_id=self.journal.run_id,
            playbook_id=self.pb.id,
            playbook_title=self.pb.title,
            playbook_sha256=self.pb.sha256,
            host=self.host.identity,
            mode="dry-run" if self.opts.dry_run else "apply",
            variables=dict(self.vars),
            started=now_iso(),
            host_spec=self.host_spec,
            playbook_path=self.pb.path,
        )
        self._emit(
            "run.start",
            playbook={
                "id": self.pb.id,
                "path": self.pb.path,
                "sha256": self.pb.sha256,
                "title": self.pb.title,
            },
            host=self.host.identity,
            host_spec=self.host_spec,
            mode=report.mode,
            variables=self.vars,
        )
        try:
            self._assess(report)
            if self.opts.plan is not None:
                try:
                    self._check_plan(report, self.opts.plan)
                except PlanError:
                    report.outcome, report.exit_code = "refused: the plan is out of date", ExitCode.PENDING
                    self._finish(report)
                    raise
            todo = {s.status for s in report.steps}
            if not self.opts.dry_run and DRIFT in todo and not self.confirm(report):
                report.outcome = "declined"
                report.exit_code = ExitCode.PENDING
                return self._finish(report)
            if not self.opts.dry_run and todo & {DRIFT, MANUAL}:
                with self._sigint_deferred():
                    self._apply(report)
            return self._finish(report)
        except KeyboardInterrupt:
            report.outcome = "interrupted"
            report.exit_code = ExitCode.INTERRUPTED
            return self._finish(report)
        except HostError as e:
            # Reads failed before any change: close the journal properly, then report the connection error.
            report.outcome, report.exit_code = f"host error: {e}", e.exit_code
            self._finish(report)
            raise

    def _finish(self, report: RunReport) -> RunReport:
        if not report.outcome:
            report.exit_code, report.outcome = _verdict(report, self.opts.dry_run)
        report.ended = now_iso()
        self._emit(
            "run.end",
            outcome=report.outcome,
            exit_code=int(report.exit_code),
            counts=report.counts(),
            rolled_back=report.rolled_back,
            rollback_failed=report.rollback_failed,
        )
        return report

    # -- phase 1: assess every step from one batched read ---------------------------------
    def _assess(self, report: RunReport) -> None:
        wanted: list[Probe] = [Probe("os.info", {})]
        for b in self.bound:
            wanted += self._reads_for(b)
        t0 = time.monotonic()
        results = self._batch_read(wanted)
        self.facts = results[Op("os.info", {}).key()].value or {}
        report.facts = dict(self.facts)
        report.facts_fingerprint = _digest(self.facts)
        self._emit("host.facts", facts=self.facts, reads=len(results), ms=_ms(t0))
        planned: dict[str, str] = {}
        for b in self.bound:
            t0 = time.monotonic()
            result = self._classify(b, results, planned)
            result.fingerprint = self._fingerprint(b, results)
            result.duration_ms = _ms(t0)
            planned[b.step.id] = FIXED if result.status == DRIFT else result.status
            report.steps.append(result)
            self._emit_check(b, result)

    def _classify(
        self, b: _Bound, results: Mapping[tuple[str, str], OpResult], statuses: Mapping[str, str]
    ) -> StepResult:
        step = b.step
        expected = matchers.describe(b.expect)
        res = StepResult(step.id, step.title, OK, expected=expected, why=step.why)
        if not conditions.holds(step.when, variables=self.vars, facts=self.facts, statuses=statuses):
            res.status, res.message = SKIPPED, "condition (when) not met"
            return res
        ev = self._evaluate(b, results)
        res.observed = ev.observed
        if ev.error:
            res.status, res.error = ERROR, ev.error
            return res
        if ev.matched:
            return res
        if b.remedy is None:
            res.status, res.message = FINDING, "no automatic remedy: see the step's why"
            return res
        if b.remedy.kind == "manual":
            res.status, res.message = MANUAL, b.remedy.args["instruction"].strip()
            return res
        res.change = self._change(b, ev.before)
        if res.change.risk == Risk.IRREVERSIBLE.label and not self._consented(step):
            res.status = BLOCKED
            consent = f"--var {step.opt_in}=true or " if step.opt_in else ""
            res.message = f"irreversible: runs only with {consent}--allow {step.id}"
            return res
        res.status = DRIFT
        return res

    def _fingerprint(self, b: _Bound, results: Mapping[tuple[str, str], OpResult]) -> str:
        seen = []
        for probe in self._reads_for(b):
            op = probes.to_op(probe)
            r = results[op.key()]
            seen.append([op.name, dict(op.args), r.ok, r.value, r.error.code if r.error else None])
        return _digest(seen)

    def _check_plan(self, report: RunReport, plan: PlanGuard) -> None:
        """Refuse, before any change, unless the host still reads exactly as planned."""
        diffs: list[str] = []
        if report.facts_fingerprint != plan.facts_fingerprint:
            diffs.append("host facts (OS version, build, locale...) differ from the plan")
        by_id = {r.id: r for r in report.steps}
        for step_id, fp in plan.fingerprints.items():
            now = by_id.get(step_id)
            if now is None:
                diffs.append(f"{step_id}: no longer in the playbook")
            elif now.fingerprint != fp:
                diffs.append(
                    f"{step_id}: the host changed since the plan (now observed {matchers.show(now.observed)})"
                )
        for r in report.steps:
            planned = plan.changes.get(r.id)
            current = dict(r.change.action) if r.change else None
            if r.status == DRIFT and planned is None:
                diffs.append(f"{r.id}: would now change, but the plan did not include it")
            elif planned is not None and current is not None and dict(planned) != current:
                diffs.append(f"{r.id}: the planned change differs from what would run now")
        if diffs:
            self._emit("plan.refused", differences=diffs)
            raise PlanError(
                "refusing to apply: the plan no longer matches the host or playbook:\n  - "
                + "\n  - ".join(diffs)
                + "\nMake a new plan and have it reviewed."
            )
        self._emit("plan.matched", steps=len(plan.fingerprints))

    def _consented(self, step: Step) -> bool:
        return step.id in self.opts.allow or (step.opt_in is not None and self.vars.get(step.opt_in) is True)

    def _change(self, b: _Bound, before: Any) -> Change:
        assert b.remedy is not None
        inv = actions.inverse(b.remedy, before, b.undo)
        return Change(
            description=actions.describe(b.remedy, before),
            risk=actions.risk_of(b.remedy, before, b.step.risk).label,
            action={"kind": b.remedy.kind, **b.remedy.args},
            before=before,
            undo={"kind": inv.kind, **inv.args} if inv else None,
        )

    def _emit_check(self, b: _Bound, r: StepResult) -> None:
        self._emit(
            "step.check",
            step=r.id,
            status=r.status,
            observed=r.observed,
            expected=r.expected,
            message=r.message,
            error=r.error,
            ms=r.duration_ms,
        )
        if r.change is not None and r.status in (DRIFT, BLOCKED):
            self._emit(
                "step.plan",
                step=r.id,
                description=r.change.description,
                risk=r.change.risk,
                undo=r.change.undo,
                blocked=r.status == BLOCKED,
            )

    # -- phase 2: apply ---------------------------------------------------------------------
    def _apply(self, report: RunReport) -> None:
        applied: list[rollback.RecordedChange] = []
        statuses: dict[str, str] = {}
        by_id = {r.id: r for r in report.steps}
        for b in self.bound:
            self._step_now = b.step.id
            try:
                res, change = self._process(b, by_id[b.step.id], statuses, changed=bool(applied))
            except HostError as e:
                # The connection failed mid-step: whatever this step did is unknown, so stop
                # and let the rollback re-read the host to find out.
                res = by_id[b.step.id]
                res.status, res.error = FAILED, f"lost the host during this step: {e}"
                self._emit("change.failed", step=b.step.id, error=res.error, ms=0)
                change = self._recorded(b, res) if res.change is not None else None
            if change is not None:
                applied.append(change)
            by_id[b.step.id] = res
            statuses[b.step.id] = res.status
            if res.status == FAILED and b.step.on_failure != "continue":
                self._stop_after_failure(report, by_id, applied, b.step)
                return
            if self._interrupted:
                self._emit("run.interrupted", after_step=b.step.id)
                report.steps = [by_id[s.id] for s in self.pb.steps]
                self._roll_back(report, by_id, applied)
                report.outcome, report.exit_code = "interrupted", ExitCode.INTERRUPTED
                return
        report.steps = [by_id[s.id] for s in self.pb.steps]

    def _process(
        self, b: _Bound, res: StepResult, statuses: Mapping[str, str], *, changed: bool
    ) -> tuple[StepResult, rollback.RecordedChange | None]:
        """One step of a real run: re-check if needed, then ask a human or change and verify."""
        if changed:
            # Something changed since the batch read: decide on fresh facts.
            t0 = time.monotonic()
            new = self._classify(b, self._batch_read(self._reads_for(b)), statuses)
            new.duration_ms = _ms(t0)
            if (new.status, new.observed) != (res.status, res.observed):
                self._emit_check(b, new)
            res = new
        plan = self.opts.plan
        if plan is not None and res.status == DRIFT and b.step.id not in plan.changes:
            res.message = "not in the approved plan: left unchanged"
            self._emit("step.unplanned", step=b.step.id, observed=res.observed)
            return res, None
        if res.status == MANUAL:
            return self._manual(b, res), None
        if res.status == DRIFT:
            return self._change_step(b, res)
        return res, None

    def _manual(self, b: _Bound, res: StepResult) -> StepResult:
        if self.ask_manual is None:
            if self.opts.skip_manual:
                self._emit(
                    "step.manual", step=b.step.id, instruction=res.message, answer="skipped (--skip-manual)"
                )
                return res
            res.status = FAILED
            res.error = (
                "this step needs a human and there is no terminal to ask: run wbplay interactively, "
                "or pass --skip-manual to leave it pending"
            )
            self._emit("step.manual", step=b.step.id, instruction=res.message, answer="no terminal")
            self._emit("change.failed", step=b.step.id, error=res.error, ms=0)
            return res
        done = self.ask_manual(b.step, res.message)
        self._emit(
            "step.manual", step=b.step.id, instruction=res.message, answer="done" if done else "not done"
        )
        if not done:
            return res
        fresh = self._batch_read([b.verify_probe])
        observed, error = self._observe(b.verify_probe, fresh)
        ok = error is None and matchers.matches(b.verify_expect, observed)
        self._emit("step.verify", step=b.step.id, observed=observed, ok=ok, error=error)
        if ok:
            res.status, res.observed, res.verified = FIXED, observed, True
        return res

    def _change_step(self, b: _Bound, res: StepResult) -> tuple[StepResult, rollback.RecordedChange | None]:
        assert b.remedy is not None and res.change is not None
        change = res.change
        recorded = self._recorded(b, res)
        t0 = time.monotonic()
        self._emit(
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
        result = self._reboot(b.step.id, op) if op.spec.reboots else self.host.apply(op)
        if not result.ok:
            err = result.error
            res.status = FAILED
            res.error = f"{err.message} ({err.hresult})" if err else "the change failed"
            self._emit("change.failed", step=b.step.id, error=res.error, ms=_ms(t0))
            return res, recorded  # may have partly landed: rollback re-reads to find out
        self._emit("change.done", step=b.step.id, ms=_ms(t0))
        fresh = self._batch_read([b.verify_probe])
        observed, error = self._observe(b.verify_probe, fresh)
        ok = error is None and matchers.matches(b.verify_expect, observed)
        self._emit(
            "step.verify",
            step=b.step.id,
            observed=observed,
            expected=matchers.describe(b.verify_expect),
            ok=ok,
            error=error,
            ms=_ms(t0),
        )
        res.verified = ok
        res.duration_ms = _ms(t0)
        if ok:
            res.status, res.observed = FIXED, observed
        else:
            res.status = FAILED
            res.error = error or (
                f"verification failed: observed {matchers.show(observed)}, "
                f"expected {matchers.describe(b.verify_expect)}"
            )
        return res, recorded

    def _recorded(self, b: _Bound, res: StepResult) -> rollback.RecordedChange:
        assert b.remedy is not None and res.change is not None
        undo = res.change.undo
        inverse = Action(undo["kind"], {k: v for k, v in undo.items() if k != "kind"}) if undo else None
        return rollback.RecordedChange(b.step.id, b.remedy, res.change.before, b.before_probe, inverse)

    # -- reboots ----------------------------------------------------------------------------
    def _boot_time(self) -> Any:
        result = self.host.read([Op("os.info", {})])[0]
        return result.value.get("boot_time") if result.ok and result.value else None

    def _reboot(self, step_id: str, op: Op) -> OpResult:
        """Send a restart, then wait until the host answers with a new boot time.

        The connection usually drops while the restart request is in flight; that is the
        expected outcome, not a failure, so transport errors are tolerated here and the new
        boot time is the proof that the PC restarted (work scheduled for boot, such as a
        chkdsk pass, has run by then).
        """
        before = self._boot_time()
        try:
            sent = self.host.apply(op)
        except HostError as e:
            self._emit("host.reboot.dropped", step=step_id, error=str(e))
        else:
            if not sent.ok:
                return sent
        self._emit("host.reboot.wait", step=step_id, boot_time=before, timeout_s=self.opts.reboot_timeout_s)
        deadline = time.monotonic() + self.opts.reboot_timeout_s
        while True:
            try:
                now = self._boot_time()
            except HostError as e:
                now = None
                self._emit("host.reboot.retry", step=step_id, error=str(e))
            if now is not None and now != before:
                self._emit("host.back", step=step_id, boot_time=now)
                return OpResult.success()
            if self._interrupted:
                return OpResult.failure(ERROR_TIMEOUT, "interrupted while waiting for the PC to restart")
            if time.monotonic() >= deadline:
                return win32_failure(ERROR_TIMEOUT)
            time.sleep(self.opts.reboot_poll_s)

    def _stop_after_failure(
        self,
        report: RunReport,
        by_id: dict[str, StepResult],
        applied: list[rollback.RecordedChange],
        failed: Step,
    ) -> None:
        if not self.opts.rollback or failed.on_failure == "stop":
            report.steps = [by_id[s.id] for s in self.pb.steps]
            why = "--no-rollback" if not self.opts.rollback else f"on_failure: stop in {failed.id}"
            self._emit("rollback.skipped", reason=why, changes=[c.step_id for c in applied])
            report.outcome = "failed, changes left in place"
            report.exit_code = ExitCode.NEEDS_ATTENTION
            return
        report.steps = [by_id[s.id] for s in self.pb.steps]
        self._roll_back(report, by_id, applied)
        if report.rollback_failed:
            report.outcome, report.exit_code = "failed, rollback incomplete", ExitCode.NEEDS_ATTENTION
        else:
            report.outcome, report.exit_code = "failed, rolled back", ExitCode.ROLLED_BACK

    def _roll_back(
        self, report: RunReport, by_id: dict[str, StepResult], applied: list[rollback.RecordedChange]
    ) -> None:
        self._emit("rollback.start", changes=[c.step_id for c in applied])
        outcomes = rollback.undo(self.host, applied, self._emit)
        for o in outcomes:
            if o.status in ("undone", "not-applied"):
                report.rolled_back.append(o.step_id)
                if by_id[o.step_id].status == FIXED:
                    by_id[o.step_id].status = ROLLED_BACK
            else:
                report.rollback_failed.append(o.step_id)
        report.steps = [by_id[s.id] for s in self.pb.steps]
        self._emit("rollback.end", undone=report.rolled_back, failed=report.rollback_failed)

    @contextmanager
    def _sigint_deferred(self) -> Iterator[None]:
        """Ctrl-C during a change finishes that change, then rolls back cleanly."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: object) -> None:
            self._interrupted = True

        previous = signal.signal(signal.SIGINT, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)


def _verdict(report: RunReport, dry_run: bool) -> tuple[ExitCode, str]:
    statuses = {s.status for s in report.steps}
    if ERROR in statuses or FAILED in statuses:
        return ExitCode.NEEDS_ATTENTION, "some checks could not run" if ERROR in statuses else "failed"
    if statuses & set(PENDING_STATUSES):
        return ExitCode.PENDING, "changes pending" if dry_run else "attention needed"
    return ExitCode.OK, "compliant" if not any(s.status == FIXED for s in report.steps) else "fixed"


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def _probe_dict(p: Probe | None) -> dict[str, Any] | None:
    return None if p is None else {"kind": p.kind, "args": dict(p.args), "field": p.field}


def _ms(t0: float) -> int:
    return int((time.monotonic() - t0) * 1000)
