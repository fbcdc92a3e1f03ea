# The ledger's public API on its own, with nothing in front of it: non-finite, non-integer,
# out-of-range and backwards input is refused (counted in `refused`), never booked, and the
# state always packs. CPython and MicroPython.
from sunprint.core.ledger import LIFETIME, TODAY, Ledger

TZ = 8 * 3600
START = 782179200 - TZ + 9 * 3600  # 2024-10-15 09:00 local, firmware seconds
KW = 1000000  # mW


def _steady(led, t, seconds, mw=KW, step=10):
    end = t + seconds
    while t <= end:
        led.add_power(t, mw)
        t += step
    return t - step


def _packs(led):
    data = led.pack()
    again = Ledger()
    again.unpack(data)
    assert again.pack() == data
    return again


def test_a_terawatt_spike_is_refused_not_booked():
    led = Ledger()
    t = _steady(led, START, 600)  # 10 minutes at 1 kW: 166.666 Wh
    before = led.mwh(LIFETIME)
    led.add_power(t + 10, 10**15)  # one sample of 1e12 W
    t = _steady(led, t + 20, 600)
    # The spike and the two intervals beside it are missing time, never 2.8 MWh.
    assert led.mwh(LIFETIME) <= before + 600 * KW // 3600 + 1, led.mwh(LIFETIME)
    assert led.refused == 1 and led.missing_s == 20
    _packs(led)


def test_nan_is_refused_and_counting_goes_on():
    led = Ledger()
    t = _steady(led, START, 600)
    led.add_power(t + 10, float("nan"))
    after_nan = led.mwh(LIFETIME)
    _steady(led, t + 20, 600)
    assert led.mwh(LIFETIME) >= after_nan + 600 * KW // 3600 - 1  # counting did not stop
    assert led.refused == 1
    _packs(led)  # struct.error before the fix


def test_infinity_never_turns_a_total_into_nan():
    led = Ledger()
    t = _steady(led, START, 600)
    led.add_power(t + 10, float("inf"))
    led.add_power(t + 20, float("-inf"))
    _steady(led, t + 30, 600)
    for i in range(15):
        assert isinstance(led.hi[i], int) and isinstance(led.lo[i], int)
    assert led.refused == 2
    _packs(led)


def test_a_float_milliwatt_is_refused_and_the_state_packs():
    led = Ledger()
    t = _steady(led, START, 60)
    led.add_power(t + 10, 1500.5)
    _steady(led, t + 20, 60)
    assert led.refused == 1
    _packs(led)


def test_a_huge_integer_is_refused_and_the_state_packs():
    led = Ledger()
    t = _steady(led, START, 60)
    led.add_power(t + 10, 10**33)  # 1e30 W
    _steady(led, t + 20, 60)
    assert led.refused == 1
    _packs(led)


def test_time_going_back_an_hour_is_not_counted_twice():
    led = Ledger()
    t = _steady(led, START, 7200)  # two hours at 1 kW
    assert led.mwh(TODAY) == 2 * KW
    _steady(led, t - 3600, 3600)  # the same hour again
    assert led.mwh(TODAY) == 2 * KW, led.mwh(TODAY)
    assert led.refused == 360  # every sample of the repeated hour but the last (equal t)
    led.add_power(t + 10, KW)  # and then time goes on
    assert led.mwh(TODAY) == 2 * KW + 10 * KW // 3600


def test_bad_times_and_walls_are_refused():
    led = Ledger()
    t = _steady(led, START, 60)
    before = led.pack()
    led.add_power(float(t + 10), KW)
    led.add_power(t + 10, KW, 1.5)
    led.add_power(-5, KW)
    led.add_power(1 << 70, KW)
    led.add_power(t + 10, KW, 1 << 70)
    assert led.refused == 5
    assert led.pack() == before
    led.add_power(t + 10, KW)
    assert led.samples == 8


def test_bad_counter_readings_are_refused():
    led = Ledger(counter_per_kwh=100)
    t = START
    led.add_counter(t, 5000)
    led.add_counter(t + 10, 2**40)  # beyond the register's width: 1.1e10 kWh before the fix
    led.add_counter(t + 20, 5001.0)
    led.add_counter(t + 30, -3)
    led.add_counter(t + 40, float("nan"))
    led.add_counter(t + 50, 5001)
    assert led.mwh(LIFETIME) == 10000, led.mwh(LIFETIME)
    assert led.refused == 4
    led.add_counter(t + 40, 5002)  # back in time
    assert led.refused == 5 and led.mwh(LIFETIME) == 10000
    _packs(led)


def test_bad_parameters_are_refused_at_construction():
    for kw in (
        {"max_power_w": 0},
        {"max_power_w": 10**12},
        {"max_gap_s": 0},
        {"counter_bits": 0},
        {"counter_bits": 64},
        {"counter_per_kwh": 0},
        {"counter_max_power_w": -1},
    ):
        try:
            Ledger(**kw)
        except ValueError:
            continue
        raise AssertionError("accepted %r" % (kw,))


def test_refused_input_allocates_nothing():
    try:
        import gc

        mem_alloc = gc.mem_alloc  # type: ignore[attr-defined]
    except (ImportError, AttributeError):
        return  # cpython-only counts don't apply: CPython has no gc.mem_alloc
    led = Ledger(counter_per_kwh=100)
    t = START
    low = -(10**11)  # -100 MW, out of range below (a big int on a 32-bit VM: made once, here)
    led.add_power(t, KW)
    led.add_counter(t, 1000)
    gc.collect()
    gc.disable()
    try:
        before = mem_alloc()
        for i in range(200):
            t += 10
            led.add_power(t, low)
            led.add_counter(t, 1000 + i)
            led.add_power(t, KW)
        used = mem_alloc() - before
    finally:
        gc.enable()
    assert used == 0, used


def test_a_meter_total_out_of_range_is_not_seeded():
    led = Ledger()
    for bad in (-5, 1.5e6, float("nan"), 10**30):
        try:
            led.seed_lifetime(bad)
        except ValueError:
            continue
        raise AssertionError("seeded %r" % (bad,))
    led.seed_lifetime(1234567890)
    assert led.mwh(LIFETIME) == 1234567890
    _packs(led)
