"""A broken playbook gets a pointed error: file, line, column, key path and a hint."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from wbplay.errors import PlaybookError
from wbplay.playbook import load as playbook
from wbplay.playbook.model import Risk

HEADER = """\
id: test-book
title: A test playbook
description: A playbook used by the loader tests.
applies_to: {error_codes: ["0x80070422"]}
references: ["tests"]
"""

STEP = """\
  - id: wbengine-not-disabled
    title: wbengine is not Disabled
    why: Because a Disabled wbengine gives 0x80070422 (docs/domain.md §2).
    check: {kind: service.start_mode, name: wbengine}
    expect: {not: {equals: Disabled}}
    remedy: {kind: service.set_start_mode, name: wbengine, start_mode: Manual}
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "book.yml"
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def error_of(path: Path) -> PlaybookError:
    with pytest.raises(PlaybookError) as info:
        playbook.load(path)
    return info.value


def test_valid_playbook_builds_frozen_model(tmp_path: Path) -> None:
    pb = playbook.load(write(tmp_path, HEADER + "steps:\n" + STEP))
    assert pb.id == "test-book"
    step = pb.steps[0]
    assert step.risk == Risk.REVERSIBLE
    assert step.line == 7
    assert len(pb.sha256) == 64
    with pytest.raises(AttributeError):
        step.id = "x"  # type: ignore[misc]


def test_duplicate_key_names_both_lines(tmp_path: Path) -> None:
    text = HEADER + "steps:\n" + STEP + "    remedy: {kind: service.start, name: wbengine}\n"
    e = error_of(write(tmp_path, text))
    assert e.line == 13 and e.column == 5
    assert "duplicate key 'remedy' (first defined on line 12)" in str(e)
    assert "steps[0].remedy" in str(e)
    assert str(e).startswith(str(tmp_path / "book.yml") + ":13:5")


def test_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    text = HEADER + "steps:\n" + STEP.replace("    remedy:", "    remedey:")
    e = error_of(write(tmp_path, text))
    assert e.line == 12
    assert "unknown key 'remedey'" in e.message
    assert e.key_path == "steps[0].remedey"
    assert "did you mean 'remedy'" in e.hint


def test_unknown_argument_of_a_kind_lists_valid_ones(tmp_path: Path) -> None:
    text = HEADER + "steps:\n" + STEP.replace("name: wbengine, start_mode", "service: wbengine, start_mode")
    e = error_of(write(tmp_path, text))
    assert e.line == 12
    assert "unknown key 'service'" in e.message
    assert "name" in e.hint and "start_mode" in e.hint


def test_bad_enum_value_lists_the_choices(tmp_path: Path) -> None:
    text = HEADER + "steps:\n" + STEP.replace("start_mode: Manual", "start_mode: Demand")
    e = error_of(write(tmp_path, text))
    assert e.line == 12
    assert "Demand" in e.message
    assert "Automatic, AutomaticDelayed, Manual, Disabled" in e.hint
    assert e.key_path.startswith("steps[0].remedy")


def test_missing_why(tmp_path: Path) -> None:
    text = HEADER + "steps:\n" + "\n".join(line for line in STEP.splitlines() if "why:" not in line) + "\n"
    e = error_of(write(tmp_path, text))
    assert "missing required key 'why'" in e.message
    assert e.line == 7 and e.key_path == "steps[0]"


def test_irreversible_remedy_needs_opt_in(tmp_path: Path) -> None:
    step = STEP.replace(
        "remedy: {kind: service.set_start_mode, name: wbengine, start_mode: Manual}",
        "remedy: {kind: path.delete, path: 'E:\\WindowsImageBackup'}",
    )
    e = error_of(write(tmp_path, HEADER + "steps:\n" + step))
    assert "irreversible remedy needs opt_in" in e.message
    assert e.line == 12


def test_opt_in_must_default_to_false(tmp_path: Path) -> None:
    step = STEP.replace(
        "remedy: {kind: service.set_start_mode, name: wbengine, start_mode: Manual}",
        "remedy: {kind: path.delete, path: 'E:\\WindowsImageBackup'}\n    opt_in: allow_delete",
    )
    text = (
        HEADER
        + "vars:\n  allow_delete: {type: boolean, description: yes really, default: true}\nsteps:\n"
        + step
    )
    e = error_of(write(tmp_path, text))
    assert "defaults to true" in e.message
    assert e.key_path == "vars.allow_delete.default"


def test_risk_can_be_raised_not_lowered(tmp_path: Path) -> None:
    lowered = STEP + "    risk: read-only\n"
    e = error_of(write(tmp_path, HEADER + "steps:\n" + lowered))
    assert "lower than the remedy's own risk" in e.message and e.line == 13
    raised = STEP + "    risk: irreversible\n    opt_in: sure\n"
    text = HEADER + "vars:\n  sure: {type: boolean, description: consent, default: false}\nsteps:\n" + raised
    assert playbook.load(write(tmp_path, text)).steps[0].risk == Risk.IRREVERSIBLE


def test_when_can_only_refer_to_earlier_steps(tmp_path: Path) -> None:
    step = STEP.replace("    check:", "    when: {step: later-step, status: [ok]}\n    check:")
    e = error_of(write(tmp_path, HEADER + "steps:\n" + step))
    assert "not an earlier step" in e.message
    assert e.key_path == "steps[0].when.step"


def test_undeclared_variable(tmp_path: Path) -> None:
    step = STEP.replace("start_mode: Manual", "start_mode: '{{ mode }}'")
    e = error_of(write(tmp_path, HEADER + "steps:\n" + step))
    assert "unknown variable {{ mode }}" in e.message


def test_duplicate_step_ids(tmp_path: Path) -> None:
    e = error_of(write(tmp_path, HEADER + "steps:\n" + STEP + STEP))
    assert "duplicate step id 'wbengine-not-disabled'" in e.message
    assert e.line == 13


def test_invalid_yaml_points_at_the_line(tmp_path: Path) -> None:
    e = error_of(write(tmp_path, HEADER + "steps:\n  - id: x\n   title: [unclosed\n"))
    assert e.line is not None and e.line >= 8
    assert "not valid YAML" in e.message


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    e = error_of(write(tmp_path, "\n".join(lines) + "\n"))
    assert "too many nodes" in e.message


def test_empty_expectation_is_refused(tmp_path: Path) -> None:
    e = error_of(write(tmp_path, HEADER + "steps:\n" + STEP.replace("{not: {equals: Disabled}}", "{}")))
    assert "must not be empty" in e.message and e.line == 11


def test_resolve_finds_library_playbooks_by_bare_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert playbook.resolve("fix-0x80070422").name == "fix-0x80070422.yml"
    assert playbook.resolve("fix-0x80070422.yml").name == "fix-0x80070422.yml"
    local = tmp_path / "playbooks" / "mine.yml"
    local.parent.mkdir()
    local.write_text("x: 1\n")
    assert playbook.resolve("mine") == local


def test_a_playbook_is_validated_once_per_content_per_process(tmp_path, monkeypatch) -> None:
    # issue 17: a fleet loads a playbook once; an edited file is loaded afresh.
    from wbplay.playbook import load as load_mod

    src = load_mod.resolve("fix-0x80070422")
    copy = tmp_path / "pb.yml"
    copy.write_bytes(src.read_bytes())
    calls: list[str] = []
    real = load_mod.validate
    monkeypatch.setattr(load_mod, "validate", lambda doc, name: (calls.append(doc.path), real(doc, name)))
    first = load_mod.load(copy)
    assert load_mod.load(copy) is first and len(calls) == 1
    copy.write_bytes(src.read_bytes().replace(b"title:", b"title: ", 1))
    assert load_mod.load(copy) is not first and len(calls) == 2
