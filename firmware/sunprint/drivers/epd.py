# Base class for e-paper controllers (one module per controller over it, in the style of
# Adafruit_CircuitPython_EPD, with keyword-only pins): the bus, the pins, command/data helpers on
# preallocated buffers, BUSY polling with the controller's polarity, timeouts that raise instead
# of hanging, and the update lifecycle
#
#     set_base(prev)                                               the caller's copy of the glass
#     restore_base()                        after a deep sleep: RAM from it now, before a redraw
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
#   frame the caller keeps of the glass. Without one, a partial after deep sleep becomes a full
#   refresh. sunprint.app.App keeps no second frame: its base is the frame buffer itself, and
#   it calls restore_base() before each render, which does that rewrite at once while the
#   buffer still holds the glass's picture (the same commands, sent before the render).
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

# SSD16xx controllers (SSD1680, SSD1683): the commands of the frame hooks EPD gives them by
# default (UC8179 overrides those hooks).
_SSD_UPDATE_CONTROL_2 = const(0x22)
_SSD_MASTER_ACTIVATION = const(0x20)
_SSD_RAM_BW = const(0x24)  # the new picture
_SSD_RAM_RED = const(0x26)  # the old picture (a partial refresh's reference)
_SSD_UPDATE_FULL = const(0xF7)  # clock+analog on, load temp, load LUT (OTP), mode 1, off again

# Translation tables (256 bytes each): bytes constants, so they stay in flash when the app is
# frozen instead of 256 bytes each on the heap. tests/firmware/test_epd_tables.py checks them
# against the rule. [kind]: 0 the byte itself, INVERT ~b, REVERSE bit order, both.
INVERT = const(1)
REVERSE = const(2)
_TABLES = (
    (
        b"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"
        b"\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f"
        b"\x20\x21\x22\x23\x24\x25\x26\x27\x28\x29\x2a\x2b\x2c\x2d\x2e\x2f"
        b"\x30\x31\x32\x33\x34\x35\x36\x37\x38\x39\x3a\x3b\x3c\x3d\x3e\x3f"
        b"\x40\x41\x42\x43\x44\x45\x46\x47\x48\x49\x4a\x4b\x4c\x4d\x4e\x4f"
        b"\x50\x51\x52\x53\x54\x55\x56\x57\x58\x59\x5a\x5b\x5c\x5d\x5e\x5f"
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f"
        b"\x70\x71\x72\x73\x74\x75\x76\x77\x78\x79\x7a\x7b\x7c\x7d\x7e\x7f"
        b"\x80\x81\x82\x83\x84\x85\x86\x87\x88\x89\x8a\x8b\x8c\x8d\x8e\x8f"
        b"\x90\x91\x92\x93\x94\x95\x96\x97\x98\x99\x9a\x9b\x9c\x9d\x9e\x9f"
        b"\xa0\xa1\xa2\xa3\xa4\xa5\xa6\xa7\xa8\xa9\xaa\xab\xac\xad\xae\xaf"
        b"\xb0\xb1\xb2\xb3\xb4\xb5\xb6\xb7\xb8\xb9\xba\xbb\xbc\xbd\xbe\xbf"
        b"\xc0\xc1\xc2\xc3\xc4\xc5\xc6\xc7\xc8\xc9\xca\xcb\xcc\xcd\xce\xcf"
        b"\xd0\xd1\xd2\xd3\xd4\xd5\xd6\xd7\xd8\xd9\xda\xdb\xdc\xdd\xde\xdf"
        b"\xe0\xe1\xe2\xe3\xe4\xe5\xe6\xe7\xe8\xe9\xea\xeb\xec\xed\xee\xef"
        b"\xf0\xf1\xf2\xf3\xf4\xf5\xf6\xf7\xf8\xf9\xfa\xfb\xfc\xfd\xfe\xff"
    ),
    (
        b"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5\xf4\xf3\xf2\xf1\xf0"
        b"\xef\xee\xed\xec\xeb\xea\xe9\xe8\xe7\xe6\xe5\xe4\xe3\xe2\xe1\xe0"
        b"\xdf\xde\xdd\xdc\xdb\xda\xd9\xd8\xd7\xd6\xd5\xd4\xd3\xd2\xd1\xd0"
        b"\xcf\xce\xcd\xcc\xcb\xca\xc9\xc8\xc7\xc6\xc5\xc4\xc3\xc2\xc1\xc0"
        b"\xbf\xbe\xbd\xbc\xbb\xba\xb9\xb8\xb7\xb6\xb5\xb4\xb3\xb2\xb1\xb0"
        b"\xaf\xae\xad\xac\xab\xaa\xa9\xa8\xa7\xa6\xa5\xa4\xa3\xa2\xa1\xa0"
        b"\x9f\x9e\x9d\x9c\x9b\x9a\x99\x98\x97\x96\x95\x94\x93\x92\x91\x90"
        b"\x8f\x8e\x8d\x8c\x8b\x8a\x89\x88\x87\x86\x85\x84\x83\x82\x81\x80"
        b"\x7f\x7e\x7d\x7c\x7b\x7a\x79\x78\x77\x76\x75\x74\x73\x72\x71\x70"
        b"\x6f\x6e\x6d\x6c\x6b\x6a\x69\x68\x67\x66\x65\x64\x63\x62\x61\x60"
        b"\x5f\x5e\x5d\x5c\x5b\x5a\x59\x58\x57\x56\x55\x54\x53\x52\x51\x50"
        b"\x4f\x4e\x4d\x4c\x4b\x4a\x49\x48\x47\x46\x45\x44\x43\x42\x41\x40"
        b"\x3f\x3e\x3d\x3c\x3b\x3a\x39\x38\x37\x36\x35\x34\x33\x32\x31\x30"
        b"\x2f\x2e\x2d\x2c\x2b\x2a\x29\x28\x27\x26\x25\x24\x23\x22\x21\x20"
        b"\x1f\x1e\x1d\x1c\x1b\x1a\x19\x18\x17\x16\x15\x14\x13\x12\x11\x10"
        b"\x0f\x0e\x0d\x0c\x0b\x0a\x09\x08\x07\x06\x05\x04\x03\x02\x01\x00"
    ),
    (
        b"\x00\x80\x40\xc0\x20\xa0\x60\xe0\x10\x90\x50\xd0\x30\xb0\x70\xf0"
        b"\x08\x88\x48\xc8\x28\xa8\x68\xe8\x18\x98\x58\xd8\x38\xb8\x78\xf8"
        b"\x04\x84\x44\xc4\x24\xa4\x64\xe4\x14\x94\x54\xd4\x34\xb4\x74\xf4"
        b"\x0c\x8c\x4c\xcc\x2c\xac\x6c\xec\x1c\x9c\x5c\xdc\x3c\xbc\x7c\xfc"
        b"\x02\x82\x42\xc2\x22\xa2\x62\xe2\x12\x92\x52\xd2\x32\xb2\x72\xf2"
        b"\x0a\x8a\x4a\xca\x2a\xaa\x6a\xea\x1a\x9a\x5a\xda\x3a\xba\x7a\xfa"
        b"\x06\x86\x46\xc6\x26\xa6\x66\xe6\x16\x96\x56\xd6\x36\xb6\x76\xf6"
        b"\x0e\x8e\x4e\xce\x2e\xae\x6e\xee\x1e\x9e\x5e\xde\x3e\xbe\x7e\xfe"
        b"\x01\x81\x41\xc1\x21\xa1\x61\xe1\x11\x91\x51\xd1\x31\xb1\x71\xf1"
        b"\x09\x89\x49\xc9\x29\xa9\x69\xe9\x19\x99\x59\xd9\x39\xb9\x79\xf9"
        b"\x05\x85\x45\xc5\x25\xa5\x65\xe5\x15\x95\x55\xd5\x35\xb5\x75\xf5"
        b"\x0d\x8d\x4d\xcd\x2d\xad\x6d\xed\x1d\x9d\x5d\xdd\x3d\xbd\x7d\xfd"
        b"\x03\x83\x43\xc3\x23\xa3\x63\xe3\x13\x93\x53\xd3\x33\xb3\x73\xf3"
        b"\x0b\x8b\x4b\xcb\x2b\xab\x6b\xeb\x1b\x9b\x5b\xdb\x3b\xbb\x7b\xfb"
        b"\x07\x87\x47\xc7\x27\xa7\x67\xe7\x17\x97\x57\xd7\x37\xb7\x77\xf7"
        b"\x0f\x8f\x4f\xcf\x2f\xaf\x6f\xef\x1f\x9f\x5f\xdf\x3f\xbf\x7f\xff"
    ),
    (
        b"\xff\x7f\xbf\x3f\xdf\x5f\x9f\x1f\xef\x6f\xaf\x2f\xcf\x4f\x8f\x0f"
        b"\xf7\x77\xb7\x37\xd7\x57\x97\x17\xe7\x67\xa7\x27\xc7\x47\x87\x07"
        b"\xfb\x7b\xbb\x3b\xdb\x5b\x9b\x1b\xeb\x6b\xab\x2b\xcb\x4b\x8b\x0b"
        b"\xf3\x73\xb3\x33\xd3\x53\x93\x13\xe3\x63\xa3\x23\xc3\x43\x83\x03"
        b"\xfd\x7d\xbd\x3d\xdd\x5d\x9d\x1d\xed\x6d\xad\x2d\xcd\x4d\x8d\x0d"
        b"\xf5\x75\xb5\x35\xd5\x55\x95\x15\xe5\x65\xa5\x25\xc5\x45\x85\x05"
        b"\xf9\x79\xb9\x39\xd9\x59\x99\x19\xe9\x69\xa9\x29\xc9\x49\x89\x09"
        b"\xf1\x71\xb1\x31\xd1\x51\x91\x11\xe1\x61\xa1\x21\xc1\x41\x81\x01"
        b"\xfe\x7e\xbe\x3e\xde\x5e\x9e\x1e\xee\x6e\xae\x2e\xce\x4e\x8e\x0e"
        b"\xf6\x76\xb6\x36\xd6\x56\x96\x16\xe6\x66\xa6\x26\xc6\x46\x86\x06"
        b"\xfa\x7a\xba\x3a\xda\x5a\x9a\x1a\xea\x6a\xaa\x2a\xca\x4a\x8a\x0a"
        b"\xf2\x72\xb2\x32\xd2\x52\x92\x12\xe2\x62\xa2\x22\xc2\x42\x82\x02"
        b"\xfc\x7c\xbc\x3c\xdc\x5c\x9c\x1c\xec\x6c\xac\x2c\xcc\x4c\x8c\x0c"
        b"\xf4\x74\xb4\x34\xd4\x54\x94\x14\xe4\x64\xa4\x24\xc4\x44\x84\x04"
        b"\xf8\x78\xb8\x38\xd8\x58\x98\x18\xe8\x68\xa8\x28\xc8\x48\x88\x08"
        b"\xf0\x70\xb0\x30\xd0\x50\x90\x10\xe0\x60\xa0\x20\xc0\x40\x80\x00"
    ),
)  # fmt: skip


def table(kind):
    """The 256-byte translation table: INVERT (~b), REVERSE (bit order), or both (|)."""
    return _TABLES[kind]


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
        """Reset and initialised: send the whole picture to both RAMs, start a full refresh.
        This and _finish_frame, _send_whole, _update are the SSD16xx controllers' (SSD1680,
        SSD1683; their _send(ram, buf) sends the window win_* of buf to a RAM); UC8179 has
        its own."""
        self._send(_SSD_RAM_BW, buf)  # type: ignore[attr-defined]
        self._send(_SSD_RAM_RED, buf)  # type: ignore[attr-defined]
        self._ram_known = True
        self._update(_SSD_UPDATE_FULL)

    def _send_whole(self, ram, buf):
        """All of buf to a RAM; win_* is kept."""
        x = self.win_x
        y = self.win_y
        w = self.win_w
        h = self.win_h
        self.win_x = 0
        self.win_y = 0
        self.win_w = self.width
        self.win_h = self.height
        self._send(ram, buf)  # type: ignore[attr-defined]
        self.win_x = x
        self.win_y = y
        self.win_w = w
        self.win_h = h

    def _update(self, sequence):
        self._cmd1(_SSD_UPDATE_CONTROL_2, sequence)
        self._command(_SSD_MASTER_ACTIVATION)

    def _enter_partial(self):
        """Awake: the partial refresh's setup (waveform source, options), once per wake."""

    def _write_window(self, buf):
        """Partial setup done: send the window win_* of buf (and, if not _ram_known, restore
        the old RAM from _base first) and start a partial refresh."""
        raise NotImplementedError

    def _finish_frame(self, buf):
        """The refresh is over: make the controller's RAMs match the glass (SSD16xx: after a
        partial refresh, both RAMs get the new picture)."""
        if self._pending_window:
            self._send(_SSD_RAM_RED, buf)  # type: ignore[attr-defined]
            self._send(_SSD_RAM_BW, buf)  # type: ignore[attr-defined]

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

    def restore_base(self):
        """Before the caller draws over the base buffer (set_base): when the controller slept
        since the picture on the glass was shown (its RAM lost: after a full refresh), wake it
        and rewrite its RAM from the base now, as the next partial refresh would have (the
        same commands, sent earlier). Then nothing of the base is read again until the next
        deep sleep. Does nothing otherwise. Timeouts: as begin_show (abort, EPDTimeout)."""
        if self._pending is not None or not self._have_base or self._base is None:
            return
        if not self._asleep:
            return
        try:
            self.reset()
            if not self._partial_ready:
                self._enter_partial()
                self._partial_ready = True
            self._write_base()
        except EPDTimeout:
            self.abort()
            raise

    def _write_base(self):
        """Awake, partial set up: the base picture into the RAM a partial refresh compares
        with (controller hook; the subclasses' _write_window does it when this did not)."""
        raise NotImplementedError

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
