# The community as one source for the app (issue 18): the bus poller, the per-meter counters and
# the community Ledger, driven from the loop. Not yet built by board.build (docs/community.md).
#
#     src = CommunitySource(poller, meters, ledger, sample_period_s=30)
#     while True:                      # the app's loop, a few ms a pass
#         src.service(t, wall)         # never blocks; books a round when it ends
#
# service() starts a round every sample_period_s (monotonic seconds t), advances it by one
# poller step per call, and when the round ends books every meter read in it (add) and hands
# the community total to the Ledger (feed). It allocates nothing (tests/firmware/
# test_community_source.py); status() builds the status JSON's per-meter list (it allocates:
# call it when the status is asked for).
#
# In a unit (board.build), the App ticks it as it ticks one meter's source: sample(ledger, t,
# wall) every sample period begins a round (the total booked is the last round's), pump(t,
# wall) on every tick advances the round by one poller step and books it when it ends (the App
# wants its next tick at once while a round is under way), power_mw is the last round's sum.
# The per-meter record rides with the ledger's full records: persist() after the App saved
# one, restore(ledger) after the App restored the ledger (store: a sunprint.store.Store of
# its own files, set by board.build).

from sunprint.quality import NAMES, NO_ANSWER, OK

_LOCAL = b"\xff\xff\xff\xff\xff\xfe"  # the local string's key in the meters' record


class CommunitySource:
    store = None  # a sunprint.store.Store for the per-meter record (board.build), or None
    # A local string beside the bus (sources.PowerSource of an INA2xx, board.build), or None:
    # its power, integrated here into a register of its own, is one more meter of the counters
    # (the last; its record keyed _LOCAL), summed with the homes'.
    local = None

    def __init__(self, poller, meters, ledger, sample_period_s=30):
        if poller.n != meters.n and poller.n + 1 != meters.n:
            raise ValueError("community: the poller and the counters list different meters")
        self.poller = poller
        self.meters = meters
        self.ledger = ledger
        meters.tz_offset_s = ledger.tz_offset_s  # which local day a meter's anchor is of
        self.sample_period_s = sample_period_s
        self.rounds_booked = 0
        self.late_rounds = 0  # a period began before the last round ended: the bus is too slow
        self._next = -1
        # the App's source protocol (sources.PowerSource's attributes)
        self.flag = OK  # NO_ANSWER once a round ends with no meter answering
        self.power_mw = self.reading_mw = self.raw = 0
        self._local_mws = 0  # the local string's energy not yet a count (mW s)
        self._local_count = 0  # its register: counts of the meters' unit (Wh per count)
        self._local_t = -1
        self._homes = -1  # the homes reporting the screen's text was made for
        self.per_home = False  # the per-home screen's values too (community.per_home_screen)
        self._page = 0  # which 8 homes it shows
        self.record_max = meters.record_size()
        self._record = bytearray(self.record_max)  # persist(): packed in place

    def sample(self, ledger, t, wall):
        """The App's sample (every sample period): begin a round, unless the last one is
        still under way (a bus slower than the period: late_rounds). The total was booked when
        the last round ended (pump); the flag says whether any meter answered in it."""
        p = self.poller
        if p.busy:
            self.late_rounds += 1
        else:
            p.begin_round()
            p.step()
        local = self.local
        if local is not None:
            self._integrate(local, t)
        return self.flag

    def _integrate(self, local, t):
        # The local string's source reads and books as it does beside one ledger, with this
        # source standing in for the ledger: its add_power below takes the reading.
        local.sample(self, t, -1)

    def add_power(self, t, mw, wall, good):
        """The local string's power to its register (called by its PowerSource.sample): each
        good reading times the interval before it; a gap longer than two sample periods counts
        nothing."""
        dt = t - self._local_t if self._local_t >= 0 else 0
        self._local_t = t
        if not good or not 0 < dt <= 2 * self.sample_period_s:
            return
        if mw > 0:  # an INA2xx string: a few kW, so mw * dt stays a small int
            mws = self._local_mws + mw * dt
            unit = self.meters.wh_per_count * 3600000  # mW s a count
            n = mws // unit
            self._local_mws = mws - n * unit
            self._local_count = (self._local_count + n) % self.meters.span

    def pump(self, t, wall):
        """The App's every tick: one poller step; a round that ends is booked. True while a
        round is under way (the App then asks for its next tick at once)."""
        p = self.poller
        if not p.busy:
            return False
        if p.step():
            return True
        self._book(t, wall)
        return False

    def service(self, t, wall=-1):
        """Advance the bus by one step; returns True when a round was booked in this call."""
        p = self.poller
        if p.busy:
            if p.step():
                return False
            self._book(t, wall)
            return True
        if self._next < 0 or t >= self._next:
            if self._next >= 0 and t - self._next >= self.sample_period_s:
                self.late_rounds += 1
            self._next = t + self.sample_period_s
            p.begin_round()
            p.step()
        return False

    def _book(self, t, wall):
        p = self.poller
        m = self.meters
        i = 0
        while i < p.n:
            if p.fresh[i]:
                m.add(i, t, p.energy[i], wall)
            i += 1
        if self.local is not None and self._local_t >= 0:
            m.add(p.n, t, self._local_count, wall)
        m.feed(self.ledger, t, wall)
        self.rounds_booked += 1
        self.flag = OK if p.reporting() else NO_ANSWER
        self.power_mw = self.reading_mw = self.raw = self.sum_power_mw()

    def total_mwh(self):
        """The App's restart without a ledger record: the community has no one register to
        seed it from (the meters' anchors are restored from their own record: restore)."""
        return None

    def reporting(self):
        return self.poller.reporting()

    def sum_power_mw(self):
        """The community's power now: the sum over meters whose last read was good, in mW."""
        p = self.poller
        total = 0
        i = 0
        while i < p.n:
            if p.flag[i] == OK:
                total += p.power[i] * p.power_mw_per_unit
            i += 1
        local = self.local
        if local is not None and local.flag == OK:
            total += local.power_mw
        return total

    def screen_values(self, values):
        """Into the App's screen values (its dict, ui/screens400.py "homes"): the homes
        reporting of the homes on the bus, "12/14" (a text made only when the count changes)."""
        r = self.poller.reporting()
        if r != self._homes:
            from sunprint.ui.layout import HOMES

            self._homes = r
            values["homes"] = ("%d/%d" % (r, self.poller.n), "")
            values["homes_label"] = HOMES
        if self.per_home:
            self._per_home(values)

    def _per_home(self, values):
        # 8 homes a page, the next page at each screen update (texts made each time: a
        # screen update, not a tick)
        from sunprint.quality import OK
        from sunprint.ui.layout import HOME_N, format_energy_wh, format_power

        p = self.poller
        m = self.meters
        pages = (p.n + 7) // 8
        first = 8 * (self._page % pages)
        self._page += 1
        for row in range(8):
            i = first + row
            if i >= p.n:
                values["home_n%d" % row] = ""
                values["home_v%d" % row] = ""
                continue
            values["home_n%d" % row] = (HOME_N[0] % (i + 1), HOME_N[1] % (i + 1))
            e = format_energy_wh(m.booked[i] * m.wh_per_count)
            if p.flag[i] == OK:
                w = format_power(p.power[i] * p.power_mw_per_unit / 1000)
                values["home_v%d" % row] = "%s %s   %s %s" % (w[0], w[1], e[0], e[1])
            else:
                values["home_v%d" % row] = "--   %s %s" % e

        # --- persistence: the per-meter record beside the ledger's ---

    def persist(self):
        """After the App wrote a full ledger record: write the per-meter record (its own two
        slot files, as often as the ledger's full records: persist_interval_s)."""
        store = self.store
        if store is not None:
            self.meters.pack_into(self._record)
            store.save(self._record)

    def restore(self, ledger):
        """After the App restored `ledger`: the meters' anchors from the newest good record
        (keyed by address: meters new to the profile start from their first reading), what the
        Ledger booked beyond it credited. Without a record the Ledger's counter goes on from its
        anchor. Returns a note for a record that could not be used, else None."""
        m = self.meters
        anchor = ledger.counter_anchor
        note = None
        data = None
        if self.store is not None:
            data = self.store.load()[0]
        if data is not None:
            try:
                m.restore(data, anchor, ledger.counter_span)
                if m.n > self.poller.n and m.last[m.n - 1] >= 0:
                    self._local_count = m.last[m.n - 1]  # its register goes on where it was
                return None
            except ValueError as e:
                note = "community record not used: %s" % (e,)
        m.resume()
        if anchor >= 0:
            m.total_wh = m.fed_wh = anchor  # the meters' steps add to what the Ledger holds
        return note

    def status(self):
        """Every meter with its state, for the status JSON (allocates)."""
        p = self.poller
        m = self.meters
        out = []
        for i in range(p.n):
            a = p.addr
            out.append(
                {
                    "address": "".join("%02x" % a[6 * i + 5 - k] for k in range(6)),
                    "state": NAMES[p.flag[i]] if p.flag[i] < len(NAMES) else "?",
                    "booked_wh": m.booked[i] * m.wh_per_count,
                    "silent": p.silent[i],
                    "wrong": p.wrong[i],
                    "resets": m.resets[i],
                    "implausible": m.implausible[i],
                }
            )
        local = self.local
        if local is not None:
            out.append(
                {
                    "address": "local",
                    "state": NAMES[local.flag] if local.flag < len(NAMES) else "?",
                    "booked_wh": m.booked[p.n] * m.wh_per_count,
                    "resets": m.resets[p.n],
                    "implausible": m.implausible[p.n],
                }
            )
        return out


def build(section, uart, sample_period_s, *, de=None, ledger=None, clock=None, local_w=0):
    """A CommunitySource from the profile's community section (community/profile.py checks
    it: CommunityError names a fault), on an open UART (8E1 for DL/T 645, as the profile's
    bus says) and its DE pin. local_w: the rated power of a local string beside the bus (0:
    none; the caller sets the source's `local`). ledger: the community Ledger (made here if
    None: a counter in Wh, 30 bits, 10 MW). clock: {} or {"ticks_ms": f, "sleep_ms": g}, the
    time the bus waits on. board._community calls it for a profile's community section."""
    from sunprint.community.meters import CommunityMeters
    from sunprint.community.profile import check
    from sunprint.community.schedule import DLT645 as PROTOCOL_DLT645
    from sunprint.community.schedule import DLT645Bus
    from sunprint.core.ledger import Ledger

    clock = clock or {}
    c = check(section, sample_period_s)
    ticks = clock.get("ticks_ms")
    kw = {} if ticks is None else {"ticks_ms": ticks}
    if c.protocol == PROTOCOL_DLT645:
        from sunprint.drivers.dlt645 import DLT645

        dlt = DLT645(uart, address=c.keys[0], de=de, baudrate=c.baudrate, **clock)
        poller = DLT645Bus(
            dlt,
            c.keys,
            read_power=c.read_power,
            baudrate=c.baudrate,
            timeout_ms=c.timeout_ms,
            **kw,
        )
        keys = c.keys
        wh_per_count = 10
        span = 100000000
    else:
        from sunprint.community.modbus_bus import ModbusBus
        from sunprint.drivers import modbus

        rtu = modbus.ModbusRTU(uart, de=de, baudrate=c.baudrate, timeout_ms=c.timeout_ms, **clock)
        maps = [getattr(modbus, m.upper()) for m in c.models or ()]
        poller = ModbusBus(
            rtu, c.keys, maps, read_power=c.read_power, timeout_ms=c.timeout_ms, **kw
        )
        keys = [bytes((u, 0, 0, 0, 0, 0)) for u in c.keys]
        wh_per_count = 1
        span = 1 << 30
    if local_w:  # a local string beside the bus, of this rated power: one more counter
        keys = list(keys) + [_LOCAL]
    meters = CommunityMeters(
        keys, wh_per_count=wh_per_count, span=span, max_power_w=max(c.max_power_w + [local_w])
    )
    if ledger is None:
        ledger = Ledger(counter_per_kwh=1000, counter_bits=30, counter_max_power_w=10000000)
    src = CommunitySource(poller, meters, ledger, sample_period_s)
    src.per_home = c.per_home_screen
    return src
