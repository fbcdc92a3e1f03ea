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
  counter_bits; a decrease that is not a wrap is a meter reset or swap: the ledger rebases and
  counts an event, never negative energy, never counting an interval twice. With both sources
  the counter is the truth: integrated power waits in a fill and is only used where the counter
  cannot say (a rebase, or a counter silent for longer than max_gap_s: then the fill is booked
  and the counter's next delta is reduced by what was booked ahead of it).

CO2 and coal accrue with the energy, at the factors in force at that moment (set_factors), so a
new factor never rewrites history.

Time: `t` is a monotonic count of seconds (it alone measures intervals); `wall` is wall-clock
firmware seconds (since 2000-01-01 UTC), used only to tell which day, month and year energy
belongs to. A wall clock that jumps back (an RTC back at 2000-01-01, an NTP correction) never
reopens a closed day; one before 2024 is not trusted at all; one that jumps forward closes the
days it passes. Energy is never lost or counted twice by a clock jump.

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

_UNIT = const(1000000)  # lo per hi: mWh per kWh, mg per kg
_HALF_MJ_PER_MWH = const(7200)  # (p1 + p2) * dt counts half-millijoules; 3600 mJ = 1 mWh
_FACTOR_PER_MG = const(10000)  # mWh * (0.1 g/kWh) = 1e-7 g = 1e-4 mg
_SECONDS_PER_DAY = const(86400)
_MIN_VALID_WALL = const(757382400)  # 2024-01-01 00:00 UTC: earlier wall clocks are not set
_JUMP_SLACK_S = const(60)  # wall clock vs monotonic disagreement counted as a clock jump

_STATE_VERSION = const(2)
_STATE_HEAD = "<B23q"
_STATE_LISTS = "<30q"

# A journal entry (store.py keeps them between full records): what changed since the state in
# the last full record (mark_base), within one local day and at the same factors. Version, day,
# energy/CO2/coal added (mWh, mg: the same to today, month, year and lifetime), the three
# remainders, the counter's state, and the counts added (samples, flagged, missing s, resets,
# wraps, clock jumps): 57 bytes.
_JOURNAL_VERSION = const(1)
_JOURNAL = "<BiiiiHHHqiiiiiHHH"
JOURNAL_SIZE = const(57)
_NO_BASE = const(-2)  # _base[0] when no full record holds a state of this ledger
_DELTA_MAX = const(0x3FFFFFFF)  # larger deltas (or a base that old) take a full record


def _out(v):
    return v < 0 or v > _DELTA_MAX


class Ledger:
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
    ):
        self.tz_offset_s = tz_offset_s
        self.max_gap_s = max_gap_s
        self.co2_dg_per_kwh = co2_dg_per_kwh  # 0.1 g CO2 per kWh, the factor in force now
        self.coal_dg_per_kwh = coal_dg_per_kwh  # 0.1 gce per kWh
        self.counter_per_kwh = counter_per_kwh  # counts per kWh (S0 imp/kWh; 100 for 0.01 kWh)
        self.counter_span = 1 << counter_bits
        self.counter_max_power_w = counter_max_power_w  # 0: unknown, wraps judged by position
        self.counter_survives_reboot = counter_survives_reboot  # a meter register, not a PCNT
        self.hi = [0] * _N
        self.lo = [0] * _N
        # What happened, for the status screen and the summary.
        self.samples = 0
        self.flagged = 0  # samples the health layer flagged: not integrated
        self.missing_s = 0  # seconds not integrated: gaps and flagged readings
        self.counter_resets = 0  # meter reset or swap: rebased
        self.counter_wraps = 0
        self.clock_jumps = 0
        self.unsaved_mwh = 0  # energy booked since mark_saved(), for the persist policy
        self._day = -1  # local day number of the current "today"; -1 until the clock is set
        self._acc = 0  # half-mJ not yet carried into mWh, < 7200
        self._co2_acc = 0  # 1e-4 mg, < 10000
        self._coal_acc = 0
        self._last_t = -1
        self._last_mw = 0
        self._last_ok = True
        self._last_wall = -1
        self._last_wall_t = -1
        self._pending_day = -1
        self._fill = 0  # half-mJ of power integrated while a counter is the truth
        self._credit = 0  # mWh booked ahead of the counter (from the fill)
        self._cacc = 0  # counter units * 10**6 not yet carried into mWh
        self._counter_last = -1
        self._counter_t = -1
        self._base = [_NO_BASE] * 15  # mark_base(): the totals and counts in the last full record

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

    def day_of(self, wall):
        """Local day number (days since 2000-01-01) of wall-clock firmware time `wall`."""
        return (wall + self.tz_offset_s) // _SECONDS_PER_DAY

    @property
    def day(self):
        return self._day

    # --- factors ---

    def set_factors(self, co2_dg_per_kwh, coal_dg_per_kwh):
        """Factors for energy booked from now on; what is booked keeps its factors."""
        self.co2_dg_per_kwh = co2_dg_per_kwh
        self.coal_dg_per_kwh = coal_dg_per_kwh

    # --- power samples ---

    def add_power(self, t, power_mw, wall=-1, ok=True):
        """Account a power sample (int mW) at monotonic second t, wall clock `wall` (default t).

        ok=False marks a reading the health layer rejected: the intervals on either side of it
        are not integrated and count as missing time.
        """
        if wall < 0:
            wall = t
        self._note_wall(t, wall)
        self.samples += 1
        last_t = self._last_t
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
        """Account a counter reading (raw, 0 <= count < 2**counter_bits) at monotonic second t."""
        if wall < 0:
            wall = t
        self._note_wall(t, wall)
        last = self._counter_last
        if last < 0:  # first reading: the baseline
            self._counter_last = count
            self._counter_t = t
            self._crossing(0, wall, False)
            return
        span = self.counter_span
        if count >= last:
            delta = count - last
            wrapped = False
        else:
            delta = count + span - last
            # A wrap comes from near the top to near the bottom; anything else is a reset.
            wrapped = last >= span - (span >> 2) and count < (span >> 2)
        dt = t - self._counter_t if self._counter_t >= 0 and t > self._counter_t else 0
        limit = self.counter_max_power_w
        if (count < last and not wrapped) or (
            limit and dt and delta * 3600000 > limit * dt * 2 * self.counter_per_kwh
        ):
            # Meter reset or swap: rebase. The interval is what the power fill says, if any.
            self.counter_resets += 1
            self._counter_last = count
            self._counter_t = t
            self._credit = 0
            self._crossing(0, wall, False)
            self._book_fill(False)
            return
        if wrapped:
            self.counter_wraps += 1
        cacc = self._cacc + delta * _UNIT
        mwh = cacc // self.counter_per_kwh
        self._cacc = cacc - mwh * self.counter_per_kwh
        credit = self._credit
        if credit:
            if credit >= mwh:
                self._credit = credit - mwh
                mwh = 0
            else:
                mwh -= credit
                self._credit = 0
        self._fill = 0  # the counter covered the interval the fill integrated
        first = self._crossing(dt, wall, True)
        if first < 0:
            self._book(mwh)
        else:
            part = mwh * first // dt
            self._book(part)
            self._roll(self._pending_day)
            self._book(mwh - part)
        self._counter_last = count
        self._counter_t = t

    def seed_lifetime(self, mwh):
        """Start the lifetime total from a meter's total (both store slots lost)."""
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
        # Unrolled over today, month, year, lifetime: a loop over a tuple would allocate.
        self._add1(base + TODAY, n)
        self._add1(base + MONTH, n)
        self._add1(base + YEAR, n)
        self._add1(base + LIFETIME, n)

    def _add1(self, i, n):
        lo = self.lo[i] + n
        if lo >= _UNIT:
            h = lo // _UNIT
            self.hi[i] += h
            lo -= h * _UNIT
        self.lo[i] = lo

    # --- days ---

    def _note_wall(self, t, wall):
        # Count a wall clock that disagrees with the monotonic clock (NTP sync, RTC reset).
        if self._last_wall >= 0 and t >= self._last_wall_t:
            drift = (wall - self._last_wall) - (t - self._last_wall_t)
            if drift > _JUMP_SLACK_S or drift < -_JUMP_SLACK_S:
                self.clock_jumps += 1
        self._last_wall = wall
        self._last_wall_t = t

    def _wall_day(self, wall):
        if wall < _MIN_VALID_WALL:
            return self._day  # the clock is not set: stay in the current day
        day = self.day_of(wall)
        if day < self._day:
            return self._day  # the clock went back: a closed day is never reopened
        return day

    def _crossing(self, dt, wall, may_split):
        """Move to the day of `wall`. If the interval (wall - dt, wall] crosses into the next
        day and may_split, return the seconds before that midnight and leave the roll to the
        caller (to self._pending_day); otherwise roll here and return -1."""
        day = self._wall_day(wall)
        if day == self._day:
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
        """After a reboot and unpack(): the monotonic clock restarted, don't bridge the outage."""
        self._last_t = -1
        self._last_ok = True
        self._last_wall = -1
        self._last_wall_t = -1
        self._fill = 0
        self._counter_t = -1
        if not self.counter_survives_reboot:
            self._counter_last = -1  # a pulse counter restarts at 0 with the chip

    def pack(self):
        """The ledger's state as bytes, for the store (allocates: call at persist time only)."""
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
            1 if self._last_ok else 0,
            self._last_wall,
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
        return head + struct.pack(_STATE_LISTS, *(self.hi + self.lo))

    def unpack(self, data):
        """Restore the state pack() made; ValueError if data is not such a state."""
        n_head = struct.calcsize(_STATE_HEAD)
        if len(data) != n_head + struct.calcsize(_STATE_LISTS) or data[0] != _STATE_VERSION:
            raise ValueError("not a ledger state v%d" % _STATE_VERSION)
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
            self._last_wall,
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
        self._last_ok = last_ok == 1
        values = struct.unpack_from(_STATE_LISTS, data, n_head)
        self.hi = list(values[:_N])
        self.lo = list(values[_N:])
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
        struct.pack_into(
            _JOURNAL,
            buf,
            off,
            _JOURNAL_VERSION,
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
        )
        return JOURNAL_SIZE

    def apply_journal(self, data):
        """After unpack() of the base record: add a journal entry journal_into() made. Raises
        ValueError, the ledger untouched, if data is not such an entry for this state."""
        if len(data) != JOURNAL_SIZE or data[0] != _JOURNAL_VERSION:
            raise ValueError("not a ledger journal entry v%d" % _JOURNAL_VERSION)
        (_, day, de, dc, dk, acc, co2_acc, coal_acc, last, cacc, credit, ds, df, dm, dr, dw, dj) = (
            struct.unpack_from(_JOURNAL, data)
        )
        bad = day != self._day  # made on another day's record
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
