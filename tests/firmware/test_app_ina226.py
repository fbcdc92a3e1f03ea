# The app over the INA226 driver and its emulated chip, with bus faults and a glitch: the loop
# never stops and flagged readings are not integrated. CPython and MicroPython.
from app_rig import START, make_app

from host_tools.sim.chips.i2c import FakeI2C, INA226Model
from sunprint.core.health import Health
from sunprint.core.ledger import LIFETIME
from sunprint.drivers.ina2xx import INA226
from sunprint.quality import OK
from sunprint.sources import PowerSource


def test_ina226_with_nacks_counts_only_good_readings():
    bus = FakeI2C(seed=3)
    chip = bus.attach(0x40, INA226Model(shunt_ohm=0.002, always_ready=True))
    drv = INA226(bus, shunt_ohm=0.002, max_current_a=20)
    source = PowerSource(drv, health=Health(min_value=0, max_value=480000))
    app = make_app(source)
    t = START
    good = 0
    while t < START + 3600:
        bus.nack_rate = 0.2 if t < START + 1800 else 0.0
        chip.set(10.0, 24.0)  # a 240 W panel; the chip converts between polls
        app.tick(t)
        if source.flag == OK and t >= START + 1800:
            good += 1
        t += 10
    led = app.ledger
    # Every integrated interval ends at a good reading that follows a good one; the rest is
    # missing time. 240 W over the integrated time, within the chip's quantisation.
    integrated_s = 3590 - led.missing_s
    expected = 240000 * integrated_s // 3600
    assert abs(led.mwh(LIFETIME) - expected) <= expected // 500, (led.mwh(LIFETIME), expected)
    assert led.missing_s > 0 and app.faults["sensor"] > 0
    assert good == 180  # recovered: once the bus is clean, every reading is good


def test_ina226_spike_from_a_glitch_is_not_integrated():
    bus = FakeI2C()
    chip = bus.attach(0x40, INA226Model(shunt_ohm=0.002, always_ready=True))
    drv = INA226(bus, shunt_ohm=0.002, max_current_a=20)
    source = PowerSource(drv, health=Health(min_value=0, max_value=480000, max_step=200000))
    app = make_app(source)
    t = START
    for i in range(60):
        chip.set(19.0 if i == 30 else 5.0, 24.0)  # 120 W, one glitch to 456 W
        app.tick(t)
        t += 10
    assert source.flags[6] == 1  # quality.SPIKE
    # 590 s at 120 W less the 20 s on either side of the spike; the first poll configures
    # the chip (NOT_READY), so the integration starts 10 s later.
    assert abs(app.ledger.mwh(LIFETIME) - 120000 * 560 // 3600) <= 200
