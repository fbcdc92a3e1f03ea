# INA219 and INA226 current/power monitors on I2C (TI SBOS448G and SBOS547B).
#
# The bus is handed in (micropython-lib ssd1306 style): `i2c` has readfrom_mem_into(addr, reg,
# buf) and writeto_mem(addr, reg, buf), as machine.I2C / SoftI2C. Registers are 16-bit big-endian.
# One module for both chips: they share the register map 00h..05h and the calibration scheme,
# and MicroPython's private const() names cannot be shared across modules.
#
#     ina = INA226(i2c, shunt_ohm=0.002, max_current_a=20)
#     flag = ina.poll()          # a sunprint.quality flag; never raises
#     ina.bus_mv, ina.shunt_uv, ina.current_ma, ina.power_mw, ina.quality
#     ina.read_mw()              # the app's source interface: poll, then mW or OSError
#
# Units (all ints): bus_mv in mV, shunt_uv in uV (INA226: 2.5 uV steps rounded half up),
# current_ua in uA and current_ma in mA (signed: positive = IN+ to IN-, the chip's sign),
# power_mw in mW, signed like the current (the chips' power register holds |I| x V).
# A flag other than OK leaves every value at the last good reading.
#
# Calibration (datasheet equations, SBOS448G 8.5.1 and SBOS547B 6.5.1):
#   Current_LSB = max_current_a / 2**15, rounded UP to a whole nA: the smallest LSB that keeps
#     max_current_a inside the 15-bit current register (rounding up, never down). The datasheets
#     suggest rounding up further to a round number to ease the conversion; this driver
#     converts with integer fixed point, so a round LSB would only cost resolution. Pass
#     current_lsb_ua to choose one anyway (the datasheet examples use 1000 uA).
#   INA219: Cal = trunc(0.04096 / (Current_LSB x Rshunt)), bit 0 cleared (FS0 is void),
#           Power_LSB = 20 x Current_LSB.
#   INA226: Cal = trunc(0.00512 / (Current_LSB x Rshunt)), Power_LSB = 25 x Current_LSB.
#   Cal is computed with integers (Rshunt in nOhm, LSB in nA): the ESP32's single-precision
#   floats would turn 20480.0 into 20479. Readings are converted with the LSB the chip really
#   applies, 0.04096 (or 0.00512) / (Cal x Rshunt), so Cal's truncation adds no bias.
#
# Polling: every register is read into ONE preallocated 2-byte buffer and decoded by hand;
# poll() allocates nothing and uses no float. On the ESP32 a small int has 31 bits, so every
# product stays below 2**30 (the constructor rejects a configuration where it would not).
# The first poll (and any poll after a reset) writes configuration and calibration and returns
# NOT_READY; each later poll reads the data registers, then the calibration register LAST:
# a chip that browned out reads Cal = 0 (the power-on value), so the data just read are thrown
# away, the chip is set up again and `resets` counts it (Linux hwmon ina2xx checks Cal the same
# way). Flags: NO_ANSWER for any OSError from the bus (caught here), NOT_READY while no new
# conversion finished since the last poll (INA219 CNVR, INA226 CVRF: poll slower than
# conversion_us), OUT_OF_RANGE for the math overflow flag (OVF) or a shunt reading at full
# scale, DEVICE_ERROR when the chip is not what the driver expects (INA226 IDs, calibration
# that does not read back).

from sunprint.compat import const
from sunprint.quality import DEVICE_ERROR, NAMES, NO_ANSWER, NOT_READY, OK, OUT_OF_RANGE

_REG_CONFIG = const(0x00)
_REG_SHUNT = const(0x01)
_REG_BUS = const(0x02)
_REG_POWER = const(0x03)
_REG_CURRENT = const(0x04)
_REG_CAL = const(0x05)
_REG_MASK_ENABLE = const(0x06)  # INA226 only
_REG_MANUFACTURER_ID = const(0xFE)  # INA226 only
_REG_DIE_ID = const(0xFF)  # INA226 only

_MODE_SHUNT_BUS_CONTINUOUS = const(0x7)
_INA219_BRNG_32V = const(0x2000)
_INA219_CNVR = const(0x02)  # bus register bit 1
_INA219_OVF = const(0x01)  # bus register bit 0
_INA226_CONFIG_FIXED = const(0x4000)  # bits 14..12 read 100
_INA226_CVRF = const(0x08)  # mask/enable bit 3, cleared by reading the register
_INA226_OVF = const(0x04)  # mask/enable bit 2
_TI = const(0x5449)  # "TI"
_INA226_DIE = const(0x226)  # die ID bits 15..4 (bits 3..0: revision)

_FRAC = const(14)  # fixed-point fraction bits of the conversion factors
_HALF = const(0x2000)  # 0.5 in that fixed point
_EIO = const(5)

# INA219 ADC field (BADC/SADC) by samples averaged, and its conversion time in us (Table 6).
_INA219_ADC = ((1, 0x3, 532), (2, 0x9, 1060), (4, 0xA, 2130), (8, 0xB, 4260), (16, 0xC, 8510),
               (32, 0xD, 17020), (64, 0xE, 34050), (128, 0xF, 68100))  # fmt: skip
_INA219_RANGES_MV = (40, 80, 160, 320)  # PGA /1, /2, /4, /8
# INA226 AVG field index = position; CT field index = position (Tables 7-4 .. 7-6).
_INA226_AVG = (1, 4, 16, 64, 128, 256, 512, 1024)
_INA226_CT_US = (140, 204, 332, 588, 1100, 2116, 4156, 8244)


def _units(shunt_ohm, max_current_a):
    """(Rshunt in nOhm, max current in uA) as ints: the rest of the arithmetic is exact."""
    if not 0 < shunt_ohm < 1000 or not 0 < max_current_a < 100000:  # also NaN and inf
        raise ValueError("shunt_ohm and max_current_a must be > 0")
    r_nohm = int(shunt_ohm * 1000000000 + 0.5)
    max_ua = int(max_current_a * 1000000 + 0.5)
    if not r_nohm or not max_ua:
        raise ValueError("shunt_ohm below 1 nOhm or max_current_a below 1 uA")
    return r_nohm, max_ua


def _fixed(num, den):
    """(whole, fraction) of num/den in _FRAC-bit fixed point, rounded to nearest."""
    q = ((num << (_FRAC + 1)) + den) // (2 * den)
    return q >> _FRAC, q & ((1 << _FRAC) - 1)


class _INA2xx:
    NAME = "INA2xx"
    # Set by the subclasses: Cal = _CAL_K / (LSB_nA x R_nOhm); Power_LSB = _POWER_X x LSB.
    _CAL_K = 0
    _POWER_X = 0
    _CAL_MAX = 0x7FFF

    def __init__(self, i2c, address, shunt_ohm, max_current_a, current_lsb_ua, shunt_fs_uv):
        r_nohm, max_ua = _units(shunt_ohm, max_current_a)
        self._i2c = i2c
        self._addr = address
        self._buf = bytearray(2)  # the one buffer every transfer uses
        if max_ua * r_nohm > shunt_fs_uv * 1000000000:  # uA x nOhm = 1e-9 uV
            raise ValueError("max_current_a x shunt_ohm exceeds the shunt range")
        lsb_na = (max_ua * 1000 + 32767) // 32768  # max / 2**15, rounded up to whole nA
        if current_lsb_ua is not None:
            chosen = int(current_lsb_ua * 1000 + 0.5)
            if chosen < lsb_na:
                raise ValueError("current_lsb_ua below max_current_a / 2**15")
            lsb_na = chosen
        cal = self._CAL_K // (lsb_na * r_nohm)
        if not 0 < cal <= self._CAL_MAX:
            raise ValueError("calibration out of range: cal %d" % cal)
        cal = self._cal_bits(cal)
        if not cal:
            raise ValueError("calibration out of range: cal 0")
        self.shunt_nohm = r_nohm
        self.current_lsb_na = lsb_na  # nominal, as chosen above
        self.power_lsb_uw = self._POWER_X * lsb_na // 1000  # nominal, truncated
        self.cal = cal
        # The LSB the chip applies: _CAL_K / (Cal x R) nA; in uA and, x _POWER_X, in mW.
        den = cal * r_nohm
        self._i_whole, self._i_frac = _fixed(self._CAL_K, den * 1000)
        self._p_whole, self._p_frac = _fixed(self._CAL_K * self._POWER_X, den * 1000000)
        # Keep every poll() product a small int on the ESP32 (< 2**30): |current| <= 2**15,
        # power <= 2**16 counts; the fractions are < 2**14 by construction.
        if self._i_whole >= 1 << 14 or self._p_whole >= 1 << 13:
            raise ValueError("max_current_a too large for the integer conversion")
        self.config = 0
        self.conversion_us = 0
        self.bus_mv = 0
        self.shunt_uv = 0
        self.current_ua = 0
        self.current_ma = 0
        self.power_mw = 0
        self.quality = NOT_READY
        self.resets = 0  # chip resets (brownouts) detected and recovered
        self._configured = False

    def _cal_bits(self, cal):
        return cal

    # --- bus primitives (no allocation) ---

    def _read(self, reg):
        b = self._buf
        self._i2c.readfrom_mem_into(self._addr, reg, b)
        return (b[0] << 8) | b[1]

    def _write(self, reg, value):
        b = self._buf
        b[0] = value >> 8
        b[1] = value & 0xFF
        self._i2c.writeto_mem(self._addr, reg, b)

    # --- public API ---

    def init(self):
        """Write configuration and calibration. Raises OSError on a bus fault; returns False
        when the chip is not the expected one or the calibration does not read back."""
        self._configured = False
        if not self._identify():
            return False
        self._write(_REG_CONFIG, self.config)
        self._write(_REG_CAL, self.cal)
        if self._read(_REG_CAL) != self.cal:
            return False
        self._configured = True
        return True

    def poll(self):
        """Read the chip; return a quality flag (also kept in .quality). Never raises OSError."""
        try:
            if self._configured:
                q = self._poll()
            else:
                q = self._bring_up()
        except OSError:
            q = NO_ANSWER
        self.quality = q
        return q

    def read_mw(self):
        """The app's source interface: poll, then power in mW, or OSError when not OK."""
        q = self.poll()
        if q != OK:
            raise OSError(_EIO, "%s: %s" % (self.NAME, NAMES[q]))
        return self.power_mw

    # --- internals ---

    def _identify(self):
        return True

    def _bring_up(self):
        # Writing the configuration restarts the conversion: nothing to read yet.
        return NOT_READY if self.init() else DEVICE_ERROR

    def _recover_if_reset(self):
        # Called after the data reads: a reset before or during them shows here.
        if self._read(_REG_CAL) == self.cal:
            return False
        self.resets += 1
        self._configured = False
        return True

    def _store(self, shunt_uv, bus_mv, current, power):
        # current: signed current register; power: unsigned power register.
        ua = current * self._i_whole + ((current * self._i_frac + _HALF) >> _FRAC)
        mw = power * self._p_whole + ((power * self._p_frac + _HALF) >> _FRAC)
        self.shunt_uv = shunt_uv
        self.bus_mv = bus_mv
        self.current_ua = ua
        self.current_ma = (ua + 500) // 1000
        self.power_mw = -mw if current < 0 else mw

    def _poll(self):
        raise NotImplementedError


class INA219(_INA2xx):
    """INA219: 12-bit, 26 V bus, PGA +-40..320 mV shunt range, 10 uV / 4 mV register LSBs.

    bus_range_v: 16 or 32 (BRNG). shunt_range_mv: 40, 80, 160 or 320 (PGA /1../8); None picks
    the smallest range that holds max_current_a x shunt_ohm. averaging: samples averaged per
    result, 1 (one 12-bit conversion) to 128, for both ADCs.
    """

    NAME = "INA219"
    _CAL_K = 40960000000000000  # 0.04096 in nA x nOhm units
    _POWER_X = 20
    _CAL_MAX = 0xFFFE

    def __init__(
        self,
        i2c,
        *,
        address=0x40,
        shunt_ohm,
        max_current_a,
        bus_range_v=32,
        shunt_range_mv=None,
        averaging=16,
        current_lsb_ua=None,
    ):
        if bus_range_v not in (16, 32):
            raise ValueError("bus_range_v must be 16 or 32")
        if shunt_range_mv is None:
            r_nohm, max_ua = _units(shunt_ohm, max_current_a)
            for mv in _INA219_RANGES_MV:
                shunt_range_mv = mv
                if r_nohm * max_ua <= mv * 1000000000000:  # uA x nOhm = 1e-12 mV
                    break
        if shunt_range_mv not in _INA219_RANGES_MV:
            raise ValueError("shunt_range_mv must be 40, 80, 160 or 320")
        adc = adc_us = 0
        for n, bits, us in _INA219_ADC:
            if n == averaging:
                adc, adc_us = bits, us
        if not adc:
            raise ValueError("averaging must be 1, 2, 4, ..., 128")
        super().__init__(i2c, address, shunt_ohm, max_current_a, current_lsb_ua,
                         shunt_range_mv * 1000)  # fmt: skip
        pg = _INA219_RANGES_MV.index(shunt_range_mv)
        self.shunt_range_mv = shunt_range_mv
        self._shunt_fs = shunt_range_mv * 100  # full scale in 10 uV counts
        self.config = (
            (_INA219_BRNG_32V if bus_range_v == 32 else 0)
            | (pg << 11)
            | (adc << 7)
            | (adc << 3)
            | _MODE_SHUNT_BUS_CONTINUOUS
        )
        self.conversion_us = 2 * adc_us  # shunt, then bus

    def _cal_bits(self, cal):
        return cal & 0xFFFE  # FS0 is void: the chip reads it back as 0

    def _poll(self):
        bus = self._read(_REG_BUS)
        if not bus & _INA219_CNVR:
            return self._bring_up() if self._recover_if_reset() else NOT_READY
        shunt = self._read(_REG_SHUNT)
        current = self._read(_REG_CURRENT)
        power = self._read(_REG_POWER)  # reading it clears CNVR
        if self._recover_if_reset():
            return self._bring_up()
        if shunt & 0x8000:
            shunt -= 0x10000
        if current & 0x8000:
            current -= 0x10000
        if bus & _INA219_OVF or shunt >= self._shunt_fs or -shunt >= self._shunt_fs:
            return OUT_OF_RANGE
        self._store(shunt * 10, (bus >> 3) * 4, current, power)
        return OK


class INA226(_INA2xx):
    """INA226: 16-bit, 36 V bus, +-81.92 mV shunt range, 2.5 uV / 1.25 mV register LSBs.

    averaging: 1, 4, 16, 64, 128, 256, 512 or 1024 samples per result. conversion_us: the
    conversion time of each ADC, 140, 204, 332, 588, 1100, 2116, 4156 or 8244 us.
    """

    NAME = "INA226"
    _CAL_K = 5120000000000000  # 0.00512 in nA x nOhm units
    _POWER_X = 25
    _CAL_MAX = 0x7FFF  # bit 15 is reserved

    def __init__(
        self,
        i2c,
        *,
        address=0x40,
        shunt_ohm,
        max_current_a,
        averaging=16,
        conversion_us=1100,
        current_lsb_ua=None,
    ):
        if averaging not in _INA226_AVG:
            raise ValueError("averaging must be one of %r" % (_INA226_AVG,))
        if conversion_us not in _INA226_CT_US:
            raise ValueError("conversion_us must be one of %r" % (_INA226_CT_US,))
        super().__init__(i2c, address, shunt_ohm, max_current_a, current_lsb_ua, 81920)
        ct = _INA226_CT_US.index(conversion_us)
        self.config = (
            _INA226_CONFIG_FIXED
            | (_INA226_AVG.index(averaging) << 9)
            | (ct << 6)
            | (ct << 3)
            | _MODE_SHUNT_BUS_CONTINUOUS
        )
        self.conversion_us = averaging * 2 * conversion_us  # shunt, then bus

    def _identify(self):
        return (
            self._read(_REG_MANUFACTURER_ID) == _TI and self._read(_REG_DIE_ID) >> 4 == _INA226_DIE
        )

    def _poll(self):
        flags = self._read(_REG_MASK_ENABLE)  # reading it clears CVRF
        if not flags & _INA226_CVRF:
            return self._bring_up() if self._recover_if_reset() else NOT_READY
        shunt = self._read(_REG_SHUNT)
        bus = self._read(_REG_BUS)
        current = self._read(_REG_CURRENT)
        power = self._read(_REG_POWER)
        if self._recover_if_reset():
            return self._bring_up()
        if shunt & 0x8000:
            shunt -= 0x10000
        if current & 0x8000:
            current -= 0x10000
        if flags & _INA226_OVF or shunt >= 0x7FFF or shunt <= -0x8000:
            return OUT_OF_RANGE
        # 2.5 uV and 1.25 mV LSBs, rounded half up
        self._store((shunt * 5 + 1) >> 1, (bus * 5 + 2) >> 2, current, power)
        return OK
