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
                                          mW for power drivers), flag a sunprint.quality flag
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

The device side is SampleLogWriter (sunprint/logwriter.py, re-exported here): a ring of files <directory>/NNNNNNNN.csv (8-digit sequence
number, so name order is write order) within a byte budget; see its docstring.
"""

from sunprint.compat import EPOCH_2000_UNIX, const
from sunprint.logwriter import (  # noqa: F401 - the writer and its format, here as well
    FORMAT_LINE,
    HEADER_V2,
    LOG_MAX_MW,
    LOG_MAX_RAW,
    SampleLogWriter,
    _file_name,
    _seq_of,
)

FORMAT_LINE_V1 = "# sunprint samplelog 1"
FORMAT_PREFIX = "# sunprint samplelog "
HEADER = "timestamp,power_w"  # version 1
VERSION = 2
VERSIONS = (1, 2)
_HEADERS = ("", HEADER, HEADER_V2)
_FIELDS = (0, 2, 4)


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


class ReadState:
    """Where read_rows stopped in a log read in pieces (the host's replay reads a log a block at
    a time and parses the plain data blocks itself): read_rows(lines, ..., state=s) goes on
    from s (line number, version, header seen) and leaves s where it stopped. The "no header"
    check runs at the end of the piece with s.last set (the log's end)."""

    def __init__(self):
        self.lineno = 0
        self.version = 1
        self.section = False
        self.seen_header = False
        self.header_ever = False
        self.last = False
        self.ended = False  # a lenient read stopped at a torn line: nothing after it is read


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


def read_rows(stream, path="<log>", lenient=False, stats=None, skip_bad=False, min_t=0, state=None):
    """Yield (unix_seconds, power_w, raw, flag) from an open text stream, checking every line.

    raw is None and flag 0 for a version 1 row. Raises SampleLogError naming path and line on
    the first fault; with lenient=True a torn line is dropped and counted in stats.dropped.
    skip_bad=True skips a bad row (a field that is not a number, not finite or out of range, a
    wrong field count, a timestamp not after the previous one, an empty line) and counts it in
    stats.skipped; a bad header, version or overlong line is still an error. A row dated before
    min_t is a bad row (replay: MIN_UNIT_TIMESTAMP, what the unit's clock can hold). state: a
    ReadState, for a stream read in pieces (None: the stream is the whole log).
    """
    if stats is None:
        stats = ReadStats()
    lineno = 0
    version = 1  # a plain CSV without a format line is version 1
    section = False  # a format line was seen and its header has not come yet
    seen_header = False
    header_ever = False
    if state is not None:
        lineno = state.lineno
        version = state.version
        section = state.section
        seen_header = state.seen_header
        header_ever = state.header_ever
    last_t = stats.last_t
    any_t = stats.rows > 0
    for raw_line in stream:
        lineno += 1
        if len(raw_line) > MAX_LINE:
            raise SampleLogError(path, lineno, "line longer than %d characters" % MAX_LINE)
        if not raw_line.endswith("\n"):
            if lenient:
                stats.dropped += 1
                if state is not None:
                    state.ended = True
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
                if not isinstance(row, str):  # (one test per good row: this runs per row)
                    t = row[0]
                    if not any_t or t > last_t:
                        last_t = stats.last_t = t
                        any_t = True
                        stats.rows += 1
                        if row[3]:
                            stats.flagged += 1
                        yield row
                        continue
                    row = "timestamp %d is not after the previous one (%d)" % (t, last_t)
        if not skip_bad:
            raise SampleLogError(path, lineno, row)
        stats.skipped += 1
        if not stats.first_skipped:
            stats.first_skipped = "%s:%d: %s" % (path, lineno, row)
    if state is not None:
        state.lineno = lineno
        state.version = version
        state.section = section
        state.seen_header = seen_header
        state.header_ever = header_ever
        if not state.last:
            return
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
