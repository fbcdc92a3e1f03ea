"""The DL/T 645-2007 meter's own clock as a time source (sunprint.clock).

    src = MeterClock(meter.dlt, tz_offset_s=8 * 3600)
    r = src.read()    # [wall_s, 2000] or None

Two reads on the meter's line: date (DI 04000101, YYMMDDWW) then time (DI 04000102, hhmmss),
BCD as every DL/T 645 item, decoded by the driver into the decimal numbers YYMMDDWW and hhmmss.
A meter keeps local time (Beijing time on a Chinese meter): tz_offset_s (the config's
tz_offset_min) turns it into UTC. Between the two reads midnight may pass: a time in the first
_MIDNIGHT_S seconds of a day is not taken (the date may be the day before); the keeper asks
again at its retry. A meter without the items (D1H "no data"), an answer that is not a date or
a time, no answer: no reading. Each read costs two exchanges (each up to the driver's
timeout), as long as a poll of the meter; nothing is allocated.
"""

from sunprint.clock import days_in_month, wall_from
from sunprint.compat import const
from sunprint.drivers.dlt645 import DATE, TIME
from sunprint.quality import BAD_FRAME, NOT_READY, OK

_QUALITY_MS = const(2000)  # whole seconds, plus the time between the request and the reply
_MIDNIGHT_S = const(3)


class MeterClock:
    def __init__(self, dlt, tz_offset_s=8 * 3600):
        self.dlt = dlt  # drivers.dlt645.DLT645, the meter's line
        self.tz_offset_s = tz_offset_s
        self.reading = [0, _QUALITY_MS]
        self.flag = NOT_READY

    def read(self):
        dlt = self.dlt
        flag = dlt.read(DATE)
        if flag != OK:
            self.flag = flag
            return None
        date = dlt.value
        flag = dlt.read(TIME)
        if flag != OK:
            self.flag = flag
            return None
        t = dlt.value
        y = date // 1000000
        mo = date // 10000 % 100
        d = date // 100 % 100
        h = t // 10000
        mi = t // 100 % 100
        s = t % 100
        if (
            date % 100 > 6
            or not 1 <= mo <= 12
            or d < 1
            or d > days_in_month(2000 + y, mo)
            or h > 23
            or mi > 59
            or s > 59
        ):
            self.flag = BAD_FRAME
            return None
        if t < _MIDNIGHT_S:
            self.flag = NOT_READY
            return None
        self.flag = OK
        r = self.reading
        r[0] = wall_from(2000 + y, mo, d, h, mi, s) - self.tz_offset_s
        return r
