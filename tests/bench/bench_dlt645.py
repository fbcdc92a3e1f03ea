"""DL/T 645 benchmarks: what a Meter.poll() allocates and costs in CPU, with no line time.

A poll is two reads (total active power, forward active energy) through the firmware driver
(firmware/sunprint/drivers/dlt645.py) against host_tools.sim.chips.dlt645_meter.CannedSerial, which
replays the meter model's replies as soon as a request is written and allocates nothing, on a
virtual clock: the figures are the driver's CPU work (build, checksum, parse, BCD decode), not
the 2400-baud line (about 0.5 s a poll on a real meter).
- dlt645_poll_alloc_32bit: bytes allocated per poll in the 32-bit MicroPython unix port
  (tests/mp32.py) with the ESP32-sized heap, gc.mem_alloc() around 1000 polls with the
  collector off (goal: 0);
- dlt645_polls_per_s_32bit, peer dlt645_polls_per_s_cpython: polls per second of CPU, both
  measured in this run.

    .venv/bin/python tests/bench/bench_dlt645.py
"""

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for _p in (str(ROOT), str(ROOT / "tests")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import mp32  # noqa: E402

from host_tools.paths import use_firmware  # noqa: E402

ADDRESS = "112233445566"
ALLOC_POLLS = 1000
SPEED_POLLS = 5000


from timing import line as _line  # noqa: E402 - tests/bench/timing.py

# Runs in both interpreters: the same rig and loop.
_RIG = """
from host_tools.sim.chips.dlt645_meter import CannedSerial, DLT645MeterModel, VirtualClock
from host_tools.sim.chips.dlt645_meter import build_frame, wire_address
from sunprint.drivers.dlt645 import DLT645, ENERGY_FORWARD, POWER_TOTAL, Meter


def rig(address):
    model = DLT645MeterModel(address, energy_kwh=98765.43, power_w=4321.0)
    wire = wire_address(address)
    replies = {}
    for di in (POWER_TOTAL, ENERGY_FORWARD):
        request = bytes((di & 0xFF, (di >> 8) & 0xFF, (di >> 16) & 0xFF, (di >> 24) & 0xFF))
        replies[di] = model.feed(build_frame(wire, 0x11, request, 4))
    clock = VirtualClock()
    uart = CannedSerial(replies)
    dlt = DLT645(uart, address=address, ticks_ms=clock.ticks_ms, sleep_ms=clock.sleep_ms)
    return Meter(dlt)


def run(meter, n):
    # Locals only: a new global name would grow the globals dict and count as allocation.
    bad = 0
    while n > 0:
        n -= 1
        if meter.poll() != 0:
            bad += 1
    return bad
"""

_VM = (
    _RIG
    + mp32.ALLOC_OF
    + """
import time

meter = rig(%(address)r)
bad = [0]


def polls(n):
    bad[0] += run(meter, n)


used = alloc_of(polls, %(alloc)d, warm=5)
bad = bad[0]
t0 = time.ticks_us()
bad += run(meter, %(speed)d)
us = time.ticks_diff(time.ticks_us(), t0)
print(used, us, bad)
"""
)


def _micropython():
    with tempfile.TemporaryDirectory() as tmp:
        # Bytecode, as a unit runs it: compiling source inside a 110 KB heap measures the
        # compiler.
        tree = Path(tmp) / "lib"
        mp32.compile_files(mp32.firmware_and("host_tools/sim/chips/dlt645_meter.py"), tree)
        out = mp32.run(
            _VM % {"address": ADDRESS, "alloc": ALLOC_POLLS, "speed": SPEED_POLLS}, tree, tmp
        )
    used, us, bad = (float(x) for x in out.split())
    if bad:
        raise RuntimeError("%d polls failed in MicroPython" % bad)
    return used, us


def _cpython():
    use_firmware()
    namespace = {}
    exec(_RIG, namespace)  # noqa: S102 - the same rig text the VM runs
    meter = namespace["rig"](ADDRESS)
    run = namespace["run"]
    run(meter, 5)
    best = None
    for _ in range(3):
        t0 = time.perf_counter()
        bad = run(meter, SPEED_POLLS)
        dt = time.perf_counter() - t0
        if bad:
            raise RuntimeError("%d polls failed in CPython" % bad)
        best = dt if best is None or dt < best else best
    return best


def bench_dlt645():
    used, us = _micropython()
    secs = _cpython()
    _line("dlt645_poll_alloc_32bit", "%g" % used, "B/poll", "== 0")
    _line(
        "dlt645_polls_per_s_32bit",
        "%.0f" % (SPEED_POLLS / (us / 1e6)),
        "polls/s",
        None,
        ("dlt645_polls_per_s_cpython", "%.0f" % (SPEED_POLLS / secs), "polls/s"),
    )


if __name__ == "__main__":
    bench_dlt645()
