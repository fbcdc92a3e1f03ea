# A board profile's "clock" section: checked by sunprint.parts (as `sunprint boards check` and
# the unit's boot do), built by board.build into the App's ClockKeeper with the RTC modules on
# the I2C sensor's bus, in the order config.json's clock_sources may change. CPython and
# MicroPython.
# micropython-heap: 300000 (whole 2.9" and 4.2" units built in turn beside the INA226, RTC chip
# and meter models)
import gc
import json

from repo import ROOT  # noqa: E402

from host_tools.sim.chips.i2c import FakeI2C, INA226Model
from host_tools.sim.chips.rtcchips import DS3231Model, PCF8563Model
from sunprint import parts
from sunprint.board import build
from sunprint.clock import wall_from
from sunprint.core import config

FONTS = ROOT + "/assets/fonts"
T0 = wall_from(2024, 10, 14, 12, 0, 0)


def _profile(clock=None):
    with open(ROOT + "/boards/esp32-epd29-ina226.json") as f:
        p = json.load(f)
    if clock is not None:
        p["clock"] = clock
    return p


def _error(profile):
    try:
        parts.check(profile)
    except parts.ProfileError as e:
        return str(e)
    return None


def test_profile_clock_section_is_checked():
    assert _error(_profile({"sources": ["ds3231", "pcf8563"], "sync_s": 600})) is None
    assert _error(_profile({"sources": ["gps"]})) == (
        "clock.sources[0]: unknown time source 'gps' (known: ds3231, pcf8563, meter, ntp)"
    )
    assert _error(_profile({"sources": []})).startswith("clock.sources: must be a list of 1-4")
    assert _error(_profile({"sources": ["ds3231", "ds3231"]})) == (
        "clock.sources[1]: ds3231 named twice"
    )
    assert _error(_profile({"sources": ["ds3231"], "sync_s": 5})) == (
        "clock.sync_s: must be 60 to 86400, not 5"
    )
    assert _error(_profile({"sources": ["ds3231"], "when": 1})).startswith(
        "clock.when: unknown key"
    )
    with open(ROOT + "/boards/esp32-max7219-s0.json") as f:
        s0 = json.load(f)  # no sensor on I2C: nowhere for an RTC module
    s0["clock"] = {"sources": ["pcf8563"]}
    assert _error(s0) == (
        "clock.sources[0]: a pcf8563 module is on the I2C bus of a sensor, and no sensor here "
        "is on I2C"
    )


class Pin:
    OUT = 1
    IN = 0

    def __init__(self, n, mode=-1, pull=-1):
        self.n = n

    def value(self, v=None):
        return 1 if v is None else None


class SPI:
    def __init__(self, id, **kw):
        pass

    def write(self, buf):
        pass


class Machine:
    Pin = Pin
    SPI = SPI
    bus = None
    made = 0

    @classmethod
    def I2C(cls, id, scl=None, sda=None, freq=0):  # noqa: N802
        cls.made += 1
        return cls.bus


class Rtc:
    def __init__(self, ms):
        self.ms = ms
        self.off = 0

    def wall(self):
        return self.ms.ms // 1000 + self.off

    def set(self, wall):
        self.off = wall - self.ms.ms // 1000


class Ms:
    ms = 0

    def __call__(self):
        return self.ms


def _unit(clock, clock_sources=None):
    gc.collect()  # the unit of the test before, if any, is garbage: the frame buffer is large
    ms = Ms()
    bus = FakeI2C()
    bus.attach(0x40, INA226Model(shunt_ohm=0.002))
    ds = bus.attach(0x68, DS3231Model(ms))
    pcf = bus.attach(0x51, PCF8563Model(ms))
    Machine.bus = bus
    Machine.made = 0
    rtc = Rtc(ms)
    unit = build(
        _profile(clock),
        Machine,
        fonts_dir=FONTS,
        sleep_ms=lambda ms: None,
        clock_sources=clock_sources,
        rtc=rtc,
    )
    return unit, ds, pcf, rtc, ms


def test_build_makes_the_keeper_on_the_sensor_bus():
    unit, ds, pcf, rtc, ms = _unit({"sources": ["ds3231", "pcf8563"], "sync_s": 600})
    k = unit.app.timekeeper
    assert k.names == ("ds3231", "pcf8563") and k.sync_s == 600 and Machine.made == 1
    pcf.set_time(2024, 10, 14, 12, 0, 0)  # the DS3231 is at its power-on state: time lost
    assert k.tick(0) == T0 and k.source == 1 and k.sets == 1 and k.restored == 1
    ms.ms = 600000
    k.tick(600)
    assert k.source == 0 and ds.hour == 12 and ds.min == 10  # the DS3231 now has the time


def test_no_clock_section_no_keeper():
    unit, ds, pcf, rtc, ms = _unit(None)
    assert unit.app.timekeeper is None


def test_config_clock_sources_orders_or_turns_off():
    clock = {"sources": ["ds3231", "pcf8563"]}
    cfg = config.parse('{"version": 3, "clock_sources": "pcf8563, ds3231"}')
    s, faults = config.unit_settings(cfg, _profile(clock))
    assert s["clock_sources"] == ("pcf8563", "ds3231") and faults == []
    unit, ds, pcf, rtc, ms = _unit(clock, s["clock_sources"])
    assert unit.app.timekeeper.names == ("pcf8563", "ds3231")
    unit.close()
    unit = None
    s, faults = config.unit_settings(
        config.parse('{"version": 3, "clock_sources": ""}'), _profile(clock)
    )
    assert s["clock_sources"] == () and faults == []
    unit, ds, pcf, rtc, ms = _unit(clock, s["clock_sources"])
    assert unit.app.timekeeper is None
    s, faults = config.unit_settings(
        config.parse('{"version": 3, "clock_sources": null}'), _profile(clock)
    )
    assert s["clock_sources"] == ("ds3231", "pcf8563") and faults == []
    s, faults = config.unit_settings(
        config.parse('{"version": 3, "clock_sources": "ntp"}'), _profile(clock)
    )
    assert s["clock_sources"] == ("ds3231", "pcf8563")
    assert faults == [
        "config.json: key 'clock_sources': \"ntp\" is not a time source of this board; "
        "the board's order (ds3231,pcf8563) used"
    ]


def test_meter_clock_needs_a_dlt645_and_is_built_on_its_line():
    from host_tools.sim.chips.dlt645_meter import DLT645MeterModel, FakeSerial, VirtualClock

    assert _error(_profile({"sources": ["meter"]})) == (
        "clock.sources[0]: the meter's clock needs a dlt645 sensor (DL/T 645 date and time)"
    )
    with open(ROOT + "/boards/esp32-epd42-dlt645.json") as f:
        p = json.load(f)
    p["clock"] = {"sources": ["meter"]}
    assert _error(p) is None
    clock = VirtualClock()
    meter = DLT645MeterModel("000012345678", energy_kwh=10.0, power_w=1500.0)
    meter.set_clock(2024, 10, 14, 20, 0, 0, 1)  # Beijing time
    line = FakeSerial(meter, clock)

    class M(Machine):
        @staticmethod
        def UART(id, **kw):  # noqa: N802
            return line

    gc.collect()
    ms = Ms()
    unit = build(
        p,
        M,
        fonts_dir=FONTS,
        sleep_ms=lambda ms: None,
        ticks_ms=clock.ticks_ms,
        bus_sleep_ms=clock.sleep_ms,
        rtc=Rtc(ms),
        tz_offset_s=8 * 3600,
    )
    k = unit.app.timekeeper
    assert k.names == ("meter",) and k.tick(0) == T0  # 20:00 Beijing = 12:00 UTC
    assert unit.driver.poll() == 0 and unit.driver.power_mw == 1500000


def test_the_sim_rig_wires_the_clock_models_the_profile_names():
    from host_tools.sim.platform import machine as fake
    from host_tools.sim.rig import Clock, wire

    p = _profile({"sources": ["pcf8563", "ds3231"]})
    clock = Clock(T0)
    rig = wire(p, clock)
    assert rig.models["ds3231"].read_reg(3) == 1 and rig.models["pcf8563"].read_reg(6) == 1
    gc.collect()
    unit = build(p, fake, fonts_dir=FONTS, sleep_ms=lambda ms: None, rtc=Rtc(Ms()))
    k = unit.app.timekeeper
    assert k.tick(0) == T0 and k.source == 0
    clock.ns += 86400 * 1000000000  # a day later, the modules counted on
    assert k.tick(86400) == T0 + 86400 and k.status(86400)["syncs"] == 2
    fake.unwire()
