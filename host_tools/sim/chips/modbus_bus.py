# Several Modbus RTU meters on one simulated RS-485 line (issue 18: a community of Modbus
# meters, mixed models, each by its unit id).
#
# Portable Python (CPython and the MicroPython unix port). ModbusBusPeer is the peer of
# host_tools.sim.chips.uart.FakeUART (its line model: character times, latency, the DE pin,
# the 3.5-character gaps): every request reaches every ModbusMeterModel on the line, each with
# its own vendor's register map (host_tools.sim.chips.modbus_maps), and each answers its own
# unit id only (a slave ignores another unit's request and the broadcast, unit 0, gets no
# read reply: Modbus over serial line V1.02, 2.1 and 2.2). What the master hears:
# - no meter answers: silence (its timeout);
# - one answers: its reply;
# - two answer at once: a collision, modelled as the bytewise AND of the replies (the idle
#   state is mark, either driver pulls a bit low), which breaks the CRC: garbage, never a value.
# Faults per unit id (set_fault(unit, kind) / clear_fault(unit)):
#   SILENT      the meter does not answer (dead, unpowered, its stub cut);
#   BUS_ERRORS  its replies arrive with a byte flipped (noise on its stub): a CRC error;
#   COLLIDE     a second device answers to its unit id at the same time.
# A meter replaced by a new one (its registers back at 0) is model.reset().

SILENT = "silent"
BUS_ERRORS = "bus errors"
COLLIDE = "collide"
BUS_FAULTS = (SILENT, BUS_ERRORS, COLLIDE)


class ModbusBusPeer:
    """Modbus meter models (host_tools/sim/chips/modbus_meter.py) on one line, as the peer of
    FakeUART. `silent`, `twins` (answered by a second device too) and `noisy` (replies with a
    byte flipped) hold unit ids; `meters` the models in line order."""

    def __init__(self, models):
        self.models = list(models)
        self.meters = self.models  # the name BusSerial (DL/T 645) has: a rig drives either
        self.silent = set()
        self.twins = set()
        self.noisy = set()
        self.collisions = 0
        self.unanswered = 0
        self._spare = bytearray(256)

    def meter(self, unit):
        for m in self.models:
            if m.unit == unit:
                return m
        raise KeyError(unit)

    def set_fault(self, unit, kind):
        self.clear_fault(unit)
        if kind == SILENT:
            self.silent.add(unit)
        elif kind == BUS_ERRORS:
            self.noisy.add(unit)
        elif kind == COLLIDE:
            self.twins.add(unit)
        else:
            raise ValueError(kind)

    def clear_fault(self, unit):
        self.silent.discard(unit)
        self.noisy.discard(unit)
        self.twins.discard(unit)

    def advance(self, seconds):
        """Let `seconds` pass: every meter's registers count at its present power."""
        for m in self.models:
            m.advance(seconds)

    def set_powers(self, watts):
        """Every meter's power now (W, in line order): one call for a remote rig."""
        for i in range(len(watts)):
            self.models[i].set(power_w=watts[i])

    def registers_wh(self):
        """Each meter's import energy register as it shows it, in whole Wh (rounded): what a
        master reading it would see, for a test's truth."""
        return [m.shown_wh() for m in self.models]

    def respond(self, req, n, out):
        m = 0
        for model in self.models:
            if model.unit in self.silent:
                continue
            k = model.respond(req, n, out if m == 0 else self._spare)
            if k and m:
                self.collisions += 1
                for i in range(k):
                    out[i] &= self._spare[i]
                m = k if k > m else m
            elif k:
                m = k
                if model.unit in self.twins:
                    self.collisions += 1
                    for i in range(3, m):
                        out[i] &= 0xA5  # a second driver pulling bits low
                if model.unit in self.noisy:
                    out[m // 2] ^= 0x24
        if not m:
            self.unanswered += 1
        return m
