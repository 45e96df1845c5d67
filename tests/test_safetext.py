"""The one rendering rule for untrusted text (wbplay.safetext) and the console helpers over it."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from wbplay import safetext
from wbplay.cli.text import clip, plain, wrapped, wrapped_lines
from wbplay.safetext import LIMIT, bounded, is_hidden, one_line, quoted, visible


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[1A\x1b[2K", "\\x1b[1A\\x1b[2K"),  # ANSI CSI: cursor up, erase line
        ("\x1b]8;;http://x/\x07", "\\x1b]8;;http://x/\\x07"),  # OSC 8 hyperlink
        ("\x9b2K", "\\x9b2K"),  # C1 CSI
        ("\x00\x07\x08\x7f", "\\x00\\x07\\x08\\x7f"),  # NUL, BEL, backspace, DEL
        ("a\rb\tc\nd", "a\\rb\\tc\\nd"),
        ("\x85", "\\x85"),  # NEL, a C1 line break
        ("\u202eabc\u202c", "\\u202eabc\\u202c"),  # RLO ... PDF
        ("\u202a\u202b\u202d", "\\u202a\\u202b\\u202d"),
        ("\u2066\u2067\u2068\u2069", "\\u2066\\u2067\\u2068\\u2069"),  # isolates
        ("\u200b\u200e\u200f\ufeff\u00ad", "\\u200b\\u200e\\u200f\\ufeff\\xad"),  # zero-width, marks, BOM
        ("\u2028\u2029", "\\u2028\\u2029"),  # line/paragraph separators
        ("\U000e0041", "\\U000e0041"),  # a tag character
        ("\ud800", "\\ud800"),  # a lone surrogate
    ],
)
def test_visible_escapes_every_hidden_character(raw: str, shown: str) -> None:
    assert visible(raw) == shown
    assert not any(is_hidden(c) for c in visible(raw))


def test_every_hidden_character_of_this_unicode_is_a_candidate() -> None:
    """The fast path skips what cannot be hidden; a newer Unicode must not slip past it."""
    hidden = (chr(cp) for cp in range(0x10000) if is_hidden(chr(cp)))
    missed = [hex(ord(ch)) for ch in hidden if not safetext._CANDIDATE.match(ch)]
    assert not missed
    assert safetext._CANDIDATE.match("\U000e0001")


def test_visible_keeps_ordinary_text_as_it_is() -> None:
    for text in (
        "C:\\Windows\\system32\\svchost.exe -k netsvcs",
        "内部エラーのため、バックアップアプリケーションを開始できませんでした",
        "Volume Shadow Copy [VSS] | 100% · é",
    ):
        assert visible(text) == text
    assert visible("line 1\nline 2\r\n", newlines=True) == "line 1\nline 2\\r\n"
    assert visible(visible("\x1b[2K")) == visible("\x1b[2K"), "escaping twice changes nothing"


def test_one_line_collapses_layout_and_escapes_the_rest() -> None:
    assert one_line("  a\r\n  b\n\tc\rd  ") == "a b \\tc\\rd"


def test_bounded_gives_the_head_and_the_total_length() -> None:
    assert bounded("short") == "short"
    text = bounded("x" * 10_000)
    assert text.startswith("x" * LIMIT + "…") and "10000 characters" in text and len(text) < LIMIT + 40


def test_quoted_never_builds_the_whole_repr() -> None:
    big = "A" * 1_000_000
    shared = [big] * 10_000  # 10 GB as text, 80 kB in memory
    q = quoted({"steps": shared})
    assert len(q) <= LIMIT + 40
    assert quoted("x" * 500).endswith("(500 characters in all)")
    assert quoted("it's") == repr("it's")


def test_plain_keeps_rich_markup_literal() -> None:
    console = Console(file=io.StringIO(), width=200, force_terminal=False)
    console.print(f"hint: {plain(chr(39).join(['pip install ', 'pywinrm[kerberos]', '']))}")
    console.print(f"[bold]x[/] {plain('[red]not red[/] C:' + chr(92))}")
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert "pip install 'pywinrm[kerberos]'" in out
    assert "[red]not red[/] C:\\" in out


def test_clip_cuts_data_at_a_word_boundary() -> None:
    assert clip("short", 40) == "short"
    cut = clip("Block Level Backup Engine Service on this PC", 30)
    assert cut == "Block Level Backup Engine…" and len(cut) <= 30
    assert clip("x" * 50, 10) == "x" * 9 + "…"  # no word boundary: a hard cut


INSTALL = "Install-WindowsFeature Windows-Server-Backup -IncludeManagementTools"
MESSAGE = (
    "Windows Server Backup is not installed, so there is no wbengine service and no backup can run; "
    f"install the feature from an elevated PowerShell: {INSTALL}, then run the backup again."
)


def _lines_fit_and_keep_words(text: str, width: int) -> None:
    lines = text.split("\n")
    assert len(lines) > 1
    assert all(len(line) <= width or " " not in line.strip() for line in lines)
    words = [w for line in lines for w in line.split()]
    assert words == MESSAGE.split(), "every word whole, in order"


def test_wrapped_never_cuts_a_word() -> None:
    assert wrapped(MESSAGE, indent=10, width=None) == " " * 10 + MESSAGE  # a pipe: one line, in full
    text = wrapped(MESSAGE, indent=10, width=60)
    assert all(line.startswith(" " * 10) for line in text.split("\n"))
    _lines_fit_and_keep_words(text, 60)
    assert INSTALL.split()[0] in text and "…" not in text
    first = wrapped(MESSAGE, indent=4, width=60, lead=25).split("\n")
    assert not first[0].startswith(" ") and len(first[0]) <= 60 - 25


def test_wrapped_lines_keeps_a_message_layout() -> None:
    text = wrapped_lines(f"error text {MESSAGE}\n  hint: {MESSAGE}", width=70, lead=7)
    lines = text.split("\n")
    assert lines[0].startswith("error text") and len(lines[0]) <= 70 - 7
    assert any(line.startswith("  hint: ") for line in lines)
    assert re.search(r"Install-WindowsFeature\s+Windows-Server-Backup", text)
    assert "\\x1b" in wrapped_lines("a\x1bb", width=70)
