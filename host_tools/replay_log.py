# The log feeder of `sunprint replay` (host_tools/replay_core.py): the log as the unit's sensor
# driver. Portable Python, as replay_core (CPython and, from .mpy, MicroPython).

_HALF_MJ_PER_MWH = 7200


class LogDriver:
    """The log as the unit's sensor driver: poll() -> the row's flag, power_mw the row's power.
    The unit's own source (sources.PowerSource / MeterSource / PulseSource, as board.build made
    it, with the profile's health) reads it, so a row goes through the same Health the unit has
    (the log's power is already calibrated: the source's calibration is not applied again). On
    boards whose sensor has an energy counter (a meter, S0 pulses) it also counts the log's
    energy into a register at the real driver's counts_per_kwh (energy_count, count()); a meter
    swap restarts it from 0."""

    def __init__(self, counts_per_kwh=0):
        self.power_mw = 0
        self.flag = 0
        self.counts_per_kwh = counts_per_kwh
        self._energy = 0  # half-millijoules of the log since the counter started
        self._last = None  # (t, mW) of the previous row, for the counter's trapezoid
        self.energy_count = 0

    def feed(self, t, mw, flag):
        self.power_mw = mw
        self.flag = flag
        if self.counts_per_kwh:
            last = self._last
            if last is not None and t > last[0]:
                p0 = last[1] if last[1] > 0 else 0
                p1 = mw if mw > 0 else 0
                self._energy += (p0 + p1) * (t - last[0])
            self._last = (t, mw)
            # whole counts of the energy so far (1 count = 1e6 / counts_per_kwh mWh)
            self.energy_count = (
                self._energy * self.counts_per_kwh // (_HALF_MJ_PER_MWH * 1000000)
            ) & 0xFFFFFFFF

    def swap_meter(self):
        self._energy = 0
        self.energy_count = 0

    def poll(self):
        return self.flag

    def count(self):  # an S0 input's pulses
        return self.energy_count

    def total_mwh(self):  # a meter's register (App.restore seeds from it when the store is bad)
        return self.energy_count * 1000000 // self.counts_per_kwh
