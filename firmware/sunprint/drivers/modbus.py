# Modbus RTU master over a UART with an RS-485 driver-enable pin, register maps of common energy
# meters, and a Meter that polls power and energy into integer milli-units.
#
# The bus is handed in (micropython-lib style): `uart` is a configured machine.UART (write,
# any, readinto, flush); `de` an output Pin driving the transceiver's DE (and /RE, tied): high
# while we transmit, low to listen. The driver never imports machine.
#
# Timing (Modbus over serial line V1.02, 2.5.1.1): frames are separated by >= 3.5 character
# times of silence (fixed 1.75 ms above 19200 baud). A character is counted as 11 bits (8E1 or
# 8N2, what the spec assumes); on an 8N1 line that errs on the long side. Before sending, the
# master waits until the bus has been quiet that long, draining any stray bytes (a reply that
# came after we gave up). DE drops only once the last stop bit has left: uart.flush() waits
# for "TX done" on the ESP32 (MicroPython >= 1.20, PR #9116); without flush() the frame time
# is computed from the baud rate.
#
# Receiving: the reply is collected with a deadline (timeout_ms for the first byte; a frame in
# progress ends after silence_ms without a byte). The ESP-IDF driver hands bytes over in bursts
# (on a FIFO threshold or an RX idle timeout of some character times), so silence_ms is longer
# than 3.5 characters: max(20 ms, 15 characters). A reply is accepted when the LAST bytes
# received form the expected frame (unit, function, byte count, CRC): leading junk such as a
# spurious byte while the bus turns around, or our own echo, is skipped and counted.
# Modbus RTU has no transaction id: a reply later than timeout_ms that only starts after the
# next request went out would be taken for that request's reply if unit, function and count
# match (a different block of the same size: power taken for energy). So after an attempt that
# timed out, the next request waits for timeout_ms more of silence, draining a late reply;
# a reply later than twice timeout_ms remains a risk. Keep timeout_ms above the meter's worst
# response time. Worst case of one read_registers(): (retries + 1) attempts and retries guards,
# about 1.05 s with the defaults at 9600 baud.
#
# read_registers() returns a quality flag (sunprint.quality) and never raises for anything
# the bus does (an OSError from the UART is NO_ANSWER); only bad arguments raise ValueError.
# NO_ANSWER and BAD_FRAME are retried `retries` times; DEVICE_ERROR (an exception reply,
# function | 0x80, code kept in last_exception) is an answer and is not retried.
#
# Memory: ONE buffer, `buf`, allocated in the constructor: the request is built in buf[0:8],
# the reply lands in buf[0:256] (register i of the last read at buf[DATA + 2 * i]) and
# buf[256:320] is where uart.readinto() puts each burst before it is copied into place
# (readinto has no offset argument, and slicing a memoryview would allocate). Nothing is
# allocated per transaction.
#
# Decoding (allocation measured with gc.mem_alloc() in the MicroPython unix port, 64-bit):
# - f32(): struct.unpack_from(">f") allocates a 1-tuple and a float object: 64 B there, two
#   16-byte GC blocks on the ESP32 (object representation A: every float is on the heap, and
#   single precision). For diagnostics only.
# - f32_to_int(): float32 -> round(value * scale) in integer arithmetic, no allocation: every
#   intermediate stays below 2**30, so it is a small int on the ESP32 too (31-bit small ints).
#   Results must be below 2**28 in magnitude (268 kW in mW, 268 MWh in Wh), else BAD_RANGE.
# - u16/s16 never allocate; u32/s32 return a heap int on the ESP32 from 2**30 on. The Meter's
#   integer decode range-checks first and never allocates.
# float32 resolution: an energy register in kWh has 24 significant bits: steps of 1 Wh or less
# up to 8.2 MWh, 2 Wh up to 16.4 MWh, 8 Wh around 100 MWh.

import struct
from array import array

from sunprint.compat import const, sleep_ms, ticks_diff, ticks_ms
from sunprint.quality import (
    BAD_FRAME,
    DEVICE_ERROR,
    NO_ANSWER,
    NOT_A_NUMBER,
    NOT_READY,
    OK,
    OUT_OF_RANGE,
)
from sunprint.quality import (
    name as flag_name,
)

DATA = const(3)  # offset of the first register of a read reply in ModbusRTU.buf

_FRAME = const(256)  # the largest RTU frame
_LAND = const(64)  # landing area for one readinto burst, after the frame area
_BITS_PER_CHAR = const(11)
_FIXED_GAP_US = const(1750)  # t3.5 above 19200 baud
_MAX_COUNT = const(125)  # registers per FC03/FC04 request
_POLL_MS = const(1)
_ETIMEDOUT = const(110)
_EIO = const(5)

# f32_to_int() and the Meter's integer decode return these instead of a value (no allocation
# for a flag): valid results are within +-(2**28 - 1).
BAD_NAN = const(-0x40000000)  # NaN or infinity
BAD_RANGE = const(-0x3FFFFFFF)  # |value * scale| >= 2**28
_LIMIT = const(0x10000000)  # 2**28


def _crc_table():
    t = array("H", range(256))
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0xA001 if c & 1 else c >> 1
        t[i] = c
    return t


_CRC_TABLE = _crc_table()  # 512 bytes, built once at import


def crc16(buf, start=0, end=-1):
    """CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF) of buf[start:end], no allocation.
    On the wire the low byte goes first."""
    if end < 0:
        end = len(buf)
    t = _CRC_TABLE
    c = 0xFFFF
    for i in range(start, end):
        c = (c >> 8) ^ t[(c ^ buf[i]) & 0xFF]
    return c


# --- decoding: big-endian registers, high word first (Modbus word order) ---


def u16(buf, off):
    return (buf[off] << 8) | buf[off + 1]


def s16(buf, off):
    v = (buf[off] << 8) | buf[off + 1]
    return v - 0x10000 if v & 0x8000 else v


def u32(buf, off):
    """Unsigned 32-bit from two registers. A heap int on the ESP32 from 2**30 on."""
    return (((buf[off] << 8) | buf[off + 1]) << 16) | (buf[off + 2] << 8) | buf[off + 3]


def s32(buf, off):
    v = u32(buf, off)
    return v - 0x100000000 if v & 0x80000000 else v


def f32(buf, off):
    """float32 from two registers. Allocates a tuple and a float: diagnostics only."""
    return struct.unpack_from(">f", buf, off)[0]


def f32_to_int(buf, off, scale):
    """round(float32 at buf[off:off + 4] * scale), half away from zero, in integer arithmetic.

    scale: an int > 0 whose odd part is below 2**14 (10**6 = 15625 * 2**6 is). Returns BAD_NAN
    for NaN or infinity, BAD_RANGE when the result would be 2**28 or more in magnitude.
    Allocates nothing: every intermediate stays below 2**30.
    """
    b0 = buf[off]
    b1 = buf[off + 1]
    e = ((b0 & 0x7F) << 1) | (b1 >> 7)
    if e == 0xFF:
        return BAD_NAN
    if e == 0 or scale <= 0:
        return 0  # zero, or subnormal (below 1.2e-38)
    m = ((b1 | 0x80) << 16) | (buf[off + 2] << 8) | buf[off + 3]  # 24 bits, hidden bit set
    sh = e - 150  # value = m * 2**sh
    while not scale & 1:  # fold the scale's powers of two into the exponent
        scale >>= 1
        sh += 1
    if scale >> 14:
        return BAD_RANGE
    hi = (m >> 12) * scale  # m * scale = hi * 2**12 + lo, each part < 2**26
    lo = (m & 0xFFF) * scale
    if sh >= 0:
        if sh > 17 or hi >> (17 - sh):
            return BAD_RANGE  # the result is >= 2**29
        r = (hi << (12 + sh)) + (lo << sh)
    else:
        k = -sh - 1  # floor to one extra bit, then round: (q + 1) >> 1
        if k >= 12:
            q = (hi + (lo >> 12)) >> (k - 12)
        else:
            if hi >> (17 + k):
                return BAD_RANGE  # the result is >= 2**28
            q = (hi << (12 - k)) + (lo >> k)
        r = (q + 1) >> 1
    if r >= _LIMIT:
        return BAD_RANGE
    return -r if b0 & 0x80 else r


# Register types of the maps, and the codes the Meter keeps.
TYPES = ("f32", "u32", "s32", "u16", "s16")
_F32 = const(0)
_U32 = const(1)
_S32 = const(2)
_U16 = const(3)
_S16 = const(4)
_WORDS = (2, 2, 2, 1, 1)


def _int_scaled(buf, off, code, scale):
    # An integer register times scale, range-checked before anything could outgrow 2**30.
    h = (buf[off] << 8) | buf[off + 1]
    if code == _U16:
        v = h
    elif code == _S16:
        v = h - 0x10000 if h & 0x8000 else h
    else:
        lo = (buf[off + 2] << 8) | buf[off + 3]
        neg = code == _S32 and h & 0x8000
        if neg:
            h ^= 0xFFFF  # two's complement magnitude = ~v + 1
            lo ^= 0xFFFF
        if h >> 12:
            return BAD_RANGE
        v = (h << 16) | lo
        if neg:
            v = -v - 1
    lim = (_LIMIT - 1) // scale
    if v > lim or -v > lim:
        return BAD_RANGE
    return v * scale


class ModbusRTU:
    """Modbus RTU master: FC03/FC04 register reads into one preallocated buffer."""

    def __init__(
        self,
        uart,
        *,
        de=None,
        baudrate=9600,
        timeout_ms=200,
        retries=2,
        silence_ms=0,
        ticks_ms=ticks_ms,
        sleep_ms=sleep_ms,
    ):
        # Refused, not looped on: retries < 0 once counted down past zero forever.
        if not (0 <= retries <= 100 and 0 < timeout_ms <= 60000 and baudrate > 0):
            raise ValueError("modbus: retries 0-100, timeout_ms 1-60000, baudrate > 0")
        self.uart = uart
        self._de = de
        self._ticks = ticks_ms
        self._sleep = sleep_ms
        self.timeout_ms = timeout_ms
        self.retries = retries
        char_us = (_BITS_PER_CHAR * 1000000 + baudrate - 1) // baudrate
        self._char_us = char_us
        gap_us = _FIXED_GAP_US if baudrate > 19200 else (7 * char_us + 1) // 2
        # +1: a ticks_ms difference of n may be as little as n - 1 ms of real time.
        self.gap_ms = (gap_us + 999) // 1000 + 1
        self.silence_ms = silence_ms or max(20, (15 * char_us + 999) // 1000)
        # machine.UART.flush() waits for TX done (esp32, rp2, stm32, ...); a UART without it
        # gets the frame time computed from the baud rate.
        self._flush = getattr(uart, "flush", None)
        self.buf = bytearray(_FRAME + _LAND)
        mv = memoryview(self.buf)
        self._req = mv[0:8]
        self._land = mv[_FRAME : _FRAME + _LAND]
        self.idle_t = ticks_ms()  # unknown bus state at start: wait one gap
        self._guard = False  # the last attempt timed out: a late reply may still come
        self.last_exception = 0  # exception code of the last DEVICE_ERROR
        self.last_flag = NOT_READY
        # counters (small ints; a poll a second overflows 2**30 after 34 years)
        self.transactions = 0
        self.retry_count = 0
        self.no_answers = 0  # attempts
        self.bad_frames = 0  # attempts
        self.exceptions = 0
        self.bus_errors = 0  # OSError from the UART
        self.noise_bytes = 0  # junk before an accepted reply
        self.stray_bytes = 0  # bytes drained while waiting to send
        self._got = 0  # send() / collect(): bytes of the reply so far

    def read_registers(self, unit, address, count, fc=3):
        """Read `count` registers (FC03 holding, FC04 input) of `unit` into buf[DATA:].

        Returns OK, NO_ANSWER, BAD_FRAME or DEVICE_ERROR (code in last_exception)."""
        if (fc != 3 and fc != 4) or not 1 <= count <= _MAX_COUNT or not 1 <= unit <= 247:
            raise ValueError("modbus request")
        if not 0 <= address <= 0xFFFF - count + 1:
            raise ValueError("modbus address")
        self.transactions += 1
        attempts = self.retries + 1
        flag = NO_ANSWER
        while attempts > 0:
            attempts -= 1
            flag = self._transact(unit, address, count, fc)
            if flag == OK:
                break
            if flag == DEVICE_ERROR:
                self.exceptions += 1
                break
            if flag == NO_ANSWER:
                self.no_answers += 1
            else:
                self.bad_frames += 1
            if attempts:
                self.retry_count += 1
        self.last_flag = flag
        return flag

    # --- one attempt without waiting (sunprint/community/schedule.py: many meters on one bus,
    # polled from the tick loop). The caller keeps the 3.5-character gap before send() (gap_ms
    # after idle_t), waits for uart.txdone() before release(), and times the reply. ---

    def send(self, unit, address, count, fc=3):
        """Drain stray bytes, build the FC03/FC04 request in buf[0:8], raise DE and write it."""
        uart = self.uart
        while uart.any():
            k = uart.readinto(self._land, _LAND)
            if not k:
                break
            self.stray_bytes += k
        b = self.buf
        b[0] = unit
        b[1] = fc
        b[2] = address >> 8
        b[3] = address & 0xFF
        b[4] = count >> 8
        b[5] = count & 0xFF
        c = crc16(b, 0, 6)
        b[6] = c & 0xFF
        b[7] = c >> 8
        self._got = 0
        self.transactions += 1
        if self._de is not None:
            self._de.value(1)
        uart.write(self._req)

    def release(self):
        """The request is out: DE low, the bus idle from now."""
        if self._de is not None:
            self._de.value(0)
        self.idle_t = self._ticks()

    def collect(self, unit, fc, count):
        """Take what the UART has of the reply: OK (registers at buf[DATA:]), DEVICE_ERROR,
        -1 while no whole reply is in, -2 when no byte came since the last call."""
        uart = self.uart
        n = uart.any()
        if n:
            n = uart.readinto(self._land, n if n < _LAND else _LAND) or 0
        if not n:
            return -2
        buf = self.buf
        got = self._got
        if got + n > _FRAME:  # more junk than a frame: keep the newest bytes
            drop = got + n - _FRAME
            for i in range(got - drop):
                buf[i] = buf[i + drop]
            got -= drop
        land = self._land
        for i in range(n):
            buf[got + i] = land[i]
        got += n
        self._got = got
        self.idle_t = self._ticks()
        return self._match(got, unit, fc, 5 + 2 * count)

    # --- one attempt ---

    def _transact(self, unit, address, count, fc):
        de = self._de
        try:
            if not self._wait_quiet():
                return BAD_FRAME  # the bus never went quiet: someone is babbling
            b = self.buf
            b[0] = unit
            b[1] = fc
            b[2] = address >> 8
            b[3] = address & 0xFF
            b[4] = count >> 8
            b[5] = count & 0xFF
            c = crc16(b, 0, 6)
            b[6] = c & 0xFF
            b[7] = c >> 8
            if de is not None:
                de.value(1)
            self.uart.write(self._req)
            if self._flush is not None:
                self._flush()
            else:
                self._sleep((8 * self._char_us + 999) // 1000 + 1)
            if de is not None:
                de.value(0)
            self.idle_t = self._ticks()
            return self._receive(unit, fc, count)
        except OSError:
            self.bus_errors += 1
            if de is not None:
                de.value(0)  # a driver left on would jam the bus for every device
            self.idle_t = self._ticks()
            self._guard = True
            return NO_ANSWER

    def _wait_quiet(self):
        # Wait for gap_ms of silence since the last byte on the bus (timeout_ms more after a
        # timeout: the late reply), draining what arrives.
        uart = self.uart
        need = self.gap_ms + (self.timeout_ms if self._guard else 0)
        t0 = self._ticks()
        while True:
            n = uart.any()
            now = self._ticks()
            if n:
                k = uart.readinto(self._land, n if n < _LAND else _LAND)
                if k:
                    self.stray_bytes += k
                self.idle_t = now
            elif ticks_diff(now, self.idle_t) >= need:
                self._guard = False
                return True
            if ticks_diff(now, t0) >= need + self.timeout_ms:
                return False
            if not n:
                self._sleep(_POLL_MS)

    def _receive(self, unit, fc, count):
        uart = self.uart
        buf = self.buf
        land = self._land
        start = self.idle_t
        want = 5 + 2 * count
        # A frame in progress may run past timeout_ms, but not past this.
        cap = self.timeout_ms + (want * self._char_us) // 1000 + self.silence_ms
        got = 0
        last = start
        while True:
            n = uart.any()
            now = self._ticks()
            if n:
                k = uart.readinto(land, n if n < _LAND else _LAND) or 0
                if got + k > _FRAME:  # more junk than a frame: keep the newest bytes
                    drop = got + k - _FRAME
                    for i in range(got - drop):
                        buf[i] = buf[i + drop]
                    got -= drop
                for i in range(k):
                    buf[got + i] = land[i]
                got += k
                last = now
                self.idle_t = now
                flag = self._match(got, unit, fc, want)
                if flag >= 0:
                    return flag
            elif got:
                if ticks_diff(now, last) >= self.silence_ms:
                    return BAD_FRAME  # garbage, partial, CRC error, wrong unit or function
            elif ticks_diff(now, start) >= self.timeout_ms:
                self.idle_t = now
                self._guard = True
                return NO_ANSWER
            if ticks_diff(now, start) >= cap:
                return BAD_FRAME
            if not n:
                self._sleep(_POLL_MS)

    def _match(self, got, unit, fc, want):
        # Is the tail of what arrived a valid reply? Moves it to buf[0] when it is.
        buf = self.buf
        s = got - want
        if s >= 0 and buf[s] == unit and buf[s + 1] == fc and buf[s + 2] == want - 5:
            c = crc16(buf, s, got - 2)
            if buf[got - 2] == c & 0xFF and buf[got - 1] == c >> 8:
                self._align(s, want)
                return OK
        s = got - 5
        if s >= 0 and buf[s] == unit and buf[s + 1] == fc | 0x80:
            c = crc16(buf, s, got - 2)
            if buf[got - 2] == c & 0xFF and buf[got - 1] == c >> 8:
                self.last_exception = buf[s + 2]
                self._align(s, 5)
                return DEVICE_ERROR
        return -1

    def _align(self, s, n):
        if s:
            self.noise_bytes += s
            buf = self.buf
            for i in range(n):
                buf[i] = buf[s + i]


# --- register maps ---
#
# name -> (function code, first register, word count, type, scale to the Meter's unit)
# The Meter reads "power" (-> mW), "energy" (-> Wh, its energy_count), "voltage" (-> mV) and
# "current" (-> mA); other entries are alternatives (see with_energy()). Addresses are the
# on-the-wire register numbers (the manuals' 3xxxx/4xxxx numbers minus 30001/40001).
# "_readable": (fc, first, count) ranges the meter answers as a whole; the Meter merges fields
# into one request only inside one of these (a register outside any range may draw exception
# 02). Scales are ints: the float is multiplied and rounded once, in f32_to_int().

# Eastron SDM120-Modbus, input registers (FC04), float32 big-endian, high word first.
# Addresses: Eastron SDM120 protocol as tabulated in nmakel/sdm_modbus (src/sdm_modbus/sdm.py,
# SDM120: voltage 0x0000 V, current 0x0006 A, power_active 0x000C W, import_energy_active
# 0x0048, export 0x004A, total_energy_active 0x0156 kWh) and Eastron's SDM230 protocol V1.0
# (same layout: 30001 volts 00 00, 30013 active power 00 0C, 30073 import 00 48, 30343 total
# kWh 01 56). "Each request for data must be restricted to 30 parameters or less" (Eastron
# SDM72D-M manual V1.5, part 3): at most 60 registers per request, hence the 0x50-register
# range below is read in pieces of at most 60. Unlisted registers inside it (0x0002..0x0005 on
# a single-phase meter) are assumed to read as zero, as Eastron's three-phase registers do.
# "energy" is the total (import + export): a production meter counts the PV output whichever
# way it was wired; use with_energy(SDM120, "energy_import") for an import-only count.
SDM120 = {
    "voltage": (4, 0x0000, 2, "f32", 1000),  # V -> mV
    "current": (4, 0x0006, 2, "f32", 1000),  # A -> mA
    "power": (4, 0x000C, 2, "f32", 1000),  # W -> mW, signed (export negative)
    "energy": (4, 0x0156, 2, "f32", 1000),  # total active energy kWh -> Wh
    "energy_import": (4, 0x0048, 2, "f32", 1000),
    "energy_export": (4, 0x004A, 2, "f32", 1000),
    "_readable": ((4, 0x0000, 0x50), (4, 0x0156, 4)),
}

# Eastron SDM630 (three-phase), input registers (FC04), float32. Same source (nmakel/sdm_modbus
# SDM630: l1_voltage 0x0000, l1_current 0x0006, total_power_active 0x0034 W, import 0x0048,
# total_energy_active 0x0156; ob121.com "Eastron Modbus maps": 30053 total system power).
# Power is the total system power 0x0034, not phase 1 (0x000C); voltage and current are L1's.
SDM630 = {
    "voltage": (4, 0x0000, 2, "f32", 1000),  # L1-N
    "current": (4, 0x0006, 2, "f32", 1000),  # L1
    "power": (4, 0x0034, 2, "f32", 1000),  # total system power, W -> mW
    "energy": (4, 0x0156, 2, "f32", 1000),  # total active energy kWh -> Wh
    "energy_import": (4, 0x0048, 2, "f32", 1000),
    "energy_export": (4, 0x004A, 2, "f32", 1000),
    "_readable": ((4, 0x0000, 0x50), (4, 0x0156, 4)),
}

# Chint DDSU666 (single-phase), float32 big-endian, high word first. Power is in kW.
# OpenEMS io.openems.edge.meter.chint.ddsu666 (MeterChintDdsu666Impl): FC03, 0x2000 voltage V,
# 0x2002 current A, 0x2004 active power kW (x1000 to W), 0x200E frequency, 0x4000 active import
# energy kWh. Tasmota xnrg_11_ddsu666.ino reads the same addresses with FC04 (0x2004 "[KW]",
# value * 1000 -> W; 0x4000 import, 0x400A export kWh): the meter answers both codes.
DDSU666 = {
    "voltage": (3, 0x2000, 2, "f32", 1000),  # V -> mV
    "current": (3, 0x2002, 2, "f32", 1000),  # A -> mA
    "power": (3, 0x2004, 2, "f32", 1000000),  # kW -> mW
    "energy": (3, 0x4000, 2, "f32", 1000),  # import active energy kWh -> Wh
    "energy_export": (3, 0x400A, 2, "f32", 1000),
    "_readable": ((3, 0x2000, 0x12), (3, 0x4000, 2), (3, 0x400A, 2)),
}

# Chint DTSU666 (three-phase), FC04, float32; values in 0.1 V, mA and 0.1 W.
# OpenEMS io.openems.edge.meter.chint.dtsu666 (MeterChintDtsu666Impl): one FC04 task over
# 0x2006..0x2019: 0x2006 Ua (x100 to mV, so 0.1 V), 0x200C Ia (mA as is), 0x2012 Pt total
# active power (x0.1 to W); cg-ite/DTSU666-Modbus dtsu666_reader.py agrees (Ua / 10 V,
# Ia / 1000 A, Pt / 10 W).
# The ENERGY ADDRESS IS DISPUTED, so it is a parameter of dtsu666():
#   0x4000: OpenEMS reads "active energy" there (FC04, x1000 to Wh);
#   0x401E: cg-ite/DTSU666-Modbus reads "Total Import kWh" there, and the register list in
#           gerontec/dtsu666 (README: 16414 "Positive active ... (current, imp)") agrees;
#   (0x101E: the DTSU666 emulation of docs.smart-stuff.nl, "import energy active".)
# Firmware versions may differ: compare the value read with the meter's display on site.
DTSU666_ENERGY_4000 = const(0x4000)
DTSU666_ENERGY_401E = const(0x401E)


def dtsu666(energy_address=DTSU666_ENERGY_4000):
    """The DTSU666 map with its energy register (kWh float) at energy_address."""
    return {
        "voltage": (4, 0x2006, 2, "f32", 100),  # Ua, 0.1 V -> mV
        "current": (4, 0x200C, 2, "f32", 1),  # Ia, mA
        "power": (4, 0x2012, 2, "f32", 100),  # Pt, 0.1 W -> mW
        "energy": (4, energy_address, 2, "f32", 1000),  # kWh -> Wh
        "_readable": ((4, 0x2006, 0x14), (4, energy_address, 2)),
    }


DTSU666 = dtsu666()


def with_energy(regmap, entry):
    """A copy of regmap whose "energy" is another entry (its name, or a 5-tuple)."""
    m = dict(regmap)
    m["energy"] = regmap[entry] if isinstance(entry, str) else entry
    if not isinstance(entry, str):
        fc, addr, words = entry[0], entry[1], entry[2]
        m["_readable"] = tuple(regmap.get("_readable", ())) + ((fc, addr, words),)
    return m


# --- a meter ---

_SLOTS = ("power", "energy", "voltage", "current")
_POWER = const(0)
_ENERGY = const(1)


class Meter:
    """Polls an energy meter: power_mw, energy_wh (= energy_count), voltage_mv, current_ma.

    poll() reads the mapped fields in as few requests as the map allows and returns a quality
    flag; values keep their last good reading. read_mw() and total_mwh() serve the app."""

    counts_per_kwh = 1000  # energy_count is in Wh

    def __init__(self, modbus, unit, regmap, *, max_gap=16, max_regs=60):
        # max_gap: unread registers worth a merge (2 bytes each, about 2.3 ms at 9600 baud,
        # against a request of its own: 13 bytes, two gaps and the meter's turnaround).
        # max_regs: Eastron answers at most 30 parameters (60 registers) per request.
        self.modbus = modbus
        self.unit = unit
        fields = []
        for slot in range(len(_SLOTS)):
            e = regmap.get(_SLOTS[slot])
            if e is None:
                if slot == _POWER:
                    raise ValueError("map has no power")
                continue
            fc, addr, words, typ, scale = e
            # Frozen into the firmware, a map's ints beyond +-8191 are big ints in ROM (mpy-tool
            # freezes constant tuples so), and every operation on one in poll() would allocate
            # a temporary; + 0 makes the small int of the same value, once.
            addr += 0
            scale += 0
            code = TYPES.index(typ)
            if words != _WORDS[code] or not scale > 0 or (code == _F32 and _odd(scale) >> 14):
                raise ValueError("map entry " + _SLOTS[slot])
            fields.append((fc, addr, words, code, scale, slot))
        fields.sort()
        readable = regmap.get("_readable", ())
        blocks = []
        cur = None  # [fc, first, end, fields]
        for f in fields:
            fc, addr, end = f[0], f[1], f[1] + f[2]
            if (
                cur is not None
                and cur[0] == fc
                and (addr <= cur[2] or addr - cur[2] <= max_gap)
                and max(end, cur[2]) - cur[1] <= max_regs
                and (addr <= cur[2] or _inside(readable, fc, cur[1], max(end, cur[2])))
            ):
                cur[2] = max(end, cur[2])
                cur[3].append(f)
            else:
                cur = [fc, addr, end, [f]]
                blocks.append(cur)
        # (fc, first, count, ((byte offset, type code, scale, slot), ...)) per request
        self._blocks = tuple(
            (
                b[0],
                b[1],
                b[2] - b[1],
                tuple((DATA + 2 * (f[1] - b[1]), f[3], f[4], f[5]) for f in b[3]),
            )
            for b in blocks
        )
        self._vals = [0, 0, 0, 0]
        self._have = 0  # bit per slot: ever read
        self._fresh = 0  # bit per slot: read by the last poll
        self.flag = NOT_READY
        self.polls = 0
        self.power_mw = 0
        self.energy_wh = 0
        self.energy_count = 0
        self.voltage_mv = 0
        self.current_ma = 0

    @property
    def requests_per_poll(self):
        return len(self._blocks)

    def poll(self):
        """Read the meter. Returns the worst flag of the poll; never raises."""
        mb = self.modbus
        buf = mb.buf
        vals = self._vals
        flag = OK
        fresh = 0
        self.polls += 1
        for blk in self._blocks:
            f = mb.read_registers(self.unit, blk[1], blk[2], blk[0])
            if f != OK:
                flag = f
                break  # the meter is not answering well: spare the bus the other requests
            for fld in blk[3]:
                code = fld[1]
                if code == _F32:
                    v = f32_to_int(buf, fld[0], fld[2])
                else:
                    v = _int_scaled(buf, fld[0], code, fld[2])
                if v == BAD_NAN:
                    if flag == OK:
                        flag = NOT_A_NUMBER
                elif v == BAD_RANGE:
                    if flag == OK:
                        flag = OUT_OF_RANGE
                else:
                    vals[fld[3]] = v
                    fresh |= 1 << fld[3]
        self._fresh = fresh
        self._have |= fresh
        self.flag = flag
        self.power_mw = vals[0]
        self.energy_wh = vals[1]
        self.energy_count = vals[1]
        self.voltage_mv = vals[2]
        self.current_ma = vals[3]
        return flag

    def _error(self):
        f = self.flag
        return OSError(_ETIMEDOUT if f == NO_ANSWER else _EIO, "meter: " + flag_name(f))

    def read_mw(self):
        """Power of the last poll in mW; OSError when that poll did not read it."""
        if not self._fresh & (1 << _POWER):
            raise self._error()
        return self.power_mw

    def total_mwh(self):
        """The meter's energy register in mWh (polls once if it was never read); OSError when
        unknown. Allocates on the ESP32 above 2**30 mWh (1074 kWh): call it rarely."""
        if not self._have & (1 << _ENERGY):
            self.poll()
            if not self._have & (1 << _ENERGY):
                raise self._error()
        return self.energy_wh * 1000


def _odd(n):
    while n and not n & 1:
        n >>= 1
    return n


def _inside(readable, fc, first, end):
    for r in readable:
        if r[0] == fc and r[1] <= first and end <= r[1] + r[2]:
            return True
    return False
