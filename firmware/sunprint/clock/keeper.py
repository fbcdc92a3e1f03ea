"""ClockKeeper: the ESP32's own RTC, set from time sources in a priority order.

    keeper = ClockKeeper(SystemRtc(machine.RTC()), (("ds3231", ds), ("pcf8563", pcf)))
    wall = keeper.tick(now)   # each app tick: the RTC's wall time, after any correction

The RTC keeps the time between readings. A sync is due at boot, then every sync_s after one
that succeeded and retry_s after a round where no source had the time. In a sync the sources
are asked in priority order and the first reading is taken; it moves the RTC by delta seconds
(the reading minus the RTC). A delta within the reading's own uncertainty (quality_ms, at least
1 s: the RTC is read in whole seconds) is noise: the RTC is left alone. A first reading on an
RTC that was never set (before clock.VALID_FROM) is a "set"; a larger |delta| than jump_s a
"jump"; anything else is "drift", summed (signed) in drift_s. Every count is kept for the status
screen and the status JSON (status(), summary()), in total and per source (per_source: which
source moved the RTC how far). A source earlier in the order that had no
time in that sync and has set(wall) (an RTC module that lost its time) is set from the reading.

A source that asks over the network (clock.ntp.Ntp) returns None with `pending` set while its
answer is on its way: the round then stays open at that source and goes on at the next tick
(`pending` here: the app wakes a second later), so a later source is asked only once the
earlier one has answered or given up. A source with `link` (NTP on the unit's Wi-Fi) also
opens a round at once when its link comes up and it ranks before the source of the RTC's time
(or none has given it yet): the unit takes NTP's time as soon as Wi-Fi is up, not an hour
later. A source named in the order but not there yet (None: NTP before the network is built)
is skipped until plug() puts it in.

tick() allocates nothing when no sync is due, nor in a sync whose reading is within noise
(sources return their own preallocated list); setting the RTC builds one datetime tuple.
"""

import time

from sunprint.clock import VALID_FROM
from sunprint.compat import EPOCH_2000_UNIX, const

_WALL_OFFSET = EPOCH_2000_UNIX if time.gmtime(0)[0] == 1970 else 0  # unix: 1970; ESP32: 2000
_NEVER = const(-1)


class SystemRtc:
    """The unit's own clock: time.time() read, machine.RTC().datetime() set."""

    def __init__(self, rtc):
        self._rtc = rtc  # machine.RTC()

    def wall(self):
        return int(time.time()) - _WALL_OFFSET

    def set(self, wall):
        t = time.gmtime(wall + _WALL_OFFSET)
        # RTC.datetime: (year, month, day, weekday Monday=0, hour, minute, second, subsecond)
        self._rtc.datetime((t[0], t[1], t[2], t[6], t[3], t[4], t[5], 0))


class ClockKeeper:
    def __init__(self, rtc, sources, *, sync_s=3600, retry_s=60, jump_s=60):
        self.rtc = rtc  # wall() -> int, set(wall)
        self.names = tuple(s[0] for s in sources)  # priority order
        self._sources = [s[1] for s in sources]  # None: named, not plugged in yet
        self.sync_s = sync_s
        self.retry_s = retry_s
        self.jump_s = jump_s
        n = len(self._sources)
        self.fails = [0] * n  # sync rounds where a source had no time
        # per source i, at 4 * i: readings taken, jumps, drift corrections, their signed sum (s)
        # (one list: every object more is heap on a unit without PSRAM)
        self.moves = [0] * (4 * n)
        self.syncs = 0  # readings taken
        self.sets = 0  # the RTC was set from "never set"
        self.jumps = 0
        self.corrections = 0  # drift corrections
        self.drift_s = 0  # their signed sum
        self.restored = 0  # sources set from another one's reading (an RTC module's lost time)
        self.last_delta_s = 0  # of the last reading taken (noise included)
        self.source = -1  # the index of the source of the last reading, -1: none yet
        self.quality_ms = 0
        self.synced_at = _NEVER  # monotonic second of the last reading taken
        self.first_sync = _NEVER  # and of the first (drift per time since)
        self._due = 0
        self._was_set = False  # the last reading set a never-set RTC
        self._at = 0  # the source a round goes on at (after one that is pending)
        self.pending = False  # a round waits for a source's answer: tick again soon
        self._links = None  # [[index, link, ups seen]] of the sources on a network link

    def plug(self, name, source):
        """Put `source` in the slot of `name` in the order (NTP, once the network exists);
        False when the order has no such name."""
        for i in range(len(self.names)):
            if self.names[i] == name:
                self._sources[i] = source
                link = getattr(source, "link", None)
                if link is not None:
                    if self._links is None:
                        self._links = []
                    self._links.append([i, link, getattr(link, "ups", 0)])
                return True
        return False

    def trusted(self):
        """Whether the RTC holds a time a source gave in this boot."""
        return self.source >= 0

    def tick(self, now):
        """The RTC's wall time, after a sync if one is due at monotonic second `now`."""
        if now >= self._due or self.pending or (self._links is not None and self._link_up()):
            self._sync(now)
        return self.rtc.wall()

    def _link_up(self):
        # a network source whose link came up since last seen, ranked before the RTC's source
        links = self._links
        if links is None:
            return False
        for entry in links:
            ups = entry[1].ups
            if ups != entry[2]:
                entry[2] = ups
                if self.source < 0 or entry[0] < self.source:
                    self._at = 0
                    return True
        return False

    def _sync(self, now):
        sources = self._sources
        self.pending = False
        for i in range(self._at, len(sources)):
            src = sources[i]
            try:
                got = src.read() if src is not None else None
            except Exception:  # noqa: BLE001 - a source bug must not stop the sign
                got = None
            if got is None:
                if src is not None and getattr(src, "pending", False):
                    self._at = i  # its answer is on its way: go on here at the next tick
                    self.pending = True
                    return
                self.fails[i] += 1
                continue
            self._at = 0
            self._take(now, i, got[0], got[1])
            if i:
                self._restore(i, got[0])
            self._due = now + self.sync_s
            return
        self._at = 0
        self._due = now + self.retry_s

    def _restore(self, i, wall):
        # The sources before i had no time in this round: one that can be set (an RTC module
        # whose oscillator stopped) gets this reading, so it has the time at the next power cut.
        sources = self._sources
        for j in range(i):
            put = getattr(sources[j], "set", None) if sources[j] is not None else None
            if put is not None:
                try:
                    put(wall)
                    self.restored += 1
                except OSError:
                    pass

    def _take(self, now, i, wall, quality_ms):
        rtc = self.rtc
        delta = wall - rtc.wall()
        self.syncs += 1
        self.moves[4 * i] += 1
        self.source = i
        self.quality_ms = quality_ms
        self.last_delta_s = delta
        self.synced_at = now
        if self.first_sync == _NEVER:
            self.first_sync = now
        self._was_set = False
        noise = (quality_ms + 999) // 1000
        if noise < 1:
            noise = 1
        if -noise <= delta <= noise:
            return
        if wall - delta < VALID_FROM:
            self.sets += 1
            self._was_set = True
        elif delta > self.jump_s or delta < -self.jump_s:
            self.jumps += 1
            self.moves[4 * i + 1] += 1
        else:
            self.corrections += 1
            self.drift_s += delta
            self.moves[4 * i + 2] += 1
            self.moves[4 * i + 3] += delta
        rtc.set(wall)

    def status(self, now):
        """{name: value}, JSON-ready: the status JSON's "clock"."""
        i = self.source
        age = now - self.synced_at if self.synced_at != _NEVER else None
        span = self.synced_at - self.first_sync
        fails = {}
        detail = {}
        per = {}
        for k in range(len(self.names)):
            fails[self.names[k]] = self.fails[k]
            m = self.moves
            per[self.names[k]] = {
                "readings": m[4 * k],
                "jumps": m[4 * k + 1],
                "corrections": m[4 * k + 2],
                "drift_s": m[4 * k + 3],
                "no_time": self.fails[k],
            }
            src = self._sources[k]
            more = getattr(src, "status", None) if src is not None else None
            if more is not None:
                detail[self.names[k]] = more()  # NTP: requests, timeouts, kiss-o'-death...
        return {
            "wall": self.rtc.wall(),
            "trusted": i >= 0,
            "source": self.names[i] if i >= 0 else None,
            "sources": list(self.names),
            "quality_ms": self.quality_ms if i >= 0 else None,
            "sync_age_s": age,
            "syncs": self.syncs,
            "sets": self.sets,
            "jumps": self.jumps,
            "corrections": self.corrections,
            "drift_s": self.drift_s,
            # drift per second since the first reading, in parts per million
            "drift_ppm": self.drift_s * 1000000 // span if span > 0 else None,
            "last_delta_s": self.last_delta_s if i >= 0 else None,
            "restored": self.restored,
            "no_time": fails,
            "per_source": per,  # how far each source's readings moved the RTC
            "detail": detail,
        }

    def summary(self):
        """The status screen's short text: "<source> <last delta>s" ("ds3231 +2s"), "<source>
        set" when it set a never-set RTC, a delta of a day or more in days ("meter -3d"), or
        "clock ?" before any source had the time. At most 15 characters."""
        i = self.source
        if i < 0:
            return "clock ?"
        if self._was_set:
            return self.names[i] + " set"
        d = self.last_delta_s
        sign = "+" if d >= 0 else "-"
        if d < 0:
            d = -d
        if d >= 86400:
            return "%s %s%dd" % (self.names[i], sign, min(d // 86400, 9999))
        return "%s %s%ds" % (self.names[i], sign, d)
