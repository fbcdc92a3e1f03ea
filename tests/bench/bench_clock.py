"""Time sources (issue 16): heap each one adds, and what a clock read allocates.

- clock_heap_<part>_{mpy,frozen}_32bit: gc.mem_alloc() after gc.collect(), before and after
  importing and constructing one part, in the 32-bit MicroPython unix port: with the app as
  .mpy files (deployed as files) and frozen into micropython32-app (the unit's image). The
  parts, each in its own VM (its imports included, sunprint.clock's too): the ClockKeeper with
  the unit's RTC, a DS3231 driver, a PCF8563 driver, the DL/T 645 meter's clock (the meter
  driver imported first: a board with the meter has it), SNTP (the socket module imported
  first). sunprint.compat and sunprint.quality, which every unit has loaded already, are imported
  first. Peer: the INA226 driver, measured the same way.
- clock_tick_alloc_32bit: B per ClockKeeper.tick() that reads the DS3231 model on the fake
  I2C bus at every tick (sync_s=0, the worst case; a unit syncs hourly), the RTC within noise.
- ds3231_read_alloc_32bit, pcf8563_read_alloc_32bit: B per driver read(), through the models.

    .venv/bin/python tests/bench/bench_clock.py
"""

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for _p in (str(ROOT), str(ROOT / "tests")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import mp32  # noqa: E402

# one VM per part, so that each is measured on its own (imports included)
_PART = """
import gc
import sunprint.compat
import sunprint.quality


def used():
    gc.collect()
    return gc.mem_alloc()


class MachineRtc:
    def datetime(self, t=None):
        pass


keep = []
%s
a = used()
%s
b = used()
print(b - a)
"""

_PARTS = (
    (
        "keeper",
        "",
        "from sunprint.clock.keeper import ClockKeeper, SystemRtc\n"
        "keep.append(ClockKeeper(SystemRtc(MachineRtc()), ()))",
    ),
    ("ds3231", "", "from sunprint.drivers.ds3231 import DS3231\nkeep.append(DS3231(None))"),
    ("pcf8563", "", "from sunprint.drivers.pcf8563 import PCF8563\nkeep.append(PCF8563(None))"),
    (
        "meter",  # on a DL/T 645 board: the driver is there already
        "import sunprint.drivers.dlt645",
        "from sunprint.clock.meter import MeterClock\nkeep.append(MeterClock(None))",
    ),
    (
        "ntp",  # the socket module is the network's, there already
        "import socket",
        "from sunprint.clock.ntp import Ntp\nkeep.append(Ntp(socket, 'pool.ntp.org'))",
    ),
    (
        "ina226_peer",
        "",
        "from sunprint.drivers.ina2xx import INA226\n"
        "keep.append(INA226(None, shunt_ohm=0.002, max_current_a=20))",
    ),
)

_ALLOC = (
    mp32.ALLOC_OF
    + """
from host_tools.sim.i2c import FakeI2C
from host_tools.sim.rtcchips import DS3231Model, PCF8563Model
from sunprint.clock import wall_from
from sunprint.clock.keeper import ClockKeeper
from sunprint.drivers.ds3231 import DS3231
from sunprint.drivers.pcf8563 import PCF8563

T0 = wall_from(2024, 10, 14, 12, 0, 0)


class Ms:
    ms = 0

    def __call__(self):
        return self.ms


class Rtc:
    def __init__(self, ms):
        self.ms = ms

    def wall(self):
        return T0 + self.ms.ms // 1000

    def set(self, wall):
        raise AssertionError("within noise: never set")


ms = Ms()
bus = FakeI2C()
bus.attach(0x68, DS3231Model(ms))
bus.attach(0x51, PCF8563Model(ms))
ds = DS3231(bus)
pcf = PCF8563(bus)
ds.set(T0)
pcf.set(T0)
k = ClockKeeper(Rtc(ms), [("ds3231", ds)], sync_s=0)


def ticks(n):
    i = 0
    while i < n:
        ms.ms += 1000
        k.tick(ms.ms // 1000)
        i += 1


def reads(d, n):
    i = 0
    while i < n:
        ms.ms += 1000
        d.read()
        i += 1


tick_b = alloc_of(ticks, 1000)
ds_b = alloc_of(lambda n: reads(ds, n), 1000)
pcf_b = alloc_of(lambda n: reads(pcf, n), 1000)
assert k.syncs > 1000 and ds.read()[0] == T0 + ms.ms // 1000, k.syncs
print(tick_b, ds_b, pcf_b)
"""
)


from timing import line as _line  # noqa: E402 - tests/bench/timing.py


def bench_clock():
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "lib"
        mp32.compile_files(
            mp32.firmware_and("host_tools/sim/i2c.py", "host_tools/sim/rtcchips.py"), tree
        )
        empty = Path(tmp) / "empty"
        empty.mkdir()
        for form, binary, path in (
            ("mpy", mp32.MICROPYTHON32, tree),
            ("frozen", mp32.MICROPYTHON32_APP, empty),
        ):
            got = {}
            for name, pre, code in _PARTS:
                script = _PART % (pre, code)
                got[name] = int(mp32.run(script, path, tmp, binary=binary).split()[-1])
            peer = ("ina226_driver_heap_%s_32bit" % form, got["ina226_peer"], "B")
            for name in ("keeper", "ds3231", "pcf8563", "meter", "ntp"):
                _line("clock_heap_%s_%s_32bit" % (name, form), got[name], "B", None, peer)
        tick_b, ds_b, pcf_b = mp32.run(_ALLOC, tree, tmp).split()
    _line("clock_tick_alloc_32bit", "%g" % float(tick_b), "B/tick", "== 0")
    _line("ds3231_read_alloc_32bit", "%g" % float(ds_b), "B/read", "== 0")
    _line("pcf8563_read_alloc_32bit", "%g" % float(pcf_b), "B/read", "== 0")


if __name__ == "__main__":
    bench_clock()
