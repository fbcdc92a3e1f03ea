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
# Window partial refresh (begin_show_window): the window's landscape x range is a gate range
# (1-pixel granularity); its y range is widened to whole VLSB pages (y to multiples of 8), since
# 8 landscape rows share one RAM byte. The RAM window (0x44 X bytes 15-p0 down to 15-p1, 0x45
# gates x0..x1) is then filled gate-first: for each page the bytes buf[p*296+x0 .. p*296+x1] are
# contiguous. BW RAM outside the window still holds the picture on the glass, so the differential
# refresh 0xFF changes the window only; finish() rewrites RED RAM over the same window. Bytes on
# the bus: 2 x pages x width + 62 (a 100 x 40 window: 1062) against 9516 for a full refresh.
#
# Timeouts, the lifecycle and the bus helpers live in epd.EPD (EPDTimeout, an OSError with errno
# ETIMEDOUT (110), is re-exported here). Non-blocking shape for an asyncio runner:
#     drv.begin_show(buf, full)          # blocks some 30-50 ms (reset, init, RAM transfer)
#     while drv.busy(): await asyncio.sleep_ms(50)
#     drv.finish()                       # base rewrite + deep sleep
# show() = begin_show + wait + finish. Nothing is allocated per frame.

from sunprint.compat import const, sleep_ms
from sunprint.drivers.epd import EPD, EPDTimeout

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

_MONO_VLSB = const(0)  # framebuf.MONO_VLSB
BUFFER_FORMAT = _MONO_VLSB

__all__ = ("BUFFER_FORMAT", "SSD1680", "EPDTimeout")


class SSD1680(EPD):
    NAME = "SSD1680"
    BUFFER_FORMAT = _MONO_VLSB
    _X_ALIGN = 1  # landscape x = gate: one pixel
    _Y_ALIGN = 8  # landscape y = source: 8 rows (one VLSB page) share a RAM byte

    def __init__(self, spi, *, cs, dc, rst, busy, width=296, height=128, sleep=sleep_ms):
        if height % 8 or not 0 < height <= 176 or not 0 < width <= 296:
            raise ValueError("bad panel size")
        super().__init__(spi, cs, dc, rst, busy, width, height, sleep, width)

    def _cursor(self):
        # X decrements from the last source byte, Y increments from gate 0.
        self._cmd1(_RAM_X_COUNTER, self.height // 8 - 1)
        self._cmd2(_RAM_Y_COUNTER, 0, 0)

    def _area(self):
        # The window win_*: X bytes from page p0 (high address) down to p1, gates x0..x1.
        top = self.height // 8 - 1
        xs = top - self.win_y // 8
        xe = top - (self.win_y + self.win_h) // 8 + 1
        g0 = self.win_x
        g1 = self.win_x + self.win_w - 1
        self._cmd2(_RAM_X_WINDOW, xs, xe)
        self._cmd4(_RAM_Y_WINDOW, g0 & 0xFF, g0 >> 8, g1 & 0xFF, g1 >> 8)
        self._cmd1(_RAM_X_COUNTER, xs)
        self._cmd2(_RAM_Y_COUNTER, g0 & 0xFF, g0 >> 8)

    def _window_rows(self, buf):
        w = self.width
        self._rows(buf, (self.win_y // 8) * w + self.win_x, w, self.win_h // 8, self.win_w)

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

    def _write_frame(self, buf, full):
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

    def _write_window(self, buf):
        self._cmd1(_BORDER_WAVEFORM, _BORDER_PARTIAL)
        self._area()
        self._command(_WRITE_RAM_BW)
        self._window_rows(buf)
        self._cmd1(_DISPLAY_UPDATE_CONTROL_2, _UPDATE_PARTIAL)
        self._command(_MASTER_ACTIVATION)

    def _finish_frame(self, buf):
        # RED RAM becomes the picture on the glass, the base of the next partial refresh.
        if self._pending_window:
            self._area()
            self._command(_WRITE_RAM_RED)
            self._window_rows(buf)
        elif not self._pending_full:
            self._cursor()
            self._command(_WRITE_RAM_RED)
            self._data(buf)

    def _sleep_command(self):
        # Deep sleep mode 1 (RAM kept). Only a hardware reset wakes the controller.
        self._cmd1(_DEEP_SLEEP, _DEEP_SLEEP_MODE_1)
