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
# Where a hidden character can be: every control, the BMP's format characters (Unicode
# 15), the separators, surrogates, and anything outside the BMP.  A superset: each
# candidate is still checked by its category, so ordinary text (Japanese, accents)
# costs one regex scan; tests/test_safetext.py checks that no hidden BMP character of
# this Python's Unicode falls outside it.
_CANDIDATE = re.compile(
    "[\x00-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff\U00010000-\U0010ffff]"
)


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
