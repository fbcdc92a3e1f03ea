"""The boot record of safe mode (sunprint/safemode.py), what the running unit still needs.

The runner keeps the reason a crash would leave (note_fault) and clears the crash count once a
boot has run 10 minutes (mark_healthy); the boot-time decisions and the service screen live in
safemode, which leaves the heap after boot (main.py). The format:

    offset  size  field
    0       2     magic b"SB"
    2       1     format version, 1
    3       1     count (u8, saturates at 255)
    4       1     reason length n (u8, <= MAX_REASON)
    5       n     reason, UTF-8
    5+n     4     CRC-32 over bytes 0 .. 5+n-1, little-endian

The store is any object with read() -> bytes or None and write(bytes): FileRecord (a file on
the flash filesystem) or RtcRecord (machine.RTC().memory(): survives soft and watchdog resets,
not a power cut, and costs no flash wear). Anything unreadable (a write torn by a power cut,
garbage, a backend that raises OSError) reads as zero boots and no reason.
"""

import binascii
import struct

from sunprint.compat import const

MAX_REASON = const(48)  # bytes of reason kept
_MAGIC = b"SB"
_VERSION = const(1)
_HEAD = const(5)
_MAX_RECORD = const(_HEAD + MAX_REASON + 4)


def _pack(count, reason):
    r = reason.encode("utf-8") if isinstance(reason, str) else bytes(reason)
    if len(r) > MAX_REASON:
        r = r[:MAX_REASON]
        while r and (r[-1] & 0xC0) == 0x80:  # do not end inside a UTF-8 sequence
            r = r[:-1]
        if r and r[-1] >= 0xC0:
            r = r[:-1]
    if count > 255:
        count = 255
    head = _MAGIC + bytes((_VERSION, count, len(r)))
    body = head + r
    return body + struct.pack("<I", binascii.crc32(body) & 0xFFFFFFFF)


def parse(data):
    """(count, reason) of a record, or None if it is not a good one."""
    if data is None:
        return None
    n = len(data)
    if n < _HEAD + 4 or n > _MAX_RECORD or data[0:2] != _MAGIC or data[2] != _VERSION:
        return None
    length = data[4]
    end = _HEAD + length
    if length > MAX_REASON or n != end + 4:
        return None
    (crc,) = struct.unpack_from("<I", data, end)
    if binascii.crc32(memoryview(data)[:end]) & 0xFFFFFFFF != crc:
        return None
    try:
        reason = str(bytes(data[_HEAD:end]), "utf-8")
    except UnicodeError:  # a valid CRC over bad text: keep the count
        reason = ""
    return data[3], reason


def load(store):
    """(count, reason); (0, "") for a missing, torn or unreadable record. Never raises."""
    try:
        data = store.read()
    except (OSError, ValueError):
        return 0, ""
    rec = parse(data)
    return rec if rec is not None else (0, "")


def save(store, count, reason):
    store.write(_pack(count, reason))


def note_fault(store, text):
    """Keep `text` as the reason the next boot shows if this one crashes (count unchanged)."""
    count, _ = load(store)
    save(store, count, text)


def mark_healthy(store):
    """This boot has run safemode.HEALTHY_S: the crash count starts again from zero."""
    count, r = load(store)
    if count or r:
        save(store, 0, "")


class FileRecord:
    """The record in a file on the flash filesystem. fs: an object with open(path, mode) and
    rename(src, dst) (sunprint.store.OsFs, a test's FaultFS), or None for open and os."""

    def __init__(self, path="boot.rec", fs=None):
        self.path = path
        self.fs = fs

    def _open(self, path, mode):
        if self.fs is not None:
            return self.fs.open(path, mode)
        return open(path, mode)

    def read(self):
        try:
            f = self._open(self.path, "rb")
        except OSError:
            return None  # no record yet
        try:
            return f.read(_MAX_RECORD + 1)  # bounded: garbage must not fill the heap
        finally:
            f.close()

    def write(self, data):
        # Written aside and renamed over the record (atomic on LittleFS): a cut mid-write
        # leaves the previous record; were it torn anyway, it reads as zero boots.
        tmp = self.path + ".tmp"
        f = self._open(tmp, "wb")
        try:
            f.write(data)
            f.flush()
        finally:
            f.close()
        if self.fs is not None:
            self.fs.rename(tmp, self.path)
        else:
            import os

            os.rename(tmp, self.path)


class RtcRecord:
    """The record in RTC memory (machine.RTC().memory() on the ESP32)."""

    def __init__(self, rtc):
        self.rtc = rtc

    def read(self):
        return self.rtc.memory()

    def write(self, data):
        self.rtc.memory(data)
