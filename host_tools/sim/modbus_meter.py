# A Modbus RTU energy meter: a register file computed from true physical values, served over
# FC03/FC04 as a slave does. The peer of host_tools.sim.uart.FakeUART.
#
# Portable Python: runs under CPython and inside the MicroPython unix port. respond()
# allocates nothing; setting values re-encodes the register file (that allocates).
#
#     model = ModbusMeterModel(1, SDM120, power_w=1234.5, energy_kwh=5678.9)
#     uart = FakeUART(clock, model)
#
# The register map is the firmware's (sunprint.drivers.modbus: name -> (fc, address, words,
# type, scale to mW / Wh / mV / mA)), so the model encodes what the map says the meter holds:
# raw = physical value in milli-units / scale, as float32 big-endian (high word first) or a
# rounded integer. Known names: power (W), energy, energy_total, energy_import (kWh, all the
# meter's energy_kwh), energy_export (export_kwh), voltage (V), current (A); other entries read
# zero. The map's "_readable" ranges are the registers that exist (zero where nothing is
# mapped); without it, only the mapped registers exist.
#
# As a slave:
# - a request whose CRC is wrong, or for another unit (or broadcast 0), gets no reply;
# - an unsupported function code: exception 01; a register outside the register file: 02;
#   a count of 0, above 125 or above max_regs (Eastron: 30 parameters = 60 registers): 03;
#   busy=True: 06 (server busy);
# - reset() sets the energy registers back to 0 (a meter replaced or cleared).

import struct

from host_tools.sim.uart import crc16

_KNOWN_FLOAT = ("power", "voltage", "current")


class ModbusMeterModel:
    def __init__(
        self,
        unit,
        regmap,
        *,
        power_w=0.0,
        energy_kwh=0.0,
        export_kwh=0.0,
        voltage_v=230.0,
        current_a=0.0,
        max_regs=60,
    ):
        self.unit = unit
        self.map = regmap
        self.max_regs = max_regs
        self.busy = False
        self.requests = 0
        self.crc_errors = 0
        self.exceptions = 0
        self.power_w = power_w
        self.energy_kwh = energy_kwh
        self.export_kwh = export_kwh
        self.voltage_v = voltage_v
        self.current_a = current_a
        ranges = regmap.get("_readable")
        if not ranges:
            ranges = tuple((e[0], e[1], e[2]) for k, e in regmap.items() if not k.startswith("_"))
        # [fc, first, count, bytearray(2 * count)]
        self._files = [(r[0], r[1], r[2], bytearray(2 * r[2])) for r in ranges]
        self._encode()

    # --- the truth ---

    def set(self, power_w=None, energy_kwh=None, voltage_v=None, current_a=None, export_kwh=None):
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
        self._encode()

    def advance(self, seconds):
        """Let `seconds` pass at the present power: the energy register counts up."""
        self.energy_kwh += self.power_w * seconds / 3600000.0
        self._encode()

    def reset(self):
        self.energy_kwh = 0.0
        self.export_kwh = 0.0
        self._encode()

    def _physical(self, name):
        # value in the milli-units the map's scale is relative to (mW, Wh, mV, mA)
        if name == "power":
            return self.power_w * 1000.0
        if name == "voltage":
            return self.voltage_v * 1000.0
        if name == "current":
            return self.current_a * 1000.0
        if name == "energy_export":
            return self.export_kwh * 1000.0
        if name.startswith("energy"):
            return self.energy_kwh * 1000.0
        return 0.0

    def _encode(self):
        for name, e in self.map.items():
            if name.startswith("_"):
                continue
            fc, addr, words, typ, scale = e
            raw = self._physical(name) / scale
            for f in self._files:
                if f[0] == fc and f[1] <= addr and addr + words <= f[1] + f[2]:
                    off = 2 * (addr - f[1])
                    if typ == "f32":
                        struct.pack_into(">f", f[3], off, raw)
                    elif typ == "u16":
                        struct.pack_into(">H", f[3], off, int(round(raw)) & 0xFFFF)
                    elif typ == "s16":
                        struct.pack_into(">h", f[3], off, int(round(raw)))
                    elif typ == "u32":
                        struct.pack_into(">I", f[3], off, int(round(raw)) & 0xFFFFFFFF)
                    else:
                        struct.pack_into(">i", f[3], off, int(round(raw)))

    def poke(self, fc, address, data):
        """Write raw bytes into the register file (e.g. a NaN), bypassing the encoding."""
        for f in self._files:
            if f[0] == fc and f[1] <= address < f[1] + f[2]:
                off = 2 * (address - f[1])
                for i in range(len(data)):
                    f[3][off + i] = data[i]
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
        for f in self._files:
            if f[0] == fc and f[1] <= addr and addr + count <= f[1] + f[2]:
                out[0] = self.unit
                out[1] = fc
                out[2] = 2 * count
                src = f[3]
                off = 2 * (addr - f[1])
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
