"""What an operator reads and keeps (issue 14): version, the simulated PCs, --allow typos,
the Markdown records of a run and a plan, and a user's own state file."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

import wbplay
from wbplay.cli import app
from wbplay.sim.state import builtin_names


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.output.strip() == f"wbplay {wbplay.__version__}"


def test_sim_list_shows_each_pc_with_its_description() -> None:
    result = invoke("sim", "list")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert len(lines) == len(builtin_names())
    by_name = {line.split()[0]: line.split(None, 1)[1] for line in lines}
    assert set(by_name) == set(builtin_names())
    assert "BitLocker setup moved Windows RE" in by_name["win7-winre-on-usb"]
    assert all(text.strip() for text in by_name.values())


def test_allow_naming_an_unknown_step_is_a_usage_error_before_any_journal(wbplay_home: Path) -> None:
    result = invoke("run", "fix-0x80070422", "--host", "sim:pc42", "--yes", "--allow", "no-such-step")
    assert result.exit_code == 2, result.output
    assert "no-such-step" in result.output
    assert not (wbplay_home / "runs").exists() or not list((wbplay_home / "runs").iterdir())
