# The register maps of the Modbus meters the sim models, as their vendors' datasheets tabulate
# them (sources below), never taken from the firmware (sunprint.drivers.modbus has its own).
# Read by host_tools.sim.chips.modbus_meter; table(name) returns one meter's table.
#
# Portable Python: runs under CPython and inside the MicroPython unix port (the model imports
# it when it is built).

import struct

# unit -> the factor from the quantity's SI unit (V, A, W, kWh, Hz) to the register's, a
# negative number dividing: the register holds value * f, or value / -f.
_UNITS = {
    "V": 1,
    "A": 1,
    "W": 1,
    "kWh": 1,
    "Hz": 1,
    "0.1V": 10,
    "0.1W": 10,
    "0.01A": 100,
    "0.01Hz": 100,
    "0.01kWh": 100,
    "mA": 1000,
    "kW": -1000,
}
# The meters' register maps, as their datasheets tabulate them. A header line: type name,
# function codes that read the measurements, phases, most registers a request may read,
# blocks (hex first:count, the ranges a read may span); then one register a line: hex
# address, type, quantity, unit. A trailing @XXXX keeps a block or register to one variant
# (the DTSU666's energy register, below). One text, not nested tuples: in the MicroPython
# tests it costs a fraction of the heap that bytecode tuples would.
#
# Eastron SDM120-Modbus and SDM630-Modbus V2: input registers, FC04 ("Modbus Protocol function
# code 04 is used to access all parameters"), every parameter a float in two registers, V, A, W,
# Hz, kWh. Addresses (the manuals' 3xxxx numbers less 30001): Eastron SDM72D-M user manual V1.5
# part 3 and SDM630-Modbus V2 user manual V1.6B, "Modbus Protocol Input Registers": 30001
# phase 1 volts 0x0000 (phases 2, 3: 0x0002, 0x0004), 30007 phase 1 current 0x0006, 30013
# phase 1 active power 0x000C, 30053 total system power 0x0034, 30071 frequency 0x0046, 30073
# import active energy 0x0048, 30075 export 0x004A, 30343 total active energy 0x0156 ("Total
# kWh equals to Import + export"); ESPHome's sdm_meter (sdm_meter_registers.h) has the same
# addresses and reads input registers 0..79 in one request. "Each request for data must be
# restricted to 30 parameters or less" (SDM72D-M manual): 60 registers, exception 03 above.
# The SDM120 is single-phase: its phase 2 and 3 registers read zero.
#
# Chint DDSU666 (single-phase): floats, "ABCD" (high word first). Chint's DTSU666/DDSU666
# manual ZTY0.464.1448 (section 5.3, table 11): "ModBus_RTU protocol read command is 03H";
# OpenEMS MeterChintDdsu666Impl reads 0x2000..0x2009, 0x200A..0x2011 and 0x4000 with FC03
# (word order MSWLSW, big-endian); Tasmota's xnrg_11_ddsu666 reads the same registers with
# FC04, so the meter answers both. 0x2000 voltage V, 0x2002 current A, 0x2004 active power in
# KILOWATTS (Tasmota: "[KW]", value * 1000 -> W; OpenEMS: x1000 to W), 0x200E frequency Hz,
# 0x4000 import active energy kWh, 0x400A export active energy kWh (Tasmota). No documented
# request limit: Modbus's 125 registers.
#
# Chint DTSU666 (three-phase): floats, high word first ("IEEE754 ... ABCD"). Read with 03H
# (Chint manual ZTY0.464.1448, table 11) and with 04H (OpenEMS MeterChintDtsu666Impl, one FC04
# task over 0x2006..0x2019; a field report, nearlyfreeenergy "DTSU666 3-Phase + mbpoll",
# reads input registers). Measurements in odd units: 0x2006/08/0A Ua, Ub, Uc in 0.1 V
# (OpenEMS x100 to mV; docs.smart-stuff.nl's DTSU666 emulation "V x10"), 0x200C/0E/10 Ia..Ic in
# mA ("A x1000"), 0x2012 Pt total active power and 0x2014/16/18 Pa..Pc in 0.1 W (OpenEMS x0.1
# to W), 0x2044 frequency in 0.01 Hz (OpenEMS x10 to mHz). The manual's table runs from 0x2000
# (Uab) to 0x2044 (Freq): one block.
# The import energy register (kWh) MOVES between firmware versions: a variant of the type,
# "dtsu666@401E" and so on:
#   @4000  OpenEMS (FC04 0x4000, x1000 to Wh) and the mbpoll field report ("Total Active
#          Energy (kWh) Register: 0x4000"): plain "dtsu666";
#   @401E  aggsoft's DTSU666 map and gerontec/dtsu666 ("16414 Positive active (current, imp)",
#          export "16424" = 0x4028);
#   @101E  the manual's copy cited by michielfromNL's DTSU666 emulator ("ImpEp (Current)
#          positive total active energy", ExpEp 0x1028) and docs.smart-stuff.nl.
_METERS = """
sdm120 4 1 60 0000:50 0156:4
0000 f32 voltage V
0006 f32 current A
000C f32 power W
0046 f32 frequency Hz
0048 f32 energy_import kWh
004A f32 energy_export kWh
0156 f32 energy_total kWh
sdm630 4 3 60 0000:50 0156:4
0000 f32 voltage V
0002 f32 voltage V
0004 f32 voltage V
0006 f32 current A
0008 f32 current A
000A f32 current A
000C f32 power_phase W
000E f32 power_phase W
0010 f32 power_phase W
0034 f32 power W
0046 f32 frequency Hz
0048 f32 energy_import kWh
004A f32 energy_export kWh
0156 f32 energy_total kWh
ddsu666 34 1 125 2000:12 4000:2 400A:2
2000 f32 voltage V
2002 f32 current A
2004 f32 power kW
200E f32 frequency Hz
4000 f32 energy_import kWh
400A f32 energy_export kWh
dtsu666 34 3 125 2000:46 4000:2@4000 401E:C@401E 101E:C@101E
2006 f32 voltage 0.1V
2008 f32 voltage 0.1V
200A f32 voltage 0.1V
200C f32 current mA
200E f32 current mA
2010 f32 current mA
2012 f32 power 0.1W
2014 f32 power_phase 0.1W
2016 f32 power_phase 0.1W
2018 f32 power_phase 0.1W
2044 f32 frequency 0.01Hz
4000 f32 energy_import kWh @4000
401E f32 energy_import kWh @401E
4028 f32 energy_export kWh @401E
101E f32 energy_import kWh @101E
1028 f32 energy_export kWh @101E
"""
# The sim's own registry: the profile sensor types that have a meter model.
METERS = ("sdm120", "sdm630", "ddsu666", "dtsu666")


def _variant(word, variant):
    # "X@V" -> X when V is the variant (or there is no @), else None
    at = word.find("@")
    if at < 0:
        return word
    return word[:at] if word[at + 1 :] == variant else None


def table(name):
    """The meter table of a type name ("sdm120", "dtsu666@401E"): {"name", "fcs", "phases",
    "max_regs", "blocks": [(first, count)], "registers": [(address, type, quantity, unit)]}."""
    at = name.find("@")
    base, variant = (name, "4000") if at < 0 else (name[:at], name[at + 1 :])
    text = _METERS
    # Line by line from the meter's header, no list of every line (the MicroPython tests'
    # heap is small and fragments).
    pos = text.find("\n" + base + " ")
    t = None
    while pos >= 0:
        end = text.find("\n", pos + 1)
        if end < 0:
            break
        w = text[pos + 1 : end].split()
        pos = end
        if t is None:
            blocks = []
            for b in w[4:]:
                b = _variant(b, variant)
                if b is not None:
                    blocks.append((int(b[:4], 16), int(b[5:], 16)))
            t = {
                "name": base,
                "fcs": tuple([int(c) for c in w[1]]),
                "phases": int(w[2]),
                "max_regs": int(w[3]),
                "blocks": blocks,
                "registers": [],
            }
        elif len(w[0]) > 4:
            break  # the next meter's header
        elif len(w) == 4 or _variant(w[4], variant) is not None:
            t["registers"].append((int(w[0], 16), w[1], w[2], w[3]))
    if t is None or not t["registers"] or len(t["blocks"]) < 2:
        raise ValueError("no meter model for %r" % name)
    return t


def energy_register(name, option=None):
    """(address, quantity) of the energy register a profile's "energy" option names on meter
    `name`, from its table: energy_import, energy_export or energy_total; None or "energy"
    is the meter's forward count (its first energy_import register)."""
    want = "energy_import" if option is None or option == "energy" else option
    for r in table(name)["registers"]:
        if r[2] == want and want.startswith("energy_"):
            return r[0], want
    raise ValueError("a %s has no %s register" % (name, option))


# The order the model's _encode() lists its quantities and types in: the plan's codes.
QUANTITIES = (
    "voltage",
    "current",
    "power",
    "power_phase",
    "frequency",
    "energy_import",
    "energy_export",
    "energy_total",
)
TYPES = ("f32", "u16", "s16", "u32", "s32")


def plan(t):
    """A model's register files and the place of each register: ([(first, count,
    bytearray)], bytes of 7 per register: file index, byte offset (2), type code, quantity
    code, factor (int16), all big-endian). Bytes, not tuples: a model in the MicroPython
    tests' heap keeps a few dozen bytes for it."""
    if not isinstance(t, dict) or "registers" not in t:
        raise TypeError("a meter model takes a type name or a table of modbus_maps")
    files = [(b[0], b[1], bytearray(2 * b[1])) for b in t["blocks"]]
    code = bytearray(7 * len(t["registers"]))
    i = 0
    for address, typ, quantity, unit in t["registers"]:
        last = address if typ[1] == "1" else address + 1  # 16 or 32 bits
        k = 0
        while k < len(files) and not (files[k][0] <= address and last < files[k][0] + files[k][1]):
            k += 1
        if k == len(files):
            raise ValueError("register 0x%04X outside the blocks" % address)
        struct.pack_into(
            ">BHBBh",
            code,
            i,
            k,
            2 * (address - files[k][0]),
            TYPES.index(typ),
            QUANTITIES.index(quantity),
            _UNITS[unit],
        )
        i += 7
    return files, bytes(code)
