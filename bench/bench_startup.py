"""Whole-process figures beside in-process ones, each against a baseline in the same run (issue 17).

The baseline is the same tree before issue 17 (``--baseline-ref``, by default
the merge base with ``main``), extracted with ``git archive`` and run from the
same interpreter with ``PYTHONPATH`` pointing at it; "now" is this checkout.
Both talk to the same loopback lab (20 ms latency injected per response).

* start-up: ``wbplay --help`` and ``wbplay list``, beside ``python -c pass``;
* ``wbplay validate`` of 100 playbooks (the shipped ones, copied);
* ``wbplay run fix-0x80070422 --dry-run`` over WinRM, whole process, beside
  its request floor (requests x latency);
* a real run of fix-0x80070422 (``--yes``) on a fresh pc42: HTTP requests,
  agent uploads and bytes sent;
* CPU per extra PC of a fleet: loading the playbook again in-process.

Run: ``python bench/bench_startup.py [--repeat 5] [--latency-ms 20]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "engine"))

from wbplay.agent import protocol  # noqa: E402
from wbplay.lab.agent_handler import AgentHandler, encoded_command  # noqa: E402
from wbplay.lab.cmdexe import CommandOutput, HostIdentity  # noqa: E402
from wbplay.lab.server import LabConfig, LabServer  # noqa: E402
from wbplay.lab.users import DEFAULT_USER  # noqa: E402
from wbplay.playbook import load as playbook  # noqa: E402
from wbplay.sim.model import HostModel  # noqa: E402
from wbplay.sim.state import builtin_path, read_state, save_state  # noqa: E402

AGENT_MIN = 20_000  # bytes: a request body this large carries the agent (it is ~94 KB raw, ~28 KB packed)


def extract(ref: str, into: Path) -> Path:
    """The tree at ``ref`` (engine, playbooks, schemas), for PYTHONPATH."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "engine", "playbooks", "schemas"],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "engine"


def timed(argv: list[str], env: dict[str, str], repeat: int, ok: tuple[int, ...] = (0,)) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True)
        times.append(time.perf_counter() - t0)
        if done.returncode not in ok:
            tail = done.stderr.decode(errors="replace")[-800:]
            raise SystemExit(f"{argv[3:]} exited {done.returncode}: {tail}")
    return statistics.median(times)


class EitherBootstrap:
    """The lab's agent handler, also taking the baseline's bootstrap (bench only).

    The baseline's bootstrap differs from this one, and its stdin carries the
    agent, a form the current bootstrap still reads: the run goes on as if it
    had been started with the current command line.
    """

    takes_environment = True

    def __init__(self, handler: AgentHandler) -> None:
        self.handler = handler

    def __call__(
        self, argv: list[str], stdin: bytes, environment: dict[str, str] | None = None
    ) -> CommandOutput:
        script = encoded_command(argv) or ""
        if script != protocol.BOOTSTRAP and protocol.SEPARATOR in script:
            argv = list(protocol.POWERSHELL_ARGS)
        return self.handler(argv, stdin, environment)


class Lab:
    """pc42 behind the lab; a fresh copy of its state for every real run."""

    def __init__(self, workdir: Path, latency_s: float) -> None:
        self.state = workdir / "pc42.yml"
        self.model = HostModel(read_state(builtin_path("pc42")))  # type: ignore[arg-type]
        self.handler = AgentHandler(self.model, on_change=lambda: save_state(self.state, self.model.state))
        identity = HostIdentity(self.model.hostname, str(self.model.os["version"]))
        self.server = LabServer(LabConfig(host=identity, powershell=EitherBootstrap(self.handler))).start()
        self.server.latency_s = latency_s
        self.url = f"http://127.0.0.1:{self.server.port}"

    def fresh(self) -> None:
        self.model = HostModel(read_state(builtin_path("pc42")))  # type: ignore[arg-type]
        self.handler.model = self.model
        self.server.reset_counters()  # and its request log

    def wire(self) -> dict[str, float]:
        log = list(self.server.log)
        return {
            "requests": len(log),
            "uploads": sum(1 for r in log if r.action in ("Create", "Send") and r.body_bytes > AGENT_MIN),
            "kb_up": sum(r.body_bytes for r in log) / 1024,
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--baseline-ref", default="")
    args = parser.parse_args()
    ref = args.baseline_ref or subprocess.run(
        ["git", "-C", str(ROOT), "merge-base", "HEAD", "main"], capture_output=True, text=True, check=True
    ).stdout.strip()

    work = Path(tempfile.mkdtemp(prefix="wbplay-bench-"))
    try:
        trees = {"now": ROOT / "engine", "baseline": extract(ref, work)}
        hundred = work / "hundred"
        hundred.mkdir()
        shipped = sorted(playbook.library_files())
        for i in range(100):
            shutil.copy(shipped[i % len(shipped)], hundred / f"{i:03d}-{shipped[i % len(shipped)].name}")
        base_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "WBPLAY_HOME": str(work / "home"),
            "WBPLAY_USER": DEFAULT_USER.name,
            "WBPLAY_PASSWORD": DEFAULT_USER.password,
        }
        envs = {name: {**base_env, "PYTHONPATH": str(tree)} for name, tree in trees.items()}
        py = [sys.executable, "-m", "wbplay"]
        lab = Lab(work, args.latency_ms / 1000)
        rows: list[tuple[str, Callable[[str], float], str]] = [
            ("wbplay --help (s)", lambda n: timed([*py, "--help"], envs[n], args.repeat), "s"),
            ("wbplay list (s)", lambda n: timed([*py, "list"], envs[n], args.repeat), "s"),
            ("validate 100 playbooks (s)", lambda n: timed([*py, "validate", str(hundred)], envs[n], 1), "s"),
        ]
        print(f"baseline {ref[:12]} (before issue 17), median of {args.repeat}, {args.latency_ms:g} ms lag")
        print(f"{'':<34}{'now':>10}{'baseline':>10}{'ratio':>8}")
        floor = timed([sys.executable, "-c", "pass"], base_env, args.repeat)
        print(f"{'python -c pass (s, the floor)':<34}{floor:>10.3f}")
        for label, fn, _ in rows:
            now, then = fn("now"), fn("baseline")
            print(f"{label:<34}{now:>10.3f}{then:>10.3f}{then / now:>7.1f}x")

        dry = [*py, "run", "fix-0x80070422", "--host", lab.url, "--dry-run"]
        for name in ("now", "baseline"):
            lab.fresh()
            seconds = timed(dry, envs[name], args.repeat, ok=(1,))
            requests = len(lab.server.log) / args.repeat
            floor_s = requests * args.latency_ms / 1000
            print(
                f"{'WinRM dry-run, whole process':<34}{name:>10} {seconds:.3f} s = "
                f"{seconds / floor_s:.1f}x its request floor ({requests:.0f} requests, {floor_s:.3f} s)"
            )
        for name in ("now", "baseline"):
            lab.fresh()
            timed([*py, "run", "fix-0x80070422", "--host", lab.url, "--yes"], envs[name], 1)
            w = lab.wire()
            print(
                f"{'real run of fix-0x80070422':<34}{name:>10} {w['requests']:.0f} requests, "
                f"{w['uploads']:.0f} agent uploads, {w['kb_up']:.0f} KB up"
            )
        lab.server.stop()

        path = playbook.resolve("fix-0x80070422")
        t0 = time.process_time()
        playbook.load(path)
        cold = time.process_time() - t0
        t0 = time.process_time()
        for _ in range(100):
            playbook.load(path)
        warm = (time.process_time() - t0) / 100
        print(f"{'playbook load per extra PC (CPU s)':<34}{warm:>10.4f}{cold:>10.4f}  (cached vs first load)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
