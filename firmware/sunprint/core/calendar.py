"""Civil dates from day numbers, in integer arithmetic that runs the same everywhere.

MicroPython's time.localtime counts from 2000 on the ESP32 but from 1970 on the unix port, so
the firmware does its own calendar. Day 0 is 2000-01-01. The algorithm is Howard Hinnant's
`civil_from_days` (proleptic Gregorian, exact for any day).
"""

from sunprint.compat import const

_DAYS_1970_TO_2000 = const(10957)


def civil_from_days(day):
    """(year, month 1-12, day 1-31) of day number `day` (days since 2000-01-01)."""
    ym = month_key(day)
    return ym // 12, ym % 12 + 1, day - days_from_civil(ym // 12, ym % 12 + 1, 1) + 1


def days_from_civil(y, m, d):
    """Day number (days since 2000-01-01) of a civil date; the inverse of civil_from_days."""
    y -= 1 if m <= 2 else 0
    era = y // 400
    yoe = y - era * 400
    mp = m - 3 if m > 2 else m + 9
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468 - _DAYS_1970_TO_2000


def month_key(day):
    """year * 12 + month - 1 of day number `day`: changes exactly when the month changes.

    Returns one int and builds nothing, so a day roll allocates nothing either.
    """
    z = day + _DAYS_1970_TO_2000 + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    m = mp + 3 if mp < 10 else mp - 9
    y = yoe + era * 400 + (1 if m <= 2 else 0)
    return y * 12 + m - 1
