"""The recovery sweep's machinery: labs that audit every write, a fork server, the figures.

``test_recovery_sweep.py`` breaks a real run at every point and checks the
README's promise: an interrupted run can be rolled back from its journal and
nothing is lost.  This module holds what those tests share:

* :class:`AuditedLab`: the loopback WinRM lab serving a state file, whose agent
  handler checks, as each write op is about to run on the PC, that the run's
  journal *on disk* already announces it (a ``change.intent`` or an
  ``undo.intent``).  A write that is not announced first is an *unaccounted
  change*: after a kill at that moment nobody could know to undo it.
* :class:`Zygote`: the client of ``faultsweep_zygote.py``, which forks real
  ``wbplay`` processes without paying Python's start-up for each.
* the hooks the zygote's children install (kill at the n-th journal record,
  audit a simulated host's writes) and :data:`FIGURES`, printed by the
  terminal-summary hook in ``conftest.py``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

TESTS = Path(__file__).resolve().parent

# --- what a journal announces ------------------------------------------------------------------


def journal_records(runs: Path) -> list[dict[str, Any]]:
    """Every record of every journal under ``runs``, as on disk now (a torn last line is skipped)."""
    records: list[dict[str, Any]] = []
    for path in sorted(runs.glob("*.jsonl")) if runs.is_dir() else []:
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # only the last line can be torn, and a torn intent announces nothing
    return records


def announced(runs: Path) -> Counter[tuple[str, str]]:
    """How many times each write op (by ``Op.key()``) is announced by the journals under ``runs``."""
    from wbplay.playbook.model import Action
    from wbplay.vocab import actions

    seen: Counter[tuple[str, str]] = Counter()
    for r in journal_records(runs):
        if r.get("event") in ("change.intent", "undo.intent") and isinstance(r.get("action"), dict):
            a = dict(r["action"])
            kind = a.pop("kind", None)
            try:
                seen[actions.to_op(Action(str(kind), a)).key()] += 1
            except (KeyError, ValueError):
                continue
    return seen


class WriteAudit:
    """Counts the write ops a PC runs against what the journal announced before each one."""

    def __init__(self, runs: Path) -> None:
        self.runs = runs
        self.done: Counter[tuple[str, str]] = Counter()
        self.unannounced: list[str] = []
        self.writes = 0

    def before_write(self, op: Any) -> None:
        key = op.key()
        self.writes += 1
        self.done[key] += 1
        if self.done[key] > announced(self.runs)[key]:
            self.unannounced.append(f"{op.name} {dict(op.args)}")


# --- state files, fast ----------------------------------------------------------------------------
# The sweep compares and writes state files thousands of times; libyaml does it in a fraction of
# the time of wbplay's own loader (which keeps line numbers and validates, for people's files).


def state_of(path: Path) -> Any:
    """A state file's data, for comparing."""
    return yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)


def save(path: Path, state: Any) -> None:
    """Atomically replace a state file, as ``wbplay.sim.state.save_state`` does."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(yaml.dump(state, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True))
    os.replace(tmp, path)


# --- a lab that audits every write ---------------------------------------------------------------


class AuditedLab:
    """A lab serving ``state`` (saved after every write) whose writes are audited against ``runs``.

    ``parsed``: the state file's content, when the caller already has it.
    """

    def __init__(self, state: Path, runs: Path, *, parsed: dict[str, Any] | None = None) -> None:
        from wbplay.lab.cmdexe import HostIdentity
        from wbplay.lab.server import LabConfig, LabServer

        self.state = state
        self.audit = WriteAudit(runs)
        handler = self._handler(copy.deepcopy(parsed) if parsed is not None else state_of(state))
        self.server = LabServer(
            LabConfig(
                host=HostIdentity(self.model.hostname, str(self.model.os["version"])),
                powershell=handler,
            )
        ).start()
        self.host = f"http://127.0.0.1:{self.server.port}"

    def _handler(self, data: dict[str, Any]) -> Any:
        from wbplay.lab.agent_handler import AgentHandler
        from wbplay.sim.executor import execute
        from wbplay.sim.model import HostModel

        model = self.model = HostModel(data)

        def audited(model: Any, op: Any) -> Any:
            if op.writes:
                self.audit.before_write(op)
            return execute(model, op)

        return AgentHandler(model, on_change=lambda: save(self.state, model.state), execute=audited)

    def revive_from_disk(self) -> None:
        """Come back after ``server.crash()`` with what the PC's disk (the state file) holds."""
        self.server.revive(self._handler(state_of(self.state)))

    def stop(self) -> None:
        self.server.stop()


# --- hooks for the zygote's children --------------------------------------------------------------


def kill_self_at_journal_event(n: int) -> None:
    """SIGKILL this process right after its n-th journal record reaches the disk."""
    from wbplay.run import journal

    original = journal.Journal.append
    count = [0]

    def append(self: Any, event: str, **fields: Any) -> dict[str, Any]:
        record = original(self, event, **fields)
        count[0] += 1
        if count[0] == n:
            os.kill(os.getpid(), signal.SIGKILL)
        return record

    journal.Journal.append = append  # type: ignore[method-assign]


def check_sim_writes_are_announced(report: str) -> None:
    """Audit a simulated host's writes in this process; append each unannounced one to ``report``."""
    from wbplay.hosts import sim
    from wbplay.paths import runs_dir

    audit = WriteAudit(runs_dir())
    original = sim.execute

    def audited(model: Any, op: Any) -> Any:
        if op.writes:
            audit.before_write(op)
            if audit.unannounced:
                with open(report, "a", encoding="utf-8") as f:
                    f.write(audit.unannounced.pop() + "\n")
                    f.flush()
                    os.fsync(f.fileno())
        return original(model, op)

    sim.execute = audited  # type: ignore[assignment]


def memoize_playbook_loading() -> Callable[[], None]:
    """Load each playbook file once per process (keyed by its bytes); returns the undo.

    The sweep runs the same playbook hundreds of times; parsing and validating
    it each time would be most of the sweep's time, and the loader is not what
    the sweep tests (test_loader.py does).  Each call still reads the file.
    """
    from wbplay.playbook import load as loader

    original = loader.load
    cache: dict[tuple[str, str], Any] = {}

    def load(path: Path) -> Any:
        key = (str(Path(path).resolve()), hashlib.sha256(Path(path).read_bytes()).hexdigest())
        if key not in cache:
            cache[key] = original(path)
        return cache[key]

    loader.load = load  # type: ignore[assignment]

    def undo() -> None:
        loader.load = original  # type: ignore[assignment]

    return undo


def memoize_cli_command() -> Callable[[], None]:
    """Build typer's click command for an app once per process; returns the undo.

    typer rebuilds the whole command tree (signatures, annotations) on every
    call, ~20 ms, which hundreds of sweep runs would pay again and again for
    the same app.  The command it builds is the same each time.
    """
    import typer.main
    import typer.testing

    original = typer.main.get_command
    cache: dict[int, Any] = {}

    def get_command(typer_instance: Any) -> Any:
        key = id(typer_instance)
        if key not in cache:
            cache[key] = original(typer_instance)
        return cache[key]

    typer.main.get_command = get_command
    typer.testing._get_command = get_command  # type: ignore[attr-defined]

    def undo() -> None:
        typer.main.get_command = original
        typer.testing._get_command = original  # type: ignore[attr-defined]

    return undo


def scratch_dir() -> Path:
    """Where sweep points live: tmpfs when there is one, as fsync there costs nothing.

    The journal still fsyncs each record before the next request goes out; a
    SIGKILL never loses what a process wrote, so the sweep needs the order of
    writes, not their durability across a power cut.
    """
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="wbplay-sweep-", dir=base))


def warm_up(playbooks: Iterable[str]) -> list[str]:
    """Import and load what a run would, so the zygote's children start warm."""
    import typer.main
    import winrm  # noqa: F401

    import wbplay.cli
    import wbplay.hosts.winrm.host
    import wbplay.sim.executor
    from wbplay import app
    from wbplay.agent import protocol

    protocol.agent_script()
    memoize_cli_command()
    typer.main.get_command(wbplay.cli.app)
    memoize_playbook_loading()
    loaded = [app.load_playbook(name).id for name in playbooks]
    # One dry-run per playbook on a throw-away simulated PC imports the rest (typer's option
    # adapters pull in pydantic at parse time, the simulator its modules).
    from typer.testing import CliRunner

    from wbplay.sim.state import builtin_path

    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "pc.yml"
        shutil.copyfile(str(builtin_path("pc42")), state)
        for name in playbooks:
            CliRunner().invoke(
                wbplay.cli.app,
                ["run", name, "--host", f"sim:{state}", "--dry-run"],
                env={"WBPLAY_HOME": str(Path(tmp) / "home")},
            )
    return loaded


# --- the fork server's client ---------------------------------------------------------------------


class Zygote:
    """Forks `wbplay` processes from a warm, single-threaded parent (``faultsweep_zygote.py``)."""

    def __init__(self, playbooks: Iterable[str] = ()) -> None:
        """Start one (see :meth:`ready`: several can warm up at once)."""
        env = dict(os.environ, PYTHONUNBUFFERED="1", COLUMNS="200")
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(
            [sys.executable, str(TESTS / "faultsweep_zygote.py"), *playbooks],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=str(TESTS.parent),
        )
        self._ready = False
        self.child_cpu = 0.0  # CPU seconds of the processes it forked, once they ended

    def ready(self) -> Zygote:
        if not self._ready:
            answer = self._answer(timeout=120)
            assert "ready" in answer, answer
            self._ready = True
        return self

    def _answer(self, timeout: float, pid: int | None = None) -> dict[str, Any]:
        assert self.proc.stdout is not None
        readable, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not readable:
            if pid is not None:
                os.kill(pid, signal.SIGKILL)  # a hung controller: kill it, then report it
                self.proc.stdout.readline()
                raise AssertionError(f"wbplay (pid {pid}) did not end within {timeout} s")
            raise AssertionError("the fork server did not answer")
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError(f"the fork server died (exit {self.proc.wait()})")
        return dict(json.loads(line))

    def _ask(self, request: dict[str, Any], timeout: float = 30, pid: int | None = None) -> dict[str, Any]:
        assert self.proc.stdin is not None
        with self._lock:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
            return self._answer(timeout, pid)

    def spawn(
        self,
        argv: Iterable[str],
        env: dict[str, str],
        out: Path,
        *,
        kill_at_event: int | None = None,
        checks: Path | None = None,
    ) -> int:
        self.ready()
        spec: dict[str, Any] = {"argv": list(argv), "env": env, "out": str(out)}
        if kill_at_event is not None:
            spec["kill_at_event"] = kill_at_event
        if checks is not None:
            spec["checks"] = str(checks)
        return int(self._ask({"spawn": spec})["pid"])

    def wait(self, pid: int, timeout: float = 60) -> int:
        answer = self._ask({"wait": pid}, timeout=timeout, pid=pid)
        with self._lock:
            self.child_cpu += float(answer["cpu"])
        return int(answer["code"])

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# --- the figures ----------------------------------------------------------------------------------


@dataclass
class Figures:
    """One sweep's tally.  ``restored`` and ``completed`` are the two ways a point can end well."""

    tried: int = 0
    restored: int = 0  # the PC ended exactly as before the run (untouched, or rolled back exactly)
    completed: int = 0  # the run recovered by itself and finished its job, verified
    unaccounted: int = 0  # writes the PC ran that the journal had not announced first
    seconds: float = 0.0
    cpu: float = 0.0  # CPU seconds: this process (the labs) and every wbplay process it ran
    exits: Counter[int] = field(default_factory=Counter)  # how the interrupted runs ended
    failures: list[str] = field(default_factory=list)

    @property
    def sound(self) -> int:
        return self.restored + self.completed


FIGURES: dict[tuple[str, str], Figures] = {}


def summary_lines() -> list[str]:
    """The table the terminal-summary hook prints (nothing if no sweep ran)."""
    if not FIGURES:
        return []
    head = ("run", "fault", "tried", "restored", "completed", "unacct", "ok %", "s", "cpu s")
    lines = ["{:44} {:22} {:>5} {:>8} {:>9} {:>6} {:>6} {:>5} {:>5}".format(*head)]
    total = Figures()
    for (run, fault), f in sorted(FIGURES.items()):
        lines.append(
            f"{run:44} {fault:22} {f.tried:5} {f.restored:8} {f.completed:9} {f.unaccounted:6} "
            f"{100 * f.sound / max(f.tried, 1):6.1f} {f.seconds:5.1f} {f.cpu:5.1f}"
        )
        total.tried += f.tried
        total.restored += f.restored
        total.completed += f.completed
        total.unaccounted += f.unaccounted
        total.seconds += f.seconds
        total.cpu += f.cpu
    lines.append("exit codes of the interrupted runs (-9: SIGKILLed):")
    for (run, fault), f in sorted(FIGURES.items()):
        codes = ", ".join(f"{code}: {n}" for code, n in sorted(f.exits.items()))
        lines.append(f"  {run} / {fault}: {codes}")
    lines.append(
        f"{'all':44} {'':22} {total.tried:5} {total.restored:8} {total.completed:9} {total.unaccounted:6} "
        f"{100 * total.sound / max(total.tried, 1):6.1f} {total.seconds:5.1f} {total.cpu:5.1f}"
    )
    return lines
