# UC8179 e-paper controller (UltraChip; GD7965 is the same chip): Waveshare 7.5" e-Paper V2
# (800 sources x 480 gates), B/W, full and window-partial refresh, deep sleep after every update.
#
# Sources: Waveshare e-Paper repository, RaspberryPi_JetsonNano/c/lib/e-Paper/EPD_7in5_V2.c
# (V3.0, 2023-12-18: EPD_7IN5_V2_Init, _Init_Part, _Display, _Display_Part, _Sleep) and
# python/lib/waveshare_epd/epd7in5_V2.py (getbuffer: "in the e-paper world 0=white and 1=black"
# with CDI 0x10); GxEPD2 src/epd/GxEPD2_750_T7.cpp (GDEW075T7 = this glass: PTIN, PTL with the
# x range widened to whole bytes, "0xFF is white" with CDI 0x29 "N2OCP: copy new to old", POF
# before DSLP 0xA5); Zephyr drivers/display/uc81xx.c + uc81xx_regs.h (command names, CDI bits
# BDZ 7, BDV 5:4, N2OCP 3, DDX 1:0, PTL as 4 big-endian 16-bit values + PT_SCAN; UC8179
# auto_copy = N2OCP; picture data written before PON, then PON -> DRF -> POF).
#
# Picture format: native orientation is landscape (800 x 480): the app draws into a
# framebuf.MONO_HLSB buffer (byte y*100 + x//8, bit 7 - x%8 = pixel (x, y), 1 = black), which is
# the order DTM2 takes (rows of 100 bytes, MSB = leftmost source): one spi.write, no transposition.
#
# Polarity: CDI DDX[0] selects it. With DDX = 00 (Waveshare's full init, CDI 0x10 0x07) a DTM2
# bit 1 is black; with DDX = 01 (Waveshare's partial CDI 0xA9, GxEPD2's 0x29) 1 is white. This
# driver keeps DDX = 00 in both refresh kinds, so the app's 1 = black goes out unchanged.
#
# Sequences (BUSY_N: low = busy; every step waits for BUSY_N high before the next command):
#   wake     hardware reset; PWR 0x01 [07 07 3F 3F]; BTST 0x06 [17 17 28 17]; PSR 0x00 [1F] (KW
#            mode, OTP LUT, UD, SHL); TRES 0x61 [03 20 01 E0]; DUSPI 0x15 [00]; TCON 0x60 [22]
#   full     CDI 0x50 [18 07] (BDV 01, N2OCP, DDX 00); DTM2 0x13 + 48000 bytes
#   window   CDI 0x50 [A8 07] (BDZ: floating border, BDV 10, N2OCP, DDX 00); CCSET 0xE0 [02] +
#            TSSET 0xE5 [6E] (forced temperature: the OTP's fast partial waveform, as Waveshare's
#            Init_Part); PTIN 0x91; PTL 0x90 [HRST HRED VRST VRED, 16 bit each, PT_SCAN 01];
#            DTM2 0x13 + the window's bytes (x widened to multiples of 8, y exact)
#   then     PON 0x04 -> DRF 0x12 -> POF 0x02, each sent by busy() once BUSY_N is released; finish()
#            sends DSLP 0x07 [A5]. N2OCP copies the new picture to the OLD RAM after the refresh,
#            so the next partial compares against the glass without a DTM1 transfer.
# A partial over the whole picture (begin_show(buf, full=False)) is a window of the whole panel.
# Bytes on the bus: rows x bytes per row + 45 for a window (100 x 40 at x = 100: 565), 48030 for a
# full refresh.
# Assumed, not verified against the datasheet: SRAM content survives DSLP (a wake is a hardware
# reset, which resets registers); the model can be told otherwise (keep_ram=False) and then flags
# the partial refresh that follows as a stale base.

from sunprint.compat import const, sleep_ms
from sunprint.drivers.epd import EPD, EPDTimeout

_PSR = const(0x00)
_PWR = const(0x01)
_POF = const(0x02)
_PON = const(0x04)
_BTST = const(0x06)
_DSLP = const(0x07)
_DTM2 = const(0x13)
_DRF = const(0x12)
_DUSPI = const(0x15)
_CDI = const(0x50)
_TCON = const(0x60)
_TRES = const(0x61)
_PTL = const(0x90)
_PTIN = const(0x91)
_CCSET = const(0xE0)
_TSSET = const(0xE5)

_PSR_KW_OTP = const(0x1F)  # REG=0 (OTP LUT), KW=1, UD=1, SHL=1, SHD_N=1, RST_N=1
_CDI_FULL = const(0x18)  # BDZ=0, BDV=01, N2OCP=1, DDX=00
_CDI_PARTIAL = const(0xA8)  # BDZ=1, BDV=10, N2OCP=1, DDX=00
_CDI_INTERVAL = const(0x07)
_TCON_22 = const(0x22)
_CCSET_TSFIX = const(0x02)
_TSSET_PARTIAL = const(0x6E)
_DSLP_CHECK = const(0xA5)
_PT_SCAN = const(0x01)

_STEP_PON = const(1)
_STEP_DRF = const(2)
_STEP_POF = const(3)

_MONO_HLSB = const(3)  # framebuf.MONO_HLSB
BUFFER_FORMAT = _MONO_HLSB

__all__ = ("BUFFER_FORMAT", "UC8179", "EPDTimeout")


class UC8179(EPD):
    NAME = "UC8179"
    BUFFER_FORMAT = _MONO_HLSB
    BUSY_LEVEL = 0  # BUSY_N
    _X_ALIGN = 8  # HRST[2:0] and HRED[2:0] are ignored: whole bytes of 8 sources
    _Y_ALIGN = 1

    def __init__(self, spi, *, cs, dc, rst, busy, width=800, height=480, sleep=sleep_ms):
        if width % 8 or not 0 < width <= 800 or not 0 < height <= 600:
            raise ValueError("bad panel size")
        super().__init__(spi, cs, dc, rst, busy, width, height, sleep, width // 8)
        self._ptl = bytearray(9)
        self._powered = False

    def reset(self):
        super().reset()
        self._powered = False  # a hardware reset leaves the booster off

    def init(self):
        """Register setup after a hardware reset (reset() first)."""
        self.wait_idle(self.reset_timeout_ms)
        self._cmdbuf(_PWR, b"\x07\x07\x3f\x3f")  # VGH 20 V, VGL -20 V, VDH 15 V, VDL -15 V
        self._cmdbuf(_BTST, b"\x17\x17\x28\x17")
        self._cmd1(_PSR, _PSR_KW_OTP)
        w = self.width
        h = self.height
        self._cmd4(_TRES, w >> 8, w & 0xFF, h >> 8, h & 0xFF)
        self._cmd1(_DUSPI, 0x00)
        self._cmd1(_TCON, _TCON_22)
        self._ready = True

    def _power_on(self):
        self._command(_PON)
        self._powered = True
        self._step = _STEP_PON
        self._settle = True

    def _write_frame(self, buf, full):
        if not full:
            self._write_window(buf)  # win_* is the whole panel (begin_show)
            return
        self._cmd2(_CDI, _CDI_FULL, _CDI_INTERVAL)
        self._command(_DTM2)
        self._data(buf)
        self._power_on()

    def _write_window(self, buf):
        self._cmd2(_CDI, _CDI_PARTIAL, _CDI_INTERVAL)
        self._cmd1(_CCSET, _CCSET_TSFIX)
        self._cmd1(_TSSET, _TSSET_PARTIAL)
        self._command(_PTIN)
        x0 = self.win_x
        x1 = x0 + self.win_w - 1
        y0 = self.win_y
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
        self._command(_DTM2)
        stride = self.width // 8
        self._rows(buf, y0 * stride + x0 // 8, stride, self.win_h, self.win_w // 8)
        self._power_on()

    def _advance(self):
        step = self._step
        if step == _STEP_PON:
            self._command(_DRF)
            self._step = _STEP_DRF
        elif step == _STEP_DRF:
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
            self._command(_POF)
            self._powered = False
            try:
                self.wait_idle(self.reset_timeout_ms)
            except EPDTimeout:
                pass  # deep sleep anyway: better than a powered panel

    def _sleep_command(self):
        self._cmd1(_DSLP, _DSLP_CHECK)
