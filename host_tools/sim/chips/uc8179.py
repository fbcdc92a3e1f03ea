# UC8179 e-paper controller model: decodes the 4-wire SPI command/data stream a driver sends
# into the picture the panel (Waveshare 7.5" V2, 800 sources x 480 gates, landscape) would show.
#
# Portable Python: runs under CPython and inside the MicroPython unix port. Same shape as
# host_tools/sim/chips/ssd1680.py:
#
#     m = UC8179Model()                 # UC8179Model(320, 200) for a small panel (TRES must match)
#     drv = UC8179(m.spi, cs=m.cs, dc=m.dc, rst=m.rst, busy=m.busy)
#     drv.show(buf)
#     m.refreshes, m.areas, m.violations, m.pixel(x, y), m.landscape_mono_hlsb(), m.bytes_in
#
# What is modelled (command set as in Zephyr's uc81xx_regs.h; behaviour as Waveshare's
# EPD_7in5_V2.c (V3.0, 2023-12-18), EPD_7in5_V2_old.c (V1.0, 2023-12-18) and GxEPD2's
# GxEPD2_750_T7.cpp use it):
# - DC low = command, DC high = data for the current command; bytes count only while CS is low
#   and RST is high. BUSY_N: LOW = busy. A hardware reset restores the register defaults (PSR
#   0x0F, CDI 0x31, power off, partial mode off, no forced temperature, no register LUT); TRES
#   reads as the panel's size (Waveshare's Init_Part and Init_Fast never send TRES after their
#   reset and work on the glass); RAM is kept.
# - PON 0x04 / POF 0x02 switch the panel power (BUSY_N low for `short_busy_polls` polls).
# - PSR 0x00 (REG bit 5: LUTs from registers, else OTP; KW bit 4 must be set for this black/white
#   glass), TRES 0x61 (HRES, VRES, 16 bit big-endian; must equal the panel), CDI 0x50 byte 0 (BDZ
#   7, BDV 5:4, N2OCP 3, DDX 1:0).
# - DTM1 0x10 writes the OLD RAM, DTM2 0x13 the NEW RAM, each (width/8) x height bytes
#   (epdbus.Plane: ram_new.get(x, y); MSB = leftmost source), row by row from the area start: the
#   whole panel, or in partial mode the PTL window. Bytes beyond the area are dropped and flagged.
#   The glass, `shown`, is a Plane too: 1 = black.
# - PTL 0x90: HRST, HRED, VRST, VRED (16 bit big-endian; HRST[2:0] and HRED[2:0] are ignored: the
#   window is whole bytes), PT_SCAN. PTIN 0x91 enters partial mode, PTOUT 0x92 leaves it.
# - Data polarity (DDX): data 1 is black with DDX = 00 and white with DDX = 01 or 10. That is what
#   the references send: Waveshare's full refresh CDI 0x10 with DTM2 = the inverted 1 = white
#   picture; its partial CDI 0xA9 with the 1 = white picture; the old driver's partial CDI 0x22
#   with the 1 = white picture; GxEPD2 CDI 0x29 / 0x39 with "0xFF is white". DDX = 11 is not
#   used by any of them (modelled as 00). The polarity applies to OLD and NEW alike, when the
#   refresh runs.
# - Where the waveform comes from: PSR REG = 0: the OTP. Its full waveform is on every glass; its
#   fast partial waveform, selected by forcing the temperature (CCSET 0xE0 bit 1 + TSSET 0xE5
#   0x6E: Waveshare's Init_Part), only on glass sold from late 2023 (revision="2023"; Waveshare
#   added Init_Part in December 2023). PSR REG = 1: the register LUTs LUTC 0x20, LUTWW 0x21,
#   LUTKW 0x22, LUTWK 0x23, LUTKK 0x24 (42 bytes each), all of which must be loaded since the
#   reset (Waveshare's old driver, GxEPD2_750_T7's partial update).
# - DRF 0x12: needs the power on. Normal mode: a 'full' refresh of the whole glass (it becomes the
#   NEW picture). Partial mode: a 'partial' refresh of the PTL window; with the OTP's fast partial
#   waveform or register LUTs it is differential (inside the window, pixels whose OLD and NEW
#   colours differ take the NEW colour, the others keep the glass: epdbus.differential); with the
#   plain OTP waveform the window is refreshed in full. No waveform (fast partial asked of older
#   glass, register LUTs missing): the glass does not change, a violation. With N2OCP set, the
#   refreshed area of NEW is copied to OLD afterwards. BUSY_N is low for `busy_polls` polls.
#   `areas` lists (x, y, w, h) per refresh.
# - DSLP 0x07 with check code 0xA5: deep sleep, BUSY_N low and every byte ignored until a hardware
#   reset. The RAM content is lost (noise) unless keep_ram=True: nothing in the sources shows it
#   surviving. At power-up it is noise too.
# - The other settings are stored in `registers` only: LUT contents and time are not modelled.
# Violations (`violations`, list of str): DRF with the power off; DSLP with the power still on
# (no POF) or a wrong check code; a command while BUSY_N is low (not with stuck_busy=True); a
# full refresh whose OLD RAM was never written since power-up or RAM loss (the KW waveform
# compares OLD with NEW); a partial refresh before any full refresh, or whose OLD RAM is not the
# picture on the glass in its window; a refresh without a waveform; TRES not matching the panel;
# PSR not in KW mode; bytes beyond a DTM area.

from host_tools.sim.chips.epd import EPDModel
from host_tools.sim.chips.epdbus import Plane, differential

_DTM1 = 0x10
_DTM2 = 0x13
_LUTS = (0x20, 0x21, 0x22, 0x23, 0x24)  # LUTC, LUTWW, LUTKW, LUTWK, LUTKK
_FAST_PARTIAL_TEMP = 0x6E  # TSSET value of Waveshare's Init_Part

REVISIONS = ("2023", "old")

NO_WAVEFORM = "none"
OTP_FULL = "otp-full"
OTP_FAST_PARTIAL = "otp-fast-partial"
REGISTER = "register"


class UC8179Model(EPDModel):
    BUSY_LEVEL = 0  # BUSY_N: low = busy
    BUSY_SAYS = "BUSY_N is low"
    # Commands the model knows (the UC8179 command table, Zephyr's uc81xx_regs.h)
    KNOWN = (
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x10, 0x11, 0x12, 0x13, 0x15, 0x17, 0x20,
        0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x30, 0x40, 0x41, 0x42, 0x43, 0x44,
        0x50, 0x51, 0x52, 0x60, 0x61, 0x65, 0x70, 0x71, 0x80, 0x81, 0x82, 0x90, 0x91, 0x92, 0xA0,
        0xA1, 0xA2, 0xE0, 0xE3, 0xE4, 0xE5, 0xE7,
    )  # fmt: skip

    def __init__(
        self,
        width=800,
        height=480,
        busy_polls=3,
        short_busy_polls=1,
        stuck_busy=False,
        keep_ram=False,
        revision="2023",
    ):
        if width % 8:
            raise ValueError("width must be a multiple of 8")
        if revision not in REVISIONS:
            raise ValueError("revision must be one of %s" % (REVISIONS,))
        self.revision = revision
        self.width = width
        self.height = height
        EPDModel.__init__(self, busy_polls, short_busy_polls, stuck_busy, keep_ram, 0x8179)
        self._xb = width // 8
        self.ram_new = Plane(self._xb, height)  # DTM2
        self.ram_old = Plane(self._xb, height)  # DTM1
        self._noise.fill_plane(self.ram_new)  # undefined at power-up
        self._noise.fill_plane(self.ram_old)
        self.old_known = False  # OLD written whole (or copied by N2OCP) since it was lost
        self._old_count = 0  # DTM1 bytes of the whole panel written in normal mode
        self.shown = Plane(self._xb, height)  # the glass: MSB = left, 1 = black
        self.areas = []  # (x, y, w, h) refreshed, per refresh
        self.overflow = 0  # DTM bytes beyond their area
        self._por()

    def _por(self):
        self.psr = 0x0F
        self.hres = self.width
        self.vres = self.height
        self.cdi = 0x31
        self.ccset = 0
        self.tsset = 0
        self.luts = 0  # bit i: register LUT _LUTS[i] loaded since the reset
        self.powered = False
        self.partial = False
        self.hrst = 0
        self.hred = 7
        self.vrst = 0
        self.vred = 0
        self.pt_scan = 0
        self._cmd = -1
        self._np = 0
        self._ram = None  # RAM a DTM command is filling
        self._dtm_over = False

    @property
    def left_powered(self):
        """True while the panel power is on (PON without POF)."""
        return self.powered

    # --- bytes in ---

    def _command(self, c):
        self._log_command(c)
        self._ram = None
        if c == 0x04:
            self.powered = True
            self._busy_left = self.short_busy_polls
        elif c == 0x02:
            self.powered = False
            self._busy_left = self.short_busy_polls
        elif c == 0x12:
            self._refresh()
        elif c == 0x91:
            self.partial = True
        elif c == 0x92:
            self.partial = False
        elif c == _DTM1 or c == _DTM2:
            self._ram = self.ram_old if c == _DTM1 else self.ram_new
            self._dtm_over = False
            x0, y0, x1, y1 = self._area()
            self._ax0 = x0 >> 3
            self._ax1 = (x1 >> 3) - 1
            self._ay1 = y1 - 1
            self._cx = x0 >> 3
            self._cy = y0
            if c == _DTM1 and not self.partial:
                self._old_count = 0
        elif c in _LUTS:
            self.luts |= 1 << _LUTS.index(c)
        elif c not in self.KNOWN:
            self.unknown.append(c)

    def _area(self):
        """The area DTM data and DRF address: (x0, y0, x1, y1), end exclusive, in pixels."""
        if not self.partial:
            return 0, 0, self.width, self.height
        x1 = min(self.hred + 1, self.width)
        y1 = min(self.vred + 1, self.height)
        x0 = min(self.hrst, x1)
        y0 = min(self.vrst, y1)
        return x0, y0, x1, y1

    def _data(self, buf):
        if self._ram is not None:
            self._dtm_write(buf)
            return
        self._parameters(buf)

    def _apply(self, c, p, np):
        if c == 0x00:
            self.psr = p[0]
        elif c == 0x50:
            self.cdi = p[0]
        elif c == 0xE0:
            self.ccset = p[0]
        elif c == 0xE5:
            self.tsset = p[0]
        elif c == 0x61 and np >= 4:
            self.hres = (p[0] << 8 | p[1]) & 0x3F8
            self.vres = (p[2] << 8 | p[3]) & 0x3FF
        elif c == 0x90 and np >= 8:
            self.hrst = (p[0] << 8 | p[1]) & 0x3F8
            self.hred = (p[2] << 8 | p[3]) & 0x3FF | 0x07
            self.vrst = (p[4] << 8 | p[5]) & 0x3FF
            self.vred = (p[6] << 8 | p[7]) & 0x3FF
            if np >= 9:
                self.pt_scan = p[8] & 0x01
        elif c == 0x07 and np == 1:
            if p[0] != 0xA5:
                self.violations.append("DSLP with check code 0x%02X (not 0xA5): ignored" % p[0])
            else:
                self._deep_sleep()

    def _deep_sleep(self):
        if self.powered:
            self.violations.append("deep sleep while the panel power is on (no POF before DSLP)")
        self.asleep = True
        self.powered = False
        self.sleeps += 1
        if not self.keep_ram:
            self._noise.fill_plane(self.ram_new)
            self._noise.fill_plane(self.ram_old)
            self.old_known = False

    def _dtm_write(self, buf):
        ram = self._ram
        mv = memoryview(buf)
        n = len(buf)
        x0 = self._ax0
        x1 = self._ax1
        y1 = self._ay1
        cx = self._cx
        cy = self._cy
        i = 0
        while i < n:
            if cy > y1 or x1 < x0:
                self.overflow += n - i
                if not self._dtm_over:
                    self._dtm_over = True
                    self.violations.append(
                        "DTM 0x%02X: data beyond the %s"
                        % (self._cmd, "window" if self.partial else "panel")
                    )
                break
            k = x1 - cx + 1
            if k > n - i:
                k = n - i
            ram.write(cx, cy, mv, i, k)
            if ram is self.ram_old and not self.partial:
                self._old_count += k
                if self._old_count >= self._xb * self.height:
                    self.old_known = True
            i += k
            cx += k
            if cx > x1:
                cx = x0
                cy += 1
        self._cx = cx
        self._cy = cy

    # --- refresh ---

    def white_is_one(self):
        """The data polarity the CDI selects: True when a data bit 1 is white."""
        ddx = self.cdi & 0x03
        return ddx == 0x01 or ddx == 0x02

    def _waveform(self):
        if self.psr & 0x20:
            return REGISTER if self.luts == 0x1F else NO_WAVEFORM
        forced = self.ccset & 0x02 and self.tsset == _FAST_PARTIAL_TEMP
        if self.partial and forced:
            return OTP_FAST_PARTIAL if self.revision == "2023" else NO_WAVEFORM
        return OTP_FULL

    def _refresh(self):
        number = len(self.refreshes) + 1
        if not self.powered:
            self.violations.append("refresh %d: DRF while the panel power is off (no PON)" % number)
            return
        if (self.hres, self.vres) != (self.width, self.height):
            self.violations.append(
                "refresh %d: TRES %dx%d does not match the panel %dx%d"
                % (number, self.hres, self.vres, self.width, self.height)
            )
        if not self.psr & 0x10:
            self.violations.append(
                "refresh %d: PSR 0x%02X is not KW (black/white) mode" % (number, self.psr)
            )
        kind = "partial" if self.partial else "full"
        source = self._waveform()
        x0, y0, x1, y1 = self._area()
        self.refreshes.append(kind)
        self.waveforms.append(source)
        self.areas.append((x0, y0, x1 - x0, y1 - y0))
        self._busy_left = self.busy_polls
        if source == NO_WAVEFORM:
            why = (
                "register LUTs not all loaded"
                if self.psr & 0x20
                else "the OTP fast partial waveform (TSSET 0x6E), which %s glass lacks"
                % self.revision
            )
            self.violations.append("refresh %d: %s: the glass does not change" % (number, why))
            return
        b0 = x0 >> 3
        b1 = x1 >> 3
        xb = self._xb
        inv = 0xFF if self.white_is_one() else 0x00  # data -> colour (1 = black)
        shown = self.shown.bands
        new = self.ram_new.bands
        old = self.ram_old.bands
        differ = kind == "partial" and source != OTP_FULL
        if not differ and not self.partial and not self.old_known:
            self.violations.append(
                "refresh %d: full refresh with an OLD RAM (DTM1) never written since power-up"
                " or deep sleep: the waveform compares the new picture with noise" % number
            )
        if kind == "partial":
            if not self._shown_valid:
                self.violations.append(
                    "refresh %d: partial refresh before any full refresh (unknown base)" % number
                )
            elif differ:
                diff = 0
                for y in range(y0, y1):
                    o = (y & 15) * xb
                    band_old = old[y >> 4]
                    band_shown = shown[y >> 4]
                    for i in range(o + b0, o + b1):
                        if band_old[i] ^ inv != band_shown[i]:
                            diff += 1
                if diff:
                    self.violations.append(
                        "refresh %d: partial refresh over a stale base"
                        " (OLD RAM differs from the panel in %d bytes of the window)"
                        % (number, diff)
                    )
        else:
            self._shown_valid = True
        copy = self.cdi & 0x08  # N2OCP
        for y in range(y0, y1):
            o = (y & 15) * xb
            band_new = new[y >> 4]
            band_old = old[y >> 4]
            band_shown = shown[y >> 4]
            for i in range(o + b0, o + b1):
                v = band_new[i]
                if differ:
                    band_shown[i] = differential(band_shown[i], band_old[i] ^ inv, v ^ inv)
                else:
                    band_shown[i] = v ^ inv
                if copy:
                    band_old[i] = v
        if copy and not self.partial:
            self.old_known = True
