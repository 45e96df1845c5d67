"""The playbook schema documents exactly the engine's vocabulary, and `wbplay doc` / `wbplay schema`
show it (issue 10: editor support and ansible-doc-like help from one source)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from wbplay.cli import app
from wbplay.playbook.matchers import MATCHER_KEYS
from wbplay.resources import schemas_dir
from wbplay.vocab import actions, kinddoc, probes

SCHEMA_FILE = schemas_dir() / "playbook.schema.json"


def _schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return data


def _branches(node: str) -> dict[str, dict[str, Any]]:
    return {b["if"]["properties"]["kind"]["const"]: b["then"] for b in _schema()["$defs"][node]["allOf"]}


def test_the_shipped_schema_carries_the_current_documentation() -> None:
    # Fails when kinddoc or the schema changed without regenerating:
    #   python -m wbplay.vocab.kinddoc schemas/playbook.schema.json
    assert kinddoc.render(kinddoc.annotate(_schema())) == SCHEMA_FILE.read_text(encoding="utf-8")


@pytest.mark.parametrize(("node", "specs"), [("check", probes.PROBES), ("action", actions.ACTIONS)])
def test_schema_kinds_and_arguments_are_exactly_the_engines(node: str, specs: dict[str, Any]) -> None:
    branches = _branches(node)
    assert set(branches) == set(specs) == set(_schema()["$defs"][node]["properties"]["kind"]["enum"])
    for kind, then in branches.items():
        engine = kinddoc.probe_args(kind) if node == "check" else kinddoc.action_args(kind)
        assert set(then.get("properties", {})) == {n for n, _ in engine}, kind
        assert set(then.get("required", [])) == {n for n, req in engine if req}, kind


@pytest.mark.parametrize("node", ["check", "action"])
def test_every_kind_and_argument_has_a_description_and_an_example(node: str) -> None:
    kind = _schema()["$defs"][node]["properties"]["kind"]
    assert len(kind["markdownEnumDescriptions"]) == len(kind["enum"])
    for name, then in _branches(node).items():
        assert then["description"] and then["examples"][0]["kind"] == name
        for arg, prop in then.get("properties", {}).items():
            assert prop["description"] and prop["examples"], (name, arg)


def test_every_matcher_has_a_description_and_an_example() -> None:
    props = _schema()["$defs"]["matcher"]["properties"]
    assert set(props) == set(MATCHER_KEYS) == set(kinddoc.MATCHERS)
    for key, prop in props.items():
        assert prop["description"] and "examples" in prop, key


def _one_step(step: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "demo",
        "title": "demo",
        "description": "a demo playbook",
        "applies_to": {"os": ["windows-10"]},
        "references": ["docs/domain.md"],
        "steps": [{"id": "s", "title": "step", "why": "why this step exists", **step}],
    }


@pytest.mark.parametrize("kind", kinddoc.check_kinds() + kinddoc.remedy_kinds())
def test_every_documented_example_is_valid(kind: str) -> None:
    example = kinddoc.describe(kind).example
    read = {"check": {"kind": "os.info"}, "expect": {"exists": True}}
    step = example if "check" in example else {**read, **example}
    errors = list(jsonschema.Draft202012Validator(_schema()).iter_errors(_one_step(step)))
    assert not errors, [e.message for e in errors]


def test_doc_lists_every_kind() -> None:
    result = CliRunner().invoke(app, ["doc"], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    for kind in kinddoc.check_kinds() + kinddoc.remedy_kinds():
        assert f"  {kind} " in result.output


def test_doc_of_a_remedy_shows_risk_windows_undo_and_example() -> None:
    result = CliRunner().invoke(app, ["doc", "registry.set"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "risk:     reversible" in out and "undo:     writes the old data" in out
    assert "changes the registry" in out and "type" in out and "REG_DWORD" in out
    assert "remedy: {kind: registry.set" in out


def test_doc_of_a_check_and_an_unknown_kind() -> None:
    runner = CliRunner()
    vol = runner.invoke(app, ["doc", "volume"])
    assert vol.exit_code == 0 and "read-only" in vol.output and "field: free_percent" in vol.output
    bad = runner.invoke(app, ["doc", "servce"])
    assert bad.exit_code == 2 and "did you mean 'service'" in bad.output


def test_schema_command_prints_the_installed_schema_and_its_path() -> None:
    runner = CliRunner()
    path = runner.invoke(app, ["schema", "playbook", "--path"])
    assert path.exit_code == 0 and path.output.strip() == str(SCHEMA_FILE)
    text = runner.invoke(app, ["schema", "playbook"])
    assert json.loads(text.output)["$id"] == "urn:wbplay:schema:playbook:1"
    assert runner.invoke(app, ["schema", "nope"]).exit_code == 2


def test_every_engine_argument_and_remedy_is_documented() -> None:
    # A new kind (or argument) needs its words in vocab/kinddoc.py before the schema can carry them.
    names = {n for k in probes.PROBES for n, _ in kinddoc.probe_args(k)}
    names |= {n for k in actions.ACTIONS for n, _ in kinddoc.action_args(k)}
    assert names <= set(kinddoc.ARGS), sorted(names - set(kinddoc.ARGS))
    assert set(actions.ACTIONS) <= set(kinddoc.UNDO), sorted(set(actions.ACTIONS) - set(kinddoc.UNDO))
