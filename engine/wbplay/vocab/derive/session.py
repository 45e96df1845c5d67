"""The reboot guard: may wbplay restart this PC now?  Never under a signed-in user unless the
operator allows it, and only inside the maintenance window when one is given (Microsoft's
data-corruption guide: "schedule a maintenance window" for chkdsk /f /r [V];
docs/domain-review.md A.2)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from wbplay.vocab.derive.volumes import Args, Rec

_WINDOW = re.compile(r"^\s*([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-3]):([0-5]\d)\s*$")
_CLOCK = re.compile(r"T(\d\d):(\d\d)")


def in_window(window: str, local_time: str) -> bool | None:
    """Whether ``local_time`` (ISO, the PC's wall clock) falls in ``HH:MM-HH:MM``; a window
    may cross midnight (22:00-05:00).  None when either cannot be read."""
    w, t = _WINDOW.match(window or ""), _CLOCK.search(local_time or "")
    if w is None or t is None:
        return None
    start, end = int(w[1]) * 60 + int(w[2]), int(w[3]) * 60 + int(w[4])
    now = int(t[1]) * 60 + int(t[2])
    return start <= now < end if start <= end else (now >= start or now < end)


def reboot_ok(values: Sequence[Any], args: Args) -> Rec:
    info = values[0] or {}
    sessions = list(info.get("desktop_sessions") or [])
    console = info.get("console_user")
    local_time = str(info.get("local_time") or "")
    window = str(args.get("window") or "").strip()
    why = []
    if sessions and args.get("allow_signed_in") is not True:
        who = f" (console: {console})" if console else ""
        why.append(f"{len(sessions)} desktop session(s) open{who}: unsaved work would be lost")
    if window:
        inside = in_window(window, local_time)
        if inside is None:
            why.append(f"the maintenance window {window!r} is not HH:MM-HH:MM")
        elif not inside:
            why.append(f"outside the maintenance window {window} (the PC's clock: {local_time[11:16]})")
    return {
        "ok": not why,
        "why": "; ".join(why),
        "desktop_sessions": sessions,
        "console_user": console,
        "local_time": local_time,
    }
