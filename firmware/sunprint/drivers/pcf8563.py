# PCF8563 RTC on I2C (NXP PCF8563 datasheet, Rev. 11, 2015): a time source (sunprint.clock):
# read() -> [wall_s, 1000] or None, set(wall).
#
#     rtc = PCF8563(i2c)         # the bus handed in, as machine.I2C; address 0x51 (fixed)
#     r = rtc.read()             # None: no answer, time lost (VL), clock stopped, not a time
#     rtc.set(wall)              # clock running (STOP 0), VL cleared by the seconds write
#
# One read is one I2C transfer of 9 bytes from Control_status_1 (00h) to Years (08h): the
# address auto-increments and the time counters are frozen during the transfer (8.5), so a
# carry cannot tear the reading. VL (VL_seconds bit 7) is set when the supply dropped below
# V_low (power-on included): "integrity of the clock information is not guaranteed", so no
# reading until set() writes the seconds with VL 0. STOP (Control_status_1 bit 5) stops the
# clock: no reading either. Years are 2000-2099 (century bit C written 0, not used on read).
# Nothing is allocated in read().

from sunprint.clock import bcd, civil, days_in_month, to_bcd, wall_from
from sunprint.compat import const
from sunprint.quality import BAD_FRAME, NO_ANSWER, NOT_READY, OK

ADDRESS = const(0x51)
_REG_CONTROL1 = const(0x00)
_REG_SECONDS = const(0x02)  # 02h-08h: VL_seconds, minutes, hours, days, weekdays, months, years
_N_READ = const(9)
_T = const(2)  # where 02h lands in the buffer
_STOP = const(0x20)
_VL = const(0x80)
_QUALITY_MS = const(1000)


class PCF8563:
    def __init__(self, i2c, address=ADDRESS):
        self.i2c = i2c
        self.address = address
        self._buf = bytearray(_N_READ)
        self.reading = [0, _QUALITY_MS]
        self.flag = NOT_READY

    def read(self):
        buf = self._buf
        try:
            self.i2c.readfrom_mem_into(self.address, _REG_CONTROL1, buf)
        except OSError:
            self.flag = NO_ANSWER
            return None
        if buf[0] & _STOP or buf[_T] & _VL:
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
        """Write the time with VL 0 and start the clock. Raises OSError when the bus fails."""
        y, mo, d, wd, h, mi, s = civil(wall)
        buf = self._buf
        buf[0] = 0  # Control_status_1: normal mode, clock running
        buf[1] = to_bcd(s)  # VL 0
        buf[2] = to_bcd(mi)
        buf[3] = to_bcd(h)
        buf[4] = to_bcd(d)
        buf[5] = (wd + 1) % 7  # weekday 0-6: Sunday = 0 (Table 8)
        buf[6] = to_bcd(mo)  # century bit 0
        buf[7] = to_bcd(y - 2000)
        i2c, a = self.i2c, self.address
        i2c.writeto_mem(a, _REG_CONTROL1, memoryview(buf)[:1])
        i2c.writeto_mem(a, _REG_SECONDS, memoryview(buf)[1:8])


def _decode(buf):
    # 8.4 "Time and date registers": BCD; unused bits read as anything ("-"), masked off.
    s = bcd(buf[_T], 0x7F)
    mi = bcd(buf[_T + 1], 0x7F)
    h = bcd(buf[_T + 2], 0x3F)
    d = bcd(buf[_T + 3], 0x3F)
    mo = bcd(buf[_T + 5], 0x1F)
    y = bcd(buf[_T + 6], 0xFF)
    if s < 0 or s > 59 or mi < 0 or mi > 59 or h < 0 or h > 23 or mo < 1 or mo > 12 or y < 0:
        return -1
    if d < 1 or d > days_in_month(2000 + y, mo):
        return -1
    return wall_from(2000 + y, mo, d, h, mi, s)
