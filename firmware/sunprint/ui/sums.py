"""Line and column checksums of a frame, instead of a copy of the frame on the panel (App: a
4.2" frame is 15000 bytes; a second copy of it did not fit a 110 KB heap beside the first once
the boot's objects spread over it). Its own module: an LED panel's few bytes stay a copy (App
keeps small frames as ui/diff.py's prev), and its unit never loads this.

The bounding box of the changed bytes is (first and last changed column) x (first and last
changed line), so a checksum per line (a VLSB page, an HLSB row) and one per column unit (a
VLSB pixel column, an HLSB byte column) give the same box as diff.changed_rect, as long as every
changed line and column changes its checksum. The checksum is a polynomial hash mod 2**24
(multiplier 31, an odd number: a change of one byte always changes it; a change of several
bytes of a line leaves it as it was with a chance near 2**-24). Every value stays a small int.
lines + units ints per frame: 350 for 400 x 300 HLSB (1400 bytes in an array "i"), 312 for
296 x 128 MONO_VLSB.
"""

from array import array

from sunprint.compat import const
from sunprint.ui.diff import MONO_VLSB, _check

_SUM_MASK = const(0xFFFFFF)


def sums_size(width, height, fmt):
    """How many ints frame_sums writes: lines + units."""
    if fmt == MONO_VLSB:
        return ((height + 7) >> 3) + width
    return height + ((width + 7) >> 3)


def new_sums(width, height, fmt):
    """An array for frame_sums, all 0: the sums of an all-zero frame."""
    return array("i", [0] * sums_size(width, height, fmt))


def frame_sums(buf, width, height, fmt, out):
    """The checksum of every line, then of every column unit, of the frame in buf into out.
    Allocates nothing."""
    _check(buf, buf, width, height, fmt)
    if fmt == MONO_VLSB:
        lines = (height + 7) >> 3
        stride = width
    else:
        lines = height
        stride = (width + 7) >> 3
    i = 0
    for line in range(lines):
        h = 0
        end = i + stride
        while i < end:
            h = (h * 31 + buf[i]) & _SUM_MASK
            i += 1
        out[line] = h
    size = lines * stride
    for u in range(stride):
        h = 0
        i = u
        while i < size:
            h = (h * 31 + buf[i]) & _SUM_MASK
            i += stride
        out[lines + u] = h


def changed_box(old, new, width, height, fmt, out):
    """changed_rect's box from the frame_sums of the frame on the panel (old) and of the next
    one (new): x, y, w, h into out[0:4] and out returned, or None when no checksum differs.
    A line that changed with no column changed (or the reverse: a checksum that missed a
    change) widens the box to the whole frame in that direction. Allocates nothing."""
    if fmt == MONO_VLSB:
        lines = (height + 7) >> 3
        units = width
        upx = 1
        lh = 8
    else:
        lines = height
        units = (width + 7) >> 3
        upx = 8
        lh = 1
    lo_line = -1
    hi_line = -1
    for line in range(lines):
        if old[line] != new[line]:
            if lo_line < 0:
                lo_line = line
            hi_line = line
    lo_u = -1
    hi_u = -1
    for u in range(lines, lines + units):
        if old[u] != new[u]:
            if lo_u < 0:
                lo_u = u - lines
            hi_u = u - lines
    if lo_line < 0 and lo_u < 0:
        return None
    if lo_line < 0:
        lo_line = 0
        hi_line = lines - 1
    if lo_u < 0:
        lo_u = 0
        hi_u = units - 1
    x = lo_u * upx
    y = lo_line * lh
    out[0] = x
    out[1] = y
    out[2] = min((hi_u + 1) * upx, width) - x
    out[3] = min((hi_line + 1) * lh, height) - y
    return out


class Sums:
    """The picture on the panel as checksums (App's prev for a frame over 1 kB): those of the
    picture on the panel (all zeros at first, as an all-zero frame's) and of the last render."""

    def __init__(self, width, height, fmt):
        self.width = width
        self.height = height
        self.fmt = fmt
        self._on = new_sums(width, height, fmt)
        self._next = new_sums(width, height, fmt)

    def restore(self, session):
        """The frame buffer still holds the glass's picture: an e-paper controller whose RAM a
        deep sleep lost gets it back now (the driver's restore_base), before the render draws
        over it. A panel that fails is a fault, and the next refresh a full one."""
        restore = getattr(session.panel, "restore_base", None)
        if restore is None:
            return
        try:
            restore()
        except OSError as e:
            session.fault("panel", e)
            session.plan.forget()  # no base for a partial

    def changed_rect(self, buf, box):
        """changed_rect's box of the frame in buf against the panel's picture into box (and
        box returned), or None."""
        frame_sums(buf, self.width, self.height, self.fmt, self._next)
        return changed_box(self._on, self._next, self.width, self.height, self.fmt, box)

    def remember(self):
        """The frame last given to changed_rect() is on the panel now."""
        on = self._on
        self._on = self._next
        self._next = on
