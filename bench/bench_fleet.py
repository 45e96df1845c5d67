"""The same dry-run of fix-0x80070422 over 1, 10, 100 and 1,000 lab PCs, --forks 1 vs --forks 100.

    python bench/bench_fleet.py [--sizes 1,10,100,1000] [--latency 0.02] [--forks 100]

The lab PCs (20 ms injected latency on every answer) run in one separate
process, the controller in another, fresh for each measurement, so the peak
memory (ru_maxrss) is the controller's own and the lab's CPU is not counted in
it.  Prints, per size: wall time serial and parallel, lab requests per run,
controller peak memory, and parallel efficiency = serial / (min(forks, N) x
parallel).  Both processes share this machine's cores: read the ratios, not
the absolute seconds.  Run by hand for numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def serve(count: int, latency: float, directory: Path) -> None:
    """The lab process: start the PCs, print the inventory, answer 'requests' lines until EOF."""
    from wbplay.lab.fleet import start_fleet

    with start_fleet(directory, count, kinds=("broken",), latency_s=latency, timeout_scale=1.0) as fleet:
        inv = fleet.write_inventory(directory / "inventory.yml")
        print(json.dumps({"inventory": str(inv)}), flush=True)
        for line in sys.stdin:
            if line.strip() == "requests":
                print(json.dumps({"requests": fleet.requests()}), flush=True)


def control(inventory: str, forks: int) -> None:
    """The controller process: one fleet dry-run, then its wall time and peak memory."""
    from wbplay import app
    from wbplay.app.fleet import _NULL
    from wbplay.hosts.factory import ConnectOptions

    req = app.RunRequest(
        playbook="fix-0x80070422",
        host="lab",
        dry_run=True,
        variables={},
        connect=ConnectOptions(inventory=Path(inventory)),
    )
    hosts = app.hosts_of(req)
    t0 = time.perf_counter()
    outcomes, _ = app.run_many(
        req, hosts, listener_for=lambda h: _NULL, confirm=lambda r: False, forks=forks
    )
    wall = time.perf_counter() - t0
    pending = sum(1 for o in outcomes if o.exit_code == 1)
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"wall": wall, "pcs": len(hosts), "pending": pending, "rss_mib": rss_kib / 1024}))


def _controller(inventory: str, forks: int, env: dict[str, str]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--control", inventory, "--forks", str(forks)],
        capture_output=True,
        text=True,
        env=env,
    )
    if out.returncode:
        sys.exit(f"the controller failed (exit {out.returncode}):\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _requests(lab: subprocess.Popen[str]) -> int:
    """Every request the lab PCs have answered so far."""
    assert lab.stdin is not None and lab.stdout is not None
    lab.stdin.write("requests\n")
    lab.stdin.flush()
    return int(json.loads(lab.stdout.readline())["requests"])


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", default="1,10,100,1000")
    p.add_argument("--latency", type=float, default=0.02)
    p.add_argument("--forks", type=int, default=100)
    p.add_argument("--serve", type=int)
    p.add_argument("--dir")
    p.add_argument("--control")
    args = p.parse_args()
    if args.serve is not None:
        serve(args.serve, args.latency, Path(args.dir))
        return
    if args.control is not None:
        control(args.control, args.forks)
        return
    env = dict(
        os.environ,
        WBPLAY_USER="wbadmin",
        WBPLAY_PASSWORD="wbplay-lab-only",
        WBPLAY_HOME=tempfile.mkdtemp(prefix="wbplay-bench-"),
    )
    print(f"latency {args.latency * 1000:g} ms, --forks {args.forks} vs 1, {os.cpu_count()} cores")
    print(
        f"{'PCs':>5} {'serial s':>9} {'parallel s':>10} {'speedup':>8} {'efficiency':>10} "
        f"{'req/PC':>7} {'RSS ser MiB':>11} {'RSS par MiB':>11}"
    )
    for n in [int(x) for x in args.sizes.split(",")]:
        lab = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--serve",
                str(n),
                "--latency",
                str(args.latency),
                "--dir",
                tempfile.mkdtemp(prefix="wbplay-bench-lab-"),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert lab.stdin is not None and lab.stdout is not None
        inventory = json.loads(lab.stdout.readline())["inventory"]

        try:
            r0 = _requests(lab)
            serial = _controller(inventory, 1, env)
            r1 = _requests(lab)
            parallel = _controller(inventory, args.forks, env)
            assert serial["pending"] == parallel["pending"] == n, (serial, parallel)
        finally:
            lab.stdin.close()
            lab.wait()
        speedup = serial["wall"] / parallel["wall"]
        efficiency = speedup / min(args.forks, n)
        print(
            f"{n:>5} {serial['wall']:>9.2f} {parallel['wall']:>10.2f} {speedup:>7.1f}x {efficiency:>9.0%} "
            f"{(r1 - r0) / n:>7.1f} {serial['rss_mib']:>11.0f} {parallel['rss_mib']:>11.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
