"""Shared fixtures: every test gets its own wbplay state home (journals, sim working copies)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from wbplay.sim.state import builtin_path

REPO = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent


@pytest.fixture(autouse=True)
def wbplay_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "wbplay-home"
    monkeypatch.setenv("WBPLAY_HOME", str(home))
    monkeypatch.delenv("WBPLAY_PASSWORD", raising=False)
    return home


@pytest.fixture
def state_file(tmp_path: Path):
    """Copy a built-in simulated PC to a private file and return its path."""

    def make(name: str) -> Path:
        src = builtin_path(name)
        assert src is not None, name
        dst = tmp_path / f"{name}.yml"
        shutil.copyfile(src, dst)
        return dst

    return make


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The recovery sweep's figures (test_recovery_sweep.py), when it ran."""
    import faultsweep

    lines = faultsweep.summary_lines()
    if lines:
        terminalreporter.section("recovery sweep: every kill point")
        for line in lines:
            terminalreporter.write_line(line)
