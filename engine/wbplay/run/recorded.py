"""What a journal proves a run changed: the input of ``wbplay rollback``.

Each ``change.intent`` becomes a :class:`RecordedChange`, with what later
records prove about it: ``change.done`` (it was applied, at that time),
``change.failed`` (it may have partly landed), and the value its before-probe
read back after the change (``step.verify``'s ``after``).  A step a previous
rollback already settled (undone, found not applied, or reported as having run
irreversibly) is left out.

Nothing here trusts the file: a damaged line, or a record whose fields are not
what wbplay writes, becomes a :class:`Skipped` entry that says which line and
why, and whether it could have hidden a change (then the PC needs a human).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from wbplay.playbook.model import Action, Probe
from wbplay.run.identity import PcIdentity, from_record
from wbplay.run.journal import Damage, JournalFile
from wbplay.vocab import actions, probes

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()


@dataclass(frozen=True, slots=True)
class RecordedChange:
    """One change as the journal's intent record describes it, and what the journal proves about it."""

    step_id: str
    action: Action
    before: Any
    before_probe: Probe | None
    inverse: Action | None
    started: str = ""  # when the intent was written
    done: str | None = None  # when change.done was written: proof it was applied
    failed: str | None = None  # the error of change.failed: it may still have partly landed
    after: Any = MISSING  # the before-probe's value read back after the change, if recorded


@dataclass(frozen=True, slots=True)
class Skipped:
    """A journal entry rollback could not use."""

    line: int
    reason: str
    hides_change: bool  # could it have announced a change nobody can now undo?
    step: str | None = None

    def describe(self) -> str:
        step = f" (step {self.step})" if self.step else ""
        tail = " It may have announced a change: check that step by hand." if self.hides_change else ""
        return f"line {self.line}{step}: {self.reason}.{tail}"


@dataclass(frozen=True, slots=True)
class Entries:
    changes: list[RecordedChange]  # still to settle, oldest first
    skipped: list[Skipped]
    start: Mapping[str, Any]  # run.start (empty when its line is damaged)
    identity: PcIdentity | None  # the PC the run ran on, if recorded
    user: str | None  # the account the run used (WinRM), never a password
    settled: dict[str, str] = field(default_factory=dict)  # step -> how a previous rollback settled it
    last_rollback: str | None = None  # when the last rollback.end was written


def _action(d: Any) -> Action | None:
    if not isinstance(d, Mapping) or not isinstance(d.get("kind"), str) or d["kind"] not in actions.ACTIONS:
        return None
    return Action(d["kind"], {k: v for k, v in d.items() if k != "kind"})


def _probe(d: Any) -> Probe | None:
    if (
        not isinstance(d, Mapping)
        or d.get("kind") not in probes.PROBES
        or not isinstance(d.get("args"), Mapping)
    ):
        return None
    fld = d.get("field")
    return Probe(d["kind"], dict(d["args"]), fld if isinstance(fld, str) else None)


def _intent(r: Mapping[str, Any]) -> RecordedChange | str:
    """The change an intent announces, or why it cannot be used."""
    step, action = r.get("step"), _action(r.get("action"))
    if not isinstance(step, str) or not step:
        return "a change.intent without a step"
    if action is None:
        return "a change.intent whose action is missing or of a kind this wbplay does not know"
    probe = _probe(r["before_probe"]) if r.get("before_probe") is not None else None
    if r.get("before_probe") is not None and probe is None:
        return "a change.intent whose before_probe is malformed"
    inverse = _action(r["inverse"]) if r.get("inverse") is not None else None
    if r.get("inverse") is not None and inverse is None:
        return "a change.intent whose inverse is malformed"
    return RecordedChange(step, action, r.get("before"), probe, inverse, started=str(r.get("ts", "")))


# Events that never announce a change: a damaged line that still shows one of these hides nothing.
_NO_CHANGE = frozenset(
    {
        "run.start", "run.end", "run.interrupted", "host.facts", "host.identity", "host.back",
        "host.reboot.wait", "host.reboot.retry", "host.reboot.dropped", "step.check", "step.plan",
        "step.verify", "step.manual", "step.unplanned", "plan.refused", "plan.matched", "op.output",
        "change.done", "change.failed", "rollback.start", "rollback.end", "rollback.skipped",
        "undo.intent", "undo.verify", "undo.skip", "undo.failed", "undo.left", "undo.irreversible",
    }
)  # fmt: skip


def _damage(d: Damage, intents: set[str]) -> Skipped:
    if d.torn_tail:
        # An intent is written and fsync'd before its change is sent: a torn last line was never followed
        # by the change it would have announced.
        return Skipped(d.line, f"{d.reason}; nothing it would have announced was sent", False, d.step)
    # An event this wbplay never writes, or none legible, may have been an intent.
    could_be_intent = d.event not in _NO_CHANGE and not (d.step and d.step in intents)
    reason = d.reason + ("" if could_be_intent else "; not needed: rollback re-reads the PC instead")
    return Skipped(d.line, reason, could_be_intent, d.step)


def entries(journal: JournalFile) -> Entries:
    """Everything rollback needs from a journal, damage reported rather than fatal."""
    recs = journal.records
    changes: dict[str, RecordedChange] = {}
    skipped: list[Skipped] = []
    settled: dict[str, str] = {}
    identity: PcIdentity | None = None
    user: str | None = None
    last_rollback: str | None = None
    start: Mapping[str, Any] = recs[0] if recs and recs[0].get("event") == "run.start" else {}
    for i, r in enumerate(recs):
        ev, step, line = r["event"], r.get("step"), journal.line_of(i)
        if ev == "host.identity":
            identity = from_record(r)
            user = r.get("user") if isinstance(r.get("user"), str) else None
        elif ev == "change.intent":
            got = _intent(r)
            if isinstance(got, str):
                skipped.append(Skipped(line, got, True, step if isinstance(step, str) else None))
            elif got.step_id in changes:
                skipped.append(Skipped(line, "a second change.intent for the same step", True, got.step_id))
            else:
                changes[got.step_id] = got
                settled.pop(got.step_id, None)
        elif isinstance(step, str) and step in changes:
            c = changes[step]
            if ev == "change.done":
                changes[step] = replace(c, done=str(r.get("ts", "")))
            elif ev == "change.failed":
                changes[step] = replace(c, failed=str(r.get("error", "failed")))
            elif ev == "step.verify" and "after" in r:
                changes[step] = replace(c, after=r["after"])
            elif ev == "undo.verify" and r.get("ok") is True:
                settled[step] = "undone"
            elif ev == "undo.skip":
                settled[step] = "not-applied"
            elif ev == "undo.irreversible":
                settled[step] = "ran"
        elif ev == "rollback.end":
            last_rollback = str(r.get("ts", ""))
    intents = set(changes)
    skipped = sorted([*skipped, *(_damage(d, intents) for d in journal.damage)], key=lambda s: s.line)
    pending = [c for c in changes.values() if c.step_id not in settled]
    return Entries(pending, skipped, start, identity, user, settled, last_rollback)


def from_journal(records: Sequence[dict[str, Any]]) -> list[RecordedChange]:
    """Changes a run announced (intents), minus those a rollback already settled."""
    return entries(JournalFile(Path("-"), list(records), [])).changes
