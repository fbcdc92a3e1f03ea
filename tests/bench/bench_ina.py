"""INA226 driver benchmarks: allocation per poll and polls per second.

- ina226_poll_alloc_32bit: gc.mem_alloc() around 1000 polls (gc disabled) inside the 32-bit
  MicroPython unix port (tests/mp32.py), through FakeI2C and the INA226 model (which allocate
  nothing on a read either); the firmware is compiled to .mpy first, as deployed.
- ina226_polls_per_s_32bit, peer the same loop under CPython: polls through the fake bus
  and the register model, both Python, six transfers a poll. On the ESP32 the bus is C code
  and the 400 kHz wire dominates instead (6 x ~70 us).
- ina226_polls_per_s_32bit_null_bus: the driver's own cost, over a bus object that just
  copies fixed register values (MicroPython only).

    .venv/bin/python tests/bench/bench_ina.py
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

ALLOC_POLLS = 1000
SPEED_POLLS = 20000

_SCRIPT = (
    mp32.ALLOC_OF
    + """
import time
from host_tools.sim.chips.i2c import FakeI2C, INA226Model
from sunprint.drivers.ina2xx import INA226


class NullBus:
    def __init__(self, regs):
        self.regs = regs

    def readfrom_mem_into(self, addr, reg, buf):
        v = self.regs[reg]
        buf[0] = v >> 8
        buf[1] = v & 0xFF

    def writeto_mem(self, addr, reg, buf):
        pass


def run(d, n):
    # Locals only: a new global name would grow the globals dict and count as allocation.
    i = 0
    while i < n:
        d.poll()
        i += 1


def timed(d, n):
    t0 = time.ticks_us()
    run(d, n)
    return time.ticks_diff(time.ticks_us(), t0)


bus = FakeI2C()
m = bus.attach(0x40, INA226Model(shunt_ohm=0.002, always_ready=True))
d = INA226(bus, shunt_ohm=0.002, max_current_a=20)
d.poll()
m.set(12.5, 24.0)
run(d, 10)
assert d.quality == 0, d.quality
used = alloc_of(lambda n: run(d, n), %(alloc)d)
fake_us = min(timed(d, %(speed)d) for _ in range(3))
regs = dict(m.regs)
regs[0x06] = 0x0008  # CVRF: always a new conversion
regs[0xFE] = 0x5449
regs[0xFF] = 0x2260
null = INA226(NullBus(regs), shunt_ohm=0.002, max_current_a=20)
null.poll()
run(null, 10)
assert null.quality == 0 and null.power_mw == d.power_mw
null_us = min(timed(null, %(speed)d) for _ in range(3))
print(used, fake_us, null_us)
"""
)


from timing import line as _line  # noqa: E402 - tests/bench/timing.py


def _cpython_polls_per_s():
    use_firmware()
    from host_tools.sim.chips.i2c import FakeI2C, INA226Model
    from sunprint.drivers.ina2xx import INA226

    bus = FakeI2C()
    m = bus.attach(0x40, INA226Model(shunt_ohm=0.002, always_ready=True))
    d = INA226(bus, shunt_ohm=0.002, max_current_a=20)
    d.poll()
    m.set(12.5, 24.0)
    assert d.poll() == 0

    def run(n):
        i = 0
        while i < n:
            d.poll()
            i += 1

    best = None
    for _ in range(3):
        t0 = time.perf_counter()
        run(SPEED_POLLS)
        dt = time.perf_counter() - t0
        best = dt if best is None or dt < best else best
    return SPEED_POLLS / best


def bench_ina():
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "lib"
        mp32.compile_files(mp32.firmware_and("host_tools/sim/chips/i2c.py"), tree)
        out = mp32.run(_SCRIPT % {"alloc": ALLOC_POLLS, "speed": SPEED_POLLS}, tree, tmp)
    used, fake_us, null_us = (float(x) for x in out.split())
    cpython = _cpython_polls_per_s()
    _line("ina226_poll_alloc_32bit", "%g" % used, "B/poll", "== 0")
    _line(
        "ina226_polls_per_s_32bit",
        "%.0f" % (SPEED_POLLS / (fake_us / 1e6)),
        "polls/s",
        None,
        ("ina226_polls_per_s_cpython", "%.0f" % cpython, "polls/s"),
    )
    _line(
        "ina226_polls_per_s_32bit_null_bus",
        "%.0f" % (SPEED_POLLS / (null_us / 1e6)),
        "polls/s",
    )


if __name__ == "__main__":
    bench_ina()
