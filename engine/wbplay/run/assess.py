"""Judging a step from what the host read.

Reads are batched (a probe may join several ops; identical reads run once).  A
step is then skipped, ok, a finding, manual, blocked or drift, and a drift
carries the change it would make.

A step's ``when`` is decided before its reads are needed: a slow read (a
scan that takes minutes on a real PC, ``SLOW_OPS``) of a step with a ``when``
is left out of the batch (:func:`batched`) and made only once that ``when``
holds (``fetch``), so a step that ends SKIPPED never runs its scan.  Fast
reads of such steps still ride in the one batched read: skipping them would
cost a round trip each, and they change nothing.  The fingerprint of what a step read is what
a saved plan pins.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from wbplay.hosts.base import Host
from wbplay.playbook import conditions, matchers
from wbplay.playbook.model import Probe, Risk, Step
from wbplay.run.binding import Bound, reads_for
from wbplay.run.context import RunContext
from wbplay.run.results import BLOCKED, DRIFT, ERROR, FINDING, MANUAL, OK, SKIPPED, Change, StepResult
from wbplay.vocab import actions, probes
from wbplay.vocab.ops import SLOW_OPS, Op, OpResult

Reads = Mapping[tuple[str, str], OpResult]  # op key -> what the host answered
Fetch = Callable[[list[Probe]], Reads]  # reads probes the batch left out


@dataclass(slots=True)
class _Eval:
    observed: Any = None
    matched: bool = False
    before: Any = None
    error: str | None = None


def batch_read(host: Host, probe_list: list[Probe]) -> dict[tuple[str, str], OpResult]:
    ops: dict[tuple[str, str], Op] = {}
    for p in probe_list:
        for op in probes.to_ops(p):  # a probe may join several reads; identical reads run once
            ops.setdefault(op.key(), op)
    results = host.read(list(ops.values()))
    return dict(zip(ops.keys(), results, strict=True))


def is_slow(probe: Probe) -> bool:
    return any(op.name in SLOW_OPS for op in probes.to_ops(probe))


def batched(b: Bound, variables: Mapping[str, Any]) -> list[Probe]:
    """What of the step's reads goes into the up-front batch: all but the slow ones of a step
    whose ``when`` is not known to hold yet (it names host facts or earlier steps, or is false)."""
    reads = reads_for(b)
    when = b.step.when
    if when is None or (_on_variables_only(when) and conditions.holds(when, variables=variables, facts={},
                                                                        statuses={})):
        return reads
    return [p for p in reads if not is_slow(p)]


def _on_variables_only(cond: Any) -> bool:
    if isinstance(cond, list | tuple):
        return all(_on_variables_only(c) for c in cond)
    if not isinstance(cond, Mapping):
        return False
    if "var" in cond:
        return True
    for key in ("all", "any"):
        if key in cond:
            return _on_variables_only(cond[key])
    return "not" in cond and _on_variables_only(cond["not"])


def _complete(b: Bound, results: MutableMapping[tuple[str, str], OpResult], fetch: Fetch) -> None:
    """Read what the step needs and ``results`` lacks (its ``when`` held)."""
    missing = [p for p in reads_for(b) if any(op.key() not in results for op in probes.to_ops(p))]
    if missing:
        results.update(fetch(missing))


def observe(probe: Probe, results: Reads) -> tuple[Any, str | None]:
    """The probe's observed value, or the error of the first of its reads that failed."""
    got = [results[op.key()] for op in probes.to_ops(probe)]
    for result in got:
        if not result.ok:
            err = result.error
            return None, f"{err.message} ({err.hresult})" if err else "read failed"
    return probes.observe_all(probe, got), None


def _evaluate(b: Bound, results: Reads) -> _Eval:
    observed, error = observe(b.check, results)
    if error:
        return _Eval(error=error)
    before = None
    if b.before_probe is not None:
        before, error = observe(b.before_probe, results)
        if error:
            return _Eval(observed=observed, error=error)
    return _Eval(observed, matchers.matches(b.expect, observed), before)


def classify(
    ctx: RunContext,
    b: Bound,
    results: MutableMapping[tuple[str, str], OpResult],
    statuses: Mapping[str, str],
    fetch: Fetch | None = None,
) -> StepResult:
    """The step's status from ``results``; ``statuses`` are the earlier steps' (for ``when``).

    Reads ``results`` lacks are made through ``fetch`` (and added to
    ``results``), only once the step's ``when`` holds.
    """
    step = b.step
    expected = matchers.describe(b.expect)
    res = StepResult(step.id, step.title, OK, expected=expected, why=step.why)
    if not conditions.holds(step.when, variables=ctx.variables, facts=ctx.facts, statuses=statuses):
        guard = _guarded_by(ctx, step, statuses)
        if guard is not None:
            res.status, res.message = BLOCKED, guard
        else:
            res.status, res.message = SKIPPED, "condition (when) not met"
        return res
    if fetch is not None:
        _complete(b, results, fetch)
    ev = _evaluate(b, results)
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
    res.change = _change(b, ev.before)
    first = _waits_for(ctx, step, statuses)
    if first is not None:
        # Consent follows the evidence: a later repair is not offered while an earlier one is held back.
        ctx.waited_for.add(first.id)
        res.status = SKIPPED
        res.message = f"not offered: {first.id} ({first.title}) must happen first, and it is blocked"
        return res
    if res.change.risk == Risk.IRREVERSIBLE.label and not _consented(ctx, step):
        res.status = BLOCKED
        consent = f"--var {step.opt_in}=true or " if step.opt_in else ""
        res.message = f"irreversible: runs only with {consent}--allow {step.id}"
        return res
    res.status = DRIFT
    return res


def _guarded_by(ctx: RunContext, step: Step, statuses: Mapping[str, str]) -> str | None:
    """Why ``step`` is held back by a safety guard, or None when its ``when`` is plain branching.

    A guard is a check-only step whose own ``when`` is ``{var: V, equals: false}``: a finding
    there holds back the steps that require it to be ok, and ``--var V=true`` lifts it.
    """
    for ref in _required_steps(step.when):
        guard = ctx.steps.get(ref)
        if guard is None or guard.remedy is not None or statuses.get(ref) != FINDING:
            continue
        lifts = [c["var"] for c in _conjuncts(guard.when) if "var" in c and c.get("equals") is False]
        var = lifts[0] if lifts else None
        if var is None:
            continue
        why = ctx.var_docs.get(var, "").strip()
        return (
            f"held back by {guard.id} ({guard.title}): {why} "
            f"To go ahead anyway: --var {var}=true"
        ).replace("  ", " ")
    return None


def _waits_for(ctx: RunContext, step: Step, statuses: Mapping[str, str]) -> Step | None:
    """The earlier blocked repair this one must wait for (a different consent), if any."""
    if step.remedy is None or step.is_manual:
        return None
    for sid, status in statuses.items():
        earlier = ctx.steps.get(sid)
        if status != BLOCKED or earlier is None or earlier.remedy is None:
            continue
        if earlier.opt_in is None or earlier.opt_in != step.opt_in:
            return earlier
    return None


def _conjuncts(cond: Any) -> list[Mapping[str, Any]]:
    """The conditions that must all hold (a list or ``all:``), flattened."""
    if cond is None:
        return []
    if isinstance(cond, list | tuple):
        return [c for item in cond for c in _conjuncts(item)]
    if "all" in cond:
        return _conjuncts(cond["all"])
    return [cond]


def _required_steps(cond: Any) -> list[str]:
    return [c["step"] for c in _conjuncts(cond) if "step" in c]


def _consented(ctx: RunContext, step: Step) -> bool:
    return step.id in ctx.options.allow or (
        step.opt_in is not None and ctx.variables.get(step.opt_in) is True
    )


def _change(b: Bound, before: Any) -> Change:
    assert b.remedy is not None
    inv = actions.inverse(b.remedy, before, b.undo)
    return Change(
        description=actions.describe(b.remedy, before),
        risk=actions.risk_of(b.remedy, before, b.step.risk).label,
        action={"kind": b.remedy.kind, **b.remedy.args},
        before=before,
        undo={"kind": inv.kind, **inv.args} if inv else None,
    )


def fingerprint(b: Bound, results: Reads) -> str:
    """A digest of everything the step read, failures included (a read not made, as such)."""
    seen: list[list[Any]] = []
    for probe in reads_for(b):
        op = probes.to_op(probe)
        r = results.get(op.key())
        if r is None:  # skipped by its when before a slow read was made
            seen.append([op.name, dict(op.args), "not read"])
            continue
        seen.append([op.name, dict(op.args), r.ok, r.value, r.error.code if r.error else None])
    return digest(seen)


def digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def emit_check(ctx: RunContext, r: StepResult) -> None:
    """The events of one judged step: what was seen, and the change a drift would make."""
    ctx.emit(
        "step.check",
        step=r.id,
        status=r.status,
        observed=r.observed,
        expected=r.expected,
        message=r.message,
        error=r.error,
        ms=r.duration_ms,
        title=r.title,
        why=r.why if r.status == FINDING else "",
        has_change=r.change is not None,
    )
    if r.change is not None and r.status in (DRIFT, BLOCKED):
        ctx.emit(
            "step.plan",
            step=r.id,
            description=r.change.description,
            risk=r.change.risk,
            undo=r.change.undo,
            blocked=r.status == BLOCKED,
            reason=r.message if r.status == BLOCKED else "",
        )
