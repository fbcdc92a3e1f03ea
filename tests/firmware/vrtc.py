# The ESP32's RTC on a virtual clock (host_tools/sim/platform/clock.py), for the whole-unit tests
# that power-cycle a unit (test_unit_clock.py, tests/host/ntp_unit.py). CPython and MicroPython.


class VRtc:
    """The ESP32's RTC on the virtual clock: 2000-01-01 00:00 at power-on, counting on."""

    def __init__(self, clock):
        self.clock = clock
        self.off = -clock.now()

    def wall(self):
        return self.clock.now() + self.off

    def set(self, wall):
        self.off = wall - self.clock.now()
