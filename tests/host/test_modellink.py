"""The model link (host_tools/sim/board/modellink.py in the unit's VM, modelhost.py here): a unit's bus
transactions reach the models in this process and cost the unit's heap nothing, a bus error
comes back as the bus raises it, and a model that moves the clock (a UART flush waits for the
last stop bit) moves the unit's clock. Runs the 32-bit VM with the app frozen, at 110000."""

import sys
import tempfile
from pathlib import Path

import conftest
import mp32
import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    not mp32.MICROPYTHON32_APP.exists(), reason="no micropython32-app: `make setup` builds it"
)

PRELUDE = """
from host_tools.sim.platform import machine as fake
from host_tools.sim.board import modellink
from host_tools.sim.platform.clock import Clock
clock = Clock(782236800)
"""


def run_vm(script):
    """(stdout, the host) of the script in micropython32-app at 110000 with a model host."""
    env = conftest.micropython_env(app_frozen=True)
    with tempfile.TemporaryDirectory() as cwd:
        path = Path(cwd) / "script.py"
        path.write_text(mp32.ALLOC_OF + PRELUDE + script)
        argv = [str(mp32.MICROPYTHON32_APP), "-X", "heapsize=110000", str(path)]
        out, err, rc, host = conftest.run_with_models(argv, cwd, env, 120)
    assert rc == 0, out + err
    return out, host


def test_bus_transactions_allocate_nothing_in_the_units_heap():
    out, host = run_vm(
        """
rig = modellink.wire(%r, clock, fake)
cs = fake.Pin(26, fake.Pin.OUT)
busy = fake.Pin(32, fake.Pin.IN)
spi = fake.SPI(2)
i2c = fake.I2C(0)
data = bytearray(200)
reg = bytearray(2)
cal = bytearray(b"\\x0a\\x00")

def loop(n):
    for _ in range(n):
        cs.value(0)
        spi.write(data)
        cs.value(1)
        busy.value()
        i2c.readfrom_mem_into(64, 0xFE, reg)  # the INA226's manufacturer ID
        i2c.writeto_mem(64, 0x05, cal)  # the calibration register

print("per loop", alloc_of(loop, 200))
print("id", reg[0], reg[1])
"""
        % (str(ROOT / "boards" / "esp32-epd29-ina226.json"),)
    )
    assert "per loop 0.0" in out, out
    assert "id 84 73" in out, out  # 0x5449, "TI", from the model on the host
    assert host.requests > 200 * 6, host.requests


def test_an_i2c_nack_is_an_oserror_in_the_unit_and_the_link_goes_on():
    out, _ = run_vm(
        """
rig = modellink.wire(%r, clock, fake)
i2c = fake.I2C(0)
reg = bytearray(2)
rig.break_bus()
try:
    i2c.readfrom_mem_into(64, 0xFE, reg)
except OSError as e:
    print("nack", e.errno)
rig.break_bus(False)
i2c.readfrom_mem_into(64, 0xFE, reg)
print("after", reg[0])
"""
        % (str(ROOT / "boards" / "esp32-epd29-ina226.json"),)
    )
    assert "nack " in out and "after 84" in out, out


def test_a_uart_flush_on_the_host_moves_the_units_clock():
    out, _ = run_vm(
        """
rig = modellink.wire(%r, clock, fake)
uart = fake.UART(2)
de = fake.Pin(4, fake.Pin.OUT)
before = clock.us
de.value(1)
uart.write(b"\\xfe\\xfe\\x68\\x78\\x56\\x34\\x12\\x00\\x00\\x68\\x11\\x04\\x33\\x33\\x34\\x33\\xb2\\x16")
uart.flush()
de.value(0)
print("flush took", clock.us - before)
"""
        % (str(ROOT / "boards" / "esp32-epd42-dlt645.json"),)
    )
    # 18 bytes of 11 bits at 2400 baud: 82.5 ms on the line
    took = int(out.split("flush took ")[1].split()[0])
    assert 82000 <= took <= 83000, out


def test_a_missing_attribute_of_a_model_is_an_attributeerror():
    out, _ = run_vm(
        """
rig = modellink.wire(%r, clock, fake)
print(hasattr(rig.models["display"], "no_such_thing"), rig.models["display"].refreshes)
"""
        % (str(ROOT / "boards" / "esp32-epd29-ina226.json"),)
    )
    assert "False []" in out, out


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
