"""wbplay vs. a naive pywinrm baseline, over the loopback lab with injected latency.

Both sides read the same facts that a dry-run of ``fix-0x80070422`` needs from
the same simulated PC (pc42), through the same lab, in the same run:

* **wbplay**: ``wbplay run fix-0x80070422 --dry-run`` through the engine
  (one shell, one agent round trip for every read);
* **baseline**: what a script without wbplay does, one ``Session.run_ps`` per
  check with pywinrm directly (a new shell and, with NTLM, a new connection and
  handshake each time).

The lab counts HTTP requests, connections and NTLM handshakes; wall time is
measured with 20 ms of latency injected into every response.  The baseline's
one-liners are real PowerShell; the lab cannot run PowerShell, so this bench
adds a handler that recognises exactly these one-liners and answers them from
the simulator (bench-only; the product never sends them).

Run: ``python bench/bench_winrm.py [--repeat 5] [--latency-ms 20]``
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import winrm

from wbplay import app
from wbplay.agent.protocol import POWERSHELL_ARGS
from wbplay.lab.agent_handler import AgentHandler, encoded_command
from wbplay.lab.cmdexe import CommandOutput, HostIdentity
from wbplay.lab.server import LabConfig, LabServer
from wbplay.lab.users import DEFAULT_USER
from wbplay.playbook import load as playbook
from wbplay.playbook.model import Probe
from wbplay.sim.executor import execute
from wbplay.sim.model import HostModel
from wbplay.sim.state import load_host_model
from wbplay.vocab import probes
from wbplay.vocab.ops import Op

_SERVICE = re.compile(r"Win32_Service -Filter \"Name='([A-Za-z0-9_]+)'\"\)\.(StartMode|State|Name)")
_OS = "(Get-WmiObject Win32_OperatingSystem).Version"
_WMI_MODES = {"Automatic": "Auto", "AutomaticDelayed": "Auto", "Manual": "Manual", "Disabled": "Disabled"}


def naive_script(probe: Probe) -> str:
    """The one-liner a hand-written script would send for one check (PowerShell 2.0)."""
    if probe.kind == "os.info":
        return _OS
    prop = {"service.start_mode": "StartMode", "service.state": "State", "service.exists": "Name"}[probe.kind]
    return f"(Get-WmiObject Win32_Service -Filter \"Name='{probe.args['name']}'\").{prop}"


class BenchHandler:
    """The agent for wbplay's bootstrap; the baseline's one-liners answered from the simulator."""

    def __init__(self, model: HostModel) -> None:
        self.model = model
        self.agent = AgentHandler(model)

    def __call__(self, argv: list[str], stdin: bytes) -> CommandOutput:
        if list(argv) == list(POWERSHELL_ARGS):
            return self.agent(argv, stdin)
        script = encoded_command(argv) or ""
        if script == _OS:
            return CommandOutput(stdout=self.model.os["version"] + "\r\n")
        m = _SERVICE.search(script)
        if not m:
            return CommandOutput(stderr="bench: unknown one-liner\r\n", exit_code=1)
        svc = execute(self.model, Op("service.get", {"name": m.group(1)})).value
        if svc is None:
            return CommandOutput(stdout="")
        value = {"StartMode": _WMI_MODES[svc["start_mode"]], "State": svc["state"], "Name": svc["name"]}
        return CommandOutput(stdout=value[m.group(2)] + "\r\n")


@dataclass
class Sample:
    seconds: float
    requests: int
    connections: int
    handshakes: int
    shells: int


def measure(lab: LabServer, fn) -> Sample:  # type: ignore[no-untyped-def]
    lab.reset_counters()
    t0 = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - t0
    c = lab.counters
    return Sample(elapsed, c.requests, c.connections, c.auth_handshakes, c.shells_created)


def wbplay_dry_run(url: str) -> None:
    class Quiet:
        def event(self, name: str, fields: object) -> None:
            pass

    req = app.RunRequest("fix-0x80070422", url, dry_run=True, variables={})
    report, _ = app.run(req, listener=Quiet(), confirm=lambda r: False)
    assert report.exit_code == 1, report.outcome


def baseline(url: str, checks: list[Probe]) -> None:
    session = winrm.Session(url, auth=(DEFAULT_USER.name, DEFAULT_USER.password), transport="ntlm")
    for probe in checks:
        result = session.run_ps(naive_script(probe))
        assert result.status_code == 0, result.std_err


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args()

    pb = playbook.load(playbook.resolve("fix-0x80070422"))
    # The service checks a hand-written script would make (its one-liners cover services only;
    # the Group Policy read that issue 12 added has no naive equivalent).
    naive_kinds = {"service.start_mode", "service.state", "service.exists"}
    checks = [Probe("os.info", {})] + [s.check for s in pb.steps if s.check.kind in naive_kinds]
    distinct = list({probes.to_op(p).key(): p for p in checks}.values())

    os.environ.setdefault("WBPLAY_HOME", tempfile.mkdtemp(prefix="wbplay-bench-"))
    os.environ["WBPLAY_USER"], os.environ["WBPLAY_PASSWORD"] = DEFAULT_USER.name, DEFAULT_USER.password
    model = load_host_model("pc42")
    lab = LabServer(
        LabConfig(host=HostIdentity(model.hostname, str(model.os["version"])), powershell=BenchHandler(model))
    ).start()
    try:
        lab.latency_s = args.latency_ms / 1000
        url = f"http://127.0.0.1:{lab.port}"
        ours = [measure(lab, lambda: wbplay_dry_run(url)) for _ in range(args.repeat)]
        theirs = [measure(lab, lambda: baseline(url, distinct)) for _ in range(args.repeat)]
    finally:
        lab.stop()

    def med(samples: list[Sample], field: str) -> float:
        return statistics.median(getattr(s, field) for s in samples)

    print(
        f"fix-0x80070422 dry-run on pc42 via the lab, {args.latency_ms:g} ms latency, median of {args.repeat}"
    )
    print(f"checks: {len(checks)} ({len(distinct)} distinct reads)")
    print(f"{'':<22}{'wbplay':>10}{'baseline':>10}{'ratio':>8}")
    for field, label in (
        ("seconds", "wall time (s)"),
        ("requests", "HTTP requests"),
        ("connections", "TCP connections"),
        ("handshakes", "NTLM handshakes"),
        ("shells", "shells opened"),
    ):
        a, b = med(ours, field), med(theirs, field)
        ratio = b / a if a else float("inf")
        print(f"{label:<22}{a:>10.3f}{b:>10.3f}{ratio:>7.1f}x")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "engine"))
    raise SystemExit(main())
