"""No leaked shells (issue 17): Ctrl-C or SIGTERM in any phase of a run deletes the open shell,
on a new connection when the interrupted one is unusable.  Windows allows 30 shells per user;
40 interrupted runs against the lab must leave none open."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from wbplay import cli
from wbplay.lab.agent_handler import AgentHandler
from wbplay.lab.cmdexe import HostIdentity
from wbplay.lab.server import LabConfig, LabServer
from wbplay.lab.users import DEFAULT_USER
from wbplay.sim.model import HostModel
from wbplay.sim.state import read_state

PHASES = ("create", "command", "send", "receive")


class Interrupter:
    """Wraps the lab's shell operations: the first call of the armed phase signals the client."""

    def __init__(self, server: LabServer) -> None:
        self.shells = server.shells
        self.phase: str | None = None
        self.signal_client: Callable[[], None] = lambda: None
        self.fired = 0
        for name in PHASES:
            setattr(self.shells, name, self._wrap(name, getattr(self.shells, name)))

    def _wrap(self, name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def op(*args: Any, **kwargs: Any) -> Any:
            result = real(*args, **kwargs)
            if self.phase == name:
                self.phase = None
                self.fired += 1
                # The client is waiting for this very answer: the signal lands mid-request.
                self.signal_client()
            return result

        return op


@pytest.fixture
def lab(state_file, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LabServer, Interrupter]]:
    monkeypatch.setenv("WBPLAY_USER", DEFAULT_USER.name)
    monkeypatch.setenv("WBPLAY_PASSWORD", DEFAULT_USER.password)
    model = HostModel(read_state(state_file("pc42")))
    server = LabServer(
        LabConfig(
            host=HostIdentity(model.hostname, str(model.os["version"])),
            powershell=AgentHandler(model),
            timeout_scale=0.05,
            max_shells_per_user=30,
        )
    ).start()
    try:
        yield server, Interrupter(server)
    finally:
        server.stop()


def test_forty_interrupted_runs_leave_no_shell_open(lab: tuple[LabServer, Interrupter]) -> None:
    server, interrupter = lab
    main = threading.main_thread().ident
    assert main is not None and threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, cli._terminated)  # what `wbplay` installs at start
    url = f"http://127.0.0.1:{server.port}"
    try:
        for i in range(40):
            sig = signal.SIGTERM if i % 5 == 4 else signal.SIGINT
            interrupter.signal_client = lambda sig=sig: signal.pthread_kill(main, sig)
            interrupter.phase = PHASES[i % len(PHASES)]
            result = CliRunner().invoke(cli.app, ["run", "fix-0x80070422", "--host", url, "--dry-run"])
            assert interrupter.fired == i + 1, (interrupter.phase, result.output)
            assert result.exit_code == 130, (i, PHASES[i % len(PHASES)], result.output)
            assert server.shells.open_shells() == 0, (i, PHASES[i % len(PHASES)])
    finally:
        signal.signal(signal.SIGTERM, previous)
    # More runs than MaxShellsPerUser (30): a leak would have ended in a quota fault.
    assert server.counters.shells_created == 40
    deletes = [r for r in server.log if r.action == "Delete"]
    assert len(deletes) == 40 and all(r.status == 200 for r in deletes)


def test_sigterm_to_the_wbplay_process_deletes_its_shell(
    lab: tuple[LabServer, Interrupter], tmp_path: Path
) -> None:
    server, interrupter = lab
    env = {**os.environ, "WBPLAY_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "wbplay", "run", "fix-0x80070422", "--host", f"http://127.0.0.1:{server.port}",
         "--dry-run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    interrupter.signal_client = lambda: os.kill(proc.pid, signal.SIGTERM)
    interrupter.phase = "receive"
    out, err = proc.communicate(timeout=120)
    assert interrupter.fired == 1, err.decode(errors="replace")
    assert proc.returncode == 130, (out + err).decode(errors="replace")
    assert server.shells.open_shells() == 0
    assert [r.status for r in server.log if r.action == "Delete"] == [200]
