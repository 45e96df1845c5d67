"""A fleet's results, for one review: each PC's outcome, grouped by the same planned change set."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from wbplay.errors import ExitCode
from wbplay.run.results import DRIFT, RunReport


@dataclass(frozen=True, slots=True)
class HostOutcome:
    """One PC of a multi-host run: its report, or the error that stopped it."""

    host: str
    exit_code: ExitCode
    report: RunReport | None = None
    journal: Path | None = None
    error: str = ""

    @property
    def outcome(self) -> str:
        return self.report.outcome if self.report is not None else "error"


# Worst first: the exit code of a multi-host run is that of its worst host.
_SEVERITY = [
    ExitCode.INTERRUPTED,
    ExitCode.NEEDS_ATTENTION,
    ExitCode.CONNECTION,
    ExitCode.ROLLED_BACK,
    ExitCode.INVALID,
    ExitCode.NO_CAUSE,
    ExitCode.PENDING,
    ExitCode.OK,
]


def worst(codes: Iterable[ExitCode]) -> ExitCode:
    present = set(codes)
    return next((c for c in _SEVERITY if c in present), ExitCode.OK)


ChangeSet = tuple[tuple[str, str], ...]  # (step id, "before → after") for every planned change


def change_set(report: RunReport) -> ChangeSet:
    return tuple(
        (s.id, s.change.description if s.change is not None else s.message)
        for s in report.steps
        if s.status == DRIFT
    )


@dataclass(frozen=True, slots=True)
class Group:
    changes: ChangeSet
    hosts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FleetReview:
    compliant: tuple[str, ...]  # nothing to change
    groups: tuple[Group, ...]  # the same change set on two PCs or more, largest first
    outliers: tuple[HostOutcome, ...]  # a change set of its own, or a PC that could not be assessed

    @property
    def drifted(self) -> int:
        return sum(len(g.hosts) for g in self.groups) + sum(
            1 for o in self.outliers if o.report is not None and change_set(o.report)
        )


def review(outcomes: Sequence[HostOutcome]) -> FleetReview:
    """Group the dry-run of every PC: who is compliant, who needs the same changes, who stands out."""
    compliant: list[str] = []
    by_set: dict[ChangeSet, list[HostOutcome]] = {}
    outliers: list[HostOutcome] = []
    for o in outcomes:
        if o.report is None or o.exit_code not in (ExitCode.OK, ExitCode.PENDING, ExitCode.NO_CAUSE):
            outliers.append(o)
            continue
        changes = change_set(o.report)
        if not changes:
            compliant.append(o.host)
        else:
            by_set.setdefault(changes, []).append(o)
    groups = []
    for changes, members in sorted(by_set.items(), key=lambda kv: -len(kv[1])):
        if len(members) > 1:
            groups.append(Group(changes, tuple(m.host for m in members)))
        else:
            outliers.extend(members)
    return FleetReview(tuple(compliant), tuple(groups), tuple(outliers))
