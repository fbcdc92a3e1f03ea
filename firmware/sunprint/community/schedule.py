# Many meters on one RS-485 bus: how long a polling round takes, whether it fits the sample
# period, and a round-robin poller that never stalls the tick (issue 18; docs/community.md).
#
# Frame timings (a character is 11 bits on both: start, 8 data, parity, stop):
# - DL/T 645-2007, one read of a data item (11H): the request is 4 FE (the wake-up preamble the
#   driver sends) + 68 A0..A5 68 C L DI0..DI3 CS 16 = 20 bytes; the reply is up to 4 FE (maker
#   dependent) + 12 bytes of frame + L = 4 (DI) + the value (4 bytes of energy, 3 of power),
#   24 or 23 bytes. The meter answers 20 ms <= Td <= 500 ms after the request (DL/T 645-2007
#   5.3.3, "transmission response", as cited in sunprint/drivers/dlt645.py): a slot budgets the
#   whole 500 ms, and a meter that has not begun its reply by then is silent for this round.
# - Modbus RTU (Modbus over serial line V1.02, 2.5.1.1): frames are separated by 3.5 character
#   times of silence; reading the energy (or power) register pair (FC03/FC04, 2 registers) is a
#   request of 8 bytes and a reply of 5 + 2 * 2 = 9 bytes. The response timeout is the
#   master's choice (the spec fixes none): 200 ms here, as sunprint/drivers/modbus.py.
# A meter's slot is its items' worst cases: gap + request + timeout + reply each. A round is the
# sum of the slots; a dead meter costs less than its slot (no reply), never another's.
#
# The poller (DLT645Bus) keeps one DL/T 645 driver (its one preallocated buffer and its frame
# code: sunprint/drivers/dlt645.py send / release / collect) and swaps the address per meter.
# step() does at most one thing and returns: start a request, release the bus when the request
# is out, take the reply bytes that came, or give up at the deadline. Per-meter results live
# in arrays made once; a poll cycle allocates nothing (tests/firmware/test_community_bus.py).

from array import array

from sunprint.compat import const, ticks_diff, ticks_ms
from sunprint.quality import BAD_FRAME, NO_ANSWER, NOT_READY, OK

DLT645 = const(0)
MODBUS = const(1)
PROTOCOLS = ("DL/T 645", "Modbus RTU")

_BITS_PER_CHAR = const(11)
_DLT_REQUEST = const(20)  # 4 FE + 16
_DLT_REPLY_HEAD = const(20)  # 4 FE + 12 frame bytes + 4 DI bytes, before the value
_DLT_TD_MAX_MS = const(500)  # DL/T 645-2007 5.3.3: 20 ms <= Td <= 500 ms
_MB_REQUEST = const(8)
_MB_REPLY = const(9)  # 2 registers
_MB_TIMEOUT_MS = const(200)
_ENERGY_BYTES = const(4)  # XXXXXX.XX kWh
_POWER_BYTES = const(3)  # XX.XXXX kW


def char_us(baud):
    """One 11-bit character in microseconds, rounded up."""
    return (_BITS_PER_CHAR * 1000000 + baud - 1) // baud


def gap_us(baud):
    """Modbus RTU t3.5: 3.5 characters, 1750 us above 19200 baud."""
    return 1750 if baud > 19200 else (7 * char_us(baud) + 1) // 2


def slot_us(protocol, baud, items=2, timeout_ms=0):
    """The worst-case bus time of one meter: `items` reads (1: energy; 2: energy and power)."""
    if protocol == DLT645:
        t = timeout_ms or _DLT_TD_MAX_MS
        c = char_us(baud)
        us = (_DLT_REQUEST + _DLT_REPLY_HEAD + _ENERGY_BYTES) * c + t * 1000
        if items > 1:
            us += (_DLT_REQUEST + _DLT_REPLY_HEAD + _POWER_BYTES) * c + t * 1000
        return us
    if protocol == MODBUS:
        t = timeout_ms or _MB_TIMEOUT_MS
        one = gap_us(baud) + (_MB_REQUEST + _MB_REPLY) * char_us(baud) + t * 1000
        return one * items
    raise ValueError("meters: unknown protocol %r" % (protocol,))


def round_us(protocol, baud, n_meters, items=2, timeout_ms=0):
    return n_meters * slot_us(protocol, baud, items, timeout_ms)


def meters_per_period(protocol, baud, period_s, items=2, timeout_ms=0):
    """How many meters one bus polls within a sample period, each at its worst case."""
    return period_s * 1000000 // slot_us(protocol, baud, items, timeout_ms)


def check(protocol, baud, n_meters, period_s, items=2, timeout_ms=0):
    """The round time in microseconds; ValueError naming the figures if it does not fit."""
    if baud not in (1200, 2400, 4800, 9600, 19200):
        raise ValueError("meters: baud %r, not one of 1200 2400 4800 9600 19200" % (baud,))
    if not 1 <= n_meters <= 247:
        raise ValueError("meters: %d meters, 1 to 247 per bus" % n_meters)
    us = round_us(protocol, baud, n_meters, items, timeout_ms)
    if us > period_s * 1000000:
        raise ValueError(
            "meters: %d %s meters at %d baud need %d.%d s per round, more than"
            " sample_period_s %d (at most %d fit)"
            % (
                n_meters,
                PROTOCOLS[protocol],
                baud,
                us // 1000000,
                us // 100000 % 10,
                period_s,
                meters_per_period(protocol, baud, period_s, items, timeout_ms),
            )
        )
    return us


# --- the poller ---

_IDLE = const(0)
_TX = const(1)
_RX = const(2)
_ENERGY_DI = const(0x00010000)  # forward active total energy, 0.01 kWh
_POWER_DI = const(0x02030000)  # total active power, 0.1 W, signed
_LONGEST_REPLY = const(24)


def book_reply(bus, f, v):
    """Book a meter's reply (flag f, value v) into a bus poller (DLT645Bus, ModbusBus) and move
    to its next read: True while the round goes on. One copy for both protocols."""
    i = bus._i
    more = False
    if bus._item == 0:
        bus.flag[i] = f
        if f == OK:
            bus.energy[i] = v
            bus.reads[i] += 1
            bus.fresh[i] = 1
            more = bus.read_power
        elif f == NO_ANSWER:
            bus.silent[i] += 1
        elif f == BAD_FRAME:
            bus.wrong[i] += 1
    elif f == OK:
        bus.power[i] = v
    elif f == BAD_FRAME:
        bus.wrong[i] += 1
    bus._state = _IDLE
    if more:
        bus._item = 1
        return True
    bus._item = 0
    bus._i = i + 1
    if bus._i >= bus.n:
        bus._i = 0
        bus.busy = False
        bus.rounds += 1
        return False
    return True


class DLT645Bus:
    """Round-robin reads of the energy register (and power) of DL/T 645 meters on one bus.

    addresses: 6-byte wire-order addresses (sunprint.drivers.dlt645.parse_address of the
    nameplate digits). begin_round() asks for a round; step() advances it without waiting.
    Results per meter i: energy[i] (0.01 kWh), power[i] (0.1 W), flag[i] (the last energy
    read's quality), reads[i] (good energy reads), wrong[i] (replies that were not its frame:
    another address, a collision's garbage, a bad checksum), silent[i] (reads without an answer).
    """

    power_mw_per_unit = 100  # power[i] is in 0.1 W

    def __init__(
        self, dlt, addresses, *, read_power=True, baudrate=2400, timeout_ms=500, ticks_ms=ticks_ms
    ):
        n = len(addresses)
        if n < 1:
            raise ValueError("meters: none")
        self.dlt = dlt
        self.n = n
        self._ticks = ticks_ms
        self._txdone = getattr(dlt.uart, "txdone", None)
        self.read_power = read_power
        self.timeout_ms = timeout_ms
        c = char_us(baudrate)
        self._tx_ms = (_DLT_REQUEST * c + 999) // 1000 + 1  # without txdone(): the frame time
        self._reply_ms = (_LONGEST_REPLY * c + 999) // 1000 + 20  # first byte to last, + slack
        self.addr = bytearray(6 * n)
        for i in range(n):
            a = addresses[i]
            if len(a) != 6:
                raise ValueError("meters: address %d is not 6 bytes" % i)
            for k in range(6):
                self.addr[6 * i + k] = a[k]
        self.energy = array("i", bytes(4 * n))
        self.power = array("i", bytes(4 * n))
        self.reads = array("i", bytes(4 * n))
        self.wrong = array("i", bytes(4 * n))
        self.silent = array("i", bytes(4 * n))
        self.flag = bytearray(n)
        for i in range(n):
            self.flag[i] = NOT_READY
        self.fresh = bytearray(n)  # 1: energy[i] was read in the current round
        self.rounds = 0  # rounds completed
        self.busy = False  # a round is under way
        self._i = 0
        self._item = 0  # 0 energy, 1 power
        self._state = _IDLE
        self._t0 = 0
        self._wait = 0
        self._got = False

    def begin_round(self):
        """Start a round at meter 0 (ignored while one is under way: it finishes first)."""
        if self.busy:
            return False
        self.busy = True
        self._i = 0
        self._item = 0
        self._state = _IDLE
        i = 0
        while i < self.n:
            self.fresh[i] = 0
            i += 1
        return True

    def reporting(self):
        """Meters whose last energy read was good."""
        k = 0
        i = 0
        while i < self.n:
            if self.flag[i] == OK:
                k += 1
            i += 1
        return k

    def step(self):
        """One non-blocking move of the round. Returns True while the round goes on."""
        if not self.busy:
            return False
        st = self._state
        dlt = self.dlt
        now = self._ticks()
        if st == _IDLE:
            a = dlt.addr
            base = 6 * self._i
            k = 0
            while k < 6:
                a[k] = self.addr[base + k]
                k += 1
            dlt.send(_POWER_DI if self._item else _ENERGY_DI)
            self._t0 = now
            self._state = _TX
            return True
        if st == _TX:
            txd = self._txdone
            if txd is not None:
                if not txd():
                    return True
            elif ticks_diff(now, self._t0) < self._tx_ms:
                return True
            dlt.release()
            self._t0 = now
            self._wait = self.timeout_ms
            self._got = False
            self._state = _RX
            return True
        f = dlt.collect(_POWER_DI if self._item else _ENERGY_DI)
        if f == -1 or (f == -2 and self._got):
            if not self._got:
                self._got = True  # the reply began: the rest must follow within its time
                self._t0 = now
                self._wait = self._reply_ms
            if ticks_diff(now, self._t0) < self._wait:
                return True
            f = BAD_FRAME
        elif f == -2:
            if ticks_diff(now, self._t0) < self._wait:
                return True
            f = NO_ANSWER
        return self._done(f)

    def _done(self, f):
        return book_reply(self, f, self.dlt.value)
