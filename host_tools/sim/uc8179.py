# UC8179 e-paper controller model: decodes the 4-wire SPI command/data stream a driver sends
# into the picture the panel (Waveshare 7.5" V2, 800 sources x 480 gates, landscape) would show.
#
# Portable Python: runs under CPython and inside the MicroPython unix port. Same shape as
# host_tools/sim/ssd1680.py:
#
#     m = UC8179Model()                 # UC8179Model(320, 200) for a small panel (TRES must match)
#     drv = UC8179(m.spi, cs=m.cs, dc=m.dc, rst=m.rst, busy=m.busy)
#     drv.show(buf)
#     m.refreshes, m.areas, m.violations, m.pixel(x, y), m.landscape_mono_hlsb(), m.bytes_in
#
# What is modelled (command set as in Zephyr's uc81xx_regs.h; behaviour as Waveshare's
# EPD_7in5_V2.c and GxEPD2's GxEPD2_750_T7.cpp use it):
# - DC low = command, DC high = data for the current command; bytes count only while CS is low
#   and RST is high. BUSY_N: LOW = busy. A hardware reset restores the register defaults (PSR
#   0x0F, CDI 0x31, no TRES, power off, partial mode off); RAM is kept.
# - PON 0x04 / POF 0x02 switch the panel power (BUSY_N low for `short_busy_polls` polls).
# - PSR 0x00 (KW bit 4 must be set for this black/white glass), TRES 0x61 (HRES, VRES, 16 bit
#   big-endian; must equal the panel), CDI 0x50 byte 0 (BDZ 7, BDV 5:4, N2OCP 3, DDX 1:0).
# - DTM1 0x10 writes the OLD RAM, DTM2 0x13 the NEW RAM, each (width/8) x height bytes
#   (epdbus.Plane: ram_new.get(x, y); MSB = leftmost source), row by row from the area start: the
#   whole panel, or in partial mode the PTL window. Bytes beyond the area are dropped and flagged.
#   The glass, `shown`, is a Plane too: 1 = black.
# - PTL 0x90: HRST, HRED, VRST, VRED (16 bit big-endian; HRST[2:0] and HRED[2:0] are ignored: the
#   window is whole bytes), PT_SCAN. PTIN 0x91 enters partial mode, PTOUT 0x92 leaves it.
# - DRF 0x12: needs the power on. Normal mode: a 'full' refresh of the whole glass; partial mode:
#   a 'partial' refresh of the PTL window only. The glass becomes the NEW RAM with DDX[0]
#   polarity: DDX[0] = 0 -> bit 1 is black, 1 -> bit 1 is white (Waveshare: CDI 0x10 and "1 =
#   black" data for a full refresh, CDI 0xA9 and "1 = white" data for a partial; GxEPD2: CDI
#   0x29 with "0xFF is white"). With N2OCP set, the refreshed area of NEW is copied to OLD
#   afterwards. BUSY_N is low for `busy_polls` polls. `areas` lists (x, y, w, h) per refresh.
# - DSLP 0x07 with check code 0xA5: deep sleep, BUSY_N low and every byte ignored until a hardware
#   reset; RAM kept unless keep_ram=False (not stated by the sources; see the driver).
# - CCSET 0xE0 / TSSET 0xE5 (the forced temperature that selects the OTP's fast waveform) and the
#   other settings are stored in `registers` only: waveforms, LUTs and time are not modelled.
# Violations (`violations`, list of str): a refresh while the panel was left powered since the
# previous refresh (no deep sleep in between); DRF with the power off; DSLP with the power still
# on (no POF) or a wrong check code; a command while BUSY_N is low (not with stuck_busy=True); a
# partial refresh before any full refresh, or whose OLD RAM is not the picture on the glass in
# its window; TRES not matching the panel; PSR not in KW mode; bytes beyond a DTM area.

from host_tools.sim.epdbus import SPI, BusyPin, OutPin, Plane

_DTM1 = 0x10
_DTM2 = 0x13

_KNOWN = (
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x10, 0x11, 0x12, 0x13, 0x15, 0x17, 0x20,
    0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x30, 0x40, 0x41, 0x42, 0x43, 0x44,
    0x50, 0x51, 0x52, 0x60, 0x61, 0x65, 0x70, 0x71, 0x80, 0x81, 0x82, 0x90, 0x91, 0x92, 0xA0,
    0xA1, 0xA2, 0xE0, 0xE3, 0xE4, 0xE5, 0xE7,
)  # fmt: skip


_COMMAND_LOG = 512  # command bytes kept in `commands`


class UC8179Model:
    def __init__(
        self,
        width=800,
        height=480,
        busy_polls=3,
        short_busy_polls=1,
        stuck_busy=False,
        keep_ram=True,
    ):
        if width % 8:
            raise ValueError("width must be a multiple of 8")
        self.width = width
        self.height = height
        self.busy_polls = busy_polls
        self.short_busy_polls = short_busy_polls
        self.stuck_busy = stuck_busy
        self.keep_ram = keep_ram
        self.spi = SPI(self)
        self.cs = OutPin(self, "cs", 1)
        self.dc = OutPin(self, "dc", 1)
        self.rst = OutPin(self, "rst", 1)
        self.busy = BusyPin(self)
        self._xb = width // 8
        self.ram_new = Plane(self._xb, height)  # DTM2
        self.ram_old = Plane(self._xb, height)  # DTM1
        self.shown = Plane(self._xb, height)  # the glass: MSB = left, 1 = black
        self.refreshes = []  # 'full' / 'partial'
        self.areas = []  # (x, y, w, h) refreshed, per refresh
        self.violations = []
        self.unknown = []
        self.commands = bytearray()  # the recent command bytes accepted (not while asleep)
        self.registers = {}
        self.hw_resets = 0
        self.sleeps = 0
        self.ignored = 0
        self.polls = 0
        self.bytes_in = 0
        self.overflow = 0  # DTM bytes beyond their area
        self.asleep = False
        self._in_reset = False
        self._shown_valid = False
        self._powered_refresh = 0
        self._busy_left = 0
        self._pbuf = bytearray(16)
        self._por()

    def _por(self):
        self.psr = 0x0F
        self.hres = 0
        self.vres = 0
        self.cdi = 0x31
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
        """True when the last refresh has not been followed by deep sleep."""
        return self._powered_refresh != 0

    # --- pins ---

    def _edge(self, name, v):
        if name == "rst":
            if v == 0:
                self._in_reset = True
            else:
                self._in_reset = False
                self.asleep = False
                self.hw_resets += 1
                self._por()
                self._busy_left = self.short_busy_polls

    def _poll_busy(self):
        # BUSY_N: 0 = busy
        self.polls += 1
        if self._in_reset or self.asleep or self.stuck_busy:
            return 0
        if self._busy_left > 0:
            self._busy_left -= 1
            return 0
        return 1

    # --- bytes in ---

    def _spi_write(self, buf):
        n = len(buf)
        if n == 0 or self.cs._v or self._in_reset:
            return
        if self.asleep:
            self.ignored += n
            return
        self.bytes_in += n
        if self.dc._v == 0:
            for c in buf:
                if self.asleep:
                    self.ignored += 1
                    continue
                if self._busy_left > 0 and not self.stuck_busy:
                    self.violations.append("command 0x%02X sent while BUSY_N is low" % c)
                self._command(c)
        else:
            self._data(buf)

    def _command(self, c):
        cmds = self.commands
        if len(cmds) >= _COMMAND_LOG:  # keep the recent history only: a day's replay is long
            cmds = self.commands = cmds[_COMMAND_LOG // 2 :]
        cmds.append(c)
        self._cmd = c
        self._np = 0
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
        elif c not in _KNOWN:
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
        c = self._cmd
        if c < 0 or c not in _KNOWN:
            return
        p = self._pbuf
        np = self._np
        for b in buf:
            if np < 16:
                p[np] = b
            np += 1
        self._np = np
        self._apply(c, p, np)

    def _apply(self, c, p, np):
        self.registers[c] = bytes(p[: min(np, 16)])
        if c == 0x00:
            self.psr = p[0]
        elif c == 0x50:
            self.cdi = p[0]
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
        self._powered_refresh = 0
        if not self.keep_ram:
            self.ram_new.clear()
            self.ram_old.clear()

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
            i += k
            cx += k
            if cx > x1:
                cx = x0
                cy += 1
        self._cx = cx
        self._cy = cy

    # --- refresh ---

    def _refresh(self):
        number = len(self.refreshes) + 1
        if not self.powered:
            self.violations.append("refresh %d: DRF while the panel power is off (no PON)" % number)
            return
        if self._powered_refresh:
            self.violations.append(
                "refresh %d started while the panel was left powered since refresh %d"
                " (no deep sleep in between)" % (number, self._powered_refresh)
            )
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
        x0, y0, x1, y1 = self._area()
        b0 = x0 >> 3
        b1 = x1 >> 3
        xb = self._xb
        inv = 0xFF if self.cdi & 0x01 else 0x00  # DDX[0] = 1: bit 1 = white
        shown = self.shown.bands
        new = self.ram_new.bands
        old = self.ram_old.bands
        if kind == "partial":
            if not self._shown_valid:
                self.violations.append(
                    "refresh %d: partial refresh before any full refresh (unknown base)" % number
                )
            else:
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
                band_shown[i] = v ^ inv
                if copy:
                    band_old[i] = v
        self.refreshes.append(kind)
        self.areas.append((x0, y0, x1 - x0, y1 - y0))
        self._powered_refresh = number
        self._busy_left = self.busy_polls

    # --- picture out ---

    def pixel(self, x, y):
        """1 if pixel (x, y) is black on the panel (native = landscape)."""
        return (self.shown.get(x >> 3, y) >> (7 - (x & 7))) & 1

    landscape_pixel = pixel

    def landscape_mono_hlsb(self):
        """The picture as Image.frombytes('1', (width, height), data) reads it: rows of width/8
        bytes, MSB = leftmost pixel, 1 = white. A new bytearray."""
        out = self.shown.tobytes()
        for i in range(len(out)):
            out[i] ^= 0xFF
        return out
