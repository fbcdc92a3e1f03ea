"""Bitmap font reader: draws text into a framebuf straight from a font file, allocating nothing.

The font stays in the file (on the device: flash). Opening it reads the 12-byte header; looking a
character up is a binary search over the code point table in the file (seek + readinto into a
4-byte buffer); drawing reads one glyph bitmap into one preallocated buffer and blits it. So a
3000-glyph CJK font costs the same RAM as a 100-glyph one: an open font is about 1.2 KB on the
64-bit unix port (tables, two small framebufs, the glyph buffer), less on the 32-bit ESP32.

Binary font format v1 ("SPF1"), all integers little-endian (written by host_tools/fonts.py)::

    offset 0   4s   magic b"SPF1"
           4   u8   version = 1
           5   u8   height    pixel rows of every glyph cell (= line height)
           6   u8   ascent    baseline row, counted from the top of the cell
           7   u8   stride    bytes per glyph row = ceil(max_width / 8); every glyph uses this stride
           8   u16  count     number of glyphs
          10   u16  reserved  0
          12   count x u32                code points, sorted ascending, unique
               count x u8                 advance width of each glyph in pixels
               count x (stride * height)  bitmaps, MONO_HLSB: row-major, MSB = leftmost pixel,
                                          1 = ink, padding bits 0

Glyph ``i``'s advance is at ``12 + 4 * count + i``, its bitmap at
``12 + 5 * count + i * stride * height``. Column 0 of a cell is the pen position; ink may reach past
the advance into the next cell (it is blitted transparently). ``ascent`` counts the rows above the
baseline: ``y + ascent`` is the baseline of text drawn at ``y``, so two fonts share a baseline ``b``
when each is drawn at ``y = b - font.ascent``.

Drawing: ``draw_text(fb, text, x, y, color)`` puts the top-left of the first cell at (x, y) and
returns the x after the last advance. One line only; no kerning, no line breaking, no control
characters. Ink is drawn in ``color`` (a colour value of the target framebuf); 0-bits and padding
are transparent, so text can go over anything. ``color=1`` is a plain keyed blit; any other colour
goes through a 2-entry palette (works for MONO targets, e.g. white text on black with ``color=0``,
and for GS2/GS4/GS8/RGB565 targets).

A character the font lacks is drawn as the font's '?' if it has one, otherwise as a hollow box
(``ascent // 2 + 1`` wide, from row 1 down to the baseline, one blank column either side); its
advance is that of what is drawn. The committed fonts (assets/fonts) all have '?'.

Cost: after the first use of each character, ``draw_text`` and ``text_width`` allocate nothing.
ASCII lookups go through a 128-entry table filled as characters are first used; other code points
through an 8-entry round-robin cache, then the binary search in the file.
"""

from array import array

import framebuf

from sunprint.compat import const

_HEADER = const(12)
_CACHE = const(8)  # non-ASCII code points remembered; a power of two
_UNKNOWN = const(0xFF)  # ASCII table: not looked up yet
_MISSING = const(0xFE)  # ASCII table: the font has no glyph
_QMARK = const(0x3F)

# Shared by every font (one draws at a time; nothing here is kept between calls): the 4 bytes a
# lookup reads, and the palette of a blit in a colour other than 1 (made on first use). One
# copy for all the unit's fonts, not one each.
_B4 = bytearray(4)
_B1 = memoryview(_B4)[0:1]
_pal = None


class BitmapFont:
    """A v1 bitmap font read from ``source`` (a path, or a binary file object open for reading).

    Attributes: ``height`` (rows of a cell = line height), ``ascent`` (rows above the baseline),
    ``count`` (glyphs), ``stride`` (bytes per row), ``buf`` (the last glyph loaded by ``glyph``).
    A font opened on a path owns its file: ``close()`` it, or use ``with``.
    """

    def __init__(self, source):
        if not hasattr(source, "readinto"):  # a path (str; on CPython also a pathlib.Path)
            f = open(source, "rb")
            self._own = True
        else:
            f = source
            self._own = False
        self._f = f
        try:
            self._open(f)
        except Exception:
            self.close()
            raise

    def _open(self, f):
        hdr = bytearray(_HEADER)
        f.seek(0)
        if f.readinto(hdr) != _HEADER or bytes(hdr[0:4]) != b"SPF1":
            raise ValueError("not a sunprint font (SPF1)")
        if hdr[4] != 1:
            raise ValueError("unsupported font version %d" % hdr[4])
        height = hdr[5]
        stride = hdr[7]
        count = hdr[8] | (hdr[9] << 8)
        if height == 0 or stride == 0 or hdr[6] > height:
            raise ValueError("bad font header")
        self.height = height
        self.ascent = hdr[6]
        self.stride = stride
        self.count = count
        size = stride * height
        # advances at _HEADER + 4 * count, bitmaps at _HEADER + 5 * count (not kept: fewer
        # attributes, a smaller instance on the heap)
        if f.seek(0, 2) != _HEADER + 5 * count + count * size:
            raise ValueError("font file size does not match its header")
        # Preallocated once: everything a lookup or a draw touches.
        self.buf = bytearray(size)
        self._fb = framebuf.FrameBuffer(self.buf, stride * 8, height, framebuf.MONO_HLSB)
        self._loaded = -1  # glyph index now in buf
        # ASCII code point cp -> [cp]: glyph index / _UNKNOWN / _MISSING, [128 + cp]: advance.
        self._ascii = bytearray(b"\xff" * 128 + b"\x00" * 128)
        # Other code points, round robin: [k] code point, [_CACHE + k] index, [2 * _CACHE + k] advance.
        self._cache = array("i", [-1] * (3 * _CACHE))
        self._cnext = 0
        self._adv = 0  # advance of the last _find hit
        self._first = self._cp_at(0) if count else 0
        self._last = self._cp_at(count - 1) if count else -1
        # Fallback for characters the font lacks.
        self._box_w = self.ascent // 2 + 1
        q = self._find(_QMARK)
        self._fallback_adv = self._adv if q >= 0 else self._box_w + 2

    def close(self):
        """Close the file if the font opened it (a file object handed in stays open)."""
        if self._own:
            self._own = False
            self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- lookup ----------------------------------------------------------------------------------

    def _cp_at(self, i):
        f = self._f
        b = _B4
        f.seek(_HEADER + 4 * i)
        f.readinto(b)
        return b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)

    def _adv_of(self, i):
        self._f.seek(_HEADER + 4 * self.count + i)
        self._f.readinto(_B1)
        return _B4[0]

    def _search(self, cp):
        """Binary search of the code point table in the file: the glyph index, or -1."""
        if cp < self._first or cp > self._last:
            return -1
        lo = 0
        hi = self.count - 1
        while lo <= hi:
            mid = (lo + hi) >> 1
            v = self._cp_at(mid)
            if v < cp:
                lo = mid + 1
            elif v > cp:
                hi = mid - 1
            else:
                return mid
        return -1

    def _find(self, cp):
        """The glyph index of ``cp`` or -1; on a hit, ``self._adv`` is its advance."""
        if cp < 128:
            t = self._ascii
            i = t[cp]
            if i == _UNKNOWN:
                i = self._search(cp)  # code points are sorted and unique: an ASCII index is < 128
                if i < 0:
                    t[cp] = _MISSING
                    return -1
                t[cp] = i
                t[128 + cp] = self._adv_of(i)
            elif i == _MISSING:
                return -1
            self._adv = t[128 + cp]
            return i
        c = self._cache
        for k in range(_CACHE):
            if c[k] == cp:
                self._adv = c[2 * _CACHE + k]
                return c[_CACHE + k]
        i = self._search(cp)
        k = self._cnext
        self._cnext = (k + 1) & (_CACHE - 1)
        c[k] = cp
        c[_CACHE + k] = i
        self._adv = self._adv_of(i) if i >= 0 else 0
        c[2 * _CACHE + k] = self._adv
        return i

    def index(self, cp):
        """The glyph index of code point ``cp``, or -1 if the font has none."""
        return self._find(cp)

    def advance(self, cp):
        """The advance of code point ``cp`` in pixels, or -1 if the font has no glyph for it."""
        return self._adv if self._find(cp) >= 0 else -1

    def glyph(self, cp):
        """Load the bitmap of ``cp`` into ``self.buf`` (stride x height, MONO_HLSB); return its
        advance, or -1 (``buf`` unchanged) if the font has no glyph for ``cp``."""
        i = self._find(cp)
        if i < 0:
            return -1
        if i != self._loaded:
            size = len(self.buf)
            self._f.seek(_HEADER + 5 * self.count + i * size)
            self._f.readinto(self.buf)
            self._loaded = i
        return self._adv

    # --- text ------------------------------------------------------------------------------------

    def text_width(self, text):
        """The advance of ``text`` in pixels (what ``draw_text`` moves x by)."""
        w = 0
        for ch in text:
            if self._find(ord(ch)) >= 0:
                w += self._adv
            else:
                w += self._fallback_adv
        return w

    def draw_text(self, fb, text, x, y, color=1):
        """Draw ``text`` with its first cell's top-left at (x, y) in ``color``; return the x after
        the last advance. Clipped by the framebuf; 0-bits are transparent."""
        if color == 1:
            pal = None
            key = 0
        else:  # palette: source 0 -> key (skipped), source 1 -> color
            key = 1 if color == 0 else 0
            global _pal
            pal = _pal
            if pal is None:
                pal = _pal = framebuf.FrameBuffer(bytearray(4), 2, 1, framebuf.RGB565)
            pal.pixel(0, 0, key)
            pal.pixel(1, 0, color)
        glyph_fb = self._fb
        for ch in text:
            adv = self.glyph(ord(ch))
            if adv < 0:
                adv = self._draw_fallback(fb, x, y, color, key, pal)
            else:
                fb.blit(glyph_fb, x, y, key, pal)
            x += adv
        return x

    def _draw_fallback(self, fb, x, y, color, key, pal):
        adv = self.glyph(_QMARK)
        if adv >= 0:
            fb.blit(self._fb, x, y, key, pal)
            return adv
        asc = self.ascent
        if asc > 2:
            fb.rect(x + 1, y + 1, self._box_w, asc - 1, color)
        return self._box_w + 2
