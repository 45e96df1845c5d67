"""Bounded parallel fan-out over PCs: at most ``forks`` at once, each in its own thread.

Threads, not processes or asyncio: a PC's run is blocking pywinrm I/O (the GIL is
released while a socket waits), the runner and its journal are synchronous, and a
thread shares the one loaded playbook.  Each PC gets its own stop event: the
fleet's Ctrl-C sets them all (each running PC finishes its current change and
rolls back, as one PC does on SIGINT); a PC past ``timeout`` gets its own set and
its slot is given to the next PC, so one hung PC never holds up the others.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Generic, TypeVar

R = TypeVar("R")


def new_fleet_id() -> str:
    """One fleet run's id, recorded in every PC's journal so ``wbplay rollback --fleet ID`` finds them."""
    return f"fleet-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


@dataclass(frozen=True, slots=True)
class Progress:
    total: int
    done: int
    running: int
    failed: int
    elapsed_s: float

    @property
    def left(self) -> int:
        return self.total - self.done - self.running

    @property
    def eta_s(self) -> float | None:
        """Time left at the pace so far (None until one PC is done)."""
        if not self.done:
            return None
        return self.elapsed_s / self.done * (self.total - self.done)


@dataclass(slots=True)
class FanOut(Generic[R]):
    results: dict[str, R] = field(default_factory=dict)
    timed_out: list[str] = field(default_factory=list)  # given up on; told to stop, may still be closing
    not_started: list[str] = field(default_factory=list)  # left when the fleet was interrupted
    interrupted: bool = False


def fan_out(
    items: Sequence[str],
    work: Callable[[str, threading.Event], R],
    *,
    forks: int,
    on_error: Callable[[str, Exception], R],
    on_timeout: Callable[[str], R],
    failed: Callable[[R], bool] = lambda r: False,
    timeout_s: float | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    tick_s: float = 1.0,
) -> FanOut[R]:
    """Run ``work(item, stop)`` for every item, ``forks`` at a time; never raises for one item.

    ``on_error`` turns an unexpected exception of one item into its result, so
    one PC's bug cannot stop the fleet; ``on_timeout`` is the result of an item
    still running ``timeout_s`` after it started.  Ctrl-C (in the calling thread)
    stops starting items and waits for the running ones; a second Ctrl-C stops waiting.
    """
    if forks < 1:
        raise ValueError("forks must be at least 1")
    out: FanOut[R] = FanOut()
    pending = deque(items)
    running: dict[str, tuple[float, threading.Event]] = {}
    cond = threading.Condition()
    t0 = time.monotonic()
    n_failed = 0

    def worker(item: str, stop: threading.Event) -> None:
        nonlocal n_failed
        try:
            result = work(item, stop)
        except Exception as e:  # one PC's failure must never stop the fleet
            result = on_error(item, e)
        with cond:
            if item in running:  # not already given up on by the timeout
                del running[item]
                out.results[item] = result
                n_failed += bool(failed(result))
            cond.notify_all()

    def report() -> None:
        if on_progress is not None:
            on_progress(Progress(len(items), len(out.results), len(running), n_failed, time.monotonic() - t0))

    stopping = False
    with cond:
        while True:
            try:
                while True:
                    now = time.monotonic()
                    for item, (deadline, stop) in list(running.items()):
                        if deadline <= now:
                            stop.set()
                            del running[item]
                            out.results[item] = on_timeout(item)
                            out.timed_out.append(item)
                            n_failed += 1
                    while pending and len(running) < forks and not stopping:
                        item = pending.popleft()
                        stop = threading.Event()
                        deadline = now + timeout_s if timeout_s is not None else float("inf")
                        running[item] = (deadline, stop)
                        thread = threading.Thread(target=worker, args=(item, stop), name=f"fleet:{item}")
                        thread.daemon = True  # a hung PC must not keep the controller alive at exit
                        thread.start()
                    report()
                    if not running and (stopping or not pending):
                        break
                    next_deadline = min(d for d, _ in running.values()) - now
                    cond.wait(timeout=max(0.01, min(tick_s, next_deadline)))
                break
            except KeyboardInterrupt:
                if stopping:  # the second Ctrl-C: stop waiting; each running PC was already told to stop
                    out.timed_out.extend(running)
                    break
                stopping = out.interrupted = True
                for _, stop in running.values():
                    stop.set()
    out.not_started = list(pending)
    return out
