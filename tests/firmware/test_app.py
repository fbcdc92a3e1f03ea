# The tick-driven app with its store: persistence, restore after a cut, faults that never stop
# the loop. CPython and MicroPython; the panel and renderer are stand-ins that only count.
import gc

from app_rig import power_source

from host_tools.sim.platform.faultfs import FaultFS, PowerCut
from sunprint.app import App
from sunprint.core.ledger import LIFETIME, Ledger
from sunprint.quality import NO_ANSWER, OK
from sunprint.sources import PowerSource
from sunprint.store import FileBackend, PersistPolicy, Store
from sunprint.ui.refresh import always_full

START = 782179200 - 8 * 3600 + 9 * 3600  # 2024-10-15 09:00 local, firmware seconds


class Panel:
    def __init__(self):
        self.shows = 0
        self.fail = False

    def begin_show(self, buf, full):
        if self.fail:
            raise OSError(110, "SPI timeout")
        self.shows += 1

    def busy(self):
        return False

    def finish(self):
        pass


class Renderer:
    # an 8x8 frame (MONO_VLSB) that is a hash of the values: new values, a new picture
    width = 8
    height = 8

    def __init__(self):
        self.fb_buffer = bytearray(8)

    def render(self, values):
        self.values = dict(values)
        buf = self.fb_buffer
        for i in range(8):
            buf[i] = 0
        i = 0
        for k in sorted(values):
            for c in values[k][0]:
                buf[i & 7] = (buf[i & 7] * 31 + ord(c)) & 0xFF
                i += 1


def make_app(fs, source=None, panel=None):
    app = App(
        source=source or power_source(),
        panel=panel or Panel(),
        renderer=Renderer(),
        ledger=Ledger(),
        carbon_row=("CN", 2023, 5306, "test"),
        store=Store(FileBackend(fs)),
        policy=PersistPolicy(persist_interval_s=600, persist_wh=10),
        plan=always_full(),
    )
    return app, app.restore()


def run(app, start, seconds, step=10):
    t = start
    while t < start + seconds:
        wake = app.tick(t)
        while wake <= t:
            wake = app.tick(t)
        t += step
    return t


def test_saves_at_most_every_interval_and_restores():
    fs = FaultFS()
    app, status = make_app(fs)
    assert status == "empty"
    run(app, START, 3600)  # an hour at 1 kW
    assert 5 <= app.store.writes <= 7
    lifetime = app.ledger.mwh(LIFETIME)
    assert 990000 <= lifetime <= 1000000
    again, status = make_app(fs.reboot())  # power cut: only what was saved survives
    assert status == "ok"
    restored = again.ledger.mwh(LIFETIME)
    assert lifetime - restored <= 600 * 1000000 // 3600 + 10000  # one interval + 10 Wh
    assert restored <= lifetime


def test_a_cut_inside_a_save_keeps_the_previous_record():
    fs = FaultFS()
    app, _ = make_app(fs)
    t = run(app, START, 1300)
    saved = app.store.writes
    assert saved >= 1
    again, _ = make_app(fs.reboot())
    before_mwh = again.ledger.mwh(LIFETIME)  # what a cut right now would restore
    # Arm a cut at the 3rd operation of the next save, then keep ticking until it fires.
    app.store.backend.fs = fs2 = fs.reboot(cut_at=2)
    cut = False
    try:
        run(app, t, 1300)
    except PowerCut:
        cut = True
    assert cut
    again, status = make_app(fs2.reboot())
    assert status in ("ok", "fallback")
    assert again.ledger.mwh(LIFETIME) >= before_mwh


def test_clean_shutdown_saves_everything():
    fs = FaultFS()
    app, _ = make_app(fs)
    t = run(app, START, 900)
    app.shutdown(t)
    again, _ = make_app(fs.reboot())
    assert again.ledger.mwh(LIFETIME) == app.ledger.mwh(LIFETIME)


def test_sensor_and_panel_faults_do_not_stop_the_loop():
    source, panel = power_source(), Panel()
    app, _ = make_app(FaultFS(), source, panel)
    t = run(app, START, 600)
    source.driver.flag = NO_ANSWER  # the sensor's bus is dead: every poll says so
    panel.fail = True
    t = run(app, t, 600)
    assert app.faults["sensor"] == 60
    assert app.faults["panel"] >= 1
    source.driver.flag = OK
    panel.fail = False
    e = app.ledger.mwh(LIFETIME)
    run(app, t, 600)
    assert app.ledger.mwh(LIFETIME) > e  # counting again
    assert panel.shows >= 2


def test_corrupt_store_counts_from_zero_with_a_fault():
    fs = FaultFS()
    app, _ = make_app(fs)
    run(app, START, 3600)
    durable = fs.reboot()
    for name in durable.listdir():
        data = bytearray(durable.peek(name))
        data[len(data) // 2] ^= 0xFF
        durable.poke(name, bytes(data))
    again, status = make_app(durable)
    assert status == "corrupt"
    assert again.ledger.mwh(LIFETIME) == 0
    assert again.faults["store"] == 1
    run(again, START + 4000, 60)  # and it runs
    assert again.ledger.mwh(LIFETIME) > 0


class Meter(PowerSource):
    def total_mwh(self):
        return 1234567890  # the meter's own register: 1234.56789 kWh


def test_corrupt_store_starts_from_the_meter_total():
    fs = FaultFS()
    app, _ = make_app(fs)
    run(app, START, 1200)
    durable = fs.reboot()
    for name in durable.listdir():
        durable.poke(name, b"garbage")
    again, status = make_app(durable, Meter(power_source().driver))
    assert status == "corrupt"
    assert again.ledger.mwh(LIFETIME) == 1234567890
    assert "meter" in again.last_fault


def _restored_mwh(fs):
    # What a unit booted on the durable state of fs restores.
    app, status = make_app(fs.reboot())
    assert status in ("ok", "empty"), status
    return app.ledger.mwh(LIFETIME)


def test_a_cut_between_ticks_loses_less_than_persist_wh():
    # Issue 12 item 10. 5 kW for an hour, 10 s ticks: 13.9 Wh a tick. After every tick the
    # durable state (what a reboot restores) is within persist_wh (10 Wh) of what was booked.
    fs = FaultFS()
    app, _ = make_app(fs, power_source(5000000))
    t = START
    worst = 0
    for _ in range(360):
        t = run(app, t, 10)
        booked = app.ledger.mwh(LIFETIME)
        gc.collect()  # a unit booted a tick: keep the small heap unfragmented
        restored = _restored_mwh(fs)
        assert restored <= booked
        worst = max(worst, booked - restored)
    print("worst loss at a cut between ticks: %d mWh" % worst)
    assert worst < 10000, worst


class StuckPanel(Panel):
    """A panel whose busy line never clears (a dead controller)."""

    def __init__(self):
        super().__init__()
        self.aborts = 0

    def busy(self):
        return True

    def abort(self):
        self.aborts += 1


def test_a_panel_that_never_finishes_times_out_on_the_handed_clock():
    # The ticks come as fast as the CPU allows (replay, a test): no real time passes, so a
    # timeout on a real clock never fires. The timeout is 10 s of the `now` tick is handed.
    panel = StuckPanel()
    app, _ = make_app(FaultFS(), panel=panel)
    assert app.tick(START) == START  # a refresh began: poll the panel soon
    assert app.tick(START + 9) == START + 9  # 9 s: still waiting for the panel
    assert "panel" not in app.faults and panel.aborts == 0
    app.tick(START + 10)  # 10 s: it never finished
    assert app.faults["panel"] == 1 and app.last_fault == "panel: busy timeout"
    assert panel.aborts == 1 and app.refreshes == 1
    assert app.tick(START + 11) > START + 11  # the loop goes on: nothing due now
