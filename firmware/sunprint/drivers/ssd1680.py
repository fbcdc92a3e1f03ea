# SSD1680 e-paper controller: Waveshare 2.9" V2 panel (128 sources x 296 gates, the GDEM029T94
# glass in Waveshare's variant without a partial waveform in OTP), driven landscape.
#
# References (the bytes below are theirs; file and revision beside each table):
#   W21  Waveshare e-Paper, RaspberryPi_JetsonNano/python/lib/waveshare_epd/epd2in9_V2.py at
#        7c368a2 (2021-01-26, "fix 2.9_V2"): init, display_Base (0x24 + 0x26, 0x22 0xF7),
#        display_Partial (0x32 LUT, 0x37, 0x3C 0x80, 0x22 0xC0, 0x24, 0x22 0x0F), sleep 0x10 0x01.
#        It replaced the 2020-12-10 driver (04d4621), whose partial ran 0x22 0xFF: a partial
#        waveform from OTP that this glass does not have.
#   WC   the same repository, c/lib/e-Paper/EPD_2in9_V2.c V1.2 (2023-12-21, HEAD 86aa993):
#        _WF_PARTIAL_2IN9 (the partial LUT below), EPD_2IN9_V2_Display_Partial (same sequence).
#   WP   python/lib/waveshare_epd/epd2in9_V2.py V1.1 (2022-08-09): reset() 50 / 2 / 50 ms.
#   GX   GxEPD2 src/epd/GxEPD2_290_T94_V2.cpp / .h (version 1.6.8, 97746b1): _InitDisplay
#        (10 ms after 0x12 "according to specs", 0x3C 0x05, 0x21 0x00 0x80, 0x18 0x80), full
#        refresh 0x22 0xF7, partial LUT by 0x32 ("Waveshare variant without partial wft in
#        OTP"), writeImageAgain (the window to both RAMs after a partial), hibernate 0x10 0x01.
#   ESPHome esphome/components/waveshare_epaper/waveshare_epaper.cpp (90e4f9e):
#        WaveshareEPaper2P9InV2R2 runs W21's sequence; its older WAVESHARE_EPAPER_2_9_IN_V2
#        path (0x22 0xF7 / 0xFF from OTP) is the one known not to work on this glass.
#
# Picture format: the app draws the landscape picture (296 x 128) into a framebuf.MONO_VLSB
# buffer: byte page*296 + x, bit k (LSB = 0) = pixel (x, 8*page + k), 1 = black ink.
# Orientation: Waveshare's landscape mapping (epd2in9_V2.py getbuffer for a 296 x 128 image):
# landscape (x, y) = native source sx = y, gate gy = 295 - x. A VLSB byte is then native RAM
# byte X = page at gate 295 - x with its bits reversed (native MSB = lowest source). With
# rotation=180 (the panel mounted upside down) sx = 127 - y, gy = x, and a VLSB byte is the
# RAM byte X = 15 - page, bits in place. Data entry mode 0x03 (X first, X+, Y+) as W21 and GX:
# the driver gathers each RAM row (16 bytes, one gate) from the buffer, 296 apart.
#
# Polarity: the references' RAM convention, 1 = white, with 0x21 A = 0x00 (both RAMs normal);
# the driver inverts the app's 1 = black through its translation table while it gathers a row.
#
# Sequences (BUSY high = busy):
#   init      hardware reset (50/2/50 ms, WP); 0x12, 10 ms (GX), BUSY; 0x01 [27 01 00];
#             0x11 [03]; 0x44 [00 0F]; 0x45 [00 00 27 01]; 0x3C [05]; 0x21 [00 80]; 0x18 [80];
#             0x4E [00]; 0x4F [00 00]                                            (W21, GX)
#   full      init; 0x24 picture; 0x26 picture; 0x22 [F7] 0x20 (OTP full waveform, power off at
#             the end); deep sleep 0x10 [01]                                     (W21, GX)
#   partial   after a wake: init, then the glass's picture (set_base) to 0x26 and 0x24 over
#             the whole panel; once per wake 0x32 [153-byte LUT] (WC), 0x37 [00 00 00
#             00 00 40 00 00 00 00] (ping-pong, W21/WC), 0x3C [80]; then per partial 0x22 [C0]
#             0x20 (power on), BUSY, the window to 0x24, 0x22 [0F] 0x20 (display mode 2 from the
#             host LUT, power off). finish() writes the window to 0x26 and 0x24 again (GX's
#             writeImageAgain): the old picture follows the glass whether ping-pong copies or
#             swaps the RAMs (the sources do not say which). The controller stays awake.
#
# Window partial refresh (begin_show_window): the window's landscape x range is a gate range
# (1-pixel granularity); its y range is widened to whole VLSB pages (y to multiples of 8), since
# 8 landscape rows share one RAM byte. Bytes on the bus for a partial from standby: 3 x pages x
# width + 38 (a 100 x 40 window: 1538) against 9536 for a full refresh.
#
# Timeouts, the lifecycle and the bus helpers live in epd.EPD (EPDTimeout, an OSError with errno
# ETIMEDOUT (110), is re-exported here). Non-blocking shape for an asyncio runner:
#     drv.begin_show(buf, full)          # blocks some 30-150 ms (reset, init, RAM transfer)
#     while drv.busy(): await asyncio.sleep_ms(50)
#     drv.finish()                       # RAM rewrite; deep sleep after a full refresh
# show() = begin_show + wait + finish. Nothing is allocated per frame.

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
_WRITE_LUT = const(0x32)
_DISPLAY_OPTION = const(0x37)
_BORDER_WAVEFORM = const(0x3C)
_RAM_X_WINDOW = const(0x44)
_RAM_Y_WINDOW = const(0x45)
_RAM_X_COUNTER = const(0x4E)
_RAM_Y_COUNTER = const(0x4F)

_ENTRY_X_FIRST_XINC_YINC = const(0x03)  # W21, GX
_RAM_NORMAL = const(0x00)  # 0x21 A: BW and RED RAM normal (RAM 1 = white)
_SOURCE_S8_S167 = const(0x80)  # 0x21 B[7]: sources S8..S167, as W21's init
_TEMP_INTERNAL = const(0x80)
_BORDER_FULL = const(0x05)  # GS transition, follow LUT, LUT1 (W21, GX)
_BORDER_PARTIAL = const(0x80)  # VBD = VCOM (W21 partial)
_UPDATE_POWER_ON = const(0xC0)  # clock + analog on
_UPDATE_PARTIAL = const(0x0F)  # display mode 2 with the LUT register (host LUT), analog+clock off
_DEEP_SLEEP_MODE_1 = const(0x01)
_SW_RESET_SETTLE_MS = const(10)  # GX: "10ms according to specs"

# WC: _WF_PARTIAL_2IN9[0:153] (EPD_2in9_V2.c V1.2, 2023-12-21); GX lut_partial is the same bytes.
# LUT0..LUT4 (12 bytes each: phases of groups 0-11), then 12 groups of timing (TPA TPB SRAB TPC
# TPD SRCD RP), then frame rate (6) and gate/source XON (3).
_LUT_PARTIAL = (
    b"\x00\x40\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    b"\x80\x80\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    b"\x40\x40\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    b"\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    b"\x0a\x00\x00\x00\x00\x00\x02"
    b"\x01\x00\x00\x00\x00\x00\x00"
    b"\x01\x00\x00\x00\x00\x00\x00"
    b"\x00\x00\x00\x00\x00\x00\x00"
    b"\x00\x00\x00\x00\x00\x00\x00"
    b"\x00\x00\x00\x00\x00\x00\x00"
    b"\x00\x00\x00\x00\x00\x00\x00"
    b"\x00\x00\x00\x00\x00\x00\x00"
    b"\x00\x00\x00\x00\x00\x00\x00"
    b"\x00\x00\x00\x00\x00\x00\x00"
    b"\x00\x00\x00\x00\x00\x00\x00"
    b"\x00\x00\x00\x00\x00\x00\x00"
    b"\x22\x22\x22\x22\x22\x22\x00\x00\x00"
)
# W21 / WC display_Partial: 0x37 Display Option, byte F bit 6 = RAM ping-pong for display mode 2.
_DISPLAY_OPTION_PINGPONG = b"\x00\x00\x00\x00\x00\x40\x00\x00\x00\x00"

_MONO_VLSB = const(0)  # framebuf.MONO_VLSB
BUFFER_FORMAT = _MONO_VLSB

__all__ = ("BUFFER_FORMAT", "SSD1680", "EPDTimeout")


class SSD1680(EPD):
    NAME = "SSD1680"
    BUFFER_FORMAT = _MONO_VLSB
    _X_ALIGN = 1  # landscape x = gate: one pixel
    _Y_ALIGN = 8  # landscape y = source: 8 rows (one VLSB page) share a RAM byte
    RESET_HIGH_MS = 50  # WP
    RESET_LOW_MS = 2

    def __init__(
        self, spi, *, cs, dc, rst, busy, width=296, height=128, sleep=sleep_ms, rotation=0
    ):
        if height % 8 or not 0 < height <= 176 or not 0 < width <= 296:
            raise ValueError("bad panel size")
        super().__init__(spi, cs, dc, rst, busy, width, height, sleep, height // 8, rotation)
        # rotation 0: a VLSB page goes MSB-first (reversed); 180: bits in place
        self._tab = table(INVERT | REVERSE) if rotation == 0 else table(INVERT)
        self._rstart = 0  # _area() -> _rows()
        self._rstride = 0
        self._rstep = 0

    def _area(self):
        """RAM window and counters for win_*; leaves _rstart, _rstride, _rstep for _rows."""
        pages = self.height // 8
        p0 = self.win_y // 8
        p1 = p0 + self.win_h // 8 - 1
        x0 = self.win_x
        x1 = x0 + self.win_w - 1
        w = self.width
        if self.rotation == 0:  # X byte = page, gate = w-1-x
            j0 = p0
            j1 = p1
            g0 = w - 1 - x1
            g1 = w - 1 - x0
            self._rstart = p0 * w + x1
            self._rstride = -1
            self._rstep = w
        else:  # X byte = pages-1-page, gate = x
            j0 = pages - 1 - p1
            j1 = pages - 1 - p0
            g0 = x0
            g1 = x1
            self._rstart = p1 * w + x0
            self._rstride = 1
            self._rstep = -w
        self._cmd2(_RAM_X_WINDOW, j0, j1)
        self._cmd4(_RAM_Y_WINDOW, g0 & 0xFF, g0 >> 8, g1 & 0xFF, g1 >> 8)
        self._cmd1(_RAM_X_COUNTER, j0)
        self._cmd2(_RAM_Y_COUNTER, g0 & 0xFF, g0 >> 8)

    def _send(self, ram, buf):
        """The window win_* of buf to a RAM (0x24 or 0x26)."""
        self._area()
        self._command(ram)
        self._rows(
            buf, self._rstart, self._rstride, self.win_w, self.win_h // 8, self._rstep, self._tab
        )

    def init(self):
        """Software reset and register setup (W21, GX). Needs an awake controller: reset()."""
        self.wait_idle(self.reset_timeout_ms)
        self._command(_SW_RESET)
        self._sleep_ms(_SW_RESET_SETTLE_MS)
        self.wait_idle(self.reset_timeout_ms)
        gates = self.width - 1
        self._cmd3(_DRIVER_OUTPUT_CONTROL, gates & 0xFF, gates >> 8, 0x00)
        self._cmd1(_DATA_ENTRY_MODE, _ENTRY_X_FIRST_XINC_YINC)
        self._cmd2(_RAM_X_WINDOW, 0, self.height // 8 - 1)
        self._cmd4(_RAM_Y_WINDOW, 0, 0, gates & 0xFF, gates >> 8)
        self._cmd1(_BORDER_WAVEFORM, _BORDER_FULL)
        self._cmd2(_DISPLAY_UPDATE_CONTROL_1, _RAM_NORMAL, _SOURCE_S8_S167)
        self._cmd1(_TEMP_SENSOR, _TEMP_INTERNAL)
        self._cmd1(_RAM_X_COUNTER, 0)
        self._cmd2(_RAM_Y_COUNTER, 0, 0)
        self._ready = True

    def _enter_partial(self):
        if not self._ready:
            self.init()
        self._cmdbuf(_WRITE_LUT, _LUT_PARTIAL)
        self._cmdbuf(_DISPLAY_OPTION, _DISPLAY_OPTION_PINGPONG)
        self._cmd1(_BORDER_WAVEFORM, _BORDER_PARTIAL)

    def _write_base(self):
        base = self._base
        if not self._ram_known and base is not None:  # after a wake the RAMs are lost:
            self._send_whole(_WRITE_RAM_RED, base)  # both become the glass again
            self._send_whole(_WRITE_RAM_BW, base)
            self._ram_known = True

    def _write_window(self, buf):
        self._update(_UPDATE_POWER_ON)
        self.wait_idle(self.reset_timeout_ms)
        self._write_base()
        self._send(_WRITE_RAM_BW, buf)
        self._update(_UPDATE_PARTIAL)

    def _sleep_command(self):
        # Deep sleep mode 1. Only a hardware reset wakes the controller.
        self._cmd1(_DEEP_SLEEP, _DEEP_SLEEP_MODE_1)
