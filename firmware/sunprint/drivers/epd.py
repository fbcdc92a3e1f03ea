# Base class for e-paper controllers (one module per controller over it, in the style of
# Adafruit_CircuitPython_EPD, with keyword-only pins): the bus, the pins, command/data helpers on
# preallocated buffers, BUSY polling with the controller's polarity, timeouts that raise instead
# of hanging, and the update lifecycle
#
#     set_base(prev)                                               the caller's copy of the glass
#     begin_show(buf, full) / begin_show_window(buf, x, y, w, h)   wake, RAM transfer, start
#     busy()                                                       poll; never blocks
#     finish()                                                     base rewrite; sleep after a full
#     show(...) / show_window(...) = begin + poll + finish; abort() after a timeout; sleep()
#
# The bus is handed in (micropython-lib ssd1306 style): `spi` has write(buf); cs, dc, rst are
# output pins and busy an input pin, each with value() / value(v), configured by the board code.
# BUSY_LEVEL is the level of BUSY that means "working": 1 for Solomon SSD16xx, 0 for UltraChip
# UC81xx (BUSY_N).
#
# Power, as the panel makers' drivers do it (Waveshare's e-Paper library, GxEPD2):
# - every refresh ends with the panel's drive power off (SSD16xx 0x22 sequences with bit 1,
#   UC8179 POF): a powered idle panel is what damages the glass (Waveshare's precautions; GxEPD2's
#   powerOff() "avoids screen fading over time");
# - a full refresh starts from a hardware reset and ends in deep sleep (Waveshare's Init()
#   before a full, Sleep() after); the nightly full thus leaves the controller in deep sleep;
# - partial refreshes in a row keep the controller awake in between (RAM kept, drive power
#   off): no Waveshare or GxEPD2 sequence sleeps between a base picture and its partials;
# - after any wake from deep sleep the controller's RAM is taken as lost: before a partial the
#   driver rewrites the "old" RAM (SSD16xx 0x26 with 0x24, UC8179 DTM1) from set_base(), the
#   frame the caller keeps of the glass (sunprint.app.App keeps one for its diff). Without one,
#   a partial after deep sleep becomes a full refresh.
#
# Multi-step refreshes: a controller whose refresh is a chain of commands, each to be sent once
# BUSY is released (UC8179: PON -> DRF -> POF), sets `_step` and implements `_advance()`. busy()
# sends the next command when BUSY is released and reports True until the last step is done, so
# neither begin_show() nor finish() waits for a refresh or a power sequence. After a step command
# the first busy() call answers True without reading the pin: callers sleep between polls (show()
# 10 ms, the runner its own period), which covers the time BUSY takes to assert (Waveshare's
# epd7in5_V2.c waits >= 200 us after DRF before reading BUSY).
#
# Windows: begin_show_window() takes a window in the app's picture coordinates (the landscape
# x, y of its framebuf), clips it to the panel and widens it to the controller's byte granularity
# (_X_ALIGN, _Y_ALIGN: the side of the picture along which 8 pixels share one RAM byte), then
# sends only the window's bytes. The aligned window is left in win_x, win_y, win_w, win_h.
#
# RAM transfers go through _rows(): each RAM row is gathered from the picture (any direction,
# any stride: a rotation is a choice of start and steps) through a 256-byte translation table
# (the references' RAM convention is 1 = white, the app draws 1 = black: invert; a 180-degree
# turn or a VLSB page sent MSB-first: reverse the bits) into a preallocated chunk buffer, and
# written as power-of-two chunks (a memoryview slice would allocate 16 bytes on an ESP32, per
# row). A row of n bytes costs popcount(n) spi.write calls, all inside one CS-low transfer.
#
# bytes_sent counts every byte the driver clocks out (commands, parameters, picture data),
# modulo 2**30 so it stays a small int on the ESP32.
#
# Timeouts raise EPDTimeout, an OSError subclass with errno ETIMEDOUT (110). show() and a
# begin_show*() that times out while starting (the SSD1680 waits for its power-on) first call
# abort() (hardware reset, then deep sleep, best effort) so a stuck panel is not left powered;
# a runner using begin_show()/busy() calls abort() itself when it gives up.

from sunprint.compat import const, ticks_diff, ticks_ms

_POLL_MS = const(10)
_RESET_TIMEOUT_MS = const(1000)
_REFRESH_TIMEOUT_MS = const(10000)
_ETIMEDOUT = const(110)
_COUNT_MASK = const(0x3FFFFFFF)

# translation tables, built on first use (256 bytes each)
INVERT = const(1)
REVERSE = const(2)
_tables = {}


def table(kind):
    """The 256-byte translation table: INVERT (~b), REVERSE (bit order), or both (|)."""
    t = _tables.get(kind)
    if t is None:
        t = bytearray(256)
        for b in range(256):
            v = b
            if kind & REVERSE:
                v = 0
                for i in range(8):
                    if b & (1 << i):
                        v |= 0x80 >> i
            if kind & INVERT:
                v ^= 0xFF
            t[b] = v
        _tables[kind] = t
    return t


class EPDTimeout(OSError):
    """BUSY stayed busy longer than the timeout. errno is ETIMEDOUT (110)."""


class EPD:
    NAME = "EPD"
    BUFFER_FORMAT = 0  # framebuf format of the app's picture (subclasses override)
    BUSY_LEVEL = 1  # BUSY level that means the controller is working
    _X_ALIGN = 1  # window granularity in picture pixels, per axis
    _Y_ALIGN = 1
    # RST pulse: high, low, high again (ms); subclasses use the maker's own figures
    RESET_HIGH_MS = 10
    RESET_LOW_MS = 2

    def __init__(self, spi, cs, dc, rst, busy, width, height, sleep, max_row, rotation=0):
        # `sleep` waits real milliseconds on a device; replay hands in a no-op, because its
        # clock is the log's and the panel models count busy polls, not time.
        # max_row: the longest run of bytes one RAM row needs.
        # rotation: 0 = the maker's orientation, 180 = the panel mounted upside down.
        if rotation != 0 and rotation != 180:
            raise ValueError("rotation must be 0 or 180")
        self._spi = spi
        self._cs = cs
        self._dc = dc
        self._rst = rst
        self._busy = busy
        self._sleep_ms = sleep
        self.width = width
        self.height = height
        self.rotation = rotation
        self.BUFFER_SIZE = width * height // 8
        self.reset_timeout_ms = _RESET_TIMEOUT_MS
        self.bytes_sent = 0
        self.win_x = 0
        self.win_y = 0
        self.win_w = width
        self.win_h = height
        self._cmd = bytearray(1)
        self._d1 = bytearray(1)
        self._d2 = bytearray(2)
        self._d3 = bytearray(3)
        self._d4 = bytearray(4)
        # Chunk buffer for RAM rows: views of 1, 2, 4 ... 2**k bytes, view k at offset 2**k-1.
        k = 0
        while (2 << k) - 1 < max_row:
            k += 1
        self._row = bytearray((2 << k) - 1)
        mv = memoryview(self._row)
        self._chunks = [mv[(1 << i) - 1 : (2 << i) - 1] for i in range(k + 1)]
        self._base = None  # the caller's copy of the picture on the glass (set_base)
        self._asleep = True  # unknown state at power-up: leave it through a hardware reset
        self._ready = False  # init() done since the last reset
        self._partial_ready = False  # partial-refresh setup sent since the last reset
        self._ram_known = False  # the controller's RAMs hold the glass's picture everywhere
        self._have_base = False  # the glass shows the picture of the last update
        self._pending = None  # buffer of the update in progress
        self._pending_full = True
        self._pending_window = False
        self._step = 0  # multi-step refresh: the step in progress, 0 = none
        self._settle = False  # a step command just went out
        cs.value(1)
        dc.value(1)
        rst.value(1)

    # --- bus primitives (no allocation) ---

    def _command(self, cmd):
        b = self._cmd
        b[0] = cmd
        self._dc.value(0)
        self._cs.value(0)
        self._spi.write(b)
        self._cs.value(1)
        self.bytes_sent = (self.bytes_sent + 1) & _COUNT_MASK

    def _data(self, buf):
        self._dc.value(1)
        self._cs.value(0)
        self._spi.write(buf)
        self._cs.value(1)
        self.bytes_sent = (self.bytes_sent + len(buf)) & _COUNT_MASK

    def _cmdbuf(self, cmd, buf):
        self._command(cmd)
        self._data(buf)

    def _cmd1(self, cmd, a):
        d = self._d1
        d[0] = a
        self._command(cmd)
        self._data(d)

    def _cmd2(self, cmd, a, b):
        d = self._d2
        d[0] = a
        d[1] = b
        self._command(cmd)
        self._data(d)

    def _cmd3(self, cmd, a, b, c):
        d = self._d3
        d[0] = a
        d[1] = b
        d[2] = c
        self._command(cmd)
        self._data(d)

    def _cmd4(self, cmd, a, b, c, e):
        d = self._d4
        d[0] = a
        d[1] = b
        d[2] = c
        d[3] = e
        self._command(cmd)
        self._data(d)

    def _rows(self, buf, start, row_step, rows, n, step, tab):
        """One data transfer of `rows` RAM rows of n bytes: row r is tab[buf[s]],
        tab[buf[s + step]], ... for s = start + r * row_step. No allocation."""
        spi = self._spi
        row = self._row
        chunks = self._chunks
        top = len(chunks) - 1
        self._dc.value(1)
        self._cs.value(0)
        for _ in range(rows):
            i = start
            k = top
            while k >= 0:
                size = 1 << k
                if n & size:
                    o = size - 1
                    end = o + size
                    while o < end:
                        row[o] = tab[buf[i]]
                        o += 1
                        i += step
                    spi.write(chunks[k])
                k -= 1
            start += row_step
        self._cs.value(1)
        self.bytes_sent = (self.bytes_sent + rows * n) & _COUNT_MASK

    # --- controller hooks (subclasses) ---

    def init(self):
        """Register setup after a hardware reset (for a full refresh)."""
        raise NotImplementedError

    def _write_frame(self, buf):
        """Reset and initialised: send the whole picture to both RAMs, start a full refresh."""
        raise NotImplementedError

    def _enter_partial(self):
        """Awake: the partial refresh's setup (waveform source, options), once per wake."""

    def _write_window(self, buf):
        """Partial setup done: send the window win_* of buf (and, if not _ram_known, restore
        the old RAM from _base first) and start a partial refresh."""
        raise NotImplementedError

    def _finish_frame(self, buf):
        """The refresh is over: make the controller's RAMs match the glass."""

    def _advance(self):
        """BUSY was released during a multi-step refresh: send the next step, or end it.
        True while a step is still running."""
        self._step = 0
        return False

    def _power_off(self):
        """Before deep sleep: switch the drive power off if the controller needs a command."""

    def _sleep_command(self):
        """The controller's deep sleep command."""
        raise NotImplementedError

    # --- public API ---

    def set_base(self, buf):
        """The caller's copy of the picture on the glass: kept by reference and read when a
        partial refresh follows a wake from deep sleep, to rewrite the controller's old RAM.
        The caller updates it after each begin_show*() (the new picture), not before."""
        if len(buf) != self.BUFFER_SIZE:
            raise ValueError("buffer size")
        self._base = buf

    def reset(self):
        """Hardware reset (the only way out of deep sleep), with the maker's pulse lengths."""
        self._rst.value(1)
        self._sleep_ms(self.RESET_HIGH_MS)
        self._rst.value(0)
        self._sleep_ms(self.RESET_LOW_MS)
        self._rst.value(1)
        self._sleep_ms(self.RESET_HIGH_MS)
        self._asleep = False
        self._ready = False
        self._partial_ready = False
        self._ram_known = False

    def busy(self):
        """True while an update is in progress (or BUSY says the controller is working).
        Meant for polling between begin_show() and finish(); never blocks."""
        if self._settle:
            self._settle = False
            return True
        if self._busy.value() == self.BUSY_LEVEL:
            return True
        if self._step:
            return self._advance()
        return False

    def wait_idle(self, timeout_ms=_REFRESH_TIMEOUT_MS):
        """Poll the BUSY pin every 10 ms; raise EPDTimeout once it has been busy for
        timeout_ms. Only the pin: see busy() for a whole update."""
        t0 = ticks_ms()
        level = self.BUSY_LEVEL
        while self._busy.value() == level:
            if ticks_diff(ticks_ms(), t0) >= timeout_ms:
                raise EPDTimeout(_ETIMEDOUT, self.NAME + " busy timeout")
            self._sleep_ms(_POLL_MS)

    def _check(self, buf):
        if len(buf) != self.BUFFER_SIZE:
            raise ValueError("buffer size")
        if self._pending is not None:
            raise RuntimeError("update in progress")

    def begin_show(self, buf, full=True):
        """Start a refresh of the whole picture in buf; returns without waiting. A full refresh
        starts from a hardware reset; the first update after construction or abort() is full."""
        self._check(buf)
        self.win_x = 0
        self.win_y = 0
        self.win_w = self.width
        self.win_h = self.height
        try:
            if full or not self._have_base:
                self._begin_full(buf)
            else:
                self._begin_partial(buf)
        except EPDTimeout:
            self.abort()  # a panel stuck while starting may be powered: reset, deep sleep
            raise

    def _begin_full(self, buf):
        self.win_x = 0
        self.win_y = 0
        self.win_w = self.width
        self.win_h = self.height
        self.reset()
        self.init()
        self._write_frame(buf)
        self._pending = buf
        self._pending_full = True
        self._pending_window = False

    def _begin_partial(self, buf):
        if self._asleep:
            if self._base is None:
                self._begin_full(buf)  # the RAM is lost and nothing can restore it
                return
            self.reset()
        if not self._partial_ready:
            self._enter_partial()
            self._partial_ready = True
        self._write_window(buf)
        self._pending = buf
        self._pending_full = False
        self._pending_window = True

    def _align(self, x, y, w, h):
        x1 = x + w
        y1 = y + h
        if x < 0:
            x = 0
        if y < 0:
            y = 0
        if x1 > self.width:
            x1 = self.width
        if y1 > self.height:
            y1 = self.height
        a = self._X_ALIGN
        x -= x % a
        x1 += (a - x1 % a) % a
        a = self._Y_ALIGN
        y -= y % a
        y1 += (a - y1 % a) % a
        if x1 <= x or y1 <= y:
            raise ValueError("empty window")
        self.win_x = x
        self.win_y = y
        self.win_w = x1 - x
        self.win_h = y1 - y

    def begin_show_window(self, buf, x, y, w, h):
        """Partial refresh of the window (x, y, w, h) of the picture in buf: only the window's
        bytes are sent. The window is clipped and aligned (see win_*). Without a known base
        picture (first update, after abort()) this is a full refresh of the whole picture."""
        self._check(buf)
        self._align(x, y, w, h)
        try:
            if not self._have_base:
                self._begin_full(buf)
            else:
                self._begin_partial(buf)
        except EPDTimeout:
            self.abort()  # a panel stuck while starting may be powered: reset, deep sleep
            raise

    def finish(self):
        """After busy() went False: bring the RAMs up to date with the glass; deep sleep after
        a full refresh, else stay awake with the drive power off."""
        buf = self._pending
        if buf is None:
            return
        if self.busy():
            raise RuntimeError("still busy")
        self._finish_frame(buf)
        self._pending = None
        self._have_base = True
        if self._pending_full:
            self.sleep()

    def abort(self):
        """Give up on an update (timeout): hardware reset, then deep sleep, best effort."""
        self._pending = None
        self._step = 0
        self._settle = False
        self._have_base = False
        self.reset()
        try:
            self.wait_idle(self.reset_timeout_ms)
        except EPDTimeout:
            pass  # send the sleep command anyway
        self._sleep_command()
        self._asleep = True
        self._ready = False

    def _wait_done(self, timeout_ms):
        t0 = ticks_ms()
        while self.busy():
            if ticks_diff(ticks_ms(), t0) >= timeout_ms:
                raise EPDTimeout(_ETIMEDOUT, self.NAME + " busy timeout")
            self._sleep_ms(_POLL_MS)

    def show(self, buf, full=True, timeout_ms=_REFRESH_TIMEOUT_MS):
        """Display buf (full or partial refresh) and wait for it (see finish())."""
        try:
            self.begin_show(buf, full)
            self._wait_done(timeout_ms)
        except EPDTimeout:
            self.abort()
            raise
        self.finish()

    def show_window(self, buf, x, y, w, h, timeout_ms=_REFRESH_TIMEOUT_MS):
        """begin_show_window(), wait for it, finish()."""
        try:
            self.begin_show_window(buf, x, y, w, h)
            self._wait_done(timeout_ms)
        except EPDTimeout:
            self.abort()
            raise
        self.finish()

    def sleep(self):
        """Deep sleep. Only a hardware reset wakes the controller; its RAM is then unknown."""
        if self._asleep:
            return
        self._power_off()
        self._sleep_command()
        self._asleep = True
        self._ready = False
        self._partial_ready = False
        self._ram_known = False
