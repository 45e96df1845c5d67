"""Issue 12's new reads over the real path (CLI → engine → pywinrm → HTTP → lab → host model):
``wbadmin get disks`` for a detached Windows Server Backup target, and the decimal symbols of
HKU\\.DEFAULT and the loaded user hives (never HKCU), each ending in a manual finding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from test_e2e_lab import PASSWORD, Lab, invoke
from wbplay.lab.users import DEFAULT_USER
from wbplay.sim.state import read_state


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WBPLAY_USER", DEFAULT_USER.name)
    monkeypatch.setenv("WBPLAY_PASSWORD", PASSWORD)


def _run(state: Path, playbook: str, tmp_path: Path) -> tuple[int, str, dict]:
    lab = Lab(state)
    before = read_state(state)
    try:
        report = tmp_path / "report.json"
        r = invoke(
            "run", playbook, "--host", lab.host, "--yes", "--skip-manual", "--report", f"json:{report}"
        )
        assert read_state(state) == before  # read-only playbooks: the PC is unchanged
        return r.exit_code, r.output, json.loads(report.read_text(encoding="utf-8"))
    finally:
        lab.stop()


def _step(doc: dict, step_id: str) -> dict:
    found: dict = next(s for s in doc["steps"] if s["id"] == step_id)
    return found


def test_a_detached_wsb_target_lists_the_online_disks_and_leaves_the_choice_to_a_human(
    state_file, tmp_path: Path
) -> None:
    code, output, doc = _run(state_file("srv2019-wsb-target-detached"), "fix-wsb-target-missing", tmp_path)
    assert code == 1, output
    disks = _step(doc, "evidence-online-disks")["observed"]
    assert [d["number"] for d in disks] == [0]  # the detached USB disk is not online
    assert disks[0]["id"].startswith("{")
    target = _step(doc, "scheduled-target-found")
    assert target["status"] == "manual" and target["observed"] == 561
    assert "FORMATS" in output  # the warning about -addtarget reaches the operator


def test_the_decimal_symbol_is_read_per_hive_over_winrm(state_file, tmp_path: Path) -> None:
    code, output, doc = _run(state_file("win11-decimal-comma-ja"), "fix-0x80070057", tmp_path)
    assert code == 1, output
    step = _step(doc, "decimal-symbol-is-period")
    assert step["status"] == "manual"
    (hive,) = step["observed"]
    assert hive["hive"].startswith("HKU\\S-1-5-21-") and hive["decimal"] == ","
