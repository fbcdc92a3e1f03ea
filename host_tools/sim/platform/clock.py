# The virtual clock every chip model, driver and whole-unit test shares (rig.Clock): a module
# of its own, so a test at an ESP32's heap loads the clock without the rig's wiring code.
# Portable Python: CPython and MicroPython.

from host_tools.sim.platform.machine import TICKS_PERIOD, ticks_diff

_NS_PER_MS = 1000000
_NS_PER_S = 1000000000


class Clock:
    """Virtual time in integer nanoseconds, moved only by the caller (or by sleeping)."""

    def __init__(self, start_s=0):
        self.ns = start_s * _NS_PER_S
        self.ticks_offset_ms = 0

    @property
    def us(self):
        return self.ns // 1000

    @us.setter
    def us(self, value):
        self.ns = value * 1000

    @property
    def ms(self):
        return self.ns // _NS_PER_MS

    @ms.setter
    def ms(self, value):
        self.ns = value * _NS_PER_MS

    def now(self):
        return self.ns // _NS_PER_S

    def wall(self):
        return self.ns // _NS_PER_S

    # ticks_ms/ticks_us wrap at the interpreter's ticks period as MicroPython's do (2**30 on
    # the ESP32, where they stay small ints): a driver that compares ticks without ticks_diff
    # fails here as on a unit. ticks_offset_ms moves the wrap (a test puts it where it wants).
    def ticks_ms(self):
        return (self.ns // _NS_PER_MS + self.ticks_offset_ms) & (TICKS_PERIOD - 1)

    def ticks_us(self):
        return (self.ns // 1000 + self.ticks_offset_ms * 1000) & (TICKS_PERIOD - 1)

    def ticks_diff(self, a, b):
        return ticks_diff(a, b)

    def advance_ms(self, ms):
        self.ns += ms * _NS_PER_MS

    def advance_to_us(self, t):
        if t * 1000 > self.ns:
            self.ns = t * 1000

    def set_ns(self, ns):
        if ns < self.ns:
            raise ValueError("the clock does not go back")
        self.ns = ns

    def block_ms(self, ms):
        """A driver's sleep_ms: the time passes at once."""
        if ms > 0:
            self.ns += ms * _NS_PER_MS

    def sleep_us(self, us):
        if us > 0:
            self.ns += us * 1000

    async def sleep_ms(self, ms):
        if ms > 0:
            self.ns += ms * _NS_PER_MS
