"""The simulated PC's UI language, and the line endings its console tools print."""

from __future__ import annotations

from wbplay.sim.model import HostModel


def lang(m: HostModel) -> str:
    return "ja" if str(m.os.get("locale", "")).lower().startswith("ja") else "en"


def tr(m: HostModel, en: str, ja: str) -> str:
    """``en`` or ``ja``, by the PC's UI language."""
    return ja if lang(m) == "ja" else en


def crlf(lines: list[str]) -> str:
    return "\r\n".join(lines) + "\r\n"
