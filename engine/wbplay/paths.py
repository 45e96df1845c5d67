"""Where wbplay keeps its own state on the operator's machine."""

from __future__ import annotations

import os
from pathlib import Path


def state_home() -> Path:
    """``$WBPLAY_HOME``, else ``$XDG_STATE_HOME/wbplay``, else ``~/.local/state/wbplay``."""
    if os.environ.get("WBPLAY_HOME"):
        return Path(os.environ["WBPLAY_HOME"])
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "state"
    return base / "wbplay"


def runs_dir() -> Path:
    return state_home() / "runs"


def sim_dir() -> Path:
    return state_home() / "sim"
