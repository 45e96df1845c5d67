"""What a caller hands the runner: its options, and the callbacks for events,
confirmation and manual steps."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from wbplay.playbook.model import Step
from wbplay.run.planguard import PlanGuard
from wbplay.run.results import Failure, RunReport


class Listener(Protocol):
    """Receives every run event (the console); the journal gets the same stream."""

    def event(self, name: str, fields: Mapping[str, Any]) -> None: ...


Confirm = Callable[[RunReport], bool]
AskManual = Callable[[Step, str], bool]  # (step, instruction) -> the human says it is done


@dataclass(frozen=True, slots=True)
class Options:
    dry_run: bool
    rollback: bool = True
    allow: frozenset[str] = frozenset()  # step ids opted in from the command line
    # chkdsk /r at boot reads every sector: hours on a large HDD (docs/domain.md §6), so wait long.
    reboot_timeout_s: float = 4 * 3600.0  # how long to wait for a host to come back after host.reboot
    reboot_poll_s: float = 10.0  # pause between reconnection attempts
    plan: PlanGuard | None = None  # apply exactly this plan, or refuse
    skip_manual: bool = False  # without a terminal, leave manual steps pending instead of failing
    for_failure: Failure | None = None  # the failure the run is for (--for, --for-event, triage --run)
    stop: threading.Event | None = None  # a fleet's Ctrl-C: stop after the current change, as SIGINT does
