"""Power-loss-safe persistence of the ledger: two full records and a journal of small deltas.

Record format 1, little-endian, the same for both backends (owner of the "ledger record"):

    offset  size  field
    0       4     magic b"SPRL"
    4       1     format version, 1
    5       1     reserved, 0
    6       2     payload length n (u16)
    8       4     sequence number (u32): +1 per save, the valid record with the highest wins
    12      n     payload
    12+n    4     CRC-32 (binascii.crc32) over bytes 0 .. 12+n-1 (header and payload)

Two slots hold the two newest records; a save overwrites the OLDER slot (or a bad or missing
one), so the newest good record is never touched while its successor is being written. A write
torn by a power cut therefore costs at most the record in flight, never the one before it.

Journal record format 1 (beside the records, two slots of their own):

    offset  size  field
    0       2     magic b"SJ"
    2       1     format version, 1
    3       1     entry length n (u8)
    4       4     base: the sequence number of the full record the entry extends (u32)
    8       4     journal sequence number (u32): +1 per append, the newest good entry wins
    12      n     entry: the ledger's change since its base record (ledger.journal_into), opaque
    12+n    4     CRC-32 over bytes 0 .. 12+n-1

An entry is cumulative (everything since its base record), so only the newest matters; an
append overwrites the journal slot that does not hold the newest entry of the current base, so
a torn append costs one append's energy, never more. A full record supersedes every entry made
on an older record (their base no longer matches). Restore: the newest record the ledger can
read (every good record is tried, newest first), then the newest entry made on it. The refresh
plan's state (the record's tail) is only in full records, at most persist_interval_s old.

Why a journal: a cut may lose only what is not yet durable, so the ledger must be saved about
every 10 Wh (every tick at noon), and a 512-byte record rewritten that often would wear the
flash: on LittleFS each full record is a file of its own block (a block erase per save).
A journal record of 89 bytes is an inline file on LittleFS (MicroPython mounts with a 128-byte
cache, so files up to 128 bytes live in their directory's metadata pair): rewriting one is a
single commit appended to the directory's metadata log, and a block is erased only when that
log is full and compacted (about every 30 appends), in blocks the filesystem rotates through
its free space (block_cycles=100). host_tools/sim/platform/lfswear.py LfsWear counts those erases.

- FileBackend (LittleFS, what the unit uses on the ESP32): slots are files <prefix>.0 and
  <prefix>.1, journal slots <prefix>.j0 and <prefix>.j1. A record is written to <prefix>.tmp
  (write, flush, close) and then renamed over the older slot; LittleFS renames are atomic
  across power loss. Where a rename is remove-then-rename (MicroPython's FAT VFS), a cut in
  between only loses the older slot: the newer one still holds the previous record. A journal
  slot is rewritten in place (open, write, close): a cut costs that slot only.

A backend has read(slot), write(slot, head, payload, tail) and erase(slot); slots 0 and 1 hold
records, 2 and 3 journal records when backend.journal is true.
- NvsBackend (esp32.NVS, in sunprint/nvsstore.py: only a unit that uses it loads it): slots
  are two keys, journal slots two more; set_blob then commit. ESP-IDF applies an NVS write
  atomically: old value or new value after a cut.

Store.load() and Store.restore_into() never raise on bad data nor on an OSError from the
backend: they report a status.
"""

import binascii
import struct
import sys

from sunprint.compat import const

_MAGIC = b"SPRL"
_VERSION = const(1)
_HEADER = const(12)
_TRAILER = const(4)
_OVERHEAD = const(16)  # header + CRC
_MAX_PAYLOAD = const(496)  # a 512-byte record: the ledger state is 477 bytes, the plan's 16
_SEQ_MAX = const(0xFFFFFFFF)
_NO_RECORD = const(-1)  # slot sequence when a slot is missing or bad
_HOLD_INTERVALS = const(6)  # save even a small unsaved amount after 6 intervals (an hour)
_JMAGIC = b"SJ"
_JVERSION = const(1)
_JHEADER = const(12)
_JOVERHEAD = const(16)
_MAX_ENTRY = const(96)  # a journal record stays under 128 bytes: inline on LittleFS

OK = "ok"  # the newest record is good
FALLBACK = "fallback"  # the newest record is bad (torn, corrupted, unreadable): an older one
EMPTY = "empty"  # nothing stored yet
CORRUPT = "corrupt"  # records exist but none is good: start from zero with a fault

# What PersistPolicy.due() asks for and Store.save_ledger() wrote.
NONE = const(0)
JOURNAL = const(1)
FULL = const(2)


class OsFs:
    """The filesystem interface over the real `open` and `os`: LittleFS on the device, the
    host's filesystem on a PC (where flush() is not fsync: durability there is not the point).

    On the MicroPython unix port os.rename is POSIX rename(2): it replaces the target
    atomically, as lfs2_rename does on the device."""

    def __init__(self, root=""):
        self.root = root

    def _path(self, path):
        return self.root + "/" + path if self.root else path

    def open(self, path, mode):
        return open(self._path(path), mode)

    def rename(self, src, dst):
        import os

        os.rename(self._path(src), self._path(dst))

    def remove(self, path):
        import os

        os.remove(self._path(path))

    def exists(self, path):
        import os

        try:
            os.stat(self._path(path))
        except OSError:
            return False
        return True

    def size(self, path):
        import os

        return os.stat(self._path(path))[6]

    def mkdir(self, directory):
        import os

        try:
            os.mkdir(self._path(directory))
        except OSError:
            pass  # it exists

    def listdir(self, directory):
        import os

        try:
            return os.listdir(self._path(directory))
        except OSError:
            return []  # no such directory yet


class FileBackend:
    """Two slot files and two journal files on a filesystem `fs` with open(path, mode)
    ("rb"/"wb"; files have read, write, flush, close), rename(src, dst), remove(path) and
    exists(path). Slots 0 and 1 hold records, 2 and 3 journal records."""

    journal = True  # slots 2 and 3

    def __init__(self, fs, prefix="ledger", max_payload=_MAX_PAYLOAD):
        self.fs = fs
        self.max_payload = max_payload
        self._paths = (prefix + ".0", prefix + ".1", prefix + ".j0", prefix + ".j1")
        self._tmp = prefix + ".tmp"

    def read(self, slot):
        """The slot's bytes (at most one byte more than a record can be), None if missing."""
        path = self._paths[slot]
        if not self.fs.exists(path):
            return None
        f = self.fs.open(path, "rb")
        try:
            # Bounded: a huge garbage file must not raise MemoryError at boot.
            return f.read(self.max_payload + _OVERHEAD + 1)
        finally:
            f.close()

    def write(self, slot, head, payload, tail):
        # A record goes to a temp file renamed over the slot. A journal record is rewritten in
        # place: on LittleFS a file this small is inline, and closing it is one commit to the
        # directory's metadata log; a cut costs this slot, never the other.
        path = self._paths[slot]
        f = self.fs.open(self._tmp if slot < 2 else path, "wb")
        try:
            f.write(head)
            f.write(payload)
            f.write(tail)
            if slot < 2:
                f.flush()
        finally:
            f.close()
        if slot < 2:
            self.fs.rename(self._tmp, path)

    def erase(self, slot):
        if self.fs.exists(self._paths[slot]):
            self.fs.remove(self._paths[slot])


class Store:
    """Newest-wins two-slot store with a journal, over a backend (FileBackend or NvsBackend).

    restore_into(ledger, plan) at boot -> status; save_ledger(ledger, plan, kind) -> the kind
    written, raises the backend's OSError (the slot being written is then treated as bad, so the
    good one is never overwritten). load() -> (newest good payload or None, status) and
    save(payload) -> seq are the two-slot store alone."""

    def __init__(self, backend):
        self.backend = backend
        self.writes = 0  # full records written
        self.appends = 0  # journal entries written
        self.seq = 0  # highest record sequence number seen or written, 0 for none
        self.base = 0  # the record the ledger's journal counts from, 0 for none
        self.jseq = 0  # highest journal sequence number seen or written
        self.status = None  # of the last load() or restore_into()
        self.note = None  # restore_into(): what was restored, when not simply the newest state
        self._slot_seq = [_NO_RECORD, _NO_RECORD]
        self._jbase = [_NO_RECORD, _NO_RECORD]  # per journal slot: its entry's base, jseq
        self._jseq = [_NO_RECORD, _NO_RECORD]
        self._scanned = False
        head = bytearray(_HEADER)
        head[0:4] = _MAGIC
        head[4] = _VERSION
        self._head = head
        self._tail = bytearray(_TRAILER)
        jbuf = bytearray(_JOVERHEAD + _MAX_ENTRY)  # the journal record, built in place
        jbuf[0:2] = _JMAGIC
        jbuf[2] = _JVERSION
        self._jbuf = jbuf
        self._jentry = memoryview(jbuf)[_JHEADER:]  # where the ledger writes its entry
        self._jviews = None  # (entry length, what the CRC covers, the entry, the CRC)

    # -- reading --

    def load(self):
        """(payload of the newest good record or None, status). The journal is not applied."""
        records, _ = _scan(self)
        if not records:
            return None, self.status
        return records[0][1], self.status

    def restore_into(self, ledger, plan=None):
        """At boot: put into `ledger` (and `plan`, from the record's tail) the newest record the
        ledger can read, every good record tried newest first, then the newest journal entry
        made on that record. Returns the status: OK, FALLBACK (an older record than the newest
        written), EMPTY, or CORRUPT (records, none readable: the ledger is left as it was).
        self.note says what was restored when it was not simply the newest state."""
        return _restore_into(self, ledger, plan)

    # -- writing --

    def save(self, payload):
        """Write a full record; returns its sequence number."""
        n = len(payload)
        if n > self.backend.max_payload:
            raise ValueError("payload too long")
        if not self._scanned:
            self.load()  # learn which slot is older before overwriting one
        slots = self._slot_seq
        slot = 0 if slots[0] <= slots[1] else 1  # the older, or a missing or bad one
        seq = self.seq + 1
        wrap = seq > _SEQ_MAX  # never at 144 saves a day; a corrupted-yet-valid seq, maybe
        if wrap:
            seq = 1
        head = self._head
        struct.pack_into("<HI", head, 6, n, seq)
        crc = binascii.crc32(payload, binascii.crc32(head)) & 0xFFFFFFFF
        struct.pack_into("<I", self._tail, 0, crc)
        slots[slot] = _NO_RECORD  # unknown until the write completes
        self.backend.write(slot, head, payload, self._tail)
        slots[slot] = seq
        self.seq = seq
        self.base = seq
        self.writes += 1
        if wrap:
            # The old maximum still wins until it is gone; a cut before this line leaves it.
            other = 1 - slot
            slots[other] = _NO_RECORD
            self.backend.erase(other)
        return seq

    def save_ledger(self, ledger, plan=None, kind=FULL):
        """Make the ledger's state durable: a journal entry if kind is JOURNAL and the ledger
        can say its change since the last record as one, else a full record (the ledger's
        state, then the plan's). Returns the kind written; marks the ledger saved. Raises the
        backend's OSError (nothing is marked saved then)."""
        if kind == JOURNAL and self.base and getattr(self.backend, "journal", False):
            n = ledger.journal_into(self._jentry)
            if n:
                self._append(n)
                ledger.mark_saved()
                return JOURNAL
        payload = ledger.pack()
        if plan is not None:
            payload += plan.pack()
        self.save(payload)
        ledger.mark_saved()
        ledger.mark_base()
        return FULL

    def _append(self, n):
        # The entry is in self._jbuf already (ledger.journal_into): head, CRC, write.
        if n > _MAX_ENTRY:
            raise ValueError("journal entry too long")
        buf = self._jbuf
        views = self._jviews
        if views is None or views[0] != n:  # once: the ledger's entries are all one size
            mv = memoryview(buf)
            views = (n, mv[: _JHEADER + n], mv[:_JHEADER], mv[_JHEADER : _JHEADER + n])
            views = views + (mv[_JHEADER + n : _JOVERHEAD + n],)
            self._jviews = views
        base = self.base
        jb, js = self._jbase, self._jseq
        if jb[0] != base:
            slot = 0  # holds nothing of this record's: free
        elif jb[1] != base:
            slot = 1
        else:
            slot = 0 if js[0] < js[1] else 1  # the older of two entries on this record
        jseq = self.jseq + 1  # never wraps: 2**32 appends are millions of years
        buf[3] = n
        struct.pack_into("<II", buf, 4, base, jseq)
        crc32_into(views[1], buf, _JHEADER + n)
        jb[slot] = _NO_RECORD  # unknown until the write completes
        self.backend.write(2 + slot, views[2], views[3], views[4])
        jb[slot] = base
        js[slot] = jseq
        self.jseq = jseq
        self.appends += 1

    def clear(self):
        """Erase both slots and the journal (factory reset)."""
        backend = self.backend
        for slot in (0, 1, 2, 3) if getattr(backend, "journal", False) else (0, 1):
            backend.erase(slot)
        self._slot_seq[0] = self._slot_seq[1] = _NO_RECORD
        self._jbase[0] = self._jbase[1] = _NO_RECORD
        self.seq = 0
        self.base = 0
        self._scanned = True


# CRC-32 (binascii.crc32's: reflected 0xEDB88320, init and final xor 0xFFFFFFFF) kept as two
# 16-bit halves and a 16-entry table per half: every value stays a small int, so a journal
# append allocates nothing on the ESP32, where binascii.crc32 returns a heap int 3 times in 4.
# The table is bytes (entry k at 4k: the low half, then the high half, little-endian), not a
# tuple of ints: MicroPython's freezer (tools/mpy-tool.py, mp_small_int_fits) writes an int
# constant outside -0x2000..0x1FFF as a long-int object, and every ^ with one allocates a new
# int: with the app frozen in, a journal append of 15 bytes allocated some 6 kB. Indexing
# bytes gives small ints in every form.
_CRC = (
    b"\x00\x00\x00\x00\x64\x10\xb7\x1d\xc8\x20\x6e\x3b\xac\x30\xd9\x26"
    b"\x90\x41\xdc\x76\xf4\x51\x6b\x6b\x58\x61\xb2\x4d\x3c\x71\x05\x50"
    b"\x20\x83\xb8\xed\x44\x93\x0f\xf0\xe8\xa3\xd6\xd6\x8c\xb3\x61\xcb"
    b"\xb0\xc2\x64\x9b\xd4\xd2\xd3\x86\x78\xe2\x0a\xa0\x1c\xf2\xbd\xbd"
)  # fmt: skip


def crc32_into(data, buf, off):
    """Write binascii.crc32(data) into buf[off:off + 4], little-endian, allocating nothing."""
    t = _CRC
    lo = 0xFFFF
    hi = 0xFFFF
    for i in range(len(data)):
        lo ^= data[i]
        # the byte's two nibbles written out (no inner loop: ~20% less time an append)
        k = (lo & 15) << 2
        lo = ((lo >> 4) | ((hi & 15) << 12)) ^ t[k] ^ (t[k + 1] << 8)
        hi = (hi >> 4) ^ t[k + 2] ^ (t[k + 3] << 8)
        k = (lo & 15) << 2
        lo = ((lo >> 4) | ((hi & 15) << 12)) ^ t[k] ^ (t[k + 1] << 8)
        hi = (hi >> 4) ^ t[k + 2] ^ (t[k + 3] << 8)
    struct.pack_into("<HH", buf, off, lo ^ 0xFFFF, hi ^ 0xFFFF)


if getattr(sys, "maxsize", 0) > 0xFFFFFFFF:  # (a port without sys.maxsize: the loop)
    # Where a small int holds 32 bits (CPython, 64-bit ports: replay, the host's tools) the C
    # CRC allocates nothing: the same 4 bytes, without the ESP32's nibble loop, which costs
    # replay some 40 us a journal append. The unit's 31-bit VM never defines it (peak heap
    # per board measured unchanged, tests/bench/bench_unit.py).
    crc32_halves_into = crc32_into

    def crc32_into(data, buf, off):  # noqa: F811
        struct.pack_into("<I", buf, off, binascii.crc32(data))


def parse(record):
    """(seq, payload) of one stored record, or None if it is not a good record."""
    n = len(record)
    if n < _OVERHEAD or record[0:4] != _MAGIC:
        return None
    version, _, length, seq = struct.unpack_from("<BBHI", record, 4)
    if version != _VERSION or n != _OVERHEAD + length:
        return None
    end = _HEADER + length
    (crc,) = struct.unpack_from("<I", record, end)
    if binascii.crc32(memoryview(record)[:end]) & 0xFFFFFFFF != crc:
        return None
    return seq, bytes(record[_HEADER:end])


def parse_journal(record):
    """(journal seq, base seq, entry) of one stored journal record, or None if it is not good."""
    n = len(record)
    if n < _JOVERHEAD or record[0:2] != _JMAGIC or record[2] != _JVERSION:
        return None
    length = record[3]
    if n != _JOVERHEAD + length:
        return None
    base, jseq = struct.unpack_from("<II", record, 4)
    end = _JHEADER + length
    (crc,) = struct.unpack_from("<I", record, end)
    if binascii.crc32(memoryview(record)[:end]) & 0xFFFFFFFF != crc:
        return None
    return jseq, base, bytes(record[_JHEADER:end])


def _scan(store):
    """Read every slot of `store`. Returns the good records [(seq, payload)] and the good
    journal entries [(jseq, base, entry)], newest first; sets the store's status (by CRC
    alone), seq, jseq and what each slot holds. Never raises an OSError from the backend."""
    backend = store.backend
    records = []
    present = 0
    for slot in (0, 1):
        store._slot_seq[slot] = _NO_RECORD
        try:
            record = backend.read(slot)
        except OSError:
            present += 1  # there but unreadable: a bad slot
            continue
        if record is None:
            continue
        present += 1
        rec = parse(record)
        if rec is None:
            continue
        store._slot_seq[slot] = rec[0]
        records.append(rec)
    if len(records) == 2 and records[0][0] < records[1][0]:
        records.reverse()  # newest first
    entries = []
    journal = getattr(backend, "journal", False)
    for slot in (0, 1):
        store._jbase[slot] = store._jseq[slot] = _NO_RECORD
        if not journal:
            continue
        try:
            raw = backend.read(2 + slot)
        except OSError:
            continue
        ent = parse_journal(raw) if raw is not None else None
        if ent is None:
            continue
        store._jseq[slot] = ent[0]
        store._jbase[slot] = ent[1]
        entries.append(ent)
    if len(entries) == 2 and entries[0][0] < entries[1][0]:
        entries.reverse()
    store._scanned = True
    store.seq = records[0][0] if records else 0
    store.base = 0
    store.jseq = entries[0][0] if entries else 0
    if not records:
        store.status = CORRUPT if present else EMPTY
    else:
        store.status = OK if len(records) == present else FALLBACK
    return records, entries


def _restore_into(store, ledger, plan):
    # Store.restore_into: the newest record the ledger can read, then its newest journal entry.
    records, entries = _scan(store)
    status = store.status
    blank = ledger.pack()
    size = getattr(ledger, "state_size", None)  # by the record's version: the plan follows
    unreadable = []
    used = None
    n = len(blank)
    for rec in records:
        n = size(rec[1]) if size is not None else len(blank)
        try:
            ledger.unpack(rec[1][:n])
        except ValueError as e:
            unreadable.append("record seq %d unreadable: %s" % (rec[0], e))
            continue
        used = rec
        break
    store.note = None
    if used is None:
        if records:
            ledger.unpack(blank)  # nothing half-restored
            store.note = "no readable ledger record (%s)" % "; ".join(unreadable)
            status = CORRUPT
        store.status = status
        return status
    seq, payload = used
    if unreadable:
        status = FALLBACK
        notes = ["ledger from the older record (seq %d)" % seq] + unreadable
    else:
        notes = ["ledger from record seq %d" % seq]
    if plan is not None and len(payload) > n:
        try:
            plan.unpack(payload[n:])  # the partial count survives the reboot
        except ValueError as e:
            notes.append("refresh plan reset: %s" % e)
    ledger.mark_base()
    for jseq, base, entry in entries:
        if base != seq:
            continue  # made on another record: a newer one that failed, or an older one
        try:
            ledger.apply_journal(entry)
        except ValueError as e:
            notes.append("journal entry %d unreadable: %s" % (jseq, e))
            continue
        break
    ledger.mark_saved()  # nothing booked since what is durable
    # The next saves must overwrite what was not used, never the record restored.
    for slot in (0, 1):
        if store._slot_seq[slot] != seq:
            store._slot_seq[slot] = _NO_RECORD
    store.base = seq
    if len(notes) > 1:
        store.note = "; ".join(notes)
    store.status = status
    return status


class PersistPolicy:
    """When to save, and how: pure logic on integers, called every tick, allocates nothing.

    due() answers NONE, JOURNAL (a small delta entry: cheap, so as soon as the unsaved energy
    reaches persist_wh) or FULL (a full record), and only when something changed:
      - JOURNAL when the unsaved energy is worth a write (>= persist_wh): a cut between ticks
        never loses persist_wh or more;
      - FULL every persist_interval_s when something was journaled or is worth a write, or
        after _HOLD_INTERVALS intervals for a small amount (dawn, dusk);
      - FULL when the local day changed (midnight) or the unit is shutting down cleanly.
    A JOURNAL the ledger cannot express (a new day, new factors) is written as a FULL record by
    Store.save_ledger. journal=False gives the two-slot store alone (full records only, at most
    every interval: a cut then loses up to one interval's energy). persist_wh=0 journals every
    tick that saw any energy. Full records are counted per local day: the app calls new_day()
    when the ledger's day rolls over (before the midnight save).
    """

    def __init__(self, persist_interval_s=600, persist_wh=10, journal=True):
        self.persist_interval_s = persist_interval_s
        self.persist_wh = persist_wh
        self.journal = journal
        self._worth_mwh = int(persist_wh * 1000)
        self._last = -1  # firmware time of the last save of either kind, -1 before the first
        self._full = -1  # of the last full record (the interval counts from the first tick)
        self._journaled = False  # entries written since the last full record
        self.writes = 0  # full records
        self.writes_today = 0
        self.writes_yesterday = 0
        self.appends = 0  # journal entries

    def due(self, now, unsaved_mwh, day_changed=False, shutdown=False):
        full = self._full
        if full < 0:
            self._full = full = now
        if unsaved_mwh <= 0 and not day_changed and not self._journaled:
            return NONE  # nothing changed: never write
        if shutdown or day_changed:
            return FULL
        dt = now - full
        if dt < 0:
            return FULL  # the clock went back: save rather than wait for it to catch up
        worth = unsaved_mwh >= self._worth_mwh and unsaved_mwh > 0
        if dt >= self.persist_interval_s and (
            self._journaled or worth or dt >= _HOLD_INTERVALS * self.persist_interval_s
        ):
            return FULL
        if worth and self.journal:
            return JOURNAL
        return NONE

    def saved(self, now):
        """A full record was written at `now`."""
        self._last = self._full = now
        self._journaled = False
        self.writes += 1
        self.writes_today += 1

    def appended(self, now):
        """A journal entry was written at `now`."""
        self._last = now
        self._journaled = True
        self.appends += 1

    def new_day(self):
        self.writes_yesterday = self.writes_today
        self.writes_today = 0
