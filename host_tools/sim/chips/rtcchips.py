# Register-level models of the two battery-backed RTC modules installers buy: DS3231 (Maxim/ADI
# DS3231 datasheet 19-5170 Rev 10) and PCF8563 (NXP PCF8563 datasheet Rev. 11). Written from the
# datasheets' register maps and counting rules, not from the drivers: each model counts in its
# own calendar fields with the chip's carry rules (a 2-digit year, leap year when it is a
# multiple of 4, a weekday counter of its own) and renders/parses its BCD registers.
#
# Portable Python (CPython and the MicroPython unix port): no typing, no dataclasses.
#
#     bus = FakeI2C(); chip = bus.attach(0x68, DS3231Model(clock_ms))
#     chip.set_time(2024, 10, 14, 12, 0, 0)    # as if set by a tool, oscillator flags cleared
#     chip.power_cut(battery=False); chip.power_restored()  # time lost: OSF set, power-on values
#
# Time runs from clock_ms(), a function giving the host's (or a test's virtual) milliseconds;
# `ppm` makes the crystal run fast (+) or slow (-). Whole seconds elapsed are counted into the
# registers at every bus access, so the model costs nothing between reads.

_LCG_MUL = 1103515245
_LCG_ADD = 12345


def _bcd(n):
    return (n // 10) << 4 | n % 10


def _unbcd(b):
    return (b >> 4) * 10 + (b & 15)


def _month_days(month, yy):
    # Both datasheets: leap years are compensated "up to 2100", i.e. every year multiple of 4.
    if month == 2:
        return 29 if yy % 4 == 0 else 28
    if month in (4, 6, 9, 11):
        return 30
    return 31


class Calendar:
    """The counting chain both chips have: seconds .. years, a weekday counter, a century bit
    that toggles when the years roll over from 99 to 00."""

    def __init__(self, clock_ms, ppm):
        self.clock_ms = clock_ms
        self.ppm = ppm
        self.running = True
        self.sec = self.min = self.hour = 0
        self.date = self.month = 1
        self.year = 0
        self.weekday = 0
        self.century = 0
        self._last = clock_ms()
        self._sub_us = 0  # the countdown chain: microseconds into the current second

    def _tick(self):
        now = self.clock_ms()
        elapsed = now - self._last
        self._last = now
        if not self.running or elapsed <= 0:
            return
        self._sub_us += elapsed * (1000000 + self.ppm) // 1000
        n = self._sub_us // 1000000
        self._sub_us -= n * 1000000
        if n:
            self.advance(n)

    def restart_second(self):
        """Writing the seconds register resets the countdown chain (DS3231: "the countdown
        chain is reset whenever the seconds register is written"; PCF8563 likewise, 8.5)."""
        self._tick()
        self._sub_us = 0

    def advance(self, n):
        total = self.sec + n
        self.sec = total % 60
        total = self.min + total // 60
        self.min = total % 60
        total = self.hour + total // 60
        self.hour = total % 24
        days = total // 24
        self.weekday = (self.weekday + days) % 7
        while days:
            left = _month_days(self.month, self.year) - self.date  # days left in this month
            if days <= left:
                self.date += days
                return
            days -= left + 1
            self.date = 1
            self.month += 1
            if self.month > 12:
                self.month = 1
                self.year += 1
                if self.year > 99:
                    self.year = 0
                    self.century ^= 1


class RegisterChip(Calendar):
    """What both chips put around the calendar: a battery, and N_REGS registers behind an I2C
    pointer that auto-increments and wraps to 00h; writes and violations for a test to read."""

    N_REGS = 0

    def __init__(self, clock_ms, ppm, battery):
        super().__init__(clock_ms, ppm)
        self.battery = battery
        self.pointer = 0
        self.writes = 0
        self.violations = []
        self._lost = False

    def reset(self):  # a brownout of the bus (FakeI2C.reset): VCC only
        self.power_cut()
        self.power_restored()

    def i2c_mem_read(self, reg, buf):
        self.pointer = reg
        self.i2c_read(buf)

    def i2c_read(self, buf):
        # one consistent time: DS3231, the user buffers are loaded at the START; PCF8563, the
        # counters are frozen during the transfer (8.5)
        self._tick()
        for i in range(len(buf)):
            buf[i] = self.read_reg(self.pointer)
            self.pointer = (self.pointer + 1) % self.N_REGS

    def i2c_mem_write(self, reg, buf):
        self._tick()
        self.pointer = reg
        for b in buf:
            if self.pointer >= self.N_REGS:
                self.violations.append("write past %02Xh" % (self.N_REGS - 1))
            self.write_reg(self.pointer, b)
            self.pointer = (self.pointer + 1) % self.N_REGS
        self.writes += 1

    def i2c_write(self, buf):
        if len(buf) == 1:
            self.pointer = buf[0]
        elif len(buf) > 1:
            self.i2c_mem_write(buf[0], buf[1:])


class DS3231Model(RegisterChip):
    """DS3231 at 0x68: registers 00h-12h (Figure 1), pointer auto-increment wrapping from 12h to
    00h. Power-on values ("Timekeeping Registers", Control 0Eh = 1Ch, Status 0Fh = 88h):
    01/01/00, day 1, 00:00:00, OSF set. `battery` False: a VCC loss loses everything."""

    N_REGS = 0x13

    def __init__(self, clock_ms, ppm=0, battery=True):
        super().__init__(clock_ms, ppm, battery)
        self._power_on()

    def _power_on(self):
        self.sec = self.min = self.hour = 0
        self.date = self.month = 1
        self.year = 0
        self.century = 0
        self.weekday = 0  # the day register reads weekday + 1: 1 at power-on
        self.h12 = False
        self.control = 0x1C
        self.status = 0x88  # OSF, EN32kHz
        self.aging = 0
        self.alarms = bytearray(7)  # 07h-0Dh, kept as written
        self.running = True
        self._last = self.clock_ms()
        self._sub_us = 0

    def set_time(self, year, month, date, hour, minute, second, weekday=None):
        """What a setting tool leaves: the time written, 24-hour mode, OSF cleared."""
        self._tick()
        self.year, self.month, self.date = year - 2000, month, date
        self.hour, self.min, self.sec = hour, minute, second
        self.weekday = weekday if weekday is not None else 0
        self.h12 = False
        self.status &= ~0x80
        self._sub_us = 0

    def power_cut(self, battery=None):
        """VCC off until power_restored(): with a battery the oscillator runs on (unless EOSC
        is 1: then it stops and OSF is set); without one every register is lost."""
        self._tick()
        self._lost = not (self.battery if battery is None else battery)
        if self._lost or self.control & 0x80:  # EOSC: the oscillator stops on battery power
            self.running = False
            self.status |= 0x80

    def power_restored(self):
        self._tick()
        if self._lost:
            self._power_on()
            self._lost = False
        self.running = True

    # --- registers ---

    def _hours_reg(self):
        if not self.h12:
            return _bcd(self.hour)
        h = self.hour % 12 or 12
        return 0x40 | (0x20 if self.hour >= 12 else 0) | _bcd(h)

    def read_reg(self, r):
        if r == 0:
            return _bcd(self.sec)
        if r == 1:
            return _bcd(self.min)
        if r == 2:
            return self._hours_reg()
        if r == 3:
            return self.weekday + 1
        if r == 4:
            return _bcd(self.date)
        if r == 5:
            return self.century << 7 | _bcd(self.month)
        if r == 6:
            return _bcd(self.year)
        if r < 0x0E:
            return self.alarms[r - 7]
        if r == 0x0E:
            return self.control
        if r == 0x0F:
            return self.status
        if r == 0x10:
            return self.aging
        if r == 0x11:
            return 25  # temperature MSB: 25 degC
        return 0  # 12h: temperature LSB

    def write_reg(self, r, v):
        if r == 0:
            self.restart_second()
            self.sec = _unbcd(v & 0x7F)
        elif r == 1:
            self.min = _unbcd(v & 0x7F)
        elif r == 2:
            self.h12 = bool(v & 0x40)
            if self.h12:
                h = _unbcd(v & 0x1F) % 12
                self.hour = h + (12 if v & 0x20 else 0)
            else:
                self.hour = _unbcd(v & 0x3F)
        elif r == 3:
            self.weekday = ((v & 7) - 1) % 7
        elif r == 4:
            self.date = _unbcd(v & 0x3F)
        elif r == 5:
            self.century = v >> 7
            self.month = _unbcd(v & 0x1F)
        elif r == 6:
            self.year = _unbcd(v)
        elif r < 0x0E:
            self.alarms[r - 7] = v
        elif r == 0x0E:
            self.control = v
        elif r == 0x0F:
            # OSF, A2F, A1F can only be cleared; EN32kHz is read/write; BSY is read-only
            self.status = (self.status & v & 0x83) | (v & 0x08) | (self.status & 0x04)
        elif r == 0x10:
            self.aging = v
        else:
            self.violations.append("write to read-only register 0x%02X" % r)


class PCF8563Model(RegisterChip):
    """PCF8563 at 0x51: registers 00h-0Fh (Table 4), auto-increment wrapping from 0Fh to 00h.
    Reset values (8.3, Table 4): Control_status_1 08h, Control_status_2 00h, VL set, the time
    registers undefined (here: a fixed pseudo-random pattern), CLKOUT_control 80h,
    Timer_control 03h. Weekday 0-6 counts on its own; century bit C toggles on 99 -> 00."""

    N_REGS = 0x10

    def __init__(self, clock_ms, ppm=0, battery=True, seed=7):
        super().__init__(clock_ms, ppm, battery)
        self._seed = seed
        self._power_on()

    def _noise(self, lo, hi):
        self._seed = (self._seed * _LCG_MUL + _LCG_ADD) & 0x7FFFFFFF
        return lo + (self._seed >> 16) % (hi - lo + 1)

    def _power_on(self):
        self.control1 = 0x08
        self.control2 = 0x00
        self.vl = 1
        # undefined after reset: any in-range value (the VL flag says not to trust them)
        self.sec = self._noise(0, 59)
        self.min = self._noise(0, 59)
        self.hour = self._noise(0, 23)
        self.date = self._noise(1, 28)
        self.weekday = self._noise(0, 6)
        self.month = self._noise(1, 12)
        self.year = self._noise(0, 99)
        self.century = 0
        self.alarms = bytearray(b"\x80\x80\x80\x80")  # 09h-0Ch: AE set (disabled)
        self.clkout = 0x80
        self.timer_control = 0x03
        self.timer = 0
        self.running = True
        self._last = self.clock_ms()
        self._sub_us = 0

    def set_time(self, year, month, date, hour, minute, second, weekday=0):
        self._tick()
        self.year, self.month, self.date = year - 2000, month, date
        self.hour, self.min, self.sec = hour, minute, second
        self.weekday = weekday
        self.vl = 0
        self.control1 &= ~0x20
        self.running = True
        self._sub_us = 0

    def power_cut(self, battery=None):
        """VCC off until power_restored(): with a battery above V_low the clock runs on (VL
        stays 0); without one the chip resets at power-up (VL set, time undefined)."""
        self._tick()
        self._lost = not (self.battery if battery is None else battery)
        if self._lost:
            self.running = False

    def power_restored(self):
        self._tick()
        if self._lost:
            self._power_on()
            self._lost = False
        self.running = not self.control1 & 0x20

    def read_reg(self, r):
        if r == 0:
            return self.control1
        if r == 1:
            return self.control2
        if r == 2:
            return self.vl << 7 | _bcd(self.sec)
        if r == 3:
            return _bcd(self.min)
        if r == 4:
            return _bcd(self.hour)
        if r == 5:
            return _bcd(self.date)
        if r == 6:
            return self.weekday
        if r == 7:
            return self.century << 7 | _bcd(self.month)
        if r == 8:
            return _bcd(self.year)
        if r < 0x0D:
            return self.alarms[r - 9]
        if r == 0x0D:
            return self.clkout
        if r == 0x0E:
            return self.timer_control
        return self.timer

    def write_reg(self, r, v):
        if r == 0:
            self.control1 = v & 0xA8
            self.running = not v & 0x20  # STOP
        elif r == 1:
            self.control2 = v & 0x1F
        elif r == 2:
            self.restart_second()
            self.vl = v >> 7
            self.sec = _unbcd(v & 0x7F)
        elif r == 3:
            self.min = _unbcd(v & 0x7F)
        elif r == 4:
            self.hour = _unbcd(v & 0x3F)
        elif r == 5:
            self.date = _unbcd(v & 0x3F)
        elif r == 6:
            self.weekday = v & 7
        elif r == 7:
            self.century = v >> 7
            self.month = _unbcd(v & 0x1F)
        elif r == 8:
            self.year = _unbcd(v)
        elif r < 0x0D:
            self.alarms[r - 9] = v
        elif r == 0x0D:
            self.clkout = v & 0x83
        elif r == 0x0E:
            self.timer_control = v & 0x83
        else:
            self.timer = v
