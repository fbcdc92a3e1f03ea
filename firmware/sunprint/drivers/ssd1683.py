# SSD1683 e-paper controller: Waveshare 4.2" e-Paper V2 (400 sources x 300 gates, the
# GDEY042T81 glass), B/W, full and window-partial refresh.
#
# References (the bytes below are theirs; file and revision beside each table):
#   W4   Waveshare e-Paper, RaspberryPi_JetsonNano/python/lib/waveshare_epd/epd4in2_V2.py (V1.0,
#        2023-09-13, repository HEAD 86aa993): reset() 100 / 2 / 100 ms; init (0x12, 0x21 40 00,
#        0x3C 05, 0x11 03, 0x44 00 31, 0x45 00 00 2B 01, 0x4E, 0x4F); display (0x24 + 0x26,
#        0x22 0xF7); display_Partial (0x3C 80, 0x21 00 00, window, 0x24, 0x22 0xFF: the partial
#        waveform from OTP, which this glass has); sleep 0x10 0x01. Also c/lib/e-Paper/
#        EPD_4in2_V2.c (V1.0, 2023-09-11), the same sequences.
#   GX   GxEPD2 src/gdey/GxEPD2_420_GDEY042T81.cpp (version 1.6.8, 97746b1): _InitDisplay (10 ms
#        after 0x12, 0x01 2B 01 00, 0x18 80), _Update_Full (0x21 40 00, 0x22 0xF7), _Update_Part
#        (0x21 00 00, 0x22 0xFC), drawImage's writeImageAgain (the window to both RAMs after a
#        partial), hibernate 0x10 0x01.
#
# Picture format: native orientation is landscape (400 x 300), so the app draws into a
# framebuf.MONO_HLSB buffer: byte y*50 + x//8, bit 7 - x%8 = pixel (x, y), 1 = black. With data
# entry mode 0x03 (X first, X+, Y+; W4, GX) that is byte for byte the RAM layout (MSB = lowest
# source) once inverted. rotation=180 (mounted upside down): rows and bytes are sent in reverse
# order, bits reversed.
#
# Polarity: the references' RAM convention, 1 = white: 0x21 A = 0x40 for a full refresh (RED RAM
# bypassed as 0, W4 and GX) and 0x00 for a partial (GX; W4); the driver inverts the app's
# 1 = black through its translation table as it sends.
#
# Sequences (BUSY high = busy):
#   init      hardware reset (100/2/100 ms, W4); 0x12, 10 ms (GX), BUSY; 0x01 [2B 01 00] (GX);
#             0x11 [03]; 0x44 [00 31]; 0x45 [00 00 2B 01]; 0x3C [05]; 0x18 [80] (GX);
#             0x21 [40 00]; 0x4E [00]; 0x4F [00 00]                              (W4, GX)
#   full      init; 0x24 picture; 0x26 picture; 0x22 [F7] 0x20; deep sleep 0x10 [01]  (W4)
#   partial   after a wake: init, then the glass's picture (set_base) to 0x26 and 0x24; once
#             per wake 0x3C [80], 0x21 [00 00] (W4); per partial the window to 0x24, 0x22 [FF]
#             0x20 (W4: OTP partial waveform, power off at the end); finish() writes the window
#             to 0x26 and 0x24 again (GX's writeImageAgain). The controller stays awake.
# Window partial (begin_show_window): x is widened to multiples of 8 (8 sources share a RAM byte),
# y is exact. Bytes on the bus for a partial from standby: 3 x rows x bytes per row + 33 (100 x
# 40 at x = 100, widened to 96..199: 1593) against 30047 for a full refresh.

from sunprint.compat import const, sleep_ms
from sunprint.drivers.epd import EPD, INVERT, REVERSE, EPDTimeout, table

_DRIVER_OUTPUT_CONTROL = const(0x01)
_DEEP_SLEEP = const(0x10)
_DATA_ENTRY_MODE = const(0x11)
_SW_RESET = const(0x12)
_TEMP_SENSOR = const(0x18)
_DISPLAY_UPDATE_CONTROL_1 = const(0x21)
_WRITE_RAM_BW = const(0x24)
_WRITE_RAM_RED = const(0x26)
_BORDER_WAVEFORM = const(0x3C)
_RAM_X_WINDOW = const(0x44)
_RAM_Y_WINDOW = const(0x45)
_RAM_X_COUNTER = const(0x4E)
_RAM_Y_COUNTER = const(0x4F)

_ENTRY_X_FIRST_XINC_YINC = const(0x03)
_FULL_RED_BYPASS = const(0x40)  # 0x21 A: RED RAM bypassed as 0, BW RAM normal (W4, GX)
_PARTIAL_NORMAL = const(0x00)  # 0x21 A: both RAMs normal: RED = old picture (W4, GX)
_SOURCE_ALL = const(0x00)  # 0x21 B: all 400 sources
_TEMP_INTERNAL = const(0x80)
_BORDER_FULL = const(0x05)
_BORDER_PARTIAL = const(0x80)
_UPDATE_PARTIAL = const(0xFF)  # W4: mode 2 with the OTP's partial LUT, power off at the end
_DEEP_SLEEP_MODE_1 = const(0x01)
_SW_RESET_SETTLE_MS = const(10)  # GX

_MONO_HLSB = const(3)  # framebuf.MONO_HLSB
BUFFER_FORMAT = _MONO_HLSB

__all__ = ("BUFFER_FORMAT", "SSD1683", "EPDTimeout")


class SSD1683(EPD):
    NAME = "SSD1683"
    BUFFER_FORMAT = _MONO_HLSB
    _X_ALIGN = 8  # 8 sources share a RAM byte
    _Y_ALIGN = 1
    RESET_HIGH_MS = 100  # W4
    RESET_LOW_MS = 2

    def __init__(
        self, spi, *, cs, dc, rst, busy, width=400, height=300, sleep=sleep_ms, rotation=0
    ):
        if width % 8 or not 0 < width <= 400 or not 0 < height <= 300:
            raise ValueError("bad panel size")
        super().__init__(spi, cs, dc, rst, busy, width, height, sleep, width // 8, rotation)
        self._tab = table(INVERT) if rotation == 0 else table(INVERT | REVERSE)

    def _send(self, ram, buf):
        """The window win_* of buf to a RAM (0x24 or 0x26): RAM window, counters, rows."""
        xb = self.width // 8
        b0 = self.win_x // 8
        n = self.win_w // 8
        y0 = self.win_y
        rows = self.win_h
        if self.rotation == 0:
            r0 = y0
            start = y0 * xb + b0
            stride = xb
            step = 1
        else:  # RAM row r = height-1-y, RAM byte = xb-1-byte
            r0 = self.height - y0 - rows
            b0 = xb - b0 - n
            start = (y0 + rows - 1) * xb + xb - 1 - (self.win_x // 8)
            stride = -xb
            step = -1
        r1 = r0 + rows - 1
        self._cmd2(_RAM_X_WINDOW, b0, b0 + n - 1)
        self._cmd4(_RAM_Y_WINDOW, r0 & 0xFF, r0 >> 8, r1 & 0xFF, r1 >> 8)
        self._cmd1(_RAM_X_COUNTER, b0)
        self._cmd2(_RAM_Y_COUNTER, r0 & 0xFF, r0 >> 8)
        self._command(ram)
        self._rows(buf, start, stride, rows, n, step, self._tab)

    def init(self):
        """Software reset and register setup (W4, GX). Needs an awake controller: reset()."""
        self.wait_idle(self.reset_timeout_ms)
        self._command(_SW_RESET)
        self._sleep_ms(_SW_RESET_SETTLE_MS)
        self.wait_idle(self.reset_timeout_ms)
        gates = self.height - 1
        self._cmd3(_DRIVER_OUTPUT_CONTROL, gates & 0xFF, gates >> 8, 0x00)
        self._cmd1(_DATA_ENTRY_MODE, _ENTRY_X_FIRST_XINC_YINC)
        self._cmd2(_RAM_X_WINDOW, 0, self.width // 8 - 1)
        self._cmd4(_RAM_Y_WINDOW, 0, 0, gates & 0xFF, gates >> 8)
        self._cmd1(_BORDER_WAVEFORM, _BORDER_FULL)
        self._cmd1(_TEMP_SENSOR, _TEMP_INTERNAL)
        self._cmd2(_DISPLAY_UPDATE_CONTROL_1, _FULL_RED_BYPASS, _SOURCE_ALL)
        self._cmd1(_RAM_X_COUNTER, 0)
        self._cmd2(_RAM_Y_COUNTER, 0, 0)
        self._ready = True

    def _enter_partial(self):
        if not self._ready:
            self.init()
        self._cmd1(_BORDER_WAVEFORM, _BORDER_PARTIAL)
        self._cmd2(_DISPLAY_UPDATE_CONTROL_1, _PARTIAL_NORMAL, _SOURCE_ALL)

    def _write_base(self):
        base = self._base
        if not self._ram_known and base is not None:  # after a wake the RAMs are lost:
            self._send_whole(_WRITE_RAM_RED, base)  # both become the glass again
            self._send_whole(_WRITE_RAM_BW, base)
            self._ram_known = True

    def _write_window(self, buf):
        self._write_base()
        self._send(_WRITE_RAM_BW, buf)
        self._update(_UPDATE_PARTIAL)

    def _sleep_command(self):
        self._cmd1(_DEEP_SLEEP, _DEEP_SLEEP_MODE_1)
