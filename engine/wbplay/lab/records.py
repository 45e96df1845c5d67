"""What the lab records and counts, and the interruptions a fault sweep plans (see server.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestRecord:
    """One HTTP request as the lab saw it: no bodies, no credentials."""

    connection: int
    action: str | None  # "Create", "Command", ... or None for auth legs and unparsed bodies
    shell_id: str | None
    status: int  # 0: the lab dropped the connection instead of answering (drop_after, interrupt_at)
    content_type: str  # of the request as it arrived on the socket
    encrypted: bool
    user: str | None


@dataclass(frozen=True)
class Interruption:
    """What the lab does at one request instead of answering it (see :meth:`LabServer.interrupt_at`)."""

    request: int  # 1-based, over every POST since the counters were last reset (auth legs too)
    serve: bool  # True: serve the request (its effect lands) and lose only the answer
    then: Callable[[], None] | None  # runs before the connection closes: kill the client, crash the lab


@dataclass(frozen=True)
class Counters:
    requests: int = 0
    connections: int = 0
    auth_handshakes: int = 0
    auth_failures: int = 0
    shells_created: int = 0
    commands: int = 0
    faults: int = 0
    dropped: int = 0
    connection_errors: int = 0  # failed TLS handshakes, clients that vanished mid-request
    reboots: int = 0  # restarts of the PC (the agent ran host.reboot and its answer went out)
    refused: int = 0  # connections reset, and stray requests dropped, while the PC was restarting
    interrupted: int = 0  # requests that got no answer because of interrupt_at
    crashes: int = 0  # crash() calls


__all__ = ["Counters", "Interruption", "RequestRecord"]
