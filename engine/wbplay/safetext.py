"""One rendering rule for text that came from a PC or a file.

A registry value, a service's display name, an event message or a tool's
output is data, never layout: a value holding ``ESC[1A ESC[2K`` (cursor up,
erase line) must not erase or fake a line of a dry-run that a reviewer pastes
into a change ticket, and a right-to-left override must not reorder it.
:func:`visible` shows every such character as an escape (``\\x1b``,
``\\u202e``); :func:`bounded` and :func:`quoted` keep a message that quotes
input short, however large the input.

The console, Markdown and JUnit writers use these; JSON keeps exact values.
"""

from __future__ import annotations

import re
import reprlib
import unicodedata
from typing import Any

LIMIT = 200  # characters of input an error message quotes

# Categories that are invisible or act on the text around them: control (C0, DEL,
# C1: ESC starts every ANSI/OSC sequence), format (bidi overrides and isolates,
# zero-width characters, BOM, tag characters), line/paragraph separators (a line
# break a one-line field must not have), and lone surrogates (not text at all).
_HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
# Printable ASCII is never hidden: skip it without looking up its category.
_CANDIDATE = re.compile(r"[^\x20-\x7e]")


def escape_char(ch: str) -> str:
    """``ch`` as an escape a reader can see: ``\\t``, ``\\x1b``, ``\\u202e``, ``\\U000e0041``."""
    if ch in _NAMED:
        return _NAMED[ch]
    cp = ord(ch)
    if cp <= 0xFF:
        return f"\\x{cp:02x}"
    if cp <= 0xFFFF:
        return f"\\u{cp:04x}"
    return f"\\U{cp:08x}"


def is_hidden(ch: str) -> bool:
    """Whether ``ch`` would be invisible, or would change how the text around it is shown."""
    return unicodedata.category(ch) in _HIDDEN


def visible(text: str, *, newlines: bool = False) -> str:
    """``text`` with every control, escape, bidi and invisible format character visibly escaped.

    ``newlines=True`` keeps ``\\n`` as a line break, for multi-line text wbplay
    itself laid out (an error and its hint); a carriage return is always escaped,
    since it lets what follows overwrite the line.
    """

    def fix(m: re.Match[str]) -> str:
        ch = m.group()
        if newlines and ch == "\n":
            return ch
        return escape_char(ch) if is_hidden(ch) else ch

    return _CANDIDATE.sub(fix, text)


_LAYOUT = re.compile(r"(?:\r?\n| )+")


def one_line(text: str) -> str:
    """``text`` on one line: line breaks and runs of spaces become one space, and every
    other hidden character (a tab, a lone carriage return, ESC...) is escaped visibly."""
    return visible(_LAYOUT.sub(" ", text).strip())


def bounded(text: str, limit: int = LIMIT) -> str:
    """At most ``limit`` characters of ``text``, then its total length if it was longer."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} characters in all)"


_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxstring = LIMIT
_REPR.maxother = LIMIT
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 8


def quoted(value: Any, limit: int = LIMIT) -> str:
    """``repr(value)`` for an error message, bounded without ever building the whole repr.

    A value can be small in memory and enormous as text (one large string that
    YAML aliases repeat many times), so a plain ``repr`` is never safe to bound
    afterwards.
    """
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        return f"{value[:limit]!r}… ({len(value)} characters in all)"
    return bounded(_REPR.repr(value), limit)
