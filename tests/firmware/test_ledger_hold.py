# Honest accounting without a trusted clock (issue 16, item 2): energy produced while the date is
# unknown (a wall clock before 2024) is booked to lifetime at once and held for the periods; a
# trusted time attributes it to today when the last trusted wall clock or the monotonic clock
# proves it, else to the unattributed bucket. Never counted twice, never dropped, kept across a
# reboot (the record and the journal). CPython and MicroPython.
from sunprint.core.calendar import days_from_civil
from sunprint.core.ledger import (
    CO2,
    ENERGY,
    JOURNAL_SIZE,
    LIFETIME,
    MONTH,
    TODAY,
    YEAR,
    YESTERDAY,
    Ledger,
)
from sunprint.store import FULL, JOURNAL, FileBackend, Store

TZ = 8 * 3600
DAY = 86400
KW = 1000000
MIDNIGHT = 782179200 - TZ  # 2024-10-15 00:00 local, firmware seconds
HOUR_MWH = 1000000  # 1 kW for an hour


def _local_midnight(y, m, d):
    return days_from_civil(y, m, d) * DAY - TZ


def _hour(led, t, wall, power=KW, step=10):
    # One hour of constant power from monotonic t (wall clock wall, -2: as unset as at power-on)
    for i in range(0, 3601, step):
        led.add_power(t + i, power, wall + i if wall >= 0 else 100 + t + i)
    return t + 3600


def _reboot(led):
    again = Ledger()
    again.unpack(led.pack())
    again.resume()
    return again


def _balanced(led, q=ENERGY):
    # Everything in lifetime is in a period or held or unattributed: nothing dropped or doubled.
    return led.milli(q, LIFETIME) == (
        led.milli(q, TODAY) + led.milli(q, YESTERDAY) + led.held(q) + led.unattributed(q)
    )


def test_a_cut_that_loses_the_time_holds_then_books_to_the_same_day():
    led = Ledger()
    _hour(led, 0, MIDNIGHT + 9 * 3600)  # 09:00-10:00, trusted
    assert led.vouched() and led.mwh(TODAY) == HOUR_MWH
    led = _reboot(led)  # power back at 10:30 with the RTC at 2000-01-01
    _hour(led, 5, -2)
    assert not led.vouched() and led.holding
    assert led.mwh(TODAY) == HOUR_MWH and led.held() == HOUR_MWH
    assert led.mwh(LIFETIME) == 2 * HOUR_MWH  # lifetime at once
    led = _reboot(led)  # a second cut, still without the time: the hold is kept
    assert led.holding and led.held() == HOUR_MWH
    _hour(led, 3, -2)
    # NTP at 14:00: the last trusted wall clock (10:00) was today: all of it is today's
    _hour(led, 4000, MIDNIGHT + 14 * 3600)
    assert led.vouched() and led.held() == 0 and led.unattributed() == 0
    assert led.mwh(TODAY) == 4 * HOUR_MWH == led.mwh(MONTH) == led.mwh(YEAR)
    assert led.mwh(LIFETIME) == 4 * HOUR_MWH and _balanced(led) and _balanced(led, CO2)
    assert led.held_settled == 1


def test_ntp_late_is_proven_today_by_the_monotonic_clock():
    led = Ledger()  # a unit that never knew the date (no record)
    _hour(led, 1000, -2)
    assert not led.vouched() and led.mwh(TODAY) == 0 and led.held() == HOUR_MWH
    # NTP answers at 12:00 local, 2 h after the hold began: it began at 10:00 today
    _hour(led, 8200, MIDNIGHT + 12 * 3600)
    assert led.vouched() and led.mwh(TODAY) == 2 * HOUR_MWH and led.held() == 0


def test_a_hold_across_midnight_is_unattributed_never_dropped():
    led = Ledger()
    _hour(led, 0, MIDNIGHT + 10 * 3600)  # the 15th, trusted
    led = _reboot(led)
    _hour(led, 10, -2)  # the date lost (produced on the 15th, in truth)
    # the time comes back on the 16th at 01:00, 30 h of monotonic time later: not provable
    led.add_power(30 * 3600, 0, -2)
    led.add_power(30 * 3600 + 10, 0, MIDNIGHT + DAY + 3600)
    assert led.vouched() and led.held() == 0
    assert led.unattributed() == HOUR_MWH and led.mwh(TODAY) == 0
    assert led.mwh(YESTERDAY) == HOUR_MWH  # the 15th has only what it can vouch for
    assert led.mwh(LIFETIME) == 2 * HOUR_MWH and _balanced(led)
    assert led.held_unattributed == 1
    # the bucket survives a reboot and a day later
    led = _reboot(led)
    _hour(led, 5, MIDNIGHT + 2 * DAY + 9 * 3600)
    assert led.unattributed() == HOUR_MWH and led.mwh(LIFETIME) == 3 * HOUR_MWH


def test_a_hold_across_midnight_goes_to_the_month_and_year_it_is_provably_in():
    # as above: the hour held on the 15th is not provably the 15th's nor the 16th's, but the
    # last trusted wall clock (the 15th) and the time back (the 16th) are both October 2024:
    # the month and the year take it; no day does (it stays in the unattributed bucket)
    led = Ledger()
    _hour(led, 0, MIDNIGHT + 10 * 3600)
    led = _reboot(led)
    _hour(led, 10, -2)
    led.add_power(30 * 3600, 0, -2)
    led.add_power(30 * 3600 + 10, 0, MIDNIGHT + DAY + 3600)
    assert led.unattributed() == HOUR_MWH and led.mwh(TODAY) == 0
    assert led.mwh(YESTERDAY) == HOUR_MWH
    assert led.mwh(MONTH) == 2 * HOUR_MWH == led.mwh(YEAR) == led.mwh(LIFETIME)
    assert led.milli(CO2, MONTH) == led.milli(CO2, LIFETIME) and _balanced(led, CO2)
    # and a reboot and the next month keep it right: November starts at 0, the year keeps it
    led = _reboot(led)
    nov1 = _local_midnight(2024, 11, 1)
    _hour(led, 5, nov1 + 9 * 3600)
    assert led.mwh(MONTH) == HOUR_MWH and led.mwh(YEAR) == 3 * HOUR_MWH


def test_a_hold_across_the_month_end_goes_to_the_year_only():
    led = Ledger()
    oct31 = _local_midnight(2024, 10, 31)
    _hour(led, 0, oct31 + 20 * 3600)
    led = _reboot(led)
    _hour(led, 10, -2)  # the 31st, in truth; the time back on November 1st
    led.add_power(10 * 3600, 0, -2)
    led.add_power(10 * 3600 + 10, 0, oct31 + DAY + 2 * 3600)
    assert led.unattributed() == HOUR_MWH and led.mwh(TODAY) == 0
    assert led.mwh(MONTH) == 0 and led.mwh(YEAR) == 2 * HOUR_MWH
    # across the year's end: nothing but lifetime
    led = Ledger()
    dec31 = _local_midnight(2024, 12, 31)
    _hour(led, 0, dec31 + 20 * 3600)
    led = _reboot(led)
    _hour(led, 10, -2)
    led.add_power(10 * 3600, 0, -2)
    led.add_power(10 * 3600 + 10, 0, dec31 + DAY + 2 * 3600)
    assert led.unattributed() == HOUR_MWH and led.mwh(MONTH) == 0 and led.mwh(YEAR) == 0
    assert led.mwh(LIFETIME) == 2 * HOUR_MWH and _balanced(led)


def test_the_monotonic_clock_proves_the_month_without_a_trusted_wall_clock():
    led = Ledger()  # never knew the date
    _hour(led, 1000, -2)
    # NTP at 01:00 the next day, 3 h after the hold began (22:00 the day before): October's
    led.add_power(1000 + 3 * 3600, 0, -2)
    led.add_power(1000 + 3 * 3600 + 10, 0, MIDNIGHT + DAY + 3600 + 10)
    assert led.unattributed() == HOUR_MWH and led.mwh(TODAY) == 0
    assert led.mwh(MONTH) == HOUR_MWH == led.mwh(YEAR)
    # 3 h back from 01:00 on November 1st is October: the year only
    led = Ledger()
    _hour(led, 1000, -2)
    led.add_power(1000 + 3 * 3600, 0, -2)
    led.add_power(1000 + 3 * 3600 + 10, 0, _local_midnight(2024, 11, 1) + 3600 + 10)
    assert led.mwh(MONTH) == 0 and led.mwh(YEAR) == HOUR_MWH


def test_a_monotonic_span_longer_than_today_is_not_proof():
    led = Ledger()
    _hour(led, 0, -2)  # held from monotonic 0
    # the first trusted time is 00:30 local, 2 h after the hold began: it began yesterday
    led.add_power(7200, KW, MIDNIGHT + 1800)
    assert led.unattributed() == HOUR_MWH and led.mwh(TODAY) == 0


def test_held_energy_journals_and_restores():
    fs_store = Store(FileBackend(_MemFs()))
    led = Ledger()
    _hour(led, 0, MIDNIGHT + 9 * 3600)
    assert fs_store.save_ledger(led, None, FULL) == FULL
    led = _reboot(led)
    led.mark_base()
    led.add_power(10, KW, 50)  # the first sample without a date: the hold begins
    assert fs_store.save_ledger(led, None, JOURNAL) == FULL  # a hold began: a full record
    for i in range(2, 200):
        led.add_power(i * 10, KW, 50 + i * 10)
    buf = bytearray(JOURNAL_SIZE)
    assert led.journal_into(buf) == JOURNAL_SIZE and buf[0] == 3  # an entry of held energy
    assert fs_store.save_ledger(led, None, JOURNAL) == JOURNAL
    again = Ledger()
    assert fs_store.restore_into(again) == "ok"
    assert again.holding and again.held() == led.held() and again.mwh(TODAY) == HOUR_MWH
    assert again.mwh(LIFETIME) == led.mwh(LIFETIME)
    # a held entry never applies to a record whose date was known, nor the reverse
    known = Ledger()
    try:
        known.apply_journal(bytes(buf))
        raise AssertionError("a held entry applied to a ledger that knows the date")
    except ValueError:
        pass


def test_a_version_3_record_with_its_plan_restores():
    # what the previous firmware wrote: 425 bytes of ledger, then the plan's 16
    led = Ledger()
    _hour(led, 0, MIDNIGHT + 9 * 3600)
    v3 = bytes([3]) + led.pack()[1:425]

    class Plan:
        got = None

        def pack(self):
            return b"P" * 16

        def unpack(self, data):
            Plan.got = bytes(data)

    fs = _MemFs()
    Store(FileBackend(fs)).save(v3 + b"P" * 16)
    again = Ledger()
    assert Store(FileBackend(fs)).restore_into(again, Plan()) == "ok"
    assert again.mwh(TODAY) == HOUR_MWH and Plan.got == b"P" * 16 and not again.holding
    n = len(again.pack()) + 16
    assert n <= 496  # a record of the new state and the plan stays a 512-byte record


def test_holding_steady_state_allocates_nothing():
    import gc

    led = Ledger()
    _hour(led, 0, -2, step=60)
    t = 3600
    try:
        gc.collect()
        gc.disable()
        before = gc.mem_alloc()  # type: ignore[attr-defined]
    except AttributeError:
        return  # CPython: nothing to count
    for i in range(100):
        led.add_power(t + i * 10, 2 * KW, 100 + t + i * 10)
    used = gc.mem_alloc() - before  # type: ignore[attr-defined]
    gc.enable()
    assert used == 0, used


class _File:
    def __init__(self, fs, path, mode):
        self.fs, self.path, self.mode = fs, path, mode
        self.data = bytearray() if "w" in mode else bytearray(fs.files[path])
        self.pos = 0

    def read(self, n=-1):
        out = bytes(self.data[self.pos : self.pos + n if n >= 0 else len(self.data)])
        self.pos += len(out)
        return out

    def write(self, b):
        self.data += b

    def flush(self):
        pass

    def close(self):
        if "w" in self.mode:
            self.fs.files[self.path] = bytes(self.data)


class _MemFs:
    def __init__(self):
        self.files = {}

    def open(self, path, mode):
        return _File(self, path, mode)

    def rename(self, src, dst):
        self.files[dst] = self.files.pop(src)

    def remove(self, path):
        del self.files[path]

    def exists(self, path):
        return path in self.files


class _Lcg:
    # a seeded generator both interpreters run alike (MicroPython's random differs)
    def __init__(self, seed):
        self.x = seed

    def below(self, n):
        self.x = (self.x * 1103515245 + 12345) & 0x7FFFFFFF
        return (self.x >> 8) % n


def _simulate(seed, start):
    """Four days from local midnight `start` at a constant 3.6 kW sampled every minute, with
    random power cuts (a random outage, the time lost or not, given back from 10 min to 40 h
    later). The truth of each interval is its true wall clock's day, month and year. Returns
    the ledger and the truth: {("d"|"m"|"y", key): mWh}, the total, and for the current month
    and year the energy held in holds whose start bound does not prove them (a lower bound)."""
    from sunprint.core.calendar import month_key

    rng = _Lcg(seed)
    led = Ledger()
    p_mw = 3600000
    e_min = p_mw * 60 // 3600  # mWh per minute: exact, no remainder
    truth = {}
    total = 0
    wall, t = start, 0
    known, back_at = True, -1
    last_trusted = -1
    hold = None  # [bound wall, {month key: mWh}, {year: mWh}] of the hold in progress
    unproven_m, unproven_y = {}, {}
    first = True
    while wall < start + 4 * DAY:
        if not first and rng.below(1500) == 0:  # a power cut
            led = _reboot(led)
            wall += 60 * (1 + rng.below(120))
            t = 5 + rng.below(50)
            if rng.below(10) < 7:
                known, back_at = False, wall + 600 + 60 * rng.below(2400)
            first = True
        if not known and wall >= back_at:
            known = True
        led.add_power(t, p_mw, wall if known else 100 + t)
        m = month_key(led.day_of(wall))  # the month the ledger is in now
        y = m // 12
        if known:
            if hold is not None:  # released at this sample: proven where the bound says
                mb = month_key(led.day_of(hold[0])) if hold[0] >= 0 else -1
                for k in hold[1]:
                    if mb != m:
                        unproven_m[k] = unproven_m.get(k, 0) + hold[1][k]
                for k in hold[2]:
                    if mb < 0 or mb // 12 != y:
                        unproven_y[k] = unproven_y.get(k, 0) + hold[2][k]
                hold = None
            last_trusted = wall
        elif not first:
            if hold is None:
                hold = [last_trusted, {}, {}]
        if not first:  # the interval that ends here (the first after a boot is an outage)
            day = led.day_of(wall - 1)  # one that ends at midnight is the day before's
            m, y = month_key(day), month_key(day) // 12
            for key in (("d", day), ("m", m), ("y", y)):
                truth[key] = truth.get(key, 0) + e_min
            total += e_min
            if not known:
                hold[1][m] = hold[1].get(m, 0) + e_min
                hold[2][y] = hold[2].get(y, 0) + e_min
        first = False
        wall += 60
        t += 60
    if hold is not None:  # still held at the end: in no period
        for k in hold[1]:
            unproven_m[k] = unproven_m.get(k, 0) + hold[1][k]
        for k in hold[2]:
            unproven_y[k] = unproven_y.get(k, 0) + hold[2][k]
    day = led.day_of(wall - 60)
    m = month_key(day)
    return led, truth, total, day, m, unproven_m.get(m, 0), unproven_y.get(m // 12, 0)


def test_randomized_holds_across_month_and_year_ends_against_the_truth():
    starts = (_local_midnight(2024, 10, 30), _local_midnight(2024, 12, 30))
    for seed in range(6):
        led, truth, total, day, m, not_m, not_y = _simulate(1600 + seed, starts[seed % 2])
        why = "seed %d" % seed
        assert led.mwh(LIFETIME) == total, why  # nothing dropped, nothing twice
        if led.vouched():
            assert led.mwh(TODAY) <= truth.get(("d", day), 0), why
        # never more than the truth; at least all of it but what no bound proves
        month, year = truth.get(("m", m), 0), truth.get(("y", m // 12), 0)
        assert month - not_m <= led.mwh(MONTH) <= month, (why, month, not_m, led.mwh(MONTH))
        assert year - not_y <= led.mwh(YEAR) <= year, (why, year, not_y, led.mwh(YEAR))
