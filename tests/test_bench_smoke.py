"""The benchmark keeps working (it is run by hand for numbers; here only that it runs, no timing asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_winrm.py"


def test_bench_runs_and_reports_ratios(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(BENCH), "--repeat", "1", "--latency-ms", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "WBPLAY_HOME": str(tmp_path)},
    )
    assert out.returncode == 0, out.stderr
    lines = {line.split("  ")[0]: line for line in out.stdout.splitlines()}
    assert "HTTP requests" in lines and lines["HTTP requests"].rstrip().endswith("x")
    # Structural facts, not timings: wbplay opens one shell, the baseline one per check.
    assert lines["shells opened"].split()[2:4] == ["1.000", "8.000"]
