"""What every phase of one run shares: the host, the run's inputs, its event
stream and the flags that change while it runs."""

from __future__ import annotations

import time
from collections.abc import Mapping
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
    steps: Mapping[str, Step] = field(default_factory=dict)  # the playbook's steps by id (guards, consent)
    var_docs: Mapping[str, str] = field(default_factory=dict)  # variable -> its description (BLOCKED lines)
    waited_for: set[str] = field(default_factory=set)  # blocked steps that later repairs wait for

    def emit(self, name: str, **fields: Any) -> None:
        """One run event, to the journal first, then to the listener."""
        self.journal.append(name, **fields)
        self.listener.event(name, fields)


def ms_since(t0: float) -> int:
    return int((time.monotonic() - t0) * 1000)
