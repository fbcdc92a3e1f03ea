"""Quality flags: every reading carries one, and the ledger integrates only OK readings.

Plain small ints (no enum on MicroPython), shared by drivers (what the bus said) and by
core/health.py (what the value looks like). A driver's poll() returns one of these and never
raises; the value attributes keep the last good reading.
"""

from sunprint.compat import const

OK = const(0)
NO_ANSWER = const(1)  # the device did not answer: I2C NACK, UART timeout, OSError on the bus
BAD_FRAME = const(2)  # an answer that fails its check: CRC, checksum, length, garbage, partial
DEVICE_ERROR = const(3)  # the device answered with an error: Modbus exception, DL/T 645 0xD1
NOT_A_NUMBER = const(4)  # NaN or infinity
OUT_OF_RANGE = const(5)  # outside the configured physical limits
SPIKE = const(6)  # an implausible jump from the recent readings
STUCK = const(7)  # the same raw value for too long while it should move
NOT_READY = const(8)  # no reading yet (before the first poll, a conversion not ready)

NAMES = (
    "ok",
    "no answer",
    "bad frame",
    "device error",
    "not a number",
    "out of range",
    "spike",
    "stuck",
    "not ready",
)


def name(flag):
    return NAMES[flag] if 0 <= flag < len(NAMES) else "flag %d" % flag
