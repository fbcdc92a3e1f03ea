"""Run the whole-unit firmware tests in MicroPython N times in a row and count the failures:
a test that fails now and then (heap fragmentation, a model's timing) shows up here, where
one run would pass it.

    .venv/bin/python tools/repeat_unit_tests.py                 # 20 runs of the default set
    .venv/bin/python tools/repeat_unit_tests.py --times 5 tests/firmware/test_unit_boot.py

Each run is a fresh pytest process on the [micropython] items of the files (the VM at the
heap each file's header names, the models on the host where the file wires them through
host_tools/sim/board/modellink.py). Prints one line per run, then the bench line

    bench unit_tests_failures_in_<N>: <failed items> (goal <= 0) [runs: ..., items: ...]

and exits 1 when any item failed.
"""

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The files that boot a whole unit (main.main or board.build through the runner) in the VM.
WHOLE_UNIT = (
    "tests/firmware/test_unit_boot.py",
    "tests/firmware/test_unit_board_max7219_s0.py",
    "tests/firmware/test_unit_board_ws2812_ina219.py",
    "tests/firmware/test_unit_board_epd42_dlt645.py",
    "tests/firmware/test_unit_board_epd75_ddsu666.py",
    "tests/firmware/test_unit_config.py",
    "tests/firmware/test_unit_status.py",
    "tests/firmware/test_runner.py",
    "tests/firmware/test_profile_boot.py",
    "tests/firmware/test_profile_check.py",
    "tests/firmware/test_sim_machine.py",
    "tests/firmware/test_ticks_wrap.py",
    "tests/firmware/test_meter_glitch.py",
)
_COUNT = re.compile(r"(\d+) (passed|failed|error)")


def run_once(files):
    """(passed, failed, seconds, names of the failed items) of one pytest run."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "micropython"]
        + list(files),
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    dt = time.perf_counter() - t0
    tail = proc.stdout.strip().splitlines()[-1:] or [""]
    counts = {"passed": 0, "failed": 0, "error": 0}
    for n, what in _COUNT.findall(tail[0]):
        counts[what] = int(n)
    failed = [ln.split(" ", 1)[1] for ln in proc.stdout.splitlines() if ln.startswith("FAILED ")]
    if proc.returncode not in (0, 1):  # pytest itself failed: count it as a failure
        counts["error"] += 1
        failed.append("pytest exit %d: %s" % (proc.returncode, proc.stderr.strip()[-300:]))
    return counts["passed"], counts["failed"] + counts["error"], dt, failed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--times", type=int, default=20)
    parser.add_argument("files", nargs="*", default=list(WHOLE_UNIT))
    args = parser.parse_args(argv)
    if args.times < 1:
        parser.error("--times: at least 1")
    for f in args.files:
        if not (ROOT / f).is_file():
            print("repeat_unit_tests: %s: no such test file" % f, file=sys.stderr)
            return 2
    total_failed = 0
    items = 0
    for i in range(args.times):
        passed, failed, dt, names = run_once(args.files)
        total_failed += failed
        items += passed + failed
        print("run %d: %d passed, %d failed, %.0f s" % (i + 1, passed, failed, dt), flush=True)
        for name in names:
            print("  " + name, flush=True)
    print(
        "bench unit_tests_failures_in_%d: %d (goal <= 0) [runs: %d, items: %d]"
        % (args.times, total_failed, args.times, items)
    )
    return 1 if total_failed else 0


if __name__ == "__main__":
    sys.exit(main())
