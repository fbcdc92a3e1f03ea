"""Health benchmark: what one Health.check() allocates inside the 32-bit MicroPython VM
(tests/mp32.py), int readings.

Every rule is exercised (OK, spike, a confirmed step, out of range, comm failure and recovery,
stuck, NaN-free ints), 10,000 checks with gc disabled, gc.mem_alloc() before and after.

    .venv/bin/python tests/bench/bench_health.py
"""

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for _p in (str(ROOT), str(ROOT / "tests")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import mp32  # noqa: E402

CHECKS_PER_ROUND = 10

_HEALTH_ALLOC = (
    mp32.ALLOC_OF
    + """
from sunprint.core.health import Health
from sunprint.quality import BAD_FRAME, NO_ANSWER, OK


def measure(h, n):
    # Locals only: a new global name would grow the globals dict and count as allocation.
    k = 0
    for i in range(n):
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
print(alloc_of(lambda n: measure(h, n), 1000))  # bytes per round of CHECKS_PER_ROUND checks
"""
)


def bench_health():
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "lib"
        mp32.compile_files(mp32.firmware_and(), tree)
        per_round = float(mp32.run(_HEALTH_ALLOC, tree, tmp))
    print(
        "bench health_check_alloc_32bit: %g B/check (goal == 0)" % (per_round / CHECKS_PER_ROUND),
        flush=True,
    )
    return per_round / CHECKS_PER_ROUND


if __name__ == "__main__":
    bench_health()
