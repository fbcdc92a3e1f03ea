# DL/T 645-2007 master: reads a Chinese electricity meter over RS-485 (multi-function watt-hour
# meter communication protocol). The bus is handed in (micropython-lib style): `uart` is an
# already configured machine.UART (write, flush, any, readinto); `de` is the RS-485 driver-enable
# output pin (value(v)), or None for a transceiver that switches direction by itself. The driver
# never imports machine. Board code opens the UART as the standard's byte format says: start bit,
# 8 data bits, EVEN parity, stop bit, 11 bits a byte (DL/T 645-2007, byte format), at the meter's
# configured rate: 2400 baud is what these meters usually ship with on RS-485 (the rate is a
# meter setting; pass `baudrate` to match it, the driver uses it only for its waits):
#     UART(2, baudrate=2400, bits=UART_BITS, parity=UART_PARITY, stop=UART_STOP, tx=.., rx=..)
#
# Frame (DL/T 645-2007 frame format; the same layout in the independent implementations checked
# in tests/host/test_dlt645_crosscheck.py, PyPI dlt645 3.2.0 protocol/protocol.py, and in the
# examples of github.com/wqs-base/libDLT645 tests/test_frame.c):
#     [FE x 0..4] 68 A0 A1 A2 A3 A4 A5 68 C L DATA(L bytes) CS 16
# - FE: wake-up preamble, sent by the master before a frame (4 here, 0..4 allowed). Meters answer
#   with 0 to 4 FE, maker dependent, so a reply is read by skipping all before the first 68.
# - A0..A5: address, 12 BCD digits, LOW byte first (5.3.2: every item low byte first): the meter
#   printed "112233445566" is sent 66 55 44 33 22 11 (libDLT645 test_addr: "123456789012" ->
#   12 90 78 56 34 12). A short address has 0 digits on top. AA AA AA AA AA AA reaches any
#   meter: for reading the address of the single meter on a point-to-point line (13H).
# - C (5.2.3): D7 direction (1 = from the meter), D6 abnormal reply, D5 follow-up frame,
#   D4..D0 function (11H read data, 13H read address). Normal reply 91H / 93H, error D1H / D3H.
# - DATA: every byte +33H (mod 256) on the wire, -33H on reception.
# - CS: sum of all bytes from the first 68 through the last DATA byte, mod 256. A meter drops a
#   request with a parity or checksum error without a reply.
# Read data (11H): DATA = DI0 DI1 DI2 DI3 (identifier, low byte first); the reply's DATA is the
# same 4 DI bytes and then the value, packed BCD, low byte first. For signed items the top bit of
# the most significant byte is the sign (1 = negative) (DL/T 645-2007 variable data table,
# notes on instantaneous power and on current; libDLT645 dlt645_bcd_decode and PyPI dlt645
# 3.2.0 transform.bcd_to_float read the sign there too).
# Error reply (D1H): L = 1, DATA = the error information word (appendix C; libDLT645
# include/dlt645/dlt645_types.h, dlt645 3.2.0 ErrorCode): bit0 other error, bit1 no data
# requested, bit2 password error / unauthorised, bit3 baud rate cannot be changed, bit4 year
# zones exceeded, bit5 day periods exceeded, bit6 tariffs exceeded, bit7 reserved.
# 91H with D5 set (B1H: more frames follow, fetched with 12H): the identifiers read here are a
# single value of at most 4 bytes, which is whole in the first frame; it is decoded and `follows`
# is set, the follow-up frames are never requested.
#
# Timing (DL/T 645-2007 5.3.3, transmission response): the meter answers 20 ms <= Td <= 500 ms
# after the request. So a read waits `timeout_ms` (500) for the first reply byte after our last
# stop bit (uart.flush()), then at most the time of the longest reply we accept for the rest; it
# returns as soon as a whole frame is in. Worst case per read(): (retries + 1) * (request +
# timeout_ms + reply time), about 2.3 s at 2400 baud with retries=2 and a meter sending garbage,
# 1.8 s on a dead line; Meter.poll() stops at the first read that got no answer.
#
# Memory: one preallocated bytearray carries the request, the incoming chunks and the frame
# being assembled; BCD is decoded in place. read() and Meter.poll() allocate nothing after the
# first call (measured in tests/firmware/test_dlt645.py and tests/bench/bench_dlt645.py).

from sunprint.compat import const, sleep_ms, ticks_diff, ticks_ms
from sunprint.quality import BAD_FRAME, DEVICE_ERROR, NO_ANSWER, NOT_READY, OK

# Data identifiers DI3 DI2 DI1 DI0, as the standard writes them (appendix A).
ENERGY_COMBINED = const(0x00000000)  # combined active total energy, XXXXXX.XX kWh, signed
ENERGY_FORWARD = const(0x00010000)  # forward active total energy, XXXXXX.XX kWh
ENERGY_REVERSE = const(0x00020000)  # reverse active total energy, XXXXXX.XX kWh
VOLTAGE_A = const(0x02010100)  # phase A voltage, XXX.X V
CURRENT_A = const(0x02020100)  # phase A current, XXX.XXX A, signed
POWER_TOTAL = const(0x02030000)  # total active power, XX.XXXX kW, signed
DATE = const(0x04000101)  # the meter's date and weekday, YYMMDDWW (WW: 0 = Sunday), local time
TIME = const(0x04000102)  # the meter's time, hhmmss, local time (clock/meter.py reads both)

# Error byte bits of a D1H reply.
ERR_OTHER = const(0x01)
ERR_NO_DATA = const(0x02)
ERR_PASSWORD = const(0x04)
ERR_BAUD_RATE = const(0x08)
ERR_YEAR_ZONES = const(0x10)
ERR_DAY_PERIODS = const(0x20)
ERR_TARIFFS = const(0x40)

# machine.UART settings of the standard's byte format (parity 0 = even).
UART_BITS = const(8)
UART_PARITY = const(0)
UART_STOP = const(1)

_WAKE = const(0xFE)
_START = const(0x68)
_END = const(0x16)
_OFFSET = const(0x33)
_ANY_ADDRESS = const(0xAA)
_READ_DATA = const(0x11)
_READ_ADDRESS = const(0x13)
_FROM_METER = const(0x80)  # C.D7
_ABNORMAL = const(0x40)  # C.D6
_FOLLOWS = const(0x20)  # C.D5
_FUNCTION = const(0x1F)  # C.D4..D0

_MAX_DATA = const(20)  # longest DATA accepted: DI + 16 bytes; our items need DI + 4
_FRAME = const(32)  # buf[0:32]: request, then the frame being assembled (12 + _MAX_DATA)
_RX = const(32)  # buf[32:64]: chunks read from the UART
_LONGEST_REPLY = const(36)  # 4 FE + 12 + _MAX_DATA bytes: the reply wait after the first byte
_BITS_PER_BYTE = const(11)  # start + 8 + parity + stop
_SIGNED = const(0x10)  # in a format code: top bit of the last byte is the sign


def _format(di):
    # Bytes of the value (low nibble) and _SIGNED, by identifier; 0 = unknown: any 1..4 bytes,
    # unsigned. An if-chain: a dict lookup would be the same speed and cost heap at import.
    if di == ENERGY_FORWARD or di == ENERGY_REVERSE:
        return 4
    if di == POWER_TOTAL or di == CURRENT_A:
        return 3 | _SIGNED
    if di == VOLTAGE_A:
        return 2
    if di == ENERGY_COMBINED:
        return 4 | _SIGNED
    if di == DATE:
        return 4
    if di == TIME:
        return 3
    return 0


def parse_address(text):
    """Nameplate address (up to 12 digits, most significant first) -> 6 bytes, low byte first."""
    text = text.strip()
    if not 0 < len(text) <= 12:
        raise ValueError("address: 1 to 12 digits")
    text = "0" * (12 - len(text)) + text
    out = bytearray(6)
    for i in range(6):
        hi = text[10 - 2 * i]
        lo = text[11 - 2 * i]
        if not ("0" <= hi <= "9" and "0" <= lo <= "9"):
            raise ValueError("address: digits only")
        out[i] = (ord(hi) - 48) << 4 | (ord(lo) - 48)
    return out


def format_address(wire):
    """6 address bytes, low byte first -> the 12 digits printed on the meter."""
    return "".join("%02x" % wire[5 - i] for i in range(6))


class DLT645:
    def __init__(
        self,
        uart,
        *,
        address=None,
        de=None,
        timeout_ms=500,
        retries=2,
        preamble=4,
        baudrate=2400,
        ticks_ms=ticks_ms,
        sleep_ms=sleep_ms,
    ):
        # address: None (ask the meter: read_address()), the nameplate digits as a str, or
        # 6 bytes already in wire order (low byte first).
        if not 0 <= preamble <= 4:
            raise ValueError("preamble: 0 to 4 FE bytes")
        if not (0 <= retries <= 100 and 0 < timeout_ms <= 60000 and baudrate > 0):
            raise ValueError("retries 0-100, timeout_ms 1-60000, baudrate > 0")
        self.uart = uart
        self._de = de
        self._ticks_ms = ticks_ms
        self._sleep_ms = sleep_ms
        self.timeout_ms = timeout_ms
        self.retries = retries
        self._pre = preamble
        # Sleep about one byte time between UART polls; after the first reply byte the rest
        # of the longest reply must follow within its transmission time plus two polls.
        self._poll_ms = max(1, _BITS_PER_BYTE * 1000 // baudrate)
        self._reply_ms = _LONGEST_REPLY * _BITS_PER_BYTE * 1000 // baudrate + 2 * self._poll_ms
        self._buf = bytearray(_FRAME + _RX)
        mv = memoryview(self._buf)
        self._tx_read = mv[: preamble + 16]  # views made once: slicing per call would allocate
        self._tx_address = mv[: preamble + 12]
        self._rx = mv[_FRAME:]
        self.addr = bytearray(6)  # wire order, low byte first
        self.has_address = False
        if address is not None:
            if isinstance(address, str):
                address = parse_address(address)
            if len(address) != 6:
                raise ValueError("address: 6 bytes")
            self.addr[:] = address
            self.has_address = True
        self.value = 0  # the last value read, in the identifier's units (0.01 kWh, 0.1 W, ...)
        self.follows = False  # the last reply announced follow-up frames (B1H)
        self.last_error = 0  # the error byte of the last D1H / D3H reply
        self.flag = NOT_READY  # quality of the last read
        # Counters, for the status screen and the tests.
        self.exchanges = 0
        self.timeouts = 0
        self.bad_frames = 0
        self.device_errors = 0
        self.noise_bytes = 0  # bytes before a frame's 68 other than FE
        self._pos = 0  # bytes of the frame being assembled in buf[0:]

    def address_str(self):
        return format_address(self.addr)

    # --- public API ---

    def read_address(self):
        """Ask the only meter on the line for its address (13H to AA..AA). Returns a quality
        flag; on OK the address is kept for read(). A line with several meters answers with a
        collision: BAD_FRAME."""
        return self._transact(_READ_ADDRESS, 0)

    def read(self, di):
        """Read one data identifier. Returns a quality flag; on OK `value` is the value in the
        identifier's fixed-point units (0.01 kWh, 0.1 W, 0.1 V, mA), signed where the item is."""
        if not self.has_address:
            self.flag = NOT_READY
            return NOT_READY
        return self._transact(_READ_DATA, di)

    # --- the exchange ---

    def _transact(self, func, di):
        tries = self.retries + 1
        flag = NO_ANSWER
        while tries > 0:
            tries -= 1
            self.exchanges += 1
            try:
                flag = self._exchange(func, di)
            except OSError:  # the UART gave up (flush timeout, driver error)
                flag = NO_ANSWER
            if flag == OK:
                break
            if flag == DEVICE_ERROR:
                self.device_errors += 1
                break  # a definite answer: asking again gets the same
            if flag == NO_ANSWER:
                self.timeouts += 1
            else:
                self.bad_frames += 1
        self.flag = flag
        return flag

    def _build(self, func, di):
        b = self._buf
        p = self._pre
        i = 0
        while i < p:
            b[i] = _WAKE
            i += 1
        b[p] = _START
        a = self.addr
        i = 0
        while i < 6:
            b[p + 1 + i] = _ANY_ADDRESS if func == _READ_ADDRESS else a[i]
            i += 1
        b[p + 7] = _START
        b[p + 8] = func
        if func == _READ_DATA:
            b[p + 9] = 4
            i = 0
            while i < 4:
                b[p + 10 + i] = ((di >> (8 * i)) + _OFFSET) & 0xFF
                i += 1
            n = p + 14
        else:
            b[p + 9] = 0
            n = p + 10
        cs = 0
        i = p
        while i < n:
            cs += b[i]
            i += 1
        b[n] = cs & 0xFF
        b[n + 1] = _END
        return self._tx_read if func == _READ_DATA else self._tx_address

    def _exchange(self, func, di):
        uart = self.uart
        rx = self._rx
        while uart.any():  # a late reply to an earlier request would be taken for this one
            uart.readinto(rx, _RX)
        request = self._build(func, di)
        de = self._de
        if de is not None:
            de.value(1)
        try:
            uart.write(request)
            uart.flush()  # returns after the last stop bit: only then release the bus
        finally:
            if de is not None:
                de.value(0)
        return self._receive(func, di)

    def _receive(self, func, di):
        uart = self.uart
        rx = self._rx
        ticks = self._ticks_ms
        t0 = ticks()
        wait = self.timeout_ms
        got = False
        self._pos = 0
        while True:
            n = uart.any()
            if n:
                n = uart.readinto(rx, n if n < _RX else _RX)
            if n:
                if not got:
                    got = True
                    t0 = ticks()
                    wait = self._reply_ms
                flag = self._scan(n, func, di)
                if flag >= 0:
                    return flag
            elif ticks_diff(ticks(), t0) >= wait:
                return BAD_FRAME if got else NO_ANSWER
            else:
                self._sleep_ms(self._poll_ms)

    def _scan(self, n, func, di):
        # n bytes landed at buf[_FRAME:]: add them to the frame being assembled (its length in
        # self._pos). Returns the flag of a whole frame, or -1 while none is complete.
        buf = self._buf
        pos = self._pos
        i = 0
        while i < n:
            b = buf[_FRAME + i]
            i += 1
            if pos == 0 and b != _START:
                if b != _WAKE:
                    self.noise_bytes += 1  # line noise at bus turnaround: skipped
                continue
            buf[pos] = b
            pos = self._sync(pos + 1)
            if pos >= 10 and pos == 12 + buf[9]:
                flag = self._check(func, di)
                if flag >= 0:
                    self._pos = 0
                    return flag
                pos = 0  # our own request echoed by the transceiver: keep listening
        self._pos = pos
        return -1

    # --- the same exchange without waiting (sunprint/community/schedule.py: many meters on
    # one bus, polled from the tick loop). The caller times the request and the reply. ---

    def send(self, di):
        """Start a read of `di` to self.addr: drain stale bytes, raise DE, write the request
        (20 bytes with 4 FE). Returns at once; call release() once uart.txdone()."""
        uart = self.uart
        rx = self._rx
        while uart.any():
            uart.readinto(rx, _RX)
        self._pos = 0
        request = self._build(_READ_DATA, di)
        if self._de is not None:
            self._de.value(1)
        uart.write(request)

    def release(self):
        """The request is out: let go of the bus (DE low) to hear the reply."""
        if self._de is not None:
            self._de.value(0)

    def collect(self, di):
        """Take what the UART has of the reply to send(di): the flag once a whole frame is in
        (OK: `value` holds it; BAD_FRAME also for another meter's address), -1 while none is
        complete, -2 when no byte came since the last call. Allocates nothing."""
        uart = self.uart
        n = uart.any()
        if n:
            n = uart.readinto(self._rx, n if n < _RX else _RX)
        if not n:
            return -2
        return self._scan(n, _READ_DATA, di)

    def _sync(self, pos):
        # The bytes so far must look like a frame head (68 at 0 and 7, L that fits); if not,
        # the 68 we started on was noise: restart from the next 68 already received.
        buf = self._buf
        while (pos > 7 and buf[7] != _START) or (pos > 9 and buf[9] > _MAX_DATA):
            j = 1
            while j < pos and buf[j] != _START:
                j += 1
            k = 0
            while j < pos:
                buf[k] = buf[j]
                k += 1
                j += 1
            pos = k
        return pos

    def _check(self, func, di):
        # A whole frame is in buf[0 : 12 + L]. Returns a flag, or -1 for a frame from a master.
        buf = self._buf
        n = 10 + buf[9]
        cs = 0
        i = 0
        while i < n:
            cs += buf[i]
            i += 1
        if buf[n] != cs & 0xFF or buf[n + 1] != _END:
            return BAD_FRAME
        c = buf[8]
        if not c & _FROM_METER:
            return -1
        if c & _FUNCTION != func:
            return BAD_FRAME
        a = self.addr
        if func == _READ_DATA:
            i = 0
            while i < 6:
                if buf[1 + i] != a[i]:
                    return BAD_FRAME  # another meter, or a corrupted address
                i += 1
        if c & _ABNORMAL:
            if n != 11:
                return BAD_FRAME
            self.last_error = (buf[10] - _OFFSET) & 0xFF
            return DEVICE_ERROR
        if func == _READ_ADDRESS:
            if n != 16:
                return BAD_FRAME
            i = 0
            while i < 6:
                if buf[1 + i] != (buf[10 + i] - _OFFSET) & 0xFF:
                    return BAD_FRAME
                i += 1
            i = 0
            while i < 6:
                a[i] = buf[1 + i]
                i += 1
            self.has_address = True
            return OK
        # Read data: the identifier echoed, then the value.
        fmt = _format(di)
        size = fmt & 0x0F
        if size:
            if n != 14 + size:
                return BAD_FRAME
        else:
            size = n - 14
            if not 0 < size <= 4:
                return BAD_FRAME
        i = 0
        while i < 4:
            if (buf[10 + i] - _OFFSET) & 0xFF != (di >> (8 * i)) & 0xFF:
                return BAD_FRAME
            i += 1
        # Packed BCD, low byte first: walk from the most significant byte down.
        value = 0
        negative = False
        i = n - 1
        while i >= 14:
            d = (buf[i] - _OFFSET) & 0xFF
            if i == n - 1 and fmt & _SIGNED and d & 0x80:
                negative = True
                d &= 0x7F
            hi = d >> 4
            lo = d & 0x0F
            if hi > 9 or lo > 9:
                return BAD_FRAME
            value = value * 100 + hi * 10 + lo
            i -= 1
        self.value = -value if negative else value
        self.follows = bool(c & _FOLLOWS)
        return OK


class Meter:
    """PV meter on DL/T 645: power and energy as integers, for the app and the ledger.

    poll() reads total active power and the energy register (and phase A voltage and current
    with read_voltage_current=True). It never raises and keeps the last good values; it stops at
    the first read without an answer (NO_ANSWER or BAD_FRAME), so a dead line costs one read's
    wait, not one per item. With a DLT645 built without an address it first asks the meter for
    it (point-to-point lines only), and asks again after `rediscover_after` polls without an
    answer: a swapped meter is found (`swaps` counts it; its register starts elsewhere, which
    the ledger's counter treats as a reset or swap).
    """

    counts_per_kwh = 100  # energy_count is in 0.01 kWh

    def __init__(
        self, dlt, *, energy_di=ENERGY_FORWARD, read_voltage_current=False, rediscover_after=3
    ):
        self.dlt = dlt
        self.energy_di = energy_di
        self.read_voltage_current = read_voltage_current
        self.rediscover_after = rediscover_after
        self._discover = not dlt.has_address  # the address is ours to find
        self.power_mw = 0
        self.energy_count = 0  # raw register, 0.01 kWh (< 10**8, a small int everywhere)
        self.voltage_mv = 0
        self.current_ma = 0
        self.flag = NOT_READY  # the last poll's result
        self.power_flag = NOT_READY
        self.has_energy = False
        self.last_error = 0  # the meter's error byte of the last DEVICE_ERROR
        self.polls = 0
        self.silent_polls = 0  # consecutive polls without an answer
        self.resets = 0  # the register went backwards: a meter reset or swap
        self.swaps = 0  # a different address answered the address request

    def poll(self):
        self.polls += 1
        flag = self._poll()
        if flag == NO_ANSWER or flag == BAD_FRAME:
            self.silent_polls += 1
        else:
            self.silent_polls = 0
        if flag == DEVICE_ERROR:
            self.last_error = self.dlt.last_error
        self.flag = flag
        return flag

    def _poll(self):
        dlt = self.dlt
        if self._discover and (
            not dlt.has_address
            or (self.rediscover_after and self.silent_polls >= self.rediscover_after)
        ):
            flag = self._find()
            if flag != OK:
                self.power_flag = flag
                return flag
        flag = dlt.read(POWER_TOTAL)
        self.power_flag = flag
        if flag == OK:
            self.power_mw = dlt.value * 100  # 0.1 W -> mW
        elif flag != DEVICE_ERROR:
            return flag
        worst = flag
        flag = dlt.read(self.energy_di)
        if flag == OK:
            count = dlt.value
            if self.has_energy and count < self.energy_count:
                self.resets += 1
            self.energy_count = count
            self.has_energy = True
        elif flag != DEVICE_ERROR:
            return flag
        elif worst == OK:
            worst = flag
        if self.read_voltage_current:
            flag = dlt.read(VOLTAGE_A)
            if flag == OK:
                self.voltage_mv = dlt.value * 100  # 0.1 V -> mV
            elif flag != DEVICE_ERROR:
                return flag
            elif worst == OK:
                worst = flag
            flag = dlt.read(CURRENT_A)
            if flag == OK:
                self.current_ma = dlt.value
            elif flag != DEVICE_ERROR:
                return flag
            elif worst == OK:
                worst = flag
        return worst

    def _find(self):
        dlt = self.dlt
        a = dlt.addr
        had = dlt.has_address
        # The old address as two 24-bit halves: small ints on every port, nothing allocated.
        lo = a[0] | a[1] << 8 | a[2] << 16
        hi = a[3] | a[4] << 8 | a[5] << 16
        flag = dlt.read_address()
        if flag == OK and had:
            if lo != a[0] | a[1] << 8 | a[2] << 16 or hi != a[3] | a[4] << 8 | a[5] << 16:
                self.swaps += 1
                self.has_energy = False  # a new register: not "backwards" against the old one
        return flag

    def read_mw(self):
        """Power of the last poll in mW; OSError when that poll got no good power reading."""
        if self.power_flag != OK:
            raise OSError(5, "dlt645 power: flag %d" % self.power_flag)  # EIO
        return self.power_mw

    def total_mwh(self):
        """The meter's energy register in mWh (0.01 kWh = 10 Wh); OSError before a good read."""
        if not self.has_energy:
            raise OSError(5, "dlt645 energy: not read yet")
        return self.energy_count * 10000
