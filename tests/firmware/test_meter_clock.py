# The DL/T 645 meter's clock as a time source: date (DI 04000101, YYMMDDWW) and time
# (04000102, hhmmss) read by the driver from the meter model (host_tools/sim/chips/dlt645_meter.py)
# over the fake RS-485 line, local time turned into UTC. CPython and MicroPython.
from host_tools.sim.chips.dlt645_meter import DLT645MeterModel, FakeSerial, VirtualClock
from sunprint.clock import wall_from
from sunprint.clock.keeper import ClockKeeper
from sunprint.clock.meter import MeterClock
from sunprint.drivers.dlt645 import DATE, DLT645, TIME, Meter
from sunprint.quality import BAD_FRAME, DEVICE_ERROR, NOT_READY, OK

ADDR = "112233445566"


def _rig():
    clock = VirtualClock()
    meter = DLT645MeterModel(ADDR, energy_kwh=100.0, power_w=2000.0)
    uart = FakeSerial(meter, clock)
    dlt = DLT645(uart, address=ADDR, retries=0, ticks_ms=clock.ticks_ms, sleep_ms=clock.sleep_ms)
    return meter, dlt


def test_driver_reads_date_and_time_as_decimal_numbers():
    meter, dlt = _rig()
    meter.set_clock(2024, 10, 14, 21, 5, 7, 1)  # a Monday
    assert dlt.read(DATE) == OK and dlt.value == 24101401
    assert dlt.read(TIME) == OK and dlt.value == 210507


def test_meter_clock_is_local_time_turned_into_utc():
    meter, dlt = _rig()
    meter.set_clock(2024, 10, 14, 21, 5, 7, 1)  # Beijing time
    src = MeterClock(dlt, tz_offset_s=8 * 3600)
    r = src.read()
    assert r is not None and r[0] == wall_from(2024, 10, 14, 13, 5, 7) and r[1] == 2000
    meter.advance(86400 * 80 + 3600)  # the meter counts on, into the new year
    assert src.read()[0] == wall_from(2025, 1, 2, 14, 5, 7) and src.flag == OK
    meter.set_clock(2024, 10, 15, 3, 0, 0, 2)  # early morning local: the day before in UTC
    assert src.read()[0] == wall_from(2024, 10, 14, 19, 0, 0)


def test_a_meter_without_a_clock_gives_no_time():
    meter, dlt = _rig()
    src = MeterClock(dlt)
    assert src.read() is None and src.flag == DEVICE_ERROR  # D1H: no data
    m = Meter(dlt)
    assert m.poll() == OK  # the meter itself still works


def test_the_seconds_after_midnight_and_a_bad_date_give_no_time():
    meter, dlt = _rig()
    meter.set_clock(2024, 10, 14, 0, 0, 1, 1)  # the date may be from before midnight
    src = MeterClock(dlt)
    assert src.read() is None and src.flag == NOT_READY
    meter.advance(5)
    assert src.read() is not None
    meter.set_clock(2023, 2, 29, 12, 0, 0, 3)  # no 29 February in 2023
    assert src.read() is None and src.flag == BAD_FRAME


def test_keeper_takes_the_meter_clock_and_the_meter_keeps_polling():
    meter, dlt = _rig()
    meter.set_clock(2024, 10, 14, 21, 5, 7, 1)

    class Rtc:
        w = 0

        def wall(self):
            return self.w

        def set(self, wall):
            self.w = wall

    k = ClockKeeper(Rtc(), [("meter", MeterClock(dlt, tz_offset_s=8 * 3600))])
    assert k.tick(0) == wall_from(2024, 10, 14, 13, 5, 7) and k.sets == 1
    m = Meter(dlt)
    assert m.poll() == OK and m.power_mw == 2000000 and TIME == 0x04000102
