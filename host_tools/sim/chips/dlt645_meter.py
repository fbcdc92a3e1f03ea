# DL/T 645-2007 electricity meter model, and a fake RS-485 UART on a virtual clock.
#
# Portable Python: runs under CPython and inside the MicroPython unix port (no typing, no
# dataclasses, no f-strings), so tests/firmware/test_dlt645.py drives the firmware's driver
# against it in both interpreters.
#
#     clock = VirtualClock()
#     meter = DLT645MeterModel("112233445566", energy_kwh=1234.56, power_w=3456.7)
#     uart = FakeSerial(meter, clock)                # machine.UART-like
#     dlt = DLT645(uart, address="112233445566", ticks_ms=clock.ticks_ms, sleep_ms=clock.sleep_ms)
#
# The model (feed(request bytes) -> reply bytes or None) answers as a meter does. Its facts
# are the standard's (DL/T 645-2007: frame 68 A0..A5 68 C L DATA CS 16, address low byte first,
# DATA +33H, CS the byte sum mod 256; appendix A data identifiers and formats, written out
# here, not taken from the firmware's driver) and are checked against an independent
# implementation, PyPI dlt645 3.2.0, in tests/host/test_dlt645_crosscheck.py:
# - 11H read data to its address (or with AA wildcards in the top address bytes): 91H with the
#   DI echoed and the value in packed BCD, low byte first, +33H; an identifier it does not have
#   -> D1H with the error byte "no data requested" (bit 1), as PyPI dlt645 3.2.0's meter server
#   answers; 13H read address to AA AA AA AA AA AA -> 93H with its address (address field and
#   DATA); other control codes -> an abnormal reply with "other error";
# - a request with a checksum error, a missing 16H, or addressed elsewhere (including the
#   99..99 broadcast, which never gets a reply) is ignored: no reply;
# - energy: forward active (00010000) counts while power > 0, reverse active (00020000) while
#   power < 0 (export_kwh); combined active (00000000) is their sum here (which of them a
#   meter adds or subtracts is its "active combination mode word", 04000601, a setting);
# - values come from true physical values (floats) and are TRUNCATED toward zero to the item's
#   resolution, as a register that shows only completed units (the standard fixes the format,
#   XXXXXX.XX kWh etc., not a rounding rule; PyPI dlt645 3.2.0 rounds instead: see the
#   cross-check test). Energy rolls over at 999999.99 kWh like a register; power, current and
#   voltage saturate at the largest value their format holds (79.9999 kW, 799.999 A, 999.9 V).
# - the meter's clock, once set_clock() gave it one (a meter without one answers D1H): date
#   (04000101, YYMMDDWW, WW 0 = Sunday) and time (04000102, hhmmss), packed BCD low byte
#   first, local time, counted on by advance() with the 2-digit-year calendar an RTC has
#   (host_tools/sim/chips/rtcchips.py Calendar).
#
# FakeSerial models the line: 11-bit bytes (8E1) at `baudrate`, the request's transmission time
# (write() queues it, flush() waits until it is out, as machine.UART.flush does), the meter's
# reply latency (the standard allows 20..500 ms), each reply byte arriving one byte time after the
# other, and the RS-485 direction pin: with `de` given, a request written while DE is low never
# reaches the bus, a request cut short by DE going low is lost, and reply bytes arriving while
# DE is still high are lost. Injected faults (inject(fault, count)): NO_REPLY, BAD_CS, GARBAGE,
# PARTIAL, NOISE, EXTRA_FE, ERROR_REPLY, WRONG_ADDRESS, CORRUPT_REQUEST; the meter itself can be
# reset (energy back to 0) or swapped (a new address and energy).
#
# CannedSerial replays prebuilt replies with no allocation at all, for measuring what the
# driver allocates.

_START = 0x68
_END = 0x16
_WAKE = 0xFE
_OFFSET = 0x33
_LOG = 8

ENERGY_COMBINED = 0x00000000
ENERGY_FORWARD = 0x00010000
ENERGY_REVERSE = 0x00020000
VOLTAGE_A = 0x02010100
CURRENT_A = 0x02020100
POWER_TOTAL = 0x02030000
DATE = 0x04000101  # appendix A, variables: date and weekday YYMMDDWW (WW 0 = Sunday)
TIME = 0x04000102  # time hhmmss

ERR_OTHER = 0x01
ERR_NO_DATA = 0x02
ERR_PASSWORD = 0x04

# identifier -> (bytes, decimals, signed, wraps): DL/T 645-2007 appendix A (A.1 energy,
# A.3 variables); the top bit of a signed item's last byte is its sign
ITEMS = {
    ENERGY_COMBINED: (4, 2, True, True),  # XXXXXX.XX kWh, signed (a combination may subtract)
    ENERGY_FORWARD: (4, 2, False, True),  # XXXXXX.XX kWh
    ENERGY_REVERSE: (4, 2, False, True),  # XXXXXX.XX kWh
    POWER_TOTAL: (3, 4, True, False),  # XX.XXXX kW
    VOLTAGE_A: (2, 1, False, False),  # XXX.X V
    CURRENT_A: (3, 3, True, False),  # XXX.XXX A
}

NO_REPLY = "no reply"
BAD_CS = "checksum error"
GARBAGE = "garbage"
PARTIAL = "partial frame"
NOISE = "noise before the frame"
EXTRA_FE = "extra FE before the frame"
ERROR_REPLY = "error reply"
WRONG_ADDRESS = "wrong address"
CORRUPT_REQUEST = "corrupted request"
FAULTS = (
    NO_REPLY,
    BAD_CS,
    GARBAGE,
    PARTIAL,
    NOISE,
    EXTRA_FE,
    ERROR_REPLY,
    WRONG_ADDRESS,
    CORRUPT_REQUEST,
)


def checksum(data):
    s = 0
    for b in data:
        s += b
    return s & 0xFF


def wire_address(address):
    """Nameplate digits (str, most significant first) or 6 wire-order bytes -> 6 wire bytes."""
    if isinstance(address, str):
        text = "0" * (12 - len(address)) + address
        out = bytearray(6)
        for i in range(6):
            out[i] = int(text[10 - 2 * i : 12 - 2 * i], 16)
        return bytes(out)
    address = bytes(address)
    if len(address) != 6:
        raise ValueError("address: 6 bytes")
    return address


def build_frame(address, control, data=b"", preamble=0):
    """A whole frame: `address` in wire order, `data` plain (the +33H is applied here)."""
    f = bytearray(b"\xfe" * preamble)
    head = len(f)
    f.append(_START)
    f.extend(address)
    f.append(_START)
    f.append(control)
    f.append(len(data))
    for b in data:
        f.append((b + _OFFSET) & 0xFF)
    f.append(checksum(f[head:]))
    f.append(_END)
    return bytes(f)


def parse_frame(raw):
    """(address, control, plain data) of the first frame in raw (FE and noise skipped);
    ValueError when there is none or it fails its checks."""
    i = 0
    while i < len(raw) and raw[i] != _START:
        i += 1
    if len(raw) - i < 12 or raw[i + 7] != _START:
        raise ValueError("no frame")
    n = raw[i + 9]
    end = i + 10 + n
    if len(raw) < end + 2:
        raise ValueError("short frame")
    if raw[end] != checksum(raw[i:end]):
        raise ValueError("checksum")
    if raw[end + 1] != _END:
        raise ValueError("no end byte")
    data = bytes((b - _OFFSET) & 0xFF for b in raw[i + 10 : end])
    return bytes(raw[i + 1 : i + 7]), raw[i + 8], data


def bcd(count, size, signed):
    """|count| as packed BCD, low byte first, `size` bytes; sign in the top bit if signed."""
    negative = count < 0
    if negative:
        count = -count
    out = bytearray(size)
    for i in range(size):
        out[i] = (count // 10 % 10) << 4 | count % 10
        count //= 100
    if negative and signed:
        out[size - 1] |= 0x80
    return bytes(out)


def fixed(value, decimals):
    """Truncate toward zero to `decimals` places, as an int count of units (1e-6 absorbs the
    binary representation of decimal inputs: 1234.56 * 100 is 123455.99999999999)."""
    scaled = value * 10**decimals
    if scaled < 0:
        return -int(-scaled + 1e-6)
    return int(scaled + 1e-6)


def encode_item(di, value):
    """The BCD bytes a meter sends for `value` (physical units: kWh, kW, V, A) of item di."""
    size, decimals, signed, wraps = ITEMS[di]
    count = fixed(value, decimals)
    digits = 2 * size
    top = 8 * 10 ** (digits - 1) if signed else 10**digits  # signed: 7 is the top digit
    if wraps:  # a register rolls over; a signed one keeps its sign
        count = count % top if count >= 0 else -(-count % top)
    elif count >= top:
        count = top - 1
    elif count <= -top:
        count = -(top - 1)
    if not signed and count < 0:
        count = 0
    return bcd(count, size, signed)


class DLT645MeterModel:
    def __init__(
        self,
        address,
        energy_kwh=0.0,
        power_w=0.0,
        voltage_v=230.0,
        current_a=0.0,
        preamble=4,
        export_kwh=0.0,
    ):
        self.address = wire_address(address)
        self.energy_kwh = energy_kwh  # forward active energy
        self.export_kwh = export_kwh  # reverse active energy
        self.power_w = power_w
        self.voltage_v = voltage_v
        self.current_a = current_a
        self.preamble = preamble  # FE bytes before each reply (0..4, maker dependent)
        self.error_next = 0  # an error byte: the next read is answered D1H with it
        self.calendar = None  # the meter's clock (set_clock), local time; None: no clock items
        self._clock_us = 0
        self.requests = 0  # frames heard (any address)
        self.replies = 0
        self.ignored = 0  # not for us, or broken

    # --- the physical side ---

    def value(self, di):
        if di == ENERGY_FORWARD:
            return self.energy_kwh
        if di == ENERGY_REVERSE:
            return self.export_kwh
        if di == ENERGY_COMBINED:
            return self.energy_kwh + self.export_kwh
        if di == POWER_TOTAL:
            return self.power_w / 1000
        if di == VOLTAGE_A:
            return self.voltage_v
        if di == CURRENT_A:
            return self.current_a
        return None

    def set_clock(self, year, month, day, hour, minute, second, weekday):
        """Give the meter a clock (its local time): it answers DATE and TIME from then on and
        counts on in advance(). weekday 0 = Sunday, as DATE's WW."""
        from host_tools.sim.chips.rtcchips import Calendar

        c = Calendar(lambda: 0, 0)
        c.year, c.month, c.date = year - 2000, month, day
        c.hour, c.min, c.sec = hour, minute, second
        c.weekday = weekday
        self.calendar = c
        self._clock_us = 0

    def _clock_item(self, di):
        c = self.calendar
        if di == DATE:
            fields = (c.weekday, c.date, c.month, c.year)  # low byte first: WW DD MM YY
        else:
            fields = (c.sec, c.min, c.hour)  # ss mm hh
        return bytes([(f // 10) << 4 | f % 10 for f in fields])

    def advance(self, seconds):
        """Let time pass at the present power: forward energy grows with positive power,
        reverse energy with negative power; the clock counts on."""
        if self.calendar is not None:
            self._clock_us += int(seconds * 1000000)
            n = self._clock_us // 1000000
            if n:
                self._clock_us -= n * 1000000
                self.calendar.advance(n)
        if self.power_w > 0:
            self.energy_kwh += self.power_w * seconds / 3600000
        elif self.power_w < 0:
            self.export_kwh -= self.power_w * seconds / 3600000

    def reset(self):
        """A meter reset (clearing command, 1AH): the registers back to zero."""
        self.energy_kwh = 0.0
        self.export_kwh = 0.0

    def swap(self, address, energy_kwh):
        """Another meter in its place: a new address and a register elsewhere."""
        self.address = wire_address(address)
        self.energy_kwh = energy_kwh
        self.export_kwh = 0.0

    # --- the wire side ---

    def addressed(self, address):
        if address == b"\xaa" * 6:
            return True  # the read-address wildcard; any meter on a point-to-point line
        if address == b"\x99" * 6:
            return False  # broadcast (time sync, freeze): never answered
        # Abbreviated addressing: AA in the top bytes matches anything there.
        i = 5
        while i >= 0 and address[i] == 0xAA:
            i -= 1
        return address[: i + 1] == self.address[: i + 1]

    def feed(self, request):
        """A request as received (FE preamble allowed) -> the reply bytes, or None."""
        try:
            address, control, data = parse_frame(request)
        except ValueError:
            self.ignored += 1
            return None
        self.requests += 1
        if control & 0x80 or not self.addressed(address):
            self.ignored += 1
            return None
        self.replies += 1
        func = control & 0x1F
        if func == 0x13:
            return build_frame(self.address, 0x93, self.address, self.preamble)
        if func != 0x11 or len(data) != 4:
            return build_frame(self.address, control | 0xC0, bytes((ERR_OTHER,)), self.preamble)
        di = data[0] | data[1] << 8 | data[2] << 16 | data[3] << 24
        if self.error_next:
            err = self.error_next
            self.error_next = 0
            return build_frame(self.address, 0xD1, bytes((err,)), self.preamble)
        if (di == DATE or di == TIME) and self.calendar is not None:
            return build_frame(self.address, 0x91, data + self._clock_item(di), self.preamble)
        if di not in ITEMS:
            return build_frame(self.address, 0xD1, bytes((ERR_NO_DATA,)), self.preamble)
        value = encode_item(di, self.value(di))
        return build_frame(self.address, 0x91, data + value, self.preamble)


def _log(log, item):
    # A short history: a long test in the VM's 110 KB heap must not keep every frame.
    log.append(item)
    if len(log) > _LOG:
        log.pop(0)


class VirtualClock:
    """ticks_ms / sleep_ms that only move when slept: milliseconds from microseconds."""

    def __init__(self, start_ms=0):
        self.us = start_ms * 1000

    def ticks_ms(self):
        return self.us // 1000

    def ticks_diff(self, a, b):
        return a - b

    def sleep_ms(self, ms):
        self.us += ms * 1000


class FakePin:
    """An output pin whose level history the fake UART can ask about."""

    def __init__(self, clock, level=0):
        self.clock = clock
        self.level = level
        self.changes = [(0, level)]  # (time us, level)

    def value(self, v=None):
        if v is None:
            return self.level
        v = 1 if v else 0
        if v != self.level:
            self.level = v
            self.changes.append((self.clock.us, v))
            if len(self.changes) > 16:
                self.changes.pop(0)
        return None

    def level_at(self, us):
        level = self.changes[0][1]
        for t, v in self.changes:
            if t > us:
                break
            level = v
        return level

    def low_during(self, start, end):
        """The first time in [start, end) the level was 0, or -1."""
        if self.level_at(start) == 0:
            return start
        for t, v in self.changes:
            if start < t < end and v == 0:
                return t
        return -1


class FakeSerial:
    def __init__(
        self,
        meter,
        clock=None,
        baudrate=2400,
        bits_per_byte=11,
        latency_ms=40,
        de=None,
        seed=12345,
    ):
        self.meter = meter
        self.clock = clock if clock is not None else VirtualClock()
        self.byte_us = bits_per_byte * 1000000 // baudrate
        self.latency_us = latency_ms * 1000
        self.de = de
        self._seed = seed
        self._faults = []  # [fault, replies left]
        self._rx = bytearray()  # bytes on their way to us
        self._rx_at = []  # arrival time of each, us
        self._pending = None  # (request, tx start, tx end) being transmitted
        self._heard_end = 0  # when the last request heard was out (us)
        self.tx_end_us = 0
        self.requests = []  # the last requests put on the bus, as bytes (at most _LOG)
        self.replies = []  # the last replies the meter put on the bus (after faults)
        self.lost_tx = 0  # requests cut by the direction pin
        self.lost_rx = 0  # reply bytes lost while DE was high

    def inject(self, fault, count=1):
        if fault not in FAULTS:
            raise ValueError(fault)
        self._faults.append([fault, count])

    def clear_faults(self):
        """Forget the injected faults not yet used."""
        del self._faults[:]

    def _rand(self):
        self._seed = (self._seed * 1103515245 + 12345) & 0x7FFFFFFF
        return self._seed >> 16

    # --- machine.UART ---

    def write(self, buf):
        data = bytes(buf)
        now = self.clock.us
        start = now if now > self.tx_end_us else self.tx_end_us
        end = start + len(data) * self.byte_us
        self.tx_end_us = end
        self._pending = (data, start, end)
        return len(data)

    def flush(self):
        self._settle()
        if self.clock.us < self.tx_end_us:
            self.clock.us = self.tx_end_us

    def txdone(self):
        return self.clock.us >= self.tx_end_us

    def any(self):
        self._settle()
        now = self.clock.us
        n = 0
        while n < len(self._rx_at) and self._rx_at[n] <= now:
            n += 1
        return n

    def read(self, nbytes=-1):
        n = self.any()
        if nbytes >= 0 and nbytes < n:
            n = nbytes
        if not n:
            return None
        out = bytes(self._rx[:n])
        self._take(n)
        return out

    def readinto(self, buf, nbytes=-1):
        n = self.any()
        if nbytes < 0 or nbytes > len(buf):
            nbytes = len(buf)
        if nbytes < n:
            n = nbytes
        if not n:
            return None
        for i in range(n):
            buf[i] = self._rx[i]
        self._take(n)
        return n

    def _take(self, n):
        self._rx = self._rx[n:]
        self._rx_at = self._rx_at[n:]

    # --- the line and the meter ---

    def _settle(self):
        # The request is heard once its last byte is out; the reply is scheduled from then.
        data = self._heard()
        if data is None:
            return
        reply = self._answer(data)
        if reply is not None:
            self._reply(reply, self._heard_end)

    def _heard(self):
        """The request's bytes as the line carried them, once its last byte is out (at
        self._heard_end, us); None before then, or when the transmitter was off for all of it.
        (No tuple: the models may share a VM with the unit, whose heap a bench counts.)"""
        p = self._pending
        if p is None or self.clock.us < p[2]:
            return None
        self._pending = None
        data, start, end = p
        de = self.de
        if de is not None:
            cut = de.low_during(start, end)
            if cut >= 0:
                self.lost_tx += 1
                data = data[: (cut - start) // self.byte_us]  # the transmitter went off
        if not data:
            return None
        _log(self.requests, data)
        self._heard_end = end
        return data

    def _answer(self, data):
        """The meter's reply to a request (None: no reply), with the injected fault."""
        fault = None
        if self._faults:
            fault = self._faults[0][0]
            self._faults[0][1] -= 1
            if self._faults[0][1] <= 0:
                self._faults.pop(0)
        if fault == CORRUPT_REQUEST:
            data = bytearray(data)
            data[-3] ^= 0x10  # a flipped bit in the DATA: the meter sees a checksum error
        if fault == ERROR_REPLY:
            self.meter.error_next = ERR_OTHER
        reply = self.meter.feed(bytes(data))
        if reply is None:
            return None
        return self._spoil(reply, fault)

    def _reply(self, reply, end):
        # the reply's bytes from the line's latency after the request, one byte time each
        _log(self.replies, reply)
        de = self.de
        t = end + self.latency_us
        for b in reply:
            t += self.byte_us
            if de is not None and de.level_at(t) == 1:
                self.lost_rx += 1  # the receiver is off while we still drive the bus
                continue
            self._rx.append(b)
            self._rx_at.append(t)

    def _spoil(self, reply, fault):
        if fault is None or fault == ERROR_REPLY or fault == CORRUPT_REQUEST:
            return reply
        if fault == NO_REPLY:
            return None
        head = 0
        while reply[head] == _WAKE:
            head += 1
        if fault == BAD_CS:
            r = bytearray(reply)
            r[-2] ^= 0x5A
            return bytes(r)
        if fault == GARBAGE:
            # Random bytes without a 68: nothing a parser could take for a frame.
            r = bytearray(len(reply))
            for i in range(len(r)):
                b = self._rand() & 0xFF
                r[i] = 0x69 if b == _START else b
            return bytes(r)
        if fault == PARTIAL:
            cut = head + 1 + self._rand() % (len(reply) - head - 2)
            return reply[:cut]
        if fault == NOISE:
            # Turnaround noise, with a false 68 in it, before a good frame.
            return b"\x00\xff\x68\x13\x55" + reply
        if fault == EXTRA_FE:
            return b"\xfe" * 8 + reply
        if fault == WRONG_ADDRESS:
            address, control, data = parse_frame(reply)
            other = bytearray(address)
            other[0] = (other[0] + 1) & 0xFF
            return build_frame(bytes(other), control, data, head)
        return reply


class CannedSerial:
    """Replays prebuilt replies, chosen by the DI (or 13H) of each request; allocates nothing.

    replies: {di: reply bytes} for 11H requests, with key -1 for the 13H address request.
    Every reply is available as soon as the request is written.
    """

    def __init__(self, replies):
        self.replies = replies
        self._reply = b""
        self._pos = 0
        self.writes = 0

    def write(self, buf):
        self.writes += 1
        i = 0
        while buf[i] != _START:
            i += 1
        if buf[i + 8] == 0x13:
            key = -1
        else:
            key = (
                ((buf[i + 10] - _OFFSET) & 0xFF)
                | ((buf[i + 11] - _OFFSET) & 0xFF) << 8
                | ((buf[i + 12] - _OFFSET) & 0xFF) << 16
                | ((buf[i + 13] - _OFFSET) & 0xFF) << 24
            )
        self._reply = self.replies[key]
        self._pos = 0
        return len(buf)

    def flush(self):
        pass

    def any(self):
        return len(self._reply) - self._pos

    def readinto(self, buf, nbytes=-1):
        n = len(self._reply) - self._pos
        if nbytes < 0 or nbytes > len(buf):
            nbytes = len(buf)
        if nbytes < n:
            n = nbytes
        if not n:
            return None
        reply = self._reply
        pos = self._pos
        i = 0
        while i < n:
            buf[i] = reply[pos + i]
            i += 1
        self._pos = pos + n
        return n
