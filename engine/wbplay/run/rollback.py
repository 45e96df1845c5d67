"""Undo recorded changes, newest first, each one decided on a fresh read and verified.

Used by the runner when a step fails, and by ``wbplay rollback RUN`` for a run
that finished, failed or was killed.  Before each undo the state is re-read and
the change is judged by one rule (:func:`decide`):

* the PC reads as before: nothing to undo ("not-applied"; a change that failed
  before it landed is never reported as rolled back);
* it no longer reads as this run left it (someone, or another run, changed it
  since): a **conflict**, reported and left, unless ``force``;
* the undo is itself irreversible (shrinking a grown shadow-storage maximum,
  deleting an added association: Windows deletes shadow copies to fit): it
  **needs consent** (the step named with ``--allow``), otherwise reported and left;
* a change with no inverse that ran is listed as "ran at T, cannot be undone"
  (a restart, which leaves nothing to restore, is only noted).

Requests, in order, for each change (deterministic, so a kill point can be
named): one read of its before-probe, then, if it is undone, one write (the
inverse) and one read that verifies it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from wbplay.errors import HostError
from wbplay.hosts.base import Host
from wbplay.playbook.matchers import show
from wbplay.playbook.model import Action, Probe, Risk
from wbplay.run.recorded import MISSING, RecordedChange, from_journal
from wbplay.vocab import actions, probes

__all__ = [
    "ATTENTION",
    "Decision",
    "RecordedChange",
    "UndoOutcome",
    "UndoPolicy",
    "decide",
    "from_journal",
    "undo",
]

# Outcomes that leave the PC other than before the run: the host needs attention (exit 5).
ATTENTION = frozenset({"irreversible", "conflict", "needs-consent", "failed", "unconfirmed"})
# Changes that leave nothing to restore once they ran.
_NOTHING_TO_RESTORE = frozenset({"host.reboot", "service.restart"})


@dataclass(frozen=True, slots=True)
class UndoPolicy:
    """What the operator allowed this rollback to do."""

    allow: frozenset[str] = frozenset()  # steps whose irreversible undo was consented to (--allow)
    allow_all: bool = False  # consent for every step (scenario tests prove restorability)
    force: bool = False  # overwrite a value that changed since the run (--force)
    run_id: str = "RUN"  # for the command a message suggests

    def consents(self, step: str) -> bool:
        return self.allow_all or step in self.allow


@dataclass(frozen=True, slots=True)
class UndoOutcome:
    step_id: str
    status: str  # undone | not-applied | ran | irreversible | conflict | needs-consent | failed | unconfirmed
    detail: str


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do about one change, judged from what the PC reads now."""

    step_id: str
    status: str  # "undo", or an UndoOutcome status when nothing is sent
    detail: str
    inverse: Action | None = None
    current: Any = None


Emit = Callable[..., None]
Read = tuple[bool, Any, str]  # (read ok, observed value, error)


def _same(a: Any, b: Any) -> bool:
    return a == b


def _exists_is(flag: bool) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, Mapping) and v.get("exists") is flag


def _equals(value: Any) -> Callable[[Any], bool]:
    return lambda v: _same(v, value)


def _registry_value(a: Mapping[str, Any]) -> Callable[[Any], bool]:
    def check(v: Any) -> bool:
        if not isinstance(v, Mapping) or v.get("exists") is not True or v.get("type") != a.get("type"):
            return False
        got, want = v.get("value"), a.get("value")
        return got == want or str(got) == str(want)

    return check


# What a change leaves its before-probe reading, derived from the action (for runs killed before
# they recorded the value read back).
_AFTER: dict[str, Callable[[Mapping[str, Any]], Callable[[Any], bool]]] = {
    "service.set_start_mode": lambda a: _equals(a["start_mode"]),
    "service.start": lambda a: _equals("Running"),
    "service.restart": lambda a: _equals("Running"),
    "service.stop": lambda a: _equals("Stopped"),
    "registry.set": _registry_value,
    "registry.delete": lambda a: _exists_is(False),
    "path.rename": lambda a: _exists_is(False),
    "shadowstorage.add": lambda a: _equals(a["max_size_mb"]),
    "shadowstorage.resize": lambda a: _equals(a["max_size_mb"]),
    "shadowstorage.delete": lambda a: _equals(None),
    "winre.enable": lambda a: _equals(True),
    "winre.disable": lambda a: _equals(False),
}


# Why an undo of this kind cannot itself be undone, in the operator's words.
_WHY_IRREVERSIBLE = {
    "shadowstorage.delete": "Windows deletes every shadow copy stored in the association, made since or not",
    "shadowstorage.resize": "Windows deletes the shadow copies that no longer fit the smaller maximum",
}


def as_run_left_it(change: RecordedChange, current: Any) -> bool | None:
    """Whether ``current`` is what the run left (None: the journal cannot tell)."""
    if change.after is not MISSING:
        return _same(current, change.after)
    derive = _AFTER.get(change.action.kind)
    return derive(change.action.args)(current) if derive else None


def _when(change: RecordedChange) -> str:
    return change.done or change.started or "an unknown time"


def decide(
    change: RecordedChange, read: Read | None, policy: UndoPolicy, other: str | None = None
) -> Decision:
    """The one rule for every undo (see the module docstring); ``read`` is None when there is no probe.

    ``other`` names another run on the same PC that changed the same thing later, if any.
    """
    sid = change.step_id
    if read is not None and not read[0]:
        return Decision(sid, "unconfirmed", f"could not read the current state: {read[2]}")
    current = read[1] if read is not None else None
    landed = change.done is not None or (read is not None and not _same(current, change.before))
    if change.inverse is None:
        if not landed:
            return Decision(sid, "not-applied", "the PC reads as before: it did not run", current=current)
        if change.action.kind in _NOTHING_TO_RESTORE:
            return Decision(
                sid, "ran", f"ran at {_when(change)}; it leaves nothing to restore", current=current
            )
        return Decision(sid, "irreversible", f"ran at {_when(change)}, cannot be undone", current=current)
    if read is None:
        return Decision(sid, "unconfirmed", "nothing was recorded to read the state back")
    if _same(current, change.before):
        if change.failed is not None and change.done is None:
            why = "the change failed before it was applied: nothing to undo"
        elif change.done is None:
            why = "the change had not landed: the PC reads as before"
        else:
            why = "already as before (undone since, or changed back by hand)"
        return Decision(sid, "not-applied", why, current=current)
    if not policy.force:
        left_as_run_left_it = as_run_left_it(change, current)
        if other is not None:
            return Decision(
                sid,
                "conflict",
                f"{other} changed this since; undoing it here would undo that run's change too "
                f"(roll that run back first, or --force)",
                current=current,
            )
        if left_as_run_left_it is not True:
            set_to = "" if change.after is MISSING else f"; this run left {show(change.after)}"
            return Decision(
                sid,
                "conflict",
                f"it now reads {show(current)}{set_to}: changed since the run (by hand or by "
                "another run), so it is left as it is (--force overwrites it)",
                current=current,
            )
    inverse = change.inverse
    spec = actions.ACTIONS[inverse.kind]
    if actions.risk_of(inverse, current, spec.risk) >= Risk.IRREVERSIBLE and not policy.consents(sid):
        return Decision(
            sid,
            "needs-consent",
            f"undoing it would change {actions.describe(inverse, current)}, which is itself irreversible "
            f"({_WHY_IRREVERSIBLE.get(inverse.kind, 'it cannot be undone in turn')}); left without consent. "
            f"To undo it anyway: wbplay rollback {policy.run_id} --allow {sid}",
            current=current,
        )
    return Decision(sid, "undo", actions.describe(inverse, current), inverse, current)


def read_state(host: Host, probe: Probe) -> Read:
    result = host.read([probes.to_op(probe)])[0]
    return _read_of(probe, result)


def _read_of(probe: Probe, result: Any) -> Read:
    if not result.ok:
        return False, None, result.error.message if result.error else "read failed"
    return True, probes.observe(probe, result), ""


def preview(
    results: Mapping[tuple[str, str], Any],
    changes: Sequence[RecordedChange],
    policy: UndoPolicy,
    others: Mapping[str, str] | None = None,
) -> list[Decision]:
    """Decisions for ``changes`` (newest first) from one batch of reads keyed by op key."""
    out = []
    for c in reversed(changes):
        read = None
        if c.before_probe is not None:
            got = results.get(probes.to_op(c.before_probe).key())
            read = _read_of(c.before_probe, got) if got is not None else (False, None, "not read")
        out.append(decide(c, read, policy, (others or {}).get(c.step_id)))
    return out


def undo(
    host: Host,
    changes: Sequence[RecordedChange],
    emit: Emit,
    policy: UndoPolicy | None = None,
    others: Mapping[str, str] | None = None,
) -> list[UndoOutcome]:
    """Undo ``changes`` (given oldest first) in reverse order."""
    pol = policy or UndoPolicy()
    return [_undo_one(host, c, emit, pol, (others or {}).get(c.step_id)) for c in reversed(changes)]


def _undo_one(
    host: Host, change: RecordedChange, emit: Emit, policy: UndoPolicy, other: str | None
) -> UndoOutcome:
    sid = change.step_id
    try:
        read = read_state(host, change.before_probe) if change.before_probe is not None else None
    except HostError as e:
        emit("undo.failed", step=sid, error=str(e))
        return UndoOutcome(sid, "unconfirmed", f"could not read the current state: {e}")
    d = decide(change, read, policy, other)
    if d.status == "not-applied":
        emit("undo.skip", step=sid, observed=d.current, reason=d.detail)
        return UndoOutcome(sid, d.status, d.detail)
    if d.status in ("ran", "irreversible"):
        emit("undo.irreversible", step=sid, ran_at=_when(change), note=d.detail, attention=d.status != "ran")
        return UndoOutcome(sid, d.status, d.detail)
    if d.status in ("conflict", "needs-consent"):
        emit("undo.left", step=sid, observed=d.current, reason=d.status, detail=d.detail)
        return UndoOutcome(sid, d.status, d.detail)
    if d.status == "unconfirmed":
        emit("undo.failed", step=sid, error=d.detail)
        return UndoOutcome(sid, d.status, d.detail)
    assert d.inverse is not None and change.before_probe is not None
    emit("undo.intent", step=sid, action={"kind": d.inverse.kind, **d.inverse.args}, description=d.detail)
    try:
        result = host.apply(actions.to_op(d.inverse))
    except HostError as e:
        emit("undo.failed", step=sid, error=str(e))
        return UndoOutcome(sid, "unconfirmed", f"the undo could not be sent: {e}")
    if not result.ok:
        msg = result.error.message if result.error else "failed"
        code = result.error.hresult if result.error else ""
        emit("undo.failed", step=sid, error=f"{msg} ({code})")
        return UndoOutcome(sid, "failed", f"{msg} ({code})")
    try:
        ok, after, err = read_state(host, change.before_probe)
    except HostError as e:
        emit("undo.failed", step=sid, error=str(e))
        return UndoOutcome(sid, "unconfirmed", f"undo sent but could not be verified: {e}")
    verified = ok and _same(after, change.before)
    emit("undo.verify", step=sid, observed=after, expected=change.before, ok=verified)
    if verified:
        return UndoOutcome(sid, "undone", f"restored {show(change.before)}")
    return UndoOutcome(
        sid, "failed", f"after the undo the state is {show(after)}, not {show(change.before)} {err}".strip()
    )
