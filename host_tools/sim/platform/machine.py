"""A fake `machine` module wired to chip and panel models: the firmware's main.py and
board code run unchanged on a PC, in CPython or inside the MicroPython unix port.

Portable Python (no typing, no dataclasses). In MicroPython a file named machine.py does NOT
replace the built-in module (shared/FIELD-NOTES.md): register it before the firmware imports
it, e.g. `import sys; from host_tools.sim.platform import machine; sys.modules["machine"] = machine`.

Wiring: a test connects models to GPIO numbers and bus ids first,
    machine.wire_pin(26, model.cs)       # Pin(26, ...) now drives the model's CS line
    machine.wire_spi(2, model.spi)       # SPI(2, ...) is the model's SPI
    machine.wire_i2c(0, fake_i2c_bus)    # I2C(0, ...) is a FakeI2C with chips attached
    machine.wire_uart(1, fake_uart)      # UART(1, ...) is a FakeUART with a meter behind it
then the firmware builds its buses with the ESP32 port's constructors. An unwired pin is a
plain latch (value() returns what was written, or 0). The watchdog is a FakeWDT on a clock
the test hands in: it records a reset when feeds are further apart than its timeout.
"""

import time as _host_time  # the host's clock: the board's `time` (vboard_agent) is built on it

# The interpreter's ticks period (2**30 on the ESP32, 2**62 on the 64-bit unix port; 2**30 on
# CPython, as compat's ticks): simulated clocks wrap their ticks_ms() at it.
try:
    from time import ticks_add, ticks_diff  # type: ignore[attr-defined]

    TICKS_PERIOD = ticks_add(0, -1) + 1
except ImportError:  # CPython
    TICKS_PERIOD = 1 << 30

    def ticks_diff(a, b):
        half = TICKS_PERIOD >> 1
        return ((a - b + half) & (TICKS_PERIOD - 1)) - half


_PINS = {}
_SPI = {}
_I2C = {}
_UART = {}
_STATE = {
    "clock": None,
    "wdt": None,
    "reset_cause": 1,
    "rtc_memory": b"",
    "rtc_epoch_ns": None,  # see board_time_ns()
    "rtc_told": None,
}

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5


def wire_pin(n, target):
    _PINS[n] = target


def wire_spi(bus_id, target):
    _SPI[bus_id] = target


def wire_i2c(bus_id, target):
    _I2C[bus_id] = target


def wire_uart(bus_id, target):
    _UART[bus_id] = target


def set_clock(clock):
    """The clock (ticks_ms()) the fake watchdog measures feeds on."""
    _STATE["clock"] = clock


def unwire():
    _PINS.clear()
    _SPI.clear()
    _I2C.clear()
    _UART.clear()
    _STATE["wdt"] = None


class Pin:
    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_RISING = 1
    IRQ_FALLING = 2

    def __init__(self, n, mode=-1, pull=-1, value=None):
        self.id = n
        self.mode = mode
        self._target = _PINS.get(n)
        self._level = 0
        if value is not None:
            self.value(value)

    def value(self, v=None):
        t = self._target
        if v is None:
            return t.value() if t is not None else self._level
        if t is not None:
            t.value(v)
        self._level = 1 if v else 0
        return None

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def irq(self, handler=None, trigger=3, hard=False):
        t = self._target
        if t is not None and hasattr(t, "irq"):
            return t.irq(handler=handler, trigger=trigger)
        return None


def SPI(bus_id, baudrate=1000000, **kwargs):  # noqa: N802 - the machine API's name
    try:
        return _SPI[bus_id]
    except KeyError:
        raise OSError(19, "SPI(%d): nothing wired" % bus_id) from None


def I2C(bus_id, **kwargs):  # noqa: N802
    try:
        return _I2C[bus_id]
    except KeyError:
        raise OSError(19, "I2C(%d): nothing wired" % bus_id) from None


def UART(bus_id, baudrate=9600, **kwargs):  # noqa: N802
    try:
        return _UART[bus_id]
    except KeyError:
        raise OSError(19, "UART(%d): nothing wired" % bus_id) from None


class WDT:
    """machine.WDT on the wired clock: a gap between feeds longer than timeout is a reset."""

    def __init__(self, id=0, timeout=5000):
        self.timeout = timeout
        self.feeds = 0
        self.resets = 0
        self._clock = _STATE["clock"]
        self._last = self._now()
        _STATE["wdt"] = self

    def _now(self):
        c = self._clock
        if c is None:
            return 0
        t = c.ticks_ms()
        if not 0 <= t < TICKS_PERIOD:
            # On a 32-bit VM such a value is a big int that time.ticks_diff() misreads.
            raise ValueError(
                "clock.ticks_ms() = %d is outside the ticks period (0..%d): no MicroPython "
                "returns that; wrap it as host_tools.sim.rig.Clock does" % (t, TICKS_PERIOD - 1)
            )
        return t

    def feed(self):
        now = self._now()
        if self._since(now) > self.timeout:
            self.resets += 1  # the real one would have reset the chip by now
        self._last = now
        self.feeds += 1

    def check(self):
        """True if the dog would have bitten by now (the test calls this at any time)."""
        return self._since(self._now()) > self.timeout

    def _since(self, now):
        return ticks_diff(now, self._last)  # a clock's ticks_ms() wraps as MicroPython's


def watchdog():
    return _STATE["wdt"]


_EPOCH_2000_NS = 946684800 * 1000000000


def _days_from_civil(y, m, d):
    # days since 1970-01-01 of a Gregorian date (H. Hinnant's algorithm)
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m - 3 if m > 2 else m + 9) + 2) // 5 + d - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def board_time_ns():
    """The board's RTC in ns since 2000-01-01 UTC (the ESP32 port's epoch). A virtual board
    starts it at 0 at every power-on and keeps it across soft resets (_STATE["rtc_epoch_ns"]:
    the host's time_ns() at which it read 2000-01-01 00:00); without a board, the host's
    clock."""
    base = _STATE.get("rtc_epoch_ns")
    return _host_time.time_ns() - (_EPOCH_2000_NS if base is None else base)


def board_seconds(t):
    """Firmware seconds of a (year, month, mday, hour, minute, second, ...) tuple."""
    days = _days_from_civil(t[0], t[1], t[2]) - 10957
    return days * 86400 + t[3] * 3600 + t[4] * 60 + t[5]


class RTC:
    """The ESP32's RTC: datetime() reads or sets the board's clock (time.time() on the board),
    memory() the 2 KB of RTC RAM."""

    def __init__(self, id=0):
        pass

    def datetime(self, t=None):
        """(year, month, day, weekday Monday=0, hour, minute, second, microsecond); with t,
        set the clock from such a tuple (its weekday is ignored, as the ESP32 port does)."""
        if t is None:
            ns = board_time_ns()
            g = _host_time.gmtime(ns // 1000000000 + 946684800)
            return (g[0], g[1], g[2], g[6], g[3], g[4], g[5], ns // 1000 % 1000000)
        wall = board_seconds((t[0], t[1], t[2], t[4], t[5], t[6]))
        sub_us = t[7] if len(t) > 7 else 0
        base = _host_time.time_ns() - wall * 1000000000 - sub_us * 1000
        _STATE["rtc_epoch_ns"] = base
        told = _STATE.get("rtc_told")
        if told is not None:
            told(base)  # the board keeps it across a soft reset
        return None

    def init(self, t):
        self.datetime(t)

    def memory(self, data=None):
        if data is None:
            return _STATE["rtc_memory"]
        _STATE["rtc_memory"] = bytes(data)
        return None


def reset_cause():
    return _STATE["reset_cause"]


def unique_id():
    return b"\x24\x0a\xc4\x12\x34\x56"


def freq(hz=None):
    return 240000000 if hz is None else None


def idle():
    pass


def reset():
    raise SystemExit("machine.reset()")
