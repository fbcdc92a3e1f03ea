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
