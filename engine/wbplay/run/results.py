"""What a run produced: one uniform record per step (goss's model), plus the run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wbplay.errors import ExitCode

# Step statuses.  PENDING_STATUSES leave work for the operator; FAILED ones broke the run.
OK, DRIFT, FIXED, FAILED, BLOCKED, MANUAL, SKIPPED, ERROR, FINDING, ROLLED_BACK = (
    "ok",
    "drift",
    "fixed",
    "failed",
    "blocked",
    "manual",
    "skipped",
    "error",
    "finding",
    "rolled_back",
)
PENDING_STATUSES = (DRIFT, BLOCKED, MANUAL, FINDING)


@dataclass(frozen=True, slots=True)
class Failure:
    """What a run was started for: the error code (or event) the operator or triage named."""

    code: str  # normalised HRESULT, e.g. 0x81000031
    source: str  # "--for", or the event it was read from ("event Microsoft-Windows-Backup 5 <time>")
    target: str | None = None  # the backup target the event names, if any
    alternatives: tuple[str, ...] = ()  # the playbooks triage would try next for this code

    def describe(self) -> str:
        return self.code if self.source == "--for" else f"{self.code} ({self.source})"


@dataclass(frozen=True, slots=True)
class Change:
    """A planned or applied change, as ``before → after``."""

    description: str
    risk: str
    action: dict[str, Any]
    before: Any
    undo: dict[str, Any] | None  # None: cannot be undone


@dataclass(slots=True)
class StepResult:
    id: str
    title: str
    status: str
    observed: Any = None
    expected: str = ""
    change: Change | None = None
    message: str = ""
    error: str | None = None
    duration_ms: int = 0
    verified: bool | None = None
    fingerprint: str = ""  # hash of everything this step read: a plan pins it
    why: str = ""


@dataclass(slots=True)
class RunReport:
    run_id: str
    playbook_id: str
    playbook_title: str
    playbook_sha256: str
    host: str
    mode: str  # "dry-run" | "apply"
    variables: dict[str, Any]
    started: str
    ended: str = ""
    steps: list[StepResult] = field(default_factory=list)
    rolled_back: list[str] = field(default_factory=list)
    rollback_failed: list[str] = field(default_factory=list)
    exit_code: ExitCode = ExitCode.OK
    outcome: str = ""
    facts: dict[str, Any] = field(default_factory=dict)
    facts_fingerprint: str = ""
    host_spec: str = ""
    playbook_path: str = ""
    journal_path: str = ""  # where the run's journal is (wbplay log / rollback RUN read it)
    for_failure: Failure | None = None  # the failure this run is for; None: a plain compliance run
    next_playbooks: list[str] = field(default_factory=list)  # "no cause found": what triage tries next
    first_needed: list[str] = field(default_factory=list)  # blocked repairs the later steps wait for

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.steps:
            out[s.status] = out.get(s.status, 0) + 1
        return out
