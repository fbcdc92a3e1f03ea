# The time-source interface and the ClockKeeper that keeps the unit's RTC (sunprint.clock):
# priority order, fallback, drift/jump/set counting, the status JSON and screen text, and a
# steady-state tick that allocates nothing. CPython and MicroPython.
from app_rig import Renderer

from sunprint.app import App
from sunprint.clock import VALID_FROM
from sunprint.clock.keeper import ClockKeeper, SystemRtc
from sunprint.core import carbon
from sunprint.core.ledger import Ledger
from sunprint.status import status
from sunprint.ui.refresh import always_full
from sunprint.ui.status import status_values

T0 = 782179200  # 2024-10-14 00:00 UTC (a Monday) in firmware time


class Rtc:
    """The unit's RTC in a test: it runs from `now` (the monotonic second), off by `ppm`."""

    def __init__(self, start=0, ppm=0):
        self.base = start  # wall at now = 0
        self.ppm = ppm
        self.now = 0
        self.sets = []

    def wall(self):
        return self.base + self.now + self.now * self.ppm // 1000000

    def set(self, wall):
        self.sets.append(wall)
        self.base = wall - self.now - self.now * self.ppm // 1000000


class Source:
    """A time source as the interface says: a preallocated [wall, quality_ms], or None."""

    def __init__(self, rtc_true, quality_ms=1000):
        self.truth = rtc_true  # a Rtc that keeps the true time
        self.reading = [0, quality_ms]
        self.up = True
        self.reads = 0

    def read(self):
        self.reads += 1
        if not self.up:
            return None
        self.reading[0] = self.truth.wall()
        return self.reading


def _keeper(rtc, truth, n=2, **kw):
    sources = [Source(truth) for _ in range(n)]
    names = ("ds3231", "pcf8563", "meter")
    return ClockKeeper(rtc, [(names[i], sources[i]) for i in range(n)], **kw), sources


def _at(now, *rtcs):
    for r in rtcs:
        r.now = now


def test_first_reading_sets_a_never_set_rtc():
    rtc, truth = Rtc(0), Rtc(T0)  # the RTC starts at 2000-01-01, as an ESP32 after power-on
    k, (a, b) = _keeper(rtc, truth)
    assert not k.trusted()
    assert k.tick(0) == T0
    assert rtc.sets == [T0] and k.sets == 1 and k.jumps == 0 and k.corrections == 0
    assert k.trusted() and k.source == 0 and b.reads == 0  # the first source had it
    assert k.last_delta_s == T0 and k.summary() == "ds3231 set"


def test_priority_order_and_fallback():
    rtc, truth = Rtc(0), Rtc(T0)
    k, (a, b) = _keeper(rtc, truth, retry_s=60, sync_s=3600)
    a.up = False
    k.tick(0)
    assert k.source == 1 and k.fails == [1, 0] and rtc.wall() == T0
    _at(1800, rtc, truth)
    k.tick(1800)  # not due: no source asked
    assert a.reads == 1 and b.reads == 1
    a.up = True
    _at(3600, rtc, truth)
    k.tick(3600)
    assert k.source == 0 and b.reads == 1  # the first source again, the second not asked


def test_no_source_retries_sooner_and_rtc_keeps_running():
    rtc, truth = Rtc(T0), Rtc(T0)
    k, (a, b) = _keeper(rtc, truth, retry_s=60, sync_s=3600)
    a.up = b.up = False
    assert k.tick(0) == T0 and not k.trusted() and k.fails == [1, 1]
    _at(59, rtc, truth)
    assert k.tick(59) == T0 + 59 and a.reads == 1
    _at(60, rtc, truth)
    k.tick(60)
    assert a.reads == 2 and k.fails == [2, 2] and k.status(60)["source"] is None


def test_drift_is_counted_and_corrected_noise_is_not():
    rtc, truth = Rtc(T0, ppm=100), Rtc(T0)  # the RTC runs 100 ppm fast: 0.36 s an hour
    k, _ = _keeper(rtc, truth, sync_s=3600, jump_s=60)
    k.tick(0)
    assert rtc.sets == [] and k.syncs == 1  # delta 0
    _at(3600, rtc, truth)
    k.tick(3600)
    assert rtc.sets == [] and k.corrections == 0  # 0 s off: within the 1 s of a reading
    for h in range(2, 25):
        _at(h * 3600, rtc, truth)
        k.tick(h * 3600)
    # 8.64 s fast over the day, corrected whenever 2 s off (more than the 1 s noise)
    assert k.corrections >= 3 and k.jumps == 0 and k.sets == 0
    assert -9 <= k.drift_s <= -6 and truth.wall() - rtc.wall() >= -1
    st = k.status(24 * 3600)
    assert st["drift_s"] == k.drift_s and st["corrections"] == k.corrections
    assert -120 <= st["drift_ppm"] <= -60 and st["sync_age_s"] == 0 and st["trusted"]


def test_jump_is_counted_apart_from_drift():
    rtc, truth = Rtc(T0 + 3600), Rtc(T0)  # an hour fast: a wrong RTC module, a DST setting
    k, _ = _keeper(rtc, truth, jump_s=60)
    k.tick(0)
    assert k.jumps == 1 and k.corrections == 0 and k.drift_s == 0 and rtc.wall() == T0
    assert k.last_delta_s == -3600 and k.summary() == "ds3231 -3600s"
    rtc.set(T0 + 5 * 86400)
    k.tick(3600)
    assert k.summary() == "ds3231 -5d" and k.jumps == 2


def test_quality_widens_the_noise():
    rtc, truth = Rtc(T0 + 4), Rtc(T0)
    src = Source(truth, quality_ms=5000)  # a reading good to 5 s moves nothing 4 s off
    k = ClockKeeper(rtc, [("meter", src)])
    k.tick(0)
    assert rtc.sets == [] and k.last_delta_s == -4 and k.status(0)["quality_ms"] == 5000


def test_a_source_that_raises_is_a_source_without_time():
    class Broken:
        def read(self):
            raise OSError(5)

    rtc, truth = Rtc(0), Rtc(T0)
    k = ClockKeeper(rtc, [("ds3231", Broken()), ("pcf8563", Source(truth))])
    assert k.tick(0) == T0 and k.fails == [1, 0] and k.status(0)["no_time"]["ds3231"] == 1


def _app(keeper):
    row = carbon.factor("CN", 2023)
    app = App(
        source=None,
        panel=None,
        renderer=Renderer(),
        ledger=Ledger(co2_dg_per_kwh=row[2]),
        carbon_row=row,
        plan=always_full(),
    )
    app.timekeeper = keeper
    return app


def test_app_books_the_kept_wall_and_status_shows_the_clock():
    rtc, truth = Rtc(0), Rtc(T0)
    k, _ = _keeper(rtc, truth)
    app = _app(k)
    app._next_screen = 1 << 29  # no screen in this test

    from app_rig import power_source

    app.source = power_source(1000000)
    app.tick(0, 5)  # the runner's wall (the RTC before the correction) is not the one booked
    assert app.ledger.last_wall == T0
    st = status(app, "u", 0)["clock"]
    assert st["source"] == "ds3231" and st["sets"] == 1 and st["sources"] == ["ds3231", "pcf8563"]
    assert status_values(app, "u", 0, 50000)["clock"] == "ds3231 set"
    assert status_values(_app(None), "u", 0, 50000)["clock"] == ""
    assert status(_app(None), "u", 0)["clock"] is None
    # a power cut lost the time, no source had it yet: the ledger holds, and says so (issue 16)
    lost = _app(None)
    lost.ledger.add_power(10, 1000000, 10)
    lost.ledger.add_power(20, 1000000, 20)
    assert status_values(lost, "u", 0, 50000)["clock"] == "date unknown"
    p = status(lost, "u", 0)["periods"]
    assert not p["vouched"] and p["held_mwh"] == 2777 and p["unattributed_mwh"] == 0


def test_tick_allocates_nothing_in_the_steady_state():
    try:
        import gc

        gc.mem_alloc  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError:
        return  # CPython: nothing to count
    rtc, truth = Rtc(T0), Rtc(T0)
    k, _ = _keeper(rtc, truth, sync_s=60)
    k.tick(0)
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()  # type: ignore[attr-defined]
        for t in range(1, 600):  # 9 syncs (each within noise) and 590 reads between them
            rtc.now = truth.now = t
            k.tick(t)
        used = gc.mem_alloc() - before  # type: ignore[attr-defined]
    finally:
        gc.enable()
    assert k.syncs == 10 and used == 0, used


def test_system_rtc_sets_the_machine_rtc_by_datetime():
    class MachineRtc:
        def datetime(self, t):
            self.t = t

    m = MachineRtc()
    SystemRtc(m).set(T0 + 3600 * 13 + 60 * 5 + 7)  # 2024-10-14 13:05:07
    assert m.t == (2024, 10, 14, 0, 13, 5, 7, 0)
    assert abs(SystemRtc(m).wall() - SystemRtc(m).wall()) <= 1 and VALID_FROM == 757382400


class Link:
    """A Wi-Fi link as sunprint.net.wifi.Wifi shows it: state (2: up) and how often it came up."""

    state = 5
    ups = 0


class Asking(Source):
    """A source that asks over a network: the reading comes `delay` reads after the request,
    or never (answer=False); while it waits it returns None with `pending` set."""

    def __init__(self, truth, link, delay=2, answer=True):
        super().__init__(truth, 500)
        self.link = link
        self.delay = delay
        self.answer = answer
        self.pending = False
        self._left = 0

    def read(self):
        self.reads += 1
        if self.link.state != 2:
            self.pending = False
            return None
        if not self.pending:
            self.pending = True
            self._left = self.delay
            return None
        self._left -= 1
        if self._left > 0:
            return None
        self.pending = False
        if not self.answer:
            return None  # timed out
        self.reading[0] = self.truth.wall()
        return self.reading


def test_a_pending_source_keeps_the_round_open_and_the_link_coming_up_starts_one():
    rtc, truth = Rtc(0), Rtc(T0)
    link = Link()
    module = Source(Rtc(T0 + 7))  # an RTC module 7 s fast
    k = ClockKeeper(rtc, [("ntp", None), ("ds3231", module)], sync_s=3600, retry_s=60)
    assert k.plug("ntp", Asking(truth, link)) and not k.plug("gps", module)
    ntp = k._sources[0]
    k.tick(0)  # no link: NTP has no time, the module gives it
    assert k.source == 1 and k.fails == [1, 0] and not k.pending and rtc.wall() == T0 + 7
    link.state, link.ups = 2, 1  # Wi-Fi is up: a round at once, not an hour later
    _at(5, rtc, truth)
    k.tick(5)
    assert k.pending and ntp.pending and module.reads == 1  # asked; the round waits for it
    _at(6, rtc, truth)
    k.tick(6)
    assert k.pending and k.source == 1
    _at(7, rtc, truth)
    assert k.tick(7) == T0 + 7 and k.source == 0 and not k.pending and k.corrections == 1
    assert k.fails == [1, 0] and module.reads == 1  # the module was not asked again
    # an answer that never comes: the round goes on to the module when NTP gives up
    ntp.answer = False
    for now in range(3607, 3611):
        _at(now, rtc, truth, module.truth)
        k.tick(now)
    assert k.source == 1 and k.fails == [2, 0] and module.reads == 2 and not k.pending
    # the status JSON: drift and jumps per source (the module 7 s fast, NTP put it right)
    per = k.status(3610)["per_source"]
    assert per["ntp"] == {"readings": 1, "jumps": 0, "corrections": 1, "drift_s": -7, "no_time": 2}
    assert per["ds3231"]["readings"] == 2 and per["ds3231"]["drift_s"] == 7
    assert per["ds3231"]["corrections"] == 1 and per["ds3231"]["no_time"] == 0
    # between rounds, watching the link allocates nothing either
    try:
        import gc

        gc.mem_alloc  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError:
        return  # CPython: nothing to count
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()  # type: ignore[attr-defined]
        for now in range(3611, 3900):
            rtc.now = truth.now = now
            k.tick(now)
        used = gc.mem_alloc() - before  # type: ignore[attr-defined]
    finally:
        gc.enable()
    assert used == 0, used
