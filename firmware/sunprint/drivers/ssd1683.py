# SSD1683 e-paper controller: Waveshare 4.2" e-Paper V2 (400 sources x 300 gates, the
# GDEY042T81 glass), B/W, full and window-partial refresh, deep sleep after every update.
#
# Sources: Waveshare e-Paper repository, RaspberryPi_JetsonNano/python/lib/waveshare_epd/
# epd4in2_V2.py (V1.0, 2023-09-13: init, display, display_Partial, TurnOnDisplay 0xF7 /
# TurnOnDisplay_Partial 0xFF) and c/lib/e-Paper/EPD_4in2_V2.c (0x01 MUX 0x2B 0x01, 0x18 0x80,
# window 0x44/0x45/0x4E/0x4F, deep sleep 0x10 0x01); GxEPD2 src/gdey/GxEPD2_420_GDEY042T81.cpp
# (0x21 0x40 for a full refresh, 0x21 0x00 and display mode 2 for a partial, base rewritten to
# both RAMs after a partial: "writeImageAgain"). The command set is the SSD1680's (0x11 data
# entry, 0x21 RAM options, 0x22/0x20 update, 0x24 BW RAM, 0x26 RED RAM, 0x10 deep sleep).
#
# Picture format: native orientation is landscape (400 x 300), so the app draws into a
# framebuf.MONO_HLSB buffer: byte y*50 + x//8, bit 7 - x%8 = pixel (x, y), 1 = black. With data
# entry mode 0x03 (X first, X+, Y+) that is byte for byte the RAM layout (MSB = lowest source):
# the whole buffer goes to RAM in one spi.write.
#
# Polarity: RAM 1 = white. 0x21 A[3:0] = 1000 (inverse BW RAM) keeps the app's 1 = black
# without a per-byte inversion. A full refresh bypasses RED RAM as 0 (A = 0x48, as Waveshare's
# and GxEPD2's full refresh do with 0x40); a partial inverts RED RAM as well (A = 0x88) because
# RED RAM holds the previous picture, compared against BW RAM by display mode 2.
#
# Refresh kinds (0x22, then 0x20):
#   full    0xF7 (display mode 1) after writing the picture to 0x24 and 0x26;
#   partial 0xFF (display mode 2, border 0x3C <- 0x80) after writing 0x24; finish() rewrites
#           0x26 with the same bytes so the next partial compares against the glass.
# Window partial (begin_show_window): x is widened to multiples of 8 (8 sources share a RAM byte),
# y is exact. RAM window 0x44 (x0/8 .. x1/8), 0x45 (y0 .. y1), counters at the window start; the
# window's rows buf[y*50 + x0/8 .. y*50 + x1/8] are sent row by row without allocating. BW RAM
# outside the window still holds the glass's picture, so only the window changes. Bytes on the
# bus: 2 x rows x bytes per row + 65 (100 x 40 at x = 100, widened to 96..199: 1105) against
# 30044 for a full refresh.
#
# Power: deep sleep mode 1 (0x10 <- 0x01, RAM retained) after every update; each update starts
# with a hardware reset + init, and the RED RAM base survives deep sleep for the next partial.
# BUSY high = busy. Nothing is allocated per update.

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

_ENTRY_X_FIRST_XINC_YINC = const(0x03)
_FULL_RED_BYPASS_BW_INVERSE = const(0x48)  # 0x21 A: RED RAM bypass as 0 | BW RAM inverse
_PARTIAL_INVERSE_BW_AND_RED = const(0x88)  # 0x21 A: RED RAM inverse | BW RAM inverse
_SOURCE_ALL = const(0x00)  # 0x21 B: all 400 sources
_TEMP_INTERNAL = const(0x80)
_BORDER_FULL = const(0x05)
_BORDER_PARTIAL = const(0x80)
_UPDATE_FULL = const(0xF7)
_UPDATE_PARTIAL = const(0xFF)
_DEEP_SLEEP_MODE_1 = const(0x01)

_MONO_HLSB = const(3)  # framebuf.MONO_HLSB
BUFFER_FORMAT = _MONO_HLSB

__all__ = ("BUFFER_FORMAT", "SSD1683", "EPDTimeout")


class SSD1683(EPD):
    NAME = "SSD1683"
    BUFFER_FORMAT = _MONO_HLSB
    _X_ALIGN = 8  # 8 sources share a RAM byte
    _Y_ALIGN = 1

    def __init__(self, spi, *, cs, dc, rst, busy, width=400, height=300, sleep=sleep_ms):
        if width % 8 or not 0 < width <= 400 or not 0 < height <= 300:
            raise ValueError("bad panel size")
        super().__init__(spi, cs, dc, rst, busy, width, height, sleep, width // 8)

    def _cursor(self):
        self._cmd1(_RAM_X_COUNTER, 0)
        self._cmd2(_RAM_Y_COUNTER, 0, 0)

    def _area(self):
        xs = self.win_x // 8
        xe = (self.win_x + self.win_w) // 8 - 1
        y0 = self.win_y
        y1 = self.win_y + self.win_h - 1
        self._cmd2(_RAM_X_WINDOW, xs, xe)
        self._cmd4(_RAM_Y_WINDOW, y0 & 0xFF, y0 >> 8, y1 & 0xFF, y1 >> 8)
        self._cmd1(_RAM_X_COUNTER, xs)
        self._cmd2(_RAM_Y_COUNTER, y0 & 0xFF, y0 >> 8)

    def _window_rows(self, buf):
        stride = self.width // 8
        self._rows(buf, self.win_y * stride + self.win_x // 8, stride, self.win_h, self.win_w // 8)

    def _partial_mode(self):
        self._cmd1(_BORDER_WAVEFORM, _BORDER_PARTIAL)
        self._cmd2(_DISPLAY_UPDATE_CONTROL_1, _PARTIAL_INVERSE_BW_AND_RED, _SOURCE_ALL)

    def init(self):
        """Software reset and register setup. Needs an awake controller: reset() first."""
        self.wait_idle(self.reset_timeout_ms)
        self._command(_SW_RESET)
        self.wait_idle(self.reset_timeout_ms)
        gates = self.height - 1
        self._cmd3(_DRIVER_OUTPUT_CONTROL, gates & 0xFF, gates >> 8, 0x00)
        self._cmd1(_DATA_ENTRY_MODE, _ENTRY_X_FIRST_XINC_YINC)
        self._cmd2(_RAM_X_WINDOW, 0, self.width // 8 - 1)
        self._cmd4(_RAM_Y_WINDOW, 0, 0, gates & 0xFF, gates >> 8)
        self._cmd1(_BORDER_WAVEFORM, _BORDER_FULL)
        self._cmd1(_TEMP_SENSOR, _TEMP_INTERNAL)
        self._cmd2(_DISPLAY_UPDATE_CONTROL_1, _FULL_RED_BYPASS_BW_INVERSE, _SOURCE_ALL)
        self._cursor()
        self._ready = True

    def _write_frame(self, buf, full):
        if not full:
            self._partial_mode()
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
        self._partial_mode()
        self._area()
        self._command(_WRITE_RAM_BW)
        self._window_rows(buf)
        self._cmd1(_DISPLAY_UPDATE_CONTROL_2, _UPDATE_PARTIAL)
        self._command(_MASTER_ACTIVATION)

    def _finish_frame(self, buf):
        if self._pending_window:
            self._area()
            self._command(_WRITE_RAM_RED)
            self._window_rows(buf)
        elif not self._pending_full:
            self._cursor()
            self._command(_WRITE_RAM_RED)
            self._data(buf)

    def _sleep_command(self):
        self._cmd1(_DEEP_SLEEP, _DEEP_SLEEP_MODE_1)
