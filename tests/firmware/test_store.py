# The store (two slots, CRC, newest wins), its write policy, and the fault-injecting filesystem
# and NVS that prove it survives a power cut at any operation. Runs under CPython and MicroPython.
import binascii
import gc
import struct

from host_tools.sim.platform.fakenvs import FakeNVS
from host_tools.sim.platform.faultfs import AFTER, BEFORE, FaultFS, PowerCut
from sunprint.nvsstore import NvsBackend
from sunprint.store import (
    FULL,
    JOURNAL,
    NONE,
    FileBackend,
    OsFs,
    PersistPolicy,
    Store,
    parse,
)

PAYLOADS = (b"first", b"second record", b"", b"x" * 81, b"\x00\xff" * 20)
SLOTS = ("ledger.0", "ledger.1")


def _record(seq, payload, magic=b"SPRL", version=1):
    # Record format 1 built from its documentation, not from store.py.
    head = magic + struct.pack("<BBHI", version, 0, len(payload), seq)
    body = head + payload
    return body + struct.pack("<I", binascii.crc32(body) & 0xFFFFFFFF)


def _file_store(fs):
    return Store(FileBackend(fs))


def _nvs_store(nvs):
    return Store(NvsBackend(nvs))


# -- record format and round trips --


def test_record_layout_matches_the_documented_format():
    fs = FaultFS()
    st = _file_store(fs)
    assert st.save(b"abc") == 1
    assert fs.peek("ledger.0") == _record(1, b"abc")
    assert st.save(b"defg") == 2
    assert fs.peek("ledger.1") == _record(2, b"defg")
    assert parse(_record(9, b"q")) == (9, b"q")


def test_file_backend_round_trip():
    fs = FaultFS()
    st = _file_store(fs)
    assert st.load() == (None, "empty")
    for i, p in enumerate(PAYLOADS):
        assert st.save(p) == i + 1
        fs = fs.reboot()
        st = _file_store(fs)
        assert st.load() == (p, "ok")
        assert st.seq == i + 1
    assert fs.listdir() == ["ledger.0", "ledger.1"]  # the temp file is renamed away


def test_nvs_backend_round_trip():
    nvs = FakeNVS()
    st = _nvs_store(nvs)
    assert st.load() == (None, "empty")
    for i, p in enumerate(PAYLOADS):
        assert st.save(p) == i + 1
        nvs = nvs.reboot()
        st = _nvs_store(nvs)
        assert st.load() == (p, "ok")
    assert sorted(nvs.durable()) == ["ledger0", "ledger1"]
    assert st.writes == 0 and nvs.commits == 0  # a fresh store after a reboot


def test_nvs_missing_key_as_enoent_is_also_empty():
    st = _nvs_store(FakeNVS(missing_errno=2))
    assert st.load() == (None, "empty")
    st.save(b"z")
    assert st.load() == (b"z", "ok")


def test_save_without_load_does_not_overwrite_the_newest():
    fs = FaultFS({"ledger.0": _record(5, b"old"), "ledger.1": _record(6, b"new")})
    st = _file_store(fs)
    assert st.save(b"newer") == 7  # no load() first: save scans the slots itself
    assert fs.peek("ledger.1") == _record(6, b"new")
    assert fs.peek("ledger.0") == _record(7, b"newer")
    assert st.writes == 1


def test_os_fs_round_trip_and_rename_replaces():
    fs = OsFs()  # the test runs in a scratch folder (conftest / MicroPython runner cwd)
    st = _file_store(fs)
    for p in PAYLOADS:
        st.save(p)
    assert _file_store(OsFs()).load() == (PAYLOADS[-1], "ok")
    assert fs.exists("ledger.0") and fs.exists("ledger.1") and not fs.exists("ledger.tmp")
    st.clear()
    assert not fs.exists("ledger.0") and not fs.exists("ledger.1")
    assert _file_store(OsFs()).load() == (None, "empty")


def test_payload_too_long_is_refused():
    st = _file_store(FaultFS())
    try:
        st.save(b"x" * 497)
    except ValueError:
        pass
    else:
        raise AssertionError("no ValueError")
    assert st.save(b"x" * 496) == 1


# -- newest wins, fallback, corruption --


def test_newer_sequence_wins_in_either_slot():
    for s0, s1 in ((7, 6), (6, 7), (1, 2**32 - 1), (2**32 - 1, 2**32 - 2), (0, 1)):
        fs = FaultFS({"ledger.0": _record(s0, b"zero"), "ledger.1": _record(s1, b"one")})
        st = _file_store(fs)
        want = b"zero" if s0 > s1 else b"one"
        assert st.load() == (want, "ok"), (s0, s1)
        assert st.seq == max(s0, s1)
        seq = st.save(b"next")  # overwrites the older slot
        older = "ledger.1" if s0 > s1 else "ledger.0"
        if max(s0, s1) < 2**32 - 1:
            assert seq == max(s0, s1) + 1
        else:  # wrapped: restart at 1 and erase the old maximum
            assert seq == 1 and fs.listdir() == [older]
        assert parse(fs.peek(older)) == (seq, b"next")
        assert _file_store(fs.reboot()).load() == (b"next", "ok")


def test_flipped_byte_anywhere_in_newest_falls_back():
    good = _record(3, b"previous")
    newest = _record(4, b"the newest payload")
    for i in range(len(newest)):
        for mask in (0x01, 0x80, 0xFF):
            bad = bytearray(newest)
            bad[i] ^= mask
            fs = FaultFS({"ledger.0": bad, "ledger.1": good})
            assert _file_store(fs).load() == (b"previous", "fallback"), (i, mask)


def test_truncated_newest_falls_back():
    good = _record(3, b"previous")
    newest = _record(4, b"the newest payload")
    for n in range(len(newest)):
        fs = FaultFS({"ledger.0": good, "ledger.1": newest[:n]})
        assert _file_store(fs).load() == (b"previous", "fallback"), n
    fs = FaultFS({"ledger.0": good, "ledger.1": newest + b"\x00"})  # trailing junk
    assert _file_store(fs).load() == (b"previous", "fallback")


def test_wrong_magic_or_version_is_a_bad_slot():
    good = _record(1, b"ok")
    for bad in (_record(2, b"p", magic=b"XXXX"), _record(2, b"p", version=2)):
        fs = FaultFS({"ledger.0": good, "ledger.1": bad})
        assert _file_store(fs).load() == (b"ok", "fallback")


def test_fallback_then_save_keeps_the_good_slot():
    good = _record(3, b"previous")
    fs = FaultFS({"ledger.0": good, "ledger.1": b"garbage"})
    st = _file_store(fs)
    assert st.load() == (b"previous", "fallback")
    assert st.save(b"next") == 4
    assert fs.peek("ledger.0") == good  # the bad slot was the one overwritten
    assert _file_store(fs.reboot()).load() == (b"next", "ok")


def test_both_slots_bad_is_corrupt_and_never_raises():
    cases = (
        {"ledger.0": b"", "ledger.1": b"\xff" * 40},
        {"ledger.0": _record(1, b"a")[:-1]},
        {"ledger.1": b"\x00" * 5000},  # bigger than any record: read is bounded
    )
    for files in cases:
        fs = FaultFS(files)
        st = _file_store(fs)
        assert st.load() == (None, "corrupt")
        assert st.seq == 0
        assert st.save(b"fresh") == 1  # and the store is usable again
        assert _file_store(fs.reboot()).load()[0] == b"fresh"


def test_nvs_corrupt_and_oversized_slots():
    nvs = FakeNVS()
    nvs.poke("ledger0", _record(1, b"a"))
    nvs.poke("ledger1", b"\x00" * 600)  # larger than the read buffer: get_blob raises
    assert _nvs_store(nvs).load() == (b"a", "fallback")
    nvs.poke("ledger0", b"junk")
    assert _nvs_store(nvs).load() == (None, "corrupt")


class _FailingBackend:
    # A backend whose reads fail with an I/O error, as a broken flash might.
    max_payload = 496

    def __init__(self, good_slot=None):
        self.good_slot = good_slot

    def read(self, slot):
        if slot == self.good_slot:
            return _record(1, b"fine")
        raise OSError(5, "EIO")


def test_backend_oserror_is_reported_not_raised():
    assert Store(_FailingBackend()).load() == (None, "corrupt")
    assert Store(_FailingBackend(1)).load() == (b"fine", "fallback")


class _FullFs(FaultFS):
    # The rename fails once with ENOSPC, a real fault (not a power cut): save raises OSError.
    full = True

    def rename(self, src, dst):
        if self.full:
            self.full = False
            raise OSError(28, "ENOSPC")
        FaultFS.rename(self, src, dst)


def test_failed_save_raises_and_keeps_the_good_record():
    fs = _FullFs()
    st = _file_store(fs)
    fs.full = False
    st.save(b"one")
    st.save(b"two")
    fs.full = True
    try:
        st.save(b"three")
    except OSError as e:
        assert e.args[0] == 28
    else:
        raise AssertionError("no OSError")
    assert st.writes == 2 and st.seq == 2
    assert _file_store(fs).load() == (b"two", "ok")
    assert st.save(b"four") == 3
    assert _file_store(fs).load() == (b"four", "ok")
    assert parse(fs.peek("ledger.1")) == (2, b"two")


def test_empty_is_empty():
    assert _file_store(FaultFS()).load() == (None, "empty")
    assert _nvs_store(FakeNVS()).load() == (None, "empty")
    fs = FaultFS({"ledger.tmp": b"torn temp file"})  # only a leftover temp: nothing stored
    assert _file_store(fs).load() == (None, "empty")


# -- the fault injectors themselves --


def test_power_cut_is_not_an_exception():
    assert not issubclass(PowerCut, Exception)
    caught = None
    try:
        try:
            raise PowerCut("x")
        except Exception:  # noqa: BLE001 - the point: it must not catch a power cut
            caught = "Exception"
    except PowerCut:
        caught = "PowerCut"
    assert caught == "PowerCut"


def test_faultfs_keeps_only_flushed_bytes_and_the_torn_prefix():
    for torn, want in ((0, b"abc"), (2, b"abcde"), (99, b"abcdefg")):
        fs = FaultFS(cut_at=4, cut_mode=BEFORE, torn=torn)
        f = fs.open("f", "wb")  # op 0
        f.write(b"abc")  # op 1
        f.flush()  # op 2
        f.write(b"defg")  # op 3
        try:
            f.flush()  # op 4: the cut comes first
        except PowerCut:
            pass
        else:
            raise AssertionError("no cut")
        for call, args in ((f.write, (b"x",)), (fs.exists, ("f",)), (fs.open, ("f", "rb"))):
            try:
                call(*args)
            except PowerCut:
                pass
            else:
                raise AssertionError("alive after the cut")
        assert fs.reboot().peek("f") == want, (torn, fs.reboot().peek("f"))


def test_faultfs_rename_is_atomic_and_counted():
    fs = FaultFS({"a": b"A", "b": b"B"}, cut_at=0, cut_mode=AFTER)
    try:
        fs.rename("a", "b")
    except PowerCut:
        pass
    assert fs.reboot().durable() == {"b": b"A"}
    fs = FaultFS({"a": b"A", "b": b"B"}, cut_at=0, cut_mode=BEFORE)
    try:
        fs.rename("a", "b")
    except PowerCut:
        pass
    assert fs.reboot().durable() == {"a": b"A", "b": b"B"}
    # non-atomic (FAT-like): remove then rename, and a cut can fall in between
    fs = FaultFS({"a": b"A", "b": b"B"}, cut_at=0, cut_mode=AFTER, atomic_rename=False)
    try:
        fs.rename("a", "b")
    except PowerCut:
        pass
    assert fs.reboot().durable() == {"a": b"A"}


def test_fake_nvs_loses_uncommitted_changes():
    nvs = FakeNVS(cut_at=1, cut_mode=BEFORE)
    nvs.set_blob("k", b"v1")  # op 0
    buf = bytearray(8)
    assert nvs.get_blob("k", buf) == 2 and buf[:2] == b"v1"  # reads see pending writes
    try:
        nvs.commit()  # op 1: the cut comes first
    except PowerCut:
        pass
    nvs = nvs.reboot()
    try:
        nvs.get_blob("k", buf)
    except OSError as e:
        assert e.args[0] == -0x1102
    else:
        raise AssertionError("uncommitted value survived")


# -- power cut at every operation of a sequence of saves --


def _cut_run(make_store, medium, payloads):
    # Saves payloads until the power goes. Returns (last completed payload, payload in flight).
    st = make_store(medium)
    st.load()
    done = None
    for p in payloads:
        try:
            st.save(p)
        except PowerCut:
            return done, p
        done = p
    return done, None


def _check_after_reboot(make_store, medium, done, inflight, statuses):
    st = make_store(medium)
    payload, status = st.load()
    assert status in statuses, status
    if done is None:
        assert payload is None or payload == inflight, payload
    else:
        assert payload == done or (inflight is not None and payload == inflight), payload
    # the store carries on: the next saves land and win
    st.save(b"after-1")
    st.save(b"after-2")
    assert make_store(medium.reboot()).load() == (b"after-2", "ok")


def _exhaustive_file(torn, atomic):
    clean = FaultFS(atomic_rename=atomic)
    _cut_run(_file_store, clean, PAYLOADS)
    total = clean.ops
    cuts = 0
    for n in range(total):
        for mode in (BEFORE, AFTER):
            fs = FaultFS(cut_at=n, cut_mode=mode, torn=torn, atomic_rename=atomic)
            done, inflight = _cut_run(_file_store, fs, PAYLOADS)
            assert inflight is not None  # every index is a cut point
            _check_after_reboot(_file_store, fs.reboot(), done, inflight, ("ok", "empty"))
            cuts += 1
    return total, cuts


def test_cut_at_every_file_operation():
    cuts = 0
    for torn in (0, 1, 7, 13, 1000):
        total, n = _exhaustive_file(torn, True)
        assert total == 7 * len(PAYLOADS)  # open, 3 writes, flush, close, rename
        cuts += n
    for torn in (0, 13):
        total, n = _exhaustive_file(torn, False)  # FAT-like rename: remove + rename
        assert total == 7 * len(PAYLOADS) + len(PAYLOADS) - 2
        cuts += n
    assert cuts == 2 * (5 * 35 + 2 * 38), cuts  # 502 cut points
    print("file cut points:", cuts)


def test_cut_at_every_nvs_operation():
    clean = FakeNVS()
    _cut_run(_nvs_store, clean, PAYLOADS)
    assert clean.ops == 2 * len(PAYLOADS)  # set_blob, commit
    cuts = 0
    for n in range(clean.ops):
        for mode in (BEFORE, AFTER):
            nvs = FakeNVS(cut_at=n, cut_mode=mode)
            done, inflight = _cut_run(_nvs_store, nvs, PAYLOADS)
            assert inflight is not None
            _check_after_reboot(_nvs_store, nvs.reboot(), done, inflight, ("ok", "empty"))
            cuts += 1
    assert cuts == 20
    print("nvs cut points:", cuts)


def test_repeated_cuts_during_recovery():
    # A cut, a reboot, and a cut again at each operation of the next save, many times over.
    fs = FaultFS()
    st = _file_store(fs)
    st.save(b"p0")
    done = b"p0"
    k = 1
    for n in range(7):
        for mode in (BEFORE, AFTER):
            fs = fs.reboot(cut_at=n, cut_mode=mode, torn=k % 9)
            st = _file_store(fs)
            payload, status = st.load()
            assert payload == done and status == "ok"
            p = b"p%d" % k
            try:
                st.save(p)
                st.save(p + b"+")
            except PowerCut:
                pass
            got = _file_store(fs.reboot()).load()[0]
            assert got in (done, p, p + b"+"), got
            done = got
            k += 1


# -- the write policy --


def test_policy_never_writes_when_nothing_changed():
    pol = PersistPolicy()
    t = 1000
    assert not pol.due(t, 0)
    assert not pol.due(t + 10**6, 0)
    assert not pol.due(t + 10**6, 0, False, True)  # not even at shutdown


def test_policy_full_records_at_most_every_interval_journal_between():
    pol = PersistPolicy(persist_interval_s=600, persist_wh=10)
    t = 5000
    assert pol.due(t, 10**6) == JOURNAL  # worth a write: a journal entry at once
    assert pol.due(t, 9999) == NONE  # below persist_wh: waits
    assert pol.due(t + 599, 10**6) == JOURNAL  # the full record's interval starts at the first tick
    assert pol.due(t + 600, 10000) == FULL
    pol.saved(t + 600)
    assert pol.due(t + 1199, 10**7) == JOURNAL
    pol.appended(t + 1199)
    assert pol.due(t + 1199, 0) == NONE  # journaled, the interval not over
    assert pol.due(t + 1200, 0) == FULL  # journaled since the last full record
    assert pol.due(t + 100, 1) == FULL  # clock went back: save


def test_policy_without_journal_is_the_two_slot_store():
    pol = PersistPolicy(persist_interval_s=600, persist_wh=10, journal=False)
    t = 5000
    assert not pol.due(t, 10**6)  # the interval starts at the first tick: even 1 kWh waits
    assert not pol.due(t + 599, 10**6)
    assert pol.due(t + 600, 10000) == FULL
    pol.saved(t + 600)
    assert not pol.due(t + 1199, 10**7)
    assert pol.due(t + 1200, 10000) == FULL


def test_policy_small_amounts_wait_for_the_hold():
    pol = PersistPolicy(persist_interval_s=600, persist_wh=10)
    pol.saved(0)
    assert not pol.due(600, 9999)  # not worth a write yet
    assert not pol.due(3599, 9999)
    assert pol.due(3600, 1) == FULL  # six intervals: saved all the same
    pol2 = PersistPolicy(persist_wh=0)  # any energy is worth a write
    pol2.saved(0)
    assert pol2.due(599, 1) == JOURNAL
    assert pol2.due(600, 1) == FULL


def test_policy_midnight_and_shutdown():
    pol = PersistPolicy()
    pol.saved(0)
    assert pol.due(1, 0, True)  # day changed, even with no new energy
    assert pol.due(1, 0, day_changed=True)
    assert pol.due(1, 1, False, True)
    assert pol.due(1, 1, shutdown=True)


def test_policy_counts_writes_per_day():
    pol = PersistPolicy()
    for t in range(0, 6000, 600):
        pol.saved(t)
    assert pol.writes_today == 10 and pol.writes == 10
    pol.appended(6500)
    pol.new_day()
    pol.saved(7000)
    assert pol.writes_today == 1 and pol.writes_yesterday == 10 and pol.writes == 11
    assert pol.appends == 1


def _ticks(pol, t, ticks):
    # Locals only: a new global would count as allocation.
    n = 0
    for i in ticks:
        t += 10
        if pol.due(t, i & 7):
            n += 1
        if pol.due(t, i, False, False):
            n += 1
        if pol.due(t, 0, day_changed=False, shutdown=False):
            n += 1
    return n


def test_policy_due_allocates_nothing():
    if not hasattr(gc, "mem_alloc"):  # CPython: nothing to measure
        return
    pol = PersistPolicy()
    t = 782179200  # 2024-10-15 in firmware seconds: a small int on the ESP32 too
    _ticks(pol, t, range(10))
    ticks = range(2000)
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()  # type: ignore[attr-defined]
        n = _ticks(pol, t, ticks)
        used = gc.mem_alloc() - before  # type: ignore[attr-defined]
    finally:
        gc.enable()
    assert n > 0
    assert used == 0, used
