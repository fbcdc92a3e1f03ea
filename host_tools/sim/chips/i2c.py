# A fake I2C bus with fault injection, and register-level models of the INA219 and INA226.
#
# Portable Python: runs under CPython and inside the MicroPython unix port (no typing, no
# dataclasses, no random module: a tiny LCG gives the same fault sequence in both).
#
#     bus = FakeI2C()
#     chip = INA226Model(shunt_ohm=0.002)
#     bus.attach(0x40, chip)
#     drv = INA226(bus, shunt_ohm=0.002, max_current_a=20)
#     chip.set(12.5, 24.0)        # true current (A) and bus voltage (V): one conversion
#     drv.poll()
#
# FakeI2C has the machine.I2C methods a driver uses: readfrom_mem_into, readfrom_mem,
# writeto_mem, readfrom_into, readfrom, writeto, scan. Errors are those of MicroPython's ESP32
# port (ports/esp32/machine_i2c.c maps ESP_FAIL, an address or data NACK, to -MP_ENODEV and
# ESP_ERR_TIMEOUT to -MP_ETIMEDOUT; the ESP32 build takes errno values from newlib, where
# ETIMEDOUT is 116, as users report "[Errno 116] ETIMEDOUT" on 1.24; the unix port would say 110).
# The OSError carries the errno as its only argument, as MicroPython raises it:
# - a missing address, or one listed in `nack`       -> OSError(19)  ENODEV
# - `stuck = True` (SDA held low: every transfer)    -> OSError(116) ETIMEDOUT, scan() finds none
# - `nack_rate` (0..1): each transfer NACKs with that probability, drawn from a seeded LCG.
# A NACKed transfer reaches no device: nothing is written, the register pointer is unchanged.
# reset() power-cycles every device (a brownout): registers back to their power-on values.
#
# Devices answer four calls (any object with them can be attached):
#   i2c_write(buf)               a write transfer's bytes after the address byte
#   i2c_read(buf)                fill buf for a read transfer
#   i2c_mem_write(reg, buf)      pointer byte `reg`, then buf
#   i2c_mem_read(reg, buf)       pointer write `reg`, repeated start, read into buf
# and reset(). The mem calls exist so that a register read allocates nothing on the way (the
# driver's zero-allocation poll is measured through this bus).

ENODEV = 19
ETIMEDOUT = 116  # newlib's value, as on the ESP32 port (Linux: 110)

_LCG_MUL = 1103515245
_LCG_ADD = 12345


class FakeI2C:
    def __init__(self, seed=1):
        self.devices = {}  # address -> device
        self.nack = set()  # addresses that do not acknowledge
        self.stuck = False
        self.transfers = 0  # every transfer attempted, failed ones included
        self.failures = 0  # transfers that raised
        self._threshold = 0  # NACK when a 15-bit draw is below it
        self._rate = 0.0
        self._state = seed & 0x7FFFFFFF

    def attach(self, address, device):
        self.devices[address] = device
        return device

    @property
    def nack_rate(self):
        return self._rate

    @nack_rate.setter
    def nack_rate(self, rate):
        if not 0 <= rate <= 1:
            raise ValueError("nack_rate must be within 0..1")
        self._rate = rate
        self._threshold = int(rate * 32768 + 0.5)

    def seed(self, seed):
        self._state = seed & 0x7FFFFFFF

    def draw(self):
        """Next value 0..32767 of the LCG (ANSI C constants; the high bits: the low ones of a
        power-of-two LCG cycle quickly)."""
        self._state = (self._state * _LCG_MUL + _LCG_ADD) & 0x7FFFFFFF
        return self._state >> 16

    def reset(self):
        """Brownout: every device loses its registers."""
        for dev in self.devices.values():
            dev.reset()

    def _device(self, addr):
        self.transfers += 1
        if self.stuck:
            self.failures += 1
            raise OSError(ETIMEDOUT)
        dev = self.devices.get(addr)
        if dev is None or addr in self.nack or (self._threshold and self.draw() < self._threshold):
            self.failures += 1
            raise OSError(ENODEV)
        return dev

    # --- machine.I2C ---

    def scan(self):
        found = []
        for addr in range(0x08, 0x78):
            try:
                self._device(addr)
            except OSError:
                continue
            found.append(addr)
        return found

    def readfrom_mem_into(self, addr, memaddr, buf, *, addrsize=8):
        self._device(addr).i2c_mem_read(memaddr, buf)

    def readfrom_mem(self, addr, memaddr, nbytes, *, addrsize=8):
        buf = bytearray(nbytes)
        self.readfrom_mem_into(addr, memaddr, buf)
        return bytes(buf)

    def writeto_mem(self, addr, memaddr, buf, *, addrsize=8):
        self._device(addr).i2c_mem_write(memaddr, buf)

    def readfrom_into(self, addr, buf, stop=True):
        self._device(addr).i2c_read(buf)

    def readfrom(self, addr, nbytes, stop=True):
        buf = bytearray(nbytes)
        self.readfrom_into(addr, buf)
        return bytes(buf)

    def writeto(self, addr, buf, stop=True):
        self._device(addr).i2c_write(buf)
        return len(buf)  # every byte ACKed


class Register16Chip:
    """A pointer register and 16-bit big-endian registers, as TI's INA family has.

    A write sets the pointer with its first byte; two more bytes write the register it points
    to (a single data byte is incomplete and ignored; bytes past the second are ignored).
    A read returns the pointed register, MSB first; the pointer does not auto-increment
    (past two bytes the model repeats the register). Problems go to `violations`.
    """

    def __init__(self):
        self.pointer = 0
        self.violations = []
        self.writes = 0  # completed register writes

    # subclasses: read_register(reg) -> int, write_register(reg, value), reset()

    def i2c_mem_read(self, reg, buf):
        self.pointer = reg
        self.i2c_read(buf)

    def i2c_read(self, buf):
        v = self.read_register(self.pointer)
        hi = v >> 8
        lo = v & 0xFF
        i = 0
        n = len(buf)
        while i < n:
            buf[i] = lo if i & 1 else hi
            i += 1

    def i2c_mem_write(self, reg, buf):
        self.pointer = reg
        n = len(buf)
        if n < 2:
            self.violations.append("write of %d data byte(s) to 0x%02X" % (n, reg))
            return
        if n > 2:
            self.violations.append("write of %d data bytes to 0x%02X" % (n, reg))
        self.writes += 1
        self.write_register(reg, (buf[0] << 8) | buf[1])

    def i2c_write(self, buf):
        if len(buf) == 1:
            self.pointer = buf[0]  # pointer only: the next read transfer reads that register
        elif len(buf) > 1:
            self.i2c_mem_write(buf[0], buf[1:])

    def read_register(self, reg):
        raise NotImplementedError

    def write_register(self, reg, value):
        raise NotImplementedError

    def reset(self):
        raise NotImplementedError


def _div_round(num, den):
    """num/den to the nearest int, halves away from zero (an ideal ADC's code)."""
    q = (2 * abs(num) + den) // (2 * den)
    return -q if num < 0 else q


def _div_trunc(num, den):
    """num/den truncated toward zero (the chips' integer multiply-divide)."""
    q = abs(num) // den
    return -q if num < 0 else q


_CONFIG = 0x00
_SHUNT = 0x01
_BUS = 0x02
_POWER = 0x03
_CURRENT = 0x04
_CAL = 0x05


class _INAModel(Register16Chip):
    """The part both chips share: a true current and bus voltage turned into registers.

    set(current_a, bus_v) stores the physical truth and runs one conversion, as a chip in a
    continuous mode does while time passes; convert() runs another with the same inputs. A
    conversion quantises to the register LSB (nearest code), clips at the ADC's full scale,
    then computes Current = trunc(Shunt x Cal / _CURRENT_DIV) and Power =
    trunc(|Current| x Bus / _POWER_DIV) from the register values, as the datasheets' worked
    examples do; out-of-range results set the math overflow flag and saturate. Cal = 0 (the
    power-on value) yields zero current and power. Writing the configuration clears the
    conversion-ready flag; the results wait for the next set()/convert().
    always_ready=True: the ready flag never clears, as if a conversion of the same (unchanged)
    inputs had finished just before every read; for benchmarks that poll back to back.
    Not modelled: conversion time, noise, offset and gain error, the coarser effective ADC
    resolution of short conversions, alerts.
    """

    _CONFIG_RESET = 0
    _SHUNT_LSB_NV = 1
    _BUS_LSB_UV = 1
    _CURRENT_DIV = 1
    _POWER_DIV = 1

    def __init__(self, shunt_ohm, always_ready=False):
        super().__init__()
        self.r_nohm = int(shunt_ohm * 1000000000 + 0.5)
        self.always_ready = always_ready
        self.current_na = 0
        self.bus_uv = 0
        self.conversions = 0
        self.resets = 0
        self.regs = {}
        self.reset()
        self.resets = 0

    def reset(self):
        self.resets += 1
        self.pointer = 0
        self.regs = {
            _CONFIG: self._CONFIG_RESET,
            _SHUNT: 0,
            _BUS: 0,
            _POWER: 0,
            _CURRENT: 0,
            _CAL: 0,
        }
        self.ready = False
        self.overflow = False
        self._armed = False  # a triggered conversion is pending

    def set(self, current_a, bus_v):
        self.current_na = int(round(current_a * 1000000000))
        self.bus_uv = int(round(bus_v * 1000000))
        self.convert()

    def convert(self):
        """One conversion with the present inputs, if the operating mode runs one."""
        mode = self.regs[_CONFIG] & 0x7
        if not (mode & 0x4 or self._armed) or not mode & 0x3:
            return  # power-down, ADC off, or triggered and not triggered
        self._armed = False
        self.conversions += 1
        regs = self.regs
        if mode & 0x1:
            code = _div_round(self.current_na * self.r_nohm, 1000000000 * self._SHUNT_LSB_NV)
            lo, hi = self._shunt_range()
            regs[_SHUNT] = max(lo, min(hi, code)) & 0xFFFF
        if mode & 0x2:
            self._bus_code = max(0, min(self._bus_max(), _div_round(self.bus_uv, self._BUS_LSB_UV)))
        shunt = regs[_SHUNT] - 0x10000 if regs[_SHUNT] & 0x8000 else regs[_SHUNT]
        current = _div_trunc(shunt * regs[_CAL], self._CURRENT_DIV)
        overflow = not -32768 <= current <= 32767
        current = max(-32768, min(32767, current))
        power = abs(current) * self._bus_code // self._POWER_DIV
        if power > 0xFFFF:
            overflow = True
            power = 0xFFFF
        regs[_CURRENT] = current & 0xFFFF
        regs[_POWER] = power
        self.overflow = overflow
        self.ready = True
        self._publish_bus()

    def write_register(self, reg, value):
        if reg == _CONFIG:
            if value & 0x8000:  # RST: same as power-on reset, self-clearing
                self.reset()
                return
            self.regs[_CONFIG] = self._config_bits(value)
            mode = value & 0x7
            if mode & 0x3:  # a new mode (not power-down / ADC off) restarts: not ready
                self.ready = False
                self._armed = not mode & 0x4
            self._publish_bus()
        elif reg == _CAL:
            self.regs[_CAL] = self._cal_bits(value)
        else:
            self._write_other(reg, value)

    def read_register(self, reg):
        v = self.regs.get(reg)
        if v is None:
            v = self._read_other(reg)
        return v

    # chip specifics
    def _shunt_range(self):
        return -32768, 32767  # the 16-bit register

    def _bus_max(self):
        return 0x7FFF

    def _publish_bus(self):
        pass

    def _config_bits(self, value):
        return value

    def _cal_bits(self, value):
        return value

    def _write_other(self, reg, value):
        self.violations.append("write to read-only or missing register 0x%02X" % reg)

    def _read_other(self, reg):
        self.violations.append("read of missing register 0x%02X" % reg)
        return 0


class INA219Model(_INAModel):
    """INA219 (SBOS448G): registers 00h..05h.

    Shunt: 10 uV LSB, clipped at the PGA range (+-4000 x 1, 2, 4, 8 codes). Bus (02h): the
    code in bits 15..3 (4 mV LSB; at most 4095 codes with BRNG = 16 V, 8191 with 32 V),
    CNVR bit 1 (set by a conversion, cleared by reading the power register or writing a
    mode), OVF bit 0. Current = Shunt x Cal / 4096, Power = Current x Bus / 5000 (Power LSB =
    20 Current LSB). Calibration bit 0 (FS0) is void and reads 0. Config resets to 399Fh.
    """

    _CONFIG_RESET = 0x399F
    _SHUNT_LSB_NV = 10000
    _BUS_LSB_UV = 4000
    _CURRENT_DIV = 4096
    _POWER_DIV = 5000

    def reset(self):
        self._bus_code = 0
        super().reset()
        self._publish_bus()

    def _shunt_range(self):
        fs = 4000 << ((self.regs[_CONFIG] >> 11) & 0x3)  # PGA /1../8: 40..320 mV
        return -fs, fs

    def _bus_max(self):
        return 8191 if self.regs[_CONFIG] & 0x2000 else 4095

    def _publish_bus(self):
        self.regs[_BUS] = (
            (self._bus_code << 3) | (0x2 if self.ready else 0) | (0x1 if self.overflow else 0)
        )

    def _cal_bits(self, value):
        return value & 0xFFFE

    def _config_bits(self, value):
        return value & 0x3FFF  # bit 14 unused; RST self-clears

    def read_register(self, reg):
        v = _INAModel.read_register(self, reg)  # not super(): that allocates in MicroPython
        if reg == _POWER and not self.always_ready:
            self.ready = False  # reading power clears CNVR
            self._publish_bus()
        return v


_MASK_ENABLE = 0x06
_ALERT_LIMIT = 0x07
_MANUFACTURER_ID = 0xFE
_DIE_ID = 0xFF


class INA226Model(_INAModel):
    """INA226 (SBOS547B): registers 00h..07h, FEh (5449h, "TI"), FFh (2260h).

    Shunt: 2.5 uV LSB, 16-bit (+-81.92 mV, clipped). Bus: 1.25 mV LSB, 0..7FFFh (negative
    reads 0). Current = Shunt x Cal / 2048, Power = Current x Bus / 20000 (Power LSB = 25
    Current LSB). Mask/Enable (06h): CVRF bit 3 (set by a conversion, cleared by reading 06h
    or writing the configuration), OVF bit 2; bits 15..10 and 1..0 read back as written.
    Calibration bit 15 is reserved and reads 0. Config resets to 4127h; bits 14..12 read 100.
    """

    _CONFIG_RESET = 0x4127
    _SHUNT_LSB_NV = 2500
    _BUS_LSB_UV = 1250
    _CURRENT_DIV = 2048
    _POWER_DIV = 20000

    def reset(self):
        self._bus_code = 0
        self.mask_enable = 0
        self.alert_limit = 0
        super().reset()

    def _publish_bus(self):
        self.regs[_BUS] = self._bus_code

    def _cal_bits(self, value):
        return value & 0x7FFF

    def _config_bits(self, value):
        return (value & 0x0FFF) | 0x4000

    def _write_other(self, reg, value):
        if reg == _MASK_ENABLE:
            self.mask_enable = value & 0xFC03
        elif reg == _ALERT_LIMIT:
            self.alert_limit = value
        else:
            super()._write_other(reg, value)

    def _read_other(self, reg):
        if reg == _MASK_ENABLE:
            v = self.mask_enable | (0x8 if self.ready else 0) | (0x4 if self.overflow else 0)
            if not self.always_ready:
                self.ready = False  # reading Mask/Enable clears CVRF
            return v
        if reg == _ALERT_LIMIT:
            return self.alert_limit
        if reg == _MANUFACTURER_ID:
            return 0x5449
        if reg == _DIE_ID:
            return 0x2260
        return super()._read_other(reg)
