# SSD1683 e-paper controller model: decodes the 4-wire SPI command/data stream a driver sends
# into the picture the panel (Waveshare 4.2" V2, 400 sources x 300 gates, landscape) would show.
#
# Portable Python: runs under CPython and inside the MicroPython unix port (no numpy, no PIL,
# no typing, plain classes). Same shape as host_tools/sim/chips/ssd1680.py:
#
#     m = SSD1683Model()
#     drv = SSD1683(m.spi, cs=m.cs, dc=m.dc, rst=m.rst, busy=m.busy)
#     drv.show(buf)
#     m.refreshes, m.violations, m.pixel(x, y), m.landscape_mono_hlsb(), m.bytes_in
#
# What is modelled (the SSD1680/SSD1683 command set as Waveshare's epd4in2_V2 and GxEPD2's
# GDEY042T81 drivers use it):
# - DC low = command byte, DC high = data for the current command; bytes count only while CS is
#   low and RST is high. Parameters latch as they arrive.
# - Hardware reset (RST low -> high) and SWRESET 0x12 restore the register defaults; RAM is kept.
#   BUSY (high = busy) is high for `short_busy_polls` polls afterwards.
# - 0x11 data entry mode (ID X/Y increment, AM: X or Y first), all 8 combinations; 0x44 / 0x45 RAM
#   window (start, end; start > end on a decrementing axis), 0x4E / 0x4F counters; the counter
#   wraps inside the window as the datasheet describes.
# - 0x24 BW RAM and 0x26 RED RAM, each (width/8) x height bytes (epdbus.Plane, in bands of 16
#   rows: ram_bw.get(x, y)), MSB = lowest source. The panel shows the whole RAM (the SSD1683
#   drives 400 x 300). The glass, `shown`, is a Plane too: 1 = black.
# - 0x21 A: BW RAM option A[3:0], RED RAM option A[7:4]: 0000 normal, 0100 bypass as 0,
#   0101 bypass as 1, 1000 inverse. RAM 1 = white.
# - Waveform source, as in host_tools/sim/chips/ssd1680.py: 0x22 bit 4 loads the LUT of the mode of
#   bit 3 from OTP, 0x32 loads it from the host (227 bytes, Waveshare's epd4in2_V2 Lut()), bit 6
#   / bit 1 switch the drive power on / off. The GDEY042T81 glass has both a full and a partial
#   (mode 2) waveform in OTP (`otp_partial`; GxEPD2_420_GDEY042T81 partial update 0x22 0xFC,
#   Waveshare's epd4in2_V2 TurnOnDisplay_Partial 0xFF).
# - The picture: mode 1 (full) shows the BW RAM picture; mode 2 is differential (pixels whose
#   RED and BW colours differ take the BW colour, the others keep the glass: epdbus.differential).
# - After a mode 2 refresh RED RAM holds the new picture when ping-pong is on: 0x37 byte F bit 6,
#   or, with the OTP's own mode 2 waveform, `otp_pingpong` (default on for this glass): Waveshare's
#   epd4in2_V2 display_Partial (V1.0, 2023-09-13) runs partial after partial writing only 0x24,
#   which gives the right picture on the glass only if the old picture follows the new one.
# - 0x10 deep sleep: BUSY high, every byte ignored until a hardware reset; the RAM content is
#   lost (noise) unless keep_ram=True and mode 01 (see host_tools/sim/chips/ssd1680.py).
# - Not modelled: LUT contents, 0x01 gate scan options, 0x46/0x47 pattern fill, reads, the
#   border, time in milliseconds.
# Violations (`violations`, list of str): a command while BUSY is high (not with stuck_busy=True);
# a refresh without drive power or without a waveform; a partial refresh before any full
# refresh, or whose RED RAM (after its 0x21 option) is not the picture on the glass. Unknown
# commands go to `unknown`. `left_powered`: the drive power is on.

from host_tools.sim.chips.epdbus import SPI, BusyPin, Noise, OutPin, Plane, differential

_BW = 0x24
_RED = 0x26
_LUT = 0x32
_LUT_SIZE = 227

NO_LUT = "none"
OTP_FULL = "otp-full"
OTP_PARTIAL = "otp-partial"
HOST = "host"

_KNOWN = (
    0x01, 0x03, 0x04, 0x08, 0x09, 0x0C, 0x0F, 0x10, 0x11, 0x12, 0x14, 0x15, 0x18, 0x1A, 0x1C,
    0x20, 0x21, 0x22, 0x24, 0x26, 0x2C, 0x32, 0x37, 0x3C, 0x3F, 0x44, 0x45, 0x46, 0x47, 0x4E,
    0x4F, 0x74, 0x7E, 0x7F,
)  # fmt: skip


def _option(option):
    """(fixed, xor) for a 0x21 RAM option: the byte the panel reads, 1 = black, is `fixed` when
    it is not None (bypass), else the RAM byte ^ xor (RAM 1 = white unless inverted)."""
    if option & 0x04:
        return (0x00 if option & 0x01 else 0xFF), 0
    return None, (0x00 if option & 0x08 else 0xFF)


def _colour(ram_byte, fixed, xor):
    return fixed if fixed is not None else ram_byte ^ xor


def _decode(ram, option, shown, lengths):
    fixed, xor = _option(option)
    for b in range(len(shown)):
        src = ram[b]
        dst = shown[b]
        for i in range(lengths[b]):
            dst[i] = fixed if fixed is not None else src[i] ^ xor


def _differential(old, old_option, new, new_option, shown, lengths):
    ofix, oxor = _option(old_option)
    nfix, nxor = _option(new_option)
    for b in range(len(shown)):
        o = old[b]
        n = new[b]
        dst = shown[b]
        for i in range(lengths[b]):
            dst[i] = differential(dst[i], _colour(o[i], ofix, oxor), _colour(n[i], nfix, nxor))


def _diff(ram, option, shown, lengths):
    fixed, xor = _option(option)
    n = 0
    for b in range(len(shown)):
        src = ram[b]
        dst = shown[b]
        for i in range(lengths[b]):
            if (fixed if fixed is not None else src[i] ^ xor) != dst[i]:
                n += 1
    return n


_COMMAND_LOG = 512  # command bytes kept in `commands`


class SSD1683Model:
    def __init__(
        self,
        width=400,
        height=300,
        busy_polls=3,
        short_busy_polls=1,
        stuck_busy=False,
        otp_partial=True,
        otp_pingpong=True,
        keep_ram=False,
    ):
        if width % 8:
            raise ValueError("width must be a multiple of 8")
        self.width = width
        self.height = height
        self.busy_polls = busy_polls
        self.short_busy_polls = short_busy_polls
        self.stuck_busy = stuck_busy
        self.otp_partial = otp_partial
        self.otp_pingpong = otp_pingpong
        self.keep_ram = keep_ram
        self._noise = Noise(0x1683)
        self.spi = SPI(self)
        self.cs = OutPin(self, "cs", 1)
        self.dc = OutPin(self, "dc", 1)
        self.rst = OutPin(self, "rst", 1)
        self.busy = BusyPin(self)
        self._xb = width // 8
        self.ram_bw = Plane(self._xb, height)  # power-up content is undefined on the chip; 0 here
        self.ram_red = Plane(self._xb, height)
        self.shown = Plane(self._xb, height)  # the glass: MSB = left, 1 = black
        self.refreshes = []  # 'full' / 'partial'
        self.updates = []  # 0x22 value at each 0x20
        self.waveforms = []  # lut_source of each refresh
        self.violations = []
        self.unknown = []
        self.commands = bytearray()  # the recent command bytes accepted (not while asleep)
        self.registers = {}
        self.hw_resets = 0
        self.sw_resets = 0
        self.sleeps = 0
        self.ignored = 0
        self.polls = 0
        self.bytes_in = 0
        self.asleep = False
        self.sleep_mode = 0
        self._in_reset = False
        self._shown_valid = False
        self.analog = False
        self._busy_left = 0
        self._lut_bytes = 0
        self.lut_data = bytearray()
        self._pbuf = bytearray(16)
        self._por()

    def _por(self):
        self.entry = 0x03
        self.x_start = 0
        self.x_end = self._xb - 1
        self.y_start = 0
        self.y_end = self.height - 1
        self.x = 0
        self.y = 0
        self.bw_option = 0
        self.red_option = 0
        self.update2 = 0xFF
        self.lut_source = NO_LUT
        self.pingpong = False
        self._cmd = -1
        self._np = 0

    @property
    def left_powered(self):
        """True while the drive power (analog block) is on."""
        return self.analog

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
        self.polls += 1
        if self._in_reset or self.asleep or self.stuck_busy:
            return 1
        if self._busy_left > 0:
            self._busy_left -= 1
            return 1
        return 0

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
                    self.violations.append("command 0x%02X sent while BUSY is high" % c)
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
        if c == _LUT:
            self._lut_bytes = 0
            self.lut_data = bytearray()  # the bytes of the last 0x32 (first 256)
        if c == 0x12:
            self._por()
            self.sw_resets += 1
            self._busy_left = self.short_busy_polls
        elif c == 0x20:
            self._activate()
        elif c not in _KNOWN:
            self.unknown.append(c)

    def _data(self, buf):
        c = self._cmd
        if c == _BW:
            self._ram_write(self.ram_bw, buf)
            return
        if c == _RED:
            self._ram_write(self.ram_red, buf)
            return
        if c == _LUT:
            self._lut_bytes += len(buf)
            if len(self.lut_data) < 256:
                self.lut_data.extend(buf)
            if self._lut_bytes >= _LUT_SIZE:
                self.lut_source = HOST
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
        if c == 0x11:
            self.entry = p[0] & 0x07
        elif c == 0x44:
            self.x_start = p[0] & 0x3F
            if np >= 2:
                self.x_end = p[1] & 0x3F
        elif c == 0x45:
            if np >= 2:
                self.y_start = p[0] | (p[1] & 1) << 8
            if np >= 4:
                self.y_end = p[2] | (p[3] & 1) << 8
        elif c == 0x4E:
            self.x = p[0] & 0x3F
        elif c == 0x4F:
            self.y = p[0] | (p[1] & 1) << 8 if np >= 2 else (self.y & 0x100) | p[0]
        elif c == 0x21:
            self.bw_option = p[0] & 0x0F
            self.red_option = p[0] >> 4
        elif c == 0x22:
            self.update2 = p[0]
        elif c == 0x37:
            if np >= 6:
                self.pingpong = bool(p[5] & 0x40)
        elif c == 0x10:
            mode = p[0] & 0x03
            if mode:
                self._deep_sleep(mode)

    def _deep_sleep(self, mode):
        self.asleep = True
        self.sleep_mode = mode
        self.sleeps += 1
        self.analog = False
        if mode == 0x03 or not self.keep_ram:
            self._noise.fill_plane(self.ram_bw)
            self._noise.fill_plane(self.ram_red)

    # --- RAM address counter ---

    def _ram_write(self, ram, buf):
        mv = memoryview(buf)
        n = len(buf)
        xb = self._xb
        rows = self.height
        entry = self.entry
        am = entry & 0x04
        dx = 1 if entry & 0x01 else -1
        dy = 1 if entry & 0x02 else -1
        xs = self.x_start
        xe = self.x_end
        ys = self.y_start
        ye = self.y_end
        x = self.x
        y = self.y
        i = 0
        while i < n:
            if not am and dx == 1 and x <= xe < xb and y < rows:
                # Fast path: a run along X up to the window end, inside the RAM.
                k = xe - x + 1
                if k > n - i:
                    k = n - i
                ram.write(x, y, mv, i, k)
                i += k
                x += k
                if x > xe:  # the window end: back to the start, Y steps
                    x = xs
                    y = ys if y == ye else (y + dy) & 0x1FF
                continue
            if x < xb and y < rows:
                ram.put(x, y, mv[i])
            i += 1
            if am:
                if y == ye:
                    y = ys
                    x = xs if x == xe else (x + dx) & 0x3F
                else:
                    y = (y + dy) & 0x1FF
            elif x == xe:
                x = xs
                y = ys if y == ye else (y + dy) & 0x1FF
            else:
                x = (x + dx) & 0x3F
        self.x = x
        self.y = y

    # --- refresh ---

    def _lengths(self):
        # bytes in use per band (the last band may be partly padding)
        xb = self._xb
        left = self.height
        out = []
        for _ in self.shown.bands:
            out.append(xb * min(16, left))
            left -= 16
        return out

    def _activate(self):
        v = self.update2
        self.updates.append(v)
        if v & 0x40:
            self.analog = True
        if v & 0x10:
            if not v & 0x08:
                self.lut_source = OTP_FULL
            elif self.otp_partial:
                self.lut_source = OTP_PARTIAL
            else:
                self.lut_source = NO_LUT
        if v & 0x04:
            self._refresh(v)
            self._busy_left = self.busy_polls
        else:
            self._busy_left = self.short_busy_polls
        if v & 0x02:
            self.analog = False

    def _refresh(self, v):
        number = len(self.refreshes) + 1
        mode2 = v & 0x08
        kind = "partial" if mode2 else "full"
        source = self.lut_source
        self.refreshes.append(kind)
        self.waveforms.append(source)
        if not self.analog:
            self.violations.append("refresh %d without drive power (0x22 bit 6 never set)" % number)
            return
        if source == NO_LUT:
            self.violations.append(
                "refresh %d: no waveform for display mode %d: the glass does not change"
                % (number, 2 if mode2 else 1)
            )
            return
        shown = self.shown.bands
        lengths = self._lengths()
        if source == OTP_FULL or not mode2:
            _decode(self.ram_bw.bands, self.bw_option, shown, lengths)
            self._shown_valid = True
            return
        if not self._shown_valid:
            self.violations.append(
                "refresh %d: partial refresh before any full refresh (unknown base)" % number
            )
        else:
            diff = _diff(self.ram_red.bands, self.red_option, shown, lengths)
            if diff:
                self.violations.append(
                    "refresh %d: partial refresh over a stale base"
                    " (RED RAM differs from the panel in %d bytes)" % (number, diff)
                )
        _differential(
            self.ram_red.bands, self.red_option, self.ram_bw.bands, self.bw_option, shown, lengths
        )
        if self.pingpong or (source == OTP_PARTIAL and self.otp_pingpong):
            red = self.ram_red.bands
            for b, band in enumerate(self.ram_bw.bands):
                red[b][:] = band

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
