"""Energy ledger: PV power samples integrated into integer milliwatt-hours.

Integers, not floats: an int total never drifts (a float total stops growing once the
increment is below its resolution). Every counter here stays below 2**30, the small-int
limit of the ESP32's MicroPython, so the steady-state tick allocates nothing there:
  - a sample pair contributes (p1 + p2) * dt in units of 0.5 mJ (mW * s); 7200 of those are
    one mWh, and the remainder is carried, so no fraction of energy is ever lost;
  - today's energy is in mWh (2**30 mWh = 1 GWh, far beyond a day of a rooftop);
  - the lifetime total is carried into whole kWh plus a mWh remainder below 10**6.
Time is firmware seconds (since 2000-01-01 UTC); days are local days at tz_offset_s.
"""

import struct

from sunprint.compat import const

_HALF_MJ_PER_MWH = const(7200)  # (p1 + p2) * dt counts half-millijoules; 3600 mJ = 1 mWh
_MWH_PER_KWH = const(1000000)
_SECONDS_PER_DAY = const(86400)
_STATE_VERSION = const(1)
# version, today, yesterday, lifetime kWh, lifetime mWh, missing s, samples, acc, last t,
# last mW, day
_STATE_FORMAT = "<Bqqqqqqqqqq"


class Ledger:
    def __init__(self, tz_offset_s=8 * 3600, max_gap_s=300):
        self.tz_offset_s = tz_offset_s
        self.max_gap_s = max_gap_s
        self.today_mwh = 0
        self.yesterday_mwh = 0
        self.lifetime_kwh = 0
        self.lifetime_mwh = 0  # remainder below 1 kWh
        self.missing_s = 0  # time in gaps longer than max_gap_s, not integrated
        self.samples = 0
        self._acc = 0  # half-mJ not yet carried into mWh, always < 7200
        self._last_t = -1
        self._last_mw = 0
        self._day = -1

    def day_of(self, t):
        """Local day number of firmware time t."""
        return (t + self.tz_offset_s) // _SECONDS_PER_DAY

    def add_power(self, t, power_mw):
        """Account one power sample (integer mW) taken at firmware time t (integer s)."""
        if power_mw < 0:
            power_mw = 0  # an inverter's night draw is consumption, not negative production
        self.samples += 1
        day = self.day_of(t)
        if self._day < 0:
            self._day = day
        last_t = self._last_t
        if last_t >= 0 and t > last_t:
            dt = t - last_t
            if dt > self.max_gap_s:
                self.missing_s += dt
                if day != self._day:
                    self._roll(day)
            elif day != self._day:
                # Split the trapezoid at local midnight: power there is interpolated.
                midnight = day * _SECONDS_PER_DAY - self.tz_offset_s
                p1 = self._last_mw
                pm = p1 + (power_mw - p1) * (midnight - last_t) // dt
                self._add(p1 + pm, midnight - last_t)
                self._roll(day)
                self._add(pm + power_mw, t - midnight)
            else:
                self._add(self._last_mw + power_mw, dt)
        self._last_t = t
        self._last_mw = power_mw

    def _add(self, p_sum_mw, dt):
        acc = self._acc + p_sum_mw * dt
        if acc >= _HALF_MJ_PER_MWH:
            mwh = acc // _HALF_MJ_PER_MWH
            acc -= mwh * _HALF_MJ_PER_MWH
            self.today_mwh += mwh
            life = self.lifetime_mwh + mwh
            if life >= _MWH_PER_KWH:
                kwh = life // _MWH_PER_KWH
                self.lifetime_kwh += kwh
                life -= kwh * _MWH_PER_KWH
            self.lifetime_mwh = life
        self._acc = acc

    def _roll(self, day):
        # Several days may pass in one gap: yesterday is then the (empty) day before `day`.
        self.yesterday_mwh = self.today_mwh if day == self._day + 1 else 0
        self.today_mwh = 0
        self._day = day

    def lifetime_wh(self):
        """Lifetime energy in whole Wh (a heap int on the ESP32 past 1 GWh: call it rarely)."""
        return self.lifetime_kwh * 1000 + self.lifetime_mwh // 1000

    def pack(self):
        """The ledger's state as bytes, for the store (allocates: call at persist time only)."""
        return struct.pack(
            _STATE_FORMAT,
            _STATE_VERSION,
            self.today_mwh,
            self.yesterday_mwh,
            self.lifetime_kwh,
            self.lifetime_mwh,
            self.missing_s,
            self.samples,
            self._acc,
            self._last_t,
            self._last_mw,
            self._day,
        )

    def unpack(self, data):
        """Restore the state pack() made; ValueError if data is not such a state."""
        if len(data) != struct.calcsize(_STATE_FORMAT) or data[0] != _STATE_VERSION:
            raise ValueError("not a ledger state v%d" % _STATE_VERSION)
        (
            _,
            self.today_mwh,
            self.yesterday_mwh,
            self.lifetime_kwh,
            self.lifetime_mwh,
            self.missing_s,
            self.samples,
            self._acc,
            self._last_t,
            self._last_mw,
            self._day,
        ) = struct.unpack(_STATE_FORMAT, data)
