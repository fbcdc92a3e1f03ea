# DS3231 temperature-compensated RTC on I2C (Maxim/ADI DS3231 datasheet, 19-5170 Rev 10): a time
# source (sunprint.clock): read() -> [wall_s, 1000] or None, set(wall).
#
#     rtc = DS3231(i2c)          # the bus handed in, as machine.I2C; address 0x68 (fixed)
#     r = rtc.read()             # None: no answer, time lost (OSF), or registers not a time
#     rtc.set(wall)              # 24-hour mode, oscillator on in battery mode, OSF cleared
#
# One read is one I2C transfer of 11 bytes from the status register 0Fh: the register pointer
# wraps from 12h to 00h ("I2C Serial Data Bus"), so it takes status, aging, temperature and
# the seven time registers 00h-06h at one START; the chip copies its time into the user
# buffers at every START, so a carry between bytes cannot tear the reading. OSF (status bit 7,
# set at first power-up and whenever the oscillator stopped) means the time is lost: no
# reading until set() writes the time and clears it. Years are 2000-2099 (the century bit is
# not used: it only toggles on a 99 -> 00 carry). Nothing is allocated in read().

from sunprint.clock import bcd, civil, days_in_month, to_bcd, wall_from
from sunprint.compat import const
from sunprint.quality import BAD_FRAME, NO_ANSWER, NOT_READY, OK

ADDRESS = const(0x68)
_REG_SECONDS = const(0x00)  # 00h-06h: seconds, minutes, hours, day, date, month/century, year
_REG_CONTROL = const(0x0E)
_REG_STATUS = const(0x0F)
_N_READ = const(11)  # 0Fh, 10h, 11h, 12h, then 00h-06h
_T = const(4)  # where 00h lands in the buffer
_OSF = const(0x80)  # status: oscillator stopped
_EOSC = const(0x80)  # control: 1 stops the oscillator on battery power
_H12 = const(0x40)  # hours: 12-hour mode
_PM = const(0x20)  # hours: PM in 12-hour mode
_QUALITY_MS = const(1000)  # whole-second registers


class DS3231:
    def __init__(self, i2c, address=ADDRESS):
        self.i2c = i2c
        self.address = address
        self._buf = bytearray(_N_READ)
        self.reading = [0, _QUALITY_MS]
        self.flag = NOT_READY  # of the last read, a sunprint.quality flag (NOT_READY: time lost)

    def read(self):
        buf = self._buf
        try:
            self.i2c.readfrom_mem_into(self.address, _REG_STATUS, buf)
        except OSError:
            self.flag = NO_ANSWER
            return None
        if buf[0] & _OSF:
            self.flag = NOT_READY
            return None
        wall = _decode(buf)
        if wall < 0:
            self.flag = BAD_FRAME
            return None
        self.flag = OK
        r = self.reading
        r[0] = wall
        return r

    def set(self, wall):
        """Write the time (24-hour mode), keep the oscillator running on battery, clear OSF.
        Raises OSError when the bus fails."""
        y, mo, d, wd, h, mi, s = civil(wall)
        buf = self._buf
        t = (s, mi, h, wd + 1, d, mo, y - 2000)  # day 1-7: Monday = 1
        for i in range(7):
            buf[i] = to_bcd(t[i]) if i != 3 else t[i]
        i2c, a = self.i2c, self.address
        i2c.writeto_mem(a, _REG_SECONDS, memoryview(buf)[:7])
        one = memoryview(buf)[:1]
        i2c.readfrom_mem_into(a, _REG_CONTROL, one)
        if buf[0] & _EOSC:
            buf[0] &= ~_EOSC
            i2c.writeto_mem(a, _REG_CONTROL, one)
        i2c.readfrom_mem_into(a, _REG_STATUS, one)
        buf[0] &= ~_OSF
        i2c.writeto_mem(a, _REG_STATUS, one)


def _decode(buf):
    # Figure 1 "Timekeeping Registers": BCD, the bits above each field are 0 or flags.
    s = bcd(buf[_T], 0x7F)
    mi = bcd(buf[_T + 1], 0x7F)
    hb = buf[_T + 2]
    if hb & _H12:
        h = bcd(hb, 0x1F)
        if h < 1 or h > 12:
            return -1
        h = h % 12 + (12 if hb & _PM else 0)
    else:
        h = bcd(hb, 0x3F)
    d = bcd(buf[_T + 4], 0x3F)
    mo = bcd(buf[_T + 5], 0x1F)
    y = bcd(buf[_T + 6], 0xFF)
    if s < 0 or s > 59 or mi < 0 or mi > 59 or h < 0 or h > 23 or mo < 1 or mo > 12 or y < 0:
        return -1
    if d < 1 or d > days_in_month(2000 + y, mo):
        return -1
    return wall_from(2000 + y, mo, d, h, mi, s)
