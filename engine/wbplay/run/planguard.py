"""An approved plan at apply time: recompute, then compare.

The runner re-derives every step from the playbook (its sha256 already
checked), the plan's recorded variables and the host *now*; the plan is
applied only if what it says is exactly that derivation: each step's status,
what it observed, and each change (kind, target, before, after, risk, undo).

A difference is either the world moving on (what the step read changed: a
new plan is needed, :class:`~wbplay.errors.PlanOutOfDate`) or the plan saying
something its own inputs do not give (the step read the same as at plan time,
so the plan file was edited: :class:`~wbplay.errors.PlanError`).  Either way
the refusal lists only the steps that differ, and nothing is changed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from wbplay.errors import PlanError, PlanOutOfDate
from wbplay.playbook import matchers
from wbplay.run.results import RunReport, StepResult


@dataclass(frozen=True, slots=True)
class PlannedStep:
    """One step as the plan recorded it."""

    id: str
    status: str
    observed: Any
    change: Mapping[str, Any] | None
    fingerprint: str


@dataclass(frozen=True, slots=True)
class PlanGuard:
    """What an approved plan pins: the host's facts and every step's recorded result."""

    facts: Mapping[str, Any]
    facts_fingerprint: str
    steps: tuple[PlannedStep, ...] = ()
    changes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # step id -> planned change
    source: str = ""  # the plan file, named in every refusal


def _norm(value: Any) -> Any:
    """A value as it reads back from the plan's JSON, so a recomputed one compares equal."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def _change_of(r: StepResult) -> dict[str, Any] | None:
    if r.change is None:
        return None
    c = r.change
    return {
        "description": c.description,
        "risk": c.risk,
        "action": c.action,
        "before": c.before,
        "undo": c.undo,
    }


def _said(status: str, change: Mapping[str, Any] | None) -> str:
    if change is None:
        return status
    return f"{status}: {change.get('description')} ({change.get('risk')})"


def _compare(planned: PlannedStep, now: StepResult) -> tuple[str, str] | None:
    """``(kind, line)`` when the step differs: kind is "drift" (the host changed) or "edited"."""
    was = (planned.status, _norm(planned.observed), _norm(planned.change))
    got = (now.status, _norm(now.observed), _norm(_change_of(now)))
    if was == got:
        return None
    if now.fingerprint != planned.fingerprint:
        if was[1] != got[1]:
            what = f"observed {matchers.show(was[1])} at plan time, {matchers.show(got[1])} now"
        else:
            what = f"the plan says {_said(was[0], was[2])}, now {_said(got[0], got[2])}"
        return "drift", f"{now.id}: the host changed since the plan ({what})"
    if planned.change is not None and now.change is None:
        what = f"the plan has a change ({_said(was[0], was[2])}) but the step is {now.status} now"
    else:
        what = f"the plan says {_said(was[0], was[2])}; the playbook and host give {_said(got[0], got[2])}"
        if was[1] != got[1]:
            what += f" (observed {matchers.show(was[1])} in the plan, {matchers.show(got[1])} now)"
    return "edited", f"{now.id}: {what}"


def differences(report: RunReport, plan: PlanGuard) -> tuple[list[str], list[str]]:
    """``(drifted, edited)``: what the host changed, and what the plan says that its inputs do not give."""
    drifted: list[str] = []
    edited: list[str] = []
    was_facts, now_facts = _norm(dict(plan.facts)), _norm(report.facts)
    if was_facts != now_facts:
        keys = sorted(k for k in {*was_facts, *now_facts} if was_facts.get(k) != now_facts.get(k))
        shown = ", ".join(
            f"{k} {matchers.show(was_facts.get(k))} → {matchers.show(now_facts.get(k))}" for k in keys
        )
        drifted.append(f"host facts differ from the plan: {shown}")
    elif report.facts_fingerprint != plan.facts_fingerprint:
        edited.append("the plan's facts fingerprint is not that of its own facts")
    planned_ids = [p.id for p in plan.steps]
    now_ids = [r.id for r in report.steps]
    if planned_ids != now_ids:
        missing = [i for i in now_ids if i not in planned_ids]
        extra = [i for i in planned_ids if i not in now_ids]
        edited.append(
            "the plan's steps are not the playbook's"
            + (f"; missing: {', '.join(missing)}" if missing else "")
            + (f"; not in the playbook: {', '.join(extra)}" if extra else "")
            + ("" if missing or extra else "; the order differs")
        )
        return drifted, edited
    for planned, now in zip(plan.steps, report.steps, strict=True):
        found = _compare(planned, now)
        if found is not None:
            (drifted if found[0] == "drift" else edited).append(found[1])
    return drifted, edited


def check(report: RunReport, plan: PlanGuard, emit: Callable[..., None]) -> None:
    """Refuse, before any change, unless the plan is exactly what re-deriving it gives now."""
    drifted, edited = differences(report, plan)
    where = f"{plan.source}: " if plan.source else ""
    if edited:
        emit("plan.refused", reason="edited", differences=edited + drifted)
        raise PlanError(
            f"{where}refusing to apply: the plan says what its own playbook, variables and host do not give "
            "(was it edited after review?):\n  - "
            + "\n  - ".join(edited + drifted)
            + "\nMake a new plan and have it reviewed."
        )
    if drifted:
        emit("plan.refused", reason="drift", differences=drifted)
        raise PlanOutOfDate(
            f"{where}refusing to apply: the host no longer reads as planned:\n  - "
            + "\n  - ".join(drifted)
            + "\nMake a new plan and have it reviewed."
        )
    emit("plan.matched", steps=len(plan.steps), changes=sorted(plan.changes))

