"""When the e-paper panel refreshes, and how: pure logic on integers, allocates nothing.

    plan = RefreshPlan()
    kind = plan.decide(now, wall, changed)   # NONE, PARTIAL or FULL
    if kind != NONE and panel refresh started:
        plan.done(kind, now, wall)           # then persist plan.pack() (see below)

`now` is a monotonic second (it alone measures intervals within a boot), `wall` the wall
clock in firmware seconds (since 2000-01-01 UTC; local time = wall + tz_offset_s), used for
the quiet hours and to carry the state over a reboot. `changed`: the new frame differs from
the panel's. It may be level (differs now) or edge (changed since the last call): a change
stays pending until a refresh is recorded.

The rules, in the order decide() applies them:
1. Never two refreshes closer than min_interval_s (each one wears the panel). A change that
   comes too early is deferred, not lost: the first decide() after the interval returns it.
   A clock that goes back restarts the interval from that moment, it never shortens it.
2. While the panel's picture is unknown, a pending change is a FULL: the first refresh after
   boot (unless the persisted state says the panel holds a known picture: the app calls
   forget() when it, or the driver, cannot use it as the base of a partial) and after forget().
3. Nightly full: in the quiet hours (local [quiet_start_h, quiet_end_h), nobody reading the
   sign), one FULL per quiet window (a full in the 15 min before it counts), even when nothing
   changed: it clears the ghosting of the day's partials, so the morning starts with a fresh
   count, and redraws a static picture once a day. Skipped only when the panel is clean (no
   partial since the last full) and the next night still comes within full_every_s +
   full_wait_s of the last full (so no second full just after an overdue one).
4. Overdue full: when no full has run for full_every_s + full_wait_s (the quiet hours were
   missed: the unit was off at night, or the wall clock is not set), a FULL runs now, even when
   nothing changed. So a full due by time waits up to full_wait_s for the quiet hours.
5. Otherwise nothing unless a change is pending: no refresh for nothing.
6. A pending change is a FULL after partials_before_full partials in a row (the hard cap: it
   does not wait for the night), else a PARTIAL.
Wall clocks before 2024 are not trusted: no quiet hours, and elapsed times across a reboot
are unknown (the interval then counts from boot; a full is taken as due, so it waits for the
night or full_wait_s).

State that must survive a reboot or deep sleep (ESPHome loses it, esphome discussion #3535):
partials since the last full, wall time of the last full and of the last refresh, whether the
panel holds a known picture, and the app's id of that picture (a CRC of the frame, say, to
check at boot that the app can redraw it). pack() gives 16 bytes (versioned), unpack() takes
them. Save them when a refresh is recorded (a small record of its own, or RTC memory across
deep sleep): with the ledger record alone (every 10 min) a power cut forgets up to 10 min of
partials (3 or 4), and the count may overrun partials_before_full by as many.

Ages stay below 2**30 (small ints on the ESP32): a never-seen full counts as 2**29 s old.
"""

import struct

from sunprint.compat import const

NONE = const(0)
PARTIAL = const(1)
FULL = const(2)

# Why decide() answered what it did (plan.reason), for logs and tests.
IDLE = const(0)  # nothing pending
WAIT = const(1)  # a change is pending, the interval has not passed
CHANGE = const(2)  # PARTIAL for a change
BOOT = const(3)  # FULL: the panel's picture is unknown
COUNT = const(4)  # FULL: partials_before_full partials in a row
NIGHTLY = const(5)  # FULL: the quiet hours' full
OVERDUE = const(6)  # FULL: no full for full_every_s + full_wait_s

_VERSION = const(1)
_FORMAT = "<BBHiiI"  # version, flags, partials, last wall, last full wall, picture id
_SIZE = const(16)
_KNOWN = const(1)  # flags: the panel shows the picture of the last refresh
_DAY = const(86400)
_MIN_VALID_WALL = const(757382400)  # 2024-01-01 00:00 UTC: earlier wall clocks are not set
_NEVER_AGE = const(1 << 29)
_NIGHT_SLACK_S = const(900)  # a full this shortly before the quiet window counts as the night's


class RefreshPlan:
    def __init__(
        self,
        partials_before_full=30,
        min_interval_s=180,
        full_every_s=86400,
        quiet_start_h=1,
        quiet_end_h=5,
        tz_offset_s=28800,
        full_wait_s=21600,
    ):
        self.partials_before_full = partials_before_full
        self.min_interval_s = min_interval_s
        self.full_every_s = full_every_s
        self.full_wait_s = full_wait_s
        self.tz_offset_s = tz_offset_s
        self._quiet_start = (quiet_start_h % 24) * 3600
        self._quiet_len = ((quiet_end_h - quiet_start_h) % 24) * 3600  # 0: no quiet hours
        # Persisted (pack/unpack).
        self.partials = 0  # partial refreshes since the last full
        self.known = False  # the panel shows the picture of the last recorded refresh
        self.last_wall = -1  # wall time of the last refresh, -1: none
        self.last_full_wall = -1  # wall time of the last full refresh, -1: none
        self.picture = 0  # the caller's id of that picture (a CRC of the frame, say)
        # This boot only.
        self.pending = False
        self.reason = IDLE
        self.fulls = 0  # refreshes recorded since boot, by kind
        self.partial_refreshes = 0
        self._anchored = False  # the persisted wall times are turned into monotonic ones
        self._have_last = False
        self._last_now = 0
        self._have_full = False
        self._full_now = 0

    def decide(self, now, wall, changed):
        """NONE, PARTIAL or FULL at monotonic `now`, wall clock `wall`; sets self.reason."""
        if changed:
            self.pending = True
        if not self._anchored:
            self._anchor(now, wall)
        if self._have_last:
            if now < self._last_now:
                self._last_now = now  # monotonic time went back: wait a whole interval
            if now - self._last_now < self.min_interval_s:
                self.reason = WAIT if self.pending else IDLE
                return NONE
        if self.pending and not self.known:
            self.reason = BOOT
            return FULL
        age = _NEVER_AGE
        if self._have_full:
            if now < self._full_now:
                self._full_now = now
            age = now - self._full_now
        into = self._into_quiet(wall)
        # No full yet in this quiet window (nor just before it: the slack keeps a wall clock
        # stepped back a little by NTP from asking twice); needed unless the panel is clean
        # and the next night still comes in time. A panel in an unknown state is not clean.
        if (
            into >= 0
            and age > into + _NIGHT_SLACK_S
            and (
                self.partials > 0
                or not self.known
                or age + _DAY - into > self.full_every_s + self.full_wait_s
            )
        ):
            self.reason = NIGHTLY
            return FULL
        if age >= self.full_every_s + self.full_wait_s:
            self.reason = OVERDUE
            return FULL
        if not self.pending:
            self.reason = IDLE
            return NONE
        if self.partials >= self.partials_before_full:
            self.reason = COUNT
            return FULL
        self.reason = CHANGE
        return PARTIAL

    def done(self, kind, now, wall, picture=0):
        """Record a refresh of `kind` started at (now, wall), showing `picture` (an id)."""
        if kind == NONE:
            return
        if not self._anchored:
            self._anchor(now, wall)
        self._have_last = True
        self._last_now = now
        self.last_wall = wall
        if kind == FULL:
            self.partials = 0
            self._have_full = True
            self._full_now = now
            self.last_full_wall = wall
            self.fulls += 1
        else:
            if self.partials < 0xFFFF:
                self.partials += 1
            self.partial_refreshes += 1
        self.pending = False
        self.known = True
        self.picture = picture

    def forget(self):
        """The panel's picture is unknown (the app cannot redraw it): the next refresh is FULL."""
        self.known = False

    def ready_at(self):
        """Monotonic time from which a refresh may run (-1: any time); valid after decide()."""
        if not (self._anchored and self._have_last):
            return -1
        return self._last_now + self.min_interval_s

    def pack(self):
        return struct.pack(
            _FORMAT,
            _VERSION,
            _KNOWN if self.known else 0,
            self.partials,
            self.last_wall,
            self.last_full_wall,
            self.picture & 0xFFFFFFFF,
        )

    def unpack(self, data):
        """Restore pack()'s bytes (at boot, before the first decide()); ValueError if bad."""
        if len(data) != _SIZE or data[0] != _VERSION:
            raise ValueError("not a refresh plan record")
        _, flags, partials, last_wall, last_full_wall, picture = struct.unpack(_FORMAT, data)
        self.known = bool(flags & _KNOWN)
        self.partials = partials
        self.last_wall = last_wall
        self.last_full_wall = last_full_wall
        self.picture = picture
        self.pending = False
        self._anchored = False

    def _anchor(self, now, wall):
        # Turn the persisted wall times into monotonic ones, once per boot. Where the wall
        # clock cannot say how long ago (not set, or behind the record), be conservative:
        # the interval counts from now, and a full is taken as due (it waits for night).
        self._anchored = True
        valid = wall >= _MIN_VALID_WALL
        last = self.last_wall
        self._have_last = last >= 0
        if self._have_last:
            if valid and last >= _MIN_VALID_WALL and wall >= last:
                self._last_now = now - (wall - last)
            else:
                self._last_now = now
        last = self.last_full_wall
        self._have_full = last >= 0
        if self._have_full:
            if valid and last >= _MIN_VALID_WALL and wall >= last:
                self._full_now = now - min(wall - last, _NEVER_AGE)
            else:
                self._full_now = now - self.full_every_s

    def _into_quiet(self, wall):
        # Seconds since this quiet window began, or -1 outside quiet hours (or no clock).
        if self._quiet_len == 0 or wall < _MIN_VALID_WALL:
            return -1
        into = (wall + self.tz_offset_s - self._quiet_start) % _DAY
        return into if into < self._quiet_len else -1


def always_full(tz_offset_s=0):
    """The plan of a panel with no ghosting and no wear (an LED panel, a panel that shows
    nothing): every change shown at once, in full; no quiet hours. The one definition
    board.build's LED units and the hosts' and tests' apps use."""
    return RefreshPlan(
        partials_before_full=0,
        min_interval_s=0,
        quiet_start_h=0,
        quiet_end_h=0,
        tz_offset_s=tz_offset_s,
    )


class PanelSession:
    """One panel refresh at a time, from begin() to its end in poll(): the panel (begin_show,
    busy, finish; begin_show_window and abort when it has them), the refresh plan (always one:
    always_full() for a panel without wear) and the timeout, measured on the `now` the
    app is ticked with (a panel that never finishes is aborted timeout_s after it began, in
    the clock the unit runs on: replay's log time as well as the device's seconds).

    Here beside RefreshPlan: a module of its own would cost every unit its heap."""

    def __init__(self, panel, plan, timeout_s, fault):
        self.panel = panel
        self.plan = plan
        self.timeout_s = timeout_s
        self.fault = fault  # the app's fault(what, err): a bound method made once
        self.refreshing = False
        self.started = 0

    def begin(self, buf, full, box, now):
        """Start showing buf: in full, or only box's window when the panel can. False (and a
        fault) when the panel refused."""
        panel = self.panel
        try:
            if full or box is None or not hasattr(panel, "begin_show_window"):
                panel.begin_show(buf, full)
            else:
                panel.begin_show_window(buf, box[0], box[1], box[2], box[3])
        except OSError as e:
            self.fault("panel", e)
            return False
        self.refreshing = True
        self.started = now
        return True

    def poll(self, now):
        """While refreshing: True while the panel is still busy; else the refresh is over (the
        panel finished, or was aborted after timeout_s) and False."""
        panel = self.panel
        try:
            busy = panel.busy()
        except OSError as e:
            self.fault("panel", e)
            busy = False
        if busy and now - self.started < self.timeout_s:
            return True
        try:
            if busy:
                # A panel that never finishes: reset it and put it to sleep, best effort.
                self.fault("panel", "busy timeout")
                abort = getattr(panel, "abort", None)
                if abort is not None:
                    abort()
                self.plan.forget()  # what the glass shows is unknown now
            else:
                panel.finish()  # drive power off (deep sleep after a full refresh)
        except OSError as e:
            self.fault("panel", e)
        self.refreshing = False
        return False
