"""Modbus RTU benchmarks: CRC speed, allocation and CPU cost of an SDM120 poll.

- crc16_bytes_per_s: the firmware's table CRC (sunprint.drivers.modbus.crc16) over a 256-byte
  frame, in the 32-bit MicroPython VM (tests/mp32.py) and in CPython (peer, same code, this run);
- sdm120_poll_alloc: bytes allocated per Meter.poll() of an SDM120 power + energy map (two
  requests) after warm-up, counted with gc.mem_alloc() in the 32-bit VM with the ESP32-sized
  heap; the fake UART and the meter model allocate nothing either, so this is the driver's;
- sdm120_polls_per_s: polls per second of CPU on the virtual clock (no real waiting): the
  driver plus the fake UART and the meter model (bitwise CRC) it talks to.

    .venv/bin/python tests/bench/bench_modbus.py
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

SIM_FILES = (
    "host_tools/sim/chips/uart.py",
    "host_tools/sim/chips/modbus_meter.py",
    "host_tools/sim/chips/modbus_maps.py",
)

CRC_ROUNDS = 400
POLLS = 300

_SCRIPT = (
    mp32.ALLOC_OF
    + """
import time
from sunprint.drivers.modbus import SDM120, Meter, ModbusRTU, crc16
from host_tools.sim.chips.modbus_meter import ModbusMeterModel
from host_tools.sim.chips.uart import FakePin, FakeUART, VirtualClock


def crc_rounds(buf, n):
    for _ in range(n):
        crc16(buf, 0, 256)


def polls(meter, n):
    while n:
        meter.poll()
        n -= 1


buf = bytearray(256)
for i in range(256):
    buf[i] = i
crc_rounds(buf, 10)
t0 = time.ticks_us()
crc_rounds(buf, %(crc)d)
crc_us = time.ticks_diff(time.ticks_us(), t0)

regmap = {"power": SDM120["power"], "energy": SDM120["energy"], "_readable": SDM120["_readable"]}
clock = VirtualClock(1000)
de = FakePin(clock)
model = ModbusMeterModel(1, "sdm120", power_w=1234.5, energy_kwh=42.0)
uart = FakeUART(clock, model, de=de)
mb = ModbusRTU(uart, de=de, ticks_ms=clock.ticks_ms, sleep_ms=clock.sleep_ms)
meter = Meter(mb, 1, regmap)
used = alloc_of(lambda n: polls(meter, n), %(polls)d, warm=3)
assert meter.flag == 0 and meter.power_mw == 1234500, meter.flag
t0 = time.ticks_us()
polls(meter, %(polls)d)
poll_us = time.ticks_diff(time.ticks_us(), t0)
print(crc_us, used, poll_us)
"""
)


from timing import line as _line  # noqa: E402 - tests/bench/timing.py


def _cpython_crc_bytes_per_s():
    use_firmware()
    from sunprint.drivers.modbus import crc16

    buf = bytearray(range(256))
    best = None
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(CRC_ROUNDS):
            crc16(buf, 0, 256)
        dt = time.perf_counter() - t0
        best = dt if best is None or dt < best else best
    return CRC_ROUNDS * 256 / best


def bench_modbus():
    with tempfile.TemporaryDirectory() as tmp:
        # .mpy as deployed: compiling source inside a 110 KB heap is not what a unit does
        tree = Path(tmp) / "lib"
        mp32.compile_files(mp32.firmware_and(*SIM_FILES), tree)
        out = mp32.run(_SCRIPT % {"crc": CRC_ROUNDS, "polls": POLLS}, tree, tmp)
    crc_us, used, poll_us = (float(x) for x in out.split())
    _line(
        "crc16_bytes_per_s_32bit",
        "%.0f" % (CRC_ROUNDS * 256 / (crc_us / 1e6)),
        "B/s",
        None,
        ("crc16_bytes_per_s_cpython", "%.0f" % _cpython_crc_bytes_per_s(), "B/s"),
    )
    _line("sdm120_poll_alloc_32bit", "%g" % used, "B/poll", "== 0")
    _line("sdm120_polls_per_s_32bit", "%.0f" % (POLLS / (poll_us / 1e6)), "polls/s")


if __name__ == "__main__":
    bench_modbus()
