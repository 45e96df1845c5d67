"""Trust boundaries (issue 18): tampered plans and journals, bad paths and hostile
numbers.  Every case, through the CLI, must exit with its documented code, name
the file that is wrong, print no traceback, and leave the simulated PC unchanged.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from wbplay.cli import app
from wbplay.run import plan as plan_mod
from wbplay.run import plansign

runner = CliRunner()
PLAYBOOKS = Path(__file__).resolve().parent.parent / "playbooks"


def invoke(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), env=env)


def assert_refused(r: Any, code: int, named: str, *needles: str) -> None:
    text = r.output
    assert r.exit_code == code, text
    assert named in text, text
    for needle in needles:
        assert needle in text, text
    assert "Traceback" not in text
    assert not isinstance(r.exception, Exception) or isinstance(r.exception, SystemExit), r.exception


@pytest.fixture
def planned(state_file, tmp_path: Path) -> tuple[Path, Path]:
    state = state_file("pc42")
    plan = tmp_path / "plan.json"
    r = invoke("plan", "fix-0x80070422", "--host", f"sim:{state}", "-o", str(plan))
    assert r.exit_code == 1, r.output
    return state, plan


def _reseal(doc: dict[str, Any]) -> None:
    """What someone holding this installation's key could do after editing a plan."""
    doc["digest"] = plan_mod.digest(doc)
    doc["signature"] = plansign.sign(doc["digest"])


def _step(doc: dict[str, Any], step_id: str) -> dict[str, Any]:
    return next(s for s in doc["steps"] if s["id"] == step_id)


def _other_value(doc: dict[str, Any]) -> None:
    """A planned value changed consistently in every field of the change."""
    c = _step(doc, "wbengine-not-disabled")["change"]
    c["action"]["start_mode"] = "Automatic"
    c["description"] = "wbengine start mode: Disabled → Automatic"
    _reseal(doc)


def _change_on_ok_step(doc: dict[str, Any]) -> None:
    s = _step(doc, "sens-start-mode")
    s["status"] = "drift"
    s["change"] = {
        "description": "SENS start mode: Automatic → Disabled",
        "risk": "reversible",
        "action": {"kind": "service.set_start_mode", "name": "SENS", "start_mode": "Disabled"},
        "before": "Automatic",
        "undo": {"kind": "service.set_start_mode", "name": "SENS", "start_mode": "Automatic"},
    }
    _reseal(doc)


def _dropped_step(doc: dict[str, Any]) -> None:
    doc["steps"] = [s for s in doc["steps"] if s["id"] != "vss-not-disabled"]
    _reseal(doc)


def _future(doc: dict[str, Any]) -> None:
    ahead = datetime.now(timezone.utc) + timedelta(days=3)
    doc["created"] = ahead.isoformat(timespec="seconds").replace("+00:00", "Z")
    _reseal(doc)


def _unresealed(doc: dict[str, Any]) -> None:
    _step(doc, "wbengine-not-disabled")["change"]["action"]["start_mode"] = "Automatic"


def _unsigned(doc: dict[str, Any]) -> None:
    del doc["signature"]
    doc["digest"] = plan_mod.digest(doc)


def _forged_signature(doc: dict[str, Any]) -> None:
    doc["signature"] = {**doc["signature"], "value": "0" * 64}


def _no_digest(doc: dict[str, Any]) -> None:
    del doc["digest"]


def _facts_edited(doc: dict[str, Any]) -> None:
    doc["host"]["facts"]["hostname"] = "PC99"
    _reseal(doc)


# (name, edit of the plan document, exit code, words the refusal must contain)
TAMPERED: list[tuple[str, Callable[[dict[str, Any]], None], int, tuple[str, ...]]] = [
    ("other value, resealed", _other_value, 2, ("wbengine-not-disabled", "Manual", "edited")),
    ("change on an ok step", _change_on_ok_step, 2, ("sens-start-mode", "ok now")),
    ("a step dropped", _dropped_step, 2, ("missing: vss-not-disabled",)),
    ("dated in the future", _future, 2, ("in the future",)),
    ("edited, digest left", _unresealed, 2, ("does not match its digest",)),
    ("signature removed", _unsigned, 2, ("not signed", "--trust")),
    ("signature forged", _forged_signature, 2, ("signature does not match",)),
    ("digest removed", _no_digest, 2, ("not a wbplay plan",)),
    ("facts edited", _facts_edited, 1, ("hostname PC99 → PC42",)),
]


@pytest.mark.parametrize(("name", "edit", "code", "needles"), TAMPERED, ids=[t[0] for t in TAMPERED])
def test_a_tampered_plan_is_refused_and_changes_nothing(
    planned: tuple[Path, Path],
    name: str,
    edit: Callable[[dict[str, Any]], None],
    code: int,
    needles: tuple[str, ...],
) -> None:
    state, plan = planned
    doc = json.loads(plan.read_text())
    edit(doc)
    plan.write_text(json.dumps(doc))
    before = state.read_bytes()
    r = invoke("apply", str(plan), "--yes")
    assert_refused(r, code, str(plan), *needles)
    assert state.read_bytes() == before


def test_the_approved_digest_pins_the_plan(planned: tuple[Path, Path]) -> None:
    """Variables changed consistently with the changes re-derive cleanly: only the
    approved digest (or the signature, without the key) tells the plans apart."""
    state, plan = planned
    doc = json.loads(plan.read_text())
    approved = doc["digest"]
    doc["variables"]["wbengine_start_mode"] = "Automatic"
    _other_value(doc)
    plan.write_text(json.dumps(doc))
    before = state.read_bytes()
    r = invoke("apply", str(plan), "--yes", "--expect", approved)
    assert_refused(r, 2, str(plan), "not the approved", approved[:16])
    assert state.read_bytes() == before
    r = invoke("apply", str(plan), "--yes", "--expect", "abc")
    assert_refused(r, 2, "--expect", "16 to 64 hex digits")


def test_the_approved_digest_applies(planned: tuple[Path, Path]) -> None:
    state, plan = planned
    digest = json.loads(plan.read_text())["digest"]
    r = invoke("apply", str(plan), "--yes", "--expect", digest[:20].upper())
    assert r.exit_code == 0, r.output
    assert state.read_bytes() != b""


def test_plan_md_shows_the_digest_the_cli_prints(state_file, tmp_path: Path) -> None:
    state = state_file("pc42")
    plan, md = tmp_path / "plan.json", tmp_path / "plan.md"
    r = invoke("plan", "fix-0x80070422", "--host", f"sim:{state}", "-o", str(plan), "--report", f"md:{md}")
    digest = json.loads(plan.read_text())["digest"]
    assert digest == plan_mod.digest(json.loads(plan.read_text()))
    assert f"`{digest}`" in md.read_text() and f"--expect {digest}" in md.read_text()
    assert f"--expect {digest}" in r.output


def test_a_plan_made_by_another_installation_needs_trust(
    planned: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state, plan = planned
    monkeypatch.setenv("WBPLAY_HOME", str(tmp_path / "other-home"))  # another operator's machine
    before = state.read_bytes()
    r = invoke("apply", str(plan), "--yes")
    assert_refused(r, 2, str(plan), "no plan signing key", "--trust")
    invoke("plan", "fix-0x80070422", "--host", f"sim:{state}", "-o", str(tmp_path / "mine.json"))
    r = invoke("apply", str(plan), "--yes")
    assert_refused(r, 2, str(plan), "signed by another installation")
    assert state.read_bytes() == before
    r = invoke("apply", str(plan), "--yes", "--trust")
    assert r.exit_code == 0, r.output  # still re-derived and compared; only the origin is trusted
    key = tmp_path / "other-home" / "plan-signing.key"
    assert key.stat().st_mode & 0o777 == 0o600


# -- plan files that are not plans -------------------------------------------------------

BAD_PLAN_BYTES: list[tuple[str, bytes, str]] = [
    ("empty", b"", "not valid JSON"),
    ("not JSON", b"hello", "not valid JSON"),
    ("a JSON array", b"[1, 2]", "not a wbplay plan"),
    ("deep nesting", b"[" * 20000 + b"]" * 20000, "nesting is deeper than"),
    ("a 5000-digit number", b'{"kind": ' + b"9" * 5000 + b"}", "too large"),
    ("NaN", b'{"kind": NaN}', "NaN is not a number"),
    ("Infinity", b'{"kind": -Infinity}', "Infinity is not a number"),
    ("not UTF-8", b'{"kind": "\xff\xfe"}', "not UTF-8"),
]


@pytest.mark.parametrize(("name", "body", "needle"), BAD_PLAN_BYTES, ids=[c[0] for c in BAD_PLAN_BYTES])
def test_a_malformed_plan_file_is_exit_2_and_named(
    tmp_path: Path, name: str, body: bytes, needle: str
) -> None:
    plan = tmp_path / "plan.json"
    plan.write_bytes(body)
    assert_refused(invoke("apply", str(plan), "--yes"), 2, str(plan), needle)


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


BAD_PATHS: list[tuple[str, Callable[[Path], Path], str]] = [
    ("missing", lambda d: d / "nope.json", "No such file"),
    ("a directory", lambda d: d, "a directory"),
    ("a FIFO", lambda d: _fifo(d / "fifo"), "FIFO"),
    ("a device", lambda d: Path("/dev/zero"), "character device"),
    ("a dangling symlink", lambda d: _link(d / "dangling", d / "gone"), "which does not exist"),
    ("a symlink loop", lambda d: _loop(d), "symlink loop"),
]


def _link(path: Path, target: Path) -> Path:
    path.symlink_to(target)
    return path


def _loop(d: Path) -> Path:
    (d / "a").symlink_to(d / "b")
    (d / "b").symlink_to(d / "a")
    return d / "a"


@pytest.mark.parametrize(("name", "make", "needle"), BAD_PATHS, ids=[c[0] for c in BAD_PATHS])
def test_a_bad_plan_path_is_exit_2_and_named(
    tmp_path: Path, name: str, make: Callable[[Path], Path], needle: str
) -> None:
    d = tmp_path / "plans"
    d.mkdir()
    path = make(d)
    assert_refused(invoke("apply", str(path), "--yes"), 2, str(path), needle)


@pytest.mark.parametrize(("name", "make", "needle"), BAD_PATHS[1:], ids=[c[0] for c in BAD_PATHS[1:]])
def test_a_bad_inventory_path_is_exit_2_and_named(
    tmp_path: Path, state_file, name: str, make: Callable[[Path], Path], needle: str
) -> None:
    d = tmp_path / "inv"
    d.mkdir()
    path = make(d)
    r = invoke("run", "fix-0x80070422", "--host", "pc1", "-n", "--inventory", str(path))
    assert_refused(r, 2, str(path), needle)


def test_validate_on_a_fifo_refuses_without_reading(tmp_path: Path) -> None:
    """In a child process: if the FIFO were opened for reading, it would block forever."""
    fifo = _fifo(tmp_path / "book.yml")
    r = subprocess.run(
        [sys.executable, "-m", "wbplay", "validate", str(fifo)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 2, r.stdout + r.stderr
    assert str(fifo) in r.stdout + r.stderr and "FIFO" in r.stdout + r.stderr
    assert "Traceback" not in r.stderr


# -- hostile playbooks and host states -------------------------------------------------


def _book(tmp_path: Path, old: str, new: str) -> Path:
    text = (PLAYBOOKS / "fix-0x80070422.yml").read_text(encoding="utf-8")
    assert old in text
    book = tmp_path / "book.yml"
    book.write_text(text.replace(old, new, 1), encoding="utf-8")
    return book


HOSTILE_BOOKS: list[tuple[str, str, str, str]] = [
    ("NaN in a matcher", "expect: {equals: Automatic}", "expect: {gte: .nan}", "not a usable number"),
    ("Infinity in a matcher", "expect: {equals: Automatic}", "expect: {lt: -.inf}", "not a usable number"),
    ("NaN under not", "expect: {equals: Automatic}", "expect: {not: {lt: .NaN}}", "not a usable number"),
    ("5000-digit number", "expect: {equals: Automatic}", "expect: {gte: " + "9" * 5000 + "}", "too large"),
    ("20,000 levels", "expect: {equals: Automatic}", "expect: " + "[" * 20000 + "]" * 20000, "nesting"),
]


@pytest.mark.parametrize(("name", "old", "new", "needle"), HOSTILE_BOOKS, ids=[c[0] for c in HOSTILE_BOOKS])
def test_a_hostile_playbook_is_exit_2_and_named(
    tmp_path: Path, state_file, name: str, old: str, new: str, needle: str
) -> None:
    book = _book(tmp_path, old, new)
    assert_refused(invoke("validate", str(book)), 2, str(book), needle)
    state = state_file("pc42")
    before = state.read_bytes()
    assert_refused(invoke("run", str(book), "--host", f"sim:{state}", "--yes"), 2, str(book), needle)
    assert state.read_bytes() == before


@pytest.mark.parametrize(
    ("name", "body", "needle"),
    [
        ("not UTF-8", b"hostname: \xff\n", "not UTF-8"),
        ("deep nesting", b"hostname: " + b"[" * 20000 + b"]" * 20000 + b"\n", "nesting"),
        ("huge number", b"hostname: PC\nos: {build: " + b"7" * 5000 + b"}\n", "too large"),
    ],
)
def test_a_hostile_host_state_is_exit_2_and_named(
    tmp_path: Path, name: str, body: bytes, needle: str
) -> None:
    state = tmp_path / "pc.yml"
    state.write_bytes(body)
    r = invoke("run", "fix-0x80070422", "--host", f"sim:{state}", "--yes")
    assert_refused(r, 2, str(state), needle)
    assert state.read_bytes() == body


# -- the state directory ---------------------------------------------------------------

STATE_HOMES: list[tuple[str, Callable[[Path], Path], Callable[[Path], str], str]] = [
    ("a file", lambda d: _file(d / "home"), lambda d: str(d / "home"), "it is a file"),
    ("a dangling symlink", lambda d: _link(d / "home", d / "gone"), lambda d: str(d / "home"), "not exist"),
    ("a symlink loop", _loop, lambda d: str(d / "a"), "symlink loop"),
    ("runs is /dev/null", lambda d: _runs_null(d / "home"), lambda d: str(d / "home" / "runs"), "device"),
]


def _file(path: Path) -> Path:
    path.write_text("x")
    return path


def _runs_null(home: Path) -> Path:
    home.mkdir()
    (home / "runs").symlink_to("/dev/null")
    return home


@pytest.mark.parametrize(("name", "make", "culprit", "needle"), STATE_HOMES, ids=[c[0] for c in STATE_HOMES])
def test_a_bad_state_directory_is_exit_2_and_named(
    tmp_path: Path,
    state_file,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    make: Callable[[Path], Path],
    culprit: Callable[[Path], str],
    needle: str,
) -> None:
    state = state_file("pc42")
    d = tmp_path / "homes"
    d.mkdir()
    monkeypatch.setenv("WBPLAY_HOME", str(make(d)))
    before = state.read_bytes()
    r = invoke("run", "fix-0x80070422", "--host", f"sim:{state}", "--yes")
    assert_refused(r, 2, culprit(d), needle, "WBPLAY_HOME")
    assert state.read_bytes() == before


# -- journals (reading only: what rollback is given) ----------------------------------

GOOD_START = json.dumps({"ts": "2026-01-01T00:00:00Z", "run": "RUN", "seq": 1, "event": "run.start"})
GOOD = GOOD_START.encode()

BAD_JOURNALS: list[tuple[str, bytes, str]] = [
    ("empty", b"", "no records"),
    ("only a torn first line", b'{"ts": "2026', "damaged journal line"),
    ("not UTF-8", b"\xff\xfe\n", "not UTF-8"),
    ("a JSON array line", b"[1, 2]\n" + GOOD_START.encode() + b"\n", "not a journal record"),
    ("a damaged middle line", GOOD_START.encode() + b"\n{oops\n" + GOOD_START.encode() + b"\n", ":2:"),
    ("a 5000-digit number", b'{"event": "x", "seq": ' + b"1" * 5000 + b"}\n" + GOOD, "too large"),
    ("deep nesting", b'{"event": "x", "v": ' + b"[" * 5000 + b"]" * 5000 + b"}\n" + GOOD, "nesting"),
]


@pytest.mark.parametrize(("name", "body", "needle"), BAD_JOURNALS, ids=[c[0] for c in BAD_JOURNALS])
def test_a_malformed_journal_is_exit_2_and_named(
    wbplay_home: Path, state_file, name: str, body: bytes, needle: str
) -> None:
    runs = wbplay_home / "runs"
    runs.mkdir(parents=True)
    journal = runs / "20260101T000000Z-fix-PC42-abcd.jsonl"
    journal.write_bytes(body)
    state = state_file("pc42")
    before = state.read_bytes()
    r = invoke("rollback", "20260101T000000Z-fix-PC42-abcd", "--host", f"sim:{state}")
    assert_refused(r, 2, str(journal), needle)
    assert state.read_bytes() == before


def test_a_journal_that_is_a_fifo_is_refused_without_reading(wbplay_home: Path, state_file) -> None:
    runs = wbplay_home / "runs"
    runs.mkdir(parents=True)
    journal = _fifo(runs / "20260101T000000Z-fix-PC42-abcd.jsonl")
    r = invoke("rollback", "20260101T000000Z", "--host", f"sim:{state_file('pc42')}")
    assert_refused(r, 2, str(journal), "FIFO")


def test_a_plan_is_never_written_into_a_fifo(tmp_path: Path, state_file) -> None:
    fifo = _fifo(tmp_path / "plan.json")
    state = state_file("pc42")
    r = invoke("plan", "fix-0x80070422", "--host", f"sim:{state}", "-o", str(fifo))
    assert_refused(r, 2, str(fifo), "not a regular file")
