"""An approved plan at apply time: what it pinned, and the refusal when the host or
the playbook no longer reads exactly as it did when the plan was made."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from wbplay.errors import PlanError
from wbplay.playbook import matchers
from wbplay.run.results import DRIFT, RunReport


@dataclass(frozen=True, slots=True)
class PlanGuard:
    """What an approved plan pins: the facts each step read and the exact changes."""

    facts_fingerprint: str
    fingerprints: Mapping[str, str]  # step id -> fingerprint at plan time
    changes: Mapping[str, Mapping[str, Any]]  # step id -> the planned action


def check(report: RunReport, plan: PlanGuard, emit: Callable[..., None]) -> None:
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
        emit("plan.refused", differences=diffs)
        raise PlanError(
            "refusing to apply: the plan no longer matches the host or playbook:\n  - "
            + "\n  - ".join(diffs)
            + "\nMake a new plan and have it reviewed."
        )
    emit("plan.matched", steps=len(plan.fingerprints))
