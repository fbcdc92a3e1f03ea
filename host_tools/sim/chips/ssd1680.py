# SSD1680 e-paper controller model: decodes the 4-wire SPI command/data stream a driver sends
# into the picture the panel (Waveshare 2.9" V2, 128 sources x 296 gates) would show.
#
# Portable Python: runs under CPython and inside the MicroPython unix port (no numpy, no PIL,
# no typing, plain classes).
#
#     m = SSD1680Model()
#     drv = SSD1680(m.spi, cs=m.cs, dc=m.dc, rst=m.rst, busy=m.busy)
#     drv.show(buf)
#     m.refreshes, m.violations, m.pixel(sx, gy), m.landscape_mono_hlsb()
#
# What is modelled (SSD1680 command set as Waveshare's epd2in9_V2 and GxEPD2's
# GxEPD2_290_T94_V2 drive it):
# - DC low = command byte, DC high = data for the current command; bytes count only while CS is
#   low and RST is high. Parameters latch as they arrive (a short parameter list updates only the
#   fields it reaches).
# - Hardware reset (RST low -> high) and SWRESET 0x12 restore the register defaults (no LUT
#   loaded, ping-pong off); RAM is kept by both (Waveshare's epd2in9_V2 display_Partial and
#   ESPHome's WaveshareEPaper2P9InV2R2 pulse RST before every partial and rely on the RAM).
#   BUSY is high for `short_busy_polls` polls afterwards.
# - 0x11 data entry mode: A[1:0] = ID (bit 1 = Y increment, bit 0 = X increment), A[2] = AM
#   (0: the counter advances in X first, 1: in Y first); all 8 combinations.
# - 0x44 / 0x45 RAM windows (start, end; for a decrementing axis start > end), 0x4E / 0x4F
#   counters. After each RAM byte the inner counter steps towards its window end; at the end it
#   returns to the window start and the outer counter steps; the outer counter wraps likewise.
# - 0x24 BW RAM and 0x26 RED RAM, 22 bytes (176 sources) x 296 gates each; the panel shows RAM
#   X bytes 0..15 (128 sources), as Waveshare's and GxEPD2's drivers address it. Each RAM is a
#   list of 22 columns, bytearray(296) per X address: ram_bw[x][y]. (Columns keep every block
#   small for MicroPython's fragmented ~110 KB heap, and a gate-first write is a plain slice.)
# - 0x21 Display Update Control 1: A[3:0] BW RAM option, A[7:4] RED RAM option:
#   0000 normal, 0100 bypass as 0 (0101 as 1), 1000 inverse. RAM bit 1 = white.
# - Where the waveform comes from. 0x22 Display Update Control 2 bits: 7 clock on, 6 analog
#   (drive power) on, 5 load temperature, 4 load LUT from OTP, 3 display mode 2, 2 display,
#   1 analog off, 0 clock off; 0x20 runs them. With bit 4 the LUT register is loaded from OTP
#   for the mode of bit 3: the full (mode 1) waveform is there; a mode 2 (partial) waveform is
#   there only if `otp_partial` (the Waveshare 2.9" V2 glass has none: GxEPD2_290_T94_V2.h,
#   "Waveshare variant without partial wft in OTP"). 0x32 loads the LUT register from the host
#   (153 bytes). Without bit 4 a refresh runs whatever the LUT register holds.
# - The picture: the model does not simulate waveform physics; it knows the kind of waveform a
#   refresh runs. A full refresh (mode 1, OTP full or host LUT) shows the BW RAM picture. A mode 2
#   refresh is differential: where the old picture (RED RAM, after its 0x21 option) and the new
#   one (BW RAM) differ, the pixel takes the new colour; elsewhere the glass is not driven and
#   keeps what it shows (epdbus.differential). No waveform for the mode (OTP partial on glass
#   without one, an empty LUT register): the glass does not change and it is a violation.
# - 0x37 Display Option byte F (6th parameter) bit 6: RAM ping-pong for display mode 2 (Waveshare's
#   2021+ epd2in9_V2 partial sends 00 00 00 00 00 40 00 00 00 00). After a mode 2 refresh with
#   ping-pong on, RED RAM holds the new picture (the effect Waveshare's driver relies on: it
#   writes only 0x24 between partials). Modelled as a copy of BW RAM into RED RAM; whether the
#   chip copies or swaps the RAMs is not documented in the sources, so a driver that writes only
#   a window must not rely on it (sunprint's rewrites both RAMs over the window afterwards).
# - Drive power: analog on from a 0x22 sequence with bit 6 until one with bit 1 or deep sleep
#   (`left_powered`). A refresh while the analog block is off is a violation.
# - 0x10 deep sleep (mode 01 or 11): BUSY stays high and every byte is ignored until a hardware
#   reset. RAM is kept only with keep_ram=True and mode 01: by default the model takes the
#   RAM content as lost (filled with noise), since nothing in the sources shows it surviving a
#   deep sleep and a wake (no Waveshare sequence sleeps between a base image and a partial).
# - Not modelled: LUT contents, gate scan options of 0x01, 0x46/0x47 pattern fill, reads, the
#   border, timing in milliseconds.
# Recorded protocol violations (`violations`, list of str): a command sent while BUSY is high (not
# counted with stuck_busy=True, the broken-panel option); a refresh without drive power or
# without a waveform for its mode; a partial refresh before any full refresh, or whose RED RAM is
# not the picture on the panel (a stale base). Unknown commands go to `unknown` (list of int).
# `bytes_in` counts the bytes clocked in while awake (commands, parameters and RAM data).
# Time is counted in BUSY polls, not milliseconds: the driver under test may sleep between polls.

from host_tools.sim.chips.epd import SSD16xxModel
from host_tools.sim.chips.epdbus import differential

RAM_X_BYTES = 22  # 176 sources
RAM_ROWS = 296
PANEL_X_BYTES = 16  # 128 sources
PANEL_ROWS = 296
LANDSCAPE_W = 296
LANDSCAPE_H = 128
_SHOWN_SIZE = PANEL_X_BYTES * PANEL_ROWS


def _probe_step_slices():
    # CPython assigns extended slices of a bytearray; MicroPython raises NotImplementedError.
    try:
        t = bytearray(4)
        t[3::-2] = b"ab"
        return t == bytearray(b"\x00b\x00a")
    except Exception:
        return False


_STEP_SLICES = _probe_step_slices()


class SSD1680Model(SSD16xxModel):
    LUT_SIZE = 153  # 0x32: the SSD1680 waveform LUT
    # Commands the model knows (SSD1680 datasheet, command table). Those not decoded further
    # keep their parameters in `registers`.
    KNOWN = (
        0x01, 0x03, 0x04, 0x08, 0x09, 0x0C, 0x0F, 0x10, 0x11, 0x12, 0x14, 0x15, 0x18, 0x1A,
        0x1C, 0x20, 0x21, 0x22, 0x24, 0x26, 0x2C, 0x32, 0x37, 0x3C, 0x3F, 0x44, 0x45, 0x46,
        0x47, 0x4E, 0x4F, 0x7F,
    )  # fmt: skip

    def __init__(
        self, busy_polls=3, short_busy_polls=1, stuck_busy=False, otp_partial=False, keep_ram=False
    ):
        # RAM content at power-up is undefined on the chip; here it is 0x00.
        self.ram_bw = [bytearray(RAM_ROWS) for _ in range(RAM_X_BYTES)]
        self.ram_red = [bytearray(RAM_ROWS) for _ in range(RAM_X_BYTES)]
        self.shown = bytearray(_SHOWN_SIZE)  # 16 bytes x 296 rows, MSB = lowest source, 1 = black
        SSD16xxModel.__init__(
            self,
            RAM_X_BYTES,
            RAM_ROWS,
            busy_polls,
            short_busy_polls,
            stuck_busy,
            otp_partial,
            keep_ram,
            0x2545F491,
        )

    def _lose_ram(self):
        for x in range(RAM_X_BYTES):
            self._noise.fill(self.ram_bw[x])
            self._noise.fill(self.ram_red[x])

    # --- RAM: a list of columns, ram[x][y] ---

    def _store(self, ram, x, y, v):
        ram[x][y] = v

    def _store_run(self, ram, x, y, am, dx, dy, mv, i, k):
        if am:  # one column, gates y, y+dy, ...
            col = ram[x]
            if dy == 1:
                col[y : y + k] = mv[i : i + k]
            elif _STEP_SLICES:
                stop = y - k
                col[y : (stop if stop >= 0 else None) : -1] = mv[i : i + k]
            else:
                a = y
                for t in range(i, i + k):
                    col[a] = mv[t]
                    a -= 1
        else:  # one gate row across columns x, x+dx, ...
            a = x
            for t in range(i, i + k):
                ram[a][y] = mv[t]
                a += dx

    # --- refresh: the picture ---

    def _colours(self, ram, option, j, out):
        """Column j of a RAM as the panel reads it after its 0x21 option: out[gy] = colour byte,
        MSB = lowest source, 1 = black (RAM 1 = white unless inverted; bypass as 0 / 1)."""
        if option & 0x04:
            v = 0x00 if option & 0x01 else 0xFF
            for gy in range(PANEL_ROWS):
                out[gy] = v
            return
        out[:] = ram[j][:PANEL_ROWS]
        if not option & 0x08:
            for gy in range(PANEL_ROWS):
                out[gy] ^= 0xFF

    def _show_full(self):
        out = self.shown
        new = bytearray(PANEL_ROWS)  # one column of colours (the model may allocate)
        for j in range(PANEL_X_BYTES):
            self._colours(self.ram_bw, self.bw_option, j, new)
            if _STEP_SLICES:
                out[j::PANEL_X_BYTES] = new
                continue
            o = j
            for gy in range(PANEL_ROWS):
                out[o] = new[gy]
                o += PANEL_X_BYTES

    def _stale(self):
        """Bytes where RED RAM (after its 0x21 option) is not the glass."""
        out = self.shown
        old = bytearray(PANEL_ROWS)
        stale = 0
        for j in range(PANEL_X_BYTES):
            self._colours(self.ram_red, self.red_option, j, old)
            o = j
            for gy in range(PANEL_ROWS):
                if old[gy] != out[o]:
                    stale += 1
                o += PANEL_X_BYTES
        return stale

    def _show_partial(self):
        """A mode 2 waveform: pixels whose RED and BW colours differ take the BW colour."""
        out = self.shown
        old = bytearray(PANEL_ROWS)
        new = bytearray(PANEL_ROWS)
        for j in range(PANEL_X_BYTES):
            self._colours(self.ram_bw, self.bw_option, j, new)
            self._colours(self.ram_red, self.red_option, j, old)
            o = j
            for gy in range(PANEL_ROWS):
                out[o] = differential(out[o], old[gy], new[gy])
                o += PANEL_X_BYTES

    def _red_from_bw(self):
        for x in range(RAM_X_BYTES):
            self.ram_red[x][:] = self.ram_bw[x]

    # --- picture out ---

    def pixel(self, sx, gy):
        """1 if native pixel (source sx, gate gy) is black on the panel."""
        return (self.shown[gy * PANEL_X_BYTES + (sx >> 3)] >> (7 - (sx & 7))) & 1

    def landscape_pixel(self, x, y):
        """1 if landscape pixel (x, y) of the 296 x 128 picture is black. Landscape as
        Waveshare's epd2in9_V2 getbuffer maps a 296 x 128 image: source sx = y, gate
        gy = 295 - x (the maker's orientation)."""
        return self.pixel(y, LANDSCAPE_W - 1 - x)

    def landscape_mono_hlsb(self):
        """The landscape picture as Image.frombytes('1', (296, 128), data) reads it: rows of
        37 bytes, MSB = leftmost pixel, 1 = white. A new bytearray (bytes-like, no copy)."""
        shown = self.shown
        row_bytes = LANDSCAPE_W // 8
        out = bytearray(row_bytes * LANDSCAPE_H)
        o = 0
        for y in range(LANDSCAPE_H):
            sx = y
            j = sx >> 3
            m = 0x80 >> (sx & 7)
            a = (LANDSCAPE_W - 1) * PANEL_X_BYTES + j  # (sx, gy = 295 - x) for x = 0
            for _ in range(row_bytes):
                v = 0
                bit = 0x80
                for g in range(a, a - 8 * PANEL_X_BYTES, -PANEL_X_BYTES):  # 8 gates: 8 pixels
                    if not shown[g] & m:
                        v |= bit
                    bit >>= 1
                out[o] = v
                o += 1
                a -= 8 * PANEL_X_BYTES
        return out
