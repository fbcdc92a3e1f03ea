# S0 pulse input (sunprint.drivers.s0) against the pulse simulator (host_tools/sim/chips/pulses.py):
# a pin driven by pulse trains made from a true power profile, with bounce, glitches and
# missed pulses, and a model of the ESP32 PCNT. Plain test_* functions with bare asserts:
# runs under pytest and inside MicroPython.

from alloc import allocated, has_counter

from host_tools.sim.chips.pulses import FakePCNT, FakePin, Lcg, PulseTrain, VirtualClock, play
from sunprint.core.ledger import Ledger
from sunprint.drivers.s0 import IrqS0, PcntS0, has_pcnt, select_s0
from sunprint.quality import OK, STUCK

HOUR_MS = 3600000
# 30 min at 3 kW, 10 min dark, 20 min at 6 kW, 5 min at 400 W: 3.5333 kWh, 3533 pulses.
PROFILE = [(1800000, 3000000), (600000, 0), (1200000, 6000000), (300000, 400000)]
PROFILE_PULSES = 3533


def _irq_rig(**kw):
    clock = VirtualClock()
    pin = FakePin(clock)
    return clock, pin, IrqS0(pin, ticks_ms=clock.ticks_ms, **kw)


def _pcnt_rig(defer=True, **kw):
    clock = VirtualClock()
    pin = FakePin(clock)
    del FakePCNT.instances[:]
    s0 = PcntS0(pin, pcnt_factory=FakePCNT, ticks_ms=clock.ticks_ms, **kw)
    unit = FakePCNT.instances[-1]
    unit.defer_irq = defer
    return clock, pin, s0, unit


def _run(rig, train, every_ms=10000):
    clock, pin, s0 = rig[0], rig[1], rig[2]
    seen = []

    def each(t):
        c = s0.count()
        assert not seen or c >= seen[-1], (c, seen[-1])
        seen.append(c)

    play(train.edges(), pin, clock, train.end_ns // 1000000 + 60000, every_ms, each)
    return s0.count()


def _pulses(clock, pin, n, low_ms=30, high_ms=30):
    # n clean pulses, fast: what the generator does, without its bookkeeping.
    for _ in range(n):
        pin.drive(0)
        clock.advance(low_ms)
        pin.drive(1)
        clock.advance(high_ms)


# --- the simulator itself ---


def _walk(edges):
    # (edges, checksum), checking times grow; edges are not kept (the VM heap is ESP32-sized).
    n = 0
    check = 0
    last = -1
    for t, level in edges:
        assert t > last
        last = t
        n += 1
        check = (check * 31 + t + level) & 0xFFFFFFF
    return n, check


def test_train_makes_the_true_pulse_count_from_energy():
    train = PulseTrain(PROFILE, seed=1)
    edges = train.edges()
    t0, l0 = next(edges)
    t1, l1 = next(edges)
    assert (l0, l1) == (0, 1) and t1 - t0 == 30000000  # a 30 ms pulse, pulled low
    level = 1
    n = 2
    for _t, lv in edges:
        assert lv != level  # no bounce asked: levels alternate
        level = lv
        n += 1
    assert train.pulses == PROFILE_PULSES and n == 2 * PROFILE_PULSES
    assert abs(train.energy_mwh() - 3533333.33) < 0.01


def test_train_bounce_and_glitches_are_seeded_and_real():
    a = _walk(PulseTrain(PROFILE[:1], bounce_ms=4, glitch_every_ms=500, seed=9).edges())
    b = _walk(PulseTrain(PROFILE[:1], bounce_ms=4, glitch_every_ms=500, seed=9).edges())
    c = _walk(PulseTrain(PROFILE[:1], bounce_ms=4, glitch_every_ms=500, seed=10).edges())
    assert a == b and a != c
    assert a[0] > 4 * 1500  # bounce: more than 2 edges a pulse


def test_lcg_is_portable():
    r = Lcg(1)
    assert [r.next() for _ in range(3)] == [1015568748, 1586005467, 2165703038]
    assert all(0 <= r.below(7) < 7 for _ in range(100))


def test_pulses_respect_the_s0_minimum_period():
    # 40 kW at 1000 imp/kWh asks for 11.1 pulses/s: allowed. 80 kW asks for 22: the meter
    # queues them at 30 ms + 30 ms, as IEC 62053-31 limits it.
    starts = list(PulseTrain([(10000, 80000000)]).pulse_starts())
    for i in range(1, len(starts)):
        assert starts[i] - starts[i - 1] >= 60000000


# --- IrqS0 ---


def test_irq_counts_exactly_without_bounce():
    train = PulseTrain(PROFILE, seed=2)
    assert _run(_irq_rig(), train) == PROFILE_PULSES


def test_irq_debounce_counts_true_pulses_through_bounce():
    train = PulseTrain(PROFILE, bounce_ms=5, seed=3)
    rig = _irq_rig()
    assert _run(rig, train) == PROFILE_PULSES
    assert rig[1].edges > 3 * 2 * PROFILE_PULSES  # the bounce was there
    assert rig[2].rejected == 0


def test_the_bounce_would_fool_a_naive_edge_counter():
    # Without debounce every falling edge counts: the simulator's bounce is real.
    clock = VirtualClock()
    pin = FakePin(clock)
    n = [0]

    def naive(p):
        n[0] += 1

    pin.irq(naive, FakePin.IRQ_FALLING)
    train = PulseTrain(PROFILE[:1], bounce_ms=5, seed=3)
    play(train.edges(), pin, clock)
    assert n[0] > 2 * train.pulses


def test_irq_rejects_glitches():
    train = PulseTrain(PROFILE, bounce_ms=3, glitch_every_ms=400, seed=4)
    rig = _irq_rig()
    assert _run(rig, train) == PROFILE_PULSES
    assert train.glitches > 1000


def test_irq_rejects_pulses_shorter_than_min_width():
    clock, pin, s0 = _irq_rig()
    _pulses(clock, pin, 10, low_ms=15)
    assert s0.count() == 0 and s0.rejected == 9  # the 10th is rejected at the next edge
    _pulses(clock, pin, 10, low_ms=30)
    assert s0.count() == 10 and s0.rejected == 10


def test_irq_missed_pulses_are_missing_from_the_count():
    train = PulseTrain(PROFILE, bounce_ms=2, missed=(0, 7, 4000), miss_every=1000, seed=5)
    assert _run(_irq_rig(), train) == PROFILE_PULSES - train.missed
    assert train.missed == 5  # 0, 7 and every 1000th: 0, 1000, 2000, 3000 (no 4000th)


def test_irq_count_of_a_pulse_waiting_for_its_commit():
    # The handler commits at the next edge; count() sees the finished pulse before that.
    clock, pin, s0 = _irq_rig()
    pin.drive(0)
    clock.advance(40)
    pin.drive(1)
    clock.advance(5)
    assert s0.count() == 0  # back at idle, not settled yet
    clock.advance(5)
    assert s0.count() == 1  # settled: counted, though no edge came since
    clock.advance(10000)
    assert s0.count() == 1
    pin.drive(0)  # the next pulse's edge commits the first
    assert s0._count == 1 and s0.count() == 1


def test_irq_active_high_wiring():
    clock = VirtualClock()
    pin = FakePin(clock, level=0)
    s0 = IrqS0(pin, ticks_ms=clock.ticks_ms, active_low=False)
    train = PulseTrain(PROFILE[:1], idle=0, bounce_ms=4, seed=6)
    play(train.edges(), pin, clock, train.end_ns // 1000000 + 1000)
    assert s0.count() == train.pulses == 1500


# --- PcntS0 ---


def test_pcnt_counts_exactly_without_bounce():
    train = PulseTrain(PROFILE, seed=2)
    rig = _pcnt_rig()
    assert _run(rig, train) == PROFILE_PULSES
    assert rig[3].filter == 1023 and rig[2].filter_ticks == 1023


def test_pcnt_filter_rejects_microsecond_glitches():
    # EMI spikes of 1-10 us: within the hardware filter's 12.8 us.
    train = PulseTrain(PROFILE, glitch_every_ms=300, glitch_min_ns=1000, glitch_max_ns=10000)
    assert _run(_pcnt_rig(), train) == PROFILE_PULSES
    assert train.glitches > 1000
    # The same spikes without the filter: each one counts.
    train = PulseTrain(PROFILE, glitch_every_ms=300, glitch_min_ns=1000, glitch_max_ns=10000)
    assert _run(_pcnt_rig(filter_ns=0), train) == PROFILE_PULSES + train.glitches


def test_pcnt_cannot_filter_millisecond_bounce():
    # The documented limit: 12.8 us of filter against ms of relay bounce. select_s0 takes the
    # IRQ driver for such an output (bouncy=True).
    train = PulseTrain(PROFILE[:1], bounce_ms=4, seed=3)
    assert _run(_pcnt_rig(), train) > train.pulses
    clock = VirtualClock()
    pin = FakePin(clock)
    s0 = select_s0(pin, bouncy=True, pcnt_factory=FakePCNT, ticks_ms=clock.ticks_ms)
    assert isinstance(s0, IrqS0)
    train = PulseTrain(PROFILE[:1], bounce_ms=4, seed=3)
    play(train.edges(), pin, clock, train.end_ns // 1000000 + 100)
    assert s0.count() == train.pulses


def test_pcnt_filter_ns_to_apb_cycles():
    assert _pcnt_rig(filter_ns=0)[3].filter == 0
    assert _pcnt_rig(filter_ns=1000)[3].filter == 80
    assert _pcnt_rig(filter_ns=1001)[3].filter == 81  # rounded up: at least what was asked
    assert _pcnt_rig(filter_ns=1000000)[3].filter == 1023


def test_pcnt_overflow_accumulates_across_many_wraps():
    # 3 wraps of the 16-bit unit (32000 each) and then some; the soft IRQ may still be
    # pending when count() runs: value() runs it first, so the count never steps back.
    clock, pin, s0, unit = _pcnt_rig()
    total = 0
    for n in (31999, 1, 1, 31998, 1, 5000, 27000, 2000, 777):
        _pulses(clock, pin, n)
        total += n
        assert s0.count() == total, (s0.count(), total)
    assert total == 3 * 32000 + 2777
    assert s0._wraps == 3 and unit.handler_calls == 3
    assert unit.value() == 2777


def test_pcnt_wrap_with_the_irq_not_yet_run():
    clock, pin, s0, unit = _pcnt_rig()
    _pulses(clock, pin, 32000)
    assert unit._count == 0 and unit._flags  # wrapped, the handler has not run
    assert s0._wraps == 0
    assert s0.count() == 32000  # value() ran it
    assert s0._wraps == 1 and not unit._flags
    _pulses(clock, pin, 32000)
    unit.run_pending()  # the scheduler got there first
    assert s0._wraps == 2 and s0.count() == 64000


def test_pcnt_wrap_irq_run_at_once():
    clock, pin, s0, unit = _pcnt_rig(defer=False)
    _pulses(clock, pin, 70000)
    assert s0._wraps == 2 and s0.count() == 70000


def test_pcnt_total_stays_a_small_int_for_a_lifetime():
    # 10 years of a 10 kWp roof at 1000 imp/kWh: about 1.2e8 pulses, far below 2**30.
    clock, pin, s0, unit = _pcnt_rig()
    s0._wraps = 120000000 // 32000
    assert s0.count() == 120000000 < 2**30


# --- both: energy, power, stuck line, selection ---


def _energy_check(rig, train):
    # The count, booked through the ledger every 10 s, against the true energy.
    s0 = rig[2]
    led = Ledger(counter_per_kwh=1000, counter_survives_reboot=False)
    t0 = 782179200

    def each(ms):
        led.add_counter(t0 + ms // 1000, s0.count())

    led.add_counter(t0, s0.count())
    play(train.edges(), rig[1], rig[0], train.end_ns // 1000000 + 60000, 10000, each)
    led.add_counter(t0 + rig[0].ticks_ms() // 1000, s0.count())
    booked = led.today_mwh
    true = train.energy_mwh()
    per_pulse = 1000000 // 1000
    assert 0 <= true - booked < per_pulse, (booked, true)
    return booked


def test_energy_from_irq_counts_matches_true_energy_within_one_pulse():
    train = PulseTrain(PROFILE, bounce_ms=4, glitch_every_ms=700, seed=11)
    assert _energy_check(_irq_rig(), train) == PROFILE_PULSES * 1000


def test_energy_from_pcnt_counts_matches_true_energy_within_one_pulse():
    train = PulseTrain(PROFILE, seed=12, glitch_every_ms=700, glitch_min_ns=500, glitch_max_ns=9000)
    assert _energy_check(_pcnt_rig(), train) == PROFILE_PULSES * 1000


def _power_run(rig, segments, at_ms):
    # Poll every 10 s; return read_mw() (or None while not ready) at each time in at_ms.
    clock, pin, s0 = rig[0], rig[1], rig[2]
    out = {}

    def each(ms):
        try:
            mw = s0.read_mw()
        except OSError:
            mw = None
        for t in at_ms:
            if ms == t:
                out[t] = mw

    train = PulseTrain(segments, seed=1)
    play(train.edges(), pin, clock, at_ms[-1] + 1000 + 10000, 10000, each)
    return [out.get(t) for t in at_ms]


def test_power_from_pulse_rate():
    # 30 min at 3 kW then dark. IrqS0 times the pulses themselves: exact at a steady power.
    segs = [(1800000, 3000000), (7200000, 0)]
    at = [10000, 50000, 200000, 1780000, 1860000, 2400000, 2800000, 3000000]
    irq = _power_run(_irq_rig(), segs, at)
    assert irq[0] is None and irq[1] is None  # no window yet: read_mw raises OSError
    assert irq[2] == irq[3] == 3000000
    # After the last pulse: at most one pulse over the quiet time, then 0 after 15 min.
    assert irq[4] is not None and irq[4] < 3000000
    assert irq[5] == 6000  # 1 Wh in 10 min
    assert irq[7] == 0
    # PcntS0 sees pulses at the polls: within a pulse or two of the window.
    pc = _power_run(_pcnt_rig(), segs, at)
    assert pc[0] is None and pc[1] is None
    assert abs(pc[2] - 3000000) <= 3000000 // 50 and abs(pc[3] - 3000000) <= 3000000 // 50
    assert pc[7] == 0


def test_mw_arithmetic_stays_exact():
    from sunprint.drivers.s0 import _mw

    for n, dt, mj in ((1, 60000, 3600000), (166, 60000, 3600000), (7, 59999, 562500)):
        assert _mw(n, dt, mj) == n * mj * 1000 // dt
    assert _mw(1000, 240000, 3600) == 1000 * 3600 * 1000 // 240000


def test_poll_reports_a_line_stuck_at_the_pulse_level():
    for rig in (_irq_rig(stuck_ms=5000), _pcnt_rig(stuck_ms=5000)):
        clock, pin, s0 = rig[0], rig[1], rig[2]
        assert s0.poll() == OK
        _pulses(clock, pin, 3)
        assert s0.poll() == OK
        pin.drive(0)  # shorted: the line stays low
        flags = []
        for _ in range(8):
            clock.advance(1000)
            flags.append(s0.poll())
        assert flags[:4] == [OK] * 4 and flags[-1] == STUCK, flags
        pin.drive(1)
        clock.advance(100)
        assert s0.poll() == OK


def _wrapping_diff(a, b):
    # time.ticks_diff of the ESP32: ticks wrap at 2**30 ms (12.4 days).
    return ((a - b + 0x20000000) & 0x3FFFFFFF) - 0x20000000


def _paced(clock, pin, s0, n):
    # n pulses at 3 kW (one per 1.2 s), polled after each; the last read_mw().
    for _ in range(n):
        pin.drive(0)
        clock.advance(30)
        pin.drive(1)
        clock.advance(1170)
        s0.poll()
    return s0.read_mw()


def test_ticks_wrap_and_a_week_without_pulses():
    # ESP32 ticks: wrapping at 2**30 ms, ticks_diff valid for 6.2 days. Start just before a
    # wrap, then a week of silence: no pulse lost, the power goes to 0 and comes back.
    from sunprint.drivers import s0 as mod

    saved = mod.ticks_diff
    mod.ticks_diff = _wrapping_diff
    try:
        clock = VirtualClock(2**30 - 30000)
        pin = FakePin(clock)
        s0 = IrqS0(pin, ticks_ms=lambda: clock.ticks_ms() & 0x3FFFFFFF)
        assert _paced(clock, pin, s0, 150) == 3000000  # across the wrap
        assert s0.count() == 150
        clock.advance(7 * 24 * HOUR_MS)
        assert s0.read_mw() == 0 and s0.count() == 150
        _paced(clock, pin, s0, 1)
        assert s0.count() == 151
        assert _paced(clock, pin, s0, 150) == 3000000
        assert s0.count() == 301
    finally:
        mod.ticks_diff = saved


def test_select_s0_picks_the_counter_the_port_has():
    clock = VirtualClock()
    assert not has_pcnt()  # the unix port and CPython have no esp32.PCNT
    s0 = select_s0(FakePin(clock), ticks_ms=clock.ticks_ms)
    assert isinstance(s0, IrqS0)
    s0 = select_s0(FakePin(clock), pcnt_factory=FakePCNT, ticks_ms=clock.ticks_ms)
    assert isinstance(s0, PcntS0)
    assert s0.counts_per_kwh == 1000
    s0 = select_s0(FakePin(clock), counts_per_kwh=800, ticks_ms=clock.ticks_ms)
    assert s0.counts_per_kwh == 800


def test_constructor_errors():
    clock = VirtualClock()
    for kw in ({"counts_per_kwh": 0}, {"window_ms": 0}, {"window_ms": 240001}):
        try:
            IrqS0(FakePin(clock), ticks_ms=clock.ticks_ms, **kw)
        except ValueError as e:
            assert ("counts_per_kwh" in str(e)) or ("window_ms" in str(e))
        else:
            raise AssertionError(kw)


def test_deinit_stops_counting():
    clock, pin, s0 = _irq_rig()
    _pulses(clock, pin, 2)
    s0.deinit()
    _pulses(clock, pin, 2)
    assert s0.count() == 2


# --- allocation ---


def _drive(clock, pin, n):
    # Locals only: a new global would count as allocation. Bouncy pulses and glitches.
    for _ in range(n):
        pin.drive(0)
        clock.advance(1)
        pin.drive(1)  # leading bounce
        clock.advance(1)
        pin.drive(0)
        clock.advance(35)
        pin.drive(1)
        clock.advance(30)
        pin.drive(0)  # a glitch
        clock.advance(2)
        pin.drive(1)
        clock.advance(30)


def test_irq_handler_allocates_nothing():
    if not has_counter():
        return  # CPython: no allocation counter
    clock, pin, s0 = _irq_rig()
    _drive(clock, pin, 5)

    def step():
        _drive(clock, pin, 300)

    used = allocated(step)
    assert s0.count() == 305
    assert used == 0, used


def _polls(s0, clock, n):
    for _ in range(n):
        clock.advance(10000)
        s0.poll()
        s0.count()


def test_count_and_poll_allocate_nothing():
    if not has_counter():
        return
    for rig in (_irq_rig(), _pcnt_rig()):
        clock, pin, s0 = rig[0], rig[1], rig[2]
        _pulses(clock, pin, 50)
        _polls(s0, clock, 10)

        def step(s0=s0, clock=clock):
            _polls(s0, clock, 200)

        used = allocated(step)
        assert used == 0, used
