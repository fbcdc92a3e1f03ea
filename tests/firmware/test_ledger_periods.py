# Ledger periods, counters, clock jumps, factors and long runs. CPython and MicroPython.
from sunprint.core.calendar import civil_from_days, days_from_civil
from sunprint.core.ledger import (
    CO2,
    COAL,
    ENERGY,
    LIFETIME,
    MONTH,
    TODAY,
    YEAR,
    YESTERDAY,
    Ledger,
)

TZ = 8 * 3600
DAY = 86400


def local_midnight(y, m, d, tz=TZ):
    """Firmware wall time of local midnight starting y-m-d."""
    return days_from_civil(y, m, d) * DAY - tz


def run_constant(led, start, seconds, power_mw, step=10, wall_offset=0):
    t = start
    while t <= start + seconds:
        led.add_power(t, power_mw, t + wall_offset)
        t += step
    return t - step


def test_calendar_round_trips_and_knows_leap_years():
    assert civil_from_days(0) == (2000, 1, 1)
    assert civil_from_days(days_from_civil(2024, 2, 29)) == (2024, 2, 29)
    assert days_from_civil(2024, 3, 1) - days_from_civil(2024, 2, 28) == 2
    assert days_from_civil(2023, 3, 1) - days_from_civil(2023, 2, 28) == 1
    d = days_from_civil(1999, 12, 31)
    while d < days_from_civil(2036, 1, 1):
        y, m, dd = civil_from_days(d)
        assert days_from_civil(y, m, dd) == d
        d += 37


def test_month_end_rolls_month_not_year():
    led = Ledger()
    m = local_midnight(2024, 2, 1)
    run_constant(led, m - 3600, 7200, 3600000)  # 3.6 kW from 23:00 to 01:00 local
    assert led.mwh(YESTERDAY) == 3600000 and led.mwh(TODAY) == 3600000
    assert led.mwh(MONTH) == 3600000  # February so far
    assert led.mwh(YEAR) == 7200000 and led.mwh(LIFETIME) == 7200000


def test_year_end_rolls_year_and_month():
    led = Ledger()
    m = local_midnight(2025, 1, 1)
    run_constant(led, m - 1800, 3600, 1000000)
    assert led.mwh(YEAR) == 500000 and led.mwh(MONTH) == 500000
    assert led.mwh(YESTERDAY) == 500000 and led.mwh(LIFETIME) == 1000000


def test_leap_day_is_its_own_day():
    led = Ledger()
    m = local_midnight(2024, 2, 29)
    run_constant(led, m + 3600, 3600, 1000000)
    run_constant(led, m + DAY + 3600, 3600, 2000000)  # March 1st: a new month
    assert led.mwh(YESTERDAY) == 1000000
    assert led.mwh(TODAY) == 2000000 and led.mwh(MONTH) == 2000000
    assert civil_from_days(led.day) == (2024, 3, 1)


def test_timezone_decides_the_day():
    utc = Ledger(tz_offset_s=0)
    cst = Ledger(tz_offset_s=TZ)
    ny = Ledger(tz_offset_s=-5 * 3600)
    t = local_midnight(2024, 10, 15, tz=0) + 2 * 3600  # 02:00 UTC = 10:00 UTC+8 = 21:00 UTC-5
    for led in (utc, cst, ny):
        run_constant(led, t, 3600, 1000000)
    assert civil_from_days(utc.day) == (2024, 10, 15)
    assert civil_from_days(cst.day) == (2024, 10, 15)
    assert civil_from_days(ny.day) == (2024, 10, 14)
    t2 = t + 5 * 3600  # 07:00 UTC: past midnight in UTC-5 only
    for led in (utc, cst, ny):
        led.add_power(t2, 0)
    assert civil_from_days(ny.day) == (2024, 10, 15) and ny.mwh(YESTERDAY) == 1000000


def test_days_skipped_in_a_gap_leave_yesterday_empty():
    led = Ledger()
    m = local_midnight(2024, 6, 1)
    run_constant(led, m + 3600, 3600, 1000000)
    led.add_power(m + 3 * DAY + 3600, 1000000)  # two days later
    assert led.mwh(YESTERDAY) == 0 and led.mwh(TODAY) == 0
    assert led.mwh(LIFETIME) == 1000000
    assert led.missing_s == 3 * DAY - 3600


def test_flagged_readings_are_not_integrated():
    led = Ledger()
    t = local_midnight(2024, 6, 1) + 10 * 3600
    led.add_power(t, 1000000)
    led.add_power(t + 10, 1000000)
    led.add_power(t + 20, 99000000, ok=False)  # a spike the health layer rejected
    led.add_power(t + 30, 1000000)
    led.add_power(t + 40, 1000000)
    # integrated: t..t+10 and t+30..t+40 at 1 kW = 20 s = 5.555 Wh
    assert led.mwh(TODAY) == 5555
    assert led.missing_s == 20 and led.flagged == 1


def test_wall_clock_back_to_2000_loses_nothing():
    led = Ledger()
    t0 = local_midnight(2024, 6, 1) + 10 * 3600
    run_constant(led, t0, 3600, 3600000)  # 3.6 kWh on June 1st
    day = led.day
    # The RTC falls back to 2000-01-01 (wall ~ 0) but the monotonic clock goes on.
    mono = t0 + 3600
    for i in range(1, 361):
        led.add_power(mono + i * 10, 3600000, i * 10)
    assert led.day == day  # no day was reopened or invented
    # the second hour's date is unknown: in lifetime at once, held for the periods
    assert led.mwh(TODAY) == 3600000 and led.mwh(LIFETIME) == 7200000
    assert led.held() == 3600000 and not led.vouched()
    assert led.clock_jumps >= 1


def test_wall_clock_jumping_back_a_day_does_not_reopen_it():
    led = Ledger()
    m = local_midnight(2024, 6, 2)
    run_constant(led, m + 3600, 3600, 1000000)
    t = m + 7200 + 10
    led.add_power(t, 1000000, t - DAY)  # NTP says it is yesterday
    led.add_power(t + 10, 1000000, t + 10 - DAY)
    assert civil_from_days(led.day) == (2024, 6, 2)
    assert led.mwh(YESTERDAY) == 0  # nothing moved into the closed day
    assert led.mwh(LIFETIME) == led.mwh(TODAY) == 1000000 + 5555


def test_wall_clock_jumping_forward_does_not_double_count():
    led = Ledger()
    m = local_midnight(2024, 6, 2)
    t = run_constant(led, m + 3600, 3600, 1000000)
    # NTP moves the clock 3 hours on: the next 10 s interval is still 10 s of energy.
    led.add_power(t + 10, 1000000, t + 10 + 3 * 3600)
    assert led.mwh(LIFETIME) == 1000000 + 2777
    assert led.clock_jumps == 1


def test_midnight_split_follows_the_wall_clock():
    led = Ledger()
    m = local_midnight(2024, 6, 2)
    led.add_power(100, 3600000, m - 4)  # monotonic 100 s, 4 s before local midnight
    led.add_power(110, 3600000, m + 6)
    assert led.mwh(YESTERDAY) == 4000 and led.mwh(TODAY) == 6000


def test_counter_deltas_and_fractional_units():
    led = Ledger(counter_per_kwh=3200)  # a 3200 imp/kWh S0 meter: 312.5 mWh per pulse
    t = local_midnight(2024, 6, 2) + 9 * 3600
    led.add_counter(t, 0)
    for i in range(1, 33):
        led.add_counter(t + i * 10, i * 100)
    assert led.mwh(TODAY) == 1000000  # 3200 pulses = 1 kWh exactly
    led.add_counter(t + 400, 3201)
    assert led.mwh(TODAY) == 1000312  # the half mWh is carried, not lost
    led.add_counter(t + 410, 3202)
    assert led.mwh(TODAY) == 1000625


def test_counter_wraps_at_its_width():
    led = Ledger(counter_bits=16, counter_per_kwh=1000)
    t = local_midnight(2024, 6, 2) + 9 * 3600
    led.add_counter(t, 65530)
    led.add_counter(t + 10, 4)  # 65530 -> 65535 -> 0 -> 4: 10 pulses
    assert led.mwh(TODAY) == 10000
    assert led.counter_wraps == 1 and led.counter_resets == 0


def test_meter_swap_rebases_never_negative():
    led = Ledger(counter_per_kwh=100)  # a register in 0.01 kWh
    t = local_midnight(2024, 6, 2) + 9 * 3600
    led.add_counter(t, 123400)
    led.add_counter(t + 60, 123410)  # 0.1 kWh
    led.add_counter(t + 120, 7)  # a new meter: a decrease that is no wrap
    led.add_counter(t + 180, 8)
    assert led.counter_resets == 0  # not yet: one bad read looks the same
    led.add_counter(t + 240, 9)  # three readings in a row: the new meter is the anchor
    led.add_counter(t + 300, 11)  # 0.02 kWh on the new meter
    assert led.counter_resets == 1
    assert led.mwh(TODAY) == 100000 + 20000 + 20000  # old meter, its run, then on


def test_meter_swap_gap_is_filled_by_power():
    led = Ledger(counter_per_kwh=100)
    t = local_midnight(2024, 6, 2) + 9 * 3600
    led.add_counter(t, 5000)
    for i in range(7):
        led.add_power(t + i * 10, 3600000)  # 3.6 kW for 60 s = 60 Wh
    led.add_counter(t + 60, 3)  # swapped: the counter can't tell what happened
    assert led.mwh(TODAY) == 60000  # the power filled, on credit
    led.add_power(t + 70, 3600000)
    led.add_counter(t + 70, 3)
    led.add_power(t + 80, 3600000)
    led.add_counter(t + 80, 4)
    assert led.counter_resets == 1  # three readings in a row: the new meter is the anchor
    assert led.mwh(TODAY) == 70000  # the swap's interval from power, then the new register


def test_counter_is_the_truth_when_both_sources_read():
    led = Ledger(counter_per_kwh=1000)
    t = local_midnight(2024, 6, 2) + 9 * 3600
    led.add_counter(t, 0)
    for i in range(1, 361):
        led.add_power(t + i * 10, 1100000)  # the power sensor reads 10 % high
        led.add_counter(t + i * 10, i * 10 * 1000 // 3600)
    assert led.mwh(TODAY) == 1000000  # what the meter counted: 1 kWh, not 1.1


def test_silent_counter_is_filled_then_not_double_counted():
    led = Ledger(counter_per_kwh=1000, max_gap_s=300)
    t = local_midnight(2024, 6, 2) + 9 * 3600
    led.add_counter(t, 0)
    for i in range(0, 121):  # 20 minutes of 3.6 kW power, the counter silent
        led.add_power(t + i * 10, 3600000)
    shown = led.mwh(TODAY)
    assert shown >= 1200000 - 300 * 1000 - 1  # power filled all but the first max_gap_s
    led.add_counter(t + 1210, 1210)  # back: 1.21 kWh since the baseline
    assert led.mwh(TODAY) == 1210000  # the fill was booked on credit: no double count
    assert led.mwh(TODAY) >= shown


def test_factor_change_keeps_history():
    led = Ledger(co2_dg_per_kwh=5306)
    t = local_midnight(2024, 6, 2) + 9 * 3600
    t = run_constant(led, t, 3600, 1000000)  # 1 kWh at 530.6 g
    led.set_factors(4042, 3055)  # the site is re-labelled as China Southern grid
    run_constant(led, t, 3600, 1000000)  # 1 kWh at 404.2 g
    assert led.grams(CO2, LIFETIME) == 530 + 404  # 934.8 g, floored
    assert led.milli(CO2, LIFETIME) == 934800
    assert led.grams(COAL, LIFETIME) == 611  # 2 kWh at 305.5 gce


def test_ten_years_of_a_megawatt_plant():
    led = Ledger(max_gap_s=3600)
    t = local_midnight(2025, 1, 1)
    hours = 10 * 365 * 24
    h = 0
    # Hourly samples of a 1 MW plant: 0 at night, 1 MW from 08:00 to 16:00 local.
    while h <= hours:
        hour = h % 24
        led.add_power(t + h * 3600, 1000000000 if 8 <= hour <= 16 else 0)
        h += 1
    # Each day: trapezoids 07-08 and 16-17 give 0.5 MWh each, 08-16 gives 8 MWh.
    days = hours // 24
    assert led.mwh(LIFETIME) == days * 9000000000
    for i in range(15):
        assert 0 <= led.hi[i] < 2**30 and 0 <= led.lo[i] < 10**6
        assert isinstance(led.hi[i], int) and isinstance(led.lo[i], int)
    # The last year, 2034, holds the days from its January 1st to the last one sampled.
    last_year_days = days_from_civil(2025, 1, 1) + days - days_from_civil(2034, 1, 1)
    assert led.mwh(YEAR) == last_year_days * 9000000000
    assert led.hi[ENERGY * 5 + YEAR] == last_year_days * 9000
    assert led.grams(CO2, LIFETIME) == days * 9000 * 5306 // 10


def test_state_round_trip_keeps_periods_and_counter():
    led = Ledger(counter_per_kwh=1000)
    t = local_midnight(2024, 6, 2) + 9 * 3600
    led.add_counter(t, 100)
    led.add_counter(t + 600, 433)
    again = Ledger(counter_per_kwh=1000)
    again.unpack(led.pack())
    assert again.pack() == led.pack()
    again.resume()  # a reboot: the monotonic clock restarts at 0
    again.add_counter(5, 533, t + 1200)  # the meter went on counting during the outage
    assert again.mwh(TODAY) == led.mwh(TODAY) + 100000
