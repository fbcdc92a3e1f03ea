# The controller side of an e-paper panel's 4-wire SPI, shared by the SSD1680, SSD1683 and
# UC8179 models (mirroring the firmware's drivers/epd.py, whose EPD base the three drivers
# share; the facts here come from the controllers' datasheets and the panel makers' drivers):
#
#   EPDModel        the bus as any of these controllers sees it: CS low and RST high gate the
#                   bytes, DC low = a command byte, DC high = data for the current command;
#                   parameters latch as they arrive (a short list updates only the fields it
#                   reaches); RST low -> high is a hardware reset (register defaults, RAM kept);
#                   BUSY reads "working" (BUSY_LEVEL: 1 for Solomon SSD16xx, 0 for UltraChip
#                   UC81xx BUSY_N) for a number of polls after a command that starts work; a
#                   command while it does so is a violation; deep sleep ignores every byte until
#                   the next hardware reset.
#   SSD16xxModel    the Solomon SSD1680/SSD1683 command set over it (SSD1680 datasheet rev 0.14
#                   and SSD1683 rev 1.0 as Waveshare's epd2in9_V2 / epd4in2_V2 and GxEPD2's
#                   GxEPD2_290_T94_V2 / GDEY042T81 drive them): 0x11 data entry, 0x44 / 0x45 RAM
#                   window, 0x4E / 0x4F counters, 0x24 BW / 0x26 RED RAM, 0x21 RAM options,
#                   0x22 + 0x20 update sequence (drive power, OTP LUT load, display mode), 0x32
#                   host LUT, 0x37 ping-pong, 0x10 deep sleep, 0x12 software reset. A controller
#                   gives it its RAM (how it is stored and how a refresh reads it).
#
# Portable Python (CPython and the MicroPython unix port): plain classes, no typing.
# Time is counted in BUSY polls, not milliseconds: the driver under test may sleep between polls.

from host_tools.sim.chips.epdbus import SPI, BusyPin, Noise, OutPin

_COMMAND_LOG = 512  # command bytes kept in `commands`


class EPDModel:
    BUSY_LEVEL = 1  # the level of BUSY that means "working"
    BUSY_SAYS = "BUSY is high"  # how a violation names it
    KNOWN = ()  # the commands the controller has; others go to `unknown`

    def __init__(self, busy_polls, short_busy_polls, stuck_busy, keep_ram, noise_seed):
        self.busy_polls = busy_polls
        self.short_busy_polls = short_busy_polls
        self.stuck_busy = stuck_busy
        self.keep_ram = keep_ram  # RAM survives deep sleep (not assumed by default)
        self._noise = Noise(noise_seed)
        self.spi = SPI(self)
        self.cs = OutPin(self, "cs", 1)
        self.dc = OutPin(self, "dc", 1)
        self.rst = OutPin(self, "rst", 1)
        self.busy = BusyPin(self)
        self.refreshes = []  # 'full' / 'partial'
        self.waveforms = []  # where each refresh's waveform came from
        self.violations = []
        self.unknown = []
        self.commands = bytearray()  # the recent command bytes accepted (not while asleep)
        self.registers = {}  # command -> last parameter bytes (first 16)
        self.hw_resets = 0
        self.sleeps = 0
        self.ignored = 0  # bytes ignored while asleep
        self.bytes_in = 0  # bytes clocked in while awake (commands, parameters, RAM data)
        self.polls = 0
        self.asleep = False
        self._in_reset = False
        self._shown_valid = False  # the glass's picture is known (a full refresh happened)
        self._busy_left = 0
        self._pbuf = bytearray(16)
        self._cmd = -1
        self._np = 0

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
        working = self.BUSY_LEVEL
        if self._in_reset or self.asleep or self.stuck_busy:
            return working
        if self._busy_left > 0:
            self._busy_left -= 1
            return working
        return 1 - working

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
                    self.violations.append("command 0x%02X sent while %s" % (c, self.BUSY_SAYS))
                self._command(c)
        else:
            self._data(buf)

    def _log_command(self, c):
        cmds = self.commands
        if len(cmds) >= _COMMAND_LOG:  # keep the recent history only: a day's replay is long
            cmds = self.commands = cmds[_COMMAND_LOG // 2 :]
        cmds.append(c)
        self._cmd = c
        self._np = 0

    def _parameters(self, buf):
        """Latch parameter bytes of the current command and apply what they reach."""
        c = self._cmd
        if c < 0 or c not in self.KNOWN:
            return
        p = self._pbuf
        np = self._np
        for b in buf:
            if np < 16:
                p[np] = b
            np += 1
        self._np = np
        self.registers[c] = bytes(p[: min(np, 16)])
        self._apply(c, p, np)

    # --- picture out (a glass kept as an epdbus.Plane, `shown`, native = landscape) ---

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

    # --- what a controller gives ---

    def _por(self):
        """Register defaults (power-on and reset)."""
        raise NotImplementedError

    def _command(self, c):
        raise NotImplementedError

    def _data(self, buf):
        raise NotImplementedError

    def _apply(self, c, p, np):
        raise NotImplementedError


# What an SSD16xx LUT register holds (lut_source)
NO_LUT = "none"
OTP_FULL = "otp-full"
OTP_PARTIAL = "otp-partial"
HOST = "host"

_BW = 0x24
_RED = 0x26
_LUT = 0x32


class SSD16xxModel(EPDModel):
    """The SSD16xx command set over a RAM of ram_xb bytes (8 sources each) x ram_rows gates.

    A controller sets LUT_SIZE (0x32 bytes for a full host LUT) and KNOWN, and implements its
    RAM: _store(ram, x, y, v) (one byte), _store_run(ram, x, y, am, dx, dy, mv, i, k) (mv[i:i+k]
    from (x, y) along the inner axis, inside the RAM), _lose_ram() (deep sleep); and the
    refresh's picture: _show_full(), _stale() (bytes where RED RAM is not the
    glass), _show_partial() (differential), _red_from_bw() (ping-pong)."""

    LUT_SIZE = 0

    def __init__(
        self,
        ram_xb,
        ram_rows,
        busy_polls,
        short_busy_polls,
        stuck_busy,
        otp_partial,
        keep_ram,
        noise_seed,
    ):
        EPDModel.__init__(self, busy_polls, short_busy_polls, stuck_busy, keep_ram, noise_seed)
        self.ram_xb = ram_xb
        self.ram_rows = ram_rows
        self.otp_partial = otp_partial  # the glass's OTP has a display mode 2 waveform
        self.updates = []  # 0x22 value at each 0x20
        self.sw_resets = 0
        self.sleep_mode = 0
        self.analog = False  # drive power (charge pumps) on
        self._lut_bytes = 0  # 0x32 bytes received since the command
        self.lut_data = bytearray()
        self._por()

    def _por(self):
        # Register defaults after a hardware or software reset. RAM is not touched.
        self.entry = 0x03
        self.x_start = 0
        self.x_end = self.ram_xb - 1
        self.y_start = 0
        self.y_end = self.ram_rows - 1
        self.x = 0
        self.y = 0
        self.bw_option = 0
        self.red_option = 0
        self.update2 = 0xFF
        self.mux = self.ram_rows - 1
        self.lut_source = NO_LUT
        self.pingpong = False
        self._cmd = -1
        self._np = 0

    @property
    def left_powered(self):
        """True while the drive power (analog block) is on: 0x22 bit 6 ran, bit 1 not yet."""
        return self.analog

    # --- bytes in ---

    def _command(self, c):
        self._log_command(c)
        if c == _LUT:
            self._lut_bytes = 0
            self.lut_data = bytearray()  # the bytes of the last 0x32 (first 256)
        if c == 0x12:
            self._por()
            self.sw_resets += 1
            self._busy_left = self.short_busy_polls
        elif c == 0x20:
            self._activate()
        elif c not in self.KNOWN:
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
            if self._lut_bytes >= self.LUT_SIZE:
                self.lut_source = HOST
        self._parameters(buf)

    def _apply(self, c, p, np):
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
        self.analog = False
        if mode == 0x03 or not self.keep_ram:  # mode 2 never keeps RAM; mode 1 only if told
            self._lose_ram()

    # --- RAM address counter ---

    def _ram_write(self, ram, buf):
        """RAM data (0x24 / 0x26) at the address counter (0x4E / 0x4F). After each byte the
        inner counter (X; Y with 0x11 AM) steps towards its window end (0x44 / 0x45); at the end
        it returns to the window start and the outer counter steps, wrapping likewise. A run
        along the inner axis inside the RAM is one _store_run (the controller's copy), any other
        byte one _store."""
        mv = memoryview(buf)
        n = len(buf)
        xb = self.ram_xb
        rows = self.ram_rows
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
            if am:
                run = (ye - y) * dy + 1
                last = y + dy * (run - 1)
                ok = run > 1 and x < xb and y < rows and 0 <= last < rows
            else:
                run = (xe - x) * dx + 1
                last = x + dx * (run - 1)
                ok = run > 1 and y < rows and x < xb and 0 <= last < xb
            if ok:
                k = run if run < n - i else n - i
                self._store_run(ram, x, y, am, dx, dy, mv, i, k)
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
            # one byte, the datasheet's counter rule
            if x < xb and y < rows:
                self._store(ram, x, y, mv[i])
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

    def _activate(self):
        v = self.update2
        self.updates.append(v)
        if v & 0x40:
            self.analog = True
        if v & 0x10:  # load the LUT of the selected display mode from OTP
            self.lut_source = (
                OTP_FULL if not v & 0x08 else OTP_PARTIAL if self.otp_partial else NO_LUT
            )
        self._busy_left = self.short_busy_polls
        if v & 0x04:
            self._refresh(v)
            self._busy_left = self.busy_polls
        if v & 0x02:
            self.analog = False

    def _pingpong_after(self, source):
        """RED RAM takes the new picture after a mode 2 refresh (0x37 byte F bit 6)."""
        return self.pingpong

    def _refresh(self, v):
        n = len(self.refreshes) + 1
        mode2 = v & 0x08
        source = self.lut_source
        self.refreshes.append("partial" if mode2 else "full")
        self.waveforms.append(source)
        flag = self.violations.append
        if not self.analog:
            flag("refresh %d without drive power (0x22 bit 6 never set)" % n)
            return
        if source == NO_LUT:
            flag(
                "refresh %d: %s: the glass does not change"
                % (
                    n,
                    "the LUT from OTP for display mode 2, which this glass lacks"
                    if mode2 and v & 0x10
                    else "an empty LUT register (no OTP load, no 0x32)",
                )
            )
            return
        if source == OTP_FULL or not mode2:
            self._show_full()
            self._shown_valid = True
            return
        if not self._shown_valid:
            flag("refresh %d: partial refresh before any full refresh (unknown base)" % n)
        else:
            stale = self._stale()
            if stale:
                flag(
                    "refresh %d: partial refresh over a stale base"
                    " (RED RAM differs from the panel in %d bytes)" % (n, stale)
                )
        self._show_partial()
        if self._pingpong_after(source):
            self._red_from_bw()

    # --- what a controller gives ---

    def _store(self, ram, x, y, v):
        raise NotImplementedError

    def _store_run(self, ram, x, y, am, dx, dy, mv, i, k):
        raise NotImplementedError

    def _lose_ram(self):
        raise NotImplementedError

    def _show_full(self):
        raise NotImplementedError

    def _stale(self):
        raise NotImplementedError

    def _show_partial(self):
        raise NotImplementedError

    def _red_from_bw(self):
        raise NotImplementedError
