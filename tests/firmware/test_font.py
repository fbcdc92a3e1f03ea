# Tests for sunprint.ui.font.BitmapFont. Plain test_* functions with bare asserts: the same file
# runs under pytest (CPython) and inside the MicroPython unix port:
#   MICROPYPATH=firmware:.:tests/firmware micropython -X heapsize=110000 \
#       -c "import test_font as t; [getattr(t, n)() for n in dir(t) if n.startswith('test_')]"
import gc
import os
import struct
import sys

from repo import ROOT

try:
    import framebuf
except ImportError:  # CPython without tests/conftest.py: the project's stand-in
    try:
        from host_tools.sim.platform import framebuf  # type: ignore[no-redef]
    except ImportError:
        framebuf = None  # type: ignore[assignment]
if not hasattr(framebuf, "FrameBuffer"):  # no usable stand-in: a minimal one for these tests

    class _FrameBuffer:
        # Just what font.py uses: MONO_HLSB and RGB565, pixel, fill, rect, keyed blit.
        def __init__(self, buf, width, height, fmt):
            self.buf, self.width, self.height, self.fmt = buf, width, height, fmt

        def pixel(self, x, y, c=None):
            if not (0 <= x < self.width and 0 <= y < self.height):
                return None
            if self.fmt == 1:  # RGB565, little-endian
                i = 2 * (y * self.width + x)
                if c is None:
                    return self.buf[i] | (self.buf[i + 1] << 8)
                self.buf[i], self.buf[i + 1] = c & 0xFF, (c >> 8) & 0xFF
                return None
            i = y * ((self.width + 7) // 8) + (x >> 3)
            m = 0x80 >> (x & 7)
            if c is None:
                return 1 if self.buf[i] & m else 0
            self.buf[i] = (self.buf[i] | m) if c else (self.buf[i] & ~m)
            return None

        def fill(self, c):
            for y in range(self.height):
                for x in range(self.width):
                    self.pixel(x, y, c)

        def rect(self, x, y, w, h, c, f=False):
            for yy in range(y, y + h):
                for xx in range(x, x + w):
                    if f or yy in (y, y + h - 1) or xx in (x, x + w - 1):
                        self.pixel(xx, yy, c)

        def blit(self, src, x, y, key=-1, palette=None):
            for sy in range(src.height):
                for sx in range(src.width):
                    c = src.pixel(sx, sy)
                    if palette is not None:
                        c = palette.pixel(c, 0)
                    if c != key:
                        self.pixel(x + sx, y + sy, c)

    class framebuf:  # type: ignore[no-redef]
        MONO_HLSB = 3
        RGB565 = 1
        FrameBuffer = _FrameBuffer

    sys.modules["framebuf"] = framebuf  # type: ignore[assignment]

from sunprint.ui.font import BitmapFont  # noqa: E402

# A hand-made font: height 5, ascent 4, stride 2 (cells 16 px wide).
# Each glyph: (code point, advance, rows of '#'/'.' left-aligned, missing columns blank).
GLYPHS = [
    (0x20, 3, []),
    (0x31, 4, [".#", "##", ".#", ".#"]),  # '1'
    (0x41, 10, ["#........#", "##.......#"]),  # 'A': ink in the second byte of a row
    (0xB0, 3, ["##", "##"]),  # degree sign
    (0x2082, 6, ["", "", "", "", "#####"]),  # subscript two: ink on the row below the baseline
]
QMARK = (0x3F, 5, ["####", "...#", ".##.", "....", ".#.."])
HEIGHT, ASCENT, STRIDE = 5, 4, 2


def _font_bytes(glyphs):
    glyphs = sorted(glyphs)
    out = bytearray(struct.pack("<4sBBBBHH", b"SPF1", 1, HEIGHT, ASCENT, STRIDE, len(glyphs), 0))
    for cp, _adv, _rows in glyphs:
        out += struct.pack("<I", cp)
    for _cp, adv, _rows in glyphs:
        out.append(adv)
    for _cp, _adv, rows in glyphs:
        bmp = bytearray(STRIDE * HEIGHT)
        for y, row in enumerate(rows):
            for x, c in enumerate(row):
                if c == "#":
                    bmp[y * STRIDE + (x >> 3)] |= 0x80 >> (x & 7)
        out += bmp
    return bytes(out)


def _write(name, glyphs):
    with open(name, "wb") as f:
        f.write(_font_bytes(glyphs))
    return name


def _remove(name):
    try:
        os.remove(name)
    except OSError:
        pass


def _fb(w, h):
    buf = bytearray(((w + 7) // 8) * h)
    return framebuf.FrameBuffer(buf, w, h, framebuf.MONO_HLSB)


def _ink(fb, w, h):
    return [(x, y) for y in range(h) for x in range(w) if fb.pixel(x, y)]


def _pixels(fb):
    return [fb.pixel(x, y) for y in range(8) for x in range(16)]


def test_header_and_lookup():
    name = _write("_test_font_a.bin", GLYPHS)
    try:
        with BitmapFont(name) as font:
            assert (font.height, font.ascent, font.stride, font.count) == (5, 4, 2, 5)
            assert font.index(0x20) == 0  # first
            assert font.index(0x31) == 1
            assert font.index(0x41) == 2
            assert font.index(0xB0) == 3
            assert font.index(0x2082) == 4  # last
            assert font.index(0x40) == -1  # absent, between
            assert font.index(0x1F) == -1  # absent, before the first
            assert font.index(0x2083) == -1  # absent, beyond the last
            assert font.index(0x10FFFF) == -1
            assert font.index(0) == -1
            # Again, now from the caches.
            assert font.index(0x2082) == 4 and font.index(0x41) == 2 and font.index(0x40) == -1
            assert font.advance(0x41) == 10 and font.advance(0x2082) == 6
            assert font.advance(0x40) == -1
    finally:
        _remove(name)


def test_lookup_beyond_cache():
    # More distinct non-ASCII code points than the cache holds, twice round.
    glyphs = [(0x100 + 7 * i, i + 1, ["#"]) for i in range(40)]
    name = _write("_test_font_b.bin", glyphs)
    try:
        font = BitmapFont(name)
        for _ in range(2):
            for i in range(40):
                assert font.index(0x100 + 7 * i) == i
                assert font.advance(0x100 + 7 * i) == i + 1
                assert font.index(0x101 + 7 * i) == -1
        font.close()
    finally:
        _remove(name)


def test_glyph_loads_bitmap():
    name = _write("_test_font_c.bin", GLYPHS)
    try:
        font = BitmapFont(name)
        assert font.glyph(0x41) == 10
        assert bytes(font.buf) == bytes([0x80, 0x40, 0xC0, 0x40, 0, 0, 0, 0, 0, 0])
        assert font.glyph(0x40) == -1
        assert font.buf[0] == 0x80  # unchanged by a miss
        font.close()
    finally:
        _remove(name)


def test_text_width_and_draw_exact_pixels():
    name = _write("_test_font_d.bin", GLYPHS)
    try:
        font = BitmapFont(name)
        assert font.text_width("") == 0
        assert font.text_width("1") == 4
        assert font.text_width("1 A\u00b0\u2082") == 4 + 3 + 10 + 3 + 6
        fb = _fb(40, 12)
        end = font.draw_text(fb, "1A\u2082", 2, 3)
        assert end == 2 + 4 + 10 + 6
        want = [(3, 3), (2, 4), (3, 4), (3, 5), (3, 6)]  # '1' at x=2
        want += [(6, 3), (15, 3), (6, 4), (7, 4), (15, 4)]  # 'A' at x=6
        want += [(16 + x, 7) for x in range(5)]  # subscript two at x=16, row 4 of the cell
        assert sorted(_ink(fb, 40, 12), key=lambda p: (p[1], p[0])) == sorted(
            want, key=lambda p: (p[1], p[0])
        )
        font.close()
    finally:
        _remove(name)


def test_zero_bits_are_transparent_and_clipped():
    name = _write("_test_font_e.bin", GLYPHS)
    try:
        font = BitmapFont(name)
        fb = _fb(16, 8)
        fb.fill(1)
        font.draw_text(fb, "1 A", 0, 0)  # black on black: nothing cleared
        assert len(_ink(fb, 16, 8)) == 16 * 8
        fb.fill(0)
        assert font.draw_text(fb, "AA", 10, -1) == 30  # off the right and top edges: no error
        assert _ink(fb, 16, 8) == [(10, 0), (11, 0)]  # row 1 of the first 'A'
        font.close()
    finally:
        _remove(name)


def test_color_zero_draws_white_on_black():
    name = _write("_test_font_f.bin", GLYPHS)
    try:
        font = BitmapFont(name)
        fb = _fb(16, 8)
        fb.fill(1)
        font.draw_text(fb, "1", 0, 0, 0)
        holes = [(x, y) for y in range(8) for x in range(16) if not fb.pixel(x, y)]
        assert holes == [(1, 0), (0, 1), (1, 1), (1, 2), (1, 3)]
        font.draw_text(fb, "1", 4, 0)  # and back to colour 1 afterwards
        assert fb.pixel(5, 0) == 1
        font.close()
    finally:
        _remove(name)


def test_fallback_box_without_question_mark():
    name = _write("_test_font_g.bin", GLYPHS)
    try:
        font = BitmapFont(name)
        box_w = font.ascent // 2 + 1  # 3
        assert font.text_width("x") == box_w + 2
        assert font.text_width("1x1") == 4 + box_w + 2 + 4
        fb = _fb(16, 8)
        assert font.draw_text(fb, "x", 0, 0) == box_w + 2
        # hollow box at x 1..3, rows 1..3 (ascent - 1 rows)
        assert _ink(fb, 16, 8) == [(1, 1), (2, 1), (3, 1), (1, 2), (3, 2), (1, 3), (2, 3), (3, 3)]
        font.close()
    finally:
        _remove(name)


def test_fallback_question_mark():
    name = _write("_test_font_h.bin", GLYPHS + [QMARK])
    try:
        font = BitmapFont(name)
        assert font.index(0x3F) == 2
        assert font.text_width("\u78b3") == 5  # no glyph: drawn as '?'
        fb_a = _fb(16, 8)
        fb_b = _fb(16, 8)
        assert font.draw_text(fb_a, "\u78b3", 1, 1) == 6
        assert font.draw_text(fb_b, "?", 1, 1) == 6
        assert _pixels(fb_a) == _pixels(fb_b)
        assert (1, 1) in _ink(fb_a, 16, 8) and (2, 5) in _ink(fb_a, 16, 8)
        font.close()
    finally:
        _remove(name)


def test_open_on_file_object_and_bad_files():
    name = _write("_test_font_i.bin", GLYPHS)
    try:
        with open(name, "rb") as f:
            font = BitmapFont(f)
            assert font.index(0xB0) == 3
            font.close()  # not ours: stays open
            f.seek(0)
            assert f.read(4) == b"SPF1"
        data = _font_bytes(GLYPHS)
        for bad in (b"XXXX" + data[4:], data[:-1], data[:4] + b"\x02" + data[5:], data[:8]):
            with open(name, "wb") as f:
                f.write(bad)
            try:
                BitmapFont(name)
            except ValueError:
                pass
            else:
                raise AssertionError("accepted a bad font file")
    finally:
        _remove(name)


def _committed(name):
    return ROOT + "/assets/fonts/" + name


def test_committed_fonts_parse():
    for name in ("sans24b.bin", "sans12.bin"):
        with BitmapFont(_committed(name)) as font:
            assert 8 <= font.height <= 40 and 0 < font.ascent <= font.height
            for ch in "0123456789kWh.-%\u00b0\u2082\u00b7":
                assert font.index(ord(ch)) >= 0, ch
                assert font.advance(ord(ch)) > 0
            assert font.advance(ord(" ")) > 0
            assert font.index(0x78B3) == -1
            # digits share one advance, so numbers don't jiggle as they change
            assert len(set(font.advance(ord(d)) for d in "0123456789")) == 1
            fb = _fb(160, font.height)
            end = font.draw_text(fb, "12.3 kWh", 0, 0)
            assert end == font.text_width("12.3 kWh")
            assert len(_ink(fb, 160, font.height)) > 20


def test_draw_allocates_nothing():
    if not hasattr(gc, "mem_alloc"):  # CPython: nothing to measure
        return
    big = BitmapFont(_committed("sans24b.bin"))
    small = BitmapFont(_committed("sans12.bin"))
    fb = _fb(296, 32)
    texts = ("12.3 kWh", "CO\u2082 \u00b7 25\u00b0C", "\u78b3 missing", "")
    for font in (big, small):
        for text in texts:  # first use: fills the caches
            font.draw_text(fb, text, 0, 0)
            font.draw_text(fb, text, 0, 0, 0)
            font.text_width(text)
    for font in (big, small):
        for text in texts:
            gc.collect()
            gc.disable()
            try:
                a = gc.mem_alloc()
                font.draw_text(fb, text, 3, 2)
                b = gc.mem_alloc()
                font.draw_text(fb, text, -5, 4, 0)
                c = gc.mem_alloc()
                font.text_width(text)
                d = gc.mem_alloc()
            finally:
                gc.enable()
            assert (b - a, c - b, d - c) == (0, 0, 0), (text, b - a, c - b, d - c)
    big.close()
    small.close()
