# SSD1680 e-paper controller: Waveshare 2.9" V2 panel (128 sources x 296 gates), driven landscape.
#
# The bus is handed in (micropython-lib ssd1306 style): `spi` has write(buf); cs, dc, rst are
# output pins and busy an input pin, each with value() / value(v) and already configured by the
# board code (the driver never imports machine). BUSY high = the controller is working.
#
# Picture format: the app draws the landscape picture (width x height = 296 x 128) into a
# framebuf.MONO_VLSB buffer: byte page*width + x, bit k (LSB = 0) = pixel (x, 8*page + k),
# 1 = black ink. The panel is mapped landscape (x, y) -> native (source sx = height-1-y,
# gate gy = x): a rotation, not a mirror (landscape (0, 0) is native (127, 0), landscape
# (295, 127) is native (0, 295)). Under that mapping a VLSB byte is
# bit for bit the native RAM byte (source byte j = height/8-1-page, gate x; native bytes are
# MSB = lowest source), so with data entry mode AM=1 (gate/Y first), Y increment, X decrement
# (0x11 <- 0x06) the whole buffer goes to RAM 0x24 in one spi.write, no transposition.
#
# Polarity: the panel's RAM convention is 1 = white. The driver keeps the app's 1 = black and
# sets Display Update Control 1 (0x21) A = 0x88: "inverse RAM content" for BW RAM (A[3:0]) and
# for RED RAM (A[7:4]). Inverting both keeps the old/new comparison of a partial refresh
# (RED RAM = previous picture) in one polarity. No per-byte inversion on the CPU.
#
# Power: the panel must not be left powered; every update ends in deep sleep mode 1 (0x10 <- 0x01,
# RAM retained). Leaving deep sleep takes a hardware reset, so each update starts with
# reset() + init(). Deep sleep mode 1 keeps RAM, so the RED RAM base survives for a partial.
#
# Refresh kinds (0x22 Display Update Control 2, then 0x20 Master Activation):
#   full    0xF7: clock + analog on, load temperature, load LUT, display mode 1, analog + clock off
#   partial 0xFF: the same with display mode 2 (OTP differential waveform: old = RED RAM,
#                 new = BW RAM), as Waveshare's epd2in9_V2 EPD_2IN9_V2_Display_Partial (2020)
#                 does, with border 0x3C <- 0x80. The first update after construction is always
#                 full (the RED RAM base is unknown until then).
# A full update writes the picture to 0x24 and 0x26 before the refresh; a partial writes 0x24,
# refreshes, then rewrites 0x26 so the next partial compares against what is on the glass.
#
# Timeouts raise EPDTimeout, an OSError subclass with errno ETIMEDOUT (110). show() first calls
# abort() (hardware reset, then deep sleep, best effort) so a stuck panel is not left powered;
# a runner using begin_show()/busy() calls abort() itself when it gives up.
#
# Non-blocking shape for an asyncio runner:
#     drv.begin_show(buf, full)          # blocks some 30-50 ms (reset, init, RAM transfer)
#     while drv.busy(): await asyncio.sleep_ms(50)
#     drv.finish()                       # base rewrite + deep sleep
# show() = begin_show + wait_idle + finish. Nothing is allocated per frame.

from sunprint.compat import const, sleep_ms, ticks_diff, ticks_ms

_DRIVER_OUTPUT_CONTROL = const(0x01)
_DEEP_SLEEP = const(0x10)
_DATA_ENTRY_MODE = const(0x11)
_SW_RESET = const(0x12)
_TEMP_SENSOR = const(0x18)
_MASTER_ACTIVATION = const(0x20)
_DISPLAY_UPDATE_CONTROL_1 = const(0x21)
_DISPLAY_UPDATE_CONTROL_2 = const(0x22)
_WRITE_RAM_BW = const(0x24)
_WRITE_RAM_RED = const(0x26)
_BORDER_WAVEFORM = const(0x3C)
_RAM_X_WINDOW = const(0x44)
_RAM_Y_WINDOW = const(0x45)
_RAM_X_COUNTER = const(0x4E)
_RAM_Y_COUNTER = const(0x4F)

_ENTRY_Y_FIRST_YINC_XDEC = const(0x06)  # AM=1 (Y direction), ID1=1 (Y+), ID0=0 (X-)
_INVERSE_BW_AND_RED = const(0x88)  # 0x21 A: RED RAM inverse | BW RAM inverse
_SOURCE_S8_S167 = const(0x80)  # 0x21 B[7]: sources S8..S167, as Waveshare's V2 init
_TEMP_INTERNAL = const(0x80)
_BORDER_FULL = const(0x05)  # GS transition, follow LUT, LUT1 (Waveshare V2 init)
_BORDER_PARTIAL = const(0x80)  # VBD = VCOM (Waveshare V2 partial)
_UPDATE_FULL = const(0xF7)
_UPDATE_PARTIAL = const(0xFF)
_DEEP_SLEEP_MODE_1 = const(0x01)  # retain RAM

_RESET_HIGH_MS = const(10)
_RESET_LOW_MS = const(2)
_POLL_MS = const(10)
_RESET_TIMEOUT_MS = const(1000)
_REFRESH_TIMEOUT_MS = const(10000)
_ETIMEDOUT = const(110)

_MONO_VLSB = const(0)  # framebuf.MONO_VLSB
BUFFER_FORMAT = _MONO_VLSB


class EPDTimeout(OSError):
    """BUSY stayed high longer than the timeout. errno is ETIMEDOUT (110)."""


class SSD1680:
    BUFFER_FORMAT = _MONO_VLSB

    def __init__(self, spi, *, cs, dc, rst, busy, width=296, height=128, sleep=sleep_ms):
        # `sleep` waits real milliseconds on a device; replay hands in a no-op, because its
        # clock is the log's and the panel model counts busy polls, not time.
        if height % 8 or not 0 < height <= 176 or not 0 < width <= 296:
            raise ValueError("bad panel size")
        self._spi = spi
        self._cs = cs
        self._dc = dc
        self._rst = rst
        self._busy = busy
        self._sleep_ms = sleep
        self.width = width
        self.height = height
        self.BUFFER_SIZE = width * height // 8
        self.reset_timeout_ms = _RESET_TIMEOUT_MS
        self._cmd = bytearray(1)
        self._d1 = bytearray(1)
        self._d2 = bytearray(2)
        self._d3 = bytearray(3)
        self._d4 = bytearray(4)
        self._asleep = True  # unknown state at power-up: leave it through a hardware reset
        self._ready = False  # init() done since the last reset
        self._have_base = False  # RED RAM holds what the panel shows (after a full update)
        self._pending = None  # buffer of the refresh in progress
        self._pending_full = True
        cs.value(1)
        dc.value(1)
        rst.value(1)

    # --- bus primitives (no allocation) ---

    def _command(self, cmd):
        b = self._cmd
        b[0] = cmd
        self._dc.value(0)
        self._cs.value(0)
        self._spi.write(b)
        self._cs.value(1)

    def _data(self, buf):
        self._dc.value(1)
        self._cs.value(0)
        self._spi.write(buf)
        self._cs.value(1)

    def _cmd1(self, cmd, a):
        self._command(cmd)
        d = self._d1
        d[0] = a
        self._data(d)

    def _cmd2(self, cmd, a, b):
        self._command(cmd)
        d = self._d2
        d[0] = a
        d[1] = b
        self._data(d)

    def _cmd3(self, cmd, a, b, c):
        self._command(cmd)
        d = self._d3
        d[0] = a
        d[1] = b
        d[2] = c
        self._data(d)

    def _cmd4(self, cmd, a, b, c, e):
        self._command(cmd)
        d = self._d4
        d[0] = a
        d[1] = b
        d[2] = c
        d[3] = e
        self._data(d)

    def _cursor(self):
        # X decrements from the last source byte, Y increments from gate 0.
        self._cmd1(_RAM_X_COUNTER, self.height // 8 - 1)
        self._cmd2(_RAM_Y_COUNTER, 0, 0)

    # --- public API ---

    def reset(self):
        """Hardware reset (the only way out of deep sleep). Blocks about 22 ms."""
        self._rst.value(1)
        self._sleep_ms(_RESET_HIGH_MS)
        self._rst.value(0)
        self._sleep_ms(_RESET_LOW_MS)
        self._rst.value(1)
        self._sleep_ms(_RESET_HIGH_MS)
        self._asleep = False
        self._ready = False

    def init(self):
        """Software reset and register setup. Needs an awake controller: reset() first."""
        self.wait_idle(self.reset_timeout_ms)
        self._command(_SW_RESET)
        self.wait_idle(self.reset_timeout_ms)
        gates = self.width - 1
        self._cmd3(_DRIVER_OUTPUT_CONTROL, gates & 0xFF, gates >> 8, 0x00)
        self._cmd1(_DATA_ENTRY_MODE, _ENTRY_Y_FIRST_YINC_XDEC)
        self._cmd2(_RAM_X_WINDOW, self.height // 8 - 1, 0)  # start high, end low: X-
        self._cmd4(_RAM_Y_WINDOW, 0, 0, gates & 0xFF, gates >> 8)
        self._cmd1(_BORDER_WAVEFORM, _BORDER_FULL)
        self._cmd1(_TEMP_SENSOR, _TEMP_INTERNAL)
        self._cmd2(_DISPLAY_UPDATE_CONTROL_1, _INVERSE_BW_AND_RED, _SOURCE_S8_S167)
        self._cursor()
        self._ready = True

    def busy(self):
        """True while the controller works (BUSY high). Meant for polling between begin_show()
        and finish(); BUSY also stays high during deep sleep."""
        return self._busy.value() == 1

    def wait_idle(self, timeout_ms=_REFRESH_TIMEOUT_MS):
        """Poll BUSY every 10 ms; raise EPDTimeout once it has been high for timeout_ms."""
        t0 = ticks_ms()
        while self._busy.value():
            if ticks_diff(ticks_ms(), t0) >= timeout_ms:
                raise EPDTimeout(_ETIMEDOUT, "SSD1680 busy timeout")
            self._sleep_ms(_POLL_MS)

    def begin_show(self, buf, full=True):
        """Wake the panel, write buf to RAM and start the refresh; returns without waiting."""
        if len(buf) != self.BUFFER_SIZE:
            raise ValueError("buffer size")
        if self._pending is not None:
            raise RuntimeError("update in progress")
        if not self._have_base:
            full = True
        if self._asleep:
            self.reset()
        if not self._ready:
            self.init()
        if not full:
            self._cmd1(_BORDER_WAVEFORM, _BORDER_PARTIAL)
        self._cursor()
        self._command(_WRITE_RAM_BW)
        self._data(buf)
        if full:
            self._cursor()
            self._command(_WRITE_RAM_RED)
            self._data(buf)
        self._cmd1(_DISPLAY_UPDATE_CONTROL_2, _UPDATE_FULL if full else _UPDATE_PARTIAL)
        self._command(_MASTER_ACTIVATION)
        self._pending = buf
        self._pending_full = full

    def finish(self):
        """After busy() went False: make RED RAM the new base, then deep sleep."""
        buf = self._pending
        if buf is None:
            return
        if self._busy.value():
            raise RuntimeError("still busy")
        if not self._pending_full:
            self._cursor()
            self._command(_WRITE_RAM_RED)
            self._data(buf)
        self._pending = None
        self._have_base = True
        self.sleep()

    def abort(self):
        """Give up on a refresh (timeout): hardware reset, then deep sleep, best effort."""
        self._pending = None
        self._have_base = False
        self.reset()
        try:
            self.wait_idle(self.reset_timeout_ms)
        except EPDTimeout:
            pass  # send the sleep command anyway
        self._cmd1(_DEEP_SLEEP, _DEEP_SLEEP_MODE_1)
        self._asleep = True
        self._ready = False

    def show(self, buf, full=True, timeout_ms=_REFRESH_TIMEOUT_MS):
        """Display buf (full or partial refresh), wait for it, leave the panel in deep sleep."""
        try:
            self.begin_show(buf, full)
            self.wait_idle(timeout_ms)
        except EPDTimeout:
            self.abort()
            raise
        self.finish()

    def sleep(self):
        """Deep sleep mode 1 (RAM kept). Only a hardware reset wakes the controller."""
        if self._asleep:
            return
        self._cmd1(_DEEP_SLEEP, _DEEP_SLEEP_MODE_1)
        self._asleep = True
        self._ready = False
