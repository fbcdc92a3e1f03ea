# Base class for e-paper controllers (one module per controller over it, in the style of
# Adafruit_CircuitPython_EPD, with keyword-only pins): the bus, the pins, command/data helpers on
# preallocated buffers, BUSY polling with the controller's polarity, timeouts that raise instead
# of hanging, and the update lifecycle
#
#     begin_show(buf, full) / begin_show_window(buf, x, y, w, h)   wake, RAM transfer, start
#     busy()                                                       poll; never blocks
#     finish()                                                     base rewrite + deep sleep
#     show(...) / show_window(...) = begin + poll + finish; abort() after a timeout; sleep()
#
# The bus is handed in (micropython-lib ssd1306 style): `spi` has write(buf); cs, dc, rst are
# output pins and busy an input pin, each with value() / value(v), configured by the board code.
# BUSY_LEVEL is the level of BUSY that means "working": 1 for Solomon SSD16xx, 0 for UltraChip
# UC81xx (BUSY_N). Every update ends in the controller's deep sleep: leaving an e-paper panel
# powered damages it, and deep sleep is the only state that is safe to leave for minutes.
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
# Window rows are sent without allocating: each row is copied into a preallocated chunk buffer
# and written as power-of-two chunks (a memoryview slice would allocate 16 bytes on an ESP32, per
# row). A row of n bytes costs popcount(n) spi.write calls, all inside one CS-low transfer.
#
# bytes_sent counts every byte the driver clocks out (commands, parameters, picture data),
# modulo 2**30 so it stays a small int on the ESP32.
#
# Timeouts raise EPDTimeout, an OSError subclass with errno ETIMEDOUT (110). show() first calls
# abort() (hardware reset, then deep sleep, best effort) so a stuck panel is not left powered; a
# runner using begin_show()/busy() calls abort() itself when it gives up.

from sunprint.compat import const, ticks_diff, ticks_ms

_RESET_HIGH_MS = const(10)
_RESET_LOW_MS = const(2)
_POLL_MS = const(10)
_RESET_TIMEOUT_MS = const(1000)
_REFRESH_TIMEOUT_MS = const(10000)
_ETIMEDOUT = const(110)
_COUNT_MASK = const(0x3FFFFFFF)


class EPDTimeout(OSError):
    """BUSY stayed busy longer than the timeout. errno is ETIMEDOUT (110)."""


class EPD:
    NAME = "EPD"
    BUFFER_FORMAT = 0  # framebuf format of the app's picture (subclasses override)
    BUSY_LEVEL = 1  # BUSY level that means the controller is working
    _X_ALIGN = 1  # window granularity in picture pixels, per axis
    _Y_ALIGN = 1

    def __init__(self, spi, cs, dc, rst, busy, width, height, sleep, max_row):
        # `sleep` waits real milliseconds on a device; replay hands in a no-op, because its
        # clock is the log's and the panel models count busy polls, not time.
        # max_row: the longest run of bytes a window sends in one row.
        self._spi = spi
        self._cs = cs
        self._dc = dc
        self._rst = rst
        self._busy = busy
        self._sleep_ms = sleep
        self.width = width
        self.height = height
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
        # Chunk buffer for window rows: views of 1, 2, 4 ... 2**k bytes, view k at offset 2**k-1.
        k = 0
        while (2 << k) - 1 < max_row:
            k += 1
        self._row = bytearray((2 << k) - 1)
        mv = memoryview(self._row)
        self._chunks = [mv[(1 << i) - 1 : (2 << i) - 1] for i in range(k + 1)]
        self._asleep = True  # unknown state at power-up: leave it through a hardware reset
        self._ready = False  # init() done since the last reset
        self._have_base = False  # the controller's "previous picture" is what the glass shows
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

    def _rows(self, buf, start, stride, rows, n):
        """Send n bytes from buf[start + r * stride] for each of `rows` rows as one data
        transfer, through the chunk buffer (no allocation)."""
        spi = self._spi
        row = self._row
        chunks = self._chunks
        top = len(chunks) - 1
        self._dc.value(1)
        self._cs.value(0)
        for _ in range(rows):
            s = start
            k = top
            while k >= 0:
                size = 1 << k
                if n & size:
                    o = size - 1
                    for i in range(s, s + size):
                        row[o] = buf[i]
                        o += 1
                    spi.write(chunks[k])
                    s += size
                k -= 1
            start += stride
        self._cs.value(1)
        self.bytes_sent = (self.bytes_sent + rows * n) & _COUNT_MASK

    # --- controller hooks (subclasses) ---

    def init(self):
        """Register setup after a hardware reset."""
        raise NotImplementedError

    def _write_frame(self, buf, full):
        """Awake and initialised: send the whole picture and start a full or partial refresh."""
        raise NotImplementedError

    def _write_window(self, buf):
        """Awake and initialised: send the window win_* of buf and start a partial refresh."""
        raise NotImplementedError

    def _finish_frame(self, buf):
        """The refresh is over: make the controller's previous-picture RAM match the glass."""

    def _advance(self):
        """BUSY was released during a multi-step refresh: send the next step, or end it.
        True while a step is still running."""
        self._step = 0
        return False

    def _power_off(self):
        """Before deep sleep: switch the panel power off if the controller needs a command."""

    def _sleep_command(self):
        """The controller's deep sleep command."""
        raise NotImplementedError

    # --- public API ---

    def reset(self):
        """Hardware reset (the only way out of deep sleep). Blocks about 22 ms."""
        self._rst.value(1)
        self._sleep_ms(_RESET_HIGH_MS)
        self._rst.value(0)
        self._sleep_ms(_RESET_LOW_MS)
        self._rst.value(1)
        self._sleep_ms(_RESET_HIGH_MS)
        self._asleep = False
        self._ready = False

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

    def _wake(self):
        if self._asleep:
            self.reset()
        if not self._ready:
            self.init()

    def begin_show(self, buf, full=True):
        """Wake the panel, write buf to RAM and start the refresh; returns without waiting.
        The first update after construction or abort() is always full."""
        self._check(buf)
        if not self._have_base:
            full = True
        self.win_x = 0
        self.win_y = 0
        self.win_w = self.width
        self.win_h = self.height
        self._wake()
        self._write_frame(buf, full)
        self._pending = buf
        self._pending_full = full
        self._pending_window = False

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
        if not self._have_base:
            self.begin_show(buf, True)
            return
        self._wake()
        self._write_window(buf)
        self._pending = buf
        self._pending_full = False
        self._pending_window = True

    def finish(self):
        """After busy() went False: bring the base picture up to date, then deep sleep."""
        buf = self._pending
        if buf is None:
            return
        if self.busy():
            raise RuntimeError("still busy")
        self._finish_frame(buf)
        self._pending = None
        self._have_base = True
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
        """Display buf (full or partial refresh), wait for it, leave the panel in deep sleep."""
        try:
            self.begin_show(buf, full)
            self._wait_done(timeout_ms)
        except EPDTimeout:
            self.abort()
            raise
        self.finish()

    def show_window(self, buf, x, y, w, h, timeout_ms=_REFRESH_TIMEOUT_MS):
        """begin_show_window(), wait for it, leave the panel in deep sleep."""
        try:
            self.begin_show_window(buf, x, y, w, h)
            self._wait_done(timeout_ms)
        except EPDTimeout:
            self.abort()
            raise
        self.finish()

    def sleep(self):
        """Deep sleep. Only a hardware reset wakes the controller."""
        if self._asleep:
            return
        self._power_off()
        self._sleep_command()
        self._asleep = True
        self._ready = False
