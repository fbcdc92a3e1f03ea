"""The log reader of `sunprint replay` (CPython): a sample log as blocks of columns.

    for ts, ps, flags in row_blocks(f, name, lenient, stats, min_t): core.feed_block(...)

The log is read 1 MB at a time. A block's plain data lines (only digits, a point and a sign
in the fields of its section's version, nothing else on the line) are parsed at once by the
str and int/float C code; every other line (format lines, comments, headers, a bad row, a
torn line, a "\\r\\n" ending) goes through the firmware's own reader (samplelog.read_rows,
resumed where the last piece stopped: sunprint.samplelog.ReadState), as do plain lines whose
values that reader would refuse or flag (out of range, not after the previous row). So the
rows, their values, the stats and every fault (its text and line) are the ones read_rows gives
for the whole log; a block's checks (UTF-8, NUL, overlong lines) come before any of its rows,
as before.
"""

import itertools
import operator
import re

from sunprint.samplelog import (
    MAX_POWER_W,
    MAX_TIMESTAMP,
    ReadState,
    SampleLogError,
    read_rows,
)

MAX_LINE_BYTES = 4096
_BLOCK = 1 << 20

# A data line the block parser takes (the line's fields; any other line is read_rows's). The
# fields are a subset of what samplelog._parse_row accepts, parsed by the same int()/float().
_T = "[0-9]{1,10}"
_P = "-?[0-9]{1,15}(?:\\.[0-9]{1,9})?"
_PLAIN = (None, _T + "," + _P + "\n", _T + "," + _P + ",-?[0-9]{1,10},[0-9]{1,3}\n")
# the start of a line that is not a plain one (as the last one, the text's end after its "\n")
_NOT_PLAIN = (None,) + tuple(re.compile("^(?!%s)" % p, re.M) for p in _PLAIN[1:])
_FIELDS = (0, 2, 4)


def text_blocks(f, name, at):
    """The text of whole lines per 1 MB read of the binary file f, decoded (a fault names
    file:line; at[0]: the lines, as splitlines counts them, before the block, kept by the
    caller)."""
    carry = b""
    while True:
        chunk = f.read(_BLOCK)
        data = carry + chunk
        if not data:
            return
        cut = data.rfind(b"\n") + 1 if chunk else len(data)
        if cut == 0:  # no newline in the whole buffer: one line so far
            if len(data) > MAX_LINE_BYTES:
                raise SampleLogError(name, at[0] + 1, "line longer than %d bytes" % MAX_LINE_BYTES)
            carry = data
            continue
        block, carry = data[:cut], data[cut:]
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError as e:
            line = at[0] + block.count(b"\n", 0, e.start) + 1
            raise SampleLogError(name, line, "not UTF-8 text (a binary file?)") from None
        yield text


def check_lines(lines, lineno, name):
    """The checks of a block's lines before any is read: no NUL, none overlong."""
    if not lines:
        return
    if max(map(len, lines)) > MAX_LINE_BYTES or any("\x00" in line for line in lines):
        for i, line in enumerate(lines):  # find the line at fault
            if "\x00" in line:
                raise SampleLogError(name, lineno + i + 1, "NUL byte (a binary file?)")
            if len(line) > MAX_LINE_BYTES:
                raise SampleLogError(
                    name, lineno + i + 1, "line longer than %d bytes" % MAX_LINE_BYTES
                )


def text_lines(f, name):
    """The checked lines of the binary file f, each with its newline (read_rows's stream)."""
    at = [0]
    for text in text_blocks(f, name, at):
        lines = text.splitlines(keepends=True)
        check_lines(lines, at[0], name)
        at[0] += len(lines)
        yield from lines


def row_blocks(f, name, lenient, stats, min_t):
    """(ts, ps, flags) per piece of the log: lists of the rows' unix seconds, power (W,
    float) and flag (None: every flag 0), the rows read_rows(lines, name, lenient, stats,
    lenient, min_t) yields, in order; stats counted as it counts them."""
    state = ReadState()
    at = [0]
    for text in text_blocks(f, name, at):
        # read_rows reads up to the last line that is not plain (the text's end after its
        # last newline does not count); the plain lines after it are parsed here
        version = state.version
        end = len(text)
        cut = 0
        for m in _NOT_PLAIN[version].finditer(text):
            if m.start() < end:
                cut = text.find("\n", m.start()) + 1 or end
        if cut:
            lines = text[:cut].splitlines(keepends=True)
            check_lines(lines, state.lineno, name)
            yield _read(lines, name, lenient, stats, min_t, state)
        if state.ended:
            break  # (read_rows stops at a torn line, even one a "\x0b" made)
        if cut < end:
            plain = text[cut:] if cut else text
            piece = None
            if state.seen_header and state.version == version:
                piece = _plain(plain, version, stats, min_t)
            if piece is None:  # a value read_rows refuses or flags (or another version)
                yield _read(plain.splitlines(keepends=True), name, lenient, stats, min_t, state)
            else:
                state.lineno += len(piece[0])
                yield piece
        at[0] = state.lineno
    state.last = True
    for _ in read_rows((), name, lenient, stats, lenient, min_t, state):
        pass  # (the end: a log without a header)


def _read(lines, name, lenient, stats, min_t, state):
    rows = list(read_rows(lines, name, lenient, stats, lenient, min_t, state))
    flags = [r[3] for r in rows]
    return [r[0] for r in rows], [r[1] for r in rows], flags if any(flags) else None


def _plain(text, version, stats, min_t):
    # Plain lines of `version` (every one ends in "\n"): the columns, or None when a value is
    # one read_rows refuses (a time out of range or not after the last, a power out of range).
    fields = text.replace("\n", ",").split(",")
    step = _FIELDS[version]
    ts = list(map(int, fields[0:-1:step]))
    ps = list(map(float, fields[1:-1:step]))
    flags = list(map(int, fields[3:-1:step])) if version == 2 else None
    if ts[0] < min_t or ts[-1] > MAX_TIMESTAMP or (stats.rows > 0 and ts[0] <= stats.last_t):
        return None
    if not all(map(operator.lt, ts, itertools.islice(ts, 1, None))):
        return None
    if max(ps) > MAX_POWER_W or min(ps) < -MAX_POWER_W:
        return None  # (a flagged row may hold it: read_rows says)
    n = len(ts)
    if flags is not None:
        if max(flags) > 255:
            return None
        flagged = n - flags.count(0)
        stats.flagged += flagged
        if not flagged:
            flags = None
    stats.rows += n
    stats.last_t = ts[-1]
    return ts, ps, flags
