# Sanity filters (sunprint.core.health) and their flags, alone and feeding the ledger.
# Plain test_* functions with bare asserts: runs under pytest and inside MicroPython.
import gc

from host_tools.sim.chips.pulses import Lcg
from sunprint.core.health import Health
from sunprint.core.ledger import Ledger
from sunprint.quality import (
    BAD_FRAME,
    DEVICE_ERROR,
    NO_ANSWER,
    NOT_A_NUMBER,
    NOT_READY,
    OK,
    OUT_OF_RANGE,
    SPIKE,
    STUCK,
)

NAN = float("nan")
INF = float("inf")


def _flags(h, values):
    return [h.check(v) for v in values]


def test_plain_readings_are_ok():
    h = Health(0, 10000, 500, 5)
    assert _flags(h, [100, 200, 350, 300, 800, 1200]) == [OK] * 6
    assert h.counts[OK] == 6 and h.last_flag == OK


def test_nan_and_infinity():
    h = Health(0, 10000)
    assert _flags(h, [NAN, INF, -INF, 5.5, 7, 0.0]) == [NOT_A_NUMBER] * 3 + [OK] * 3
    assert h.counts[NOT_A_NUMBER] == 3


def test_range_limits_are_inclusive():
    h = Health(-100, 10000)
    assert _flags(h, [-100, 10000, -101, 10001, 5000]) == [OK, OK] + [OUT_OF_RANGE] * 2 + [OK]
    h = Health(max_value=10)
    assert _flags(h, [-(10**9), 11]) == [OK, OUT_OF_RANGE]
    assert _flags(Health(), [10**12, -(10**12)]) == [OK, OK]  # no limits


def test_an_isolated_spike_is_rejected_and_the_baseline_kept():
    h = Health(max_step=1000)
    assert _flags(h, [5000, 5200, 15000, 5300, 5100]) == [OK, OK, SPIKE, OK, OK]
    assert _flags(h, [-9000, 5000]) == [SPIKE, OK]  # downwards too


def test_a_real_step_is_accepted_once_it_persists():
    # A cloud edge: 8 kW to 2 kW. The first step_confirm - 1 readings are SPIKE, then the new
    # level is the baseline. A spike filter that never accepted it would reject forever.
    h = Health(max_step=3000000, step_confirm=3)
    flags = _flags(h, [8000000] * 5 + [2000000, 2100000, 1950000, 2050000, 2000000])
    assert flags == [OK] * 5 + [SPIKE, SPIKE, OK, OK, OK]
    # Back up: the same rule the other way.
    assert _flags(h, [8100000, 8000000, 7900000, 8000000]) == [SPIKE, SPIKE, OK, OK]


def test_a_step_that_ramps_is_followed():
    h = Health(max_step=1000, step_confirm=4)
    # Each new reading is within max_step of the previous one, all far from the baseline.
    assert _flags(h, [0, 5000, 5800, 6500, 7200, 7900]) == [OK, SPIKE, SPIKE, SPIKE, OK, OK]


def test_alternating_spikes_never_confirm():
    h = Health(max_step=1000, step_confirm=2)
    assert _flags(h, [100, 9000, 100, 9000, 100]) == [OK, SPIKE, OK, SPIKE, OK]


def test_step_confirm_one_disables_the_spike_rule():
    h = Health(max_step=10, step_confirm=1)
    assert _flags(h, [0, 1000, -1000]) == [OK, OK, OK]


def test_stuck_value():
    h = Health(stuck_after=4)
    assert _flags(h, [1234, 1234, 1234, 1234, 1234, 1235, 1235]) == [OK] * 3 + [STUCK] * 2 + [
        OK,
        OK,
    ]


def test_night_zeros_are_not_stuck():
    h = Health(0, 10000000, stuck_after=3)
    night = _flags(h, [0] * 500)
    assert night == [OK] * 500
    # Unless asked: stuck_floor=-1 lets 0 be stuck, stuck_floor=50 exempts standby values too.
    assert _flags(Health(stuck_after=3, stuck_floor=-1), [0, 0, 0]) == [OK, OK, STUCK]
    assert _flags(Health(stuck_after=3, stuck_floor=50), [-40] * 5) == [OK] * 5
    assert _flags(Health(stuck_after=3, stuck_floor=50), [51] * 3) == [OK, OK, STUCK]


def test_stuck_off_by_default_and_float_values():
    assert _flags(Health(), [7] * 100) == [OK] * 100
    assert _flags(Health(stuck_after=2), [1.5, 1.5, 1.25]) == [OK, STUCK, OK]


def test_comm_failure_and_recovery():
    h = Health(comm_fail_after=3)
    assert h.check(100) == OK and not h.comm_failed
    assert h.check(0, NO_ANSWER) == NO_ANSWER and not h.comm_failed
    assert h.check(0, BAD_FRAME) == BAD_FRAME and not h.comm_failed
    assert h.check(0, NO_ANSWER) == NO_ANSWER and h.comm_failed
    assert h.fails == 3
    assert h.check(0, NO_ANSWER) == NO_ANSWER and h.comm_failed
    assert h.check(120) == OK and not h.comm_failed and h.fails == 0
    # An OK in between restarts the run.
    for f in (NO_ANSWER, NO_ANSWER, OK, NO_ANSWER, NO_ANSWER):
        h.check(100, f)
    assert not h.comm_failed
    # The device answered with an error: the link works, neither counted nor cleared.
    h = Health(comm_fail_after=2)
    assert [h.check(0, f) for f in (NO_ANSWER, DEVICE_ERROR, NOT_READY)] == [
        NO_ANSWER,
        DEVICE_ERROR,
        NOT_READY,
    ]
    assert not h.comm_failed
    h.check(0, BAD_FRAME)
    assert h.comm_failed
    h.check(0, DEVICE_ERROR)
    assert h.comm_failed
    assert h.counts[NO_ANSWER] == 1 and h.counts[BAD_FRAME] == 1 and h.counts[DEVICE_ERROR] == 2


def test_after_a_comm_failure_the_spike_baseline_is_forgotten():
    h = Health(max_step=1000, comm_fail_after=2)
    assert _flags(h, [5000, 5100]) == [OK, OK]
    h.check(0, NO_ANSWER)
    h.check(0, NO_ANSWER)
    assert h.comm_failed
    assert h.check(9000) == OK  # an hour later the value may rightly be anywhere
    assert h.check(9100) == OK
    # A single failed poll is no outage: the baseline stays.
    h.check(0, NO_ANSWER)
    assert h.check(20000) == SPIKE


def test_flagged_readings_do_not_move_the_baseline():
    h = Health(0, 100000, max_step=1000)
    assert _flags(h, [5000, NAN, 200000, -5, 5500]) == [
        OK,
        NOT_A_NUMBER,
        OUT_OF_RANGE,
        OUT_OF_RANGE,
        OK,
    ]


def test_constructor_errors():
    for args, kw in (
        ((10, 5), {}),
        ((), {"max_step": -1}),
        ((), {"step_confirm": 0}),
        ((), {"comm_fail_after": 0}),
    ):
        try:
            Health(*args, **kw)
        except ValueError:
            continue
        raise AssertionError((args, kw))


def _checks(h, n):
    # Locals only: a new global would count as allocation. Every rule, int values.
    k = 0
    for i in range(n):
        k += h.check(1000 + (i & 7))  # ok
        k += h.check(90000)  # spike
        k += h.check(0)  # spike (far below), then...
        k += h.check(-5)  # out of range
        k += h.check(0, NO_ANSWER)
        k += h.check(0, BAD_FRAME)
        k += h.check(777)  # recovers
        k += h.check(777)
        k += h.check(777)  # stuck
    return k


def test_check_allocates_nothing_for_ints():
    if not hasattr(gc, "mem_alloc"):
        return  # CPython: no allocation counter
    h = Health(0, 100000, max_step=5000, stuck_after=3, comm_fail_after=2)
    _checks(h, 10)
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()  # type: ignore[attr-defined]
        k = _checks(h, 500)
        used = gc.mem_alloc() - before  # type: ignore[attr-defined]
    finally:
        gc.enable()
    assert k > 0
    assert used == 0, used


def test_end_to_end_bad_readings_book_no_energy():
    # Two hours of 10 s power readings with spikes, NaNs, a negative garbage value, a comm
    # outage and night zeros, through Health into the ledger. The ledger must book exactly the
    # trapezoids between pairs of good readings, and nothing from the bad ones.
    rng = Lcg(77)
    t0 = 782179200 + 3600  # 2024-10-15 09:00 local: no midnight inside
    n = 720
    bad = {}
    for i in (100, 101, 250, 400, 555):
        bad[i] = ("spike", 0)  # the true value plus 5 MW, set below
    for i in (130, 300, 301):
        bad[i] = ("nan", NAN)
    bad[350] = ("range", -2000000000)
    for i in range(600, 606):
        bad[i] = ("comm", 0)
    h = Health(0, 12000000, max_step=2000000, stuck_after=12)
    led = Ledger(max_gap_s=300)
    raw_led = Ledger(max_gap_s=300)
    half_mj = 0  # what the ledger should book: trapezoids between two good readings
    prev = None
    for i in range(n):
        t = t0 + 10 * i
        if i < 60:
            true = 0  # still dark: 10 min of zeros, never stuck
        else:
            true = (i - 60) * 15000 + rng.below(20000)  # a rising morning, with noise
        kind, value = bad.get(i, ("", true))
        if kind == "spike":
            value = true + 5000000
        flag = h.check(value, NO_ANSWER if kind == "comm" else OK)
        mw = value if flag == OK else 0
        led.add_power(t, mw, -1, flag == OK)
        if flag == OK and prev is not None:
            half_mj += (prev[1] + mw) * (t - prev[0])
        prev = (t, mw) if flag == OK else None
        if kind != "nan" and kind != "comm":
            raw_led.add_power(t, value, -1, True)  # the same stream, unfiltered
        if kind:
            assert flag != OK, (i, kind, value)
        else:
            assert flag == OK, (i, flag, value)
    assert led.today_mwh == half_mj // 7200
    assert led.flagged == len(bad)
    assert h.comm_failed is False and h.counts[NO_ANSWER] == 6
    # The unfiltered ledger took the spikes for energy: 5 MW over 10 s each, 13.9 Wh.
    assert raw_led.today_mwh > led.today_mwh + 5 * 13000
