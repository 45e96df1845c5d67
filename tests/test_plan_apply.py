"""Change review: a saved plan is applied exactly, or refused with the reason."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from wbplay.cli import app
from wbplay.resources import schema
from wbplay.run import plan as plan_mod
from wbplay.run import plansign
from wbplay.sim.model import HostModel
from wbplay.sim.state import read_state, save_state

runner = CliRunner()


def reseal(plan: Path, doc: dict) -> None:
    """Write an edited plan with a fresh digest and signature, as someone holding the key could."""
    doc["digest"] = plan_mod.digest(doc)
    doc["signature"] = plansign.sign(doc["digest"])
    plan.write_text(json.dumps(doc))


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def planned(state_file, tmp_path: Path):
    state = state_file("pc42")
    plan = tmp_path / "plan.json"
    r = invoke("plan", "fix-0x80070422", "--host", f"sim:{state}", "-o", str(plan))
    assert r.exit_code == 1, r.output  # changes pending
    return state, plan


def test_plan_records_what_a_reviewer_needs(planned) -> None:
    _state, plan = planned
    doc = json.loads(plan.read_text())
    jsonschema.validate(doc, schema("report"))
    assert doc["kind"] == "plan" and doc["format_version"] == "1.1"
    assert len(doc["playbook"]["sha256"]) == 64
    assert doc["variables"] == {"wbengine_start_mode": "Manual"}
    assert doc["host"]["facts"]["hostname"] == "PC42"
    assert all(len(s["fingerprint"]) == 64 for s in doc["steps"])
    changes = {s["id"]: s["change"]["description"] for s in doc["steps"] if s["change"]}
    assert changes["wbengine-not-disabled"] == "wbengine start mode: Disabled → Manual"
    assert doc["summary"]["irreversible"] == [] and doc["summary"]["changes"] == 5


def test_apply_does_exactly_the_plan(planned) -> None:
    state, plan = planned
    r = invoke("apply", str(plan), "--yes")
    assert r.exit_code == 0, r.output
    assert r.output.count("APPLY") == 5
    assert HostModel(read_state(state)).service("wbengine")["start_mode"] == "Manual"


def test_apply_refuses_when_the_host_drifted(planned) -> None:
    state, plan = planned
    data = read_state(state)
    data["services"]["VSS"]["start_mode"] = "Manual"  # someone fixed VSS by hand after the review
    save_state(state, data)
    before = state.read_bytes()
    r = invoke("apply", str(plan), "--yes")
    assert r.exit_code == 1
    changed = "vss-not-disabled: the host changed since the plan (observed Disabled at plan time, Manual now)"
    assert changed in r.output
    assert "wbengine-installed" not in r.output.split("refusing")[1]  # it reads the same: not listed
    assert "Make a new plan" in r.output
    assert state.read_bytes() == before


def test_apply_refuses_when_the_playbook_changed(state_file, tmp_path: Path) -> None:
    state = state_file("pc42")
    book = tmp_path / "book.yml"
    shutil.copyfile(Path(__file__).parent.parent / "playbooks" / "fix-0x80070422.yml", book)
    plan = tmp_path / "plan.json"
    assert invoke("plan", str(book), "--host", f"sim:{state}", "-o", str(plan)).exit_code == 1
    book.write_text(book.read_text().replace("start_mode: Manual}", "start_mode: Automatic}"))
    before = state.read_bytes()
    r = invoke("apply", str(plan), "--yes")
    assert r.exit_code == 1 and "changed since the plan" in r.output and "sha256" in r.output
    assert state.read_bytes() == before


def test_apply_refuses_an_empty_baseline(planned) -> None:
    _state, plan = planned
    doc = json.loads(plan.read_text())
    for s in doc["steps"]:
        s["fingerprint"] = ""
    reseal(plan, doc)
    r = invoke("apply", str(plan), "--yes")
    assert r.exit_code == 2 and "empty baseline" in r.output


def test_apply_refuses_a_stale_plan_unless_allowed(planned) -> None:
    _state, plan = planned
    doc = json.loads(plan.read_text())
    old = datetime.now(timezone.utc) - timedelta(hours=30)
    doc["created"] = old.isoformat(timespec="seconds").replace("+00:00", "Z")
    reseal(plan, doc)
    r = invoke("apply", str(plan), "--yes")
    assert r.exit_code == 1 and "30.0 hours old (limit 24 h)" in r.output
    assert invoke("apply", str(plan), "--yes", "--allow-stale").exit_code == 0


def test_apply_refuses_something_that_is_not_a_plan(tmp_path: Path) -> None:
    bogus = tmp_path / "x.json"
    bogus.write_text('{"hello": 1}')
    r = invoke("apply", str(bogus), "--yes")
    assert r.exit_code == 2 and "not a wbplay plan" in r.output and str(bogus) in r.output


def test_reports_md_json_junit_at_once_and_json_on_stdout(state_file, tmp_path: Path) -> None:
    state = state_file("pc42")
    md, js, ju = tmp_path / "r.md", tmp_path / "r.json", tmp_path / "r.xml"
    r = runner.invoke(
        app,
        [
            "run",
            "fix-0x80070422",
            "--host",
            f"sim:{state}",
            "--dry-run",
            "--json",
            "--report",
            f"md:{md}",
            "--report",
            f"json:{js}",
            "--report",
            f"junit:{ju}",
        ],
    )
    assert r.exit_code == 1
    doc = json.loads(r.stdout)  # stdout is only the JSON document
    jsonschema.validate(doc, schema("report"))
    assert "DRIFT" in r.stderr and "DRIFT" not in r.stdout
    assert json.loads(js.read_text())["steps"] == doc["steps"]
    text = md.read_text()
    assert "| `wbengine-not-disabled` | wbengine start mode: Disabled → Manual | reversible | yes" in text
    assert "Why: " in text
    xml = ju.read_text()
    assert 'tests="12"' in xml and 'failures="5"' in xml and 'type="drift"' in xml


def test_bad_report_spec_is_a_usage_error(state_file) -> None:
    r = invoke("run", "fix-0x80070422", "--host", f"sim:{state_file('pc42')}", "--report", "pdf:x")
    assert r.exit_code == 2 and "md, json, junit" in r.output
