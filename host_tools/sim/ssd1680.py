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
# What is modelled (SSD1680 datasheet rev 0.14 command table, as quoted by public drivers):
# - DC low = command byte, DC high = data for the current command; bytes count only while CS is
#   low and RST is high. Parameters latch as they arrive (a short parameter list updates only the
#   fields it reaches).
# - Hardware reset (RST low -> high) and SWRESET 0x12 restore the register defaults; RAM is
#   unaffected by both. BUSY is high for `short_busy_polls` polls afterwards.
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
# - 0x22 Display Update Control 2 + 0x20 Master Activation: with bit 2 (display) set the picture
#   becomes the BW RAM content; bit 3 (display mode 2) makes it a 'partial' (differential: RED
#   RAM = previous picture) refresh, otherwise 'full'. BUSY is then high for `busy_polls` polls.
#   Other sequences (power on/off, LUT load) keep BUSY high for `short_busy_polls` polls.
# - 0x10 deep sleep: mode 01 keeps RAM, 11 loses it; BUSY stays high and every byte is ignored
#   until a hardware reset.
# - Not modelled: waveforms/LUT contents (0x32 and friends are stored in `registers` only), gate
#   scan options of 0x01, 0x46/0x47 pattern fill, reads, the border, timing in milliseconds.
# Recorded protocol violations (`violations`, list of str): a refresh started while the panel was
# left powered since the previous refresh (no deep sleep in between); a command sent while BUSY
# is high (not counted with stuck_busy=True, the broken-panel option); a partial refresh whose
# RED RAM is not the picture on the panel, or before any full refresh. Unknown commands go to
# `unknown` (list of int). `left_powered` says whether the last refresh still awaits deep sleep.
# `bytes_in` counts the bytes clocked in while awake (commands, parameters and RAM data), the
# figure a window partial refresh (a RAM window over part of the panel, then 0x22 0xFF) reduces.
# Time is counted in BUSY polls, not milliseconds: the driver under test may sleep between polls.

from host_tools.sim.epdbus import SPI, BusyPin, OutPin

RAM_X_BYTES = 22  # 176 sources
RAM_ROWS = 296
PANEL_X_BYTES = 16  # 128 sources
PANEL_ROWS = 296
LANDSCAPE_W = 296
LANDSCAPE_H = 128
_SHOWN_SIZE = PANEL_X_BYTES * PANEL_ROWS

_BW = 0x24
_RED = 0x26

# Commands the model knows. Those not decoded further keep their parameters in `registers`.
_KNOWN = (
    0x01, 0x03, 0x04, 0x08, 0x09, 0x0C, 0x0F, 0x10, 0x11, 0x12, 0x14, 0x15, 0x18, 0x1A, 0x1C,
    0x20, 0x21, 0x22, 0x24, 0x26, 0x2C, 0x32, 0x37, 0x3C, 0x3F, 0x44, 0x45, 0x46, 0x47, 0x4E,
    0x4F, 0x7F,
)  # fmt: skip


def _probe_step_slices():
    # CPython assigns extended slices of a bytearray; MicroPython raises NotImplementedError.
    try:
        t = bytearray(4)
        t[3::-2] = b"ab"
        return t == bytearray(b"\x00b\x00a")
    except Exception:
        return False


_STEP_SLICES = _probe_step_slices()


_COMMAND_LOG = 512  # command bytes kept in `commands`


class SSD1680Model:
    def __init__(self, busy_polls=3, short_busy_polls=1, stuck_busy=False):
        self.busy_polls = busy_polls
        self.short_busy_polls = short_busy_polls
        self.stuck_busy = stuck_busy
        self.spi = SPI(self)
        self.cs = OutPin(self, "cs", 1)
        self.dc = OutPin(self, "dc", 1)
        self.rst = OutPin(self, "rst", 1)
        self.busy = BusyPin(self)
        # RAM content at power-up is undefined on the chip; here it is 0x00.
        self.ram_bw = [bytearray(RAM_ROWS) for _ in range(RAM_X_BYTES)]
        self.ram_red = [bytearray(RAM_ROWS) for _ in range(RAM_X_BYTES)]
        self.shown = bytearray(_SHOWN_SIZE)  # 16 bytes x 296 rows, MSB = lowest source, 1 = black
        self.refreshes = []  # 'full' / 'partial'
        self.updates = []  # 0x22 value at each 0x20
        self.violations = []
        self.unknown = []
        self.commands = bytearray()  # the recent command bytes accepted (not while asleep)
        self.registers = {}  # command -> last parameter bytes (first 16)
        self.hw_resets = 0
        self.sw_resets = 0
        self.sleeps = 0
        self.ignored = 0  # bytes ignored while asleep
        self.bytes_in = 0  # bytes clocked in while awake (commands, parameters, RAM data)
        self.polls = 0
        self.asleep = False
        self.sleep_mode = 0
        self._in_reset = False
        self._shown_valid = False  # the panel content is known (a full refresh happened)
        self._powered_refresh = 0  # number of the refresh not yet followed by deep sleep, or 0
        self._busy_left = 0
        self._pbuf = bytearray(16)
        self._por()

    # --- state ---

    def _por(self):
        # Register defaults after a hardware or software reset. RAM is not touched.
        self.entry = 0x03
        self.x_start = 0
        self.x_end = RAM_X_BYTES - 1
        self.y_start = 0
        self.y_end = RAM_ROWS - 1
        self.x = 0
        self.y = 0
        self.bw_option = 0
        self.red_option = 0
        self.update2 = 0xFF
        self.mux = RAM_ROWS - 1
        self._cmd = -1
        self._np = 0

    @property
    def left_powered(self):
        """True when the last refresh has not been followed by deep sleep."""
        return self._powered_refresh != 0

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
            self.y = (self.y & 0x100) | p[0]
            if np >= 2:
                self.y = p[0] | (p[1] & 1) << 8
        elif c == 0x21:
            self.bw_option = p[0] & 0x0F
            self.red_option = p[0] >> 4
        elif c == 0x22:
            self.update2 = p[0]
        elif c == 0x01:
            if np >= 2:
                self.mux = p[0] | (p[1] & 1) << 8
        elif c == 0x10:
            mode = p[0] & 0x03
            if mode:
                self._deep_sleep(mode)

    def _deep_sleep(self, mode):
        self.asleep = True
        self.sleep_mode = mode
        self.sleeps += 1
        self._powered_refresh = 0
        if mode == 0x03:  # deep sleep mode 2: RAM is not retained
            zero = bytes(RAM_ROWS)
            for x in range(RAM_X_BYTES):
                self.ram_bw[x][:] = zero
                self.ram_red[x][:] = zero

    # --- RAM address counter ---

    def _ram_write(self, ram, buf):
        mv = memoryview(buf)
        n = len(buf)
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
            # Fast path: a run along the inner axis up to its window end, inside the RAM.
            if am:
                run = (ye - y) * dy + 1
                last = y + dy * (run - 1)
                ok = run > 1 and x < RAM_X_BYTES and y < RAM_ROWS and 0 <= last < RAM_ROWS
            else:
                run = (xe - x) * dx + 1
                last = x + dx * (run - 1)
                ok = run > 1 and y < RAM_ROWS and x < RAM_X_BYTES and 0 <= last < RAM_X_BYTES
            if ok:
                k = run if run < n - i else n - i
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
                i += k
                if k < run:  # the data ended inside the run
                    if am:
                        y += dy * k
                    else:
                        x += dx * k
                    break
                # the inner counter reached its window end: back to the start, outer steps
                if am:
                    y = ys
                    x = xs if x == xe else (x + dx) & 0x3F
                else:
                    x = xs
                    y = ys if y == ye else (y + dy) & 0x1FF
                continue
            # Slow path: one byte, the datasheet's counter rule.
            if x < RAM_X_BYTES and y < RAM_ROWS:
                ram[x][y] = mv[i]
            i += 1
            if am:
                if y == ye:
                    y = ys
                    x = xs if x == xe else (x + dx) & 0x3F
                else:
                    y = (y + dy) & 0x1FF
            else:
                if x == xe:
                    x = xs
                    y = ys if y == ye else (y + dy) & 0x1FF
                else:
                    x = (x + dx) & 0x3F
        self.x = x
        self.y = y

    # --- refresh ---

    def _show_ram(self, ram, option):
        """Drive the panel from a RAM: shown = its visible part, 1 = black."""
        out = self.shown
        if option & 0x04:  # bypass as 0 (black) or, 0101, as 1 (white)
            v = 0x00 if option & 0x01 else 0xFF
            for i in range(_SHOWN_SIZE):
                out[i] = v
            return
        for j in range(PANEL_X_BYTES):
            col = ram[j]
            if _STEP_SLICES:
                out[j::PANEL_X_BYTES] = col[:PANEL_ROWS]
            else:
                o = j
                for gy in range(PANEL_ROWS):
                    out[o] = col[gy]
                    o += PANEL_X_BYTES
        if not option & 0x08:  # normal: RAM 1 = white, so black is the complement
            for i in range(_SHOWN_SIZE):
                out[i] ^= 0xFF

    def _base_diff(self):
        """Number of visible bytes where RED RAM (the partial refresh's 'old' picture, after
        its 0x21 option) differs from the picture on the panel."""
        shown = self.shown
        option = self.red_option
        diff = 0
        for j in range(PANEL_X_BYTES):
            col = self.ram_red[j]
            if option == 0x08 and _STEP_SLICES and col[:PANEL_ROWS] == shown[j::PANEL_X_BYTES]:
                continue
            o = j
            for gy in range(PANEL_ROWS):
                v = col[gy]
                if option & 0x04:
                    v = 0x00 if option & 0x01 else 0xFF
                elif not option & 0x08:
                    v ^= 0xFF
                if v != shown[o]:
                    diff += 1
                o += PANEL_X_BYTES
        return diff

    def _activate(self):
        v = self.update2
        self.updates.append(v)
        if not v & 0x04:
            self._busy_left = self.short_busy_polls
            return
        number = len(self.refreshes) + 1
        if self._powered_refresh:
            self.violations.append(
                "refresh %d started while the panel was left powered since refresh %d"
                " (no deep sleep in between)" % (number, self._powered_refresh)
            )
        kind = "partial" if v & 0x08 else "full"
        if kind == "partial":
            if not self._shown_valid:
                self.violations.append(
                    "refresh %d: partial refresh before any full refresh (unknown base)" % number
                )
            else:
                diff = self._base_diff()
                if diff:
                    self.violations.append(
                        "refresh %d: partial refresh over a stale base"
                        " (RED RAM differs from the panel in %d bytes)" % (number, diff)
                    )
        else:
            self._shown_valid = True
        self._show_ram(self.ram_bw, self.bw_option)
        self.refreshes.append(kind)
        self._powered_refresh = number
        self._busy_left = self.busy_polls

    # --- picture out ---

    def pixel(self, sx, gy):
        """1 if native pixel (source sx, gate gy) is black on the panel."""
        return (self.shown[gy * PANEL_X_BYTES + (sx >> 3)] >> (7 - (sx & 7))) & 1

    def landscape_pixel(self, x, y):
        """1 if landscape pixel (x, y) of the 296 x 128 picture is black."""
        return self.pixel(LANDSCAPE_H - 1 - y, x)

    def landscape_mono_hlsb(self):
        """The landscape picture as Image.frombytes('1', (296, 128), data) reads it: rows of
        37 bytes, MSB = leftmost pixel, 1 = white. A new bytearray (bytes-like, no copy)."""
        shown = self.shown
        row_bytes = LANDSCAPE_W // 8
        out = bytearray(row_bytes * LANDSCAPE_H)
        o = 0
        for y in range(LANDSCAPE_H):
            sx = LANDSCAPE_H - 1 - y
            j = sx >> 3
            m = 0x80 >> (sx & 7)
            a = j  # index of (sx, gy = x) for x = 0; steps 16 per x
            for _ in range(row_bytes):
                v = 0
                if not shown[a] & m:
                    v |= 0x80
                if not shown[a + 16] & m:
                    v |= 0x40
                if not shown[a + 32] & m:
                    v |= 0x20
                if not shown[a + 48] & m:
                    v |= 0x10
                if not shown[a + 64] & m:
                    v |= 0x08
                if not shown[a + 80] & m:
                    v |= 0x04
                if not shown[a + 96] & m:
                    v |= 0x02
                if not shown[a + 112] & m:
                    v |= 0x01
                out[o] = v
                o += 1
                a += 128
        return out
