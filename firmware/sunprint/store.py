"""Power-loss-safe persistence of one opaque payload (the ledger state), and the write policy.

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

- FileBackend (LittleFS): slots are files <prefix>.0 and <prefix>.1. A record is written to
  <prefix>.tmp (write, flush, close) and then renamed over the older slot. LittleFS renames are
  atomic across power loss. Where a rename is remove-then-rename (MicroPython's FAT VFS), a cut
  in between only loses the older slot: the newer one still holds the previous record.
- NvsBackend (esp32.NVS): slots are two keys; set_blob then commit. ESP-IDF applies an NVS
  write atomically: old value or new value after a cut.

Store.load() never raises on bad data nor on an OSError from the backend: it reports a status.
"""

import binascii
import struct

from sunprint.compat import const

_MAGIC = b"SPRL"
_VERSION = const(1)
_HEADER = const(12)
_TRAILER = const(4)
_OVERHEAD = const(16)  # header + CRC
_MAX_PAYLOAD = const(496)  # a 512-byte record: the ledger state is 425 bytes
_SEQ_MAX = const(0xFFFFFFFF)
_NO_RECORD = const(-1)  # slot sequence when a slot is missing or bad
_ENOENT = const(2)
# MicroPython's esp32 port raises OSError(-esp_err) for NVS errors (check_esp_err).
_NVS_NOT_FOUND = const(-0x1102)  # ESP_ERR_NVS_NOT_FOUND
_HOLD_INTERVALS = const(6)  # save even a small unsaved amount after 6 intervals (an hour)

OK = "ok"  # the newest record is good
FALLBACK = "fallback"  # one slot is bad (torn or corrupted): the other one was used
EMPTY = "empty"  # nothing stored yet
CORRUPT = "corrupt"  # records exist but none is good: start from zero with a fault


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
    """Two slot files on a filesystem `fs` with open(path, mode) ("rb"/"wb"; files have read,
    write, flush, close), rename(src, dst), remove(path) and exists(path)."""

    def __init__(self, fs, prefix="ledger", max_payload=_MAX_PAYLOAD):
        self.fs = fs
        self.max_payload = max_payload
        self._paths = (prefix + ".0", prefix + ".1")
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
        f = self.fs.open(self._tmp, "wb")
        try:
            f.write(head)
            f.write(payload)
            f.write(tail)
            f.flush()
        finally:
            f.close()
        self.fs.rename(self._tmp, self._paths[slot])

    def erase(self, slot):
        if self.fs.exists(self._paths[slot]):
            self.fs.remove(self._paths[slot])


class NvsBackend:
    """Two blob keys in an esp32.NVS namespace (set_blob, get_blob, commit, erase_key)."""

    def __init__(self, nvs, prefix="ledger", max_payload=_MAX_PAYLOAD):
        if len(prefix) > 14:
            raise ValueError("NVS keys are at most 15 characters")
        self.nvs = nvs
        self.max_payload = max_payload
        self._keys = (prefix + "0", prefix + "1")
        self._buf = bytearray(max_payload + _OVERHEAD)  # get_blob needs a buffer big enough

    def read(self, slot):
        try:
            n = self.nvs.get_blob(self._keys[slot], self._buf)
        except OSError as e:
            if e.args and e.args[0] in (_ENOENT, _NVS_NOT_FOUND):
                return None
            raise  # too long for the buffer, wrong type: a bad slot
        return bytes(self._buf[:n])

    def write(self, slot, head, payload, tail):
        # One blob: assembled in the preallocated buffer, so a save allocates only the view.
        buf = self._buf
        n = len(payload)
        buf[0:_HEADER] = head
        buf[_HEADER : _HEADER + n] = payload
        buf[_HEADER + n : _OVERHEAD + n] = tail
        self.nvs.set_blob(self._keys[slot], memoryview(buf)[: _OVERHEAD + n])
        self.nvs.commit()

    def erase(self, slot):
        try:
            self.nvs.erase_key(self._keys[slot])
        except OSError as e:
            if not (e.args and e.args[0] in (_ENOENT, _NVS_NOT_FOUND)):
                raise
            return
        self.nvs.commit()


class Store:
    """Newest-wins two-slot store over a backend (FileBackend or NvsBackend).

    load() -> (payload or None, status); save(payload) -> seq, raises the backend's OSError
    (the slot being written is then treated as bad, so the good one is never overwritten)."""

    def __init__(self, backend):
        self.backend = backend
        self.writes = 0
        self.seq = 0  # sequence number of the newest good record, 0 for none
        self.status = None  # of the last load()
        self._slot_seq = [_NO_RECORD, _NO_RECORD]
        self._scanned = False
        head = bytearray(_HEADER)
        head[0:4] = _MAGIC
        head[4] = _VERSION
        self._head = head
        self._tail = bytearray(_TRAILER)

    def load(self):
        best = None
        present = 0
        for slot in (0, 1):
            self._slot_seq[slot] = _NO_RECORD
            try:
                record = self.backend.read(slot)
            except OSError:
                present += 1  # there but unreadable: a bad slot
                continue
            if record is None:
                continue
            present += 1
            rec = parse(record)
            if rec is None:
                continue
            self._slot_seq[slot] = rec[0]
            if best is None or rec[0] > best[0]:
                best = rec
        self._scanned = True
        good = (self._slot_seq[0] != _NO_RECORD) + (self._slot_seq[1] != _NO_RECORD)
        if best is None:
            self.seq = 0
            self.status = CORRUPT if present else EMPTY
            return None, self.status
        self.seq = best[0]
        self.status = OK if good == present else FALLBACK
        return best[1], self.status

    def save(self, payload):
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
        self.writes += 1
        if wrap:
            # The old maximum still wins until it is gone; a cut before this line leaves it.
            other = 1 - slot
            slots[other] = _NO_RECORD
            self.backend.erase(other)
        return seq

    def clear(self):
        """Erase both slots (factory reset)."""
        self.backend.erase(0)
        self.backend.erase(1)
        self._slot_seq[0] = self._slot_seq[1] = _NO_RECORD
        self.seq = 0
        self._scanned = True


class PersistPolicy:
    """When to save: pure logic on integers, called every tick, allocates nothing.

    Flash wear first: a save is due at most every persist_interval_s (144 a day at 600 s), and
    only when something changed:
      - the interval has elapsed and the unsaved energy is worth a write (>= persist_wh), or
      - the interval has elapsed _HOLD_INTERVALS times over (small dawn/dusk amounts are saved
        within the hour all the same), or
      - the local day changed (midnight), or the unit is shutting down cleanly.
    So a cut loses at most one interval's energy (plus one sample), or less than persist_wh.
    persist_wh=0 saves every interval that saw any energy. Writes are counted per local day:
    the app calls new_day() when the ledger's day rolls over (before the midnight save).
    """

    def __init__(self, persist_interval_s=600, persist_wh=10):
        self.persist_interval_s = persist_interval_s
        self.persist_wh = persist_wh
        self._worth_mwh = int(persist_wh * 1000)
        self._last = -1  # firmware time of the last save, -1 before the first tick
        self.writes = 0
        self.writes_today = 0
        self.writes_yesterday = 0

    def due(self, now, unsaved_mwh, day_changed=False, shutdown=False):
        last = self._last
        if last < 0:
            self._last = last = now
        if unsaved_mwh <= 0 and not day_changed:
            return False  # nothing changed: never write
        if shutdown or day_changed:
            return True
        dt = now - last
        if dt < 0:
            return True  # the clock went back: save rather than wait for it to catch up
        if dt < self.persist_interval_s:
            return False
        return unsaved_mwh >= self._worth_mwh or dt >= _HOLD_INTERVALS * self.persist_interval_s

    def saved(self, now):
        self._last = now
        self.writes += 1
        self.writes_today += 1

    def new_day(self):
        self.writes_yesterday = self.writes_today
        self.writes_today = 0
