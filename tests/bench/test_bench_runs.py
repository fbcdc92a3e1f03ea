"""`make bench` keeps working: every benchmark runs to the end and prints lines in the format
of shared/DESIGN.md. Only the format is checked here, never a figure: tests assert behaviour,
not time."""

import os
import re
import subprocess
import sys

from host_tools.paths import ROOT

LINE = re.compile(
    r"^bench [a-z0-9_]+: [-0-9.]+ ?\S*( \(goal (<=|>=|==|<|>) [0-9.]+\))?( peer [a-z0-9_]+: .+)?$"
)


def test_every_benchmark_runs_and_prints_its_line():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "bench" / "run.py")],
        capture_output=True,
        text=True,
        timeout=1500,
        env=dict(os.environ, BENCH_QUICK="1"),  # shorter runs where a benchmark offers them
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("bench ")]
    assert len(lines) >= 30, proc.stdout
    bad = [ln for ln in lines if not LINE.match(ln)]
    assert bad == [], bad
