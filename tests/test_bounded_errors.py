"""No input makes an error message unbounded (issue 19): a message quotes at most the first
characters of a value and says how long it was; a large value that YAML aliases repeat is
refused before anything copies or quotes it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from wbplay.cli import app
from wbplay.errors import MESSAGE_LIMIT, PlaybookError, UsageError
from wbplay.playbook.yamlsafe import MAX_TEXT, load_text
from wbplay.safetext import LIMIT

runner = CliRunner()
HEAD = """\
schema_version: 1
title: A title that is long enough
description: A description that is long enough for the schema.
applies_to: {os: [windows-7]}
references: [a reference]
"""


def aliased(size: int, refs: int) -> str:
    """One string of ``size`` characters, referenced ``refs`` times: under the node limit."""
    return HEAD + f"id: &big {'A' * size}\nsteps: [{', '.join(['*big'] * refs)}]\n"


@pytest.mark.parametrize("command", ["validate", "run"])
def test_a_large_string_repeated_through_aliases_is_a_short_error_exit_2(
    tmp_path: Path, command: str
) -> None:
    book = tmp_path / "big.yml"
    book.write_text(aliased(100_000, 2_000), encoding="utf-8")  # 200 MB as text, 100 kB on disk
    args = [command, str(book)] + (["--host", "sim:pc42", "--dry-run"] if command == "run" else [])
    r = runner.invoke(app, args)
    assert r.exit_code == 2, r.output
    assert "expands to more than" in r.output and "aliases" in r.output
    assert len(r.output) < 1000, len(r.output)


def test_the_text_limit_counts_every_alias_but_not_ordinary_files() -> None:
    with pytest.raises(PlaybookError, match="expands to more than"):
        load_text(f"a: &x {'A' * 1000}\nb: [{', '.join(['*x'] * (MAX_TEXT // 1000 + 1))}]\n", "f.yml")
    doc = load_text(f"a: &x {'A' * 1000}\nb: [*x, *x, *x]\n", "f.yml")
    assert doc.data["b"] == ["A" * 1000] * 3


def test_a_large_value_is_quoted_by_its_head_and_length(tmp_path: Path) -> None:
    book = tmp_path / "long-id.yml"
    book.write_text(HEAD + f"id: {'x' * 1_000_000}\nsteps: []\n", encoding="utf-8")
    r = runner.invoke(app, ["validate", str(book)])
    assert r.exit_code == 2
    assert "1000000 characters in all" in r.output and "does not have the expected form" in r.output
    assert len(r.output) < 2 * LIMIT + 500, len(r.output)


def test_a_long_duplicate_key_is_quoted_bounded() -> None:
    key = "k" * 50_000
    with pytest.raises(PlaybookError) as e:
        load_text(f"? {key}\n: 1\n? {key}\n: 2\n", "f.yml")  # explicit keys: longer than 1024
    assert "50000 characters in all" in e.value.message and len(str(e.value)) < MESSAGE_LIMIT


def test_every_wbplay_error_is_bounded_when_printed() -> None:
    assert len(str(UsageError("x" * 1_000_000))) <= MESSAGE_LIMIT + 40
    err = PlaybookError("m" * 1_000_000, path="p.yml", hint="h" * 1_000_000)
    assert len(err.render()) <= MESSAGE_LIMIT + 40 and len(str(err)) <= MESSAGE_LIMIT + 40
