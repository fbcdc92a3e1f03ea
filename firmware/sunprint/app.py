"""The tick-driven core: sample -> ledger -> carbon -> screen -> panel.

`App.tick(now)` does one unit of work at firmware time `now` (integer seconds since
2000-01-01 UTC) and returns the time it next wants to run. A return value <= now means "soon":
the panel is refreshing and wants its busy line polled. The device runner sleeps real time
between ticks; replay calls tick with the log's timestamps as fast as the CPU allows. Nothing
here touches hardware: the power source and the panel are objects handed in.

A failing sensor or panel never stops the loop: the fault is counted and kept in `faults`.
"""

from sunprint.compat import const
from sunprint.core.carbon import TREE_DG_CO2_PER_YEAR
from sunprint.core.ledger import CO2, COAL, ENERGY, LIFETIME
from sunprint.quality import OK
from sunprint.quality import name as quality_name
from sunprint.ui.layout import ScreenValues
from sunprint.ui.refresh import PanelSession

_BOOT_KINDS = ("config", "calib", "profile")  # faults of the files read at boot
_COPY_MAX = const(1024)  # frames up to this many bytes are kept as a copy, not checksummed


class App:
    # "config: ..." lines of the faults found at boot, shown until fixed (fault()); a class
    # default: an instance attribute more costs every unit heap, boot faults are rare
    boot_faults = ()
    # clock.keeper.ClockKeeper when the board has time sources: it keeps the RTC and its wall
    # time is the one booked (the runner's wall is the same RTC, read before a correction)
    timekeeper = None
    # net.publish.Net when config.json turns Wi-Fi on: polled each tick, never blocking
    net = None

    def __init__(
        self,
        *,
        source,
        panel,
        renderer,
        ledger,
        carbon_row,
        sample_period_s=10,
        screen_period_s=300,
        panel_timeout_s=10,
        store=None,
        policy=None,
        plan,
        rotation=None,
        fmt=0,
        samplelog=None,
        tree_dg_co2_per_year=TREE_DG_CO2_PER_YEAR,
    ):
        # A source of the one protocol sources.py describes (sources.PowerSource and its kinds,
        # community/source.py CommunitySource): sample, pump, screen_values, total_mwh,
        # restore, persist; every one is called, none looked up (a no-op where it does nothing).
        self.source = source
        self.renderer = renderer
        self.ledger = ledger
        self.carbon_row = carbon_row  # the carbon.FACTORS row the screens cite
        self.tree_dg_co2_per_year = tree_dg_co2_per_year  # what one tree-year absorbs, 0.1 g
        self.sample_period_s = sample_period_s
        self.screen_period_s = screen_period_s
        self.store = store  # sunprint.store.Store, or None: nothing persists
        self.policy = policy  # sunprint.store.PersistPolicy
        self.store_status = None
        # The lifetime energy, CO2 and coal (hi, lo pairs) as of the last record or journal
        # entry the store wrote (or restored): what a power cut cannot take back, so what is
        # published as ever-increasing totals (net/publish.py) without a file of its own.
        self.durable = [0, 0, 0, 0, 0, 0]
        self._persist_day = -1
        # Every screen period the app renders, compares the picture with the one on the panel
        # and refreshes only the changed window, as partial or full as the refresh plan
        # (ui/refresh.py; refresh.always_full() for a panel without wear, an LED's) says;
        # rotation (layout.Rotation) cycles the screens.
        self.session = PanelSession(panel, plan, panel_timeout_s, self._fault)
        self.rotation = rotation
        self.samplelog = samplelog  # samplelog.SampleLogWriter: what replay can read back
        self.fmt = fmt  # framebuf format of the panel buffer (diff needs it)
        # What the panel shows (prev): a copy of its frame when the frame is small (an LED
        # panel's few bytes), else ui/sums.py's checksums of the frame's lines and columns (a
        # second 15000-byte frame did not fit a 4.2" unit's heap; an LED unit never loads it).
        from sunprint.ui.diff import new_boxes

        self._box = new_boxes(1)
        size = len(renderer.fb_buffer)
        if size <= _COPY_MAX:
            self._prev = base = bytearray(size)
        else:
            from sunprint.ui.sums import Sums

            self._prev = Sums(renderer.width, renderer.height, fmt)
            # the frame buffer holds the glass's picture until the next render, and
            # Sums.restore has the driver restore its RAM from it then
            base = renderer.fb_buffer
        # An e-paper driver rewrites its lost RAM from the glass's picture after a deep sleep.
        keep = getattr(panel, "set_base", None)
        if keep is not None:
            keep(base)
        self.power_mw = 0
        self.refreshes = 0
        self.faults = {}  # what failed -> how many times
        self.last_fault = None
        self._fault_what = None
        self._fault_err = None
        self.next_sample = -1
        self._next_screen = -1
        self.screen = ScreenValues()  # the screen model: the values as text, by name
        self._refused = 0  # the ledger's refused and counter_implausible already reported
        self._implausible = 0

    def restore(self):
        """At boot: load the ledger from the store (every record tried, newest first, then its
        journal). Never raises: a record that could not be used is a fault that says what was
        restored instead."""
        if self.store is None:
            return None
        plan = self.session.plan
        status = self.store.restore_into(self.ledger, plan)
        self.store_status = status
        note = self.store.note
        if status != "corrupt" and status != "empty":
            self.ledger.resume()  # the outage is not bridged
            plan.forget()  # the panel driver starts with no base picture
            if note:
                self._fault("store", note)
        if status == "corrupt":
            # No readable record: a meter's own total is the best restart; else zero, flagged.
            seeded = False
            try:
                total = self.source.total_mwh()  # None: the source has no register of its own
                if total is not None:
                    self.ledger.seed_lifetime(total)
                    seeded = True
            except (OSError, ValueError) as e:
                self._fault("sensor", e)
            why = note if note else "no good ledger record"
            self._fault(
                "store",
                why + (": lifetime from the meter" if seeded else ": counting from zero"),
            )
        self._persist_day = self.ledger.day
        self._note_durable()
        note = self.source.restore(self.ledger)  # a source's record of its own (community)
        if note:
            self._fault("store", note)
        return status

    def _note_durable(self):
        # no allocation: ints from the ledger's lists into a preallocated one
        hi, lo, d = self.ledger.hi, self.ledger.lo, self.durable
        d[0] = hi[ENERGY * 5 + LIFETIME]
        d[1] = lo[ENERGY * 5 + LIFETIME]
        d[2] = hi[CO2 * 5 + LIFETIME]
        d[3] = lo[CO2 * 5 + LIFETIME]
        d[4] = hi[COAL * 5 + LIFETIME]
        d[5] = lo[COAL * 5 + LIFETIME]

    def set_carbon(self, row, coal_dg_per_kwh, tree_dg_co2_per_year):
        """The factors of the config, after restore(): row (a carbon.FACTORS row) and coal
        (0.1 gce/kWh) for the energy booked from now on, and what the screens cite; what the
        restored ledger has booked keeps the factors it was booked at. Trees (0.1 g CO2 per
        tree-year) are a conversion of the CO2 shown, not booked."""
        self.carbon_row = row
        self.ledger.set_factors(row[2], coal_dg_per_kwh)
        self.tree_dg_co2_per_year = tree_dg_co2_per_year
        self.screen.forget_carbon()  # trees and the notes are formatted again

    def shutdown(self, now):
        """A clean shutdown: persist what is unsaved."""
        policy = self.policy
        if policy is not None and policy.due(now, self.ledger.unsaved_mwh, False, True):
            self._persist(now)

    def _maybe_persist(self, now):
        policy = self.policy
        if policy is None:
            return
        day = self.ledger.day
        day_changed = day != self._persist_day and self._persist_day >= 0
        if day != self._persist_day:
            if day_changed:
                policy.new_day()
            self._persist_day = day
        kind = policy.due(now, self.ledger.unsaved_mwh, day_changed)
        if kind:
            self._persist(now, kind)

    def _persist(self, now, kind=2):
        # kind: store.JOURNAL (1, a small delta entry) or store.FULL (2, a full record)
        store, policy = self.store, self.policy
        if store is None or policy is None:
            return
        try:
            kind = store.save_ledger(self.ledger, self.session.plan, kind)
        except Exception as e:  # noqa: BLE001 - any failure (struct, memory, a bug) is a fault
            self._fault("store", e)
            return
        if kind == 1:
            policy.appended(now)
        else:
            policy.saved(now)
            try:
                self.source.persist()  # a source's own record rides with full records
            except Exception as e:  # noqa: BLE001 - as the ledger's save
                self._fault("store", e)
        self._note_durable()

    def tick(self, now, wall=-1):
        """One unit of work at monotonic second `now`, wall clock `wall` (default: now)."""
        keeper = self.timekeeper
        if keeper is not None:
            wall = keeper.tick(now)
        elif wall < 0:
            wall = now
        net = self.net
        if net is not None:
            net.tick(now)
        source = self.source
        busy = source.pump(now, wall)  # a method call, no bound method made: 0 B
        session = self.session
        if session.refreshing:
            if session.poll(now):
                return now
            self.refreshes += 1
        if now >= self.next_sample:
            self._sample(now, wall)
            busy = source.pump(now, wall)  # the round the sample began (a community's bus)
            self._maybe_persist(now)
            if now - self.next_sample >= self.sample_period_s or self.next_sample < 0:
                self.next_sample = now + self.sample_period_s
            else:
                self.next_sample += self.sample_period_s
        if now >= self._next_screen:
            self._next_screen = now + self.screen_period_s
            self._update_screen(now, wall)
            if session.refreshing:
                return now
        if busy:
            return now
        wake = self.next_sample
        if self._next_screen < wake:  # (min() of the two, without a builtin call per tick)
            wake = self._next_screen
        if keeper is not None and keeper.pending and wake > now + 1:
            wake = now + 1  # a time source's answer is on its way (NTP): collect it then
        return wake if net is None or net.wake >= wake else max(net.wake, now + 1)

    def fault(self, what, err):
        """Record a fault from outside the loop (boot: a bad config, a store that failed). A
        config, calib or profile fault is also kept in boot_faults: a later sensor fault
        replaces last_fault, never those (the status screen and status JSON show them)."""
        self._fault(what, err)
        if what in _BOOT_KINDS:
            self.boot_faults = self.boot_faults + ("%s: %s" % (what, err),)

    def _fault(self, what, err):
        self.faults[what] = self.faults.get(what, 0) + 1
        if what != self._fault_what or err != self._fault_err:
            # Formatting allocates: a sensor that stays down must not cost a string per tick.
            self._fault_what = what
            self._fault_err = err
            self.last_fault = "%s: %s" % (what, err)

    # --- the sampler: one call of the source protocol (sources.py) a sample period, its
    # reading logged, its flag and the ledger's verdict made faults. A section of App, not a
    # part of its own: an instance, its attribute dict and its class's methods (function
    # objects on the heap even when frozen: ~32 B each, measured for sources.py) would cost
    # the unit heap for state that is five attributes here. ---

    def _sample(self, now, wall):
        source = self.source
        flag = source.sample(self.ledger, now, wall)
        log = self.samplelog
        if log is not None:
            try:
                log.append(wall, source.reading_mw, source.raw, flag)
            except OSError as e:
                self._fault("samplelog", e)
        if flag != OK:
            self._fault("sensor", quality_name(flag))
        if not self._ledger_faults():
            # a reading the ledger refused (NaN, a float, beyond its limits: a source without
            # a health check passes one on) is not shown either: the screens format ints
            self.power_mw = source.power_mw

    def _ledger_faults(self):
        # What the ledger refused or distrusted since the last tick is a fault (two int
        # compares a tick; a string is formatted only when the fault text changes). True when
        # it refused an input.
        ledger = self.ledger
        refused = ledger.refused != self._refused
        if refused:
            self._refused = ledger.refused
            self._fault("ledger", "refused input")
        if ledger.counter_implausible != self._implausible:
            self._implausible = ledger.counter_implausible
            self._fault("meter", "implausible register step")
        return refused

    def screen_values(self):
        """The values the screens show, as (number, unit) text pairs by name (the screen
        model's dict, ui/layout.py ScreenValues): power_w, today_kwh, lifetime_kwh, co2_kg,
        coal_kg, trees, and today's label today_label."""
        return self.screen.update(self.power_mw, self.ledger, self.tree_dg_co2_per_year)

    def carbon_values(self):
        """The values of the "carbon" screens: those of screen_values(), a community source's
        own, and the factor with its source (both from one row of the table: carbon_row), and
        what coal and trees are counted at (notes as (English, Chinese) pairs). The same dict
        as screen_values(), reused: a screen update builds no new dict."""
        values = self.screen_values()
        self.source.screen_values(values)  # a source's own values (a community's homes)
        return self.screen.update_carbon(
            self.carbon_row, self.ledger.coal_dg_per_kwh, self.tree_dg_co2_per_year
        )

    def _update_screen(self, now, wall):
        # The one screen-update path: the next screen rendered, compared with the panel's
        # picture, and shown as the plan decides (nothing visible changed: no refresh, which
        # would only wear an e-paper panel).
        from sunprint.ui.diff import changed_rect
        from sunprint.ui.refresh import FULL, NONE

        session = self.session
        renderer, rot, plan = self.renderer, self.rotation, session.plan
        prev, box = self._prev, self._box
        copy = isinstance(prev, bytearray)
        if not copy:
            prev.restore(session)  # type: ignore[union-attr]
        if rot is not None:
            rot.advance()
            renderer.show(rot.name, rot.lang)
        renderer.render(self.carbon_values())
        buf = renderer.fb_buffer
        if copy:
            changed = changed_rect(prev, buf, renderer.width, renderer.height, self.fmt, box)
        else:
            changed = prev.changed_rect(buf, box)  # type: ignore[union-attr]
        kind = plan.decide(now, wall, changed is not None)
        if kind == NONE:
            return
        if not session.begin(buf, kind == FULL, None if changed is None else box, now):
            return
        plan.done(kind, now, wall)
        if copy:
            prev[:] = buf  # type: ignore[index]  # a slice copy: memmove, 0 B (diff.remember)
        else:
            prev.remember()  # type: ignore[union-attr]
