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
except AttributeError:  # CPython
    _monotonic = time.monotonic  # type: ignore[attr-defined]  # CPython only

    def ticks_ms():
        return int(_monotonic() * 1000)

    def ticks_diff(a, b):
        return a - b

    def sleep_ms(ms):
        time.sleep(ms / 1000)


# Firmware time is whole seconds since 2000-01-01 00:00 UTC, the epoch of MicroPython on the
# ESP32. It stays a small int (< 2**30, no heap object on the ESP32) until 2034.
EPOCH_2000_UNIX = const(946684800)
