# A UART on a virtual clock, wired to a device model, with the faults of an RS-485 line.
#
# Portable Python: runs under CPython and inside the MicroPython unix port (no typing, no
# dataclasses), and allocates nothing per transfer once built, so a driver's allocation can be
# measured through it.
#
#     clock = VirtualClock()
#     de = FakePin(clock)
#     uart = FakeUART(clock, peer, baudrate=9600, de=de)
#     drv = ModbusRTU(uart, de=de, ticks_ms=clock.ticks_ms, sleep_ms=clock.sleep_ms)
#
# Time: VirtualClock counts microseconds; sleep_ms() advances it instead of sleeping. Nothing
# happens between calls: the UART works out what has happened by now whenever it is called.
#
# The wire (machine.UART's methods: write, read, readinto, any, flush, txdone, init, deinit):
# - write() queues bytes on TX at one character time each (bits_per_char / baudrate), starting
#   when the previous TX ends, and returns at once, as the ESP32's TX buffer does; flush()
#   advances the clock to the end of the last stop bit.
# - The peer gets the request once its last byte is on the wire: peer.respond(req, n, out)
#   writes its reply into `out` and returns its length (0: no reply). The reply's bytes arrive
#   from latency_ms after the request on, one per character time; any() counts the arrived ones.
# - With a DE pin (FakePin): bytes written while DE is low never reach the bus; DE dropped
#   before the last stop bit truncates the request (the peer sees a broken frame); bytes that
#   arrive while DE is high are lost (the receiver is off: DE and /RE tied, the usual wiring).
#   Each counts in de_violations.
# - Bytes that would arrive while we transmit collide: they are lost and so is the request.
# - A frame written less than 3.5 character times (1.75 ms above 19200 baud) after the last
#   byte on the bus counts in gap_violations; min_gap_us is the shortest gap seen.
#
# Faults, for the next reply (fault_once) or every reply (fault). They assume a Modbus RTU reply
# (unit, function, ..., CRC low, CRC high):
#   NO_REPLY    nothing comes back
#   CRC         one byte flipped
#   GARBAGE     as many bytes of noise instead of the reply
#   PARTIAL     the reply stops 3 bytes short
#   WRONG_UNIT  a valid reply from another unit id
#   NOISE       3 bytes of noise glued before the reply
#   LATE        the reply comes late_ms later than usual (after the master's timeout)
#   EXCEPTION   a valid exception reply, code 04 (server device failure)
#   OSERROR     the UART raises OSError(EIO) on the next call (a driver-level failure)
# fault_hook, if set, is called with the request number and returns the fault for that reply.

from array import array

NONE = 0
NO_REPLY = 1
CRC = 2
GARBAGE = 3
PARTIAL = 4
WRONG_UNIT = 5
NOISE = 6
LATE = 7
EXCEPTION = 8
OSERROR = 9
FAULT_NAMES = (
    "none",
    "no reply",
    "crc",
    "garbage",
    "partial",
    "wrong unit",
    "noise",
    "late",
    "exception",
    "oserror",
)

_RX_CAP = 320
_TX_CAP = 300
_NOISE = 3


def crc16(buf, n):
    """CRC-16/MODBUS of buf[:n], bit by bit (independent of the firmware's table)."""
    c = 0xFFFF
    for i in range(n):
        c ^= buf[i]
        for _ in range(8):
            if c & 1:
                c = (c >> 1) ^ 0xA001
            else:
                c >>= 1
    return c


class VirtualClock:
    def __init__(self, start_ms=0):
        self.us = start_ms * 1000
        self.sleeps = 0

    def ticks_ms(self):
        return self.us // 1000

    def ticks_us(self):
        return self.us

    def sleep_ms(self, ms):
        self.sleeps += 1
        if ms > 0:
            self.us += ms * 1000

    def sleep_us(self, us):
        self.sleeps += 1
        if us > 0:
            self.us += us

    def advance_to_us(self, t):
        if t > self.us:
            self.us = t


class FakePin:
    """An output pin (machine.Pin's value() / on() / off()) that tells a listener of changes."""

    def __init__(self, clock, value=0):
        self.clock = clock
        self._v = value
        self.changes = 0
        self.listener = None  # called with (value, time in us)

    def value(self, v=None):
        if v is None:
            return self._v
        v = 1 if v else 0
        if v != self._v:
            self._v = v
            self.changes += 1
            if self.listener is not None:
                self.listener(v, self.clock.us)
        return None

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def __call__(self, v=None):
        return self.value(v)


class FakeUART:
    def __init__(self, clock, peer, *, baudrate=9600, bits_per_char=11, de=None, latency_ms=5):
        self.clock = clock
        self.peer = peer
        self.bits_per_char = bits_per_char
        self.latency_ms = latency_ms
        self.late_ms = 300
        self.fault = NONE
        self.fault_hook = None
        self._once = -1
        self.record = False  # keep every request and reply as bytes (allocates)
        self.requests_seen = []
        self.replies_sent = []
        self.init(baudrate)
        self.de = de
        if de is not None:
            de.listener = self._de_changed
        self._tx = bytearray(_TX_CAP)
        self._tx_len = 0
        self._tx_start = 0
        self._tx_end = 0
        self._tx_pending = False
        self._tx_broken = False
        self._out = bytearray(_TX_CAP)
        self._rx = bytearray(_RX_CAP)
        # arrival time of each byte, us after _rx_base (int32: the queue spans seconds at most);
        # from a range, not bytes(4 * _RX_CAP): no 1.3 KB temporary in a small, fragmented heap
        self._rx_t = array("i", range(_RX_CAP))
        self._rx_base = 0
        self._rx_head = 0
        self._rx_tail = 0
        self._de_rise = -1
        self._quiet_since = -(10**9)  # time of the last byte on the bus
        self._lcg = 12345
        self._raise = False
        self.requests = 0  # requests delivered to the peer
        self.replies = 0
        self.gap_violations = 0
        self.min_gap_us = 10**9
        self.de_violations = 0
        self.collisions = 0
        self.lost_bytes = 0

    # --- machine.UART ---

    def init(self, baudrate=9600, bits=8, parity=None, stop=1, **kw):
        self.baudrate = baudrate
        self.char_us = (self.bits_per_char * 1000000 + baudrate - 1) // baudrate
        self.gap_us = 1750 if baudrate > 19200 else (7 * self.char_us + 1) // 2

    def deinit(self):
        pass

    def fault_once(self, kind):
        self._once = kind

    def write(self, buf):
        self._check()
        n = len(buf)
        now = self.clock.us
        if now > self._tx_end:
            self._service(now)  # the previous frame is over
        # else: TX is still busy, these bytes continue the same frame
        start = now if now > self._tx_end else self._tx_end
        if self.de is not None and self.de.value() == 0:
            self.de_violations += 1  # the transceiver is not driving: nothing goes out
            return n
        gap = start - self._quiet_since
        if not self._tx_pending:
            if gap < self.min_gap_us:
                self.min_gap_us = gap
            if gap < self.gap_us:
                self.gap_violations += 1
            self._tx_len = 0
            self._tx_start = start
            self._tx_broken = False
        end = start + n * self.char_us
        # Reply bytes due while we transmit collide with us: both are lost.
        i = self._rx_head
        rel = start - self._rx_base
        while i < self._rx_tail and self._rx_t[i] <= rel:
            i += 1
        if i < self._rx_tail and self._rx_t[i] - self.char_us < end - self._rx_base:
            self.collisions += 1
            self.lost_bytes += self._rx_tail - i
            self._rx_tail = i
            self._tx_broken = True
        for j in range(n):
            if self._tx_len < _TX_CAP:
                self._tx[self._tx_len] = buf[j]
                self._tx_len += 1
        self._tx_end = end
        self._tx_pending = True
        return n

    def flush(self):
        self._check()
        self.clock.advance_to_us(self._tx_end)
        self._service(self.clock.us)

    def txdone(self):
        return self.clock.us >= self._tx_end

    def any(self):
        self._check()
        now = self.clock.us
        self._service(now)
        i = self._rx_head
        rel = now - self._rx_base
        while i < self._rx_tail and self._rx_t[i] <= rel:
            i += 1
        if self.de is not None and self.de.value() and self._de_rise >= 0:
            # bytes arrived while the receiver is off are not there
            j = self._rx_head
            rise = self._de_rise - self._rx_base
            while j < i and self._rx_t[j] < rise:
                j += 1
            return j - self._rx_head
        return i - self._rx_head

    def readinto(self, buf, nbytes=-1):
        n = self.any()
        if nbytes >= 0 and nbytes < n:
            n = nbytes
        if len(buf) < n:
            n = len(buf)
        if n == 0:
            return None  # machine.UART: None when nothing came before the timeout
        h = self._rx_head
        rx = self._rx
        for i in range(n):
            buf[i] = rx[h + i]
        self._consumed(n)
        return n

    def read(self, nbytes=-1):
        n = self.any()
        if nbytes >= 0 and nbytes < n:
            n = nbytes
        if n == 0:
            return None
        data = bytes(self._rx[self._rx_head : self._rx_head + n])
        self._consumed(n)
        return data

    # --- the model's side ---

    def _check(self):
        if self._raise:
            self._raise = False
            raise OSError(5, "EIO")

    def _consumed(self, n):
        self._rx_head += n
        if self._rx_head >= self._rx_tail:
            self._rx_head = 0
            self._rx_tail = 0

    def _de_changed(self, v, t):
        self._service(t)
        if v:
            self._de_rise = t
            return
        rise = self._de_rise
        self._de_rise = -1
        if self._tx_pending and t < self._tx_end:
            # DE dropped before the last stop bit: only whole characters sent by then count.
            self.de_violations += 1
            sent = (t - self._tx_start) // self.char_us
            if sent < self._tx_len:
                self._tx_len = sent if sent > 0 else 0
            self._tx_end = t
        if rise >= 0:
            # Reply bytes that arrived while the receiver was off are lost.
            i = self._rx_head
            rise -= self._rx_base
            t -= self._rx_base
            while i < self._rx_tail and self._rx_t[i] < rise:
                i += 1
            j = i
            while j < self._rx_tail and self._rx_t[j] <= t:
                j += 1
            if j > i:
                self.de_violations += 1
                self.lost_bytes += j - i
                self._remove(i, j)

    def _remove(self, i, j):
        k = j - i
        for m in range(j, self._rx_tail):
            self._rx[m - k] = self._rx[m]
            self._rx_t[m - k] = self._rx_t[m]
        self._rx_tail -= k

    def _service(self, now):
        # Deliver the request whose last byte is out by `now`, queue the reply.
        if not self._tx_pending or now < self._tx_end:
            return
        self._tx_pending = False
        end = self._tx_end
        if end > self._quiet_since:
            self._quiet_since = end
        n = self._tx_len
        if self._tx_broken:
            n = 0
        if self.record:
            self.requests_seen.append(bytes(self._tx[:n]))
        if n == 0:
            return
        self.requests += 1
        out = self._out
        m = self.peer.respond(self._tx, n, out)
        kind = self._once
        if kind >= 0:
            self._once = -1
        elif self.fault_hook is not None:
            kind = self.fault_hook(self.requests)
        else:
            kind = self.fault
        if kind == OSERROR:
            self._raise = True
            kind = NONE
        t = end + self.latency_ms * 1000
        if m == 0 or kind == NO_REPLY:
            return
        if kind == CRC:
            out[m // 2] ^= 0x01
        elif kind == GARBAGE:
            for i in range(m):
                out[i] = self._rand()
        elif kind == PARTIAL:
            m = m - 3 if m > 3 else 1
        elif kind == WRONG_UNIT:
            out[0] = out[0] % 247 + 1
            self._seal(out, m)
        elif kind == EXCEPTION:
            out[1] |= 0x80
            out[2] = 0x04
            m = 5
            self._seal(out, m)
        elif kind == LATE:
            t += self.late_ms * 1000
        elif kind == NOISE:
            t -= _NOISE * self.char_us
            for _ in range(_NOISE):
                t += self.char_us
                self._queue(self._rand(), t)
        self.replies += 1
        if self.record:
            self.replies_sent.append(bytes(out[:m]))
        for i in range(m):
            t += self.char_us
            self._queue(out[i], t)

    def _queue(self, b, t):
        if self._rx_tail >= _RX_CAP:
            self._remove(0, self._rx_head)  # compact: drop what was read
            self._rx_head = 0
            if self._rx_tail >= _RX_CAP:
                self.lost_bytes += 1  # RX buffer overflow
                return
        if self._rx_tail == 0:
            self._rx_base = t
        self._rx[self._rx_tail] = b
        self._rx_t[self._rx_tail] = t - self._rx_base
        self._rx_tail += 1
        if t > self._quiet_since:
            self._quiet_since = t

    def _seal(self, out, m):
        c = crc16(out, m - 2)
        out[m - 2] = c & 0xFF
        out[m - 1] = c >> 8

    def _rand(self):
        self._lcg = (self._lcg * 1103515245 + 12345) & 0x7FFFFFFF
        return (self._lcg >> 16) & 0xFF
