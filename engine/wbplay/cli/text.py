"""Values from a PC or a file, made safe for a rich markup string.

Every value the console prints that wbplay did not write itself goes through
one of these: :func:`wbplay.safetext.visible` shows control, escape, bidi and
invisible characters as escapes, then :func:`escape` keeps brackets literal
(``pip install 'pywinrm[kerberos]'`` must print as written).
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

from wbplay.safetext import one_line, visible

MIN_WRAP = 30  # narrower than this, wrapping helps nobody: print the line whole
# Where rich could start a tag: "[" then a letter, "#", "/" or "@".  rich's own escape
# only escapes a *complete* "[tag]", so "[bold" in one value and "x]" in the next
# would join into a tag that swallows the text between them.
_TAG_START = re.compile(r"(\\*)(\[[a-z#/@])")
_TRAILING_BACKSLASHES = re.compile(r"\\+$")


def escape(text: str) -> str:
    """``text`` as rich markup that shows exactly ``text``, whatever comes before or after it."""
    text = _TAG_START.sub(lambda m: m.group(1) * 2 + "\\" + m.group(2), text)
    trailing = _TRAILING_BACKSLASHES.search(text)
    if trailing and len(trailing.group()) % 2:
        text += "\\"  # an odd run would escape the tag that follows (rich's rule, for any count)
    return text


def plain(value: Any) -> str:
    """One line of markup-safe text: newlines and every hidden character escaped visibly."""
    return escape(visible(str(value)))


def multiline(value: Any) -> str:
    """Markup-safe text that keeps its line breaks (an error and its hint lines)."""
    return escape(visible(str(value), newlines=True))


def clip(value: Any, width: int) -> str:
    """A data value on one line of at most ``width`` characters, cut at a word boundary if
    there is one.  Visible, but not yet markup-safe: pass the result through :func:`plain`."""
    text = one_line(str(value))
    if len(text) <= width:
        return text
    head = text[: width - 1]
    space = head.rfind(" ")
    if space >= width // 2:
        head = head[:space]
    return head + "…"


def wrapped(value: Any, *, indent: int, width: int | None, lead: int | None = None) -> str:
    """A message in full, never cut: on a terminal of ``width`` columns, wrapped at word
    boundaries under ``indent``; with ``width=None`` (a pipe, a log), one line.

    ``lead``: the columns a prefix the caller prints takes on the first line; by
    default the first line is indented like the others.
    """
    text = one_line(str(value))
    first = " " * (indent if lead is None else lead)
    if width is None or width - max(indent, lead or 0) < MIN_WRAP:
        return escape(text if lead is not None else first + text)
    lines = textwrap.wrap(
        text,
        width,
        initial_indent=first,
        subsequent_indent=" " * indent,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [first]
    if lead is not None:
        lines[0] = lines[0][lead:]  # the caller's prefix fills those columns
    return escape("\n".join(lines))


def wrapped_lines(value: Any, *, width: int | None, lead: int = 0) -> str:
    """Text wbplay laid out in lines (an error and its hint lines), each line wrapped at
    words on a terminal of ``width`` columns, continuing under its own indent; ``lead``
    is the width of the prefix the caller prints before the first line."""
    lines = visible(str(value), newlines=True).split("\n")
    if width is None:
        return escape("\n".join(lines))
    out: list[str] = []
    for i, line in enumerate(lines):
        body = line.lstrip(" ")
        pad = len(line) - len(body)
        start = lead if i == 0 else pad
        if width - max(start, pad + 2) < MIN_WRAP:
            out.append(body if i == 0 else line)
            continue
        parts = textwrap.wrap(
            body,
            width,
            initial_indent=" " * start,
            subsequent_indent=" " * (pad + 2),
            break_long_words=False,
            break_on_hyphens=False,
        ) or [" " * start]
        if i == 0:
            parts[0] = parts[0][lead:]
        out += parts
    return escape("\n".join(out))
