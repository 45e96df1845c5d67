"""The scenario suite: every shipped scenario, run against the simulated PCs (what `wbplay test` runs).

Also checks that the suite covers what issue 4 asks of it: at least twelve distinct broken
PCs across Windows 7 SP1, 10, 11 and Server 2019, in English and Japanese, each failing a
backup with its real code, triaged to the right playbook, fixed, backing up again, and
rolled back exactly where the playbook is reversible; healthy and wrong PCs unchanged.
"""

from __future__ import annotations

import shutil
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from wbplay.cli import app
from wbplay.library.scenarios import ScenarioFile, discover, load, run_files, run_scenario, scenarios_dir
from wbplay.playbook import load as playbook_mod
from wbplay.playbook.model import Risk
from wbplay.sim.state import load_host_model


@cache
def shipped() -> tuple[ScenarioFile, ...]:
    return tuple(load(p) for p in discover())


def all_scenarios() -> list[tuple[ScenarioFile, dict[str, Any]]]:
    return [(sf, sc) for sf in shipped() for sc in sf.scenarios]


@pytest.mark.parametrize(
    ("sf", "sc"), all_scenarios(), ids=[f"{sf.playbook.id}::{sc['name']}" for sf, sc in all_scenarios()]
)
def test_scenario(sf: ScenarioFile, sc: dict[str, Any]) -> None:
    result = run_scenario(sf, sc)
    assert result.passed, "\n".join(result.failures)


def _full_fixes() -> dict[str, tuple[ScenarioFile, dict[str, Any]]]:
    """Broken PCs whose scenario goes all the way: fails with a code, triage puts the playbook
    first, the run fixes it, the backup succeeds."""
    out = {}
    for sf, sc in all_scenarios():
        before, after = sc.get("before") or {}, sc.get("after") or {}
        if (
            (before.get("backup") or {}).get("fails")
            and (before.get("triage") or {}).get("first") is True
            and (after.get("backup") or {}).get("ok")
        ):
            out.setdefault(sc["host"], (sf, sc))
    return out


def test_twelve_broken_pcs_end_to_end_across_versions_and_languages() -> None:
    full = _full_fixes()
    assert len(full) >= 12, sorted(full)
    oses, locales = set(), set()
    for host in full:
        os = load_host_model(host).os
        oses.add(
            next(v for v in ("Windows 7", "Windows 10", "Windows 11", "Server 2019") if v in os["caption"])
        )
        locales.add(os["locale"])
    assert oses == {"Windows 7", "Windows 10", "Windows 11", "Server 2019"}
    assert locales == {"en-US", "ja-JP"}
    codes = {sc["before"]["backup"]["fails"] for _, sc in full.values()}
    assert len(codes) >= 8, codes


def _why_not_restorable(sf: ScenarioFile, sc: dict[str, Any]) -> list[str]:
    reasons = []
    for step in sf.playbook.steps:
        if step.risk == Risk.IRREVERSIBLE:
            reasons.append("irreversible steps")
        if step.remedy is not None and step.remedy.kind == "service.restart":
            reasons.append("a restart has no inverse")
    if sc.get("human"):
        reasons.append("a human acted")
    return reasons


def test_rollback_restores_exactly_unless_the_playbook_cannot() -> None:
    for sf, sc in all_scenarios():
        if sc["rollback"] != "restores":
            assert _why_not_restorable(sf, sc), (
                f"{sf.playbook.id}::{sc['name']} claims it cannot be rolled back"
            )
    for sf, sc in _full_fixes().values():
        if not _why_not_restorable(sf, sc):
            assert sc["rollback"] == "restores", f"{sf.playbook.id}::{sc['name']}"


def test_every_playbook_has_scenarios_on_healthy_and_wrong_pcs() -> None:
    by_pb: dict[str, list[dict[str, Any]]] = {}
    for sf, sc in all_scenarios():
        by_pb.setdefault(sf.playbook.id, []).append(sc)
    library = {p.stem for p in playbook_mod.library_files()}
    assert set(by_pb) == library
    for pb_id, scs in by_pb.items():
        healthy = [sc for sc in scs if "healthy" in sc["host"] and sc["run"].get("changes") == 0]
        assert healthy, f"{pb_id}: no scenario on a healthy PC"
        if pb_id.startswith("fix-"):
            pb = playbook_mod.load(playbook_mod.resolve(pb_id))
            wrong = [
                sc
                for sc in scs
                if sc["run"].get("changes") == 0
                and (sc.get("before") or {}).get("backup", {}).get("fails")
                not in (None, *pb.applies_to.error_codes)
            ]
            assert wrong, f"{pb_id}: no scenario on a PC broken another way"


def test_irreversible_steps_are_blocked_without_consent() -> None:
    blocked = [
        sc
        for _, sc in all_scenarios()
        if "blocked" in (sc["run"].get("statuses") or {}).values() and sc["run"].get("changes") == 0
    ]
    assert blocked


# -- the harness itself ------------------------------------------------------------------


def test_a_wrong_expectation_fails_with_a_reason(tmp_path: Path) -> None:
    pb = tmp_path / "mine.yml"
    shutil.copyfile(playbook_mod.resolve("fix-0x80070422"), pb)
    (tmp_path / "mine.scenarios.yml").write_text(
        """
playbook: mine.yml
scenarios:
  - name: wrong
    host: pc42
    before:
      backup: {fails: "0x8007045D"}
      triage: {first: check-image-destination}
    run: {exit: 0, changes: 4, statuses: {rpcss-start-mode: fixed, nope: ok}}
    after:
      backup: {fails: "0x80070422"}
    rollback: restores
""",
        encoding="utf-8",
    )
    [path] = discover([str(pb)])
    [result] = list(run_files([path]))
    text = "\n".join(result.failures)
    assert "before: expected the backup to fail with 0x8007045D; got ok=False code=0x80070422" in text
    assert "triage: expected check-image-destination first" in text
    assert "run: 5 change(s), expected 4" in text
    assert "step rpcss-start-mode is ok, expected fixed" in text
    assert "no step 'nope'" in text
    assert "after: expected the backup to fail with 0x80070422; got ok=True" in text
    assert "rollback" not in text  # rollback did restore the PC


def test_an_invalid_scenario_file_is_one_failure(tmp_path: Path) -> None:
    bad = tmp_path / "bad.scenarios.yml"
    bad.write_text("playbook: fix-0x80070422\nscenarios:\n  - name: x\n    host: pc42\n", encoding="utf-8")
    [result] = list(run_files([bad]))
    assert not result.passed and "missing required key" in result.failures[0]


def test_library_scenarios_live_outside_the_playbook_folder() -> None:
    assert scenarios_dir().is_dir()
    assert not any(p.name.endswith(".scenarios.yml") for p in playbook_mod.library_files())


def test_cli_runs_a_playbook_s_scenarios() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["test", "fix-shadow-storage"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert all(" PASSED" in line for line in lines[:-1])
    assert lines[-1].startswith(f"{len(lines) - 1} passed, 0 failed in ")
    missing = runner.invoke(app, ["test", "no-such-playbook"])
    assert missing.exit_code == 2 and "no scenarios" in missing.output
