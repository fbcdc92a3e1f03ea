# A simulated week of the sign's screen decisions through RefreshPlan, checked as it runs.
# Shared by test_refresh_plan.py (both interpreters) and tests/bench/bench_refresh.py.
#
# The world: firmware time t in seconds, ticks every 10 s (the app's sample period), and a
# value on the screen that changes once a minute while the schedule says so. Every tick the
# app asks decide(now, wall, changed) with `changed` as an edge (true only on the tick a value
# changed), records the refresh with done() and saves pack() at once (its own small record).
# Optional: reboots at random ticks (a random outage, a new plan from the saved bytes, a new
# monotonic base, sometimes a panel the app cannot redraw), and wall clock jumps.
#
# Every rule is checked online (a week of events would not fit a 110 KB heap as a list).
from sunprint.ui.refresh import (
    BOOT,
    CHANGE,
    COUNT,
    NIGHTLY,
    NONE,
    OVERDUE,
    PARTIAL,
    RefreshPlan,
)

DAY = 86400
MIDNIGHT = 9053 * 86400 - 28800  # 2024-10-14 00:00 local (UTC+8), firmware seconds
QUIET_START = 3600  # the plan's defaults: 01:00-05:00 local
QUIET_END = 5 * 3600
MIN_INTERVAL = 180
PARTIALS = 30
OVERDUE_AGE = 86400 + 21600  # full_every_s + full_wait_s


class Lcg:
    def __init__(self, seed):
        self.x = seed & 0x7FFFFFFF

    def below(self, n):
        self.x = (self.x * 1103515245 + 12345) & 0x7FFFFFFF
        return (self.x >> 8) % n


def changes_at(day, sec):
    """Does a value change at local second `sec` (a whole minute) of simulated day `day`?"""
    if day == 0 or day == 6:
        return True  # the worst case: a change every minute, day and night
    if sec == 0:
        return True  # midnight: "energy today" goes back to zero
    if day == 5:
        return False  # a static day (a dead sensor): nothing but midnight
    if day == 3 and 12 * 3600 <= sec < 17 * 3600:
        return False  # an afternoon with nothing new
    return 6 * 3600 <= sec < 19 * 3600  # daylight: power changes; night: nothing


class Week:
    """Run with .run(); read fulls[d], refreshes[d], min_gap, max_run, reasons afterwards."""

    def __init__(self, days=7, tick_s=10, reboot_odds=0, jumps=False, seed=1):
        self.days = days
        self.tick_s = tick_s
        self.reboot_odds = reboot_odds  # a reboot after a tick with odds 1 in reboot_odds
        self.jumps = jumps
        self.rng = Lcg(seed)
        self.fulls = [0] * days  # per local day of real time
        self.refreshes = [0] * days
        self.window_full = [False] * days  # a full inside that day's quiet window
        self.window_ok = [True] * days  # the unit was up with a right clock all window
        # Does that night need its full: a partial since the last full, or tomorrow night
        # would come too late for the deadline (full_every_s + full_wait_s)?
        self.window_need = [False] * days
        self._window_seen = [False] * days
        self.reasons = [0] * 7  # decisions by reason, refreshes only
        self.min_gap = 1 << 29
        self.max_run = 0
        self.reboots = 0
        self.deferred = 0  # refreshes for a change that came inside the interval

    def wall_offset(self, t):
        """Wall clock minus real time: the jumps of the jumps=True week."""
        if not self.jumps:
            return 0
        s = t - MIDNIGHT
        if DAY + 10 * 3600 <= s < DAY + 14 * 3600:
            return -3600  # an NTP correction back by an hour, undone 4 h later
        if 2 * DAY + 30 * 60 <= s < 2 * DAY + 6 * 3600:
            return -DAY  # a day back, across the quiet window
        if 4 * DAY + 8 * 3600 <= s < 4 * DAY + 20 * 3600:
            return (
                9 * DAY - MIDNIGHT - 4 * DAY - 8 * 3600
            )  # an RTC reset to 2000-01-10: not trusted
        return 0

    def run(self):
        tick = self.tick_s
        rng = self.rng
        plan = RefreshPlan()
        saved = None
        t = MIDNIGHT
        end = MIDNIGHT + self.days * DAY
        boot_t = t
        base = 1000  # monotonic seconds at boot
        last_ref = -(1 << 29)  # real time of the last refresh
        last_full = -(1 << 29)
        run = 0  # partials since the last full, as the world counts them
        pending = False  # a change the panel does not show yet
        pending_since = 0
        boot_change = True  # the app's first frame after a boot is always "changed"
        sure = True  # the plan's clocks agree with real time (no jump, no bad wall)
        while t < end:
            s = t - MIDNIGHT
            day = s // DAY
            sec = s % DAY
            off = self.wall_offset(t)
            if off:
                sure = False
                self._spoil_window(t)
            wall = t + off
            if QUIET_START <= sec < QUIET_END and not self._window_seen[day]:
                self._window_seen[day] = True
                self.window_need[day] = run > 0 or t - last_full + DAY > OVERDUE_AGE
            changed = boot_change or (sec % 60 == 0 and changes_at(day, sec))
            boot_change = False
            if changed and not pending:
                pending = True
                pending_since = t
            now = t - boot_t + base
            kind = plan.decide(now, wall, changed)
            if kind == NONE:
                # Deferred, never lost: once the interval has passed, a change is shown.
                assert not (sure and pending and t - last_ref >= MIN_INTERVAL), (t, plan.reason)
            else:
                reason = plan.reason
                gap = t - last_ref
                assert gap >= MIN_INTERVAL, (t, gap)
                if gap < self.min_gap:
                    self.min_gap = gap
                assert plan.partials == run, (t, plan.partials, run)  # survived the reboots
                if kind == PARTIAL:
                    assert reason == CHANGE and pending, (t, reason)
                    run += 1
                    assert run <= PARTIALS, t
                    if run > self.max_run:
                        self.max_run = run
                else:
                    assert reason in (BOOT, COUNT, NIGHTLY, OVERDUE), (t, reason)
                    if not pending:
                        # No refresh for nothing, but for the periodic full.
                        assert reason == NIGHTLY or reason == OVERDUE, (t, reason)
                    if reason == COUNT:
                        assert run == PARTIALS, (t, run)
                    if reason == NIGHTLY:
                        local = (wall + 28800) % DAY
                        assert QUIET_START <= local < QUIET_END, (t, local)
                    if reason == OVERDUE and sure:
                        assert t - last_full >= OVERDUE_AGE, (t, t - last_full)
                    run = 0
                    last_full = t
                    self.fulls[day] += 1
                    if QUIET_START <= sec < QUIET_END:
                        self.window_full[day] = True
                if pending and pending_since - last_ref < MIN_INTERVAL:
                    self.deferred += 1  # came too early, shown as soon as allowed
                self.reasons[reason] += 1
                self.refreshes[day] += 1
                last_ref = t
                pending = False
                plan.done(kind, now, wall)
                saved = plan.pack()
            if sure:
                # The deadline of a full: full_every_s + full_wait_s, or at once after a boot
                # that found it passed; give or take one interval and one tick.
                late = t - last_full - max(OVERDUE_AGE, boot_t - last_full)
                assert late <= MIN_INTERVAL + tick, (t, late)
            if self.reboot_odds and rng.below(self.reboot_odds) == 0:
                # A crash or a power cut: an outage of 10 s to 2 h, then a new plan.
                outage = tick * (1 + rng.below(720))
                for k in range(0, outage, 600):
                    self._spoil_window(t + k)
                t += outage
                plan = RefreshPlan()
                if saved is not None:
                    plan.unpack(saved)
                if rng.below(4) == 0:
                    plan.forget()  # the app cannot redraw what the panel shows
                boot_t = t
                base = rng.below(100000)
                boot_change = True
                self.reboots += 1
            t += tick
        return self

    def _spoil_window(self, t):
        s = t - MIDNIGHT
        day = s // DAY
        if 0 <= day < self.days and QUIET_START - 600 <= s % DAY < QUIET_END:
            self.window_ok[day] = False

    def check_days(self):
        """At most 24 fulls a day; every night that needs a full and whose quiet window the
        unit saw whole with a right clock gets it inside the window."""
        for d in range(self.days):
            assert self.fulls[d] <= 24, (d, self.fulls[d])
            if self.window_ok[d] and self.window_need[d]:
                assert self.window_full[d], d
        return self
