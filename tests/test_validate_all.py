"""`wbplay validate` shows every error of a file, checks `field:` against what the check
kind returns, and refuses ordering matchers that could only compare false (issue 14)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from wbplay.cli import app
from wbplay.hosts.factory import ConnectOptions, open_host
from wbplay.playbook.model import Probe
from wbplay.sim.state import builtin_names
from wbplay.vocab.probe_fields import RECORD_FIELDS, SINGLE_VALUE_KINDS
from wbplay.vocab.probes import observe_all, to_ops

runner = CliRunner()
BOOK = Path(__file__).resolve().parent.parent / "playbooks" / "fix-0x80070422.yml"


def _book(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    text = BOOK.read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / "book.yml"
    path.write_text(text, encoding="utf-8")
    return path


def _validate(path: Path) -> str:
    r = runner.invoke(app, ["validate", str(path)])
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    return r.output


def test_every_schema_error_of_a_file_is_reported(tmp_path: Path) -> None:
    book = _book(
        tmp_path,
        ("title: RPC (RpcSs) starts", "titel: RPC (RpcSs) starts"),
        ("kind: service.start_mode, name: SENS", "kind: service.start_mod, name: SENS"),
    )
    out = _validate(book)
    assert "unknown key 'titel'" in out and "did you mean 'title'" in out
    assert "'service.start_mod' is not allowed here" in out
    assert "missing required key 'title'" not in out  # the typo explains it: not an echo
    assert "unknown key 'name'" not in out  # the wrong kind explains it


def test_every_steps_semantic_error_is_reported(tmp_path: Path) -> None:
    book = _book(
        tmp_path,
        ("expect: {equals: Automatic}", "expect: {matches: '(unclosed'}"),
        ("check: {kind: service.state, name: SENS}", "check: {kind: service.state, name: '{{ nope }}'}"),
    )
    out = _validate(book)
    assert "invalid regular expression" in out and "unknown variable {{ nope }}" in out


def test_a_field_the_check_does_not_return_lists_the_valid_ones(tmp_path: Path) -> None:
    old = "check: {kind: service.start_mode, name: RpcSs}"
    book = _book(tmp_path, (old, "check: {kind: service, name: RpcSs, field: start_mod}"))
    out = _validate(book)
    assert "check kind 'service' returns no field 'start_mod'" in out
    assert "did you mean 'start_mode'?" in out and "valid fields: depends_on, display_name" in out


def test_a_field_on_a_single_value_check_is_an_error(tmp_path: Path) -> None:
    old = "check: {kind: service.start_mode, name: RpcSs}"
    book = _book(tmp_path, (old, "check: {kind: service.start_mode, name: RpcSs, field: x}"))
    assert "returns a single value, so it has no field 'x'" in _validate(book)


@pytest.mark.parametrize("arg", ['"10%"', "ten", '"6.1 SP1"'])
def test_an_ordering_matcher_that_cannot_compare_is_an_error(tmp_path: Path, arg: str) -> None:
    book = _book(tmp_path, ("expect: {equals: Automatic}", f"expect: {{gte: {arg}}}"))
    out = _validate(book)
    assert "is not a number or a version" in out
    if "%" in arg:
        assert "no check kind returns a percentage" in out


@pytest.mark.parametrize("arg", ["10", "6.2", '"6.1.7601"', '"{{ wbengine_start_mode }}"', "-3.5"])
def test_an_ordering_matcher_on_numbers_versions_or_variables_is_valid(tmp_path: Path, arg: str) -> None:
    book = _book(tmp_path, ("expect: {equals: Automatic}", f"expect: {{gte: {arg}}}"))
    r = runner.invoke(app, ["validate", str(book)])
    assert r.exit_code == 0, r.output


ARGS = {
    "name": "wbengine",
    "volume": "C:",
    "target": "E:",
    "path": "C:\\Users",
    "key": "HKLM\\SOFTWARE\\Microsoft\\Cryptography",
}
NAMES = {"vss.writer": "System Writer"}


def test_the_field_table_covers_what_the_simulated_pcs_return() -> None:
    """Every key a record kind returns on any simulated PC is a declared field, and a
    single-value kind never returns a record: the table and the host model stay in step."""
    seen: dict[str, set[str]] = {}
    for state in builtin_names():
        host = open_host(f"sim:{state}", read_only=True, options=ConnectOptions())
        try:
            for kind in (*RECORD_FIELDS, *SINGLE_VALUE_KINDS):
                args = {**ARGS, "name": NAMES.get(kind, ARGS["name"])}
                probe = Probe(kind, args, None)
                results = host.read(to_ops(probe))
                if not all(r.ok for r in results):
                    continue
                value = observe_all(probe, results)
                if kind in SINGLE_VALUE_KINDS:
                    assert not isinstance(value, dict), (state, kind, value)
                elif isinstance(value, dict):
                    seen.setdefault(kind, set()).update(value)
        finally:
            host.close()
    for kind, keys in seen.items():
        assert keys <= set(RECORD_FIELDS[kind]), (kind, sorted(keys - set(RECORD_FIELDS[kind])))
    assert len(seen) >= 20  # the probes really ran
