# Per-meter accounting of a community: each meter's register is the truth for its share; the
# rules are the single-meter ledger's (checked here against a Ledger fed the same readings);
# the community total is the exact sum; silence, glitches, swaps and a restored record never
# distort it. CPython and MicroPython.
import gc

from community_rig import build, run_round

from host_tools.sim.chips.dlt645_bus import COLLIDE, SILENT, WRONG_ADDRESS
from sunprint.community.meters import HEADER_SIZE, RECORD_SIZE, CommunityMeters
from sunprint.core.ledger import LIFETIME, TODAY, Ledger

WALL0 = 849398400  # 2026-12-01 00:00 UTC, firmware seconds (a set clock)
ADDR = [bytes([i + 1, 0, 0, 0, 0, 0]) for i in range(5)]


def _meter_ledger():
    # A power-less counter of 0.01 kWh, 30 kW: what CommunityMeters keeps per meter.
    return Ledger(counter_per_kwh=100, counter_max_power_w=30000)


def _same_as_ledger(readings):
    # readings: (t, count, wall); both must book the same counts (Ledger in mWh: 10 Wh a count).
    led = _meter_ledger()
    cm = CommunityMeters(ADDR[:1], max_power_w=30000)
    for t, c, w in readings:
        led.add_counter(t, c, w)
        cm.add(0, t, c, w)
    assert cm.booked[0] * 10000 == led.milli(0, LIFETIME), (cm.booked[0], led.milli(0, LIFETIME))
    assert cm.resets[0] == led.counter_resets
    assert cm.total_wh == cm.booked[0] * 10
    return cm


def test_rules_match_the_ledger():
    base = [(10 * i, 5000 + i, WALL0 + 10 * i) for i in range(10)]
    # a one-poll glitch
    cm = _same_as_ledger(base + [(100, 1005000, WALL0 + 100)] + [(110, 5011, WALL0 + 110)])
    assert cm.booked[0] == 11 and cm.implausible[0] == 1
    # a swap: the register starts elsewhere and stays
    swap = [(100 + 10 * i, 70 + i, WALL0 + 100 + 10 * i) for i in range(6)]
    cm = _same_as_ledger(base + swap)
    assert cm.resets[0] == 1 and cm.booked[0] == 9 + 2 + 3  # the run's steps, then its own
    # silent for two hours, then back with what the register counted meanwhile
    back = [(7300, 5009 + 700, WALL0 + 7300), (7310, 5009 + 701, WALL0 + 7310)]
    cm = _same_as_ledger(base + back)
    assert cm.booked[0] == 9 + 701
    # a wrap at 999999.99 kWh (span 10**8)... the Ledger's span is 2**32: only ours wraps
    cm = CommunityMeters(ADDR[:1])
    cm.add(0, 0, 99999990, WALL0)
    cm.add(0, 60, 5, WALL0 + 60)
    assert cm.booked[0] == 15 and cm.wraps[0] == 1


def test_reboot_untimed_step_matches_the_ledger():
    led = _meter_ledger()
    cm = CommunityMeters(ADDR[:1])
    for i in range(5):
        led.add_counter(10 * i, 100 + i, 0)  # wall clock unset
        cm.add(0, 10 * i, 100 + i, 0)
    led.resume()
    cm.resume()
    for i in range(4):  # an untimed step up: booked once confirmed
        led.add_counter(10 * i, 300 + i, 0)
        cm.add(0, 10 * i, 300 + i, 0)
    assert cm.booked[0] * 10000 == led.milli(0, LIFETIME) == (303 - 100 + 4 - 0 - 4) * 10000


def test_bad_readings_refused():
    cm = CommunityMeters(ADDR[:2])
    cm.add(0, 10, 100, WALL0)
    cm.add(0, 5, 101, WALL0)  # time backwards
    cm.add(0, 20, -1, WALL0)
    cm.add(0, 20, 10**8, WALL0)
    cm.add(0, 20, 1.5, WALL0)
    assert cm.refused == 4 and cm.total_wh == 0
    try:
        CommunityMeters([])
    except ValueError:
        pass
    else:
        raise AssertionError("no meters accepted")


def _power(i, s, length=14400):
    # Each home's array: a plateau around noon, scaled per home, in W.
    if s < 0 or s >= length:
        return 0.0
    x = s / length
    return (1500.0 + 600.0 * i) * 4 * x * (1 - x)


def _day(period_s=60, hours=4):
    # 5 meters, read every period_s over `hours` of a day; meters 3 and 5 (i = 2, 4) silent for
    # two hours, meter 2 (i = 1) replaced (a new register at 0.00 kWh) at dusk of its own array (power 0).
    clock, bus, poller, wire = build(read_power=False)
    cm = CommunityMeters(wire)
    led = Ledger(counter_per_kwh=1000, counter_bits=30, counter_max_power_w=10000000)
    start = [int(m.energy_kwh * 100 + 1e-6) for m in bus.meters]
    truth = [0, 0, 0, 0, 0]  # counts each register moved while on the bus
    swapped_at = None
    steps = hours * 3600 // period_s
    for k in range(steps):
        s = k * period_s
        t = 1000 + s
        if s == 3600:
            bus.set_fault("000000000003", SILENT)
            bus.set_fault("000000000005", SILENT)
        if s == 3 * 3600:
            bus.clear_fault("000000000003")
            bus.clear_fault("000000000005")
        run_round(clock, poller, tick_ms=10)
        for i in range(5):
            if poller.fresh[i]:
                cm.add(i, t, poller.energy[i], WALL0 + 8 * 3600 + s)
        cm.feed(led, t, WALL0 + 8 * 3600 + s)
        for i in range(5):
            m = bus.meters[i]
            m.power_w = 0.0 if (i == 1 and 7000 <= s <= 7400) else _power(i, s, hours * 3600)
        if s == 7200:
            old = int(bus.meters[1].energy_kwh * 100 + 1e-6)
            truth[1] += old - start[1]
            start[1] = 0
            bus.meters[1].swap(wire[1], 0.0)
            swapped_at = s
        bus.advance(period_s)
    # The last readings are the end of the day chunk: what each register says now.
    for i in range(5):
        truth[i] += int(bus.meters[i].energy_kwh * 100 + 1e-6) - start[i]
    return cm, led, poller, truth, swapped_at


def test_community_day_with_silence_and_a_swap_is_exact():
    cm, led, poller, truth, swapped_at = _day()
    # The last round read every register (meters 2 and 4 are back): total = sum of truths.
    assert poller.reporting() == 5
    total = 0
    for i in range(5):
        assert cm.booked[i] == truth[i], (i, cm.booked[i], truth[i])
        total += truth[i] * 10
    assert cm.total_wh == total
    assert cm.resets[1] == 1 and cm.resets[0] == cm.resets[2] == 0
    # The community Ledger got all of it (a silent meter's backlog in plausible parts).
    for _ in range(3):
        cm.feed(led, 99999, WALL0 + 13 * 3600)  # nothing left to drain; still the same day
    assert cm.fed_wh == cm.total_wh
    assert led.mwh(LIFETIME) == total * 1000 and led.mwh(TODAY) == total * 1000
    assert led.counter_resets == 0 and led.counter_implausible == 0


def test_wrong_address_and_collision_never_reach_the_total():
    clock, bus, poller, wire = build(read_power=False)
    cm = CommunityMeters(wire)
    run_round(clock, poller)
    for i in range(5):
        cm.add(i, 600, poller.energy[i], WALL0)
    for m in bus.meters:
        m.energy_kwh += 1.0
    bus.set_fault("000000000002", WRONG_ADDRESS)
    bus.set_fault("000000000003", COLLIDE)  # the twin's register reads 123.45 kWh more
    for k in range(2, 6):
        run_round(clock, poller)
        for i in range(5):
            if poller.fresh[i]:
                cm.add(i, 600 * k, poller.energy[i], WALL0 + 600 * k)
    assert poller.wrong[1] == 4 and poller.wrong[2] == 4
    assert cm.total_wh == 3 * 1000  # three meters' 1 kWh; the faulty two: nothing yet
    bus.clear_fault("000000000002")
    bus.clear_fault("000000000003")
    run_round(clock, poller)
    for i in range(5):
        cm.add(i, 3600, poller.energy[i], WALL0 + 3600)
    assert cm.total_wh == 5 * 1000


def test_record_keeps_history_by_address_and_credits_the_journal():
    cm = CommunityMeters(ADDR[:3])
    for i in range(3):
        cm.add(i, 0, 1000 * (i + 1), WALL0)
        cm.add(i, 60, 1000 * (i + 1) + 5, WALL0 + 60)
    assert cm.record_size() == HEADER_SIZE + 3 * RECORD_SIZE == 11 + 42
    buf = bytearray(cm.record_size())
    assert cm.pack_into(buf) == len(buf)
    # The profile drops meter 2 (ADDR[1]) and adds ADDR[4]: the others keep their anchors.
    cm2 = CommunityMeters([ADDR[0], ADDR[2], ADDR[4]])
    # The community Ledger's journal booked 20 Wh beyond the record's fed_wh (0 here).
    assert cm2.restore(buf, ledger_anchor=20) == 2
    assert cm2.last[0] == 1005 and cm2.last[1] == 3005 and cm2.last[2] == -1
    assert cm2.total_wh == 150 and cm2.fed_wh == 20
    # After the reboot, the registers moved on by 3 counts each; wall clocks time the steps.
    cm2.add(0, 5, 1008, WALL0 + 300)
    cm2.add(1, 5, 3008, WALL0 + 300)
    cm2.add(2, 5, 777, WALL0 + 300)  # the new meter: its baseline
    assert cm2.total_wh == 150 + 60
    led = Ledger(counter_per_kwh=1000, counter_bits=30, counter_max_power_w=10000000)
    led.add_counter(0, 20, WALL0)
    cm2.feed(led, 10, WALL0 + 310)
    assert led.mwh(LIFETIME) == 190 * 1000  # 210 - the 20 the journal already booked
    for bad in (b"", b"\x02" + bytes(10), bytes(buf[:-1])):
        try:
            cm2.restore(bad)
        except ValueError:
            pass
        else:
            raise AssertionError(bad)


def test_heap_per_added_meter():
    if not hasattr(gc, "mem_alloc"):
        return
    from community_rig import ADDRESSES

    from sunprint.community.schedule import DLT645Bus
    from sunprint.drivers.dlt645 import parse_address

    def cost(n):
        wire = [parse_address(ADDRESSES[i % 5]) for i in range(n)]
        gc.collect()
        before = gc.mem_alloc()  # type: ignore[attr-defined]
        cm = CommunityMeters(wire)
        p = DLT645Bus(_NoDriver(), wire)
        used = gc.mem_alloc() - before  # type: ignore[attr-defined]
        assert cm.n == n and p.n == n
        return used

    per = (cost(16) - cost(1)) // 15
    print("heap per added meter: %d B" % per)
    assert per <= 300, per


class _NoDriver:
    uart = None


def _lcg(seed):
    # A tiny portable generator (CPython and MicroPython give the same sequence).
    s = [seed]

    def rnd(n):
        s[0] = (s[0] * 1103515245 + 12345) & 0x7FFFFFFF
        return (s[0] >> 8) % n

    return rnd


def test_random_histories_book_as_the_ledger_does():
    # Register histories with glitches, resets, swaps, silences and reboots (with and without
    # a wall clock): per meter, the same counts as a power-less Ledger fed the same readings.
    for seed in range(40):
        rnd = _lcg(seed + 1)
        led = _meter_ledger()
        cm = CommunityMeters(ADDR[:1], max_power_w=30000)
        t = 0
        wall = WALL0 if rnd(2) else 0
        count = rnd(100000)
        for _ in range(120):
            r = rnd(100)
            if r < 5:
                t += 3600 + rnd(7200)  # silent for hours
            elif r < 8:
                led.resume()
                cm.resume()
                t = rnd(50)  # the monotonic clock restarts
                wall += 600
            else:
                t += 10
            wall += 10
            count += rnd(9)  # up to 8 counts in 10 s: plausible at 30 kW
            reading = count
            if r >= 96:
                reading = rnd(10**7)  # a one-poll glitch
            elif r == 95:
                count = rnd(1000)  # a swap: the register restarts elsewhere
                reading = count
            led.add_counter(t, reading, wall)
            cm.add(0, t, reading, wall)
            assert cm.booked[0] * 10000 == led.milli(0, LIFETIME), (seed, t, reading)
        assert cm.resets[0] == led.counter_resets
        assert cm.refused == led.refused, seed


def test_power_cut_restores_from_record_and_journal_without_double_or_loss():
    # Registers move 3 counts a minute on each meter. A full record at 10 min (ledger state and
    # the per-meter record), a journal entry at 25 min, a power cut at 30 min (5 min unsaved),
    # back at 40 min with meters 2 and 3 silent for 5 minutes: the meters' anchors of 10 min
    # re-deliver everything since; the Ledger's journal said 15 of those minutes were booked:
    # credited, not booked twice (without the credit the first feed after the cut is below
    # the Ledger's anchor: a step backwards it distrusts).
    from sunprint.core.ledger import JOURNAL_SIZE

    def fresh():
        return Ledger(counter_per_kwh=1000, counter_bits=30, counter_max_power_w=10000000)

    cm = CommunityMeters(ADDR[:3])
    led = fresh()
    reg = [1000, 5000, 90000]

    def minute(cm, led, m):
        for i in range(3):
            cm.add(i, 60 * m, reg[i] + 3 * m, WALL0 + 36000 + 60 * m)
        cm.feed(led, 60 * m, WALL0 + 36000 + 60 * m)

    for m in range(11):
        minute(cm, led, m)
    full = led.pack()
    led.mark_base()
    rec = bytearray(cm.record_size())
    cm.pack_into(rec)
    for m in range(11, 26):
        minute(cm, led, m)
    journal = bytearray(JOURNAL_SIZE)
    assert led.journal_into(journal) == JOURNAL_SIZE
    for m in range(26, 31):
        minute(cm, led, m)  # booked, never saved: lost with the power
    # The power comes back at 40 min.
    led2 = fresh()
    led2.unpack(full)
    led2.apply_journal(bytes(journal))
    led2.resume()
    cm2 = CommunityMeters(ADDR[:3])
    assert cm2.restore(rec, ledger_anchor=led2.counter_anchor) == 3
    for m in range(40, 61):
        for i in range(3):
            if i == 0 or m >= 45:
                cm2.add(i, 60 * (m - 40), reg[i] + 3 * m, WALL0 + 36000 + 60 * m)
        cm2.feed(led2, 60 * (m - 40), WALL0 + 36000 + 60 * m)
    truth_wh = 3 * 3 * 60 * 10  # 3 meters x 3 counts x 60 min x 10 Wh
    assert cm2.total_wh == truth_wh
    assert led2.mwh(LIFETIME) == truth_wh * 1000, led2.mwh(LIFETIME)
    assert led2.counter_resets == 0 and led2.counter_implausible == 0


def test_times_up_to_int32_are_taken():
    # 2040 in firmware seconds is past the 32-bit VM's small ints (2034) but within int32.
    cm = CommunityMeters(ADDR[:1])
    w2040 = 1262304000
    cm.add(0, 10, 500, w2040)
    cm.add(0, 70, 503, w2040 + 60)
    cm.add(0, 80, 504, 1 << 31)  # beyond int32: refused
    cm.add(0, 80, 504, -5)
    assert cm.booked[0] == 3 and cm.refused == 2


def test_one_copy_of_the_confirm_run_rule():
    # The per-meter accounting keeps its candidate runs with the Ledger's own function (one
    # copy of the rule that accepts a new register level), laid out as the Ledger's run.
    from sunprint.community import meters as community_meters
    from sunprint.core import ledger

    assert community_meters.counter_run is ledger.counter_run
    m = CommunityMeters([b"\x01\x00\x00\x00\x00\x00"], max_power_w=1000)
    m.add(0, 0, 1000)
    m.add(0, 60, 900)  # backwards: a swap's first reading, the start of a run
    assert m.run[0] == 900 and m.run[3] == 1  # its level and readings (the Ledger's layout)
    m.add(0, 120, 901)
    m.add(0, 180, 902)  # the third consistent reading: the new anchor
    assert m.last[0] == 902 and m.resets[0] == 1 and m.booked[0] == 2


def test_a_silence_across_midnight_is_in_no_day():
    # Meter 2 goes silent at 17:00 while producing and answers again at 10:00 the next day:
    # its register's step since its anchor holds yesterday's evening and today's morning, and
    # no clock can split it, so it is booked as the Ledger books held energy it cannot prove
    # today's: lifetime and unattributed, in neither day (a same-day silence stays today's).
    midnight = 849456000  # 2026-12-02 00:00 local (UTC+8), firmware seconds
    w0 = midnight - 8 * 3600  # 16:00 the day before
    cm = CommunityMeters([b"\x01\x00\x00\x00\x00\x00", b"\x02\x00\x00\x00\x00\x00"])
    led = Ledger(counter_per_kwh=1000, counter_bits=30, counter_max_power_w=10000000)
    cm.tz_offset_s = led.tz_offset_s
    regs = [1000, 2000]
    t = 0
    while t <= 18 * 3600:  # every minute from 16:00 to 10:00
        for i in (0, 1):
            if 3600 <= t < 18 * 3600 and t % 300 == 0:
                regs[i] += 1  # 10 Wh every 5 minutes (a dusk and a dawn, simplified)
            if i == 1 and 3600 < t < 18 * 3600:
                continue  # meter 2 silent from 17:00 to 10:00
            cm.add(i, t, regs[i], w0 + t)
        cm.feed(led, t, w0 + t)
        t += 60
    silent_wh = (regs[1] - 2000 - 1) * 10  # its step at 10:00 (one count came before 17:00)
    assert cm.unattributed_wh == silent_wh > 0
    assert led.unattributed() == silent_wh * 1000
    assert led.mwh(LIFETIME) == cm.total_wh * 1000 == (regs[0] - 1000 + regs[1] - 2000) * 10000
    # today (after midnight to 10:00): meter 1's steps only (its count read at 00:00 is of the
    # minute before: the Ledger gives an interval ending at midnight to the day before)
    today_counts = sum(1 for x in range(3600, 18 * 3600, 300) if w0 + x > midnight)
    assert led.mwh(TODAY) == today_counts * 10000, (led.mwh(TODAY), today_counts)
    # the record carries what the counter was fed: a restore does not feed the step again
    data = bytearray(cm.record_size())
    cm.pack_into(data)
    cm2 = CommunityMeters([b"\x01\x00\x00\x00\x00\x00", b"\x02\x00\x00\x00\x00\x00"])
    cm2.restore(bytes(data), led.counter_anchor)
    assert cm2.total_wh - cm2.unattributed_wh - cm2.fed_wh == 0
