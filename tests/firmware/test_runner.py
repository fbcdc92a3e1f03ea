# The device runner (sunprint.runner) on a virtual clock: hours of ticks without real sleeping,
# failing ticks caught and counted, a hung tick caught by a simulated watchdog, a clean stop
# that persists the ledger. CPython and MicroPython (both have asyncio).
# micropython-heap: 110000 (an ESP32 without PSRAM)
# micropython-vm: app (the deployed form: the app frozen into the 32-bit binary)
# micropython-fresh-vm: each (a unit powers on with an empty heap: in one VM the nine tests'
# modules and a watchdog-reset unit left behind by asyncio would pile up, as no unit's do)
import asyncio

from app_rig import Driver

from host_tools.sim.platform.faultfs import FaultFS
from sunprint.app import App
from sunprint.core.ledger import LIFETIME, Ledger
from sunprint.runner import Runner
from sunprint.sources import PowerSource
from sunprint.store import FileBackend, PersistPolicy, Store
from sunprint.ui.refresh import always_full

START = 782179200 - 8 * 3600 + 9 * 3600  # 2024-10-15 09:00 local, firmware seconds
WDT_MS = 30000


class WatchdogReset(BaseException):
    """The simulated chip reset: flies through `except Exception`, as a real reset would."""


class VirtualClock:
    """Milliseconds that pass only when advanced; a sleep advances it and yields to asyncio."""

    def __init__(self, start):
        self.ms = start * 1000
        self.wdt = None
        self.sleeps = 0
        self._at = []  # (ms, fn)

    def now(self):
        return self.ms // 1000

    def wall(self):
        return self.ms // 1000

    def ticks_ms(self):
        return self.ms

    def at(self, t, fn):
        self._at.append((t * 1000, fn))

    def advance_ms(self, ms):
        self.ms += ms
        if self.wdt is not None:
            self.wdt.check()
        due = [a for a in self._at if a[0] <= self.ms]
        for a in due:
            self._at.remove(a)
            a[1]()

    async def sleep_ms(self, ms):
        self.sleeps += 1
        self.advance_ms(ms)
        await asyncio.sleep(0)


class FakeWDT:
    """machine.WDT on the virtual clock: a reset when timeout_ms pass without a feed."""

    def __init__(self, clock, timeout_ms=WDT_MS):
        self.clock = clock
        self.timeout_ms = timeout_ms
        self.last = clock.ticks_ms()
        self.feeds = 0
        self.resets = 0
        self.longest = 0  # the longest gap between feeds, ms
        clock.wdt = self

    def check(self):
        gap = self.clock.ticks_ms() - self.last
        if gap > self.longest:
            self.longest = gap
        if gap > self.timeout_ms:
            self.resets += 1
            raise WatchdogReset()

    def feed(self):
        self.check()
        self.last = self.clock.ticks_ms()
        self.feeds += 1


class Sensor(Driver):
    """A driver that can hang (advancing the clock) or raise, escaping the app's own handling
    (a driver's poll() returns a quality flag; an exception out of it is a bug)."""

    def __init__(self, mw=1000000):
        Driver.__init__(self, mw)
        self.fail = None  # an exception to raise from poll()
        self.hang_s = 0  # a read that takes this long (advances the clock)
        self.clock = None

    def poll(self):
        if self.hang_s:
            s, self.hang_s = self.hang_s, 0
            self.clock.advance_ms(s * 1000)
        if self.fail is not None:
            raise self.fail
        return Driver.poll(self)


class Panel:
    def __init__(self):
        self.shows = 0
        self.polls = 0

    def begin_show(self, buf, full):
        self.shows += 1
        self.polls = 0

    def busy(self):
        self.polls += 1
        return self.polls < 3  # busy for a couple of polls, as an e-paper refresh is

    def finish(self):
        pass


class Renderer:
    fb_buffer = bytearray(8)
    width = 8
    height = 8

    def render(self, values):
        pass


def make(fs=None, mw=1000000):
    fs = fs or FaultFS()
    clock = VirtualClock(START)
    sensor = Sensor(mw)
    sensor.clock = clock
    source = PowerSource(sensor)
    app = App(
        source=source,
        panel=Panel(),
        renderer=Renderer(),
        ledger=Ledger(),
        carbon_row=("CN", 2023, 5306, "test"),
        store=Store(FileBackend(fs)),
        policy=PersistPolicy(persist_interval_s=600, persist_wh=10),
        plan=always_full(),
    )
    app.restore()
    wdt = FakeWDT(clock)
    runner = Runner(app, wdt=wdt, clock=clock, wdt_timeout_ms=WDT_MS)
    return fs, clock, app, wdt, runner


def drive(runner, clock, seconds):
    end = clock.ms + seconds * 1000
    while clock.ms < end:
        clock.advance_ms(runner.step())


def test_hours_of_virtual_time_with_step():
    fs, clock, app, wdt, runner = make()
    drive(runner, clock, 6 * 3600)
    assert wdt.resets == 0 and wdt.longest <= WDT_MS
    assert app.faults == {}
    assert 6 * 360 <= runner.ticks  # every sample tick, plus the panel polls
    lifetime = app.ledger.mwh(LIFETIME)
    assert 5990000 <= lifetime <= 6000000  # 6 h at 1 kW
    assert 30 <= app.store.writes <= 40  # every 10 minutes, no more
    assert app.refreshes >= 1 and app.session.panel.shows == app.refreshes


def test_run_under_asyncio_and_clean_stop_persists():
    fs, clock, app, wdt, runner = make()
    clock.at(START + 2 * 3600 + 5 * 60 + 7, runner.stop)
    asyncio.run(runner.run())
    assert runner.stopped and wdt.resets == 0
    assert clock.now() >= START + 2 * 3600 + 5 * 60 + 7
    assert clock.sleeps >= 2 * 360  # it slept between ticks, on the virtual clock
    lifetime = app.ledger.mwh(LIFETIME)
    assert app.ledger.unsaved_mwh == 0  # stop() saved what the interval had not yet
    again = Store(FileBackend(fs.reboot()))
    led = Ledger()
    assert again.restore_into(led) == "ok"  # the ledger's state, then the plan's
    assert led.mwh(LIFETIME) == lifetime


def test_idle_app_still_feeds_the_watchdog():
    fs, clock, app, wdt, runner = make()
    app.sample_period_s = 3600  # a tick an hour: the runner must wake to feed in between
    app.screen_period_s = 3600
    drive(runner, clock, 5 * 3600)
    assert wdt.resets == 0 and wdt.longest <= WDT_MS // 2 + 1000


def test_a_failing_tick_is_counted_and_the_loop_goes_on():
    fs, clock, app, wdt, runner = make()
    drive(runner, clock, 600)
    before = runner.ticks
    app.source.driver.fail = RuntimeError("bug in a driver")  # not OSError: escapes App.tick
    drive(runner, clock, 5)
    assert app.faults.get("tick", 0) >= 1
    assert app.last_fault == "tick: bug in a driver"
    app.source.driver.fail = None
    drive(runner, clock, 600)
    assert runner.ticks > before + 50 and runner.tick_failures == 0
    assert wdt.resets == 0 and not runner.starving


def test_run_survives_a_failing_tick():
    fs, clock, app, wdt, runner = make()
    clock.at(START + 100, lambda: setattr(app.source.driver, "fail", RuntimeError("x")))
    clock.at(START + 103, lambda: setattr(app.source.driver, "fail", None))
    clock.at(START + 1800, runner.stop)
    asyncio.run(runner.run())
    assert app.faults.get("tick", 0) >= 1 and runner.stopped
    assert wdt.resets == 0 and app.ledger.mwh(LIFETIME) > 400000


def test_a_hung_tick_is_caught_by_the_watchdog():
    fs, clock, app, wdt, runner = make()
    drive(runner, clock, 600)
    writes = app.store.writes
    app.source.driver.hang_s = 45  # a read that never comes back within the watchdog's timeout
    reset = False
    try:
        drive(runner, clock, 60)
    except WatchdogReset:
        reset = True
    assert reset and wdt.resets == 1
    assert app.store.writes == writes  # a reset persists nothing
    assert not runner.stopped


def test_a_hung_tick_under_run_resets():
    fs, clock, app, wdt, runner = make()
    clock.at(START + 300, lambda: setattr(app.source.driver, "hang_s", 31))
    reset = False
    try:
        asyncio.run(runner.run())
    except WatchdogReset:
        reset = True
    assert reset and wdt.resets == 1 and not runner.stopped


def test_ticks_failing_forever_end_in_a_reset():
    fs, clock, app, wdt, runner = make()
    app.source.driver.fail = RuntimeError("always")
    reset = False
    try:
        drive(runner, clock, 120)
    except WatchdogReset:
        reset = True
    assert reset and runner.starving
    # 10 failures a second apart, then no feed: the reset comes one timeout later
    n = runner.max_tick_failures
    assert n + WDT_MS // 1000 - 2 <= app.faults["tick"] <= n + WDT_MS // 1000 + 1


class Record:
    def __init__(self):
        self.data = None
        self.writes = 0

    def read(self):
        return self.data

    def write(self, data):
        self.data = bytes(data)
        self.writes += 1


def test_runner_marks_the_boot_healthy_and_notes_faults():
    from sunprint import safemode

    fs, clock, app, wdt, runner = make()
    rec = Record()
    runner.boot = rec
    safemode.note_boot(rec)
    safemode.note_boot(rec)  # one crashed boot before this one
    assert safemode.crashed_boots(rec) == 1
    drive(runner, clock, 300)
    assert safemode.crashed_boots(rec) == 1 and not runner.healthy
    app.source.driver.fail = RuntimeError("driver bug")
    drive(runner, clock, 2)
    app.source.driver.fail = None
    assert safemode.load(rec)[1] == "tick: driver bug"
    drive(runner, clock, 400)
    assert runner.healthy and safemode.load(rec) == (0, "")
    writes = rec.writes
    drive(runner, clock, 3600)
    assert rec.writes == writes  # nothing more to note: no wear
