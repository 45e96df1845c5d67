"""``events.query``: the simulated PC's event log, newest first, as Get-WinEvent gives it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from wbplay.sim.model import HostModel
from wbplay.sim.reply import Handler
from wbplay.vocab import ops as O
from wbplay.vocab.ops import OpResult, win32_failure


def _event_text(value: Any) -> str | None:
    """Event data as a real PC delivers it: text from the event XML (Boolean as true/false)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def _events_query(m: HostModel, a: dict[str, Any]) -> OpResult:
    if not all(O.event_name_ok(n) for n in (a["provider"], a.get("log") or "x")):
        return win32_failure(O.ERROR_INVALID_PARAMETER)  # as the agent refuses them (events.ps1)
    provider = a["provider"].lower()
    ids = set(a.get("ids") or [])
    log = (a.get("log") or "").lower()
    clock = _parse_time(m.state.get("clock", "2030-01-01T00:00:00Z"))
    since = clock - timedelta(days=a["since_days"]) if a.get("since_days") else None
    found = []
    for e in m.state["events"]:
        if e["provider"].lower() != provider or (ids and e["id"] not in ids):
            continue
        if log and e["log"].lower() != log:
            continue
        if since and _parse_time(e["time"]) < since:
            continue
        found.append(
            {
                "log": e["log"],
                "provider": e["provider"],
                "id": e["id"],
                "level": e["level"],
                "time": e["time"],
                "message": e.get("message"),
                "fields": {k: _event_text(v) for k, v in e.get("fields", {}).items()},
            }
        )
    found.sort(key=lambda e: e["time"], reverse=True)
    return OpResult.success(found[: a.get("max") or 1000])  # the agent's default, too


HANDLERS: dict[str, Handler] = {
    "events.query": _events_query,
}
