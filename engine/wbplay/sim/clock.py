"""The simulated PC's clock and event log writes (deterministic: time moves only when
the PC does something that takes time, such as a reboot or a chkdsk pass)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from wbplay.sim.model import HostModel

FORMAT = "%Y-%m-%dT%H:%M:%SZ"
DEFAULT_CLOCK = "2030-01-01T00:00:00Z"


def parse(text: str) -> datetime:
    return datetime.strptime(text, FORMAT).replace(tzinfo=timezone.utc)


def fmt(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime(FORMAT)


def now(m: HostModel) -> datetime:
    return parse(str(m.state.get("clock", DEFAULT_CLOCK)))


def advance(m: HostModel, minutes: int) -> str:
    m.state["clock"] = fmt(now(m) + timedelta(minutes=minutes))
    return str(m.state["clock"])


def last_boot(m: HostModel) -> str:
    """``os.last_boot``, or two hours before the clock for states that do not say."""
    stored = m.os.get("last_boot")
    return str(stored) if stored else fmt(now(m) - timedelta(hours=2))


def log_event(
    m: HostModel,
    *,
    log: str,
    provider: str,
    event_id: int,
    level: str,
    message: str,
    fields: dict[str, Any] | None = None,
    version: int | None = None,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "log": log,
        "provider": provider,
        "id": event_id,
        "level": level,
        "time": m.state.get("clock", DEFAULT_CLOCK),
        "message": message,
        "fields": dict(fields or {}),
    }
    if version is not None:
        event["version"] = version
    m.state["events"].append(event)
    return event
