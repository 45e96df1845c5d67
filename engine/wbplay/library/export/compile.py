"""A playbook compiled to data the exported PowerShell runs unattended.

The plan is JSON (base64 in the script): the reads as one agent request
(:func:`wbplay.agent.request.encode_request`), and per step its ``when``, which
read it observes and how (a field of the read's value), its ``expect``, and its
remedy and undo as op templates.  Everything the runner decides from the code of
a kind (consent, guards, which earlier block a step waits for) is decided here,
at export, from the same functions the runner uses, so the PC only interprets data.

Check kinds that read one op and pick a field compile to that pick; kinds that parse a
tool's text or join reads compile to a named derivation the runner holds
(:mod:`wbplay.library.export.joins`).  A step whose check or remedy the runner cannot run
unattended, or whose ``when`` needs such a step, is exported *reported-only*: detection
names it and the reason, remediation never touches it, and the admin README lists it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from wbplay.agent.request import encode_request
from wbplay.errors import UsageError
from wbplay.library.export.joins import DERIVED
from wbplay.playbook import matchers
from wbplay.playbook.model import Playbook, Probe, Risk
from wbplay.run import assess
from wbplay.run.binding import Bound, bind
from wbplay.run.identity import GUID_PROBE
from wbplay.vocab import actions, probes
from wbplay.vocab.ops import Op
from wbplay.vocab.probe_catalog import PROBES

PLAN_VERSION = 1


class ExportError(UsageError):
    """The playbook cannot be exported (a script would be too big, or the agent cannot be embedded)."""


class _NotCompiled(Exception):
    """A step the runner cannot run unattended: it is exported reported-only, with this reason."""


@dataclass(frozen=True, slots=True)
class Plan:
    playbook: str
    data: dict[str, Any]  # the JSON document the scripts embed
    reads: list[Op]  # the ops of data["reads"], in order (0: os.info, 1: the MachineGuid)


# Check kinds whose pick is a small lambda: its PowerShell twin by name (runner.ps1, Get-WbObserved).
_LAMBDA_PICKS = {"service.exists": "=present", "registry.value": "=registry"}


def _pick_of(kind: str) -> str | None:
    """The field a single-read check kind picks from its op's value; None for the whole value."""
    spec = PROBES[kind]
    if spec.join is not None or spec.extra:
        raise _NotCompiled(f"check kind {kind!r} joins several reads in Python; not ported to the runner")
    if kind in _LAMBDA_PICKS:
        return _LAMBDA_PICKS[kind]
    if spec.pick.__name__ == "_identity":
        return None
    cells = spec.pick.__closure__ or ()
    if "_field" in spec.pick.__qualname__ and len(cells) == 1 and isinstance(cells[0].cell_contents, str):
        return str(cells[0].cell_contents)
    raise _NotCompiled(f"check kind {kind!r} parses its read in Python; not ported to the runner")


# Remedy kinds whose undo is an op template: (the before-state fills one argument, or gates the undo).
_UNDO: dict[str, dict[str, Any]] = {
    "service.set_start_mode": {"op": "service.set_start_mode", "keep": ("name",), "before_arg": "start_mode"},
    "service.start": {"op": "service.stop", "keep": ("name",), "unless_before": "Running"},
    "service.stop": {"op": "service.start", "keep": ("name",), "only_if_before": "Running"},
    "service.restart": {"op": "service.stop", "keep": ("name",), "unless_before": "Running"},
    # actions._reg_inverse: the recorded value put back, or the value deleted when there was none.
    "registry.set": {
        "op": "registry.set",
        "keep": ("key", "name"),
        "before_fields": ("type", "value"),
        "when_absent": {"op": "registry.delete", "keep": ("key", "name")},
    },
}

# Remedies no unattended engine may run, and why (docs/domain-review.md C.3 "Forbidden in scripts").
_NEVER_UNATTENDED = {
    "host.reboot": "a reboot is never run from an Intune or ConfigMgr script (their restart policy decides)",
}


class _Reads:
    """The reads of one request, shared by the probes that need the same op and arguments."""

    def __init__(self, ops: list[Op] | None = None) -> None:
        # Index 0: the facts `when` reads; 1: the MachineGuid, for the journal's host.identity.
        self.ops: list[Op] = list(ops) if ops is not None else [Op("os.info", {}), probes.to_op(GUID_PROBE)]
        self._index: dict[tuple[str, str], int] = {op.key(): i for i, op in enumerate(self.ops)}

    def _index_of(self, op: Op) -> int:
        index = self._index.setdefault(op.key(), len(self.ops))
        if index == len(self.ops):
            self.ops.append(op)
        return index

    def add(self, probe: Probe) -> dict[str, Any]:
        if probe.kind in DERIVED:
            name, params = DERIVED[probe.kind]
            ops = [self._index_of(op) for op in probes.to_ops(probe)]
            return {
                "op": ops[0],
                "ops": ops,
                "pick": None,
                "field": probe.field,
                "derive": name,
                "params": params(probe.args),
            }
        pick = _pick_of(probe.kind)
        return {"op": self._index_of(probes.to_op(probe)), "pick": pick, "field": probe.field}


def _template(action_op: Op, spec: Mapping[str, Any] | None) -> dict[str, Any]:
    if spec is None:
        return {"op": action_op.name, "args": dict(action_op.args)}
    out: dict[str, Any] = {"op": spec["op"], "args": {k: action_op.args[k] for k in spec["keep"]}}
    for key in ("before_arg", "unless_before", "only_if_before"):
        if key in spec:
            out[key] = spec[key]
    if "before_fields" in spec:
        out["before_fields"] = list(spec["before_fields"])
        out["when_absent"] = _template(action_op, spec["when_absent"])
    return out


def _step_refs(cond: Any) -> set[str]:
    """Every step a ``when`` condition names, however deeply nested."""
    if isinstance(cond, list):
        return set().union(*(_step_refs(c) for c in cond)) if cond else set()
    if isinstance(cond, dict):
        found = {str(cond["step"])} if "step" in cond else set()
        for key in ("all", "any", "not"):
            if key in cond:
                found |= _step_refs(cond[key])
        return found
    return set()


def _reported(step: Any, reason: str) -> dict[str, Any]:
    return {
        "id": step.id,
        "title": step.title,
        "when": None,
        "check": None,
        "expect": {},
        "expected": "",
        "remedy": "",
        "reported": reason,
        "before": None,
        "guards": [],
        "waits": [],
        "consented": True,
    }


def _step(
    b: Bound,
    ctx: Any,
    reads: _Reads,
    allow: frozenset[str],
    variables: Mapping[str, Any],
    reported: Mapping[str, str],
) -> dict[str, Any]:
    step = b.step
    needs = sorted(_step_refs(step.when) & set(reported))
    if needs:
        return _reported(step, f"its condition needs {', '.join(needs)}, which is reported-only")
    if b.remedy is not None and b.remedy.kind in _NEVER_UNATTENDED:
        return _reported(step, _NEVER_UNATTENDED[b.remedy.kind])
    try:
        return _compiled(b, ctx, reads, allow, variables)
    except _NotCompiled as e:
        return _reported(step, str(e))


def _compiled(
    b: Bound, ctx: Any, reads: _Reads, allow: frozenset[str], variables: Mapping[str, Any]
) -> dict[str, Any]:
    step = b.step
    out: dict[str, Any] = {
        "id": step.id,
        "title": step.title,
        "when": step.when,
        "check": reads.add(b.check),
        "expect": b.expect,
        "expected": matchers.describe(b.expect),
        "remedy": "",
        "before": None,
        "guards": [],
        "waits": [],
        "consented": True,
    }
    for ref in assess._required_steps(step.when):
        if assess._guarded_by(ctx, step, {ref: "finding"}) is not None:
            out["guards"].append(ref)
    if b.remedy is None:
        return out
    out["remedy"] = b.remedy.kind
    if b.remedy.kind == "manual":
        return out  # reported, never run unattended
    # Consent follows the evidence (the runner's _waits_for): the earlier repairs this one waits for.
    for earlier in ctx.steps.values():
        if earlier.id == step.id:
            break
        if earlier.remedy is not None and (earlier.opt_in is None or earlier.opt_in != step.opt_in):
            out["waits"].append(earlier.id)
    risk = actions.risk_of(b.remedy, None, step.risk)
    consent = step.id in allow or (step.opt_in is not None and variables.get(step.opt_in) is True)
    out["consented"] = risk != Risk.IRREVERSIBLE or consent
    if b.remedy.kind not in _UNDO or b.undo is not None:
        if not out["consented"]:
            return out  # left out without --allow: judged, never applied, so no template is needed
        why = "an author's undo" if b.undo is not None else f"remedy kind {b.remedy.kind!r}"
        raise _NotCompiled(f"{why} is not ported to the runner; run this step with wbplay over WinRM")
    if b.before_probe is not None:
        out["before"] = reads.add(b.before_probe)
    op = actions.to_op(b.remedy)
    # What the journal's change.intent says, in wbplay's own shape (run/apply.py), so that
    # `wbplay rollback RUN --host` can undo a journal the PC wrote (run/recorded.py reads it).
    bp = b.before_probe
    out["record"] = {
        "action": {"kind": b.remedy.kind, **dict(b.remedy.args)},
        "before_probe": None if bp is None else {"kind": bp.kind, "args": dict(bp.args), "field": bp.field},
    }
    out["apply"] = _template(op, None)
    out["undo"] = _template(op, _UNDO[b.remedy.kind])
    verify = _Reads([])
    check = verify.add(b.verify_probe)
    out["verify"] = {
        "request": encode_request(verify.ops, mode="read"),
        "check": check,
        "expect": b.verify_expect,
    }
    return out


def compile_plan(
    playbook: Playbook,
    variables: Mapping[str, Any],
    allow: frozenset[str] = frozenset(),
) -> Plan:
    """The plan for ``playbook`` with ``variables`` bound; raises :class:`ExportError`."""
    # The runner's guard rule reads only the steps and the variables' descriptions.
    ctx = SimpleNamespace(
        steps={s.id: s for s in playbook.steps},
        var_docs={name: spec.description for name, spec in playbook.vars.items()},
    )
    reads = _Reads()
    steps: list[dict[str, Any]] = []
    reported: dict[str, str] = {}
    for step in playbook.steps:
        # A reported-only step's reads are not made: compile into a scratch read list first.
        scratch = _Reads(reads.ops)
        out = _step(bind(step, variables), ctx, scratch, allow, variables, reported)
        if "reported" in out:
            reported[step.id] = out["reported"]
        else:
            reads = scratch
        steps.append(out)
    data = {
        "v": PLAN_VERSION,
        "playbook": playbook.id,
        "vars": dict(variables),
        "reads": encode_request(reads.ops, mode="read"),
        "steps": steps,
    }
    return Plan(playbook.id, data, list(reads.ops))
