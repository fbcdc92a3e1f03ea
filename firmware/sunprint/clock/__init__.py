"""Time sources and the keeper of the unit's own clock.

A time source is any object with `read()`: the time now as a 2-item list [wall_s, quality_ms],
or None when it has none (no answer, the time was lost, a request still on its way). wall_s is
firmware time (whole seconds since 2000-01-01 00:00 UTC); quality_ms is how far off the reading
may be, in ms (an RTC chip's 1-second registers: 1000; NTP: its round trip). The list is the
source's own, preallocated and rewritten by every read (a tuple per read would be garbage in
the loop): use it before the next read. read() never raises and never waits longer than one
bus transaction; a source that needs a network answer asks in one read and collects it in a
later one.

clock.keeper.ClockKeeper keeps the ESP32's RTC running between sources (see there).
"""

from sunprint.compat import const

# A wall clock before this (2024-01-01 00:00 UTC, firmware time) was never set: an ESP32 RTC
# restarts at 2000-01-01 at every power-on.
VALID_FROM = const(757382400)
_DAYS_1970_2000 = const(10957)


def days_from_civil(year, month, day):
    """Days since 2000-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil)."""
    y = year - 1 if month <= 2 else year
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month - 3 if month > 2 else month + 9) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468 - _DAYS_1970_2000


def wall_from(year, month, day, hour, minute, second):
    """Firmware seconds of a UTC date and time (ints only: nothing allocated before 2034)."""
    return days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second


def days_in_month(year, month):
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def civil(wall):
    """(year, month, day, weekday Monday=0, hour, minute, second) of firmware seconds."""
    days, s = divmod(wall, 86400)
    z = days + _DAYS_1970_2000 + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (1 if month <= 2 else 0)
    return (year, month, day, (days + 5) % 7, s // 3600, s // 60 % 60, s % 60)


def bcd(v, mask):
    """The BCD byte v (bits outside mask ignored) as an int; -1 for a nibble above 9."""
    v &= mask
    lo = v & 15
    hi = v >> 4
    if lo > 9 or hi > 9:
        return -1
    return hi * 10 + lo


def to_bcd(n):
    return (n // 10) << 4 | n % 10
