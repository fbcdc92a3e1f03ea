"""What the app samples: a driver seen through calibration and health, booked in the ledger.

    driver.poll() -> flag  ->  calib (raw -> calibrated)  ->  health.check -> flag  ->  ledger

A driver here is any object with `poll()` returning a flag of sunprint.quality and the attribute
`power_mw`; a meter driver also has `energy_count` and `counts_per_kwh` (its own energy total,
which the ledger takes as the truth); an S0 input has `count()`. Nothing here raises: a bad
reading is a flag, counted per flag in `flags`, and the ledger integrates only OK readings.

The one protocol the App drives every source by (these, and community/source.py's
CommunitySource); App calls each, it never asks whether a source has it:
    sample(ledger, t, wall) -> flag   every sample period: read, book in the ledger
    pump(t, wall) -> bool             every tick: work between samples; True: tick again at once
    screen_values(values)             before a render: the source's own texts into the dict
    total_mwh() -> mWh or None        at boot, no ledger record readable: a register of its own
    restore(ledger) -> note or None   after the ledger was restored: a record of its own
    persist()                         after the App wrote a full ledger record
and the attributes flag, power_mw (the last good reading), reading_mw (this reading) and raw.
Here the hooks a single sensor has no use for are one no-op shared by the class (PowerSource).
"""

from sunprint.quality import NAMES, OK

_N_FLAGS = len(NAMES)


def _nothing(self, a=None, b=None):
    return None


class PowerSource:
    """A power reading (W samples) from a driver, e.g. an INA226 on the PV string."""

    def __init__(self, driver, *, calib=None, health=None):
        self.driver = driver
        self.calib = calib  # core.calib.Linear, or None
        self.health = health  # core.health.Health, or None
        self.flag = OK
        self.power_mw = 0  # the last good reading
        self.reading_mw = 0
        self.raw = 0  # this reading before calibration, in the driver's units (mW)
        self.flags = [0] * _N_FLAGS  # readings per flag

    def sample(self, ledger, t, wall):
        driver = self.driver
        flag = driver.poll()
        mw = driver.power_mw
        self.raw = mw
        if flag == OK and self.calib is not None:
            mw = self.calib.apply(mw)
        if self.health is not None:
            flag = self.health.check(mw, flag)
        if 0 <= flag < _N_FLAGS:
            self.flags[flag] += 1
        self.flag = flag
        self.reading_mw = mw  # this reading, good or not (a tuple return would allocate)
        if flag == OK:
            self.power_mw = mw
        ledger.add_power(t, mw, wall, flag == OK)
        return flag

    # The hooks a sensor has no use for (the protocol above), all one function: a class's
    # methods are function objects on the heap even when frozen, one object costs less than five.
    # pump -> None (falsy: nothing between samples), screen_values (no texts of its own),
    # total_mwh -> None (no energy register; MeterSource has one), restore -> None (no record
    # of its own), persist.
    pump = screen_values = total_mwh = restore = persist = _nothing


class MeterSource(PowerSource):
    """A meter with its own energy register (Modbus, DL/T 645): the register is the truth for
    energy, the power reading fills the gaps the register cannot cover (see core/ledger.py).
    """

    def sample(self, ledger, t, wall):
        flag = PowerSource.sample(self, ledger, t, wall)  # the power reading, booked
        if flag == OK:
            ledger.add_counter(t, self.driver.energy_count, wall)
        return flag

    def total_mwh(self):
        return self.driver.total_mwh()


class PulseSource(PowerSource):
    """An S0 pulse input: pulses are the energy; the derived power only shows on the sign."""

    def sample(self, ledger, t, wall):
        driver = self.driver
        flag = driver.poll()
        if 0 <= flag < _N_FLAGS:
            self.flags[flag] += 1
        self.flag = flag
        if flag == OK:
            ledger.add_counter(t, driver.count(), wall)
            self.power_mw = driver.power_mw
        self.reading_mw = self.raw = driver.power_mw
        return flag
