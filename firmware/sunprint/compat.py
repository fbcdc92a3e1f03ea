# The few names that differ between MicroPython and CPython, in one place.
# Firmware modules import these instead of probing the interpreter themselves.
try:
    from micropython import const  # type: ignore[attr-defined]
except ImportError:  # CPython

    def const(x):  # type: ignore[no-redef]
        return x


import time

try:
    ticks_ms = time.ticks_ms  # type: ignore[attr-defined]
    ticks_diff = time.ticks_diff  # type: ignore[attr-defined]
    sleep_ms = time.sleep_ms  # type: ignore[attr-defined]
    # ticks_ms() wraps at this period: 2**30 on the ESP32 (31-bit small ints), 2**62 on the
    # 64-bit unix port. A simulated clock must wrap at the interpreter's own period.
    TICKS_PERIOD = time.ticks_add(0, -1) + 1  # type: ignore[attr-defined]
except AttributeError:  # CPython: ticks wrap as on the ESP32, so a missed ticks_diff shows
    _monotonic = time.monotonic  # type: ignore[attr-defined]  # CPython only
    TICKS_PERIOD = 0x40000000
    _TICKS_HALF = 0x20000000

    def ticks_ms():
        return int(_monotonic() * 1000) & (TICKS_PERIOD - 1)

    def ticks_diff(a, b):
        return ((a - b + _TICKS_HALF) & (TICKS_PERIOD - 1)) - _TICKS_HALF

    def sleep_ms(ms):
        time.sleep(ms / 1000)


# Firmware time is whole seconds since 2000-01-01 00:00 UTC, the epoch of MicroPython on the
# ESP32. It stays a small int (< 2**30, no heap object on the ESP32) until 2034.
EPOCH_2000_UNIX = const(946684800)
