"""Health benchmark: what one Health.check() allocates inside MicroPython, int readings.

Every rule is exercised (OK, spike, a confirmed step, out of range, comm failure and recovery,
stuck, NaN-free ints), 10,000 checks with gc disabled, gc.mem_alloc() before and after.

    .venv/bin/python tests/bench/bench_health.py
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from host_tools.paths import FIRMWARE  # noqa: E402

MICROPYTHON = Path(sys.executable).parent / "micropython"
CHECKS_PER_ROUND = 10

_HEALTH_ALLOC = """
import gc
from sunprint.core.health import Health
from sunprint.core.quality import BAD_FRAME, NO_ANSWER, OK


def measure(h, rounds):
    # Locals only: a new global name would grow the globals dict and count as allocation.
    k = 0
    for i in rounds:
        k += h.check(2000000 + (i & 255))  # ok
        k += h.check(9000000)  # spike
        k += h.check(9000000)  # spike, pending
        k += h.check(9000000)  # confirmed: the new level
        k += h.check(2000000)  # spike back down
        k += h.check(-5)  # out of range
        k += h.check(0, NO_ANSWER)
        k += h.check(0, BAD_FRAME)  # comm failed
        k += h.check(1234567, OK)  # recovers
        k += h.check(1234567)  # stuck
    return k


h = Health(0, 12000000, 3000000, 2, step_confirm=3, comm_fail_after=2)
measure(h, range(10))  # warm up
rounds = range(1000)
before = used = 0  # globals made now: a new one during the measurement would grow the dict
gc.collect()
gc.disable()
before = gc.mem_alloc()
measure(h, rounds)
used = gc.mem_alloc() - before
gc.enable()
print(used)
"""


def bench_health():
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "health_alloc.py"
        script.write_text(_HEALTH_ALLOC)
        env = dict(os.environ, MICROPYPATH=os.pathsep.join([str(FIRMWARE), ".frozen"]))
        proc = subprocess.run(
            [str(MICROPYTHON), "-X", "heapsize=110000", str(script)],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp,
            check=True,
        )
    used = int(proc.stdout.strip())
    checks = 1000 * CHECKS_PER_ROUND
    print(
        "bench health_check_alloc_micropython: %g B/check (goal == 0)" % (used / checks),
        flush=True,
    )
    return used / checks


if __name__ == "__main__":
    bench_health()
