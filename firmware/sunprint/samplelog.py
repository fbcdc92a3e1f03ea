"""The sample log: what the device records and what replay reads.

Format version 1, a CSV text file with '\\n' line endings:

    # sunprint samplelog 1            <- format line (optional in a plain CSV)
    # site=Zhongshan lat=22.5 ...      <- any number of '#' comment lines before the header
    timestamp,power_w                  <- the header, exactly
    1728921600,0.0                     <- UNIX seconds (UTC, integer), PV power in W (decimal)

Format version 2 (what the device writes) adds two columns; the format line is required:

    # sunprint samplelog 2
    timestamp,power_w,raw,flag
    1728921600,1234.567,1240,0         <- power_w calibrated (W, decimal), raw the driver's
                                          reading before calibration (integer, driver units,
                                          mW for power drivers), flag a core.quality flag
    1728921610,0.000,0,1               <- flag != 0: a reading the ledger must not integrate

|power_w| <= 1e9 W in a row with flag 0; a flagged row may hold any finite power_w (it is data
about a fault). The writer bounds what it writes to |power_w| <= 99,999,999.999 W and
|raw| <= 9,999,999,999, so a row always fits its buffer.

A UTF-8 byte order mark at the start of a file (Excel's "CSV UTF-8") is skipped. Rows must be
in strictly increasing time order and the file must end with a newline: a last
line without one is a write torn by a power cut. The reader names file and line for every fault.

A log may hold several sections, each starting with a format line (`cat /log/*.csv` of a
device's files in order): timestamps keep increasing across sections, and every section has
its own header, so versions 1 and 2 may even be mixed.

Readers:
- read_rows(stream, path) yields (t, power_w, raw, flag) for every row; a v1 row has raw None
  and flag 0 (OK).
- read_samples(stream, path) yields (t, power_w) for the OK rows only (flag 0): what a v1
  reader always saw. A flagged row is skipped, which hides it from the ledger; replay should use
  read_rows to hand the flag to the ledger (a flagged reading makes the intervals on either side
  of it missing time, a skipped one lets the ledger integrate across it).
- strict by default: every fault raises SampleLogError. lenient=True (device logs) drops a torn
  line (the last line of the stream without a newline, or a line glued to the next section's
  format line in concatenated files) and counts it in stats.dropped instead; a section cut before
  its header (an empty file, a torn format line) is not an error either. Anything else is still
  an error.
- read_log(fs, directory) reads a device's log files in order (lenient by default).

The device side is SampleLogWriter: a ring of files <directory>/NNNNNNNN.csv (8-digit sequence
number, so name order is write order) within a byte budget; see its docstring.
"""

from sunprint.compat import EPOCH_2000_UNIX, const

FORMAT_LINE = "# sunprint samplelog 2"
FORMAT_LINE_V1 = "# sunprint samplelog 1"
FORMAT_PREFIX = "# sunprint samplelog "
HEADER = "timestamp,power_w"  # version 1
HEADER_V2 = "timestamp,power_w,raw,flag"
VERSION = 2
VERSIONS = (1, 2)
_HEADERS = ("", HEADER, HEADER_V2)
_FIELDS = (0, 2, 4)

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


class SampleLogError(ValueError):
    """A sample log that cannot be read; str() is 'path:line: what is wrong'."""

    def __init__(self, path, line, message):
        super().__init__("%s:%d: %s" % (path, line, message))
        self.path = path
        self.line = line
        self.message = message


class ReadStats:
    """What a read saw: rows yielded (all flags), flagged rows, torn lines dropped, bad rows
    skipped (skip_bad=True; `first_skipped` is the first one's 'path:line: why'), sections."""

    def __init__(self):
        self.rows = 0
        self.flagged = 0
        self.dropped = 0
        self.skipped = 0
        self.first_skipped = ""
        self.sections = 0
        self.last_t = 0  # the last row's time, when rows > 0


MAX_LINE = const(4096)  # characters; a longer line is not a sample log's
MAX_TIMESTAMP = 4294967295  # 2106: what a 32-bit unsigned RTC holds
MIN_UNIT_TIMESTAMP = EPOCH_2000_UNIX  # 2000-01-01: the unit's clock counts seconds from it
MAX_POWER_W = 1e9  # 1 GW: anything above is not a reading
_DIGITS = "0123456789"
_NUMBER = "0123456789.-+eE"


def _short(text):
    # a field or line quoted in a message, kept short: a message is one line a person reads
    if len(text) > 40:
        return repr(text[:40]) + "..."
    return repr(text)


def _parse_row(fields, version, min_t):
    """(t, power_w, raw, flag) or a str saying what is wrong."""
    f0 = fields[0]
    # strip() with a character set runs in C: what is left is not a digit (no sign, no "_",
    # no space, which int() would accept)
    if not f0 or f0.strip(_DIGITS):
        return "timestamp %s is not an integer" % _short(f0)
    t = int(f0)
    if t > MAX_TIMESTAMP:
        return "timestamp %s is out of range (0..%d)" % (_short(f0), MAX_TIMESTAMP)
    if t < min_t:
        return "timestamp %d is before %s" % (t, min_t_name(min_t))
    f1 = fields[1]
    if not f1 or f1.strip(_NUMBER):
        if f1.lower().lstrip("+-") in ("nan", "inf", "infinity"):
            return "power_w %s is not a finite number" % _short(f1)
        return "power_w %s is not a number" % _short(f1)
    try:
        p = float(f1)
    except ValueError:
        return "power_w %s is not a number" % _short(f1)
    if p - p != 0:  # inf - inf and nan - nan are nan
        return "power_w %s is not a finite number" % _short(f1)
    raw = None
    flag = 0
    if version == 2:
        f2 = fields[2]
        digits = f2[1:] if f2[:1] == "-" else f2
        if not digits or digits.strip(_DIGITS) or len(digits) > 10:
            return "raw %s is not an integer" % _short(f2)
        raw = int(f2)
        f3 = fields[3]
        if not f3 or f3.strip(_DIGITS) or len(f3) > 3 or int(f3) > 255:
            return "flag %s is not an integer 0..255" % _short(f3)
        flag = int(f3)
    # The range is for readings the ledger may book. A flagged row is data about a fault (after
    # an absurd calibration a unit logged 1.99e14 W, flagged out of range): read it as it is.
    if not flag and (p > MAX_POWER_W or p < -MAX_POWER_W):
        return "power_w %s is out of range (|power_w| <= 1e9 W)" % _short(f1)
    return t, p, raw, flag


def min_t_name(min_t):
    # how a lower timestamp bound is named in a message
    if min_t == MIN_UNIT_TIMESTAMP:
        return "2000-01-01 (%d), the earliest time the unit's clock can hold" % min_t
    return "%d" % min_t


def read_rows(stream, path="<log>", lenient=False, stats=None, skip_bad=False, min_t=0):
    """Yield (unix_seconds, power_w, raw, flag) from an open text stream, checking every line.

    raw is None and flag 0 for a version 1 row. Raises SampleLogError naming path and line on
    the first fault; with lenient=True a torn line is dropped and counted in stats.dropped.
    skip_bad=True skips a bad row (a field that is not a number, not finite or out of range, a
    wrong field count, a timestamp not after the previous one, an empty line) and counts it in
    stats.skipped; a bad header, version or overlong line is still an error. A row dated before
    min_t is a bad row (replay: MIN_UNIT_TIMESTAMP, what the unit's clock can hold).
    """
    if stats is None:
        stats = ReadStats()
    lineno = 0
    version = 1  # a plain CSV without a format line is version 1
    section = False  # a format line was seen and its header has not come yet
    seen_header = False
    header_ever = False
    last_t = stats.last_t
    any_t = stats.rows > 0
    for raw_line in stream:
        lineno += 1
        if len(raw_line) > MAX_LINE:
            raise SampleLogError(path, lineno, "line longer than %d characters" % MAX_LINE)
        if not raw_line.endswith("\n"):
            if lenient:
                stats.dropped += 1
                break
            raise SampleLogError(path, lineno, "truncated last line (no newline at end of file)")
        line = raw_line.rstrip("\r\n")
        if lineno == 1 and line[:1] == "\ufeff":
            line = line[1:]  # a UTF-8 byte order mark: a CSV saved by Excel
        at = line.find(FORMAT_PREFIX)
        if at > 0 and lenient:
            # A torn line glued to the next file's format line (concatenated device files).
            stats.dropped += 1
            line = line[at:]
            at = 0
        if at == 0:
            v = line[len(FORMAT_PREFIX) :].strip()
            if v not in ("1", "2"):
                raise SampleLogError(
                    path, lineno, "unsupported samplelog version %s (want 1 or 2)" % _short(v)
                )
            if section and not seen_header and not lenient:
                raise SampleLogError(path, lineno, "format line again before the header")
            version = int(v)
            section = True
            seen_header = False
            stats.sections += 1
            continue
        if not seen_header:
            if line.startswith("#"):
                continue
            want = _HEADERS[version]
            if line.replace(" ", "") != want:
                raise SampleLogError(
                    path, lineno, "expected header %r, got %s" % (want, _short(line))
                )
            seen_header = header_ever = True
            continue
        if not line:
            row = "empty line"
        else:
            fields = line.split(",")
            if len(fields) != _FIELDS[version]:
                row = "expected %d fields, got %d" % (_FIELDS[version], len(fields))
            else:
                row = _parse_row(fields, version, min_t)
        if not isinstance(row, str):
            t = row[0]
            if any_t and t <= last_t:
                row = "timestamp %d is not after the previous one (%d)" % (t, last_t)
        if isinstance(row, str):
            if not skip_bad:
                raise SampleLogError(path, lineno, row)
            stats.skipped += 1
            if not stats.first_skipped:
                stats.first_skipped = "%s:%d: %s" % (path, lineno, row)
            continue
        last_t = stats.last_t = t
        any_t = True
        stats.rows += 1
        if row[3]:
            stats.flagged += 1
        yield row
    if not header_ever and not lenient:
        raise SampleLogError(path, max(lineno, 1), "no header %r found" % HEADER)


def read_samples(stream, path="<log>", lenient=False, stats=None, skip_bad=False):
    """Yield (unix_seconds, power_w) for the OK rows (flag 0), checking every line.

    Raises SampleLogError naming path and line on the first fault (see read_rows).
    """
    for t, p, _raw, flag in read_rows(stream, path, lenient, stats, skip_bad):
        if flag == 0:
            yield t, p


def write_header(stream, meta=None, version=1):
    """Write the format line, optional 'key=value' metadata and the header (text stream)."""
    stream.write((FORMAT_LINE if version == 2 else FORMAT_LINE_V1) + "\n")
    if meta:
        stream.write("# " + " ".join("%s=%s" % (k, meta[k]) for k in sorted(meta)) + "\n")
    stream.write(_HEADERS[version] + "\n")


def format_row(t, power_w):
    """A version 1 row."""
    return "%d,%.1f\n" % (t, power_w)


# -- the device's log files ----------------------------------------------------------------

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


def _read_bytes(fs, path):
    f = fs.open(path, "rb")
    try:
        return f.read()
    finally:
        f.close()


def log_files(fs, directory="/log"):
    """The paths of the log files in directory, oldest first."""
    seqs = [s for s in (_seq_of(n) for n in fs.listdir(directory)) if s >= 0]
    seqs.sort()
    return [_file_name(directory, s) for s in seqs]


def _text(data):
    # The complete lines decode as ASCII/UTF-8; a torn tail may end inside a character.
    cut = data.rfind(b"\n") + 1
    text = data[:cut].decode()
    if cut < len(data):
        try:
            text += data[cut:].decode()
        except UnicodeError:
            text += "?" * (len(data) - cut)
    return text


def _lines(text):
    # Lines with their '\n', the last one without it if torn (as iterating a file gives).
    start = 0
    n = len(text)
    while start < n:
        end = text.find("\n", start)
        if end < 0:
            yield text[start:]
            return
        yield text[start : end + 1]
        start = end + 1


def read_log(fs, directory="/log", lenient=True, stats=None):
    """Yield (t, power_w, raw, flag) from every log file in directory, oldest first.

    Each file is read alone (its own header), timestamps must increase across files. Lenient
    by default: a torn last line of a file (a power cut) is dropped and counted in stats.dropped.
    """
    if stats is None:
        stats = ReadStats()
    for path in log_files(fs, directory):
        text = _text(_read_bytes(fs, path))
        if not text:
            continue  # created, then the power went before the header reached the flash
        for row in read_rows(_lines(text), path, lenient, stats):
            yield row


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
        self._last = -1  # firmware time of the last row accepted
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
            if t is not None and self._last < 0:
                self._last = t - EPOCH_2000_UNIX

    # -- the row --

    def append(self, now, power_mw, raw, flag):
        """Log one sample: now in firmware seconds (since 2000), power and raw as ints (mW and
        driver units), flag a core.quality flag. Returns False if the row was skipped."""
        if self._next < 0:
            self._boot()
        if now <= self._last:
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
        self._last = now
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
