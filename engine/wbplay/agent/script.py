"""The agent script as it is sent: its ``.ps1`` parts (package data) joined in order.

Every part must be pure ASCII, so the script survives any shell codepage on
the way in; full-line comments are dropped on the wire to save bytes.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

from wbplay.errors import AgentError

# The agent's files (package data), run as ONE script in this order: agent.ps1
# opens with ``param()`` and holds the shared state, errors, JSON and request
# decoding; the op families follow, each after the parts whose functions it
# calls (os.ps1 before native.ps1, which decodes tool output in the OEM
# codepage; storage.ps1, volumes and disks, before backup.ps1, shadow storage
# and backup catalogs, which resolve volumes); main.ps1 (dispatcher and main) comes last, because the script
# runs top to bottom and calls every function defined before it.
AGENT_PARTS: tuple[str, ...] = (
    "agent.ps1",
    "registry.ps1",
    "os.ps1",
    "services.ps1",
    "paths.ps1",
    "events.ps1",
    "native.ps1",
    "storage.ps1",
    "backup.ps1",
    "commands.ps1",
    "system.ps1",
    "main.ps1",
)


def _agent_part(name: str) -> str:
    raw = resources.files("wbplay.agent").joinpath(name).read_bytes()
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as e:
        raise AgentError(
            f"{name} is not ASCII (byte {e.start}); it would not survive the shell codepage"
        ) from e
    text = text.replace("\r\n", "\n")
    return text if text.endswith("\n") else text + "\n"


_HERE_STRING_OPEN = re.compile(r"@['\"]\s*$")
_HERE_STRING_CLOSE = re.compile(r"^['\"]@")


def drop_comment_lines(text: str) -> str:
    """``text`` without its full-line ``#`` comments, except the opening block.

    The comments document the source files; on the wire they would only add
    bytes (the request travels after the agent, in the PC's envelope-sized
    chunks).  Lines inside here-strings are data and stay.  The opening
    comment block stays too, so the payload still says what it is.
    """
    out: list[str] = []
    header = True
    in_here_string = False
    for line in text.split("\n"):
        stripped = line.strip()
        if in_here_string:
            in_here_string = not _HERE_STRING_CLOSE.match(line)
        elif stripped.startswith("#") and not header:
            continue
        else:
            in_here_string = bool(_HERE_STRING_OPEN.search(line))
        header = header and stripped.startswith("#")
        out.append(line)
    return "\n".join(out)


def strip_indentation(text: str) -> str:
    """``text`` without the leading spaces of its lines, except inside here-strings.

    Indentation is a fifth of the agent and PowerShell does not read it; no
    string but a here-string spans lines (a test keeps it so), so no string
    changes.  Here-strings are data and stay as they are.
    """
    out: list[str] = []
    in_here_string = False
    for line in text.split("\n"):
        if in_here_string:
            in_here_string = not _HERE_STRING_CLOSE.match(line)
        else:
            in_here_string = bool(_HERE_STRING_OPEN.search(line))
            line = line.lstrip(" ")
        out.append(line)
    return "\n".join(out)


@lru_cache(maxsize=1)
def agent_script() -> str:
    """The agent as it is sent: :data:`AGENT_PARTS` joined in order, LF line
    ends, full-line comments dropped (:func:`drop_comment_lines`), indentation
    too (:func:`strip_indentation`).

    Raises :class:`AgentError` if a part is not pure ASCII: the agent must
    survive any codepage on the way in.
    """
    return strip_indentation(drop_comment_lines(agent_source()))


def agent_source() -> str:
    """:data:`AGENT_PARTS` joined in order, comments and all (what the tests read)."""
    return "".join(_agent_part(name) for name in AGENT_PARTS)
