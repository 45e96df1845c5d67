"""The run state machine: when → read → match → ok | drift → (plan | apply → verify) → rollback.

One batched read assesses every step (a dry-run is a single round trip).  A
real run then walks the steps again, re-reading a step's state once anything
has changed, journals each intent before its change, verifies each change and,
on failure, undoes the applied changes in reverse order.  A change whose op
restarts the PC (``OpSpec.reboots``) is followed by a wait for the host to
answer with a new boot time; the dropped connection is expected, not a failure.

The phases live beside this module: :mod:`.binding` (variables substituted),
:mod:`.assess` (reading and judging a step), :mod:`.planguard` (an approved
plan must still match), :mod:`.apply` (change, verify, undo; :mod:`.reboot`)
and :mod:`.verdict` (exit code and outcome).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from wbplay.errors import ExitCode, HostError, PlanError, UsageError
from wbplay.hosts.base import Host
from wbplay.playbook.model import Playbook, Probe, Risk
from wbplay.run import identity, planguard, verdict
from wbplay.run.apply import apply_changes
from wbplay.run.assess import batch_read, batched, classify, digest, emit_check, fingerprint
from wbplay.run.binding import bind
from wbplay.run.context import RunContext, ms_since
from wbplay.run.journal import Journal, now_iso
from wbplay.run.options import AskManual, Confirm, Listener, Options
from wbplay.run.results import DRIFT, FIXED, MANUAL, RunReport
from wbplay.vocab.ops import Op, OpResult


def check_allow(playbook: Playbook, allow: frozenset[str]) -> None:
    """``--allow`` must name steps of this playbook (a typo would silently opt in to nothing)."""
    unknown = sorted(allow - {s.id for s in playbook.steps})
    if unknown:
        steps = ", ".join(s.id for s in playbook.steps if s.risk == Risk.IRREVERSIBLE or s.opt_in) or "none"
        raise UsageError(
            f"--allow names no step of {playbook.id}: {', '.join(unknown)} (steps that take --allow: {steps})"
        )


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
        resumes: str = "",
        fleet: str = "",
    ) -> None:
        self.host_spec = host_spec
        self.resumes = resumes  # the run this one carries on (``wbplay resume RUN``)
        self.fleet = fleet  # the fleet run this PC's run belongs to (``wbplay rollback --fleet ID``)
        self.pb = playbook
        self.ctx = RunContext(
            host,
            dict(variables),
            options,
            journal,
            listener,
            steps={s.id: s for s in playbook.steps},
            var_docs={name: spec.description for name, spec in playbook.vars.items()},
        )
        self.confirm = confirm
        self.ask_manual = ask_manual
        check_allow(playbook, options.allow)
        self.bound = [bind(s, self.ctx.variables) for s in playbook.steps]
        self._not_admin: str | None = None  # why this account may not change the PC, if it may not
        host.on_output = self._on_output

    def _on_output(self, line: str) -> None:
        self.ctx.emit("op.output", step=self.ctx.step_now, line=line)

    # -- the run --------------------------------------------------------------------------
    def run(self) -> RunReport:
        ctx, opts = self.ctx, self.ctx.options
        report = RunReport(
            run_id=ctx.journal.run_id,
            playbook_id=self.pb.id,
            playbook_title=self.pb.title,
            playbook_sha256=self.pb.sha256,
            host=ctx.host.identity,
            mode="dry-run" if opts.dry_run else "apply",
            variables=dict(ctx.variables),
            started=now_iso(),
            host_spec=self.host_spec,
            playbook_path=self.pb.path,
            journal_path=str(ctx.journal.path),
            for_failure=opts.for_failure,
        )
        ctx.emit(
            "run.start",
            playbook={
                "id": self.pb.id,
                "path": self.pb.path,
                "sha256": self.pb.sha256,
                "title": self.pb.title,
            },
            host=ctx.host.identity,
            host_spec=self.host_spec,
            mode=report.mode,
            variables=ctx.variables,
            # What `wbplay resume` needs to run it again exactly so (variables are above).
            allow=sorted(opts.allow),
            plan=opts.plan is not None,
            **({"resumes": self.resumes} if self.resumes else {}),
            **({"fleet": self.fleet} if self.fleet else {}),
            for_failure=_failure_dict(report),
        )
        try:
            self._assess(report)
            if opts.plan is not None:
                try:
                    planguard.check(report, opts.plan, ctx.emit)
                except PlanError as e:  # out of date (1) or edited (2): the error knows which
                    report.exit_code, report.outcome = e.exit_code, e.outcome
                    self._finish(report)
                    raise
            todo = {s.status for s in report.steps}
            if DRIFT in todo and self._not_admin is not None:
                ctx.emit("run.precondition", ok=False, reason=self._not_admin, dry_run=opts.dry_run)
                if not opts.dry_run:
                    report.exit_code, report.outcome = verdict.NOT_ADMIN
                    return self._finish(report)
            if not opts.dry_run and MANUAL in todo and self.ask_manual is None and not opts.skip_manual:
                # Refuse before the first change, not after changing things and rolling them back.
                manual = [s.id for s in report.steps if s.status == MANUAL]
                ctx.emit("run.refused", reason="no terminal to ask a human", manual=manual)
                report.exit_code, report.outcome = verdict.NEEDS_HUMAN
                return self._finish(report)
            if not opts.dry_run and DRIFT in todo and not self.confirm(report):
                report.exit_code, report.outcome = verdict.DECLINED
                return self._finish(report)
            if not opts.dry_run and todo & {DRIFT, MANUAL}:
                with self._sigint_deferred():
                    apply_changes(ctx, self.bound, report, self.ask_manual)
            return self._finish(report)
        except KeyboardInterrupt:
            report.exit_code, report.outcome = verdict.INTERRUPTED
            return self._finish(report)
        except HostError as e:
            # Reads failed before any change: close the journal properly, then report the connection error.
            report.exit_code, report.outcome = verdict.host_error(e)
            self._finish(report)
            raise

    def _finish(self, report: RunReport) -> RunReport:
        if not report.outcome:
            report.exit_code, report.outcome = verdict.verdict(report, self.ctx.options.dry_run)
        report.first_needed = [s.id for s in report.steps if s.id in self.ctx.waited_for]
        if report.exit_code == ExitCode.NO_CAUSE and report.for_failure is not None:
            report.next_playbooks = list(report.for_failure.alternatives)
        report.ended = now_iso()
        self.ctx.emit(
            "run.end",
            outcome=report.outcome,
            exit_code=int(report.exit_code),
            counts=report.counts(),
            rolled_back=report.rolled_back,
            rollback_failed=report.rollback_failed,
            first_needed=report.first_needed,
            next_playbooks=report.next_playbooks,
        )
        return report

    # -- phase 1: assess every step from one batched read ---------------------------------
    def _assess(self, report: RunReport) -> None:
        ctx = self.ctx
        wanted: list[Probe] = [Probe("os.info", {}), identity.GUID_PROBE]  # the same batch: no extra trip
        writes = any(b.remedy is not None and b.remedy.kind != "manual" for b in self.bound)
        if writes:
            wanted.append(_SESSION)  # a playbook that writes needs an elevated admin: checked up front
        for b in self.bound:
            wanted += batched(b, ctx.variables)  # a slow scan waits for its when (assess.py)
        t0 = time.monotonic()
        results = batch_read(ctx.host, wanted)
        if writes:
            self._not_admin = _admin_problem(results)
        ctx.facts = results[Op("os.info", {}).key()].value or {}
        report.facts = dict(ctx.facts)
        report.facts_fingerprint = digest(ctx.facts)
        ctx.emit("host.facts", facts=ctx.facts, reads=len(results), ms=ms_since(t0))
        # Which PC this is, for `wbplay rollback` to check before it writes anything back.
        ctx.emit("host.identity", **identity.from_reads(results).to_record(), user=ctx.host.user)
        planned: dict[str, str] = {}
        for b in self.bound:
            t0 = time.monotonic()
            result = classify(ctx, b, results, planned, fetch=lambda more: batch_read(ctx.host, more))
            result.fingerprint = fingerprint(b, results)
            result.duration_ms = ms_since(t0)
            planned[b.step.id] = FIXED if result.status == DRIFT else result.status
            report.steps.append(result)
            emit_check(ctx, result)

    @contextmanager
    def _sigint_deferred(self) -> Iterator[None]:
        """Ctrl-C (or SIGTERM) during a change finishes that change, then rolls back cleanly; during
        a wait (``RunContext.interruptible``: a prompt, a restart) it stops the wait at once."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: object) -> None:
            self.ctx.interrupted = True
            if self.ctx.waiting:
                raise KeyboardInterrupt

        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)


# Preconditions are the runner's, not a step's: every playbook that writes gets them, before
# its first change and in the same batched read, without each author remembering a step.
_SESSION = Probe("session", {})


def _admin_problem(results: Mapping[tuple[str, str], OpResult]) -> str | None:
    """Why the account may not change the PC (not an admin, not elevated), or None."""
    r = results[Op("session.info", {}).key()]
    if not r.ok or not isinstance(r.value, dict):
        return None  # cannot tell: the first change will say so itself (access denied)
    user = r.value.get("user") or "this account"
    if not r.value.get("is_admin"):
        return f"{user} is not an administrator: Windows refuses every change (access denied)"
    if not r.value.get("elevated"):
        return (
            f"{user} is an administrator without elevation (UAC filtered its token): Windows refuses "
            "every change. Run from an elevated prompt, or over WinRM as a domain admin "
            "(or set LocalAccountTokenFilterPolicy for a local admin)"
        )
    return None


def _failure_dict(report: RunReport) -> dict[str, Any] | None:
    f = report.for_failure
    return None if f is None else {"code": f.code, "source": f.source, "target": f.target}
