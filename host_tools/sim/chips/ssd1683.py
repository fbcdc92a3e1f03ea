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

from host_tools.sim.chips.epd import OTP_PARTIAL, SSD16xxModel
from host_tools.sim.chips.epdbus import Plane, differential


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


class SSD1683Model(SSD16xxModel):
    LUT_SIZE = 227  # 0x32: Waveshare's epd4in2_V2 Lut()
    # Commands the model knows (SSD1683 datasheet, command table)
    KNOWN = (
        0x01, 0x03, 0x04, 0x08, 0x09, 0x0C, 0x0F, 0x10, 0x11, 0x12, 0x14, 0x15, 0x18, 0x1A,
        0x1C, 0x20, 0x21, 0x22, 0x24, 0x26, 0x2C, 0x32, 0x37, 0x3C, 0x3F, 0x44, 0x45, 0x46,
        0x47, 0x4E, 0x4F, 0x74, 0x7E, 0x7F,
    )  # fmt: skip

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
        self.otp_pingpong = otp_pingpong
        self._xb = width // 8
        self.ram_bw = Plane(self._xb, height)  # power-up content is undefined on the chip; 0 here
        self.ram_red = Plane(self._xb, height)
        self.shown = Plane(self._xb, height)  # the glass: MSB = left, 1 = black
        SSD16xxModel.__init__(
            self,
            self._xb,
            height,
            busy_polls,
            short_busy_polls,
            stuck_busy,
            otp_partial,
            keep_ram,
            0x1683,
        )

    def _lose_ram(self):
        self._noise.fill_plane(self.ram_bw)
        self._noise.fill_plane(self.ram_red)

    # --- RAM: epdbus.Plane ---

    def _store(self, ram, x, y, v):
        ram.put(x, y, v)

    def _store_run(self, ram, x, y, am, dx, dy, mv, i, k):
        if not am and dx == 1:  # along a row: one slice
            ram.write(x, y, mv, i, k)
            return
        for t in range(i, i + k):
            ram.put(x, y, mv[t])
            if am:
                y += dy
            else:
                x += dx

    # --- refresh: the picture ---

    def _lengths(self):
        # bytes in use per band (the last band may be partly padding)
        xb = self._xb
        left = self.height
        out = []
        for _ in self.shown.bands:
            out.append(xb * min(16, left))
            left -= 16
        return out

    def _show_full(self):
        _decode(self.ram_bw.bands, self.bw_option, self.shown.bands, self._lengths())

    def _stale(self):
        return _diff(self.ram_red.bands, self.red_option, self.shown.bands, self._lengths())

    def _show_partial(self):
        _differential(
            self.ram_red.bands,
            self.red_option,
            self.ram_bw.bands,
            self.bw_option,
            self.shown.bands,
            self._lengths(),
        )

    def _pingpong_after(self, source):
        # 0x37 ping-pong, or the OTP's own mode 2 waveform on this glass (see the top)
        return self.pingpong or (source == OTP_PARTIAL and self.otp_pingpong)

    def _red_from_bw(self):
        red = self.ram_red.bands
        for b, band in enumerate(self.ram_bw.bands):
            red[b][:] = band
