# A Modbus RTU energy meter: the register file of a real meter, computed from true physical
# values, served over FC03/FC04 as a slave does. The peer of host_tools.sim.chips.uart.FakeUART.
#
# Portable Python: runs under CPython and inside the MicroPython unix port. respond()
# allocates nothing; setting values re-encodes the register file (that allocates).
#
#     model = ModbusMeterModel(1, "sdm120", power_w=1234.5, energy_kwh=5678.9)
#     uart = FakeUART(clock, model)
#
# The register maps are the vendors' (host_tools.sim.chips.modbus_maps, with their sources), never
# taken from the firmware (sunprint.drivers.modbus has its own): a driver that reads the wrong
# address, function code, scale or word order gets what the real meter would give it.
# A meter table (modbus_maps.table(name)): {"name", "fcs": function codes
# that read the measurements, "phases", "max_regs", "blocks": [(first, count), ...] the ranges
# a read may span, "registers": [(address, type, quantity, unit), ...]}. A register holds its
# quantity in the datasheet's unit (_UNITS: a factor from V, A, W, kWh or Hz); "f32" is IEEE
# 754 single precision, big-endian, the high word first, as every meter here documents;
# u16/s16/u32/s32 likewise high word first. Registers inside a block that the table does not name read zero (Eastron:
# "Any parameter with a cross (X) will return the value zero").
#
# Quantities (the physical truth): voltage (V, each phase), current (A, each phase), power
# (total active power, W, signed: positive = import / forward), power_phase (power / phases),
# frequency (Hz), energy_import (energy_kwh: kWh counted while power > 0), energy_export
# (export_kwh: counted while power < 0), energy_total (import + export).
#
# As a slave:
# - a request whose CRC is wrong, or for another unit (or broadcast 0), gets no reply;
# - an unsupported function code: exception 01; a read outside every block, or with a function
#   code the meter's measurements are not read with: 02; a count of 0, above 125 or above
#   max_regs: 03; busy=True: 06 (server busy);
# - reset() sets the energy registers back to 0 (a meter cleared);
# - swap(energy_kwh) puts another meter in its place, its registers its own.
# Not modelled: holding (setup) registers, writes, reactive and apparent quantities (read 0).

import struct

from host_tools.sim.chips.uart import crc16

_STRUCT = (None, ">H", ">h", ">I", ">i")  # by type code (modbus_maps.TYPES)


class ModbusMeterModel:
    def __init__(
        self,
        unit,
        meter,
        *,
        power_w=0.0,
        energy_kwh=0.0,
        export_kwh=0.0,
        voltage_v=230.0,
        current_a=0.0,
        frequency_hz=50.0,
        max_regs=None,
    ):
        t, self._files, self._plan = _load(meter)
        _unload()
        self.unit = unit
        self.name = t["name"]
        self.fcs = t["fcs"]
        self.phases = t["phases"]
        self.max_regs = t["max_regs"] if max_regs is None else max_regs
        self.busy = False
        self.requests = 0
        self.crc_errors = 0
        self.exceptions = 0
        self.power_w = power_w
        self.energy_kwh = energy_kwh  # import (forward) active energy
        self.export_kwh = export_kwh
        self.voltage_v = voltage_v
        self.current_a = current_a
        self.frequency_hz = frequency_hz
        self._encode()

    # --- the truth ---

    def set(
        self,
        power_w=None,
        energy_kwh=None,
        voltage_v=None,
        current_a=None,
        export_kwh=None,
        frequency_hz=None,
    ):
        if power_w is not None:
            self.power_w = power_w
        if energy_kwh is not None:
            self.energy_kwh = energy_kwh
        if voltage_v is not None:
            self.voltage_v = voltage_v
        if current_a is not None:
            self.current_a = current_a
        if export_kwh is not None:
            self.export_kwh = export_kwh
        if frequency_hz is not None:
            self.frequency_hz = frequency_hz
        self._encode()

    def advance(self, seconds):
        """Let `seconds` pass at the present power: import counts up while power flows in,
        export while it flows out; neither ever counts down."""
        kwh = self.power_w * seconds / 3600000.0
        if kwh > 0:
            self.energy_kwh += kwh
        elif kwh < 0:
            self.export_kwh -= kwh
        self._encode()

    def reset(self):
        self.swap(0.0, 0.0)

    def swap(self, energy_kwh=0.0, export_kwh=0.0):
        """Another meter in this one's place, set to the same unit id (and model) by the
        installer. Its energy registers are its own: they count on from the value it came
        with (0.00 kWh new, or what a factory test or an earlier service left), never from
        the old meter's: a master sees a step down, which is a swap, not negative energy."""
        self.energy_kwh = energy_kwh
        self.export_kwh = export_kwh
        self._encode()

    def _encode(self):
        # the quantities in V, A, W, Hz, kWh, in the order of modbus_maps.QUANTITIES
        p = self.power_w
        values = (
            self.voltage_v,
            self.current_a,
            p,
            p / self.phases,
            self.frequency_hz,
            self.energy_kwh,
            self.export_kwh,
            self.energy_kwh + self.export_kwh,
        )
        plan = self._plan
        for i in range(0, len(plan), 7):
            k, off, typ, quantity, factor = struct.unpack_from(">BHBBh", plan, i)
            raw = values[quantity]
            raw = raw * factor if factor > 0 else raw / -factor
            buf = self._files[k][2]
            if typ == 0:  # f32
                struct.pack_into(">f", buf, off, raw)
            else:  # u16, s16, u32, s32 (modbus_maps.TYPES)
                raw = int(round(raw))
                if typ == 1:
                    raw &= 0xFFFF
                elif typ == 3:
                    raw &= 0xFFFFFFFF
                struct.pack_into(_STRUCT[typ], buf, off, raw)

    def shown_wh(self):
        """The import energy register as the meter shows it (its f32 or scaled integer, as
        encoded), in whole Wh, rounded: what a master reading it gets."""
        plan = self._plan
        for i in range(0, len(plan), 7):
            k, off, typ, quantity, factor = struct.unpack_from(">BHBBh", plan, i)
            if quantity != 5:  # energy_import (modbus_maps.QUANTITIES)
                continue
            buf = self._files[k][2]
            if typ == 0:
                raw = struct.unpack_from(">f", buf, off)[0]
            else:
                raw = struct.unpack_from(_STRUCT[typ], buf, off)[0]
            kwh = raw / factor if factor > 0 else raw * -factor
            return int(round(kwh * 1000))
        raise ValueError("no import energy register")

    def poke(self, fc, address, data):
        """Write raw bytes into the register file (e.g. a NaN), bypassing the encoding."""
        for f in self._files:
            if fc in self.fcs and f[0] <= address < f[0] + f[1]:
                off = 2 * (address - f[0])
                for i in range(len(data)):
                    f[2][off + i] = data[i]
                return
        raise ValueError("no such register")

    # --- the slave ---

    def respond(self, req, n, out):
        """Serve the request req[:n]; write the reply into out and return its length."""
        self.requests += 1
        if n < 4:
            return 0
        c = crc16(req, n - 2)
        if req[n - 2] != c & 0xFF or req[n - 1] != c >> 8:
            self.crc_errors += 1
            return 0  # a slave never answers a frame it cannot trust
        if req[0] != self.unit:
            return 0
        fc = req[1]
        if fc != 3 and fc != 4:
            return self._exception(out, fc, 1)
        if n != 8:
            return self._exception(out, fc, 3)
        if self.busy:
            return self._exception(out, fc, 6)
        addr = (req[2] << 8) | req[3]
        count = (req[4] << 8) | req[5]
        if count < 1 or count > 125 or count > self.max_regs:
            return self._exception(out, fc, 3)
        if fc in self.fcs:
            for f in self._files:
                if f[0] <= addr and addr + count <= f[0] + f[1]:
                    out[0] = self.unit
                    out[1] = fc
                    out[2] = 2 * count
                    src = f[2]
                    off = 2 * (addr - f[0])
                    for i in range(2 * count):
                        out[3 + i] = src[off + i]
                    m = 3 + 2 * count
                    c = crc16(out, m)
                    out[m] = c & 0xFF
                    out[m + 1] = c >> 8
                    return m + 2
        return self._exception(out, fc, 2)

    def _exception(self, out, fc, code):
        self.exceptions += 1
        out[0] = self.unit
        out[1] = fc | 0x80
        out[2] = code
        c = crc16(out, 3)
        out[3] = c & 0xFF
        out[4] = c >> 8
        return 5


# The maps module is loaded to plan a model's register file and unloaded again: in the
# MicroPython tests a model shares an ESP32-sized heap with the app, and the tables' text and
# code (~4 KB there) would stay for nothing. Two functions, so that no frame of the caller
# still holds the module when it is let go.
def _load(meter):
    from host_tools.sim.chips import modbus_maps

    t = modbus_maps.table(meter) if isinstance(meter, str) else meter
    # [(first, count, bytearray(2 * count))]: one register file for every function code;
    # and each register's place, type, quantity and unit factor, coded (modbus_maps.plan)
    files, plan = modbus_maps.plan(t)
    return t, files, plan


def _unload():
    import sys

    import host_tools.sim.chips as package

    sys.modules.pop("host_tools.sim.chips.modbus_maps", None)
    if hasattr(package, "modbus_maps"):
        delattr(package, "modbus_maps")
