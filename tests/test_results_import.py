"""wbplay results import (issue 9): Intune's per-device results shown as wbplay's fleet.

The fixtures in tests/results/ are written from the documented shapes (see its README), so these
tests prove the reading and the grouping, not that a real tenant spells its CSV this way.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wbplay.cli import app as cli_app
from wbplay.errors import ResultsError
from wbplay.library.export.results import read_results

HERE = Path(__file__).parent / "results"
EXPECTED = {
    "PC-ACCT-01": "compliant",
    "PC-ACCT-02": "fixed",
    "PC-ACCT-03": "fixed",
    "PC-LAB-07": "recurred",
    "PC-KIOSK-01": "failed",
    "PC-OLD-02": "failed",  # the script's own error line: Intune saw exit 3 as "no issue"
    "PC-NEW-09": "pending",
}


@pytest.mark.parametrize(
    ("name", "fmt"), [("deviceRunStates.json", "graph-json"), ("device-status.csv", "csv")]
)
def test_both_shapes_give_the_same_fleet(name: str, fmt: str) -> None:
    devices, got_fmt = read_results(HERE / name)
    assert got_fmt == fmt
    assert {d.device: d.outcome for d in devices} == EXPECTED
    fixed = [d for d in devices if d.outcome == "fixed"]
    assert {d.line for d in fixed} == {
        "fix-0x80070422: 2 drift: sdrsvc-start-mode: Disabled (want not Disabled); "
        "wbengine-start-mode: Disabled (want not Disabled)"
    }
    assert all(d.where.startswith(f"{HERE / name}:") for d in devices)


def test_the_cli_groups_by_detection_line_and_writes_reports(tmp_path: Path) -> None:
    js, md = tmp_path / "r.json", tmp_path / "r.md"
    result = CliRunner().invoke(
        cli_app,
        [
            "results",
            "import",
            str(HERE / "deviceRunStates.json"),
            "--report",
            f"json:{js}",
            "--report",
            f"md:{md}",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "fixed: 2" in result.output and "recurred: 1" in result.output and "compliant: 1" in result.output
    doc = json.loads(js.read_text())
    assert doc["kind"] == "imported-results" and doc["devices"] == 7
    fixed = [g for g in doc["groups"] if g["outcome"] == "fixed"]
    assert len(fixed) == 1 and fixed[0]["devices"] == ["PC-ACCT-02", "PC-ACCT-03"]
    assert fixed[0]["after"] == ["fix-0x80070422: 0 drift"]
    assert doc["groups"][0]["outcome"] == "failed"  # the worst first
    text = md.read_text()
    assert "| recurred | 1 |" in text and "- PC-LAB-07" in text


def test_junit_is_refused_for_an_import(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli_app, ["results", "import", str(HERE / "device-status.csv"), "--report", f"junit:{tmp_path / 'x'}"]
    )
    assert result.exit_code == 2
    assert "json:FILE or md:FILE" in result.output


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("name", "text", "where", "words"),
    [
        ("bad.json", '{"value": [\n  {"detectionState": "success",\n}', ":3:", "not valid JSON"),
        (
            "nodevice.json",
            '{"value": [\n  {"detectionState": "success", "managedDevice": {"deviceName": "A"}},\n'
            '  {"detectionState": "success"}\n]}',
            ":3:",
            "names no device",
        ),
        (
            "state.json",
            '{"value": [\n  {"detectionState": "bogus", "deviceName": "A"}\n]}',
            ":2:",
            "unknown detection state 'bogus' (field detectionState)",
        ),
        ("shape.json", '{"devices": []}', ":1", "Graph list"),
        (
            "cells.csv",
            "Device name,Detection status\nA,Without issues\nB,With issues,extra\n",
            ":3:",
            "3 cells",
        ),
        ("header.csv", "Name,Status\nA,ok\n", ":1:", "column"),
        ("state.csv", "Device name,Detection status\nA,Without issues\nB,Sideways\n", ":3:", "Sideways"),
    ],
)
def test_a_malformed_file_is_named_with_its_line(
    tmp_path: Path, name: str, text: str, where: str, words: str
) -> None:
    path = _write(tmp_path, name, text)
    with pytest.raises(ResultsError) as caught:
        read_results(path)
    message = str(caught.value)
    assert message.startswith(f"{path}{where}"), message
    assert words in message and "hint:" in message
    result = CliRunner().invoke(cli_app, ["results", "import", str(path)])
    assert result.exit_code != 0 and words.split("'")[0] in result.output
