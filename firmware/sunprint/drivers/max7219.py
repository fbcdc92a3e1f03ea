# MAX7219 8x8 LED matrices cascaded on one SPI bus with one CS (LOAD) line, for instance the
# common "4-in-1" boards (four matrices in a row), and boards of several of them.
#
# The bus is handed in (micropython-lib style): `spi` has write(buf) (SPI mode 0, MSB first, up
# to 10 MHz), `cs` is an output pin with value(v), already built by the board code.
#
#     d = MAX7219(spi, cs=Pin(5, Pin.OUT), modules=8)            # 64x8: two FC-16 4-in-1 boards
#     buf = bytearray(d.BUFFER_SIZE)
#     fb = framebuf.FrameBuffer(buf, d.width, d.height, d.BUFFER_FORMAT)
#     fb.text("1.23 kW", 0, 0, 1)
#     d.show(buf)                                                 # only the rows that changed
#
# Registers (MAX7219 datasheet, "Register Address Map"): no-op 0x00, digit 0-7 at 0x01-0x08,
# decode mode 0x09 (0: no Code B, as matrices need), intensity 0x0A (0-15, duty 1/32..31/32),
# scan limit 0x0B (7: all eight digits), shutdown 0x0C (0 shutdown, 1 normal), display test
# 0x0F (1 lights every LED). Each device takes a 16-bit word, address byte first. The devices
# form one long shift register, and all of them latch their word on the CS rising edge: one CS
# frame carries 2 bytes per device, and its first word ends up in the device farthest from DIN.
#
# Picture: a framebuf of width 8*modules and height 8*rows, 1 = LED lit. Its format is the one
# that makes a digit register one byte of the buffer, so no bits are shuffled per frame:
# MONO_HLSB when the digits drive rows (rotation 0 or 180), MONO_VLSB when they drive columns
# (rotation 90 or 270). Read it from d.BUFFER_FORMAT. Reversed bit order costs one lookup in a
# 256-byte table.
#
# Orientation. Vendors wire the 8x8 matrix to the chip differently (MD_MAX72XX by MajicDesigns
# documents four: doc/html/page{FC16,Generic,Parola,ICStation}.html, MD_MAX72xx_lib.h). The
# reference here is the FC-16 board, the usual blue 4-in-1 module, seen upright with DIN on the
# right: digit register 0x01 + r drives row r (row 0 at the top) and data bit 7 (segment DP)
# the leftmost column, bit 0 (segment G) the rightmost. So, with DIN on the right, framebuf
# pixel (x, y) of module row 0 is: device (modules - 1 - x // 8) counted from DIN, digit y, bit
# 7 - x % 8, and a MONO_HLSB byte is a digit register as it stands (as in mcauser's
# micropython-max7219, which is written for these boards). Other vendors, as two options:
#   rotation  the clockwise angle by which each matrix is turned against the FC-16 wiring:
#             0 FC-16 (default), 90 "generic" single modules (digits drive columns, D7 on the
#             left, DP the top row), 180 ICStation (D7 the top row, G the leftmost column)
#   flip      mirror each matrix left-right before the rotation: Parola modules are FC-16
#             mirrored (G on the left): rotation=0, flip=True
# Chain order for rows > 1 (a board of 4-in-1 modules stacked, e.g. rows=2, modules=8 = 64x16):
# the chain starts at the top row's right end (DIN) and runs right to left; row r + 1 continues
# from row r's left end. serpentine=False: every row is mounted upright, so the wire from a
# row's left end (DOUT) goes back to the next row's right end (DIN). serpentine=True: odd rows
# are mounted upside down (turned 180 degrees, DIN on the left), so the wire stays short; the
# chain runs left to right on them and their matrices are turned a further 180 degrees.
#
# Transfers: show(buf) sends digit d (0-7) of every device in one CS frame of 2 * modules * rows
# bytes, from one preallocated frame buffer, and only for the digits whose bytes differ from
# what the chain already shows (a shadow of 8 bytes per device). One digit covers pixel rows
# d, d + 8, ... (one per module row), or columns for rotation 90/270. A frame costs
# 16 * devices bytes when all eight digits change (128 B for 8 devices, 256 B for 16); a
# one-pixel scroll re-sends only the digits that hold lit pixels. bytes_sent counts what went
# out (it wraps at 2**30: a small int on the ESP32, so counting allocates nothing).
#
# Panel interface shared with the e-paper drivers: begin_show(buf, full) shows at once, busy()
# is always False, finish() does nothing. full=True re-sends the control registers and every
# digit, which repairs a chain that a glitch on a long cable has scrambled.
# Nothing is allocated per frame. Scroller (below) moves text one pixel per tick.

from array import array

from sunprint.compat import const

_NOOP = const(0x00)
_DIGIT0 = const(0x01)
_DECODE_MODE = const(0x09)
_INTENSITY = const(0x0A)
_SCAN_LIMIT = const(0x0B)
_SHUTDOWN = const(0x0C)
_DISPLAY_TEST = const(0x0F)

_NO_DECODE = const(0x00)
_SCAN_ALL = const(0x07)
_NORMAL = const(0x01)
_MAX_INTENSITY = const(15)
_COUNTER_MASK = const(0x3FFFFFFF)  # counters stay small ints (31 bits on the ESP32)

_MONO_VLSB = const(0)  # framebuf.MONO_VLSB
_MONO_HLSB = const(3)  # framebuf.MONO_HLSB


def _reversed_bits():
    t = bytearray(256)
    for i in range(256):
        r = 0
        for k in range(8):
            if (i >> k) & 1:
                r |= 0x80 >> k
        t[i] = r
    return bytes(t)


_REV = _reversed_bits()


class MAX7219:
    BUFFER_FORMAT = _MONO_HLSB  # for the default rotation; the instance has the real one

    def __init__(
        self, spi, *, cs, modules=4, rows=1, rotation=0, flip=False, serpentine=False, intensity=1
    ):
        if modules < 1 or rows < 1:
            raise ValueError("modules and rows must be >= 1")
        if rotation not in (0, 90, 180, 270):
            raise ValueError("rotation must be 0, 90, 180 or 270")
        self._check_intensity(intensity)
        self._spi = spi
        self._cs = cs
        n = modules * rows
        self.devices = n
        self.modules = modules
        self.rows = rows
        self.width = 8 * modules
        self.height = 8 * rows
        self.BUFFER_SIZE = modules * rows * 8
        rows_first = rotation in (0, 180)
        self.BUFFER_FORMAT = _MONO_HLSB if rows_first else _MONO_VLSB
        # _src[d * n + p]: the buffer byte that is digit d of device p (p = 0 nearest DIN);
        # _rev[p]: 1 when that byte goes out bit-reversed.
        self._src = array("H", bytes(16 * n))
        self._rev = bytearray(n)
        w = self.width
        for p in range(n):
            tr = p // modules
            k = p % modules
            rot = rotation
            if serpentine and tr & 1:
                tc = k
                rot = (rot + 180) % 360
            else:
                tc = modules - 1 - k
            self._rev[p] = 1 if (rot in (90, 180)) != bool(flip) else 0
            for d in range(8):
                if rot == 0:
                    i = (8 * tr + d) * modules + tc
                elif rot == 180:
                    i = (8 * tr + 7 - d) * modules + tc
                elif rot == 90:
                    i = tr * w + 8 * tc + 7 - d
                else:
                    i = tr * w + 8 * tc + d
                self._src[d * n + p] = i
        self._frame = bytearray(2 * n)  # one CS frame: (address, data) per device, farthest first
        self._shadow = bytearray(8 * n)  # digit d of device p as the chain has it: [d * n + p]
        self._intensity = intensity
        self._stale = True  # the shadow is not known to match the chain
        self.bytes_sent = 0
        self.frames_sent = 0
        cs.value(1)
        self.init()

    # --- bus ---

    def _send(self):
        f = self._frame
        self._cs.value(0)
        try:
            self._spi.write(f)
        finally:
            self._cs.value(1)  # the rising edge latches every device's word
        self.bytes_sent = (self.bytes_sent + len(f)) & _COUNTER_MASK
        self.frames_sent = (self.frames_sent + 1) & _COUNTER_MASK

    def _all(self, reg, value):
        """The same register write to every device, in one CS frame."""
        f = self._frame
        for i in range(0, len(f), 2):
            f[i] = reg
            f[i + 1] = value
        try:
            self._send()
        except Exception:
            self._stale = True
            raise

    @staticmethod
    def _check_intensity(v):
        if not isinstance(v, int) or not 0 <= v <= _MAX_INTENSITY:
            raise ValueError("intensity must be an int 0-15")

    # --- public API ---

    def init(self):
        """Blank the chain and set it up for an 8x8 matrix: shutdown while configuring, display
        test off, scan all 8 digits, no decode, intensity, every digit 0, then normal mode."""
        self._all(_SHUTDOWN, 0)
        self._all(_DISPLAY_TEST, 0)
        self._all(_SCAN_LIMIT, _SCAN_ALL)
        self._all(_DECODE_MODE, _NO_DECODE)
        self._all(_INTENSITY, self._intensity)
        for d in range(8):
            self._all(_DIGIT0 + d, 0)
        sh = self._shadow
        for i in range(len(sh)):
            sh[i] = 0
        self._stale = False
        self._all(_SHUTDOWN, _NORMAL)

    def intensity(self, v):
        """Brightness 0-15 (PWM duty (2v + 1)/32); ValueError outside that range."""
        self._check_intensity(v)
        self._intensity = v
        self._all(_INTENSITY, v)

    def power(self, on):
        """Shutdown mode (all LEDs dark, registers and digits kept) or back to normal."""
        self._all(_SHUTDOWN, _NORMAL if on else 0)

    def show(self, buf, full=False):
        """Send the picture: the digits that changed, or with full=True the control registers
        and every digit. Returns the number of digit frames sent (0-8)."""
        if len(buf) != self.BUFFER_SIZE:
            raise ValueError("buffer size")
        if full or self._stale:
            self._all(_DISPLAY_TEST, 0)
            self._all(_SCAN_LIMIT, _SCAN_ALL)
            self._all(_DECODE_MODE, _NO_DECODE)
            self._all(_INTENSITY, self._intensity)
            self._all(_SHUTDOWN, _NORMAL)
            full = True
        n = self.devices
        src = self._src
        rev = self._rev
        sh = self._shadow
        f = self._frame
        sent = 0
        for d in range(8):
            reg = _DIGIT0 + d
            k = d * n
            o = 2 * n - 2  # device 0 (nearest DIN) takes the frame's last word
            changed = full
            for p in range(n):
                v = buf[src[k + p]]
                if rev[p]:
                    v = _REV[v]
                if v != sh[k + p]:
                    changed = True
                f[o] = reg
                f[o + 1] = v
                o -= 2
            if changed:
                try:
                    self._send()
                except Exception:
                    self._stale = True
                    raise
                for p in range(n):
                    sh[k + p] = f[2 * n - 1 - 2 * p]
                sent += 1
        self._stale = False
        return sent

    # The panel interface the app drives (see ssd1680.py): an LED chain shows at once.

    def begin_show(self, buf, full=False):
        self.show(buf, full)

    def busy(self):
        return False

    def finish(self):
        pass


class Scroller:
    """Text moving right to left across a band of a framebuf, one pixel per tick().

    It draws with framebuf's built-in 8x8 font (fb.text), so a band is 8 pixels high at row y.
    tick() clears the band, draws the text one pixel further left and returns at once (no
    sleeping: call it from an asyncio task every 30-60 ms, then show the buffer). The text
    enters at the right edge and, once its last column has left at the left edge, starts over
    at the right edge; tick() returns True on that restart. Nothing is allocated per tick.
    """

    def __init__(self, fb, width, text="", *, y=0, color=1):
        self.fb = fb
        self.width = width
        self.y = y
        self.color = color
        self.set_text(text)

    def set_text(self, text):
        """New text; it starts just outside the right edge."""
        self.text = text
        self.text_width = 8 * len(text)
        self.x = self.width

    def draw(self):
        fb = self.fb
        fb.fill_rect(0, self.y, self.width, 8, 0)
        fb.text(self.text, self.x, self.y, self.color)

    def tick(self):
        x = self.x - 1
        restart = x <= -self.text_width
        if restart:
            x = self.width
        self.x = x
        self.draw()
        return restart
