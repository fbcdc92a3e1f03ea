# WS2812 ("NeoPixel") LED matrices: a monochrome picture in one colour, with a brightness
# schedule and a current cap.
#
# The strip is handed in: `np` is a neopixel.NeoPixel (machine.bitstream underneath) with at
# least width * height pixels, or a factory called once as np(width * height), so tests pass a
# fake. The driver writes the colour bytes straight into np.buf in the strip's byte order
# (np.ORDER, GRB for the WS2812, as micropython-lib's neopixel.py) and calls np.write():
# `np[i] = (r, g, b)` would build a tuple per pixel.
#
#     np = neopixel.NeoPixel(Pin(13), 256)
#     d = WS2812Matrix(np, width=32, height=8, color=(0, 255, 60), max_ma=1500,
#                      schedule=((0, 8), (7, 60), (19, 24)))
#     d.set_brightness_for(hour)                  # from the local time, e.g. once a minute
#     d.show(buf)                                 # buf: framebuf.MONO_VLSB, 1 = lit
#
# Mapping (x, y) -> strip index, (0, 0) the top-left pixel of the picture. The words are those
# of Adafruit_NeoMatrix (NEO_MATRIX_TOP/BOTTOM + LEFT/RIGHT, ROWS/COLUMNS,
# PROGRESSIVE/ZIGZAG):
#   origin        the corner of the first LED (index 0): "top-left" (default), "top-right",
#                 "bottom-left", "bottom-right"
#   column_major  True (default): the strip runs along columns (8 LEDs down, then the next
#                 column); False: along rows
#   serpentine    True (default): every other column (row) runs back the other way (zig-zag);
#                 False: each starts at the same side (progressive)
# The default is the usual flexible 8x32 panel (WS2812B 8x32 "256 pixels"): wired as a column
# zig-zag, 8 LEDs per column. Seen with index 0 at the top left, index 0-7 run down column 0,
# 8-15 up column 1, 16-23 down column 2, and so on; index 7 is (0, 7), index 8 is (1, 7), the
# last LED (255) is (31, 0). Mounted the other way up, say origin="bottom-right". Vendors do not
# agree on the data-in corner, so the board profile names it.
#
# Picture: framebuf.MONO_VLSB, width x height, height a multiple of 8: a byte is 8 pixels of a
# column (so for the column-major panels one byte is one column of LEDs). Lit pixels (bit 1)
# show `color` scaled by the brightness, the others are off.
#
# Brightness: 0-255, a scale on each channel (c * b // 255). set_brightness(b) sets it;
# set_brightness_for(hour) picks it from `schedule`, a list of (hour 0-23, brightness 0-255)
# sorted by hour: the entry with the largest hour <= hour applies, and before the first entry
# the last one (the schedule wraps over midnight).
#
# Current cap. Estimate of a frame, integer mA:
#     idle_ma * leds + ceil(ma_per_channel * (sum of all channel bytes) / 255)
# with ma_per_channel = 20 (a channel at 255 draws about 20 mA: the NeoPixel Uberguide's
# "Powering NeoPixels" gives 60 mA per pixel at full white, learn.adafruit.com/
# adafruit-neopixel-uberguide/powering-neopixels; PJRC measured 33.5 and 52.5 mA on two kinds of
# WS2812B, pjrc.com/how-much-current-do-ws2812-neopixel-leds-really-use, so 20 is the
# conservative side) and idle_ma = 1 (the same PJRC measurement: "just under 1 mA per LED" when
# dark; FastLED's power_mgt.cpp uses 1 mA "dark" too). Before each frame the driver counts the
# lit pixels and lowers the brightness, when needed, to the largest value whose estimate stays
# within max_ma (max_ma=None: no cap). last_ma is the estimate of the last frame,
# effective_brightness the brightness it was shown at. The ESP32 itself is not included: give
# max_ma as the supply's budget for the LEDs.
#
# Panel interface shared with the e-paper drivers: begin_show(buf, full) shows at once, busy()
# is always False, finish() does nothing. Nothing is allocated per frame.

from array import array

from sunprint.compat import const

_MONO_VLSB = const(0)  # framebuf.MONO_VLSB
_MA_PER_CHANNEL = const(20)
_IDLE_MA = const(1)

_ORIGINS = ("top-left", "top-right", "bottom-left", "bottom-right")


def _popcounts():
    t = bytearray(256)
    for i in range(256):
        n = 0
        v = i
        while v:
            v &= v - 1
            n += 1
        t[i] = n
    return bytes(t)


_POP = _popcounts()


def strip_index(x, y, width, height, origin="top-left", column_major=True, serpentine=True):
    """The strip index of pixel (x, y) for a layout (see the header)."""
    if origin not in _ORIGINS:
        raise ValueError("origin must be one of " + ", ".join(_ORIGINS))
    # Reflect the picture so that the first LED is at the top left.
    if origin.endswith("right"):
        x = width - 1 - x
    if origin.startswith("bottom"):
        y = height - 1 - y
    if column_major:
        major, minor, run = x, y, height
    else:
        major, minor, run = y, x, width
    if serpentine and major & 1:
        minor = run - 1 - minor
    return major * run + minor


class WS2812Matrix:
    BUFFER_FORMAT = _MONO_VLSB

    def __init__(
        self,
        np,
        *,
        width=32,
        height=8,
        origin="top-left",
        column_major=True,
        serpentine=True,
        color=(255, 255, 255),
        brightness=32,
        schedule=None,
        max_ma=500,
        ma_per_channel=_MA_PER_CHANNEL,
        idle_ma=_IDLE_MA,
    ):
        if width < 1 or height < 8 or height % 8:
            raise ValueError("height must be a multiple of 8")
        n = width * height
        if not hasattr(np, "buf"):
            np = np(n)  # a factory
        bpp = getattr(np, "bpp", 3)
        if bpp not in (3, 4) or len(np.buf) < n * bpp:
            raise ValueError("strip too short or not 3/4 bytes per pixel")
        self.np = np
        self._bpp = bpp
        order = getattr(np, "ORDER", (1, 0, 2, 3))  # GRB(W)
        self._order = bytes((order[0], order[1], order[2], order[3] if bpp == 4 else 3))
        self.width = width
        self.height = height
        self.leds = n
        self.BUFFER_SIZE = n // 8
        self.ma_per_channel = ma_per_channel
        self.idle_ma = idle_ma
        if max_ma is not None and max_ma < n * idle_ma:
            raise ValueError("max_ma is below the strip's idle current")
        self.max_ma = max_ma
        # _map[i]: the picture bit of LED i, as byte * 8 + bit of the MONO_VLSB buffer.
        self._map = array("H", bytes(2 * n))
        for y in range(height):
            for x in range(width):
                i = strip_index(x, y, width, height, origin, column_major, serpentine)
                self._map[i] = ((y >> 3) * width + x) * 8 + (y & 7)
        self._on = bytearray(4)  # the lit colour in strip byte order, after brightness
        self.set_color(color)
        self.brightness = 0
        self.set_brightness(brightness)
        self.schedule = None
        if schedule is not None:
            self.set_schedule(schedule)
        self.effective_brightness = 0
        self.lit = 0
        self.last_ma = n * idle_ma
        self.writes = 0

    # --- settings ---

    def set_color(self, color):
        r, g, b = color
        for c in (r, g, b):
            if not 0 <= c <= 255:
                raise ValueError("colour channels are 0-255")
        self.color = (r, g, b)

    def set_brightness(self, b):
        if not isinstance(b, int) or not 0 <= b <= 255:
            raise ValueError("brightness must be an int 0-255")
        self.brightness = b

    def set_schedule(self, schedule):
        last = -1
        for hour, b in schedule:
            if not 0 <= hour <= 23 or hour <= last:
                raise ValueError("schedule hours must be 0-23, increasing")
            if not isinstance(b, int) or not 0 <= b <= 255:
                raise ValueError("schedule brightness must be an int 0-255")
            last = hour
        if last < 0:
            raise ValueError("empty schedule")
        self.schedule = tuple((h, b) for h, b in schedule)

    def set_brightness_for(self, hour):
        """Brightness from the schedule for this local hour (0-23; a fraction such as 7.5
        works too); returns it. Without a schedule the brightness stays as it is."""
        s = self.schedule
        if s is None:
            return self.brightness
        b = s[-1][1]  # before the first entry: the last one, from the day before
        for h, v in s:
            if h <= hour:
                b = v
        self.brightness = b
        return b

    # --- current ---

    def estimate_ma(self, lit, brightness):
        """Estimated current (mA) of `lit` pixels in the colour at `brightness`."""
        r, g, b = self.color
        s = r * brightness // 255 + g * brightness // 255 + b * brightness // 255
        num = self.ma_per_channel * lit * s
        return self.leds * self.idle_ma + (num + 254) // 255

    def capped_brightness(self, lit):
        """The highest brightness <= self.brightness whose estimate stays within max_ma."""
        b = self.brightness
        if self.max_ma is None or lit == 0 or b == 0:
            return b
        r, g, bl = self.color
        total = r + g + bl
        if total == 0:
            return b
        budget = self.max_ma - self.leds * self.idle_ma
        # per-pixel channel sum allowed: ceil(ma * lit * s / 255) <= budget
        s_max = budget * 255 // (self.ma_per_channel * lit)
        top = b
        s = r * b // 255 + g * b // 255 + bl * b // 255
        if s <= s_max:
            return b
        # sum(c * B // 255) <= total * B / 255 <= s_max: a brightness that fits, then up while
        # the next one still fits (the floors may leave room; at most 765 // total + 1 steps)
        b = s_max * 255 // total
        while b < top:
            n = b + 1
            if r * n // 255 + g * n // 255 + bl * n // 255 > s_max:
                break
            b = n
        return b

    # --- frames ---

    def show(self, buf, full=False):
        """Write the picture to the strip. Every pixel goes out every time (the WS2812 has
        no partial update), so `full` changes nothing; it is there for the panel interface."""
        if len(buf) != self.BUFFER_SIZE:
            raise ValueError("buffer size")
        pop = _POP
        lit = 0
        for v in buf:
            lit += pop[v]
        b = self.capped_brightness(lit)
        r, g, bl = self.color
        on = self._on
        order = self._order
        on[order[0]] = r * b // 255
        on[order[1]] = g * b // 255
        on[order[2]] = bl * b // 255
        on[order[3]] = 0
        c0 = on[0]
        c1 = on[1]
        c2 = on[2]
        c3 = on[3]
        out = self.np.buf
        m = self._map
        bpp = self._bpp
        j = 0
        for i in range(self.leds):
            k = m[i]
            if (buf[k >> 3] >> (k & 7)) & 1:
                out[j] = c0
                out[j + 1] = c1
                out[j + 2] = c2
            else:
                out[j] = 0
                out[j + 1] = 0
                out[j + 2] = 0
            if bpp == 4:
                out[j + 3] = c3
            j += bpp
        self.np.write()
        self.lit = lit
        self.effective_brightness = b
        self.last_ma = self.estimate_ma(lit, b)
        self.writes = (self.writes + 1) & 0x3FFFFFFF

    def off(self):
        """Every LED dark."""
        out = self.np.buf
        for i in range(len(out)):
            out[i] = 0
        self.np.write()
        self.lit = 0
        self.last_ma = self.leds * self.idle_ma

    # The panel interface the app drives (see ssd1680.py): a strip shows at once.

    def begin_show(self, buf, full=False):
        self.show(buf, full)

    def busy(self):
        return False

    def finish(self):
        pass
