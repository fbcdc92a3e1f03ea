# The community source in the App (issue 18): ticked as the App ticks one meter's source, its
# per-meter record persisted beside the ledger's and restored by address (a meter removed from
# or added to the profile leaves the others' history alone), nothing allocated per tick.
# CPython and MicroPython.
# micropython-vm: app (the firmware frozen: the line and meter models sit in the same VM)
import gc

from app_rig import Panel, Renderer
from quiet_backend import QuietBackend

from host_tools.sim.chips.dlt645_bus import BusSerial
from host_tools.sim.chips.dlt645_meter import DLT645MeterModel, VirtualClock
from host_tools.sim.platform.faultfs import FaultFS
from sunprint.app import App
from sunprint.community.meters import CommunityMeters
from sunprint.community.schedule import DLT645Bus
from sunprint.community.source import CommunitySource
from sunprint.core.ledger import LIFETIME, Ledger
from sunprint.drivers.dlt645 import DLT645, parse_address
from sunprint.store import FileBackend, PersistPolicy, Store
from sunprint.ui.refresh import always_full

START = 782179200 - 8 * 3600 + 11 * 3600  # 2024-10-15 11:00 local, firmware seconds


class StringDriver:
    # an INA2xx driver's face (sources.PowerSource reads poll() and power_mw)
    power_mw = 0

    def poll(self):
        return 0


def _unit(models, fs, clock, local=None):
    # what board._community builds, on a simulated line with these meter models (and a local
    # string's PowerSource beside the bus)
    bus = BusSerial(models, clock, baudrate=9600, latency_ms=30)
    wire = [m.address for m in models]
    if local is not None:
        wire = wire + [b"\xff\xff\xff\xff\xff\xfe"]
    dlt = DLT645(bus, baudrate=9600, ticks_ms=clock.ticks_ms, sleep_ms=clock.sleep_ms)
    poller = DLT645Bus(dlt, wire[: len(models)], baudrate=9600, ticks_ms=clock.ticks_ms)
    ledger = Ledger(counter_per_kwh=1000, counter_bits=30, counter_max_power_w=10000000)
    src = CommunitySource(poller, CommunityMeters(wire), ledger, 10)
    src.local = local
    src.store = Store(FileBackend(fs, prefix="community", max_payload=src.record_max))
    app = App(
        source=src,
        panel=Panel(),
        renderer=Renderer(),
        ledger=ledger,
        carbon_row=("CN", 2023, 5306, "test"),
        sample_period_s=10,
        store=Store(FileBackend(fs)),
        policy=PersistPolicy(persist_interval_s=60, persist_wh=10),
        screen_period_s=1 << 29,
        plan=always_full(),
    )
    app.restore()
    return app, bus


def _run(app, bus, clock, t0, seconds):
    # the Runner's loop: tick when due, else 20 ms passes (a round under way wants ticks)
    end_us = (seconds + clock.us // 1000000) * 1000000
    while clock.us < end_us:
        now = t0 + clock.us // 1000000
        wake = app.tick(now, now)
        step = 20000 if wake <= now else (wake - now) * 1000000
        step = min(step, end_us - clock.us)
        clock.us += step
        bus.advance(step / 1000000)


def _count(m):
    return int(m.energy_kwh * 100 + 1e-6)


def test_a_meter_removed_and_one_added_keep_the_others_history():
    clock = VirtualClock()
    fs = FaultFS()
    models = [DLT645MeterModel("%012d" % (i + 1), energy_kwh=1000.0 * (i + 1)) for i in range(3)]
    app, bus = _unit(models, fs, clock)
    _run(app, bus, clock, START, 15)  # the first round: baselines, no production yet
    first = [_count(m) for m in models]
    for i, m in enumerate(models):
        m.power_w = 2000.0 + 1000.0 * i
    _run(app, bus, clock, START, 600)
    for m in models:
        m.power_w = 0.0
    _run(app, bus, clock, START, 30)
    src = app.source
    before = [src.meters.last[i] for i in range(3)]
    assert before == [_count(m) for m in models]  # every register read where it stopped
    lifetime = app.ledger.mwh(LIFETIME)
    assert lifetime == sum(_count(models[i]) - first[i] for i in range(3)) * 10000 > 0
    app.shutdown(START + clock.us // 1000000)  # a clean shutdown: a full record
    # the profile changes: meter 2 leaves, meter 4 joins; the others' registers went on
    new = DLT645MeterModel("000000000004", energy_kwh=4000.0)
    kept = [models[0], models[2], new]
    clock2 = VirtualClock()
    app2, bus2 = _unit(kept, fs, clock2)
    src2 = app2.source
    assert app2.ledger.mwh(LIFETIME) == lifetime
    assert src2.meters.last[0] == before[0] and src2.meters.last[1] == before[2]
    assert src2.meters.last[2] == -1  # new: from its first reading
    for m in kept:
        m.power_w = 1500.0
    t1 = START + 3600  # an hour later: the cut's production is the registers'
    models[0].advance(3600)  # meter 1 produced during the outage
    _run(app2, bus2, clock2, t1, 15)
    new_first = _count(new)
    _run(app2, bus2, clock2, t1, 300)
    for m in kept:
        m.power_w = 0.0
    _run(app2, bus2, clock2, t1, 30)
    moved = (_count(kept[0]) - before[0]) + (_count(kept[1]) - before[2])
    moved += _count(new) - new_first
    assert app2.ledger.mwh(LIFETIME) == lifetime + moved * 10000, (
        app2.ledger.mwh(LIFETIME) - lifetime,
        moved * 10000,
    )
    assert not app2.faults, app2.faults


def test_app_ticks_with_the_community_allocate_nothing():
    if not hasattr(gc, "mem_alloc"):
        return
    from host_tools.sim.chips.dlt645_meter import CannedSerial, build_frame, wire_address

    model = DLT645MeterModel("000000000001", energy_kwh=4321.09, power_w=2345.6)
    replies = {}
    for di in (0x00010000, 0x02030000):
        req = bytes((di & 0xFF, di >> 8 & 0xFF, di >> 16 & 0xFF, di >> 24))
        replies[di] = model.feed(build_frame(wire_address("000000000001"), 0x11, req, 4))
    clock = VirtualClock()
    dlt = DLT645(CannedSerial(replies), ticks_ms=clock.ticks_ms, sleep_ms=clock.sleep_ms)
    from sunprint.sources import PowerSource

    wire = [parse_address("000000000001")] * 5
    poller = DLT645Bus(dlt, wire, ticks_ms=clock.ticks_ms)
    ledger = Ledger(counter_per_kwh=1000, counter_bits=30, counter_max_power_w=10000000)
    counters = CommunityMeters(wire + [b"\xff\xff\xff\xff\xff\xfe"])
    src = CommunitySource(poller, counters, ledger, 10)
    driver = StringDriver()
    driver.power_mw = 1234567  # a local string beside the bus, integrated every sample
    src.local = PowerSource(driver)
    app = App(
        source=src,
        panel=Panel(),
        renderer=Renderer(),
        ledger=ledger,
        carbon_row=("CN", 2023, 5306, "test"),
        sample_period_s=10,
        store=Store(QuietBackend()),
        policy=PersistPolicy(persist_interval_s=600, persist_wh=10),
        screen_period_s=1 << 29,
        plan=always_full(),
    )
    app.restore()

    def ticks(n):
        k = 0
        while k < n:
            now = START + clock.us // 1000000
            app.tick(now, now)
            clock.us += 20000
            k += 1

    ticks(6000)  # two minutes: rounds booked, the first full record, the first journal entry
    r0 = src.rounds_booked
    appends = app.store.appends
    assert appends > 0  # the store's journal views are made at its first append
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()  # type: ignore[attr-defined]
        ticks(1500)  # 30 s: three rounds, within the 600 s between full records
        used = gc.mem_alloc() - before  # type: ignore[attr-defined]
    finally:
        gc.enable()
    assert src.rounds_booked - r0 == 3, src.rounds_booked - r0
    assert counters.booked[5] > 0  # the string was counted
    assert app.store.appends > appends  # journal entries in the measured ticks
    assert not app.faults, app.faults
    assert used == 0, used


def test_screen_values_homes_reporting_and_the_opt_in_per_home_rows():
    clock = VirtualClock()
    models = [DLT645MeterModel("%012d" % (i + 1), energy_kwh=100.0, power_w=0.0) for i in range(3)]
    app, bus = _unit(models, FaultFS(), clock)
    src = app.source
    models[0].power_w = 1500.0
    bus.set_fault("000000000002", "silent")
    _run(app, bus, clock, START, 15)
    values = {}
    src.screen_values(values)
    assert values["homes"] == ("2/3", "") and values["homes_label"][1] == "在线户数"
    assert "home_n0" not in values  # a public sign: no household's production
    src.per_home = True
    src._homes = -1
    src.screen_values(values)
    assert values["home_n0"] == ("Home 1", "1号户")
    assert values["home_v0"].startswith("1.50 kW") and values["home_v1"].startswith("--")
    assert values["home_n3"] == "" and values["home_v7"] == ""


def test_a_local_string_goes_on_from_its_register_after_a_reboot():
    from sunprint.sources import PowerSource

    fs = FaultFS()
    models = [DLT645MeterModel("000000000001", energy_kwh=100.0)]
    driver = StringDriver()
    clock = VirtualClock()
    app, bus = _unit(models, fs, clock, PowerSource(driver))
    _run(app, bus, clock, START, 15)
    driver.power_mw = 1200000  # 1.2 kW: 10 Wh every 30 s
    _run(app, bus, clock, START, 600)
    src = app.source
    first = src.meters.booked[1] * 10
    assert 190 <= first <= 200, first  # 10 min at 1.2 kW: 200 Wh, in whole 10 Wh counts
    app.shutdown(START + clock.us // 1000000)
    clock2 = VirtualClock()
    app2, bus2 = _unit(models, fs, clock2, PowerSource(driver))
    src2 = app2.source
    assert src2._local_count == src.meters.last[1]  # its register goes on where it was
    _run(app2, bus2, clock2, START + 3600, 600)
    assert src2.meters.resets[1] == 0 and src2.meters.implausible[1] == 0
    more = src2.meters.booked[1] * 10
    assert 190 <= more <= 200, more
    assert app2.ledger.mwh(LIFETIME) == app.ledger.mwh(LIFETIME) + more * 1000
    assert app2.source.status()[-1]["address"] == "local"
