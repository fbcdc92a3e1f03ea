"""Changed rectangles between the frame on the panel and the next one, for window refreshes.

Two buffer formats, with framebuf's numbers:
- MONO_VLSB (SSD1680): byte page*width + x, bit k = pixel (x, 8*page + k). A byte is a column
  of 8 pixels, so boxes have y and h in whole pages (multiples of 8) and x, w in pixels.
- MONO_HLSB (SSD1683, UC8179): byte y*stride + x//8 with stride = ceil(width / 8), MSB =
  leftmost. A byte is a run of 8 pixels, so boxes have x and w in multiples of 8, y, h in rows.
A box is byte-aligned, then clipped to the frame: only at the right or bottom edge of a frame
whose size is not a multiple of 8 does w or h end at the edge instead of a multiple of 8.
Pad bits past that edge are compared too (framebuf never draws there; a caller that does gets
a box at the edge).

One partial refresh per box: each window costs a whole refresh waveform (some 0.3-0.5 s), so
boxes closer than `gap` pixels (in x and in y) are merged, and at most `max_boxes` come out;
when more would, the merge that adds the least unchanged area is made.

Allocation: nothing per call in MicroPython when the results go into a caller's array
(changed_rects, changed_rect(..., out)): bytes are compared by index, never by slicing (a
memoryview slice costs 64 B; `prev == cur` and `prev[:] = cur` on bytearrays cost 0 B,
measured on the unix port 1.29). changed_rect without `out` returns a new 4-tuple (64 B).
Speed: a plain loop over every byte: 0.35 ms for 296 x 128 MONO_VLSB, 1.0 ms for 400 x 300
MONO_HLSB on a PC's unix port (tests/bench/bench_refresh.py; not yet timed on an ESP32, which
is many times slower); identical frames return at memcmp speed.
"""

from array import array

from sunprint.compat import const

MONO_VLSB = const(0)  # framebuf.MONO_VLSB
MONO_HLSB = const(3)  # framebuf.MONO_HLSB


def new_boxes(max_boxes):
    """A result array for changed_rects: 4 ints (x, y, w, h) per box, allocated once."""
    return array("h", [0] * (4 * max_boxes))


def _check(prev, cur, width, height, fmt):
    if fmt == MONO_VLSB:
        size = width * ((height + 7) >> 3)
    elif fmt == MONO_HLSB:
        size = ((width + 7) >> 3) * height
    else:
        raise ValueError("format must be MONO_VLSB or MONO_HLSB")
    if len(prev) < size or len(cur) < size:
        raise ValueError("buffer smaller than the frame")


def changed_rect(prev, cur, width, height, fmt, out=None):
    """Bounding box (x, y, w, h) of every changed pixel, byte-aligned; None when identical.

    With `out` (4 ints or more) the box goes into out[0:4] and out is returned: nothing is
    allocated. Without it a new tuple is returned."""
    _check(prev, cur, width, height, fmt)
    if prev == cur:  # memcmp: the common case costs nothing
        return None
    # A line is a VLSB page (lh = 8 rows, a byte per pixel column: upx = 1) or an HLSB row.
    # One name per statement: a multiple assignment of more than 3 values builds a tuple.
    if fmt == MONO_VLSB:
        lines = (height + 7) >> 3
        stride = width
        upx = 1
        lh = 8
    else:
        lines = height
        stride = (width + 7) >> 3
        upx = 8
        lh = 1
    units = stride
    lo_line = -1
    hi_line = -1
    lo_u = units
    hi_u = -1
    for line in range(lines):
        base = line * stride
        for i in range(base, base + units):
            if prev[i] != cur[i]:
                u = i - base
                if u < lo_u:
                    lo_u = u
                if u > hi_u:
                    hi_u = u
                if lo_line < 0:
                    lo_line = line
                hi_line = line
    if hi_u < 0:
        return None  # only bytes past the frame differ
    x = lo_u * upx
    y = lo_line * lh
    w = min((hi_u + 1) * upx, width) - x
    h = min((hi_line + 1) * lh, height) - y
    if out is None:
        return (x, y, w, h)
    out[0] = x
    out[1] = y
    out[2] = w
    out[3] = h
    return out


def changed_rects(prev, cur, width, height, fmt, out, max_boxes=4, gap=16):
    """Up to max_boxes disjoint boxes covering every changed pixel; returns their count.

    Box k is out[4k:4k+4] = x, y, w, h (byte-aligned, sorted by y then x); 0 when identical.
    Boxes closer than `gap` pixels both across and down are one box, so any two boxes returned
    are more than `gap` apart in x or in y. Allocates nothing."""
    _check(prev, cur, width, height, fmt)
    if max_boxes < 1 or len(out) < 4 * max_boxes:
        raise ValueError("out holds fewer than max_boxes boxes")
    if prev == cur:
        return 0
    if fmt == MONO_VLSB:
        lines = (height + 7) >> 3
        stride = width
        upx = 1
        lh = 8
    else:
        lines = height
        stride = (width + 7) >> 3
        upx = 8
        lh = 1
    units = stride
    gap_u = gap // upx  # unchanged bytes a span may hold inside it
    n = 0
    # Each line (a VLSB page, an HLSB row) gives spans of changed bytes; each span joins a
    # nearby box or becomes one. Boxes are kept as x0, y0, x1, y1 (ends exclusive) meanwhile.
    for line in range(lines):
        base = line * stride
        y0 = line * lh
        y1 = min(y0 + lh, height)
        s = -1
        last = -1
        for i in range(base, base + units):
            if prev[i] != cur[i]:
                u = i - base
                if s < 0:
                    s = u
                elif u - last - 1 > gap_u:
                    n = _add(out, n, max_boxes, gap, s * upx, min((last + 1) * upx, width), y0, y1)
                    s = u
                last = u
        if s >= 0:
            n = _add(out, n, max_boxes, gap, s * upx, min((last + 1) * upx, width), y0, y1)
    # Growing boxes may have come to touch or overlap: merge until every pair is apart.
    m = _merge_close(out, n, gap)
    while m != n:
        n = m
        m = _merge_close(out, n, gap)
    _sort(out, n)
    for k in range(n):
        j = 4 * k
        out[j + 2] -= out[j]
        out[j + 3] -= out[j + 1]
    return n


def remember(prev, cur):
    """Copy the frame now on the panel into prev (a slice copy: memmove, 0 B allocated)."""
    if len(prev) != len(cur):
        raise ValueError("frames differ in size")  # a slice assignment would resize prev
    prev[:] = cur


def _close(out, j, gap, x0, y0, x1, y1):
    # Within `gap` pixels of box j in both directions (touching and overlapping included).
    return (
        out[j] - gap <= x1
        and x0 <= out[j + 2] + gap
        and out[j + 1] - gap <= y1
        and (y0 <= out[j + 3] + gap)
    )


def _grow(out, j, x0, y0, x1, y1):
    if x0 < out[j]:
        out[j] = x0
    if y0 < out[j + 1]:
        out[j + 1] = y0
    if x1 > out[j + 2]:
        out[j + 2] = x1
    if y1 > out[j + 3]:
        out[j + 3] = y1


def _waste(out, j, x0, y0, x1, y1, area):
    # Unchanged area a merge of box j with (x0, y0, x1, y1) adds: union minus both parts.
    ux0 = out[j] if out[j] < x0 else x0
    uy0 = out[j + 1] if out[j + 1] < y0 else y0
    ux1 = out[j + 2] if out[j + 2] > x1 else x1
    uy1 = out[j + 3] if out[j + 3] > y1 else y1
    return (ux1 - ux0) * (uy1 - uy0) - (out[j + 2] - out[j]) * (out[j + 3] - out[j + 1]) - area


def _add(out, n, cap, gap, x0, x1, y0, y1):
    for k in range(n):
        j = 4 * k
        if _close(out, j, gap, x0, y0, x1, y1):
            _grow(out, j, x0, y0, x1, y1)
            return n
    if n < cap:
        j = 4 * n
        out[j] = x0
        out[j + 1] = y0
        out[j + 2] = x1
        out[j + 3] = y1
        return n + 1
    # Full: the cheapest merge, either the span into a box or two boxes (freeing a slot).
    best = 0
    bi = -1
    bk = -1
    area = (x1 - x0) * (y1 - y0)
    for k in range(n):
        j = 4 * k
        w = _waste(out, j, x0, y0, x1, y1, area)
        if bk < 0 or w < best:
            best = w
            bi = -1
            bk = k
        for i in range(k):
            w = _waste(out, 4 * i, out[j], out[j + 1], out[j + 2], out[j + 3], _area(out, j))
            if w < best:
                best = w
                bi = i
                bk = k
    j = 4 * bk
    if bi < 0:
        _grow(out, j, x0, y0, x1, y1)
        return n
    _grow(out, 4 * bi, out[j], out[j + 1], out[j + 2], out[j + 3])
    out[j] = x0
    out[j + 1] = y0
    out[j + 2] = x1
    out[j + 3] = y1
    return n


def _area(out, j):
    return (out[j + 2] - out[j]) * (out[j + 3] - out[j + 1])


def _merge_close(out, n, gap):
    # Merges the first pair of boxes within `gap` of each other; returns the new count.
    for k in range(1, n):
        j = 4 * k
        for i in range(k):
            q = 4 * i
            if _close(out, q, gap, out[j], out[j + 1], out[j + 2], out[j + 3]):
                _grow(out, q, out[j], out[j + 1], out[j + 2], out[j + 3])
                last = 4 * (n - 1)
                out[j] = out[last]
                out[j + 1] = out[last + 1]
                out[j + 2] = out[last + 2]
                out[j + 3] = out[last + 3]
                return n - 1
    return n


def _sort(out, n):
    # Insertion sort of a handful of boxes by (y0, x0), in place.
    for k in range(1, n):
        j = 4 * k
        x0 = out[j]
        y0 = out[j + 1]
        x1 = out[j + 2]
        y1 = out[j + 3]
        i = k - 1
        while i >= 0 and (out[4 * i + 1] > y0 or (out[4 * i + 1] == y0 and out[4 * i] > x0)):
            q = 4 * i
            out[q + 4] = out[q]
            out[q + 5] = out[q + 1]
            out[q + 6] = out[q + 2]
            out[q + 7] = out[q + 3]
            i -= 1
        q = 4 * (i + 1)
        out[q] = x0
        out[q + 1] = y0
        out[q + 2] = x1
        out[q + 3] = y1
