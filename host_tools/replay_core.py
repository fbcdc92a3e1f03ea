# The replay loop that must be the same in both interpreters: CPython runs it in-process
# (host_tools/replay.py), MicroPython runs it in a subprocess from .mpy (run_job below).
#
# Portable Python (no typing, no dataclasses, no f-strings, no PIL). The unit is built by the
# firmware's own board.build from the board profile, on the fake machine with the rig's chip and
# panel models (host_tools/sim/rig.py): the display drivers and the panel models are real; the
# unit's own power source (sources.*Source, with the profile's health) reads a LogDriver fed
# from the log instead of its sensor's driver, so a row is flagged as the unit would flag it. The
# store sits on an in-memory flash that can lose power (sim/platform/faultfs.py), so a power cut rebuilds the
# unit from what the flash kept, as a reboot does.
#
#     core = Replay(profile, fonts_dir, events=[...], sink=callable or None)
#     for t_unix, power_w, raw, flag in read_rows(...): core.feed(t_unix, power_w, flag)
#     numbers = core.finish()      # plain ints, strings, lists and dicts: summary.json's numbers
#
# sink(core, frame) is called at each frame the display shows (frame: a dict with n, t, kind,
# screen, lang, bytes_sent); it reads the picture from core.rig. e-paper: every refresh. LED:
# when the picture changed and at least led_frame_every_s after the last frame written.
#
# Faults (events, each a dict: kind, t (unix s), and until / rate / seconds as the kind needs):
#   power_cut   at t the power goes: the flash keeps only what was durable, the unit is rebuilt
#               from the store and goes on (with "until": the unit stays off until then)
#   dropout     from t to until the sensor does not answer (readings flagged "no answer")
#   bus_errors  from t to until each reading fails with probability rate (seeded, reproducible)
#   clock_jump  at t the wall clock jumps by seconds (the monotonic clock does not)
#   meter_swap  at t the energy meter is replaced: its counter starts again from 0 (boards whose
#               sensor has an energy counter; a power sensor has none: recorded as not applicable)
#   rtc_lost    a power_cut that also loses the time: the unit's RTC restarts at 2000-01-01 at the
#               power-on; the time comes back at the boot from the board's first clock source (an
#               RTC module, the meter's clock: the profile's "clock" sources), or never
#   ntp_late    a power_cut that loses the time; NTP gives it `seconds` after the power is back
#   meter_clock a power_cut that loses the time; the DL/T 645 meter's clock gives it back at the
#               boot, read by the unit's own MeterClock from the meter model (another sensor:
#               recorded as not applicable, and the unit has no source)
#   rtc_drift   from t to until (or the end) the unit's clock runs `ppm` fast (default 20); at
#               until a sync puts it right
# The replay models the unit's RTC and when its source gives the time (the ClockKeeper and the
# RTC drivers are the unit's own in tests/firmware); finish() reports per local day the energy
# the ledger booked to it against the log's own (days), and wrong_day_wh: energy booked to a
# day it was not produced on (energy held while the date was unknown and then attributed
# counts by the days it was really produced on; energy never attributed is no day's: clock).
# finish() reports each in faults_injected: what it cost against the log's own integral, the
# bound the firmware promises, whether it held, and frames shown after it.

from host_tools.replay_faults import FaultJudge, FaultPlan
from host_tools.replay_log import LogDriver
from sunprint.compat import EPOCH_2000_UNIX
from sunprint.core.ledger import HELD as _HELD  # (+ ENERGY: the held energy's index)
from sunprint.core.ledger import UNATTRIBUTED as _UNATTRIBUTED
from sunprint.samplelog import LOG_MAX_MW

# The most the unit's log writer writes (W). The reader takes any finite power on a flagged row
# (1.7e308 would overflow int(round(...))): such a row books nothing, so it is clamped here as
# the unit's writer clamps it.
_LOG_MAX_W = LOG_MAX_MW / 1000

_HALF_MJ_PER_MWH = 7200
_NO_ANSWER = 1  # sunprint.quality: the sensor did not answer
_SETTLE_SAMPLES = 3  # samples after a fault's end before "values right after" are compared
_CLOCK_KINDS = ("rtc_lost", "ntp_late", "rtc_drift", "meter_clock")  # (scenario.CLOCK_KINDS)
_TODAY = 0  # sunprint.core.ledger's period indexes (ENERGY * 5 + period)
_YESTERDAY = 1
_LIFETIME = 4
_UNIT = 1000000  # a ledger total is hi * _UNIT + lo (Ledger.milli)


def _clamp(power_w):
    # feed()'s bound on a row's power
    return _LOG_MAX_W if power_w > 0 else -_LOG_MAX_W


class _NullPanel:
    # The accounting-only path (Platform.panel): the display driver that never shows anything.
    # The unit's renderer and refresh plan stay (one screen-update path): the first screen is
    # drawn into the frame buffer once per boot and handed here; no screen turns after it.

    def begin_show(self, buf, full=False):
        pass

    def busy(self):
        return False

    def finish(self):
        pass


def _no_wait(ms):
    pass  # replay time is the log's: waiting for the panel model costs nothing


class Replay:
    def __init__(
        self,
        profile,
        fonts_dir,
        *,
        open_file=open,
        config=None,
        events=(),
        sink=None,
        display=True,
        led_frame_every_s=60,
        seed=1,
    ):
        from host_tools.sim.platform.faultfs import FaultFS
        from sunprint.core import config as config_mod

        self.profile = profile
        self.fonts_dir = fonts_dir
        self.open_file = open_file
        self.display = display
        self.sink = sink
        self.led_frame_every_s = led_frame_every_s
        # the unit's settings by the unit's own rule (main.py): config.json, then the profile
        cfg = config_mod.defaults()
        cfg.update(config or {})
        self.settings = s = config_mod.Settings(cfg, profile)
        # the replay models the unit's clock (see the faults above): the unit is built without
        # a keeper of its own, which would read the rig's RTC models (they count the rig's
        # time, not the log's); the config's clock sources are the replay's model's
        s.build["clock_sources"] = ()
        self.tz_offset_s = s.tz_offset_s
        self.persist_interval_s = s.persist_interval_s
        self.persist_wh = s.persist_wh
        self.carbon_row = s.carbon_row
        self.sample_period_s = s.sample_period_s
        self.fs = FaultFS()
        self.rig = None
        self.unit = None
        self.source = None
        self._cut_rec = None
        self._sent = 0
        self.app = None
        self.frames = []
        self.refreshes = 0  # refreshes the panel did (e-paper) or picture changes (LED)
        self.store_writes = 0  # over every boot
        self.store_appends = 0  # journal entries, over every boot
        self.faults = {}  # app faults, over every boot
        self.boots = 0
        self.first_t = -1
        self.last_t = -1
        self.rows = 0
        self.truth_half_mj = 0  # the log's own trapezoid where it has data, negative power as 0
        self.truth_unbridged_s = 0  # gaps and flagged intervals the integral leaves out
        self.truth_max_gap_s = 300  # the unit's ledger's max_gap_s (set at each build)
        self._prev_row = None
        self._wall_offset = 0
        self._off_until = -1  # a power cut with an outage: the unit is off until then
        self._row_mw = 0
        self._last_picture = None
        self._last_frame_t = -(1 << 40)
        self._seen_refreshes = 0
        self.plan = FaultPlan(events, self.sample_period_s, seed)
        self.judge = FaultJudge(self.plan, self.sample_period_s, self.persist_wh, display)
        self.events = self.plan.events
        self._faulty = bool(self.events)  # faults still to start, settle or end
        self._peak = 0
        self._windows = self.plan.windows  # (empty: no fault needs the log's integral)
        self._active = []  # dropout / bus_errors in force: [event, record]
        # the unit's clock (see the faults above)
        self._clock_sources = tuple(s.clock_sources or ())
        self._rtc_base = -1  # the RTC lost: its wall is now - _rtc_base until the time is back
        self._time_back = -1  # log time a source gives the time back (-1: none will)
        self._clock_rec = None  # the clock fault whose time is awaited
        self._clock_pending = None  # (source, delay_s) for the boot after a clock-losing cut
        self._drift = None  # [t0, until or -1, ppm] while the clock runs fast
        self.clock_source_used = None  # the last source that gave the time back
        # per local day (firmware day numbers): mWh booked (the ledger's today at its close),
        # the log's half-mJ; energy booked to another day than produced; held by true day
        self.day_booked = {}
        self.day_truth = {}
        self.wrong_day_mwh = 0
        self._held_true = {}
        self._prev = None  # (lifetime, held, unattributed, ledger day) after the last tick
        self._settling = []  # records waiting for their "settled" snapshot
        self.injected = []  # one record per event, in order
        self._build()

    # --- the unit ---

    def _build(self):
        # The unit as main.py makes it (board.boot, the one composition root), on a platform
        # of the rig's models and the faulting flash, with the log as the sensor's driver and,
        # accounting only, a panel that shows nothing.
        from host_tools.sim import rig as rigmod
        from host_tools.sim.platform import machine as fake
        from sunprint.board import Platform, boot

        if self.unit is not None:
            self._retire()
        profile = self.profile
        if not self.display:
            profile = self._accounting_profile()
        if self.rig is None:
            # the models of the display the unit is built with (accounting only: the stand-in)
            self.rig = rigmod.wire(profile, rigmod.Clock(0), fake)
        rig = self.rig
        platform = Platform(
            fake,
            fs=self.fs,
            open_file=self.open_file,
            fonts_dir=self.fonts_dir,
            neopixel=rig.neopixel,
            esp32=rig.esp32,
            sleep_ms=_no_wait,
            ticks_ms=rig.clock.ticks_ms,  # the bus driver waits on the rig's virtual clock
            bus_sleep_ms=rig.clock.block_ms,
            sensor=self._log_driver,
            panel=None if self.display else _NullPanel(),
        )
        self.unit = unit = boot(self.settings, profile, platform)
        self.app = unit.app
        self.truth_max_gap_s = unit.ledger.max_gap_s
        self._prev = None  # measured again from the restored ledger
        self._trim_held(unit.ledger.held())
        init = getattr(unit.panel, "init", None)
        if self.display and init is not None and self.rig.kind == "epaper":
            init()
        self.boots += 1
        self._sent = getattr(unit.panel, "bytes_sent", 0)
        if self.rig.kind == "led":
            self._seen_refreshes = 0  # the new app counts from 0

    def _log_driver(self, real):
        # Platform.sensor: the log as the driver the unit's own source reads (the same health,
        # flags and ledger calls), counting at the real driver's counts_per_kwh
        counts = getattr(real, "counts_per_kwh", 0)
        log = LogDriver(counts)
        prev = self.source
        if prev is not None and counts:
            # a reboot does not reset the meter: its register goes on where it was
            log._energy = prev._energy
            log.energy_count = prev.energy_count
            log._last = prev._last
        self.source = log
        return log

    def _accounting_profile(self):
        # The same sensor and ledger; the smallest display (a 32x8 LED chain: its first screen is
        # drawn once a boot, then handed to the null panel, which shows nothing).
        p = dict(self.profile)
        p["display"] = {
            "type": "max7219",
            "width": 32,
            "height": 8,
            "spi": {"id": 2, "sck": 18, "mosi": 23, "baudrate": 1000000},
            "pins": {"cs": 26},
            "options": {"modules": 4},
        }
        layout = dict(p.get("layout", {}))
        layout.pop("picture", None)
        layout["language"] = "en"
        layout.pop("screens", None)
        p["layout"] = layout
        return p

    def _retire(self):
        app = self.app
        self.store_writes += app.store.writes if app.store else 0
        self.store_appends += app.store.appends if app.store else 0
        for k in app.faults:
            self.faults[k] = self.faults.get(k, 0) + app.faults[k]
        self.unit.close()

    # --- the log ---

    def feed(self, t_unix, power_w, flag=0):
        """One row of the log: faults due, then the app ticked at the row's time."""
        if not -_LOG_MAX_W <= power_w <= _LOG_MAX_W:
            power_w = _LOG_MAX_W if power_w > 0 else -_LOG_MAX_W
        mw = round(power_w * 1000)  # (an int: round() of a float)
        self._row_mw = mw
        logged = flag  # the log's own flag, before any injected fault
        # a row the log flagged is not a reading: a board's energy counter (LogSource) counts
        # it as 0 W, so a flagged 1e11 mW books nothing there either
        source_mw = 0 if logged else mw
        if self._faulty:
            flag = self._faults_before(t_unix, flag)
        self._log_row(t_unix, mw, logged)
        if self._off_until >= 0:
            if t_unix < self._off_until:
                self.source.feed(t_unix - EPOCH_2000_UNIX, source_mw, flag)  # the meter counts on
                return
            self._off_until = -1
            self._power_back(t_unix)
        now = t_unix - EPOCH_2000_UNIX
        source = self.source
        if source.counts_per_kwh:
            source.feed(now, source_mw, flag)
        else:  # LogDriver.feed without a counter, written out: this runs every row
            source.power_mw = source_mw
            source.flag = flag
        app = self.app
        if self._drift is None and self._rtc_base < 0:
            wall = now + self._wall_offset  # the unit's clock as it usually is (see _wall)
        else:
            wall = self._wall(now, t_unix)
        wake = app.tick(now, wall)
        while wake <= now:  # the panel is refreshing: poll it at the same instant
            wake = app.tick(now, wall)
        self._days(now)
        if self.display:
            self._frames(t_unix)

    def feed_block(self, ts, ps, flags=None):
        """feed() of each row of a piece of the log, as columns: unix seconds, power (W) and
        flags (None: every row's flag is 0). A run of plain rows (flag 0, no fault started,
        active or settling, the unit powered, a sensor without an energy counter, the clock
        as it usually is, no display) goes through _feed_plain, feed()'s steps for such a row
        written out in one loop; any other row through feed()."""
        n = len(ts)
        i = 0
        while i < n:
            if (
                not self._faulty
                and not self.display
                and self._off_until < 0
                and self._drift is None
                and self._rtc_base < 0
                and not self.source.counts_per_kwh
                and (flags is None or not flags[i])
            ):
                i = self._feed_plain(ts, ps, flags, i, n)
            else:
                self.feed(ts[i], ps[i], flags[i] if flags is not None else 0)
                i += 1

    def _feed_plain(self, ts, ps, flags, i, n):
        # feed() of the plain rows from i on (see feed_block): the same numbers, in the same
        # order. (CPython only: feed_block is the host reader's.) The log's own bookkeeping of
        # the run (the integral, the peak) is done on the run's columns at once, then the unit
        # is ticked row by row. _days runs when the tick moved what it reads (the ledger's
        # lifetime, held energy, day or hold): otherwise it would write what it wrote after
        # the last tick.
        from itertools import compress, repeat
        from operator import mul, sub

        j = n
        if flags is not None:
            j = next(compress(range(i, n), flags[i:n]), n)  # the next flagged row
        ts = ts[i:j]
        ps = ps[i:j]
        if max(ps) > _LOG_MAX_W or min(ps) < -_LOG_MAX_W:
            ps = [p if -_LOG_MAX_W <= p <= _LOG_MAX_W else _clamp(p) for p in ps]
        mws = list(map(round, map(mul, ps, repeat(1000))))  # (round(power_w * 1000), as feed)
        self._log_run(ts, mws)
        tick = self.app.tick
        days = self._days
        ledger = self.unit.ledger
        hi, lo = ledger.hi, ledger.lo
        offset = self._wall_offset
        self.source.flag = 0
        source = self.source
        s0 = s1 = s2 = s3 = s4 = None  # what _days read after the last tick it ran
        holding = True  # (then: _days always runs)
        day_booked = self.day_booked
        tz = self.tz_offset_s
        for now, mw in zip(map(sub, ts, repeat(EPOCH_2000_UNIX)), mws, strict=True):
            source.power_mw = mw
            wall = now + offset  # the unit's clock as it usually is (see _wall)
            wake = tick(now, wall)
            while wake <= now:  # the panel is refreshing: poll it at the same instant
                wake = tick(now, wall)
            if holding or ledger.holding or ledger.day != s4 or lo[_HELD] != s2 or hi[_HELD] != s3:
                days(now)
                s0, s1, s2, s3 = lo[_LIFETIME], hi[_LIFETIME], lo[_HELD], hi[_HELD]
                s4 = ledger.day
                holding = ledger.holding
            elif lo[_LIFETIME] != s0 or hi[_LIFETIME] != s1:
                # only the lifetime moved, on the same day, with no hold before or after and
                # the held energy as it was: what _days does then, written out
                s0, s1 = lo[_LIFETIME], hi[_LIFETIME]
                life = s1 * _UNIT + s0
                prev = self._prev
                self._prev = (life, prev[1], prev[2], s4)
                if s4 >= 0:
                    day_booked[s4] = hi[_TODAY] * _UNIT + lo[_TODAY]
                booked = life - prev[0]
                if booked > 0 and s4 != (now - 1 + tz) // 86400:
                    self.wrong_day_mwh += booked
        return j

    def _log_run(self, ts, mws):
        # feed()'s record of the log for a run of rows of flag 0 (the log's integral by the
        # unit's rule, per local day; the peak; the previous row), on the run's columns
        from bisect import bisect_left
        from itertools import repeat
        from operator import add, mul, sub

        prev = self._prev_row
        if prev is None:
            self.first_t = ts[0]
            tt, pp = ts, mws
        elif prev[2] or self._windows:
            # the interval after a flagged row is not the log's; a fault's window adds each
            self._log_rows(ts, mws)
            return
        else:
            tt, pp = [prev[0]] + ts, [prev[1]] + mws
        if len(tt) > 1:
            dts = list(map(sub, tt[1:], tt[:-1]))
            if min(dts) <= 0 or max(dts) > self.truth_max_gap_s:
                self._log_rows(ts, mws)  # a gap (or rows out of order): one at a time
                return
            pos = list(map(max, pp, repeat(0)))  # negative power as 0
            halves = list(map(mul, map(add, pos[:-1], pos[1:]), dts))
            self.truth_half_mj += sum(halves)
            rows = tt[1:]
            tz = self.tz_offset_s
            day_truth = self.day_truth
            a = 0
            while a < len(rows):
                day = (rows[a] - EPOCH_2000_UNIX - 1 + tz) // 86400
                b = bisect_left(rows, (day + 1) * 86400 + EPOCH_2000_UNIX + 1 - tz, a)
                day_truth[day] = day_truth.get(day, 0) + sum(halves[a:b])
                a = b
        self._log_end(ts, mws)

    def _log_row(self, t_unix, mw, logged):
        # feed()'s record of the log for one row: the log's integral counts where the log has
        # data, by the unit's rule (no interval longer than max_gap_s, none beside a flagged
        # row), per local day; the peak; the previous row
        prev = self._prev_row
        if prev is not None and t_unix > prev[0]:
            dt = t_unix - prev[0]
            if dt <= self.truth_max_gap_s and not logged and not prev[2]:
                p0 = prev[1] if prev[1] > 0 else 0
                half_mj = (p0 + (mw if mw > 0 else 0)) * dt
                self.truth_half_mj += half_mj
                day = (t_unix - EPOCH_2000_UNIX - 1 + self.tz_offset_s) // 86400
                self.day_truth[day] = self.day_truth.get(day, 0) + half_mj
                if self._windows:
                    self.plan.add(prev[0], prev[1], t_unix, mw)
            else:
                self.truth_unbridged_s += dt
        elif prev is None:
            self.first_t = t_unix
        if mw > self._peak and not logged:
            self._peak = mw
        self._prev_row = (t_unix, mw, logged)
        self.last_t = t_unix
        self.rows += 1

    def _log_rows(self, ts, mws):
        # _log_run row by row, as feed() does it
        for t_unix, mw in zip(ts, mws, strict=True):
            self._log_row(t_unix, mw, 0)
        self._row_mw = mws[-1]

    def _log_end(self, ts, mws):
        peak = max(mws)
        if peak > self._peak:
            self._peak = peak
        self._prev_row = (ts[-1], mws[-1], 0)
        self._row_mw = mws[-1]
        self.last_t = ts[-1]
        self.rows += len(ts)

    # --- the unit's clock ---

    def _wall(self, now, t_unix):
        wall = now + self._wall_offset
        d = self._drift
        if d is not None:
            if d[1] >= 0 and t_unix >= d[1]:
                self._drift = None  # a sync put it right
            else:
                wall += int((t_unix - d[0]) * d[2] / 1000000)
        if self._rtc_base >= 0:
            if 0 <= self._time_back <= t_unix:
                self._rtc_base = -1  # the source set the RTC
                rec = self._clock_rec
                if rec is not None:
                    rec["time_back_t"] = t_unix
                    self.clock_source_used = rec.get("clock_source")
            else:
                return now - self._rtc_base  # counting from 2000-01-01 since the power-on
        return wall

    def _days(self, now):
        # After a tick: where the energy it booked went, against the day it was produced on.
        # This runs every sample: the ledger's energy totals are read from its (hi, lo) lists
        # as Ledger.milli reads them, not through eight method calls.
        ledger = self.unit.ledger
        hi, lo = ledger.hi, ledger.lo
        life = hi[_LIFETIME] * _UNIT + lo[_LIFETIME]
        held = hi[_HELD] * _UNIT + lo[_HELD]
        unatt = hi[_UNATTRIBUTED] * _UNIT + lo[_UNATTRIBUTED]
        day = ledger.day
        holding = ledger.holding  # (not vouched())
        prev = self._prev
        self._prev = (life, held, unatt, day)
        if day >= 0 and not holding:
            if prev is not None and prev[3] >= 0 and day == prev[3] + 1:
                # closed at midnight
                self.day_booked[prev[3]] = hi[_YESTERDAY] * _UNIT + lo[_YESTERDAY]
            self.day_booked[day] = hi[_TODAY] * _UNIT + lo[_TODAY]
        if prev is None:
            return
        booked = life - prev[0]
        true_day = (now - 1 + self.tz_offset_s) // 86400
        if holding:
            if booked > 0:
                self._held_true[true_day] = self._held_true.get(true_day, 0) + booked
            return
        if prev[1] > 0 and held == 0:  # a hold was attributed in this tick
            if unatt == prev[2]:  # to the ledger's today
                for d in self._held_true:
                    if d != day:
                        self.wrong_day_mwh += self._held_true[d]
            self._held_true = {}
        if booked > 0 and day != true_day:
            self.wrong_day_mwh += booked

    def _trim_held(self, held):
        # After a cut the restored ledger holds what was durable: the latest energy is gone.
        total = 0
        for d in self._held_true:
            total += self._held_true[d]
        for d in sorted(self._held_true, reverse=True):
            if total <= held:
                break
            cut = min(total - held, self._held_true[d])
            self._held_true[d] -= cut
            total -= cut

    def _clock_fault(self, rec, ev, t_unix):
        kind = ev["kind"]
        if kind == "rtc_drift":
            self._drift = [ev["t"], ev.get("until", -1), ev.get("ppm", 20.0)]
            rec["ppm"] = ev.get("ppm", 20.0)
            return
        delay = 0
        if kind == "ntp_late":
            source = "ntp"
            delay = ev["seconds"]
        elif kind == "meter_clock":
            rec["applicable"] = self.rig.sensor_type == "dlt645"
            source = "meter" if rec["applicable"] else None
        else:
            source = self._clock_sources[0] if self._clock_sources else None
        rec["clock_source"] = source
        self._clock_pending = (source, delay)
        self._cut(rec, ev, t_unix)

    def _clock_lost_at_boot(self, t_unix):
        # The power is back with the RTC at 2000-01-01: when does a source give the time?
        source, delay = self._clock_pending
        self._clock_pending = None
        rec = self._cut_rec
        self._clock_rec = rec
        self._rtc_base = t_unix - EPOCH_2000_UNIX
        if source is None:
            self._time_back = -1
            return
        if source == "meter":
            rec["meter_reading_ok"] = self._meter_time(t_unix) == t_unix - EPOCH_2000_UNIX
        self._time_back = t_unix + delay

    def _meter_time(self, t_unix):
        # The unit's own MeterClock reads the DL/T 645 meter model's clock (local time, set to
        # the log's) over the fake line: the wall clock it gives, or -1.
        from host_tools.sim.chips.dlt645_meter import DLT645MeterModel, FakeSerial, VirtualClock
        from sunprint.clock import civil
        from sunprint.clock.meter import MeterClock
        from sunprint.drivers.dlt645 import DLT645

        clock = VirtualClock()
        meter = DLT645MeterModel("000000000001", energy_kwh=0.0, power_w=0.0)
        local = t_unix - EPOCH_2000_UNIX + self.tz_offset_s
        c = civil(local)
        meter.set_clock(c[0], c[1], c[2], c[4], c[5], c[6], c[3] + 1)
        dlt = DLT645(
            FakeSerial(meter, clock),
            address="000000000001",
            retries=0,
            ticks_ms=clock.ticks_ms,
            sleep_ms=clock.sleep_ms,
        )
        got = MeterClock(dlt, self.tz_offset_s).read()
        return got[0] if got is not None else -1

    def _faults_before(self, t_unix, flag):
        # faults first: their snapshots hold the log and the ledger up to the previous row
        plan = self.plan
        events = plan.events
        while plan.next < len(events) and events[plan.next]["t"] <= t_unix:
            self._start(events[plan.next], t_unix)
            plan.next += 1
        if self._settling and self.unit is not None:
            self._settle(t_unix)
        if self._active:
            flag = self._apply_active(t_unix, flag)
        self._faulty = plan.next < len(events) or bool(self._settling) or bool(self._active)
        return flag

    def _frames(self, t_unix):
        app = self.app
        if self.rig.kind == "epaper":
            model = self.rig.models["display"]
            n = len(model.refreshes)
            if n == self._seen_refreshes:
                return
            self._seen_refreshes = n
            self.refreshes += 1
            self._frame(t_unix, model.refreshes[-1])
            return
        if app.refreshes == self._seen_refreshes:
            return
        self._seen_refreshes = app.refreshes
        if t_unix - self._last_frame_t < self.led_frame_every_s:
            return
        picture = bytes(self.unit.buffer)  # what the driver was handed: cheaper than the LEDs
        if picture == self._last_picture:
            return
        self.refreshes += 1
        self._last_picture = picture
        self._frame(t_unix, "full")

    def _frame(self, t_unix, kind):
        unit = self.unit
        sent = getattr(unit.panel, "bytes_sent", 0)
        prev = self._sent
        frame = {
            "n": len(self.frames) + 1,
            "t": t_unix,
            "kind": kind,
            "screen": unit.rotation.name,
            "lang": unit.rotation.lang,
            "bytes_sent": (sent - prev) % (1 << 30),
        }
        self._sent = sent
        self._last_frame_t = t_unix
        self.frames.append(frame)
        if self.sink is not None:
            self.sink(self, frame)

    # --- faults ---

    def _snapshot(self):
        from sunprint.core.ledger import LIFETIME

        ledger = self.unit.ledger
        return {
            "booked_mwh": ledger.mwh(LIFETIME),
            "truth_half_mj": self.truth_half_mj,
            "missing_s": ledger.missing_s,
            "flagged": ledger.flagged,
            "t": self.last_t,
        }

    def _start(self, ev, t_unix):
        kind = ev["kind"]
        now = self._snapshot()
        for r in self.injected:  # the previous faults' "after" windows end here
            if "next" not in r:
                if "settled" not in r:
                    r["settled"] = now
                    r["overlapped"] = True
                    self._settling.remove(r)
                r["next"] = now
        rec = {"event": ev, "at_row": t_unix, "before": now, "flagged_rows": 0}
        rec["settle_t"] = ev.get("until", ev["t"]) + _SETTLE_SAMPLES * self.sample_period_s
        self.injected.append(rec)
        self._settling.append(rec)
        if kind == "power_cut":
            if self._rtc_base >= 0:  # the RTC still counts from 2000: it starts there again
                self._clock_pending = (None if self._time_back < 0 else "again", 0)
            self._cut(rec, ev, t_unix)
        elif kind in _CLOCK_KINDS:
            self._clock_fault(rec, ev, t_unix)
        elif kind == "clock_jump":
            self._wall_offset += ev["seconds"]
        elif kind == "meter_swap":
            rec["applicable"] = self.source.counts_per_kwh > 0
            self.source.swap_meter()
        else:  # dropout, bus_errors: in force until "until"
            self._active.append([ev, rec])

    def _settle(self, t_unix):
        # the fault is over and a few samples have passed: the window its cost is measured on
        keep = []
        for rec in self._settling:
            if t_unix >= rec["settle_t"]:
                rec["settled"] = self._snapshot()
            else:
                keep.append(rec)
        self._settling = keep

    def _apply_active(self, t_unix, flag):
        keep = []
        for item in self._active:
            ev, rec = item
            if t_unix >= ev["until"]:
                continue
            keep.append(item)
            if ev["kind"] == "dropout":
                bad = _NO_ANSWER
            else:
                hit = self.plan.hit(ev["rate"])
                bad = self._bus_poll(hit, rec)
            if bad:
                flag = bad
                rec["flagged_rows"] += 1
        self._active = keep
        return flag

    def _bus_poll(self, hit, rec):
        """A poll of the unit's own sensor driver through the rig's bus model, the chip or
        meter showing the row's power; when `hit`, the poll's every transfer fails as the bus
        fails (rig.break_bus). Returns the flag the real driver gives (0: read well). An S0
        input has no bus: a hit is then a reading flagged "no answer", as for a dropout."""
        rig = self.rig
        rec["through_driver"] = rig.sensor_type != "s0"
        if not rec["through_driver"]:
            return _NO_ANSWER if hit else 0
        rig.set_power(self._row_mw / 1000)
        flag = self._driver_poll(rig, self.unit.driver, rig.sensor_type, hit)
        if flag and not hit:
            # the chip model cannot show the row's power (a log bigger than the sensor's
            # range): the log's reading stands, and the summary says how often
            rec["rows_beyond_the_sensor"] = rec.get("rows_beyond_the_sensor", 0) + 1
            return 0
        return flag

    def _driver_poll(self, rig, driver, kind, hit):
        if hit:
            rig.break_bus()
        try:
            return driver.poll()
        finally:
            if hit:
                rig.break_bus(False)

    def _cut(self, rec, ev, t_unix):
        from sunprint.core.ledger import LIFETIME

        rec["booked_before_cut_mwh"] = self.unit.ledger.mwh(LIFETIME)
        self.fs = self.fs.reboot()  # only what was durable survives
        self._retire()
        self.unit = None
        self.app = None
        self.rig = None  # the chips lose power too: new models, wired afresh at power-up
        self._seen_refreshes = 0
        self._cut_rec = rec
        until = ev.get("until")
        if until is not None and until > t_unix:
            self._off_until = until
            rec["off_s"] = until - t_unix
            return
        self._power_back(t_unix)

    def _power_back(self, t_unix=None):
        from sunprint.core.ledger import LIFETIME

        if t_unix is None:
            t_unix = self.last_t

        self._build()
        rec = self._cut_rec
        rec["booked_after_boot_mwh"] = self.unit.ledger.mwh(LIFETIME)
        rec["store_status"] = self.app.store_status
        if self._clock_pending is not None:
            if self._clock_pending[0] == "again":  # a plain cut while the time was awaited
                self._clock_pending = None
                self._rtc_base = t_unix - EPOCH_2000_UNIX
            else:
                self._clock_lost_at_boot(t_unix)

    # --- the end ---

    def carbon_picture(self):
        """The "carbon" screen drawn now, through the driver onto the panel model, as
        rig.picture() gives it; None if the display has no such screen."""
        from sunprint.ui.layout import screen_for

        if not self.display or self.unit is None:
            return None
        renderer = self.app.renderer
        main = renderer.screen
        try:
            renderer.screen = screen_for(renderer.width, renderer.height, "carbon")
        except (KeyError, ValueError):
            return None
        renderer.render(self.app.carbon_values())
        renderer.screen = main
        self.unit.display.show(self.unit.buffer)
        return self.rig.picture()

    def finish(self):
        """The run's numbers (ints, strings, lists, dicts): summary.json without the host's
        own fields (log path, digest, run time, frame file names)."""
        from sunprint.core import carbon
        from sunprint.core.ledger import CO2, COAL, LIFETIME, MONTH, TODAY, YEAR, YESTERDAY

        if self.unit is None:  # the log ended during an outage
            self._off_until = -1
            self._power_back()
        for rec in self._settling:
            rec["settled"] = self._snapshot()
        self._settling = []
        app, ledger = self.app, self.unit.ledger
        store_writes = self.store_writes + (app.store.writes if app.store else 0)
        store_appends = self.store_appends + (app.store.appends if app.store else 0)
        faults = dict(self.faults)
        for k in app.faults:
            faults[k] = faults.get(k, 0) + app.faults[k]
        co2_g = ledger.grams(CO2, LIFETIME)
        row = self.carbon_row
        end = self._snapshot()
        by_kind = {"full": 0, "partial": 0}
        for f in self.frames:
            by_kind[f["kind"]] = by_kind.get(f["kind"], 0) + 1
        return {
            "first_timestamp": self.first_t,
            "last_timestamp": self.last_t,
            "tz_offset_s": self.tz_offset_s,
            "rows": self.rows,
            "samples": ledger.samples,
            "boots": self.boots,
            "energy_mwh": {
                "lifetime": ledger.mwh(LIFETIME),
                "today": ledger.mwh(TODAY),
                "yesterday": ledger.mwh(YESTERDAY),
                "month": ledger.mwh(MONTH),
                "year": ledger.mwh(YEAR),
                "log_integral": self.truth_half_mj // _HALF_MJ_PER_MWH,
                "log_integral_max_gap_s": self.truth_max_gap_s,
                "log_integral_unbridged_s": self.truth_unbridged_s,
            },
            "missing_s": ledger.missing_s,
            "co2_g": co2_g,
            "coal_g": ledger.grams(COAL, LIFETIME),
            "trees_tenths": carbon.tree_years(co2_g, app.tree_dg_co2_per_year),
            "carbon_row": [row[0], row[1], row[2], row[3]],
            "coal_dg_per_kwh": ledger.coal_dg_per_kwh,
            "tree_dg_co2_per_year": app.tree_dg_co2_per_year,
            "display": {
                "kind": self.rig.kind if self.display else "none",
                "refreshes": self.refreshes,
                "by_kind": by_kind,
                "frames": self.frames,
            },
            "store": {
                "writes": store_writes,
                "journal_appends": store_appends,
                "boot_status": app.store_status,
            },
            "faults": faults,
            "faults_injected": [self._cost(r, end) for r in self.injected],
            "days": self._day_rows(),
            "wrong_day_wh": self.wrong_day_mwh / 1000,
            "clock": {
                "sources": list(self._clock_sources),
                "source_used": self.clock_source_used,
                "date_known_at_end": ledger.vouched(),
                "held_wh": ledger.held() / 1000,
                "unattributed_wh": ledger.unattributed() / 1000,
            },
        }

    def _day_rows(self):
        """Per local day: what the ledger booked to it against the log's own energy."""
        from sunprint.clock import civil

        rows = []
        days = sorted(set(self.day_truth) | set(self.day_booked))
        for d in days:
            c = civil(d * 86400)
            rows.append(
                {
                    "date": "%04d-%02d-%02d" % (c[0], c[1], c[2]),
                    "booked_wh": self.day_booked.get(d, 0) / 1000,
                    "log_wh": self.day_truth.get(d, 0) // _HALF_MJ_PER_MWH / 1000,
                }
            )
        return rows

    def _cost(self, rec, end):
        counts = self.source.counts_per_kwh
        return self.judge.cost(rec, end, self.frames, counts, self._peak)


def run_job(job_path):
    """MicroPython's side: replay the log the job names, write every frame's raw picture and
    the numbers (result.json) into the job's folder."""
    import json

    from sunprint.samplelog import MIN_UNIT_TIMESTAMP, ReadStats, SampleLogError, read_rows

    with open(job_path) as f:
        job = json.load(f)
    out = job["out"]
    stats = ReadStats()

    def sink(core, frame):
        w, h, data = core.rig.picture()
        with open("%s/%04d.raw" % (out, frame["n"]), "wb") as f:
            f.write(data)

    result = {}
    try:
        core = Replay(
            job["profile"],
            job["fonts_dir"],
            config=job.get("config"),
            events=job.get("events", ()),
            sink=sink if job.get("display", True) else None,
            display=job.get("display", True),
            led_frame_every_s=job.get("led_frame_every_s", 60),
        )
        with open(job["log"]) as f:
            lenient = job.get("lenient", False)
            rows = read_rows(f, job["log_name"], lenient, stats, lenient, MIN_UNIT_TIMESTAMP)
            for t, p, _raw, flag in rows:  # (rows before 2000 as replay.py's _rows)
                core.feed(t, p, flag)
        result = core.finish()
        carbon = core.carbon_picture()
        if carbon is not None:
            with open(out + "/carbon.raw", "wb") as f:
                f.write(carbon[2])
    except SampleLogError as e:
        result = {"error": str(e)}
    result["log_rows"] = {
        "rows": stats.rows,
        "flagged": stats.flagged,
        "dropped_torn": stats.dropped,
        "skipped_bad": stats.skipped,
    }
    with open(out + "/result.json", "w") as f:
        json.dump(result, f)
