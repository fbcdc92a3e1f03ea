# Per-meter accounting of a community sign: each meter's register is the truth for its share;
# the community total is the sum of what each meter's counter books (issue 18).
#
# The rules are the single-meter ledger's (sunprint/core/ledger.py, a counter with no power
# samples beside it): a step is booked only if the power it implies over the time since the
# meter's last trusted reading (its anchor) is plausible (ledger.counter_step: the same function
# the Ledger uses, with the meter's rated power and its register's span, so a rollover at
# 999999.99 kWh is a wrap); an implausible reading (a glitch, a reset, a swap: a register that
# jumps or goes back) is never booked: the anchor stays, and a new level becomes the anchor only
# once COUNTER_CONFIRM readings in a row are consistent with it (counter_resets), booking then
# only the steps within that run (ledger.counter_run: the Ledger's own run rule, one copy).
# After a reboot the first step is timed by the wall clocks of
# the anchor and of the reading; without them a step up is booked once confirmed.
# tests/firmware/test_community_meters.py checks these verdicts against a Ledger fed the same
# readings.
#
# A silent meter books nothing; when it answers again, its register's step since the anchor
# is booked at once (it is plausible: the anchor's time is old). A replaced meter is a swap:
# the new register is re-anchored, never a negative step.
#
# The community total is kept in Wh (total_wh: exact, the sum of every meter's booked counts
# times its Wh per count) and handed to the community's Ledger as a counter (feed()): that
# Ledger keeps today, month, year, lifetime, CO2 and coal as for one meter. It accepts a step
# only as plausible for its counter_max_power_w over the time since the last feed, so a big
# backlog (a meter silent for a day) is fed in plausible parts over a few feeds, never refused.
#
# State per meter: ints in arrays made once (no object per meter: a MicroPython instance costs
# far more than its fields). add() allocates nothing while values are small ints.
#
# Persisted record (pack_into / restore): a header and RECORD_SIZE bytes per meter, keyed by
# address, so a meter added to or removed from the profile leaves the others' anchors alone:
#     header 11 bytes: version u8, meters u8, reserved u8, total_wh u32, fed_wh u32 (mod 2**32)
#     meter  14 bytes: address (6, wire order), anchor count u32 (0xFFFFFFFF: none),
#                      anchor wall clock u32 (0xFFFFFFFF: unknown)
# The community Ledger's own state (store.py's record and journal) says how much it booked;
# restore() credits what it booked beyond the record's fed_wh (a journal entry newer than the
# anchors), so the meters' steps from older anchors are not booked twice.

import struct
from array import array

from sunprint.compat import const
from sunprint.core.ledger import (
    RUN_CONFIRMED,
    STEP_UNKNOWN,
    counter_run,
    counter_step,
)

RECORD_SIZE = const(14)
HEADER_SIZE = const(11)
_VERSION = const(1)
_NONE = const(0xFFFFFFFF)
_MIN_VALID_WALL = const(757382400)  # 2024-01-01 UTC, as the ledger: earlier clocks are unset
# A meter's candidate run: _RUN ints at run[_RUN * i], laid out as the ledger's (level, its
# time, when it began, readings, counts moved, untimed): ledger.counter_run works on both.
_RUN = const(6)


def _ints(n, v):
    a = array("i", bytes(4 * n))
    if v:
        for i in range(n):
            a[i] = v
    return a


class CommunityMeters:
    """The counters of n meters. wh_per_count: 10 for DL/T 645 (0.01 kWh), 1 for a Modbus
    meter in Wh. span: the register's rollover (10**8 counts: 999999.99 kWh). max_power_w: the
    plausible power of one home's array (its rating, with margin)."""

    def __init__(self, addresses, *, wh_per_count=10, span=100000000, max_power_w=30000):
        n = len(addresses)
        if not 1 <= n <= 64 or wh_per_count not in (1, 10) or not 0 < max_power_w <= 10000000:
            raise ValueError("community meters: 1-64 meters, 1 or 10 Wh a count, power")
        self.n = n
        self.addr = bytearray(6 * n)
        for i in range(n):
            for k in range(6):
                self.addr[6 * i + k] = addresses[i][k]
        self.wh_per_count = wh_per_count
        self.span = span
        counts_per_kwh = 1000 // wh_per_count
        self.counts_per_hour = (max_power_w * counts_per_kwh + 999) // 1000
        self.last = _ints(n, -1)  # the anchor: the last trusted reading
        self.at = _ints(n, -1)  # its monotonic time (-1 after a reboot)
        self.wall = _ints(n, -1)  # its wall clock
        self.run = _ints(_RUN * n, -1)  # a candidate new level while distrusted, per meter
        self.booked = _ints(n, 0)  # counts booked per meter since commissioning (mod 2**30)
        self.resets = _ints(n, 0)  # re-anchored on a new level: a swap or reset
        self.implausible = _ints(n, 0)  # readings not booked: glitch, swap, reset
        self.wraps = _ints(n, 0)
        self.refused = 0  # readings refused outright (bad time or count)
        self.total_wh = 0  # the community's sum, exact
        self.fed_wh = 0  # what feed() handed to the community Ledger's counter
        # Steps from an anchor of an earlier local day (a meter silent across midnight): no
        # clock says which day their energy was produced on, so they are in no period, as the
        # Ledger's held energy that cannot be proven today's (book_unattributed).
        self.tz_offset_s = 8 * 3600  # the community Ledger's (source.build sets it)
        self.unattributed_wh = 0  # of total_wh, since boot
        self._late_fed = 0  # of unattributed_wh, handed to the Ledger
        self._feed_wall = -1  # the wall clock of the last feed
        self._feed_t = -1
        self._cph = -1

    # --- readings ---

    def add(self, i, t, count, wall=-1):
        """Account meter i's register reading `count` at monotonic second t (wall clock)."""
        if wall == -1:
            wall = t
        if (
            not isinstance(t, int)
            or not isinstance(wall, int)
            or t < 0
            or wall < 0
            or t >> 31  # the arrays hold int32: seconds up to 2068 (small ints up to 2034)
            or wall >> 31
            or t < self.at[i]
            or t < self.run[_RUN * i + 1]
            or not isinstance(count, int)
            or not 0 <= count < self.span
        ):
            self.refused += 1
            return
        last = self.last[i]
        if last < 0:
            self._anchor(i, t, count, wall)  # the first reading: the baseline
            return
        dt = t - self.at[i]
        if self.at[i] < 0:  # after a reboot: the wall clocks time the step, if both are set
            w = self.wall[i]
            dt = wall - w if w >= _MIN_VALID_WALL and wall >= w else -1
        delta = counter_step(last, count, dt, self.span, self.counts_per_hour)
        if delta >= 0:
            self._count(i, t, count, wall, delta)
        else:
            self._distrust(i, t, count, wall, delta == STEP_UNKNOWN)

    def _anchor(self, i, t, count, wall):
        self.last[i] = count
        self.at[i] = t
        self.wall[i] = wall
        self.run[_RUN * i] = -1  # no candidate run: its level and time
        self.run[_RUN * i + 1] = -1

    def _count(self, i, t, count, wall, delta):
        if count < self.last[i]:
            self.wraps[i] += 1
        self._book(i, delta)
        w = self.wall[i]
        f = self._feed_wall
        if delta > 0 and w >= _MIN_VALID_WALL and f >= _MIN_VALID_WALL:
            tz = self.tz_offset_s
            # the anchor is of a day before the last feed's: the Ledger closed that day
            # without this meter (a silence across midnight); a step across midnight between
            # two feeds is the Ledger's to split (its own feed interval)
            if (w + tz) // 86400 < (f + tz) // 86400:
                self.unattributed_wh += delta * self.wh_per_count
        self._anchor(i, t, count, wall)

    def _book(self, i, counts):
        if counts > 0:
            self.booked[i] = (self.booked[i] + counts) & 0x3FFFFFFF
            self.total_wh += counts * self.wh_per_count

    def _distrust(self, i, t, count, wall, unknown):
        if not unknown:
            self.implausible[i] += 1
        verdict = counter_run(
            self.run, _RUN * i, count, t, unknown, self.span, self.counts_per_hour
        )
        if verdict == RUN_CONFIRMED:  # no power to compare with: the register's run stands
            self._confirm(i, t, count, wall)

    def _confirm(self, i, t, count, wall):
        last = self.last[i]
        k = _RUN * i
        if self.run[k + 5] and count >= last:
            self._count(i, t, count, wall, count - last)  # a step up nothing could time
            return
        self.resets[i] += 1  # a new level that stays: a swap or a reset
        self._book(i, self.run[k + 4])
        self._anchor(i, t, count, wall)

    def resume(self):
        """After a reboot: the monotonic clock restarted; candidate runs are forgotten."""
        for i in range(self.n):
            self.at[i] = -1
            self.run[_RUN * i] = -1
            self.run[_RUN * i + 1] = -1
        self._feed_t = -1
        self._feed_wall = -1

    # --- the community Ledger ---

    def feed(self, ledger, t, wall=-1):
        """Hand the community total to `ledger` as its counter (Wh, counter_per_kwh 1000), in a
        part it finds plausible since the last feed; the rest waits for the next. Steps across
        a midnight go to its unattributed bucket (ledger.book_unattributed)."""
        late = self.unattributed_wh - self._late_fed
        if late > 0:
            self._late_fed += late
            ledger.book_unattributed(late * 1000)
        pending = self.total_wh - self.unattributed_wh - self.fed_wh
        if pending > 0 and self._feed_t >= 0 and t > self._feed_t:
            if self._cph < 0:  # the Ledger's limit in Wh per hour (computed once: a big int)
                self._cph = (int(ledger.counter_max_power_w) * ledger.counter_per_kwh + 999) // 1000
            cap = 1 + self._cph * (t - self._feed_t) // 3600
            if pending > cap:
                pending = cap
        elif pending < 0 or (self._feed_t >= 0 and t <= self._feed_t):
            pending = 0
        self.fed_wh += pending
        self._feed_t = t
        self._feed_wall = wall if wall >= 0 else t
        v = self.fed_wh
        if v >= ledger.counter_span:
            v %= ledger.counter_span
        ledger.add_counter(t, v, wall)

    # --- persistence ---

    def record_size(self):
        return HEADER_SIZE + RECORD_SIZE * self.n

    def pack_into(self, buf, off=0):
        """Write the record (record_size() bytes) into buf at off; returns its length."""
        struct.pack_into(
            "<BBBII",
            buf,
            off,
            _VERSION,
            self.n,
            0,
            (self.total_wh - self.unattributed_wh) & 0xFFFFFFFF,  # what the counter is fed
            self.fed_wh & 0xFFFFFFFF,
        )
        p = off + HEADER_SIZE
        for i in range(self.n):
            for k in range(6):
                buf[p + k] = self.addr[6 * i + k]
            last = self.last[i]
            w = self.wall[i]
            struct.pack_into(
                "<II", buf, p + 6, last if last >= 0 else _NONE, w if w >= 0 else _NONE
            )
            p += RECORD_SIZE
        return p - off

    def restore(self, data, ledger_anchor=-1, span=1 << 30):
        """Take the anchors of the meters this profile still lists (by address) from a record;
        a meter new to the profile starts from its first reading. ledger_anchor: the community
        Ledger's restored counter (its counter_anchor); what it booked beyond the record's
        fed_wh is credited. Returns the number of meters restored; ValueError for a record that
        is not one."""
        if len(data) < HEADER_SIZE or data[0] != _VERSION:
            raise ValueError("community record: not version %d" % _VERSION)
        m = data[1]
        total, fed = struct.unpack_from("<II", data, 3)
        if len(data) != HEADER_SIZE + RECORD_SIZE * m:
            raise ValueError("community record: %d bytes for %d meters" % (len(data), m))
        found = 0
        for j in range(m):
            p = HEADER_SIZE + RECORD_SIZE * j
            i = self._index(data, p)
            if i < 0:
                continue  # a meter the profile no longer lists
            last, w = struct.unpack_from("<II", data, p + 6)
            self.last[i] = -1 if last == _NONE else last
            self.wall[i] = -1 if w == _NONE else w
            found += 1
        self.resume()
        self.total_wh = total
        self.unattributed_wh = self._late_fed = 0
        self.fed_wh = fed
        if ledger_anchor >= 0:
            ahead = (ledger_anchor - self.fed_wh) % span
            if ahead < span // 2:
                self.fed_wh += ahead  # booked by a journal entry newer than the anchors
        return found

    def _index(self, data, p):
        for i in range(self.n):
            k = 0
            while k < 6 and self.addr[6 * i + k] == data[p + k]:
                k += 1
            if k == 6:
                return i
        return -1
