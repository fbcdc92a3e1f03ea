"""Energy ledger: PV energy, CO2 avoided and standard coal saved, in integers, per period.

Integers, not floats: an int total never drifts (a float total stops growing once the increment
is below its resolution, esphome#534). Every total is kept as a pair (hi, lo): lo in milli-units
below 10**6, hi in whole units (kWh for energy, kg for CO2 and coal), so each stays below 2**30,
the small-int limit of the ESP32's MicroPython: ten years of a 1 MW plant is ~2*10**7 kWh.

Periods, in local time (tz_offset_s): today, yesterday, this month, this year, lifetime.

Energy comes from two kinds of source:
- power samples (mW): trapezoids between samples, (p1 + p2) * dt counted in half-millijoules,
  carried into mWh with the remainder kept, so nothing is ever rounded away; a gap longer than
  max_gap_s, or a sample the health layer flagged (ok=False), is not bridged: it counts as
  missing time;
- a counter (S0 pulses, a meter's energy register): deltas, with wrap-around of a counter of
  counter_bits. With both sources the counter is the truth: integrated power waits in a fill and
  is only used where the counter cannot say (a register it distrusts, or one silent for longer
  than max_gap_s: then the fill is booked and the counter's next delta is reduced by what was
  booked ahead of it, its credit).

A counter step is booked only if the power it implies is plausible: at most
counter_max_power_w (board.build: the sensor's rated power, its health max_w, x 2; 0: the
ledger's max_power_w) over the time since the last trusted reading, plus one count of the
register's resolution. A step that is not (a glitch of one poll, 5000 -> 1,005,000 -> 5001; a
meter reset or swap; a decrease that is no wrap) is counted in counter_implausible and never
booked: the last trusted reading stays the anchor, and the power integrated since it is booked
on credit. A reading plausible from the anchor again ends the distrust (its delta minus the
credit is booked: nothing twice). A new level that stays consistent for _CONFIRM readings in
a row, and moves in them as the power does (to a count and an eighth), becomes the new anchor
(counter_resets): the jump's interval keeps what the power filled (without power, an S0 input,
it is missing time), the steps within the run are the register's. A run that moves unlike the
power (a stale or wandering glitch) starts again at its last reading.
After a reboot the monotonic clock cannot time the first step: the wall clocks of the anchor
and of the reading do, if both are set; if not, a step up is booked only once _CONFIRM
readings confirm it (a one-poll glitch at boot is refused; a jump that stays is booked).

CO2 and coal accrue with the energy, at the factors in force at that moment (set_factors), so a
new factor never rewrites history.

Time: `t` is a monotonic count of seconds (it alone measures intervals); `wall` is wall-clock
firmware seconds (since 2000-01-01 UTC), used only to tell which day, month and year energy
belongs to. A wall clock that jumps back (an NTP correction) never reopens a closed day; one
that jumps forward closes the days it passes. Energy is never lost or counted twice by a clock
jump.

A wall clock before 2024 (an ESP32's RTC after a power-on: 2000-01-01) is not trusted at all:
while the date is unknown, energy is booked to lifetime at once and held for the periods
(held(); today, month and year stay as they were: the app says it cannot vouch for them,
vouched()). When a trusted wall clock comes back, the days it passes are closed first, then
what was held is attributed: to today if it was provably produced today (the last trusted wall
clock before the hold was on today's date, or the monotonic time since the hold began fits
since today's local midnight), otherwise to the unattributed bucket (unattributed(): in
lifetime and in no day). Such energy still goes to this month and this year when that is
provable: the earliest moment it can have been produced (the later of those two bounds) is
in the month (the year) of the time now; a day never takes it, nor a month or year that
cannot vouch for it. Never counted twice, never dropped; the hold survives a
reboot (pack), though its monotonic start does not (a hold across a reboot is attributed on
the wall clock's proof alone).

Input is refused, never booked (counted in `refused`; the app shows it as a fault):
- t or wall that is not an int in [0, 2**40) (wall -1: the same as t), or t before the last
  sample's (a log replayed twice, a clock run backwards): nothing changes;
- power that is not an int (a float, NaN, +-inf) or beyond +-max_power_w (default 10 MW): the
  sample counts as flagged (the intervals beside it are missing time);
- a count that is not an int in [0, 2**counter_bits).
Out of range therefore means: |power| <= max_power_w <= 10**9 W, gaps <= max_gap_s <= 10**6 s,
counts < 2**counter_bits <= 2**62, factors ints in [0, 10**6] (0.1 g per kWh): every value
pack() writes then fits its 64-bit field (a fill is at most 2 * 10**12 mW * 2 * 10**6 s in
half-mJ), so pack() never fails. Bad parameters raise ValueError at construction.

The first interval after a reboot (resume()) is an outage: the monotonic clock restarted. The
seconds from the last sample the store kept to the first one after boot are missing time,
measured on the wall clock (outages_unmeasured counts those it could not measure: a wall clock
not set at either end); a meter's register books that interval's energy itself.

Steady state allocates nothing in MicroPython while values stay small ints: a plant up to about
50 kW sampled every 10 s (p1 + p2) * dt < 2**30. Larger plants stay exact, with big ints.
"""

import struct

from sunprint.compat import const
from sunprint.core.calendar import month_key

# Quantities and periods: index = quantity * 5 + period.
ENERGY = const(0)
CO2 = const(1)
COAL = const(2)
TODAY = const(0)
YESTERDAY = const(1)
MONTH = const(2)
YEAR = const(3)
LIFETIME = const(4)
_N = const(15)
# Beyond the 15 totals, in the same hi/lo lists: held while the date is unknown, and what could
# not be attributed to a day (index + quantity).
HELD = const(15)
UNATTRIBUTED = const(18)
_N_ALL = const(21)
_NOT_HOLDING = const(-2)  # _hold when the date is known; else the last trusted wall (or -1)
_MAX_HOLD_WALL = const(0x3FFFFFFF)  # a hold's bound is packed in 32 bits; later: unknown

_UNIT = const(1000000)  # lo per hi: mWh per kWh, mg per kg
_HALF_MJ_PER_MWH = const(7200)  # (p1 + p2) * dt counts half-millijoules; 3600 mJ = 1 mWh
_FACTOR_PER_MG = const(10000)  # mWh * (0.1 g/kWh) = 1e-7 g = 1e-4 mg
_SECONDS_PER_DAY = const(86400)
_MIN_VALID_WALL = const(757382400)  # 2024-01-01 00:00 UTC: earlier wall clocks are not set
_JUMP_SLACK_S = const(60)  # wall clock vs monotonic disagreement counted as a clock jump

_STATE_VERSION = const(4)
_STATE_HEAD = "<B23q"
_STATE_LISTS = "<30q"
# Version 4 appends the hold: held energy, CO2, coal and unattributed energy, CO2, coal (milli),
# and the hold's bound (the last trusted wall clock before it; -1 unknown, -2 not holding).
_STATE_HOLD = "<6qi"
_SIZE_V3 = const(425)
_SIZE_V4 = const(477)

# A journal entry (store.py keeps them between full records): what changed since the state in
# the last full record (mark_base), within one local day and at the same factors. Version, day,
# energy/CO2/coal added (mWh, mg: the same to today, month, year and lifetime), the three
# remainders, the counter's state, the counts added (samples, flagged, missing s, resets,
# wraps, clock jumps), and the wall clocks of the last sample and of the counter's anchor (a
# reboot measures its outage and times its first register step from them): 73 bytes.
# Version 3 is the same entry made while the date is unknown: its deltas went to lifetime and
# the held bucket, not to the periods.
_JOURNAL_VERSION = const(2)
_JOURNAL_HELD = const(3)
_JOURNAL = "<BiiiiHHHqiiiiiHHHqq"
JOURNAL_SIZE = const(73)
_NO_BASE = const(-2)  # _base[0] when no full record holds a state of this ledger
_DELTA_MAX = const(0x3FFFFFFF)  # larger deltas (or a base that old) take a full record


def _out(v):
    return v < 0 or v > _DELTA_MAX


_MAX_TIME = (1 << 40) - 1  # t and wall: seconds, < 2**40 (35,000 years): pack() never overflows
_MAX_POWER_W = const(1000000000)  # 1 GW: the largest max_power_w a ledger accepts
_MAX_GAP_S = const(1000000)
_MAX_FACTOR = const(1000000)  # 0.1 g per kWh: 100 kg per kWh is no grid's
_CONFIRM = const(3)  # readings in a row at a new register level before it is the new anchor
_UNKNOWN = const(-2)  # a counter step that cannot be timed (after a reboot, no wall clock)
_IMPLAUSIBLE = const(-1)
# A candidate run, one list (few instance attributes: MicroPython scans a full attribute table
# on every method call): the level (-1: none), its time, when the run began, readings in it,
# counts the register moved within it, 1 if it began with a step nothing could time, the
# credit when it began (what power booked since, against what the register moved).
_R_LEVEL = const(0)
_R_T = const(1)
_R_T0 = const(2)
_R_N = const(3)
_R_STEPS = const(4)
_R_UNTIMED = const(5)
_R_CREDIT0 = const(6)


# The counter's plausibility rule, shared with the per-meter accounting of a community
# (sunprint/community/meters.py): the same rule for one meter and for each of many.
COUNTER_CONFIRM = _CONFIRM
STEP_UNKNOWN = _UNKNOWN
STEP_IMPLAUSIBLE = _IMPLAUSIBLE


def counter_step(last, count, dt, span, counts_per_hour):
    """The counts from `last` to `count` if the power they imply is plausible in dt seconds
    (a wrap of a register of `span` counts only then): at most counts_per_hour * dt / 3600,
    plus one count of resolution. STEP_IMPLAUSIBLE if not; STEP_UNKNOWN for a step up that
    dt < 0 (nothing can time it) leaves open."""
    if count >= last:
        delta = count - last
        if dt < 0:
            return _UNKNOWN if delta else 0
    else:
        if dt < 0:
            return _IMPLAUSIBLE  # backwards across an untimed outage: a reset or swap
        delta = count + span - last
    if delta > 1 and (delta - 1) * 3600 > counts_per_hour * dt:
        return _IMPLAUSIBLE
    return delta


# The confirm-run rule, shared with the community's per-meter accounting: a reading the anchor
# cannot vouch for is a step of the candidate run held at run[k:k + 6] (level, its time, when the
# run began, readings in it, counts moved within it, untimed: the _R_ offsets above), or begins
# a new run. Returns RUN_NEW (a run began at this reading), RUN_GROWING, or RUN_CONFIRMED (the
# run holds COUNTER_CONFIRM consistent readings: the caller decides to re-anchor).
RUN_NEW = const(0)
RUN_GROWING = const(1)
RUN_CONFIRMED = const(2)


def counter_run(run, k, count, t, unknown, span, counts_per_hour):
    if run[k + _R_LEVEL] >= 0:
        step = counter_step(run[k + _R_LEVEL], count, t - run[k + _R_T], span, counts_per_hour)
        if step >= 0:  # consistent with the run
            run[k + _R_LEVEL] = count
            run[k + _R_T] = t
            run[k + _R_N] += 1
            run[k + _R_STEPS] += step
            return RUN_CONFIRMED if run[k + _R_N] >= _CONFIRM else RUN_GROWING
    counter_run_start(run, k, count, t, unknown)
    return RUN_NEW


def counter_run_start(run, k, count, t, unknown):
    run[k + _R_LEVEL] = count
    run[k + _R_T] = t
    run[k + _R_T0] = t
    run[k + _R_N] = 1
    run[k + _R_STEPS] = 0
    run[k + _R_UNTIMED] = 1 if unknown else 0


def _int_in(x, lo, hi):
    return isinstance(x, int) and lo <= x <= hi


class Ledger:
    _late = False  # book_unattributed() is booking (a class default: no attribute per ledger)

    def __init__(
        self,
        tz_offset_s=8 * 3600,
        max_gap_s=300,
        co2_dg_per_kwh=5306,
        coal_dg_per_kwh=3055,
        counter_per_kwh=1000,
        counter_bits=32,
        counter_max_power_w=0,
        counter_survives_reboot=True,
        max_power_w=10000000,
    ):
        if not (
            _int_in(tz_offset_s, -86399, 86399)
            and _int_in(max_gap_s, 1, _MAX_GAP_S)
            and _int_in(counter_per_kwh, 1, 10000000)
            and _int_in(counter_bits, 1, 62)
            and 0 < max_power_w <= _MAX_POWER_W  # also refuses NaN
            and (counter_max_power_w == 0 or 0 < counter_max_power_w <= _MAX_POWER_W)
        ):
            raise ValueError("Ledger parameter out of range")
        self.tz_offset_s = tz_offset_s
        self.max_gap_s = max_gap_s
        self.set_factors(co2_dg_per_kwh, coal_dg_per_kwh)
        self.counter_per_kwh = counter_per_kwh  # counts per kWh (S0 imp/kWh; 100 for 0.01 kWh)
        self.counter_span = 1 << counter_bits
        max_power_w = int(max_power_w)
        self._max_mw = max_power_w * 1000
        self._min_mw = -self._max_mw  # (a -x of a big power would allocate on a 32-bit VM)
        self.counter_max_power_w = counter_max_power_w or max_power_w
        # The counter's limit in counts per hour, rounded up: a step of n counts in dt seconds
        # is plausible if (n - 1) * 3600 <= this * dt (small ints up to ~10 MW at 1000/kWh).
        self._counts_per_hour = (int(self.counter_max_power_w) * counter_per_kwh + 999) // 1000
        self.counter_survives_reboot = counter_survives_reboot  # a meter register, not a PCNT
        self.hi = [0] * _N_ALL
        self.lo = [0] * _N_ALL
        # What happened, for the status screen and the summary.
        self.samples = 0
        self.flagged = 0  # samples the health layer flagged (or the ledger refused): not integrated
        self.missing_s = 0  # seconds not integrated: gaps, flagged readings, outages
        self.counter_resets = 0  # a meter reset or swap: re-anchored on a new level
        self.counter_wraps = 0
        self.clock_jumps = 0
        self.unsaved_mwh = 0  # energy booked since mark_saved(), for the persist policy
        # Since boot only (not in pack()): faults the app shows.
        self.refused = 0  # input refused (see the module's docstring)
        self.counter_implausible = 0  # counter readings whose step was not plausible
        self.outages_unmeasured = 0  # reboots whose outage no wall clock could time
        self._day = -1  # local day number of the current "today"; -1 until the clock is set
        self._acc = 0  # half-mJ not yet carried into mWh, < 7200
        self._co2_acc = 0  # 1e-4 mg, < 10000
        self._coal_acc = 0
        self._last_t = -1
        self._last_mw = 0
        self._last_ok = True
        self.last_wall = -1  # the wall clock of the last sample (firmware s), -1: none yet
        self._last_wall_t = -1
        self._pending_day = -1
        self._outage_wall = -1  # after resume(): the wall clock of the last sample kept
        self._fill = 0  # half-mJ of power integrated while a counter is the truth
        self._credit = 0  # mWh booked ahead of the counter (from the fill)
        self._cacc = 0  # counter units * 10**6 not yet carried into mWh
        # The anchor: the last trusted counter reading, its monotonic and wall time.
        self._counter_last = -1
        self._counter_t = -1
        self._base = [_NO_BASE] * 24  # mark_base(): the totals and counts in the last full record
        self._hold = _NOT_HOLDING  # see _NOT_HOLDING; packed
        self._hold_t0 = -1  # monotonic second from which all held energy was produced; -1: none
        self._valid_wall = -1  # the last trusted wall clock seen
        self.held_settled = 0  # since boot: holds attributed to today
        self.held_unattributed = 0  # since boot: holds that went to the unattributed bucket
        self._counter_wall = -1
        self._run = [-1, -1, -1, 0, 0, 0, 0]  # a candidate new level while distrusted

    # --- reading ---

    def milli(self, quantity, period):
        """A total in milli-units: mWh for ENERGY, mg for CO2 and COAL (may be a big int)."""
        i = quantity * 5 + period
        return self.hi[i] * _UNIT + self.lo[i]

    def mwh(self, period):
        return self.milli(ENERGY, period)

    def grams(self, quantity, period):
        return self.milli(quantity, period) // 1000

    @property
    def lifetime_kwh(self):
        return self.hi[LIFETIME]

    @property
    def lifetime_mwh(self):
        """The part of the lifetime energy below 1 kWh, in mWh."""
        return self.lo[LIFETIME]

    @property
    def today_mwh(self):
        return self.mwh(TODAY)

    @property
    def yesterday_mwh(self):
        return self.mwh(YESTERDAY)

    def lifetime_wh(self):
        return self.mwh(LIFETIME) // 1000

    def vouched(self):
        """Whether today, month and year are the periods of the date now: the date is known."""
        return self._hold == _NOT_HOLDING

    def held(self, quantity=ENERGY):
        """Booked to lifetime while the date was unknown, not yet to a period (milli-units)."""
        return self.hi[HELD + quantity] * _UNIT + self.lo[HELD + quantity]

    def unattributed(self, quantity=ENERGY):
        """In lifetime but in no period: held that could not be proven to be today's."""
        return self.hi[UNATTRIBUTED + quantity] * _UNIT + self.lo[UNATTRIBUTED + quantity]

    @property
    def holding(self):
        return self._hold != _NOT_HOLDING

    def day_of(self, wall):
        """Local day number (days since 2000-01-01) of wall-clock firmware time `wall`."""
        return (wall + self.tz_offset_s) // _SECONDS_PER_DAY

    @property
    def day(self):
        return self._day

    @property
    def max_power_w(self):
        return self._max_mw // 1000

    @property
    def counter_anchor(self):
        """The last trusted counter reading (-1: none yet)."""
        return self._counter_last

    # --- factors ---

    def set_factors(self, co2_dg_per_kwh, coal_dg_per_kwh):
        """Factors for energy booked from now on; what is booked keeps its factors.
        ValueError unless both are ints in [0, 10**6] (0.1 g per kWh)."""
        if not (
            _int_in(co2_dg_per_kwh, 0, _MAX_FACTOR) and _int_in(coal_dg_per_kwh, 0, _MAX_FACTOR)
        ):
            raise ValueError("factor out of range")
        self.co2_dg_per_kwh = co2_dg_per_kwh
        self.coal_dg_per_kwh = coal_dg_per_kwh

    # --- power samples ---

    def add_power(self, t, power_mw, wall=-1, ok=True):
        """Account a power sample (int mW) at monotonic second t, wall clock `wall` (default t).

        ok=False marks a reading the health layer rejected: the intervals on either side of it
        are not integrated and count as missing time. Input the ledger cannot trust is refused
        (see the module's docstring).
        """
        if wall == -1:
            wall = t
        last_t = self._last_t
        # _int_in(t, 0, _MAX_TIME) and the same for wall, written out (every sample)
        if (
            not (
                isinstance(t, int)
                and isinstance(wall, int)
                and 0 <= t <= _MAX_TIME
                and 0 <= wall <= _MAX_TIME
            )
            or t < last_t
        ):
            self.refused += 1
            return
        if ok and (
            not isinstance(power_mw, int) or power_mw > self._max_mw or power_mw < self._min_mw
        ):
            self.refused += 1  # (a reading already flagged is not booked anyway)
            ok = False
        # a wall clock that disagrees with the monotonic clock (NTP sync, RTC reset) is a jump
        # (written out here and in add_counter: every sample comes here)
        if self.last_wall >= 0 and t >= self._last_wall_t:
            drift = (wall - self.last_wall) - (t - self._last_wall_t)
            if drift > _JUMP_SLACK_S or drift < -_JUMP_SLACK_S:
                self.clock_jumps += 1
        self.last_wall = wall
        self._last_wall_t = t
        if self._outage_wall >= 0:
            self._outage(wall)
        self.samples += 1
        dt = t - last_t if last_t >= 0 and t > last_t else 0
        if not ok:
            self.flagged += 1
            self.missing_s += dt
            self._crossing(dt, wall, False)
            self._last_ok = False
        else:
            if power_mw < 0:
                power_mw = 0  # an inverter's night draw is consumption, not negative production
            if dt == 0:
                self._crossing(0, wall, False)
            elif dt > self.max_gap_s or not self._last_ok:
                self.missing_s += dt
                self._crossing(dt, wall, False)
            else:
                p1 = self._last_mw
                first = self._crossing(dt, wall, True)
                if first < 0:
                    self._power((p1 + power_mw) * dt)
                else:  # split the trapezoid at local midnight, power there interpolated
                    pm = p1 + (power_mw - p1) * first // dt
                    self._power((p1 + pm) * first)
                    self._roll(self._pending_day)
                    self._power((pm + power_mw) * (dt - first))
            self._last_ok = True
            self._last_mw = power_mw
        self._last_t = t
        if self._fill and self._counter_last >= 0:
            if self._counter_t < 0 or t - self._counter_t > self.max_gap_s:
                self._book_fill(True)  # the counter is silent: power fills, on credit

    def _outage(self, wall):
        # The first sample after resume(): the outage since the last sample kept is missing.
        last = self._outage_wall
        self._outage_wall = -1
        if last >= _MIN_VALID_WALL and wall >= last:
            self.missing_s += wall - last
        else:
            self.outages_unmeasured += 1

    def _power(self, half_mj):
        if self._counter_last >= 0:
            self._fill += half_mj  # the counter is the truth; keep this for its gaps
            return
        acc = self._acc + half_mj
        if acc >= _HALF_MJ_PER_MWH:
            mwh = acc // _HALF_MJ_PER_MWH
            acc -= mwh * _HALF_MJ_PER_MWH
            self._book(mwh)
        self._acc = acc

    def _book_fill(self, on_credit):
        acc = self._acc + self._fill
        self._fill = 0
        if acc >= _HALF_MJ_PER_MWH:
            mwh = acc // _HALF_MJ_PER_MWH
            acc -= mwh * _HALF_MJ_PER_MWH
            self._book(mwh)
            if on_credit:
                self._credit += mwh
        self._acc = acc

    # --- counter readings ---

    def add_counter(self, t, count, wall=-1):
        """Account a counter reading (raw, 0 <= count < 2**counter_bits) at monotonic second t.
        A step the ledger cannot trust is not booked (see the module's docstring)."""
        if wall == -1:
            wall = t
        if (
            not _int_in(t, 0, _MAX_TIME)
            or not _int_in(wall, 0, _MAX_TIME)
            or t < self._counter_t
            or t < self._run[_R_T]
            or not isinstance(count, int)
            or count < 0
            or count >= self.counter_span
        ):
            self.refused += 1
            return
        if self.last_wall >= 0 and t >= self._last_wall_t:  # a clock jump (as add_power)
            drift = (wall - self.last_wall) - (t - self._last_wall_t)
            if drift > _JUMP_SLACK_S or drift < -_JUMP_SLACK_S:
                self.clock_jumps += 1
        self.last_wall = wall
        self._last_wall_t = t
        if self._outage_wall >= 0 and not self.counter_survives_reboot:
            self._outage(wall)  # a pulse counter restarted with the chip: nothing counted
        last = self._counter_last
        if last < 0:  # first reading: the baseline
            self._anchor(t, count, wall)
            self._crossing(0, wall, False)
            return
        # Seconds since the anchor: on the monotonic clock, or after a reboot on the wall clock
        # if it was set at both readings; -1 if nothing can tell.
        dt = t - self._counter_t
        if self._counter_t < 0:
            w = self._counter_wall
            dt = wall - w if w >= _MIN_VALID_WALL and wall >= w else -1
        delta = self._step(last, count, dt)
        if delta >= 0:
            self._count(t, count, wall, delta, dt)
            return
        self._distrust(t, count, wall, delta == _UNKNOWN)

    def _anchor(self, t, count, wall):
        self._counter_last = count
        self._counter_t = t
        self._counter_wall = wall
        run = self._run
        run[_R_LEVEL] = -1
        run[_R_T] = -1

    def _step(self, last, count, dt):
        return counter_step(last, count, dt, self.counter_span, self._counts_per_hour)

    def _count(self, t, count, wall, delta, dt):
        # Book a trusted step of `delta` counts ending at `count`.
        if count < self._counter_last:
            self.counter_wraps += 1
        self._fill = 0  # the counter covered the interval the fill integrated
        mwh = self._counts_mwh(delta)
        credit = self._credit
        if credit:
            if credit >= mwh:
                self._credit = credit - mwh
                mwh = 0
            else:
                mwh -= credit
                self._credit = 0
        if dt < 0:
            dt = 0
        first = self._crossing(dt, wall, True)
        if first < 0:
            self._book(mwh)
        else:
            part = mwh * first // dt
            self._book(part)
            self._roll(self._pending_day)
            self._book(mwh - part)
        self._anchor(t, count, wall)

    def _counts_mwh(self, delta):
        cacc = self._cacc + delta * _UNIT
        mwh = cacc // self.counter_per_kwh
        self._cacc = cacc - mwh * self.counter_per_kwh
        return mwh

    def _distrust(self, t, count, wall, unknown):
        # Not plausible from the anchor (or untimed): a step of a candidate run, or a new one.
        if not unknown:
            self.counter_implausible += 1
        self._crossing(0, wall, False)
        run = self._run
        verdict = counter_run(run, 0, count, t, unknown, self.counter_span, self._counts_per_hour)
        if verdict == RUN_GROWING:
            return
        if verdict == RUN_CONFIRMED:
            if self._agrees(run):
                self._confirm(t, count, wall)
                return
            # It moved unlike the power did (a stale or wandering glitch): start again here.
            counter_run_start(run, 0, count, t, unknown)
        self._book_fill(True)  # the power since the anchor, ahead of the register
        run[_R_CREDIT0] = self._credit

    def _agrees(self, run):
        # A run is a meter only if what its register moved is what the power integrated in the
        # meantime, to one count and an eighth (nothing to compare without power: an S0 input).
        if self._last_t < 0:
            return True
        power = self._credit - run[_R_CREDIT0] + (self._acc + self._fill) // _HALF_MJ_PER_MWH
        count = _UNIT // self.counter_per_kwh + 1
        diff = run[_R_STEPS] * _UNIT // self.counter_per_kwh - power
        return -count - power // 8 <= diff <= count + power // 8

    def _confirm(self, t, count, wall):
        run = self._run
        if run[_R_UNTIMED] and count >= self._counter_last:
            # A step up across an outage nothing could time, confirmed: the register's.
            self._count(t, count, wall, count - self._counter_last, -1)
            return
        # A new level that stays (and moves as the power does): re-anchor. The jump's interval
        # keeps what the power filled (on credit when the run began); the run's own steps are
        # the register's, less what power booked ahead of them since.
        self.counter_resets += 1
        if self._last_t < 0 and self._counter_t >= 0:
            self.missing_s += run[_R_T0] - self._counter_t  # no power to fill the jump
        self._fill = 0
        ahead = self._credit - run[_R_CREDIT0]
        mwh = self._counts_mwh(run[_R_STEPS])
        if ahead >= mwh:
            self._credit = ahead - mwh
        else:
            self._credit = 0
            self._book(mwh - ahead)
        self._anchor(t, count, wall)

    def book_unattributed(self, mwh):
        """Book mWh no clock can place in a day (a community meter's register step across a
        local midnight, sunprint/community/meters.py): lifetime and unattributed(), never a
        period, as a hold that could not be proven today's; CO2 and coal at the current
        factors. ValueError unless mwh is an int >= 0."""
        if not isinstance(mwh, int) or mwh < 0:
            raise ValueError("unattributed energy must be an int >= 0 mWh")
        self._late = True
        try:
            self._book(mwh)
        finally:
            self._late = False

    def seed_lifetime(self, mwh):
        """Start the lifetime total from a meter's total (both store slots lost); ValueError
        unless it is an int in [0, 10**18] mWh."""
        if not _int_in(mwh, 0, 10**18):
            raise ValueError("meter total out of range")
        self.hi[LIFETIME] = mwh // _UNIT
        self.lo[LIFETIME] = mwh % _UNIT
        self._base[0] = _NO_BASE  # lifetime moved alone: journal deltas cannot say it

    # --- booking ---

    def _book(self, mwh):
        if mwh <= 0:
            return
        self.unsaved_mwh += mwh
        self._add(ENERGY * 5, mwh)
        acc = self._co2_acc + mwh * self.co2_dg_per_kwh
        if acc >= _FACTOR_PER_MG:
            mg = acc // _FACTOR_PER_MG
            acc -= mg * _FACTOR_PER_MG
            self._add(CO2 * 5, mg)
        self._co2_acc = acc
        acc = self._coal_acc + mwh * self.coal_dg_per_kwh
        if acc >= _FACTOR_PER_MG:
            mg = acc // _FACTOR_PER_MG
            acc -= mg * _FACTOR_PER_MG
            self._add(COAL * 5, mg)
        self._coal_acc = acc

    def _add(self, base, n):
        if self._late:  # book_unattributed(): lifetime and the unattributed bucket only
            self._add1(UNATTRIBUTED + base // 5, n)
            self._add1(base + LIFETIME, n)
            return
        if self._hold != _NOT_HOLDING:  # the date is unknown: lifetime, and held for a period
            self._add1(HELD + base // 5, n)
            self._add1(base + LIFETIME, n)
            return
        # today, month, year, lifetime (base + 0, 2, 3, 4; yesterday only rolls): _add1 written
        # out in an int loop, as each sample books here three times (a loop over a tuple would
        # allocate, four calls cost more than the sums)
        hi, lo = self.hi, self.lo
        i = base  # + TODAY
        while i <= base + LIFETIME:
            v = lo[i] + n
            if v >= _UNIT:
                h = v // _UNIT
                hi[i] += h
                v -= h * _UNIT
            lo[i] = v
            i += 2 if i == base else 1  # TODAY, MONTH, YEAR, LIFETIME

    def _add1(self, i, n):
        lo = self.lo[i] + n
        if lo >= _UNIT:
            h = lo // _UNIT
            self.hi[i] += h
            lo -= h * _UNIT
        self.lo[i] = lo

    # --- days ---

    def _crossing(self, dt, wall, may_split):
        """Move to the day of `wall`. If the interval (wall - dt, wall] crosses into the next
        day and may_split, return the seconds before that midnight and leave the roll to the
        caller (to self._pending_day); otherwise roll here and return -1."""
        if wall < _MIN_VALID_WALL:
            self._unknown(dt)
            return -1
        if self._hold != _NOT_HOLDING:
            self._release(wall)
        self._valid_wall = wall
        # the local day of the set wall clock (day_of), never back: a closed day is never
        # reopened (written out, as every sample comes here)
        day = (wall + self.tz_offset_s) // _SECONDS_PER_DAY
        if day <= self._day:
            return -1
        if self._day < 0:
            self._day = day  # the clock was just set: what came before belongs to today
            return -1
        if may_split and day == self._day + 1:
            first = day * _SECONDS_PER_DAY - self.tz_offset_s - (wall - dt)
            if 0 < first <= dt:  # an interval ending at midnight is all yesterday's
                self._pending_day = day
                return first
        self._roll(day)
        return -1

    def _unknown(self, dt):
        # A wall clock that is not set: hold what is booked from now on. All held energy is
        # produced from _hold_t0 on (while nothing is held, it moves up to this interval's
        # start; after a reboot with something held, the monotonic clock cannot say: -1).
        t0 = self._last_wall_t - dt
        if self._hold == _NOT_HOLDING:
            w = self._valid_wall
            self._hold = w if w <= _MAX_HOLD_WALL else -1
            self._hold_t0 = t0
        elif self.hi[HELD] == 0 and self.lo[HELD] == 0:
            self._hold_t0 = t0

    def _release(self, wall):
        # A trusted wall clock after a hold: close the days it passes, then attribute what was
        # held to today if provably today's, else to the unattributed bucket.
        bound = self._hold
        t0 = self._hold_t0
        self._hold = _NOT_HOLDING
        self._hold_t0 = -1
        day = self.day_of(wall)
        if self._day < 0:
            self._day = day
        elif day > self._day:
            self._roll(day)
        # The earliest wall clock the held energy can have been produced at: after the last
        # trusted wall clock before the hold, and after the monotonic start of the hold.
        since = -1
        if _MIN_VALID_WALL <= bound <= wall:
            since = bound
        if t0 >= 0:
            w0 = wall - (self._last_wall_t - t0)
            if w0 > since:
                since = w0
        if day != self._day:
            since = -1  # the clock went back into a closed day: nothing is provable
        proof = since >= day * _SECONDS_PER_DAY - self.tz_offset_s  # today's
        # not provably today's, but provably this month's or this year's: those take it
        in_month = in_year = proof
        if not proof and since >= _MIN_VALID_WALL:
            m0 = month_key(self.day_of(since))
            m1 = month_key(day)
            in_month = m0 == m1
            in_year = m0 // 12 == m1 // 12
        hi, lo = self.hi, self.lo
        q = 0
        moved = False
        while q < 3:
            h = hi[HELD + q]
            m = lo[HELD + q]
            if h or m:
                moved = True
                hi[HELD + q] = 0
                lo[HELD + q] = 0
                if proof:
                    hi[q * 5 + TODAY] += h
                    self._add1(q * 5 + TODAY, m)
                    hi[q * 5 + MONTH] += h
                    self._add1(q * 5 + MONTH, m)
                    hi[q * 5 + YEAR] += h
                    self._add1(q * 5 + YEAR, m)
                else:
                    hi[UNATTRIBUTED + q] += h  # in no day
                    self._add1(UNATTRIBUTED + q, m)
                    if in_month:
                        hi[q * 5 + MONTH] += h
                        self._add1(q * 5 + MONTH, m)
                    if in_year:
                        hi[q * 5 + YEAR] += h
                        self._add1(q * 5 + YEAR, m)
            q += 1
        if moved:
            if proof:
                self.held_settled += 1
            else:
                self.held_unattributed += 1

    def _roll(self, day):
        old = self._day
        q = 0
        while q < 15:
            if day == old + 1:
                self.hi[q + YESTERDAY] = self.hi[q + TODAY]
                self.lo[q + YESTERDAY] = self.lo[q + TODAY]
            else:
                self.hi[q + YESTERDAY] = 0
                self.lo[q + YESTERDAY] = 0
            self.hi[q + TODAY] = 0
            self.lo[q + TODAY] = 0
            q += 5
        m0 = month_key(old)
        m1 = month_key(day)
        q = 0
        while q < 15:
            if m0 != m1:
                self.hi[q + MONTH] = 0
                self.lo[q + MONTH] = 0
            if m0 // 12 != m1 // 12:
                self.hi[q + YEAR] = 0
                self.lo[q + YEAR] = 0
            q += 5
        self._day = day

    # --- persistence ---

    def mark_saved(self):
        self.unsaved_mwh = 0

    def resume(self):
        """After a reboot and unpack(): the monotonic clock restarted, don't bridge the outage;
        the first sample counts it as missing time (see the module's docstring)."""
        self._outage_wall = self.last_wall
        if self.last_wall >= _MIN_VALID_WALL:
            self._valid_wall = self.last_wall
        self._hold_t0 = -1  # the monotonic clock restarted: it proves nothing held before
        self._last_t = -1
        self._last_ok = True
        self.last_wall = -1
        self._last_wall_t = -1
        self._fill = 0
        self._counter_t = -1
        self._run[_R_LEVEL] = -1
        self._run[_R_T] = -1
        if not self.counter_survives_reboot:
            self._counter_last = -1  # a pulse counter restarts at 0 with the chip

    def pack(self):
        """The ledger's state as bytes, for the store (allocates: call at persist time only).

        Version 3 keeps version 2's layout and length (so a record's ledger part and the refresh
        plan's after it split where they did): the field that held last_ok (0 or 1) now holds
        last_ok | (the counter anchor's wall clock + 1) << 1. A version 2 record restores with
        that wall clock unknown. Never raises: every field is range-checked on the way in."""
        head = struct.pack(
            _STATE_HEAD,
            _STATE_VERSION,
            self.samples,
            self.flagged,
            self.missing_s,
            self.counter_resets,
            self.counter_wraps,
            self.clock_jumps,
            self._day,
            self._acc,
            self._co2_acc,
            self._coal_acc,
            self._last_t,
            self._last_mw,
            (1 if self._last_ok else 0) | (self._counter_wall + 1) << 1,
            self.last_wall,
            self._last_wall_t,
            self._fill,
            self._credit,
            self._cacc,
            self._counter_last,
            self._counter_t,
            self.co2_dg_per_kwh,
            self.coal_dg_per_kwh,
            self.unsaved_mwh,
        )
        hi, lo = self.hi, self.lo
        lists = struct.pack(_STATE_LISTS, *(hi[:_N] + lo[:_N]))
        hold = struct.pack(
            _STATE_HOLD,
            hi[HELD] * _UNIT + lo[HELD],
            hi[HELD + 1] * _UNIT + lo[HELD + 1],
            hi[HELD + 2] * _UNIT + lo[HELD + 2],
            hi[UNATTRIBUTED] * _UNIT + lo[UNATTRIBUTED],
            hi[UNATTRIBUTED + 1] * _UNIT + lo[UNATTRIBUTED + 1],
            hi[UNATTRIBUTED + 2] * _UNIT + lo[UNATTRIBUTED + 2],
            self._hold,
        )
        return head + lists + hold

    @staticmethod
    def state_size(payload):
        """How many bytes of a record's payload the ledger state takes, by its version (the
        refresh plan's state follows it)."""
        return _SIZE_V3 if len(payload) and payload[0] in (2, 3) else _SIZE_V4

    def unpack(self, data):
        """Restore the state pack() made (version 2 or 3); ValueError if data is not such a
        state. What is kept since boot only (refused, counter_implausible, a candidate level)
        starts afresh."""
        n_head = struct.calcsize(_STATE_HEAD)
        n = len(data)
        if not (
            (n == _SIZE_V3 and data[0] in (2, 3)) or (n == _SIZE_V4 and data[0] == _STATE_VERSION)
        ):
            raise ValueError("not a ledger state v2 to v%d" % _STATE_VERSION)
        hold = struct.unpack_from(_STATE_HOLD, data, _SIZE_V3) if n == _SIZE_V4 else None
        if hold is not None:
            for v in hold[:6]:
                if v < 0:
                    raise ValueError("ledger state: a negative hold")
            if hold[6] < _NOT_HOLDING:
                raise ValueError("ledger state: a bad hold bound")
        (
            _,
            self.samples,
            self.flagged,
            self.missing_s,
            self.counter_resets,
            self.counter_wraps,
            self.clock_jumps,
            self._day,
            self._acc,
            self._co2_acc,
            self._coal_acc,
            self._last_t,
            self._last_mw,
            last_ok,
            self.last_wall,
            self._last_wall_t,
            self._fill,
            self._credit,
            self._cacc,
            self._counter_last,
            self._counter_t,
            self.co2_dg_per_kwh,
            self.coal_dg_per_kwh,
            self.unsaved_mwh,
        ) = struct.unpack_from(_STATE_HEAD, data)
        self._last_ok = last_ok & 1 == 1
        self._counter_wall = (last_ok >> 1) - 1 if last_ok >= 0 else -1
        self._outage_wall = -1
        self._run[_R_LEVEL] = -1
        self._run[_R_T] = -1
        values = struct.unpack_from(_STATE_LISTS, data, n_head)
        self.hi = list(values[:_N]) + [0] * (_N_ALL - _N)
        self.lo = list(values[_N:]) + [0] * (_N_ALL - _N)
        self._hold = _NOT_HOLDING
        if hold is not None:
            for i in range(6):
                self.hi[HELD + i] = hold[i] // _UNIT
                self.lo[HELD + i] = hold[i] % _UNIT
            self._hold = hold[6]
        self._hold_t0 = -1
        self._valid_wall = self.last_wall if self.last_wall >= _MIN_VALID_WALL else -1
        self._base[0] = _NO_BASE  # until the caller says this state is a full record's

    # --- journal: small deltas between full records (store.py) ---

    def mark_base(self):
        """The state now is what the newest full record holds: journal entries count from here."""
        b = self._base
        hi, lo = self.hi, self.lo
        b[0] = self._day
        b[1] = hi[4]  # ENERGY * 5 + LIFETIME
        b[2] = lo[4]
        b[3] = hi[9]  # CO2
        b[4] = lo[9]
        b[5] = hi[14]  # COAL
        b[6] = lo[14]
        b[7] = self.samples
        b[8] = self.flagged
        b[9] = self.missing_s
        b[10] = self.counter_resets
        b[11] = self.counter_wraps
        b[12] = self.clock_jumps
        b[13] = self.co2_dg_per_kwh
        b[14] = self.coal_dg_per_kwh
        b[15] = hi[UNATTRIBUTED]
        b[16] = lo[UNATTRIBUTED]
        b[17] = 1 if self._hold != _NOT_HOLDING else 0
        b[18] = hi[HELD]
        b[19] = lo[HELD]
        b[20] = hi[HELD + 1]
        b[21] = lo[HELD + 1]
        b[22] = hi[HELD + 2]
        b[23] = lo[HELD + 2]

    def journal_into(self, buf, off=0):
        """Write the change since mark_base() into buf at off as a journal entry (JOURNAL_SIZE
        bytes) and return its length; 0 when only a full record can hold the change (no base,
        a new local day, new factors, a delta too large). Allocates nothing."""
        b = self._base
        if (
            b[0] == _NO_BASE
            or b[0] != self._day
            or b[13] != self.co2_dg_per_kwh
            or b[14] != self.coal_dg_per_kwh
        ):
            return 0
        hi, lo = self.hi, self.lo
        de = (hi[4] - b[1]) * _UNIT + lo[4] - b[2]
        dc = (hi[9] - b[3]) * _UNIT + lo[9] - b[4]
        dk = (hi[14] - b[5]) * _UNIT + lo[14] - b[6]
        ds = self.samples - b[7]
        df = self.flagged - b[8]
        dm = self.missing_s - b[9]
        dr = self.counter_resets - b[10]
        dw = self.counter_wraps - b[11]
        dj = self.clock_jumps - b[12]
        # One test at a time: a tuple to loop over would allocate.
        if _out(de) or _out(dc) or _out(dk) or _out(ds) or _out(df) or _out(dm):
            return 0
        if _out(self._cacc) or _out(self._credit) or dr > 0xFFFF or dw > 0xFFFF or dj > 0xFFFF:
            return 0
        # The hold: the same mode as the base, nothing attributed since; while holding, all of
        # the change went to held (a hold that began or was attributed since: a full record).
        holding = self._hold != _NOT_HOLDING
        if (b[17] == 1) != holding or hi[UNATTRIBUTED] != b[15] or lo[UNATTRIBUTED] != b[16]:
            return 0
        if holding:
            if (hi[HELD] - b[18]) * _UNIT + lo[HELD] - b[19] != de:
                return 0
            if (hi[HELD + 1] - b[20]) * _UNIT + lo[HELD + 1] - b[21] != dc:
                return 0
            if (hi[HELD + 2] - b[22]) * _UNIT + lo[HELD + 2] - b[23] != dk:
                return 0
        elif hi[HELD] or lo[HELD] or hi[HELD + 1] or lo[HELD + 1] or hi[HELD + 2] or lo[HELD + 2]:
            return 0
        struct.pack_into(
            _JOURNAL,
            buf,
            off,
            _JOURNAL_HELD if holding else _JOURNAL_VERSION,
            self._day,
            de,
            dc,
            dk,
            self._acc,
            self._co2_acc,
            self._coal_acc,
            self._counter_last,
            self._cacc,
            self._credit,
            ds,
            df,
            dm,
            dr,
            dw,
            dj,
            self.last_wall,
            self._counter_wall,
        )
        return JOURNAL_SIZE

    def apply_journal(self, data):
        """After unpack() of the base record: add a journal entry journal_into() made. Raises
        ValueError, the ledger untouched, if data is not such an entry for this state."""
        if len(data) != JOURNAL_SIZE or data[0] not in (_JOURNAL_VERSION, _JOURNAL_HELD):
            raise ValueError("not a ledger journal entry v%d or v%d" % (2, _JOURNAL_HELD))
        if (data[0] == _JOURNAL_HELD) != (self._hold != _NOT_HOLDING):
            raise ValueError("journal entry does not fit its record (date known or not)")
        (
            _,
            day,
            de,
            dc,
            dk,
            acc,
            co2_acc,
            coal_acc,
            last,
            cacc,
            credit,
            ds,
            df,
            dm,
            dr,
            dw,
            dj,
            last_wall,
            counter_wall,
        ) = struct.unpack_from(_JOURNAL, data)
        bad = day != self._day  # made on another day's record
        bad = bad or not (-1 <= last_wall <= _MAX_TIME and -1 <= counter_wall <= _MAX_TIME)
        for v in (de, dc, dk, ds, df, dm, cacc, credit):
            bad = bad or v < 0
        if (
            bad
            or acc >= _HALF_MJ_PER_MWH
            or co2_acc >= _FACTOR_PER_MG
            or coal_acc >= _FACTOR_PER_MG
        ):
            raise ValueError("journal entry does not fit its record")
        self._add(ENERGY * 5, de)
        self._add(CO2 * 5, dc)
        self._add(COAL * 5, dk)
        self._acc = acc
        self._co2_acc = co2_acc
        self._coal_acc = coal_acc
        self._counter_last = last
        self._cacc = cacc
        self._credit = credit
        self.samples += ds
        self.flagged += df
        self.missing_s += dm
        self.counter_resets += dr
        self.counter_wraps += dw
        self.clock_jumps += dj
        self.last_wall = last_wall
        self._counter_wall = counter_wall
