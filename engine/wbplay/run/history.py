"""Past runs, from their journals: ``wbplay runs``, its filters, retention, and
which other runs changed the same thing on the same PC (rollback's "two runs at
once" rule)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from wbplay.errors import ExitCode, JournalError, UsageError
from wbplay.paths import runs_dir
from wbplay.run import recorded
from wbplay.run.identity import PcIdentity
from wbplay.run.journal import JournalFile, parse
from wbplay.vocab import probes


@dataclass(frozen=True, slots=True)
class RunSummary:
    run_id: str
    started: str
    playbook: str
    host: str
    mode: str
    outcome: str  # the run.end outcome, or "interrupted" when the journal just stops
    rollback: str = ""  # "" | "rolled back" | "rollback incomplete"
    rolled_back_at: str = ""
    last_activity: str = ""  # the newest record's time
    damaged: int = 0  # lines that could not be read
    settled: bool = False  # nothing in it is left to undo or to look at: retention may delete it
    why_kept: str = ""  # when not settled: why retention keeps it
    path: Path | None = None
    fleet: str = ""  # the fleet run it was part of (``--host GROUP``), if any

    @property
    def status(self) -> str:
        if self.rollback:
            return f"{self.outcome}, {self.rollback} {self.rolled_back_at}".strip()
        return self.outcome


def _settled(found: JournalFile, end: dict[str, Any] | None, rollback: str) -> tuple[bool, str]:
    if found.damage:
        return False, "damaged lines: check it before deleting"
    if rollback == "rolled back":
        return True, ""
    if rollback == "rollback incomplete":
        return False, "its rollback left changes to look at"
    if end is None:
        return False, "not ended (killed or still running): it may still need `wbplay rollback`"
    if end.get("exit_code") in (int(ExitCode.NEEDS_ATTENTION), int(ExitCode.INTERRUPTED)):
        return False, f"ended with exit {end.get('exit_code')}: the host may still need attention"
    return True, ""


def summarize(found: JournalFile, run_id: str) -> RunSummary:
    records = found.records
    start = records[0] if records and records[0]["event"] == "run.start" else {}
    ends = [i for i, r in enumerate(records) if r["event"] == "run.end"]
    end = records[ends[-1]] if ends else None
    # A rollback after the run ended (`wbplay rollback`); the run's own shows in its outcome.
    rbs = [i for i, r in enumerate(records) if r["event"] == "rollback.end" and (not ends or i > ends[-1])]
    last_rb = records[rbs[-1]] if rbs else None
    rollback, at = "", ""
    if last_rb is not None:
        left = last_rb.get("failed") or last_rb.get("left") or []
        rollback = "rollback incomplete" if left else "rolled back"
        at = str(last_rb.get("ts", ""))
    settled, why = _settled(found, end, rollback)
    pb = start.get("playbook")
    return RunSummary(
        run_id=run_id,
        started=str(start.get("ts", records[0].get("ts", "") if records else "")),
        playbook=str(pb.get("id", "?")) if isinstance(pb, dict) else "?",
        host=str(start.get("host", "?")),
        mode=str(start.get("mode", "?")),
        outcome=str(end.get("outcome", "?")) if end else "interrupted",
        rollback=rollback,
        rolled_back_at=at,
        last_activity=str(records[-1].get("ts", "")) if records else "",
        damaged=len(found.damage),
        settled=settled,
        why_kept=why,
        path=found.path,
        fleet=str(start.get("fleet", "")),
    )


def _journals(directory: Path | None) -> Iterator[tuple[Path, JournalFile]]:
    d = directory or runs_dir()
    if not d.is_dir():
        return
    for path in sorted(d.glob("*.jsonl")):
        try:
            if not path.is_file():
                continue
            found = parse(path.read_bytes(), path)
        except OSError:
            continue
        if found.records:
            yield path, found


def summaries(
    directory: Path | None = None,
    *,
    host: str | None = None,
    playbook: str | None = None,
    fleet: str | None = None,
) -> list[RunSummary]:
    """Every run with a readable journal, newest first; ``host`` matches a part of the host's name,
    ``fleet`` a fleet run's id exactly."""
    out = [summarize(found, path.stem) for path, found in _journals(directory)]
    if fleet:
        out = [s for s in out if s.fleet == fleet]
    if host:
        out = [s for s in out if host.casefold() in s.host.casefold()]
    if playbook:
        out = [s for s in out if s.playbook == playbook]
    return sorted(out, key=lambda s: (s.started, s.run_id), reverse=True)


_AGE = re.compile(r"^\s*(\d+)\s*([dhw])\s*$")


def parse_age(text: str) -> timedelta:
    """``90d``, ``12h``, ``2w``."""
    m = _AGE.match(text)
    if not m:
        raise UsageError(f"--older-than {text!r}: give a number of days, hours or weeks, e.g. 90d, 12h, 2w")
    n, unit = int(m.group(1)), m.group(2)
    return {"d": timedelta(days=n), "h": timedelta(hours=n), "w": timedelta(weeks=n)}[unit]


def _when(ts: str) -> datetime | None:
    try:
        return datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Pruned:
    deleted: list[RunSummary]
    kept: list[RunSummary]  # old enough, but not settled (each says why)


def prune(older_than: timedelta, directory: Path | None = None, *, now: datetime | None = None) -> Pruned:
    """Delete the journals of settled runs whose last record is older than ``older_than``.

    A run that did not end, whose rollback is incomplete, that ended needing
    attention, or whose journal is damaged is never deleted.
    """
    cutoff = (now or datetime.now(timezone.utc)) - older_than
    deleted, kept = [], []
    for s in summaries(directory):
        when = _when(s.last_activity)
        if when is None or when >= cutoff:
            continue
        if not s.settled:
            kept.append(s)
            continue
        assert s.path is not None
        try:
            s.path.unlink()
        except OSError as e:
            raise JournalError(f"{s.path}: cannot delete: {e.strerror or e}") from None
        deleted.append(s)
    return Pruned(deleted, kept)


def _target(probe: Any) -> tuple[str, str] | None:
    return probes.to_op(probe).key() if probe is not None else None


def later_changes(
    run_id: str,
    started: str,
    pc: PcIdentity,
    changes: Sequence[recorded.RecordedChange],
    directory: Path | None = None,
) -> dict[str, str]:
    """Steps of ``changes`` whose target another run on the same PC changed after ``started``
    and did not undo: step id -> "run X (at T)".  Undoing those would undo that run's change."""
    wanted = {_target(c.before_probe): c.step_id for c in changes if c.before_probe is not None}
    found: dict[str, str] = {}
    for path, journal in _journals(directory):
        if path.stem == run_id:
            continue
        theirs = recorded.entries(journal)
        if theirs.identity is None or not theirs.identity.same_pc(pc):
            continue
        for c in theirs.changes:  # changes not undone: settled ones are left out
            step = wanted.get(_target(c.before_probe))
            if step is not None and c.started > started and (c.done or c.failed is None):
                found.setdefault(step, f"run {path.stem} (at {c.started})")
    return found
