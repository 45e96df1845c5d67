"""``wbplay triage``: from an error (pasted, or read off the PC's event logs) to the playbooks
that apply, ranked, each with the evidence that matched.

The index is the library itself: every playbook's ``applies_to.error_codes``
(the first code is the one it is *for*; later ones are related codes) and
``applies_to.messages`` (verbatim texts users paste, English and Japanese).

Evidence comes from:

* ``--error``: any text.  Codes are found in every spelling Windows uses
  (``0x8007045D``, ``2155348129``, full-width digits...) and normalised
  (:mod:`wbplay.codes`); the text is also compared with the playbooks'
  messages, so a pasted message without a code still finds its playbook.
* ``--host``: the PC's backup failures, read by provider (Microsoft-Windows-Backup
  writes to its own log *and* to Application, docs/domain.md s.3.1 [V]) with
  codes read from named fields (HRESULT, DetailedHRESULT, ErrorCode), plus a few
  corroborating System/Application events (disk errors, CAPI2 513).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from wbplay.hosts.base import Host
from wbplay.playbook.model import Playbook, Probe
from wbplay.vocab import codes, domain, probes

PRIMARY = 100.0  # the code a playbook is for
RELATED = 60.0  # a related code it also handles (minus a little per position)
DETAIL = 40.0  # the failure's detailed code
MESSAGE = 90.0  # the pasted text matches one of its messages (scaled by similarity)
MIN_SIMILARITY = 0.8
MIN_TEXT = 12  # characters (after flattening) a text needs before it is compared by similarity
OLDER = 0.5  # weight of every failure but the newest one

# Corroborating events that point at one playbook more than a code can (the Backup
# events for these cases carry a generic code).  provider, ids, playbook, score, why.
CORROBORATING: tuple[tuple[str, tuple[int, ...], str, float, str], ...] = (
    (
        "Microsoft-Windows-CAPI2",
        (513,),
        "check-user-folders",
        150.0,
        "CAPI2 513: the System Writer fails (relocated profiles, docs/domain.md s.2 notes [3P])",
    ),
    (
        "disk",
        (7, 11, 51, 153, 157),
        "fix-0x8007045d",
        30.0,
        "disk errors in the System log (docs/domain.md s.3.4)",
    ),
)


@dataclass(frozen=True, slots=True)
class Evidence:
    """One failure the user saw or the PC logged."""

    source: str  # "--error" or "event <provider> <id> <time>"
    code: str | None = None
    detailed_code: str | None = None
    text: str = ""
    target: str | None = None
    weight: float = 1.0


@dataclass(slots=True)
class Match:
    playbook_id: str
    title: str
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)
    suggested_vars: dict[str, str] = field(default_factory=dict)


# -- text similarity ------------------------------------------------------------------------


def _flat(text: str) -> str:
    """NFKC, case-folded, without codes, spaces and punctuation (works for Japanese too)."""
    t = unicodedata.normalize("NFKC", text).casefold()
    t = re.sub(r"0x[0-9a-f]{8}|\b\d{10}\b", "", t)
    return "".join(ch for ch in t if ch.isalnum())


def _grams(text: str, n: int) -> set[str]:
    return {text[i : i + n] for i in range(len(text) - n + 1)} if len(text) >= n else {text}


def similarity(pasted: str, message: str) -> float:
    """0..1: containment first, then how much of the shorter text's character trigrams the
    other one has (no word splitting, so Japanese without spaces compares like English)."""
    a, b = _flat(pasted), _flat(message)
    if not a or not b:
        return 0.0
    if b in a or (len(a) >= MIN_TEXT and a in b):
        return 1.0
    if min(len(a), len(b)) < MIN_TEXT:
        return 0.0  # a few characters ("エラー", "error code") say nothing
    ga, gb = _grams(a, 3), _grams(b, 3)
    return len(ga & gb) / max(1, min(len(ga), len(gb)))


# -- evidence --------------------------------------------------------------------------------


def from_text(text: str) -> list[Evidence]:
    """A pasted error message or code: one evidence per code found, or the text alone."""
    found = codes.codes_in(text)
    if not found:
        return [Evidence("--error", None, None, text)]
    return [Evidence("--error", c, None, text, None, 1.0 if i == 0 else OLDER) for i, c in enumerate(found)]


def host_probes(since_days: int = 30) -> list[Probe]:
    """What ``--host`` reads: backup failures by provider, plus corroborating events."""
    out = [Probe("backup.errors", {"since_days": since_days})]
    for provider, ids, *_ in CORROBORATING:
        out.append(Probe("events", {"provider": provider, "ids": list(ids), "since_days": since_days}))
    return out


def read_host(host: Host, since_days: int = 30) -> tuple[list[Evidence], list[dict[str, Any]]]:
    """One batched read of the PC: (backup failures as evidence, corroborating events)."""
    wanted = host_probes(since_days)
    ops: dict[tuple[str, str], Any] = {}
    for p in wanted:
        for op in probes.to_ops(p):
            ops.setdefault(op.key(), op)
    results = dict(zip(ops, host.read(list(ops.values())), strict=True))
    values: list[Any] = []
    for p in wanted:
        got = [results[op.key()] for op in probes.to_ops(p)]
        values.append(probes.observe_all(p, got) if all(r.ok for r in got) else [])
    failures = values[0] or []
    evidence = [
        Evidence(
            f"event {f['provider']} {f['id']} {f['time']}",
            f["code"],
            f["detailed_code"],
            f.get("message") or "",
            f.get("target"),
            1.0 if i == 0 else OLDER,
        )
        for i, f in enumerate(failures)
        if f["code"] or f.get("message")
    ]
    corroborating = [e for events in values[1:] for e in (events or [])]
    return evidence, corroborating


# -- ranking --------------------------------------------------------------------------------


def _score(pb: Playbook, ev: Evidence) -> tuple[float, list[str]]:
    """How strongly one piece of evidence points at ``pb``, and why."""
    listed = list(pb.applies_to.error_codes)
    score, reasons = 0.0, []
    if ev.code and ev.code in listed:
        i = listed.index(ev.code)
        score += PRIMARY if i == 0 else RELATED - 5 * i
        reasons.append(f"{ev.code} ({'its code' if i == 0 else 'a related code'}) from {ev.source}")
    if ev.detailed_code and ev.detailed_code in listed:
        score += DETAIL
        reasons.append(f"detailed code {ev.detailed_code} from {ev.source}")
    if ev.text and not score:
        # The text counts when no code did: a code and its message are the same evidence.
        best = max(
            (similarity(ev.text, msg) for msgs in pb.applies_to.messages.values() for msg in msgs),
            default=0.0,
        )
        if best >= MIN_SIMILARITY:
            score += MESSAGE * best
            reasons.append(f"message matches ({best:.0%}) from {ev.source}")
    return score * ev.weight, reasons


def _benign(event: dict[str, Any]) -> bool:
    """An event that is never evidence: the MSLLDP CAPI2 513 of every Windows Server (KB3209092 [V])."""
    return (
        event.get("id") == 513
        and str(event.get("provider", "")).lower() == "microsoft-windows-capi2"
        and domain.benign_capi2_513(event.get("message"))
    )


def rank(
    evidence: Sequence[Evidence], playbooks: Iterable[Playbook], events: Sequence[dict[str, Any]] = ()
) -> list[Match]:
    """Playbooks that apply, best first.

    A playbook scores its *best* piece of evidence (the same failure logged three times is
    one failure), plus corroborating events; ties go to the playbook id's order.
    """
    matches: list[Match] = []
    for pb in playbooks:
        m = Match(pb.id, pb.title)
        for ev in evidence:
            score, reasons = _score(pb, ev)
            if score <= 0:
                continue
            m.score = max(m.score, score)
            m.reasons += [r for r in reasons if r not in m.reasons]
            if ev.target and "target" in pb.vars and ev.code in pb.applies_to.error_codes:
                m.suggested_vars.setdefault("target", ev.target)
        for provider, ids, pb_id, bonus, why in CORROBORATING:
            seen = [
                e
                for e in events
                if str(e.get("provider", "")).lower() == provider.lower()
                and e.get("id") in ids
                and not _benign(e)
            ]
            if seen and pb_id == pb.id:
                m.score += bonus
                m.reasons.append(f"{why}: {len(seen)} event(s)")
        if m.score > 0:
            matches.append(m)
    return sorted(matches, key=lambda m: (-m.score, m.playbook_id))


@dataclass(frozen=True, slots=True)
class TriageResult:
    evidence: tuple[Evidence, ...]
    matches: tuple[Match, ...]
    corroborating: tuple[dict[str, Any], ...] = ()
    unknown_codes: tuple[str, ...] = ()  # codes with no known meaning and no playbook: never guessed


ASK_FOR_ERROR_MESSAGE = (
    "no authoritative meaning is known for {code}; wbplay does not guess. Paste the failed "
    "backup event's ErrorMessage field (Event Viewer > Applications and Services Logs > "
    "Microsoft > Windows > Backup, the event's Details) with --error"
)


def unknown_codes(evidence: Sequence[Evidence], playbooks: Iterable[Playbook]) -> tuple[str, ...]:
    """The codes in ``evidence`` that no playbook lists, known-unknown ones first, once each."""
    listed = {c for pb in playbooks for c in pb.applies_to.error_codes}
    seen = [c for ev in evidence for c in (ev.code, ev.detailed_code) if c and c not in listed]
    ordered = sorted(dict.fromkeys(seen), key=lambda c: c not in codes.NO_KNOWN_MEANING)
    return tuple(ordered)


def run(
    *,
    error: str | None,
    host: Host | None,
    playbooks: Iterable[Playbook],
    since_days: int = 30,
) -> TriageResult:
    """Rank ``playbooks`` from a pasted ``error``, the ``host``'s events, or both."""
    evidence: list[Evidence] = []
    events: list[dict[str, Any]] = []
    if error:
        evidence += from_text(error)
    if host is not None:
        found, events = read_host(host, since_days)
        evidence += found
    library = list(playbooks)
    return TriageResult(
        tuple(evidence),
        tuple(rank(evidence, library, events)),
        tuple(events),
        unknown_codes(evidence, library),
    )
