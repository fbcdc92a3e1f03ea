"""The app as a unit ships it: frozen into the 32-bit image (micropython32-app, manifests/app.py).

Freezing is not loading. mpy-tool keeps an int in a frozen constant tuple as a small int only
within +-8191; beyond, it is a big int in ROM, and every arithmetic operation on one allocates
a temporary on the heap (about 32 bytes on a 32-bit VM). A register map's addresses (0x2000)
and scales (1,000,000) are such ints: loaded from .mpy (tests/firmware) they are small ints and
the hot path allocates nothing; frozen, it did. These tests run the frozen modules themselves.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

from host_tools.paths import ROOT

sys.path.insert(0, str(ROOT / "tests"))

import mp32  # noqa: E402

_POLL = (
    mp32.ALLOC_OF
    + """
import sys
from sunprint.drivers import modbus
from host_tools.sim.chips.modbus_meter import ModbusMeterModel
from host_tools.sim.chips.uart import FakePin, FakeUART, VirtualClock

assert not modbus.__file__.startswith("/"), modbus.__file__  # the frozen module


def polls(meter, n):
    while n:
        meter.poll()
        n -= 1


for name in ("DDSU666", "SDM120", "SDM630", "dtsu666"):
    regmap = getattr(modbus, name)
    if name == "dtsu666":
        regmap = regmap()
    clock = VirtualClock(1000)
    de = FakePin(clock)
    # the model's own register table, from the datasheet (host_tools/sim/chips/modbus_maps.py)
    model = ModbusMeterModel(1, name.lower(), power_w=1234.5, energy_kwh=42.0)
    uart = FakeUART(clock, model, de=de)
    rtu = modbus.ModbusRTU(uart, de=de, ticks_ms=clock.ticks_ms, sleep_ms=clock.sleep_ms)
    meter = modbus.Meter(rtu, 1, regmap)
    used = alloc_of(lambda n: polls(meter, n), 20, warm=3)
    assert meter.flag == 0 and meter.power_mw == 1234500, (name, meter.flag, meter.power_mw)
    print(name, used)
"""
)


def _frozen_app():
    # The image holds this tree's firmware: tools/micropython.py rebuilds it when firmware/
    # changed (as make setup does) and does nothing otherwise.
    subprocess.run([sys.executable, str(ROOT / "tools" / "micropython.py")], check=True)
    return mp32.MICROPYTHON32_APP


def test_a_modbus_meter_poll_allocates_nothing_in_the_frozen_app():
    binary = _frozen_app()
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "lib"
        sim = (
            "host_tools/sim/chips/uart.py",
            "host_tools/sim/chips/modbus_meter.py",
            "host_tools/sim/chips/modbus_maps.py",
        )
        packages = ("host_tools", "host_tools/sim", "host_tools/sim/chips")
        sources = [(ROOT, ROOT / p / "__init__.py") for p in packages]
        sources += [(ROOT, ROOT / f) for f in sim]
        mp32.compile_files(sources, tree)
        out = mp32.run(_POLL, tree, tmp, binary=binary)
    per_poll = dict(line.split() for line in out.splitlines())
    assert per_poll == {"DDSU666": "0.0", "SDM120": "0.0", "SDM630": "0.0", "dtsu666": "0.0"}, (
        per_poll
    )


def test_the_image_carries_the_identity_of_the_app_it_froze():
    """manifests/app.py freezes sunprint_build (host_tools/appid.py) beside the app: what
    `sunprint deploy` compares, since a VERSION alone does not tell two builds apart."""
    from host_tools import appid

    binary = _frozen_app()
    proc = subprocess.run(
        [str(binary), "-c", "import sunprint_build; print(sunprint_build.APP_ID)"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.stdout.strip() == appid.frozen_app_id(ROOT / "firmware"), proc.stderr
