# DS3231 and PCF8563 drivers (sunprint.drivers) against the chip models written from the
# datasheets (host_tools/sim/chips/rtcchips.py), on the fake I2C bus. CPython and MicroPython.
import gc

from host_tools.sim.chips.i2c import FakeI2C
from host_tools.sim.chips.rtcchips import DS3231Model, PCF8563Model
from sunprint.clock import civil, wall_from
from sunprint.clock.keeper import ClockKeeper
from sunprint.drivers.ds3231 import DS3231
from sunprint.drivers.pcf8563 import PCF8563
from sunprint.quality import BAD_FRAME, NO_ANSWER, NOT_READY, OK

T0 = wall_from(2024, 10, 14, 13, 5, 7)  # a Monday


class Ms:
    def __init__(self):
        self.ms = 0

    def __call__(self):
        return self.ms


def _rig(kind, **kw):
    ms = Ms()
    bus = FakeI2C()
    if kind == "ds3231":
        chip = bus.attach(0x68, DS3231Model(ms, **kw))
        drv = DS3231(bus)
    else:
        chip = bus.attach(0x51, PCF8563Model(ms, **kw))
        drv = PCF8563(bus)
    return ms, bus, chip, drv


def _both(check):
    for kind in ("ds3231", "pcf8563"):
        check(kind, *_rig(kind))


def test_power_on_time_is_lost_until_set():
    def check(kind, ms, bus, chip, drv):
        assert drv.read() is None and drv.flag == NOT_READY, kind
        drv.set(T0)
        r = drv.read()
        assert r is not None and r[0] == T0 and r[1] == 1000 and drv.flag == OK, kind
        assert (chip.year, chip.month, chip.date) == (24, 10, 14), kind
        assert (chip.hour, chip.min, chip.sec) == (13, 5, 7), kind

    _both(check)


def test_weekday_registers_follow_each_datasheet():
    ms, bus, chip, drv = _rig("ds3231")
    drv.set(T0)
    assert chip.read_reg(3) == 1  # DS3231 day 1-7: Monday = 1 here
    ms, bus, chip, drv = _rig("pcf8563")
    drv.set(T0)
    assert chip.read_reg(6) == 1  # PCF8563 weekday 0-6, Sunday = 0 (Table 8)
    ms.ms += 11 * 3600 * 1000  # past midnight: Tuesday
    drv.read()
    assert chip.read_reg(6) == 2


def test_time_runs_and_carries_through_month_leap_day_and_year():
    cases = (
        ((2024, 2, 28, 23, 59, 59), 1),  # leap day
        ((2023, 2, 28, 23, 59, 59), 1),  # no leap day
        ((2025, 12, 31, 23, 59, 58), 3),  # new year
        ((2024, 4, 30, 23, 0, 0), 86400 * 31 + 7),  # a month of 30 days, then 31
        ((2024, 10, 14, 0, 0, 0), 86400 * 400),  # more than a year
    )

    def check(kind, ms, bus, chip, drv):
        for start, dt in cases:
            w = wall_from(*start)
            drv.set(w)
            ms.ms += dt * 1000
            r = drv.read()
            assert r is not None and r[0] == w + dt, (kind, start, dt, r)
            y, mo, d, wd, h, mi, s = civil(w + dt)
            assert (chip.year + 2000, chip.month, chip.date) == (y, mo, d), (kind, start)

    _both(check)


def test_ds3231_reads_a_time_written_in_12_hour_mode():
    ms, bus, chip, drv = _rig("ds3231")
    drv.set(wall_from(2024, 10, 14, 0, 0, 0))
    for reg, hour in ((0x40 | 0x12, 0), (0x40 | 0x20 | 0x12, 12), (0x40 | 0x20 | 0x11, 23)):
        chip.write_reg(2, reg)  # another tool set the chip in 12-hour mode
        assert chip.hour == hour
        assert drv.read()[0] == wall_from(2024, 10, 14, hour, 0, 0)
        assert chip.read_reg(2) == reg  # the model renders 12-hour mode back


def test_power_cut_with_battery_keeps_the_time_without_loses_it():
    def check(kind, ms, bus, chip, drv):
        drv.set(T0)
        chip.power_cut()
        ms.ms += 3 * 3600 * 1000
        chip.power_restored()
        assert drv.read()[0] == T0 + 3 * 3600, kind
        chip.power_cut(battery=False)
        ms.ms += 60000
        chip.power_restored()
        assert drv.read() is None and drv.flag == NOT_READY, kind

    _both(check)


def test_ds3231_oscillator_off_on_battery_is_lost_time_and_set_turns_it_on():
    ms, bus, chip, drv = _rig("ds3231")
    drv.set(T0)
    chip.write_reg(0x0E, chip.read_reg(0x0E) | 0x80)  # EOSC 1: stops on battery
    chip.power_cut()
    ms.ms += 5000
    chip.power_restored()
    assert drv.read() is None and drv.flag == NOT_READY
    drv.set(T0 + 5)
    assert not chip.control & 0x80 and not chip.status & 0x80
    assert drv.read()[0] == T0 + 5


def test_pcf8563_stopped_clock_gives_no_time():
    ms, bus, chip, drv = _rig("pcf8563")
    drv.set(T0)
    chip.write_reg(0, 0x20)  # STOP
    assert drv.read() is None and drv.flag == NOT_READY
    drv.set(T0)
    assert drv.read()[0] == T0


def test_no_answer_and_a_bad_register_give_no_time():
    def check(kind, ms, bus, chip, drv):
        drv.set(T0)
        bus.nack.add(drv.address)
        assert drv.read() is None and drv.flag == NO_ANSWER, kind
        bus.nack.clear()
        assert drv.read()[0] == T0, kind
        chip.month = 13  # not a month: a chip that was set wrong by another tool
        assert drv.read() is None and drv.flag == BAD_FRAME, kind
        chip.month = 2
        chip.date = 30  # 30 February
        assert drv.read() is None and drv.flag == BAD_FRAME, kind

    _both(check)


def test_drift_of_the_module_is_what_the_keeper_counts():
    ms, bus, chip, drv = _rig("ds3231", ppm=20)  # the module runs 20 ppm fast for a month

    class Rtc:  # the ESP32's RTC, on time but set from the module
        off = 0

        def wall(self):
            return T0 + ms.ms // 1000 + self.off

        def set(self, wall):
            self.off = wall - T0 - ms.ms // 1000

    drv.set(T0)
    k = ClockKeeper(Rtc(), [("ds3231", drv)], sync_s=3600, jump_s=60)
    for h in range(24 * 30 + 1):
        ms.ms = h * 3600 * 1000
        k.tick(h * 3600)
    # 20 ppm of 30 days is 51.8 s, corrected 2 s at a time (1 s is a reading's noise)
    assert k.jumps == 0 and k.sets == 0 and 24 <= k.corrections <= 26
    assert 50 <= k.drift_s <= 52, k.drift_s
    assert 18 <= k.status(30 * 86400)["drift_ppm"] <= 21


def test_keeper_sets_a_module_that_lost_its_time_from_the_next_source():
    ms, bus, ds_chip, ds = _rig("ds3231")
    bus.attach(0x51, PCF8563Model(ms))
    pcf = PCF8563(bus)
    pcf.set(T0)

    class Rtc:
        w = 0

        def wall(self):
            return self.w

        def set(self, wall):
            self.w = wall

    k = ClockKeeper(Rtc(), [("ds3231", ds), ("pcf8563", pcf)])
    assert k.tick(0) == T0 and k.source == 1 and k.restored == 1
    assert ds.read()[0] == T0 and k.status(0)["restored"] == 1


def test_read_allocates_nothing():
    try:
        gc.mem_alloc  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError:
        return  # CPython
    for kind in ("ds3231", "pcf8563"):
        ms, bus, chip, drv = _rig(kind)
        drv.set(T0)
        drv.read()
        gc.collect()
        gc.disable()
        try:
            before = gc.mem_alloc()  # type: ignore[attr-defined]
            for _ in range(200):
                ms.ms += 1000
                drv.read()
            used = gc.mem_alloc() - before  # type: ignore[attr-defined]
        finally:
            gc.enable()
        assert used == 0 and drv.read()[0] == T0 + 200, (kind, used)
