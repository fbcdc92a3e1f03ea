# Strict JSON syntax (RFC 8259) for a file a person edited, before json.loads reads it.
#
# MicroPython's json module lets some broken text through: `{"a": }` reads as {} (the key is
# dropped without a word), `[1 2]` as [1, 2], trailing commas and leading zeros pass. CPython's
# reads NaN and Infinity. check() gives the same verdict in both: the first fault, with its
# line and column. Byte by byte, so indexing stays O(1) in MicroPython whatever the text.
# Linear time: lines are counted only for the fault reported, never per key.

from sunprint.compat import const

_MAX_DEPTH = const(8)


class JSONSyntaxError(ValueError):
    # str(): "line L column C: what"
    def __init__(self, line, col, what):
        super().__init__("line %d column %d: %s" % (line, col, what))
        self.line = line


def check(b):
    """Raise JSONSyntaxError at the first fault of bytes b (one JSON value). Returns the keys of
    a top-level object as (raw key bytes, byte offset) in file order, for first_duplicate()."""
    keys = []
    try:
        i = _ws(b, _value(b, _ws(b, 0), 0, keys))
        if i < len(b):
            raise _Fault(i, "unexpected text after the end")
    except _Fault as e:
        line, col = line_col(b, e.args[0])
        raise JSONSyntaxError(line, col, e.args[1])
    return keys


def first_duplicate(b, keys):
    """The first key of check()'s keys that b gives twice, as (key, line, line) (the key as
    json.loads reads it, the lines of its first and second use), or None. Keys are compared
    decoded: "site" and "\\u0073ite" are one key, as they are in the dict json.loads builds
    (which keeps the last). Linear time."""
    seen = {}
    for raw, at in keys:
        key = _decoded(raw)
        first = seen.get(key)
        if first is not None:
            return key, line_col(b, first)[0], line_col(b, at)[0]
        seen[key] = at
    return None


_ESCAPES = {
    0x22: '"',
    0x5C: "\\",
    0x2F: "/",
    0x62: "\b",
    0x66: "\f",
    0x6E: "\n",
    0x72: "\r",
    0x74: "\t",
}


def _decoded(raw):
    # A key's text between its quotes (escapes already checked by check()), decoded by JSON's
    # rule: a \uD83D\uDE00 surrogate pair is one character, U+1F600, as CPython's json reads
    # it. Not json.loads: MicroPython's leaves the pair as two lone surrogates, and the same
    # file must get the same verdict in both interpreters. Byte by byte (O(1) indexing).
    if 0x5C not in raw:
        return raw.decode()
    parts = []
    i, n = 0, len(raw)
    while i < n:
        j = raw.find(b"\\", i)
        if j < 0:
            j = n
        if j > i:
            parts.append(raw[i:j].decode())
        if j >= n:
            break
        e = raw[j + 1]
        if e != 0x75:  # not \u
            parts.append(_ESCAPES[e])
            i = j + 2
            continue
        cp = int(raw[j + 2 : j + 6], 16)
        i = j + 6
        if 0xD800 <= cp < 0xDC00 and raw[i : i + 2] == b"\\u":
            low = int(raw[i + 2 : i + 6], 16)
            if 0xDC00 <= low < 0xE000:
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00)
                i += 6
        parts.append(chr(cp))
    return "".join(parts)


def line_col(b, pos):
    """1-based line and column (in characters, not bytes) of byte offset pos of b."""
    line, col = 1, 1
    for i in range(min(pos, len(b))):
        if b[i] == 10:
            line, col = line + 1, 1
        elif b[i] & 0xC0 != 0x80:  # not a UTF-8 continuation byte
            col += 1
    return line, col


class _Fault(Exception):
    pass


def _ws(b, i):
    n = len(b)
    while i < n and b[i] in b" \t\r\n":
        i += 1
    return i


def _value(b, i, depth, keys):
    # index after the value at i; keys (top level only) collects an object's keys
    n = len(b)
    c = b[i] if i < n else 0
    if c == 0x7B or c == 0x5B:  # { [
        if depth >= _MAX_DEPTH:
            raise _Fault(i, "nested more than %d deep" % _MAX_DEPTH)
        close = c + 2  # } ]
        i = _ws(b, i + 1)
        if i < n and b[i] == close:
            return i + 1
        while True:
            if c == 0x7B:
                if i >= n or b[i] != 0x22:
                    raise _Fault(i, "expected a key in double quotes")
                j = _string(b, i)
                if keys is not None:
                    keys.append((b[i + 1 : j - 1], i))
                i = _ws(b, j)
                if i >= n or b[i] != 0x3A:
                    raise _Fault(i, "expected ':' after the key")
                i = _ws(b, i + 1)
            i = _ws(b, _value(b, i, depth + 1, None))
            if i < n and b[i] == 0x2C:  # ,
                i = _ws(b, i + 1)
                if i < n and b[i] == close:
                    raise _Fault(i, "a ',' before '%s' (JSON has no trailing commas)" % chr(close))
            elif i < n and b[i] == close:
                return i + 1
            else:
                raise _Fault(i, "expected ',' or '%s'" % chr(close))
    if c == 0x22:
        return _string(b, i)
    if c == 0x2D or 0x30 <= c <= 0x39:  # - digit
        return _number(b, i)
    for word in (b"true", b"false", b"null"):
        if b[i : i + len(word)] == word:
            return i + len(word)
    raise _Fault(i, 'expected a value (a number, "text", true, false, null, [...] or {...})')


def _string(b, i):
    # index after the string that starts with the '"' at i
    start, n = i, len(b)
    i += 1
    while i < n:
        c = b[i]
        if c == 0x22:
            return i + 1
        if c < 0x20:
            raise _Fault(i, "a control character in a string (write a line break as \\n)")
        if c == 0x5C:  # backslash
            e = b[i + 1 : i + 2]
            if e == b"u":
                h = b[i + 2 : i + 6]
                if len(h) < 4 or [x for x in h if x not in b"0123456789abcdefABCDEF"]:
                    raise _Fault(i, "expected 4 hex digits after \\u")
                i += 4
            elif not e or e not in b'"\\/bfnrt':
                raise _Fault(i, "an unknown escape in a string (write a backslash as \\\\)")
            i += 1
        i += 1
    raise _Fault(start, "a string that is not closed")


def _number(b, i):
    if b[i] == 0x2D:
        i += 1
    if b[i : i + 1] == b"0":
        i += 1
    else:
        i = _digits(b, i)
    if b[i : i + 1] == b".":
        i = _digits(b, i + 1)
    if b[i : i + 1] in (b"e", b"E"):
        i += 1
        if b[i : i + 1] in (b"+", b"-"):
            i += 1
        i = _digits(b, i)
    return i


def _digits(b, i):
    # index after one or more digits at i
    n = i
    while n < len(b) and 0x30 <= b[n] <= 0x39:
        n += 1
    if n == i:
        raise _Fault(i, "expected a digit")
    return n
