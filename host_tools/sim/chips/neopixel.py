# A fake neopixel.NeoPixel and a model of the LED matrix behind it: what the strip shows after
# each write(), decoded back into a picture, with a current estimate.
#
# Portable Python: runs under CPython and inside the MicroPython unix port (no typing, no PIL).
#
#     strip = NeoPixel(None, 256)                    # the API of micropython-lib's neopixel.py
#     d = WS2812Matrix(strip, width=32, height=8)
#     d.show(buf)
#     panel = LedMatrix(strip, 32, 8)                # column zig-zag from the top left
#     panel.color(x, y), panel.lit(x, y), panel.current_ma(), strip.writes, strip.bytes_written
#
# NeoPixel keeps `buf` (n * bpp bytes, byte order ORDER = GRB(W) as in micropython-lib:
# ORDER[i] is the byte offset of channel i of (r, g, b, w)), __setitem__/__getitem__/fill like
# the real class, and write(), which "sends" buf: the LEDs latch it (`shown`), `writes` and
# `bytes_written` count. Each WS2812 takes the first 24 bits it receives and passes the rest on,
# so LED i shows bytes 3i..3i+2 of the stream, G first.
#
# LedMatrix maps picture (x, y) to the strip index with its own copy of the layout rules
# (Adafruit_NeoMatrix's: first-pixel corner, rows or columns, progressive or zig-zag), written
# from the strip's side independently of the driver, so a driver that maps wrongly fails.
#
# Current estimate (mA), the same rule the driver documents: idle_ma per LED (about 1 mA for a
# dark WS2812B, PJRC's measurement) plus ma_per_channel (20) per channel at 255, proportional
# below, rounded up.


class NeoPixel:
    ORDER = (1, 0, 2, 3)  # G R B W

    def __init__(self, pin, n, bpp=3, timing=1):
        self.pin = pin
        self.n = n
        self.bpp = bpp
        self.timing = timing
        self.buf = bytearray(n * bpp)
        self.shown = bytearray(n * bpp)  # what the LEDs latched at the last write()
        self.writes = 0
        self.bytes_written = 0

    def __len__(self):
        return self.n

    def __setitem__(self, i, v):
        o = i * self.bpp
        for c in range(self.bpp):
            self.buf[o + self.ORDER[c]] = v[c]

    def __getitem__(self, i):
        o = i * self.bpp
        return tuple(self.buf[o + self.ORDER[c]] for c in range(self.bpp))

    def fill(self, v):
        for i in range(self.n):
            self[i] = v

    def write(self):
        self.shown[:] = self.buf
        self.writes += 1
        self.bytes_written += len(self.buf)

    def shown_rgb(self, i):
        """(r, g, b) LED i shows."""
        o = i * self.bpp
        s = self.shown
        return (s[o + self.ORDER[0]], s[o + self.ORDER[1]], s[o + self.ORDER[2]])

    def current_ma(self, ma_per_channel=20, idle_ma=1):
        total = 0
        for v in self.shown:
            total += v
        return self.n * idle_ma + (ma_per_channel * total + 254) // 255


class LedMatrix:
    def __init__(self, strip, width, height, origin="top-left", column_major=True, serpentine=True):
        self.strip = strip
        self.width = width
        self.height = height
        self.origin = origin
        self.column_major = column_major
        self.serpentine = serpentine
        # From the strip's side: walk the LEDs in order and place each one.
        self._xy = []
        left = origin.endswith("left")
        top = origin.startswith("top")
        run = height if column_major else width  # LEDs per column (row)
        for i in range(width * height):
            line = i // run
            pos = i % run
            if serpentine and line % 2 == 1:
                pos = run - 1 - pos
            if column_major:
                x, y = line, pos
            else:
                x, y = pos, line
            if not left:
                x = width - 1 - x
            if not top:
                y = height - 1 - y
            self._xy.append((x, y))
        self._index = {}
        for i, xy in enumerate(self._xy):
            self._index[xy] = i

    def index(self, x, y):
        return self._index[(x, y)]

    def xy(self, i):
        return self._xy[i]

    def color(self, x, y):
        return self.strip.shown_rgb(self.index(x, y))

    def lit(self, x, y):
        r, g, b = self.color(x, y)
        return 1 if (r or g or b) else 0

    def lit_count(self):
        n = 0
        for y in range(self.height):
            for x in range(self.width):
                n += self.lit(x, y)
        return n

    def current_ma(self, ma_per_channel=20, idle_ma=1):
        return self.strip.current_ma(ma_per_channel, idle_ma)

    def image_mono_hlsb(self):
        """The picture as Pillow mode "1" raw bytes: bit 7 leftmost, 1 = lit (white)."""
        stride = (self.width + 7) >> 3
        out = bytearray(stride * self.height)
        for y in range(self.height):
            for x in range(self.width):
                if self.lit(x, y):
                    out[y * stride + (x >> 3)] |= 0x80 >> (x & 7)
        return out

    def image_rgb(self):
        """The picture as Pillow mode "RGB" raw bytes (3 per pixel, row by row)."""
        out = bytearray(3 * self.width * self.height)
        o = 0
        for y in range(self.height):
            for x in range(self.width):
                r, g, b = self.color(x, y)
                out[o] = r
                out[o + 1] = g
                out[o + 2] = b
                o += 3
        return out
