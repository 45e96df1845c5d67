"""`wbplay lint`: each rule has a playbook that triggers it; the shipped library lints clean."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wbplay.cli import app
from wbplay.playbook.lint import RULES, lint_file
from wbplay.resources import playbooks_dir

HEAD = """\
schema_version: 1
id: demo
title: A demo playbook
description: A playbook written to trigger one lint rule.
applies_to: {os: [windows-10]}
references: ["docs/domain.md"]
"""
GOOD_STEP = """\
  - id: vss-mode
    title: VSS is not Disabled
    why: "Windows' default is Manual (docs/domain.md §1)."
    check: {kind: service.start_mode, name: VSS}
    expect: {not: {in: [Disabled, null]}}
    remedy: {kind: service.set_start_mode, name: VSS, start_mode: Manual}
"""


def _write(tmp_path: Path, body: str, *, scenarios: bool = True) -> Path:
    path = tmp_path / "demo.yml"
    path.write_text(HEAD + body, encoding="utf-8")
    if scenarios:
        (tmp_path / "demo.scenarios.yml").write_text("playbook: demo.yml\n", encoding="utf-8")
    return path


def _rules(path: Path) -> list[str]:
    return [f.rule for f in lint_file(path)]


# One playbook body per rule: the rule must fire on it (and the clean body fires nothing).
TRIGGERS: dict[str, str] = {
    "WB000": "steps: []\n",
    "WB001": GOOD_STEP.replace("{not: {in: [Disabled, null]}}", "{equals: Automatic}").join(["steps:\n", ""]),
    "WB002": "steps:\n"
    + GOOD_STEP
    + "    verify:\n      check: {kind: service.start_mode, name: VSS}\n      expect: {equals: Disabled}\n",
    "WB003": "steps:\n" + GOOD_STEP + "    when: {step: later, status: [ok]}\n"
    "  - id: later\n    title: Later step\n    why: 'A later step (docs/domain.md §1).'\n"
    "    check: {kind: service.state, name: VSS}\n    expect: {equals: Running}\n",
    "WB004": "steps:\n" + GOOD_STEP.replace("start_mode: Manual}", "start_mode: '{{ mode }}'}"),
    "WB005": "vars:\n  unused: {type: string, description: never used}\nsteps:\n" + GOOD_STEP,
    "WB006": "steps:\n"
    "  - id: readonly\n    title: Read only\n    why: 'A read-only step (docs/domain.md §1).'\n"
    "    check: {kind: service.state, name: VSS}\n    expect: {equals: Running}\n"
    + GOOD_STEP
    + "    when: {step: readonly, status: [fixed]}\n",
    "WB007": "steps:\n"
    "  - id: wipe\n    title: Delete old images\n    why: 'Old sets fill the disk (docs/domain.md §5).'\n"
    "    check: {kind: path.exists, path: 'E:\\\\WindowsImageBackup'}\n    expect: {equals: false}\n"
    "    remedy: {kind: path.delete, path: 'E:\\\\WindowsImageBackup'}\n",
    "WB008": "steps:\n"
    "  - id: ask\n    title: Ask a human\n    why: 'Only a person can do it (docs/domain.md §1).'\n"
    "    check: {kind: service.state, name: VSS}\n    expect: {equals: Running}\n"
    "    remedy: {kind: manual, instruction: '            '}\n",
    "WB009": "steps:\n"
    + GOOD_STEP
    + "    on_failure: continue\n"
    "  - id: vss-on\n    title: VSS runs\n    why: 'Start it now (docs/domain.md §6).'\n"
    "    when: {step: vss-mode, status: [ok, fixed]}\n"
    "    check: {kind: service.state, name: VSS}\n    expect: {equals: Running}\n"
    "    remedy: {kind: service.start, name: VSS}\n",
    "WB010": "steps:\n" + GOOD_STEP.replace("(docs/domain.md §1)", "(trust me)"),
    "WB011": "steps:\n" + GOOD_STEP.replace("name: VSS}", "name: VolumeShadowCopy}"),
    "WB012": "steps:\n"
    "  - id: policy\n    title: Policy absent\n    why: 'A policy hides the UI [U].'\n"
    "    check: {kind: registry.value, key: 'HKLM\\\\SOFTWAR\\\\Policies', name: X}\n"
    "    expect: {exists: false}\n",
    "WB014": "steps:\n" + GOOD_STEP + GOOD_STEP.replace("id: vss-mode", "id: vss-mode-again"),
    "WB015": "steps:\n" + GOOD_STEP + "    risk: read-only\n",
    "WB016": "steps:\n" + GOOD_STEP.replace("VSS is not Disabled", "TODO what this checks"),
}


def test_every_rule_has_a_trigger() -> None:
    assert set(TRIGGERS) | {"WB013", "WB017"} == set(RULES)  # those two: tests below


def test_a_clean_playbook_has_no_findings(tmp_path: Path) -> None:
    assert _rules(_write(tmp_path, "steps:\n" + GOOD_STEP)) == []


@pytest.mark.parametrize("rule", sorted(TRIGGERS))
def test_rule_fires(tmp_path: Path, rule: str) -> None:
    findings = lint_file(_write(tmp_path, TRIGGERS[rule]))
    assert rule in [f.rule for f in findings], findings
    hit = next(f for f in findings if f.rule == rule)
    assert hit.line > 1 and hit.column >= 1 and hit.hint


def test_wb013_a_playbook_without_scenarios(tmp_path: Path) -> None:
    assert _rules(_write(tmp_path, "steps:\n" + GOOD_STEP, scenarios=False)) == ["WB013"]


def test_wb001_points_at_the_remedy(tmp_path: Path) -> None:
    path = _write(tmp_path, TRIGGERS["WB001"])
    (hit,) = [f for f in lint_file(path) if f.rule == "WB001"]
    assert (hit.line, hit.column) == (13, 5)  # the remedy: key
    assert "'Manual'" in hit.message


def test_the_shipped_library_lints_clean() -> None:
    result = CliRunner().invoke(app, ["lint", str(playbooks_dir())])
    assert result.exit_code == 0, result.output
    assert "0 finding(s)" in result.output


def test_cli_text_and_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    error = runner.invoke(app, ["lint", str(_write(tmp_path, TRIGGERS["WB001"]))])
    assert error.exit_code == 2
    assert f"{tmp_path / 'demo.yml'}:13:5: error WB001" in error.output and "(fix: " in error.output
    warning = _write(tmp_path, TRIGGERS["WB010"])
    assert runner.invoke(app, ["lint", str(warning)]).exit_code == 0
    assert runner.invoke(app, ["lint", "--strict", str(warning)]).exit_code == 2
    assert runner.invoke(app, ["lint", "--format", "xml", str(warning)]).exit_code == 2
    assert runner.invoke(app, ["lint", str(tmp_path / "missing.yml")]).exit_code == 2


def test_cli_formats_for_ci(tmp_path: Path) -> None:
    path = str(_write(tmp_path, TRIGGERS["WB001"]))
    runner = CliRunner()
    rows = json.loads(runner.invoke(app, ["lint", "-f", "json", path]).output)
    assert rows[0]["rule"] == "WB001" and rows[0]["line"] == 13 and rows[0]["severity"] == "error"
    gh = runner.invoke(app, ["lint", "-f", "github", path]).output
    assert gh.startswith("::error file=") and ",line=13,col=5,title=WB001::" in gh
    sarif = json.loads(runner.invoke(app, ["lint", "-f", "sarif", path]).output)
    run = sarif["runs"][0]
    assert sarif["version"] == "2.1.0" and {r["id"] for r in run["tool"]["driver"]["rules"]} == set(RULES)
    region = run["results"][0]["locations"][0]["physicalLocation"]["region"]
    assert run["results"][0]["ruleId"] == "WB001" and region == {"startLine": 13, "startColumn": 5}


def test_wb017_a_step_no_scenario_runs(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["new", "demo", "--dir", str(tmp_path)]).exit_code == 0
    pb = tmp_path / "demo.yml"
    text = pb.read_text(encoding="utf-8").replace(
        "vars: {}", "vars:\n  extra: {type: boolean, description: run the extra step, default: false}"
    )
    pb.write_text(
        text
        + "\n  - id: extra\n    title: Only with --var extra=true\n"
        "    why: 'A step no scenario enables (docs/domain.md §1).'\n"
        "    when: {var: extra, equals: true}\n"
        "    check: {kind: service.state, name: VSS}\n    expect: {equals: Running}\n",
        encoding="utf-8",
    )
    plain = runner.invoke(app, ["lint", str(pb)])
    assert "WB017" not in plain.output  # the static rules do not run scenarios
    result = runner.invoke(app, ["lint", "--scenarios", "-f", "json", str(pb)])
    rows = [r for r in json.loads(result.output) if r["rule"] == "WB017"]
    assert [r["message"] for r in rows] == [
        "no scenario runs step 'extra' (skipped or never reached in every one)"
    ]
