"""Undo recorded changes, newest first, each one verified by re-reading.

Used by the runner when a step fails, and by ``wbplay rollback RUN`` for a run
that finished, failed or was killed.  Every undo first re-reads the state: a
change that never landed (the run died between the journal's intent and the
write) is confirmed as "not applied" instead of being undone blindly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from wbplay.errors import HostError
from wbplay.hosts.base import Host
from wbplay.playbook.model import Action, Probe
from wbplay.vocab import actions, probes


@dataclass(frozen=True, slots=True)
class RecordedChange:
    """One change as the journal's intent record describes it."""

    step_id: str
    action: Action
    before: Any
    before_probe: Probe | None
    inverse: Action | None


@dataclass(frozen=True, slots=True)
class UndoOutcome:
    step_id: str
    status: str  # "undone" | "not-applied" | "failed" | "irreversible" | "unconfirmed"
    detail: str


Emit = Callable[..., None]


def _read(host: Host, probe: Probe) -> tuple[bool, Any, str]:
    result = host.read([probes.to_op(probe)])[0]
    if not result.ok:
        msg = result.error.message if result.error else "read failed"
        return False, None, msg
    return True, probes.observe(probe, result), ""


def undo(host: Host, changes: Sequence[RecordedChange], emit: Emit) -> list[UndoOutcome]:
    """Undo ``changes`` (given oldest first) in reverse order."""
    outcomes: list[UndoOutcome] = []
    for change in reversed(changes):
        outcomes.append(_undo_one(host, change, emit))
    return outcomes


def _undo_one(host: Host, change: RecordedChange, emit: Emit) -> UndoOutcome:
    sid = change.step_id
    if change.before_probe is None:
        return UndoOutcome(sid, "irreversible", "nothing was recorded to restore")
    try:
        ok, current, err = _read(host, change.before_probe)
    except HostError as e:
        emit("undo.failed", step=sid, error=str(e))
        return UndoOutcome(sid, "unconfirmed", f"could not read the current state: {e}")
    if ok and current == change.before:
        emit("undo.skip", step=sid, observed=current, reason="state already equals the recorded before-state")
        return UndoOutcome(sid, "not-applied", "already as before (the change had not landed or was undone)")
    if change.inverse is None:
        emit("undo.failed", step=sid, error="irreversible: no inverse")
        return UndoOutcome(sid, "irreversible", "this change cannot be undone")
    emit(
        "undo.intent",
        step=sid,
        action={"kind": change.inverse.kind, **change.inverse.args},
        description=actions.describe(change.inverse, current),
    )
    try:
        result = host.apply(actions.to_op(change.inverse))
    except HostError as e:
        emit("undo.failed", step=sid, error=str(e))
        return UndoOutcome(sid, "unconfirmed", f"the undo could not be sent: {e}")
    if not result.ok:
        msg = result.error.message if result.error else "failed"
        code = result.error.hresult if result.error else ""
        emit("undo.failed", step=sid, error=f"{msg} ({code})")
        return UndoOutcome(sid, "failed", f"{msg} ({code})")
    try:
        ok, after, err = _read(host, change.before_probe)
    except HostError as e:
        emit("undo.failed", step=sid, error=str(e))
        return UndoOutcome(sid, "unconfirmed", f"undo sent but could not be verified: {e}")
    verified = ok and after == change.before
    emit("undo.verify", step=sid, observed=after, expected=change.before, ok=verified)
    if verified:
        return UndoOutcome(sid, "undone", f"restored {change.before!r}")
    return UndoOutcome(
        sid, "failed", f"after the undo the state is {after!r}, not {change.before!r} {err}".strip()
    )


def from_journal(records: Sequence[dict[str, Any]]) -> list[RecordedChange]:
    """Changes a run announced (intents), minus those it already undid itself."""
    changes: list[RecordedChange] = []
    undone: set[str] = set()
    for r in records:
        if r["event"] == "change.intent":
            inv = r.get("inverse")
            probe = r.get("before_probe")
            changes.append(
                RecordedChange(
                    step_id=r["step"],
                    action=Action(r["action"]["kind"], {k: v for k, v in r["action"].items() if k != "kind"}),
                    before=r.get("before"),
                    before_probe=Probe(probe["kind"], probe["args"], probe.get("field")) if probe else None,
                    inverse=Action(inv["kind"], {k: v for k, v in inv.items() if k != "kind"})
                    if inv
                    else None,
                )
            )
        elif (r["event"] == "undo.verify" and r.get("ok")) or r["event"] == "undo.skip":
            undone.add(r["step"])
    return [c for c in changes if c.step_id not in undone]
