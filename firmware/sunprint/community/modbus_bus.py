# Round-robin reads of Modbus RTU meters on one bus, without blocking (issue 18): the Modbus
# sibling of schedule.DLT645Bus, on ModbusRTU.send / release / collect (its one buffer, CRC and
# reply matching). Its own module: a DL/T 645 unit never loads the Modbus driver.

from array import array

from sunprint.community.schedule import DLT645Bus, book_reply
from sunprint.compat import const, ticks_diff, ticks_ms
from sunprint.drivers.modbus import BAD_NAN, BAD_RANGE, DATA, TYPES, f32_to_int
from sunprint.drivers.modbus import _int_scaled as int_scaled
from sunprint.quality import BAD_FRAME, NO_ANSWER, NOT_READY, OK

# (const names with a leading underscore are not module attributes on MicroPython: not imported)
_IDLE = const(0)
_TX = const(1)
_RX = const(2)


class ModbusBus:
    """Round-robin reads of the energy register (and power) of Modbus RTU meters on one bus.

    rtu: one ModbusRTU (its buffer, CRC and reply matching: send / release / collect); units:
    the meters' unit ids; regmaps: one register map per meter (sunprint.drivers.modbus, e.g.
    SDM120, DDSU666: mixed models on one bus). Per meter i: energy[i] (Wh), power[i] (0.1 W,
    as DLT645Bus), flag, reads, wrong, silent, fresh; begin_round(), step(), reporting() as
    DLT645Bus. A step waits (returns at once) until the bus has been quiet for t3.5.
    """

    power_mw_per_unit = 100

    def __init__(self, rtu, units, regmaps, *, read_power=True, timeout_ms=200, ticks_ms=ticks_ms):
        n = len(units)
        if n < 1 or len(regmaps) != n:
            raise ValueError("meters: one register map per unit")
        self.rtu = rtu
        self.n = n
        self._ticks = ticks_ms
        self._txdone = getattr(rtu.uart, "txdone", None)
        self.read_power = read_power
        self.timeout_ms = timeout_ms
        self.units = bytearray(n)
        # Per meter and item (2 i + 0 energy, 2 i + 1 power): fc, first register, words,
        # type code, scale; made once.
        self._fc = bytearray(2 * n)
        self._reg = array("i", bytes(8 * n))
        self._words = bytearray(2 * n)
        self._type = bytearray(2 * n)
        self._scale = array("i", bytes(8 * n))
        for i in range(n):
            u = units[i]
            if not 1 <= u <= 247:
                raise ValueError("meters: unit %r" % (u,))
            self.units[i] = u
            for item in range(2):
                e = regmaps[i]["power" if item else "energy"]
                k = 2 * i + item
                self._fc[k] = e[0]
                self._reg[k] = e[1]
                self._words[k] = e[2]
                self._type[k] = TYPES.index(e[3])
                # power -> 0.1 W: the map's scale is to mW; energy: to Wh
                self._scale[k] = e[4] // 100 if item and e[4] % 100 == 0 else e[4]
                if item and e[4] % 100:
                    raise ValueError("meters: power scale %d not a multiple of 100" % e[4])
        self.energy = array("i", bytes(4 * n))
        self.power = array("i", bytes(4 * n))
        self.reads = array("i", bytes(4 * n))
        self.wrong = array("i", bytes(4 * n))
        self.silent = array("i", bytes(4 * n))
        self.flag = bytearray(n)
        for i in range(n):
            self.flag[i] = NOT_READY
        self.fresh = bytearray(n)
        self.addr = bytearray(6 * n)  # (the status list's key: the unit id in byte 0)
        for i in range(n):
            self.addr[6 * i] = units[i]
        self.rounds = 0
        self.busy = False
        self._i = 0
        self._item = 0
        self._state = _IDLE
        self._t0 = 0
        self._got = False

    begin_round = DLT645Bus.begin_round
    reporting = DLT645Bus.reporting

    def step(self):
        if not self.busy:
            return False
        rtu = self.rtu
        now = self._ticks()
        k = 2 * self._i + self._item
        st = self._state
        if st == _IDLE:
            if ticks_diff(now, rtu.idle_t) < rtu.gap_ms:
                return True  # t3.5 of silence first
            rtu.send(self.units[self._i], self._reg[k], self._words[k], self._fc[k])
            self._t0 = now
            self._state = _TX
            return True
        if st == _TX:
            txd = self._txdone
            if txd is not None:
                if not txd():
                    return True
            elif ticks_diff(now, self._t0) < 2 * rtu.gap_ms:
                return True
            rtu.release()
            self._t0 = now
            self._got = False
            self._state = _RX
            return True
        f = rtu.collect(self.units[self._i], self._fc[k], self._words[k])
        if f == -1 or (f == -2 and self._got):
            self._got = True
            if ticks_diff(now, rtu.idle_t) < rtu.silence_ms:
                return True
            f = BAD_FRAME  # the reply stopped without a good frame
        elif f == -2:
            if ticks_diff(now, self._t0) < self.timeout_ms:
                return True
            f = NO_ANSWER
        return self._done(f, k)

    def _done(self, f, k):
        v = 0
        if f == OK:
            buf = self.rtu.buf
            if self._type[k] == 0:
                v = f32_to_int(buf, DATA, self._scale[k])
            else:
                v = int_scaled(buf, DATA, self._type[k], self._scale[k])
            if v == BAD_NAN or v == BAD_RANGE:
                f = BAD_FRAME
        return book_reply(self, f, v)
