"""What every phase of one run shares: the host, the run's inputs, its event
stream and the flags that change while it runs."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from wbplay.hosts.base import Host
from wbplay.playbook.model import Step
from wbplay.run.journal import Journal
from wbplay.run.options import Listener, Options


@dataclass(slots=True)
class RunContext:
    host: Host
    variables: Mapping[str, Any]
    options: Options
    journal: Journal
    listener: Listener
    facts: dict[str, Any] = field(default_factory=dict)  # os.info from the first read (for `when`)
    interrupted: bool = False  # Ctrl-C arrived while changes were being applied
    step_now: str | None = None  # the step whose op is running, for live output lines
    # Ctrl-C stops a wait (a prompt, a PC restarting) at once: nothing is half-done there.
    waiting: bool = False
    # Why the PC may not be answering (a restart it has not come back from, a lost connection):
    # an automatic rollback is never started against it blind.
    host_away: str = ""
    steps: Mapping[str, Step] = field(default_factory=dict)  # the playbook's steps by id (guards, consent)
    var_docs: Mapping[str, str] = field(default_factory=dict)  # variable -> its description (BLOCKED lines)
    waited_for: set[str] = field(default_factory=set)  # blocked steps that later repairs wait for

    def emit(self, name: str, **fields: Any) -> None:
        """One run event, to the journal first, then to the listener."""
        self.journal.append(name, **fields)
        self.listener.event(name, fields)


    @contextmanager
    def interruptible(self) -> Iterator[None]:
        """While inside, Ctrl-C raises KeyboardInterrupt at once instead of waiting for the change."""
        self.waiting = True
        try:
            yield
        finally:
            self.waiting = False


def ms_since(t0: float) -> int:
    return int((time.monotonic() - t0) * 1000)
