# UC8179 e-paper controller (UltraChip; GD7965 is the same chip): Waveshare 7.5" e-Paper V2
# (800 sources x 480 gates), B/W, full and window-partial refresh.
#
# References (the bytes below are theirs; file and revision beside each table):
#   W7   Waveshare e-Paper, RaspberryPi_JetsonNano/c/lib/e-Paper/EPD_7in5_V2.c (V3.0,
#        2023-12-18, repository HEAD 86aa993): EPD_Reset 20 / 2 / 20 ms; EPD_7IN5_V2_Init (PWR,
#        BTST, PON, PSR 1F, TRES, DUSPI, CDI 10 07, TCON 22); _Display (DTM1 = the picture with
#        1 = white, DTM2 = the same inverted, DRF); _Init_Part (reset, PSR 1F, PON, CCSET E0 02,
#        TSSET E5 6E: the OTP's fast partial waveform, on glass sold from late 2023); _Display_Part
#        (CDI A9 07, PTIN, PTL, DTM2 with 1 = white, DRF); _Sleep (CDI F7, POF, BUSY, DSLP A5).
#        python/lib/waveshare_epd/epd7in5_V2.py (same sequences; init_part added 2023-12-22).
#   W7o  the same repository, c/lib/e-Paper/EPD_7in5_V2_old.c (V1.0, 2023-12-18), for older
#        glass without the fast waveform: EPD_7IN5_V2_Init_Partial = Init2 (reset, PSR 3F: LUTs
#        from registers, BTST 17 17 28 18, CDI 22 07, TCON 22, TRES, GSST 65, PON) and
#        Epaper_LUT_By_MCU(Lut_partial) (EVS 52, PLL 30, PWR 01, LUTOPT 2A, VCOM_DC 82, LUTs
#        20-24); _Display_Partial (PTIN, PTL, DTM2, DRF, PTOUT).
#   GX   GxEPD2 src/epd/GxEPD2_750_T7.cpp (GDEW075T7 = this glass; version 1.6.8, 97746b1): PTL
#        with the x range widened to whole bytes, N2OCP ("copy new to old") with register LUTs
#        (CDI 39 07), the OLD RAM preset once before the first refresh, POF before DSLP A5.
#   Zephyr drivers/display/uc81xx.c + uc81xx_regs.h: command names, CDI bits BDZ 7, BDV 5:4,
#        N2OCP 3, DDX 1:0, PTL as 4 big-endian 16-bit values + PT_SCAN.
#
# Picture format: native orientation is landscape (800 x 480): the app draws into a
# framebuf.MONO_HLSB buffer (byte y*100 + x//8, bit 7 - x%8 = pixel (x, y), 1 = black), which is
# the order DTM1/DTM2 take (rows of 100 bytes, MSB = leftmost source). rotation=180 (mounted
# upside down): rows and bytes go in reverse order, bits reversed.
#
# Polarity, as W7: a full refresh runs with CDI 0x10 (DDX 00: data 1 = black), so DTM2 takes the
# app's buffer unchanged (one spi.write), and DTM1 takes it inverted (1 = white, W7's DTM1); the
# partial runs with CDI 0xA9 (DDX 01: 1 = white, N2OCP: NEW is copied to OLD after the refresh),
# so the window goes out inverted, and the OLD RAM written by the full refresh already is the
# glass in that polarity.
#
# Sequences (BUSY_N: low = busy; each refresh step is sent by busy() once BUSY_N is released):
#   full      reset (20/2/20 ms); PWR 01 [07 07 3F 3F]; BTST 06 [17 17 28 17]; PSR 00 [1F];
#             TRES 61 [03 20 01 E0]; DUSPI 15 [00]; CDI 50 [10 07]; TCON 60 [22]; DTM1 10 (the
#             picture, 1 = white: the old picture of the next partial, and no random OLD RAM
#             under the first full refresh); DTM2 13 (1 = black); PON 04 -> DRF 12 -> CDI 50
#             [F7] + POF 02 -> DSLP 07 [A5]                                       (W7)
#   partial   after a wake, revision "2023": reset; PSR 00 [1F]; CCSET E0 [02]; TSSET E5 [6E]
#             (W7 _Init_Part); revision "old": reset; PSR 00 [3F]; BTST 06 [17 17 28 18];
#             TCON 60 [22]; TRES 61; GSST 65 [00 00 00 00]; EVS 52 [02]; PLL 30 [06]; PWR 01
#             [17 07 3F 3F 0D]; LUTOPT 2A [00 00]; VCOM_DC 82 [1C]; LUTC/WW/KW/WK/KK 20-24 (42
#             bytes each, W7o Lut_partial). After a wake, DTM1 10 with the glass's picture
#             (set_base), whole, once. Then per partial: CDI 50 [A9 07]; PTIN 91; PTL 90 [HRST
#             HRED VRST VRED, 16 bit each, 01]; DTM2 13 with the window; PON -> DRF -> PTOUT 92
#             + CDI 50 [F7] + POF 02. The controller stays awake with the power off.
#   The old glass's partial takes W7's CDI A9 instead of W7o's 22 07: with N2OCP the OLD RAM
#   follows the glass from one partial to the next (W7o leaves it at the base picture; GX sets
#   N2OCP with its register LUTs too).
# Bytes on the bus for a partial from standby: rows x bytes per row + 29 (100 x 40 at x = 100:
# 549), 96046 for a full refresh.

from sunprint.compat import const, sleep_ms
from sunprint.drivers.epd import EPD, INVERT, REVERSE, EPDTimeout, table

_PSR = const(0x00)
_PWR = const(0x01)
_POF = const(0x02)
_PON = const(0x04)
_BTST = const(0x06)
_DSLP = const(0x07)
_DTM1 = const(0x10)
_DRF = const(0x12)
_DTM2 = const(0x13)
_DUSPI = const(0x15)
_LUTOPT = const(0x2A)
_PLL = const(0x30)
_CDI = const(0x50)
_EVS = const(0x52)
_TCON = const(0x60)
_TRES = const(0x61)
_GSST = const(0x65)
_VCOM_DC = const(0x82)
_PTL = const(0x90)
_PTIN = const(0x91)
_PTOUT = const(0x92)
_CCSET = const(0xE0)
_TSSET = const(0xE5)
_LUTC = const(0x20)  # then LUTWW 0x21, LUTKW 0x22, LUTWK 0x23, LUTKK 0x24

_PSR_KW_OTP = const(0x1F)  # REG=0 (OTP LUT), KW=1, UD=1, SHL=1, SHD_N=1, RST_N=1 (W7)
_PSR_KW_REG = const(0x3F)  # REG=1: LUTs from registers (W7o)
_CDI_FULL = const(0x10)  # BDZ=0, BDV=01, N2OCP=0, DDX=00: 1 = black (W7 init)
_CDI_PARTIAL = const(0xA9)  # BDZ=1, BDV=10, N2OCP=1, DDX=01: 1 = white (W7 _Display_Part)
_CDI_POWER_OFF = const(0xF7)  # W7 _Sleep, before POF
_CDI_INTERVAL = const(0x07)
_TCON_22 = const(0x22)
_CCSET_TSFIX = const(0x02)
_TSSET_FAST_PARTIAL = const(0x6E)
_DSLP_CHECK = const(0xA5)
_PT_SCAN = const(0x01)

_STEP_PON = const(1)
_STEP_DRF = const(2)
_STEP_POF = const(3)

REVISIONS = ("2023", "old")

# W7o Epaper_LUT_By_MCU(Lut_partial): each of LUTC, LUTWW, LUTKW, LUTWK, LUTKK is one group
# [levels, TP0, TP1, TP2, TP3, repeat] followed by 36 zero bytes (42 in all).
_LUT_PARTIAL_OLD = (
    b"\x00\x14\x02\x00\x00\x01"  # LUTC (VCOM)
    b"\x20\x14\x02\x00\x00\x01"  # LUTWW
    b"\x80\x14\x02\x00\x00\x01"  # LUTKW
    b"\x40\x14\x02\x00\x00\x01"  # LUTWK
    b"\x00\x14\x02\x00\x00\x01"  # LUTKK
)
_LUT_PAD = bytes(36)

_MONO_HLSB = const(3)  # framebuf.MONO_HLSB
BUFFER_FORMAT = _MONO_HLSB

__all__ = ("BUFFER_FORMAT", "REVISIONS", "UC8179", "EPDTimeout")


class UC8179(EPD):
    NAME = "UC8179"
    BUFFER_FORMAT = _MONO_HLSB
    BUSY_LEVEL = 0  # BUSY_N
    _X_ALIGN = 8  # HRST[2:0] and HRED[2:0] are ignored: whole bytes of 8 sources
    _Y_ALIGN = 1
    RESET_HIGH_MS = 20  # W7
    RESET_LOW_MS = 2

    def __init__(
        self,
        spi,
        *,
        cs,
        dc,
        rst,
        busy,
        width=800,
        height=480,
        sleep=sleep_ms,
        rotation=0,
        revision="2023",
    ):
        if width % 8 or not 0 < width <= 800 or not 0 < height <= 600:
            raise ValueError("bad panel size")
        if revision not in REVISIONS:
            raise ValueError("revision must be 2023 or old")
        super().__init__(spi, cs, dc, rst, busy, width, height, sleep, width // 8, rotation)
        self.revision = revision
        self._ptl = bytearray(9)
        self._group = bytearray(6)  # one register LUT group (revision "old")
        self._powered = False
        self._old_whole = False  # OLD RAM holds the glass everywhere (since the last reset)
        flip = 0 if rotation == 0 else REVERSE
        self._tab_old = table(INVERT | flip)  # 1 = white
        self._tab_new = table(flip)  # 1 = black (full refresh, rotated)

    def reset(self):
        super().reset()
        self._powered = False  # a hardware reset leaves the booster off
        self._old_whole = False

    def _send(self, cmd, buf, tab):
        """The window win_* of buf after cmd (DTM1 / DTM2), through tab."""
        xb = self.width // 8
        n = self.win_w // 8
        rows = self.win_h
        if self.rotation == 0:
            start = self.win_y * xb + self.win_x // 8
            self._command(cmd)
            self._rows(buf, start, xb, rows, n, 1, tab)
        else:  # panel row r is picture row height-1-r, bytes right to left
            start = (self.win_y + rows - 1) * xb + (self.win_x + self.win_w) // 8 - 1
            self._command(cmd)
            self._rows(buf, start, -xb, rows, n, -1, tab)

    def _panel_window(self):
        """win_* in panel coordinates (rotation), as PTL takes it."""
        x0 = self.win_x
        y0 = self.win_y
        if self.rotation:
            x0 = self.width - x0 - self.win_w
            y0 = self.height - y0 - self.win_h
        x1 = x0 + self.win_w - 1
        y1 = y0 + self.win_h - 1
        p = self._ptl
        p[0] = x0 >> 8
        p[1] = x0 & 0xFF
        p[2] = x1 >> 8
        p[3] = x1 & 0xFF
        p[4] = y0 >> 8
        p[5] = y0 & 0xFF
        p[6] = y1 >> 8
        p[7] = y1 & 0xFF
        p[8] = _PT_SCAN
        self._cmdbuf(_PTL, p)

    def _resolution(self):
        w = self.width
        h = self.height
        self._cmd4(_TRES, w >> 8, w & 0xFF, h >> 8, h & 0xFF)

    def init(self):
        """Register setup for a full refresh after a hardware reset (W7 EPD_7IN5_V2_Init)."""
        self.wait_idle(self.reset_timeout_ms)
        self._cmdbuf(_PWR, b"\x07\x07\x3f\x3f")  # VGH 20 V, VGL -20 V, VDH 15 V, VDL -15 V
        self._cmdbuf(_BTST, b"\x17\x17\x28\x17")
        self._cmd1(_PSR, _PSR_KW_OTP)
        self._resolution()
        self._cmd1(_DUSPI, 0x00)
        self._cmd2(_CDI, _CDI_FULL, _CDI_INTERVAL)
        self._cmd1(_TCON, _TCON_22)
        self._ready = True

    def _power_on(self):
        self._command(_PON)
        self._powered = True
        self._step = _STEP_PON
        self._settle = True

    def _write_frame(self, buf):
        self._send(_DTM1, buf, self._tab_old)  # W7: the picture, 1 = white
        if self.rotation == 0:
            self._command(_DTM2)
            self._data(buf)  # 1 = black, as the app draws it
        else:
            self._send(_DTM2, buf, self._tab_new)
        self._old_whole = True
        self._power_on()

    def _finish_frame(self, buf):
        pass  # its RAMs: _write_frame and _write_window keep them (the base's are SSD16xx's)

    def _enter_partial(self):
        self.wait_idle(self.reset_timeout_ms)
        if self.revision == "2023":  # W7 EPD_7IN5_V2_Init_Part
            self._cmd1(_PSR, _PSR_KW_OTP)
            self._cmd1(_CCSET, _CCSET_TSFIX)
            self._cmd1(_TSSET, _TSSET_FAST_PARTIAL)
            return
        # W7o EPD_7IN5_V2_Init_Partial: Init2, then Epaper_LUT_By_MCU(Lut_partial)
        self._cmd1(_PSR, _PSR_KW_REG)
        self._cmdbuf(_BTST, b"\x17\x17\x28\x18")
        self._cmd1(_TCON, _TCON_22)
        self._resolution()
        self._cmdbuf(_GSST, b"\x00\x00\x00\x00")
        self._cmd1(_EVS, 0x02)
        self._cmd1(_PLL, 0x06)
        self._cmdbuf(_PWR, b"\x17\x07\x3f\x3f\x0d")
        self._cmd2(_LUTOPT, 0x00, 0x00)
        self._cmd1(_VCOM_DC, 0x1C)
        group = self._group
        for i in range(5):
            for k in range(6):
                group[k] = _LUT_PARTIAL_OLD[i * 6 + k]
            self._command(_LUTC + i)
            self._data(group)
            self._data(_LUT_PAD)

    def _write_window(self, buf):
        self._write_base()
        self._cmd2(_CDI, _CDI_PARTIAL, _CDI_INTERVAL)
        self._command(_PTIN)
        self._panel_window()
        self._send(_DTM2, buf, self._tab_old)
        self._power_on()

    def _write_base(self):
        base = self._base
        if not self._old_whole and base is not None:  # after a wake OLD is lost: all of it
            x = self.win_x  # becomes the glass again, once (normal mode: the whole panel)
            y = self.win_y
            w = self.win_w
            h = self.win_h
            self.win_x = 0
            self.win_y = 0
            self.win_w = self.width
            self.win_h = self.height
            self._send(_DTM1, base, self._tab_old)
            self.win_x = x
            self.win_y = y
            self.win_w = w
            self.win_h = h
            self._old_whole = True

    def _advance(self):
        step = self._step
        if step == _STEP_PON:
            self._command(_DRF)
            self._step = _STEP_DRF
        elif step == _STEP_DRF:
            if self._pending_window:
                self._command(_PTOUT)
            self._cmd1(_CDI, _CDI_POWER_OFF)  # W7 _Sleep: before POF
            self._command(_POF)
            self._powered = False
            self._step = _STEP_POF
        else:
            self._step = 0
            return False
        self._settle = True
        return True

    def _power_off(self):
        if self._powered:
            self._cmd1(_CDI, _CDI_POWER_OFF)
            self._command(_POF)
            self._powered = False
            try:
                self.wait_idle(self.reset_timeout_ms)
            except EPDTimeout:
                pass  # deep sleep anyway: better than a powered panel

    def _sleep_command(self):
        self._cmd1(_DSLP, _DSLP_CHECK)
