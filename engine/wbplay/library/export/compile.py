"""A playbook compiled to data the exported PowerShell runs unattended.

The plan is JSON (base64 in the script): the reads as one agent request
(:func:`wbplay.agent.request.encode_request`), and per step its ``when``, which
read it observes and how (a field of the read's value), its ``expect``, and its
remedy and undo as op templates.  Everything the runner decides from the code of
a kind (consent, guards, which earlier block a step waits for) is decided here,
at export, from the same functions the runner uses, so the PC only interprets data.

Only check kinds that read one op and pick a field, and remedy kinds whose undo
is an op template, compile; any other kind fails the export with its name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from wbplay.agent.request import encode_request
from wbplay.errors import UsageError
from wbplay.playbook import matchers
from wbplay.playbook.model import Playbook, Probe, Risk
from wbplay.run import assess
from wbplay.run.binding import Bound, bind
from wbplay.vocab import actions, probes
from wbplay.vocab.ops import Op
from wbplay.vocab.probe_catalog import PROBES

PLAN_VERSION = 1


class ExportError(UsageError):
    """The playbook cannot be exported (a kind the unattended runner cannot run, or too big)."""


@dataclass(frozen=True, slots=True)
class Plan:
    playbook: str
    data: dict[str, Any]  # the JSON document the scripts embed
    reads: list[Op]  # the ops of data["reads"], in order (index 0 is os.info)


# Check kinds whose pick is a small lambda: its PowerShell twin by name (runner.ps1, Get-WbObserved).
_LAMBDA_PICKS = {"service.exists": "=present", "registry.value": "=registry"}


def _pick_of(kind: str) -> str | None:
    """The field a single-read check kind picks from its op's value; None for the whole value."""
    spec = PROBES[kind]
    if spec.join is not None or spec.extra:
        raise ExportError(f"check kind {kind!r} joins several reads; it cannot be exported yet")
    if kind in _LAMBDA_PICKS:
        return _LAMBDA_PICKS[kind]
    if spec.pick.__name__ == "_identity":
        return None
    cells = spec.pick.__closure__ or ()
    if "_field" in spec.pick.__qualname__ and len(cells) == 1 and isinstance(cells[0].cell_contents, str):
        return str(cells[0].cell_contents)
    raise ExportError(f"check kind {kind!r} parses its read in Python; it cannot be exported yet")


# Remedy kinds whose undo is an op template: (the before-state fills one argument, or gates the undo).
_UNDO: dict[str, dict[str, Any]] = {
    "service.set_start_mode": {"op": "service.set_start_mode", "keep": ("name",), "before_arg": "start_mode"},
    "service.start": {"op": "service.stop", "keep": ("name",), "unless_before": "Running"},
    "service.stop": {"op": "service.start", "keep": ("name",), "only_if_before": "Running"},
    "service.restart": {"op": "service.stop", "keep": ("name",), "unless_before": "Running"},
}


class _Reads:
    def __init__(self) -> None:
        self.ops: list[Op] = [Op("os.info", {})]
        self._index: dict[tuple[str, str], int] = {self.ops[0].key(): 0}

    def add(self, probe: Probe) -> dict[str, Any]:
        pick = _pick_of(probe.kind)
        op = probes.to_op(probe)
        index = self._index.setdefault(op.key(), len(self.ops))
        if index == len(self.ops):
            self.ops.append(op)
        return {"op": index, "pick": pick, "field": probe.field}


def _template(action_op: Op, spec: Mapping[str, Any] | None) -> dict[str, Any]:
    if spec is None:
        return {"op": action_op.name, "args": dict(action_op.args)}
    out: dict[str, Any] = {"op": spec["op"], "args": {k: action_op.args[k] for k in spec["keep"]}}
    for key in ("before_arg", "unless_before", "only_if_before"):
        if key in spec:
            out[key] = spec[key]
    return out


def _step(
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
    if b.remedy.kind not in _UNDO or b.undo is not None:
        raise ExportError(f"step {step.id}: remedy kind {b.remedy.kind!r} cannot be exported yet")
    if b.before_probe is not None:
        out["before"] = reads.add(b.before_probe)
    op = actions.to_op(b.remedy)
    risk = actions.risk_of(b.remedy, None, step.risk)
    consent = step.id in allow or (step.opt_in is not None and variables.get(step.opt_in) is True)
    out["consented"] = risk != Risk.IRREVERSIBLE or consent
    out["apply"] = _template(op, None)
    out["undo"] = _template(op, _UNDO[b.remedy.kind])
    verify = probes.to_op(b.verify_probe)
    out["verify"] = {
        "request": encode_request([verify], mode="read"),
        "pick": _pick_of(b.verify_probe.kind),
        "field": b.verify_probe.field,
        "expect": b.verify_expect,
    }
    # Consent follows the evidence (the runner's _waits_for): the earlier repairs this one waits for.
    for earlier in ctx.steps.values():
        if earlier.id == step.id:
            break
        if earlier.remedy is not None and (earlier.opt_in is None or earlier.opt_in != step.opt_in):
            out["waits"].append(earlier.id)
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
    steps = [_step(bind(step, variables), ctx, reads, allow, variables) for step in playbook.steps]
    data = {
        "v": PLAN_VERSION,
        "playbook": playbook.id,
        "vars": dict(variables),
        "reads": encode_request(reads.ops, mode="read"),
        "steps": steps,
    }
    return Plan(playbook.id, data, list(reads.ops))
