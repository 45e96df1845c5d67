"""``host.lock`` on the simulated PC: the twin of the agent's ``Invoke-WbHostLock`` (system.ps1).

The lock lives on the model, not in its state file: a state file is the PC's
disk as a test compares it, and a simulated PC opened from a file is one file
on the controller (the controller-side lock already keeps two runs apart).  In
the lab one model serves every connection, so two controllers against one lab
PC meet here exactly as two controllers meet at ``%ProgramData%\\wbplay\\lock``.
Ages are measured by the wall clock, as the agent measures the file's age.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from typing import Any

from wbplay.sim.model import HostModel
from wbplay.sim.reply import Handler
from wbplay.vocab.ops import ERROR_INVALID_PARAMETER, OpResult, win32_failure

_GUARD = threading.Lock()  # CreateNew's atomicity: one check-and-create at a time


def _holder(m: HostModel) -> dict[str, Any] | None:
    held: dict[str, Any] | None = getattr(m, "pc_lock", None)
    if held is None:
        return None
    return {**{k: held[k] for k in ("run", "controller", "started")}, "age_s": int(time.time() - held["at"])}


def _answer(held: bool, holder: dict[str, Any] | None, replaced: dict[str, Any] | None) -> OpResult:
    return OpResult.success({"held": held, "holder": holder, "replaced": replaced})


def _host_lock(m: HostModel, a: dict[str, Any]) -> OpResult:
    run, controller = a["run"], a["controller"]
    if not run or any(c in run + controller for c in "\r\n"):
        return win32_failure(ERROR_INVALID_PARAMETER)
    with _GUARD:
        current = _holder(m)
        if a["action"] == "release":
            if current is not None and current["run"] == run:
                m.pc_lock = None  # type: ignore[attr-defined]
            return _answer(False, current, None)
        if a["action"] != "acquire":
            return win32_failure(ERROR_INVALID_PARAMETER)
        if current is not None and current["run"] == run:
            return _answer(True, current, None)
        stolen = bool(a.get("steal")) and current is not None and current["run"] == a.get("steal")
        if current is not None and current["age_s"] < a["stale_after_s"] and not stolen:
            return _answer(False, current, None)
        started = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        m.pc_lock = {"run": run, "controller": controller, "started": started, "at": time.time()}  # type: ignore[attr-defined]
        return _answer(True, _holder(m), current)


HANDLERS: dict[str, Handler] = {"host.lock": _host_lock}
