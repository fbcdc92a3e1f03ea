# Energy ledger: integer mWh from power samples. Runs under CPython and MicroPython.
from sunprint.core.ledger import Ledger

DAY = 86400
TZ = 8 * 3600
# 2024-10-15 00:00 local (UTC+8) in firmware seconds (since 2000-01-01 UTC)
MIDNIGHT = 782179200 - TZ


def test_constant_power_for_an_hour_is_exact():
    led = Ledger()
    for i in range(361):  # 0 .. 3600 s at 10 s
        led.add_power(MIDNIGHT + 3600 + i * 10, 1000000)  # 1 kW
    assert led.today_mwh == 1000000  # exactly 1 kWh
    assert led.lifetime_kwh == 1 and led.lifetime_mwh == 0
    assert led.missing_s == 0


def test_trapezoid_of_a_ramp():
    led = Ledger()
    # 0 W -> 3600 W over one hour, linear: area = 1.8 kWh
    for i in range(361):
        led.add_power(MIDNIGHT + 7200 + i * 10, i * 10 * 1000)
    assert led.today_mwh == 1800000


def test_remainder_is_carried_not_lost():
    led = Ledger()
    # 1 mW for 3600 s in 3600 one-second steps: each step is 1 mJ, far below 1 mWh.
    for i in range(3601):
        led.add_power(MIDNIGHT + 10000 + i, 1)
    assert led.today_mwh == 1


def test_gap_longer_than_limit_is_missing_time():
    led = Ledger(max_gap_s=300)
    led.add_power(MIDNIGHT + 1000, 500000)
    led.add_power(MIDNIGHT + 1010, 500000)
    led.add_power(MIDNIGHT + 1010 + 600, 500000)  # 10 minute gap: not bridged
    led.add_power(MIDNIGHT + 1620, 500000)
    assert led.missing_s == 600
    # 20 s at 0.5 kW = 10 Wh / 3.6 ... = 2.777.. Wh -> 2777 mWh
    assert led.today_mwh == 2777


def test_midnight_splits_the_interval():
    led = Ledger()
    led.add_power(MIDNIGHT + DAY - 5, 3600000)  # 3.6 kW, 5 s before local midnight
    led.add_power(MIDNIGHT + DAY + 5, 3600000)  # 5 s after
    # 5 s at 3.6 kW = 5 Wh on each side
    assert led.yesterday_mwh == 5000
    assert led.today_mwh == 5000
    assert led.lifetime_wh() == 10


def test_day_rolls_at_local_midnight_not_utc():
    led = Ledger(tz_offset_s=TZ)
    t = MIDNIGHT + 12 * 3600
    assert led.day_of(t) == led.day_of(MIDNIGHT)
    assert led.day_of(MIDNIGHT - 1) == led.day_of(MIDNIGHT) - 1


def test_negative_power_is_not_negative_energy():
    led = Ledger()
    led.add_power(MIDNIGHT + 100, -5000)
    led.add_power(MIDNIGHT + 200, -5000)
    assert led.today_mwh == 0


def test_lifetime_carries_into_kwh_below_small_int_limit():
    led = Ledger()
    t = MIDNIGHT
    # 2.5 MW for 2 days in 10 s steps would be slow; use 600 s steps under a raised gap limit
    led.max_gap_s = 600
    for _ in range(2 * 144 + 1):
        led.add_power(t, 2500000000)
        t += 600
    assert led.lifetime_kwh == 2 * 24 * 2500
    assert led.lifetime_mwh < 1000000
    assert led.today_mwh < 2**30


def test_steady_state_tick_allocates_nothing():
    try:
        import gc

        mem_alloc = gc.mem_alloc  # type: ignore[attr-defined]
    except (ImportError, AttributeError):
        return  # cpython-only counts don't apply: CPython has no gc.mem_alloc
    led = Ledger()
    t = MIDNIGHT + 3600
    led.add_power(t, 1000)
    gc.collect()
    gc.disable()
    try:
        before = mem_alloc()
        for i in range(1000):
            t += 10
            led.add_power(t, 123456 + i)
        used = mem_alloc() - before
    finally:
        gc.enable()
    assert used == 0, used


def test_state_round_trips_through_bytes():
    led = Ledger()
    for i in range(100):
        led.add_power(MIDNIGHT + 3600 + i * 10, 777777 + i)
    data = led.pack()
    again = Ledger()
    again.unpack(data)
    assert again.pack() == data
    led.add_power(MIDNIGHT + 5000, 5000)
    again.add_power(MIDNIGHT + 5000, 5000)
    assert again.today_mwh == led.today_mwh and again.lifetime_mwh == led.lifetime_mwh
    try:
        again.unpack(data[:-1])
    except ValueError:
        pass
    else:
        raise AssertionError("a short state was accepted")


def _allocated(fn):
    """Bytes fn() allocates in MicroPython with the GC off; None on CPython."""
    try:
        import gc

        mem_alloc = gc.mem_alloc  # type: ignore[attr-defined]
    except (ImportError, AttributeError):
        fn()
        return None
    gc.collect()
    gc.disable()
    try:
        before = mem_alloc()
        fn()
        return mem_alloc() - before
    finally:
        gc.enable()


def _ticks(led, t, n):
    # Power and a 12-bit pulse counter together, as with an S0 meter beside a power monitor.
    i = 0
    while i < n:
        t += 10
        pulses = (t // 10 * 7) & 0xFFF  # 7 pulses per tick, wrapping at 12 bits
        led.add_power(t, 2500000 + i)
        led.add_counter(t, pulses)
        i += 1
    return t


def test_counter_and_power_ticks_allocate_nothing():
    led = Ledger(counter_bits=12, counter_per_kwh=1000)
    t = _ticks(led, MIDNIGHT + 3600, 50)  # warm up
    # 2000 ticks from 01:00: no midnight (a day roll allocates, once a day); 14000 pulses wrap.
    used = _allocated(lambda: _ticks(led, t, 2000))
    if used is not None:
        assert used == 0, used
    assert led.counter_wraps >= 1 and led.counter_resets == 0
