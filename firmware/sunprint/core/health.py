"""Sanity filters for readings: every reading leaves check() with a flag from sunprint.quality.

    h = Health(min_value=0, max_value=12000000, max_step=3000000, stuck_after=30)
    flag = h.check(mw, driver_flag)
    ledger.add_power(t, mw, wall, ok=(flag == OK))

Rules, in this order (the first that fires gives the flag):
1. The driver's flag, if not OK, passes through unchanged. comm_fail_after consecutive
   NO_ANSWER or BAD_FRAME set `comm_failed` (for the status screen); the next OK reading
   clears it. DEVICE_ERROR and NOT_READY (the device answered, or has nothing yet) neither
   count towards it nor clear it. A comm failure also forgets the spike baseline: after an
   outage the value may rightly be anywhere.
2. NOT_A_NUMBER: a float NaN or +-infinity (ints never are).
3. OUT_OF_RANGE: below min_value or above max_value (None: no limit; the limits are valid).
4. STUCK: the same value stuck_after times in a row (stuck_after=0: off), while the reading
   should move, so only when abs(value) > stuck_floor: a PV power of exactly 0 at night is
   not stuck with the default stuck_floor=0 (stuck_floor=-1 lets 0 be stuck too). STUCK lasts
   until the value changes.
5. SPIKE: a jump of more than max_step from the last accepted value (max_step=0: off). A real
   step (a cloud edge) persists, so a new level is accepted once step_confirm readings in a
   row sit there: the first step_confirm - 1 are SPIKE, the next is OK and becomes the new
   baseline. "Sit there" means each is within max_step of the one before, so a new level that
   still ramps is followed. A single spike followed by a normal reading leaves the baseline
   as it was. The cost of a real step is step_confirm - 1 readings the ledger does not
   integrate (with 10 s samples and step_confirm=3, 20 s of a cloud edge).
Only an OK reading becomes the spike baseline; flagged readings change no state except the
stuck run (rule 4) and the pending step (rule 5).

check() allocates nothing for int values in MicroPython (small-int attribute updates only).
"""

from sunprint.quality import (
    BAD_FRAME,
    NAMES,
    NO_ANSWER,
    NOT_A_NUMBER,
    OK,
    OUT_OF_RANGE,
    SPIKE,
    STUCK,
)

_INF = float("inf")
_NINF = float("-inf")


class Health:
    def __init__(
        self,
        min_value=None,
        max_value=None,
        max_step=0,
        stuck_after=0,
        *,
        step_confirm=3,
        stuck_floor=0,
        comm_fail_after=3,
    ):
        if min_value is not None and max_value is not None and min_value > max_value:
            raise ValueError("min_value %r is above max_value %r" % (min_value, max_value))
        if max_step < 0 or stuck_after < 0 or step_confirm < 1 or comm_fail_after < 1:
            raise ValueError("max_step, stuck_after >= 0; step_confirm, comm_fail_after >= 1")
        self.min_value = min_value
        self.max_value = max_value
        self.max_step = max_step
        self.stuck_after = stuck_after
        self.step_confirm = step_confirm
        self.stuck_floor = stuck_floor
        self.comm_fail_after = comm_fail_after
        self.comm_failed = False
        self.fails = 0  # consecutive NO_ANSWER / BAD_FRAME
        self.counts = [0] * len(NAMES)  # readings per flag, for the status screen
        self.last_flag = OK
        self.reset()

    def reset(self):
        """Forget the spike baseline, the pending step and the stuck run (e.g. at a reboot)."""
        self._have_last = False
        self._last = 0  # the last accepted value: the spike baseline
        self._pend = 0  # readings in a row at a new level
        self._pend_last = 0
        self._run = 0  # readings in a row with the same value
        self._prev = 0

    def _flag(self, flag):
        self.last_flag = flag
        if flag < len(self.counts):
            self.counts[flag] += 1
        return flag

    def check(self, value, raw_flag=OK):
        """The flag for one reading: `value` as calibrated, `raw_flag` what the driver said."""
        if raw_flag != OK:
            if raw_flag == NO_ANSWER or raw_flag == BAD_FRAME:
                self.fails += 1
                if self.fails >= self.comm_fail_after and not self.comm_failed:
                    self.comm_failed = True
                    self._have_last = False  # the baseline is stale after an outage
                    self._pend = 0
            return self._flag(raw_flag)
        self.fails = 0
        self.comm_failed = False
        if isinstance(value, float) and (value != value or value == _INF or value == _NINF):
            return self._flag(NOT_A_NUMBER)
        if (self.min_value is not None and value < self.min_value) or (
            self.max_value is not None and value > self.max_value
        ):
            return self._flag(OUT_OF_RANGE)
        if self.stuck_after:
            if self._run and value == self._prev:
                self._run += 1
            else:
                self._run = 1
                self._prev = value
            if self._run >= self.stuck_after and abs(value) > self.stuck_floor:
                return self._flag(STUCK)
        step = self.max_step
        if step and self._have_last and abs(value - self._last) > step:
            if self._pend and abs(value - self._pend_last) <= step:
                self._pend += 1
            else:
                self._pend = 1  # a new candidate level
            self._pend_last = value
            if self._pend < self.step_confirm:
                return self._flag(SPIKE)
        self._pend = 0
        self._last = value
        self._have_last = True
        # _flag(OK) written out: the usual reading takes this path every sample
        self.last_flag = OK
        self.counts[OK] += 1
        return OK
