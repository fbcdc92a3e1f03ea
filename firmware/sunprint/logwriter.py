"""The device's side of the sample log (sunprint/samplelog.py has the format and the readers):
SampleLogWriter, a ring of version 2 log files within a byte budget.

A module of its own so that a running unit does not keep the readers on its heap (replay and
the host tools read logs; the unit only writes them). sunprint.samplelog re-exports all of it.
"""

from sunprint.compat import EPOCH_2000_UNIX, const

FORMAT_LINE = "# sunprint samplelog 2"
HEADER_V2 = "timestamp,power_w,raw,flag"

_MAX_ROW = const(48)  # 10 + 1 + 13 + 1 + 11 + 1 + 3 + 1 bytes at most, with room to spare
# What a row holds: a reading beyond is written as the bound (an absurd calibration or a
# meter's garbage register must not overrun the row buffer and stop the sign). Plain globals,
# not const: above 2**30 they are (immutable, preallocated) big ints on the ESP32, and comparing
# a small int with one allocates nothing. Their negatives are built once here: `-LOG_MAX_MW` in
# append would allocate a new big int on every row (64 B a row on a 32-bit VM).
LOG_MAX_MW = 99999999999  # 99,999,999.999 W
LOG_MAX_RAW = 9999999999  # 10 digits, what the reader takes
_LOG_MIN_MW = -LOG_MAX_MW
_LOG_MIN_RAW = -LOG_MAX_RAW
_NUL = const(0x30)  # ord("0")


_NAME_LEN = const(12)  # "NNNNNNNN.csv"


def _seq_of(name):
    # The sequence number of a log file name, or -1 for any other name.
    if len(name) != _NAME_LEN or not name.endswith(".csv"):
        return -1
    n = 0
    for i in range(8):
        c = ord(name[i]) - _NUL
        if not 0 <= c <= 9:
            return -1
        n = n * 10 + c
    return n


def _file_name(directory, seq):
    return "%s/%08d.csv" % (directory, seq)


# -- the device's writer -------------------------------------------------------------------


class SampleLogWriter:
    """Append samples to a ring of version 2 log files within a byte budget.

        log = SampleLogWriter(fs, directory="/log")
        log.append(now, power_mw, raw, flag)     # every sample; now in firmware seconds
        ...
        log.close()                               # clean shutdown: flush and close

    - Rows go into one preallocated buffer (flush_rows rows); numbers are formatted into it
      digit by digit, so append() allocates nothing (the write at a flush allocates a
      memoryview slice and whatever the filesystem allocates).
    - The buffer is written and flushed every flush_rows rows or when a row is flush_s seconds
      newer than the oldest buffered row, whichever comes first: a power cut loses at most the
      buffered rows (default 6 rows = 1 minute at a 10 s period), and a torn write leaves at
      most one torn last line, which the lenient reader drops. Fewer flushes wear the flash
      less (LittleFS rewrites the file's last block at each flush).
    - Files are append-only and never reopened: a boot starts a new file, with the next
      sequence number after the newest one found; each file starts with the format line,
      optional '# key=value' meta and the header, so every file is readable alone.
    - A file grows to at most file_bytes; the writer then starts the next file, and only after
      that new file exists (header flushed) deletes the oldest files until the older files plus
      one full file fit in budget_bytes. The files stay within the budget, except for the
      header of a file just created (for the moment between its creation and the deletion).
    - Rows whose time does not increase (clock stepped back) are not written: `skipped`.
    - OSError from the filesystem (flash full, ...) is counted in `errors` and the buffered
      rows are dropped; the next append starts a new file. The log never stops the sign.
    """

    def __init__(
        self,
        fs,
        *,
        directory="/log",
        budget_bytes=256 * 1024,
        file_bytes=16 * 1024,
        flush_rows=6,
        flush_s=60,
        meta=None,
    ):
        if file_bytes < 256 or budget_bytes < 2 * file_bytes:
            raise ValueError("need file_bytes >= 256 and budget_bytes >= 2 * file_bytes")
        if flush_rows < 1:
            raise ValueError("need flush_rows >= 1")
        self.fs = fs
        self.directory = directory
        self.budget_bytes = budget_bytes
        self.file_bytes = file_bytes
        self.flush_rows = flush_rows
        self.flush_s = flush_s
        head = FORMAT_LINE + "\n"
        if meta:
            head += "# " + " ".join("%s=%s" % (k, meta[k]) for k in sorted(meta)) + "\n"
        self._head = (head + HEADER_V2 + "\n").encode()
        if len(self._head) + _MAX_ROW > file_bytes // 2:
            raise ValueError("meta too long for file_bytes")
        self._buf = bytearray(flush_rows * _MAX_ROW)
        self._mv = memoryview(self._buf)
        self._n = 0  # bytes buffered
        self._rows = 0  # rows buffered
        self._first = 0  # time of the oldest buffered row
        self.last_t = -1  # firmware time of the last row accepted (what the monitor prints)
        self._file = None
        self._size = 0  # bytes in the current file (written)
        self._seqs = []  # sequence numbers of the older files, oldest first
        self._sizes = []  # and their sizes
        self._next = -1  # sequence number of the next file, -1 before the scan
        self.rows = 0
        self.flushes = 0
        self.files_started = 0
        self.files_deleted = 0
        self.skipped = 0
        self.errors = 0

    # -- boot: find what is there --

    def _boot(self):
        try:
            self._scan()
        except OSError:
            self.errors += 1
            self._next = 1  # _start_file never overwrites an existing file

    def _scan(self):
        fs = self.fs
        d = self.directory
        fs.mkdir(d)
        seqs = [s for s in (_seq_of(n) for n in fs.listdir(d)) if s >= 0]
        seqs.sort()
        self._seqs = seqs
        self._sizes = [fs.size(_file_name(d, s)) for s in seqs]
        self._next = seqs[-1] + 1 if seqs else 1
        if seqs:
            t = _last_time(fs, _file_name(d, seqs[-1]))
            if t is not None and self.last_t < 0:
                self.last_t = t - EPOCH_2000_UNIX

    # -- the row --

    def append(self, now, power_mw, raw, flag):
        """Log one sample: now in firmware seconds (since 2000), power and raw as ints (mW and
        driver units), flag a sunprint.quality flag. Returns False if the row was skipped."""
        if self._next < 0:
            self._boot()
        if now <= self.last_t:
            self.skipped += 1
            return False
        if self._rows and now - self._first >= self.flush_s:
            self.flush()
        buf = self._buf
        n = self._n
        if not self._rows:
            self._first = now
        start = n
        # UNIX seconds without a big int: now + 946684800 in two halves of 5 digits.
        lo = now % 100000 + 84800
        n = _put_uint(buf, n, now // 100000 + 9466 + lo // 100000)
        n = _put_digits(buf, n, lo % 100000, 5)
        buf[n] = 0x2C  # ","
        n += 1
        mw = power_mw
        if mw > LOG_MAX_MW:
            mw = LOG_MAX_MW
        elif mw < _LOG_MIN_MW:
            mw = _LOG_MIN_MW
        if raw > LOG_MAX_RAW:
            raw = LOG_MAX_RAW
        elif raw < _LOG_MIN_RAW:
            raw = _LOG_MIN_RAW
        if mw < 0:
            buf[n] = 0x2D  # "-"
            n += 1
            mw = -mw
        n = _put_uint(buf, n, mw // 1000)
        buf[n] = 0x2E  # "."
        n = _put_digits(buf, n + 1, mw % 1000, 3)
        buf[n] = 0x2C
        n += 1
        if raw < 0:
            buf[n] = 0x2D
            n += 1
            raw = -raw
        n = _put_uint(buf, n, raw)
        buf[n] = 0x2C
        n = _put_uint(buf, n + 1, flag & 0xFF)
        buf[n] = 0x0A  # "\n"
        n += 1
        self._n = n
        self._rows += 1
        self.last_t = now
        self.rows += 1
        size = self._size if self._file is not None else len(self._head)
        if size + n > self.file_bytes and (start or self._file is not None):
            # This row would overflow the file: the rows before it go into this file (started
            # if need be), the row starts the next one.
            self._n = start
            self._rows -= 1
            self.flush()
            self._close_file()
            if start:
                self._mv[0 : n - start] = self._mv[start:n]  # a small copy, once per file
            self._n = n - start
            self._rows = 1
            self._first = now
        if self._rows >= self.flush_rows or self._n + _MAX_ROW > len(buf):
            self.flush()
        return True

    def flush(self):
        """Write and flush the buffered rows (starting a file if none is open)."""
        if not self._n:
            return
        n = self._n
        self._n = 0
        self._rows = 0
        try:
            f = self._file
            if f is None:
                f = self._start_file()
            f.write(self._mv[:n])
            f.flush()
            self._size += n
            self.flushes += 1
        except OSError:
            self.errors += 1
            self._abandon()

    def close(self):
        """Flush and close the current file (clean shutdown)."""
        self.flush()
        self._close_file()

    # -- files --

    def _start_file(self):
        if self._next < 0:
            self._boot()
        fs = self.fs
        seq = self._next
        while fs.exists(_file_name(self.directory, seq)):
            seq += 1  # never truncate an older file, whatever the scan missed
        self._next = seq + 1
        f = fs.open(_file_name(self.directory, seq), "wb")
        self._file = f
        f.write(self._head)
        f.flush()
        self._size = len(self._head)
        self.files_started += 1
        # The new file exists: now the oldest may go.
        seqs = self._seqs
        sizes = self._sizes
        total = 0
        for s in sizes:
            total += s
        while seqs and total + self.file_bytes > self.budget_bytes:
            old = seqs.pop(0)
            total -= sizes.pop(0)
            fs.remove(_file_name(self.directory, old))
            self.files_deleted += 1
        seqs.append(seq)  # counted with the older files once it is closed
        sizes.append(0)
        return f

    def _close_file(self):
        f = self._file
        if f is None:
            return
        self._file = None
        if self._sizes:
            self._sizes[-1] = self._size
        try:
            f.close()
        except OSError:
            self.errors += 1

    def _abandon(self):
        f = self._file
        self._file = None
        if self._sizes:
            self._sizes[-1] = self._size
        if f is not None:
            try:
                f.close()
            except OSError:
                pass

    def files(self):
        """The paths of the log files, oldest first (as the writer knows them)."""
        if self._next < 0:
            self._boot()
        return [_file_name(self.directory, s) for s in self._seqs]


def _put_digits(buf, n, value, width):
    # value as exactly `width` decimal digits (zero-padded) at buf[n]; returns the new end.
    i = n + width - 1
    while i >= n:
        buf[i] = _NUL + value % 10
        value //= 10
        i -= 1
    return n + width


def _put_uint(buf, n, value):
    # value >= 0 in decimal at buf[n], no padding; returns the new end.
    width = 1
    v = value
    while v >= 10:
        v //= 10
        width += 1
    return _put_digits(buf, n, value, width)


def _last_time(fs, path):
    # UNIX time of the last complete row of a log file, None if it has none. Read in chunks:
    # a boot-time cost, bounded by file_bytes.
    try:
        f = fs.open(path, "rb")
    except OSError:
        return None
    tail = b""
    try:
        while True:
            chunk = f.read(256)
            if not chunk:
                break
            tail = (tail + chunk)[-2 * _MAX_ROW :]
    finally:
        f.close()
    end = tail.rfind(b"\n")
    if end < 0:
        return None
    start = tail.rfind(b"\n", 0, end) + 1
    try:
        return int(tail[start:end].split(b",")[0].decode())
    except (ValueError, UnicodeError):
        return None
