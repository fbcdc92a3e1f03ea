# The first interval after a reboot: the monotonic clock restarted, so the interval between
# the last sample the store kept and the first one after boot is an outage. It is missing
# time (measured on the wall clock), or, with a meter's register, booked by the register.
# CPython and MicroPython.
from sunprint.core.ledger import LIFETIME, Ledger

TZ = 8 * 3600
START = 782179200 - TZ + 9 * 3600  # 2024-10-15 09:00 local, firmware seconds
KW = 1000000


def _reboot(led, **kw):
    again = Ledger(**kw)
    again.unpack(led.pack())
    again.resume()
    return again


def test_the_outage_after_a_reboot_is_missing_time():
    led = Ledger()
    t = START
    while t <= START + 600:
        led.add_power(t, KW)
        t += 10
    assert led.missing_s == 0
    again = _reboot(led)
    # the unit was off 25 s: its monotonic clock starts again near 0
    again.add_power(2, KW, START + 625)
    again.add_power(12, KW, START + 635)
    assert again.missing_s == 25, again.missing_s
    assert 0 <= again.mwh(LIFETIME) - led.mwh(LIFETIME) - 10 * KW // 3600 <= 1  # the carry


def test_a_pulse_counter_outage_is_missing_time():
    led = Ledger(counter_per_kwh=1000, counter_survives_reboot=False)
    led.add_counter(START, 100)
    led.add_counter(START + 10, 110)
    again = _reboot(led, counter_per_kwh=1000, counter_survives_reboot=False)
    again.add_counter(3, 0, START + 70)  # the PCNT restarted at 0 with the chip
    again.add_counter(13, 10, START + 80)
    assert again.missing_s == 60, again.missing_s
    assert again.mwh(LIFETIME) == 20000


def test_a_meter_register_books_the_outage():
    led = Ledger(counter_per_kwh=100)
    led.add_power(START, 3600000)
    led.add_counter(START, 5000)
    again = _reboot(led, counter_per_kwh=100)
    again.add_power(4, 3600000, START + 600)
    again.add_counter(4, 5060, START + 600)  # 10 minutes at 3.6 kW
    assert again.mwh(LIFETIME) == 600000, again.mwh(LIFETIME)


def test_without_a_wall_clock_the_outage_cannot_be_measured():
    led = Ledger()
    led.add_power(100, KW)  # the wall clock was never set
    led.add_power(110, KW)
    again = _reboot(led)
    again.add_power(3, KW)
    again.add_power(13, KW)
    assert again.missing_s == 0 and again.outages_unmeasured == 1
