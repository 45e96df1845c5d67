"""A step with its variables substituted: what will really be read and written.

Binding happens before the host is touched, so a variable that makes an op's
arguments invalid stops the run before its first read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wbplay.errors import UsageError
from wbplay.playbook.model import Action, Probe, Step
from wbplay.playbook.variables import substitute
from wbplay.vocab import actions, probes
from wbplay.vocab.ops import check_args


@dataclass(frozen=True, slots=True)
class Bound:
    step: Step
    check: Probe
    remedy: Action | None
    verify_probe: Probe
    verify_expect: Mapping[str, Any]
    expect: Mapping[str, Any]
    undo: Action | None
    before_probe: Probe | None


def bind(step: Step, variables: Mapping[str, Any]) -> Bound:
    check = Probe(step.check.kind, substitute(step.check.args, variables), step.check.field)
    remedy = Action(step.remedy.kind, substitute(step.remedy.args, variables)) if step.remedy else None
    undo = Action(step.undo.kind, substitute(step.undo.args, variables)) if step.undo else None
    if step.verify:
        vprobe = step.verify.probe
        verify_probe = Probe(vprobe.kind, substitute(vprobe.args, variables), vprobe.field)
        verify_expect: Mapping[str, Any] = substitute(step.verify.expect, variables)
    else:
        verify_probe, verify_expect = check, substitute(step.expect, variables)
    before = actions.before_probe(remedy) if remedy else None
    for op in [*probes.to_ops(check), *probes.to_ops(verify_probe)] + (
        [actions.to_op(remedy)] if remedy and remedy.kind != "manual" else []
    ):
        problems = check_args(op)
        if problems:
            raise UsageError(f"step {step.id}: after substituting variables, {'; '.join(problems)}")
    expect = substitute(step.expect, variables)  # {{ var }} in an expectation is data too
    return Bound(step, check, remedy, verify_probe, verify_expect, expect, undo, before)


def reads_for(b: Bound) -> list[Probe]:
    """What assessing the step reads: its check, and the remedy's before-state if it has one."""
    out = [b.check]
    if b.before_probe is not None:
        out.append(b.before_probe)
    return out
