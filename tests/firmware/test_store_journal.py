# The journal beside the full records (issue 12, item 10): a full record plus its newest journal
# entry restores exactly the ledger that wrote the entry, whatever it booked meanwhile; a cut at
# any operation of any save or append restores the last completed state or the one in flight.
# CPython and MicroPython.
# micropython-vm: app (the deployed form: the app frozen into the 32-bit binary, where the
# freezer makes an int constant of a tuple beyond 14 bits a long-int object: a journal append's
# CRC tables must not be such objects, or every append allocates)
import gc

from quiet_backend import QuietBackend

from host_tools.sim.platform.fakenvs import FakeNVS
from host_tools.sim.platform.faultfs import AFTER, BEFORE, FaultFS, PowerCut
from sunprint.core.ledger import ENERGY, JOURNAL_SIZE, LIFETIME, TODAY, YESTERDAY, Ledger
from sunprint.nvsstore import NvsBackend
from sunprint.store import FULL, JOURNAL, FileBackend, Store

TZ = 8 * 3600
T0 = 782179200 - TZ + 6 * 3600  # 2024-10-15 06:00 local, firmware seconds


class Lcg:
    # A small deterministic random source that runs in both interpreters.
    def __init__(self, seed):
        self.x = seed

    def next(self, n):
        self.x = (self.x * 1103515245 + 12345) & 0x7FFFFFFF
        return self.x % n


def _comparable(led):
    # The state a reboot keeps: resume() forgets the monotonic clock, the last power and the
    # unsaved count are not carried over.
    led.resume()
    led._last_mw = 0
    led.mark_saved()
    return led.pack()


def _restored(base_state, entry):
    led = Ledger(tz_offset_s=TZ)
    led.unpack(base_state)
    led.mark_base()
    if entry is not None:
        led.apply_journal(entry)
    return led


def _feed(led, rng, t, n, counter=None):
    # n samples of random power, with flagged readings, gaps and (if counter) a register.
    for _ in range(n):
        k = rng.next(50)
        t += 10 if k else 400  # a gap now and then: missing time
        ok = rng.next(30) != 0
        led.add_power(t, rng.next(9000) * 1000 + rng.next(1000), -1, ok)
        if counter is not None:
            counter[0] += rng.next(4)
            if rng.next(200) == 0:
                counter[0] = rng.next(100)  # a meter swap: the ledger rebases
            led.add_counter(t, counter[0])
    return t


def test_base_plus_journal_is_the_ledger_that_wrote_it():
    for seed, with_counter in ((1, False), (2, True), (3, False), (4, True)):
        rng = Lcg(seed)
        led = Ledger(tz_offset_s=TZ, counter_per_kwh=1000)
        counter = [5000] if with_counter else None
        t = T0
        t = _feed(led, rng, t, 30, counter)
        checked = 0
        for _ in range(12):
            led.mark_base()  # a full record holds this state
            base_state = led.pack()
            for _ in range(4):
                t = _feed(led, rng, t, 1 + rng.next(40), counter)
                buf = bytearray(JOURNAL_SIZE + 3)
                n = led.journal_into(buf, 3)
                assert n == JOURNAL_SIZE, n
                entry = bytes(buf[3 : 3 + n])
                want = Ledger(tz_offset_s=TZ, counter_per_kwh=1000)
                want.unpack(led.pack())
                got = _restored(base_state, entry)
                assert _comparable(got) == _comparable(want), (seed, checked)
                checked += 1
        assert checked == 48
        gc.collect()


def test_a_new_day_or_new_factors_need_a_full_record():
    led = Ledger(tz_offset_s=TZ)
    buf = bytearray(JOURNAL_SIZE)
    led.add_power(T0, 1000000)
    assert led.journal_into(buf) == 0  # no full record holds a state of it yet
    led.mark_base()
    led.add_power(T0 + 10, 1000000)
    assert led.journal_into(buf) == JOURNAL_SIZE
    midnight = T0 + 18 * 3600  # local midnight
    led.add_power(midnight + 5, 1000000)
    assert led.mwh(YESTERDAY) > 0  # rolled over
    assert led.journal_into(buf) == 0
    led.mark_base()
    assert led.journal_into(buf) == JOURNAL_SIZE
    led.set_factors(5000, 3000)
    assert led.journal_into(buf) == 0
    led.mark_base()
    assert led.journal_into(buf) == JOURNAL_SIZE
    led.seed_lifetime(10**9)  # the lifetime alone moved: only a full record says it
    assert led.journal_into(buf) == 0


def test_a_reboot_on_a_journal_measures_its_outage_from_the_journal():
    # The outage after a reboot is missing time from the last kept sample (Ledger.resume): with
    # a journal entry newer than the full record, that sample's wall clock is the entry's. Taken
    # from the base record, the hour the journal did book would count as missing too.
    led = Ledger(tz_offset_s=TZ)
    led.add_power(T0, 1000000)
    led.add_power(T0 + 10, 1000000)
    base = led.pack()
    led.mark_base()
    t = T0 + 10
    while t < T0 + 3600:
        t += 10
        led.add_power(t, 1000000)
    buf = bytearray(JOURNAL_SIZE)
    assert led.journal_into(buf) == JOURNAL_SIZE
    after = Ledger(tz_offset_s=TZ)
    after.unpack(base)
    after.apply_journal(bytes(buf))
    after.resume()
    missing = after.missing_s
    after.add_power(5, 1000000, t + 600)  # the unit is back 10 minutes later (a new t)
    assert after.missing_s - missing == 600, after.missing_s - missing


def test_an_entry_that_does_not_fit_is_refused_untouched():
    led = Ledger(tz_offset_s=TZ)
    led.add_power(T0, 2000000)
    led.add_power(T0 + 10, 2000000)
    led.mark_base()
    led.add_power(T0 + 20, 2000000)
    buf = bytearray(JOURNAL_SIZE)
    led.journal_into(buf)
    entry = bytes(buf)
    other = Ledger(tz_offset_s=TZ)
    other.unpack(led.pack())
    before = other.pack()
    bad_version = b"\x09" + entry[1:]
    other_day = entry[:1] + (led.day + 1).to_bytes(4, "little") + entry[5:]
    negative = entry[:5] + b"\xff\xff\xff\xff" + entry[9:]
    for bad in (b"", entry[:-1], entry + b"\x00", bad_version, other_day, negative):
        try:
            other.apply_journal(bad)
        except ValueError:
            pass
        else:
            raise AssertionError("accepted %r" % bad[:6])
        assert other.pack() == before


def test_journal_into_allocates_nothing():
    if not hasattr(gc, "mem_alloc"):  # CPython: nothing to measure
        return
    led = Ledger(tz_offset_s=TZ, counter_per_kwh=1000)
    led.add_counter(T0, 5000)
    led.add_power(T0, 3000000)
    led.mark_base()
    buf = bytearray(JOURNAL_SIZE)
    mv = memoryview(buf)
    led.add_power(T0 + 10, 3000000)
    led.add_counter(T0 + 10, 5009)
    led.journal_into(mv)
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()  # type: ignore[attr-defined]
        for _ in range(50):
            n = led.journal_into(mv)
        used = gc.mem_alloc() - before  # type: ignore[attr-defined]
    finally:
        gc.enable()
    assert n == JOURNAL_SIZE
    assert used == 0, used


# -- the store: full records, the journal, and power cuts --


class Unit:
    """A ledger and its store on a medium; feed() books a sample, persist() saves."""

    def __init__(self, medium, nvs=False):
        self.medium = medium
        backend = NvsBackend(medium) if nvs else FileBackend(medium)
        self.store = Store(backend)
        self.ledger = Ledger(tz_offset_s=TZ)
        self.status = self.store.restore_into(self.ledger)
        self.ledger.resume()

    def total(self):
        return self.ledger.mwh(LIFETIME)


# A plan of saves: FULL or JOURNAL after each step of 10 s at 3.6 kW (10 Wh a step).
PLAN = (FULL, JOURNAL, JOURNAL, JOURNAL, FULL, JOURNAL, FULL, FULL, JOURNAL, JOURNAL)


def _run_plan(unit, t):
    # Returns (last completed total, total in flight or None, t).
    done = unit.total() if unit.status != "empty" else None
    for kind in PLAN:
        t += 10
        unit.ledger.add_power(t, 3600000)
        inflight = unit.total()
        try:
            unit.store.save_ledger(unit.ledger, None, kind)
        except PowerCut:
            return done, inflight, t
        done = inflight
    return done, None, t


def _saves(unit, kinds, t=T0):
    """A step of 10 s at 3.6 kW (10 Wh), then a save of each kind in kinds, in turn; the last t."""
    for kind in kinds:
        t += 10
        unit.ledger.add_power(t, 3600000)
        unit.store.save_ledger(unit.ledger, None, kind)
    return t


def _ops(make_medium, nvs):
    clean = make_medium(None, BEFORE)
    unit = Unit(clean, nvs)
    unit.ledger.add_power(T0, 3600000)
    _run_plan(unit, T0)
    return clean.ops


def _cut_everywhere(make_medium, nvs):
    total = _ops(make_medium, nvs)
    cuts = 0
    for n in range(total):
        for mode in (BEFORE, AFTER):
            medium = make_medium(n, mode)
            unit = Unit(medium, nvs)
            unit.ledger.add_power(T0, 3600000)
            done, inflight, t = _run_plan(unit, T0)
            assert inflight is not None, (n, mode)  # every operation is a cut point
            again = Unit(medium.reboot(), nvs)
            got = again.total()
            assert again.status in ("ok", "empty", "fallback"), again.status
            if done is None:
                assert got == 0 or got == inflight, (n, mode, got, inflight)
            else:
                assert got == done or got == inflight, (n, mode, got, done, inflight)
            # and it carries on: the next saves land and win
            again.ledger.add_power(t + 5, 3600000)
            again.ledger.add_power(t + 15, 3600000)
            again.store.save_ledger(again.ledger, None, JOURNAL)
            want = again.total()
            assert Unit(again.medium.reboot(), nvs).total() == want
            cuts += 1
            if hasattr(gc, "mem_alloc"):
                gc.collect()  # MicroPython: a unit per cut, keep the heap unfragmented
    return total, cuts


def test_cut_at_every_operation_of_saves_and_appends_on_files():
    cuts = 0
    for torn in (0, 5):
        for atomic in (True, False):

            def make(n, mode, torn=torn, atomic=atomic):
                return FaultFS(cut_at=n, cut_mode=mode, torn=torn, atomic_rename=atomic)

            total, c = _cut_everywhere(make, False)
            cuts += c
    print("file cut points:", cuts)
    assert cuts >= 300, cuts


def test_cut_at_every_operation_of_saves_and_appends_on_nvs():
    def make(n, mode):
        return FakeNVS(cut_at=n, cut_mode=mode)

    total, cuts = _cut_everywhere(make, True)
    assert total == 2 * len(PLAN)  # set_blob and commit, for either kind
    print("nvs cut points:", cuts)


def test_a_torn_newest_entry_falls_back_to_the_one_before():
    fs = FaultFS()
    unit = Unit(fs)
    _saves(unit, (FULL, JOURNAL, JOURNAL, JOURNAL))
    newest = unit.total()
    durable = fs.reboot()
    assert Unit(durable).total() == newest
    name = "ledger.j0" if unit.store._jseq[0] > unit.store._jseq[1] else "ledger.j1"
    data = bytearray(durable.peek(name))
    data[20] ^= 0x40
    durable.poke(name, data)
    again = Unit(durable)
    assert again.status == "ok"
    assert again.total() == newest - 10000  # the entry before: one step of 10 Wh less
    assert again.store.note is None  # a torn entry is what a cut leaves: not a fault


def test_entries_on_another_record_are_ignored():
    fs = FaultFS()
    unit = Unit(fs)
    _saves(unit, (FULL, JOURNAL, JOURNAL, FULL))
    # The entries were made on the first record; the second holds everything they said.
    assert Unit(fs.reboot()).total() == unit.total()
    assert unit.store.appends == 2 and unit.store.writes == 2


def test_an_unreadable_entry_is_reported_and_the_record_used():
    fs = FaultFS()
    unit = Unit(fs)
    _saves(unit, (FULL, JOURNAL))
    # A newer firmware's entry with a valid CRC, on the same record: the ledger cannot read it.
    store = unit.store
    store._jentry[0] = 9  # entry version 9
    store._append(JOURNAL_SIZE)
    again = Unit(fs.reboot())
    assert again.status == "ok"
    assert again.total() == unit.total()  # the entry before it (the same total here)
    assert "journal entry" in again.store.note and "not a ledger journal entry" in again.store.note


def test_a_day_change_or_a_failed_record_keeps_the_journal_honest():
    # At midnight only a full record can say the roll; while none lands the ledger's journal
    # entries are refused and every save is a full record.
    fs = FaultFS()
    unit = Unit(fs)
    t = T0 + 18 * 3600 - 30  # 23:59:30 local
    unit.ledger.add_power(t, 3600000)
    assert unit.store.save_ledger(unit.ledger, None, FULL) == FULL
    t += 10
    unit.ledger.add_power(t, 3600000)
    assert unit.store.save_ledger(unit.ledger, None, JOURNAL) == JOURNAL
    t += 40  # past midnight
    unit.ledger.add_power(t, 3600000)
    assert unit.store.save_ledger(unit.ledger, None, JOURNAL) == FULL
    again = Unit(fs.reboot())
    assert again.total() == unit.total()
    assert again.ledger.mwh(TODAY) == unit.ledger.mwh(TODAY) > 0
    assert again.ledger.milli(ENERGY, YESTERDAY) == unit.ledger.milli(ENERGY, YESTERDAY) > 0


def _appends(store, led, policy, t, n):
    # Locals only: a new global would count as allocation.
    k = 0
    while k < n:
        t += 10
        led.add_power(t, 5000000)
        kind = policy.due(t, led.unsaved_mwh)
        if kind == JOURNAL:
            store.save_ledger(led, None, kind)
            policy.appended(t)
        k += 1
    return t


def test_a_journal_append_allocates_nothing_in_the_store():
    if not hasattr(gc, "mem_alloc"):  # CPython: nothing to measure
        return
    from sunprint.store import PersistPolicy

    backend = QuietBackend()
    store = Store(backend)
    led = Ledger(tz_offset_s=TZ)
    store.restore_into(led)
    policy = PersistPolicy()
    led.add_power(T0, 5000000)
    led.add_power(T0 + 10, 5000000)
    store.save_ledger(led, None, FULL)
    policy.saved(T0 + 10)
    t = _appends(store, led, policy, T0 + 10, 3)
    appends = store.appends
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()  # type: ignore[attr-defined]
        t = _appends(store, led, policy, t, 40)
        used = gc.mem_alloc() - before  # type: ignore[attr-defined]
    finally:
        gc.enable()
    assert store.appends - appends == 40  # 13.9 Wh a tick: an entry every tick
    assert used == 0, used


def test_the_journal_crc_is_binascii_crc32_and_allocates_nothing():
    # A journal append's CRC is computed in 16-bit halves (store.crc32_into): the same value
    # as binascii.crc32, which on a 32-bit VM like the ESP32's returns a heap int 3 times in 4.
    # Where small ints hold 32 bits (CPython, 64-bit ports) crc32_into is binascii's and the
    # halves loop stays as crc32_halves_into, checked here too; on a 32-bit VM (the unit's)
    # crc32_into is the halves loop itself.
    import binascii
    import struct
    import sys

    from sunprint import store
    from sunprint.store import crc32_into

    halves = getattr(store, "crc32_halves_into", None)
    if getattr(sys, "maxsize", 0) <= 0xFFFFFFFF:
        assert halves is None
    impls = (crc32_into,) if halves is None else (crc32_into, halves)
    out = bytearray(4)
    data = bytearray(300)
    x = 12345
    for n in (0, 1, 7, 89, 300):
        for rnd in range(8):
            for i in range(n):
                x = (x * 1103515245 + 12345) & 0x7FFFFFF
                data[i] = x >> 19
            view = memoryview(data)[:n]
            for crc in impls:
                out[:] = b"\x00\x00\x00\x00"
                crc(view, out, 0)
                assert struct.unpack("<I", out)[0] == binascii.crc32(view) & 0xFFFFFFFF, (n, rnd)
    if not hasattr(gc, "mem_alloc"):  # CPython: nothing to measure
        return
    view = memoryview(data)[:89]
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()  # type: ignore[attr-defined]
        for _ in range(20):
            crc32_into(view, out, 0)
        used = gc.mem_alloc() - before  # type: ignore[attr-defined]
    finally:
        gc.enable()
    assert used == 0, used
