# The community source driven from a loop: rounds every sample period, booked when they end,
# the status list, nothing allocated per loop pass. CPython and MicroPython.
import gc

from community_rig import build

from host_tools.sim.chips.dlt645_bus import SILENT
from sunprint.community.meters import CommunityMeters
from sunprint.community.source import CommunitySource
from sunprint.core.ledger import LIFETIME, Ledger

WALL0 = 849398400 + 9 * 3600


def _source(period=30):
    clock, bus, poller, wire = build(read_power=True)
    for i, m in enumerate(bus.meters):
        m.power_w = 1000.0 + 500.0 * i
    meters = CommunityMeters(wire)
    ledger = Ledger(counter_per_kwh=1000, counter_bits=30, counter_max_power_w=10000000)
    return clock, bus, CommunitySource(poller, meters, ledger, period)


def _loop(clock, bus, src, seconds, start_ms=0, tick_ms=10):
    # The app's loop: a pass every tick_ms of virtual time; the meters produce meanwhile.
    t_ms = start_ms
    end = start_ms + seconds * 1000
    while t_ms < end:
        src.service(t_ms // 1000, WALL0 + t_ms // 1000)
        clock.sleep_ms(tick_ms)
        t_ms += tick_ms
        if t_ms % 1000 == 0:
            bus.advance(1)
    return t_ms


def test_rounds_every_period_and_the_total_follows_the_registers():
    clock, bus, src = _source()
    start = [int(m.energy_kwh * 100 + 1e-6) for m in bus.meters]
    t = _loop(clock, bus, src, 600)
    assert src.rounds_booked == 20 and src.late_rounds == 0
    assert src.reporting() == 5
    assert src.sum_power_mw() == sum(1000000 + 500000 * i for i in range(5))
    moved = sum(src.poller.energy[i] - start[i] for i in range(5)) * 10
    assert src.meters.total_wh == moved > 0
    assert src.ledger.mwh(LIFETIME) == moved * 1000
    bus.set_fault("000000000002", SILENT)
    _loop(clock, bus, src, 120, t)
    st = src.status()
    assert st[1]["address"] == "000000000002" and st[1]["state"] == "no answer"
    assert st[0]["state"] == "ok" and st[1]["silent"] == 4
    assert src.reporting() == 4


def _passes(src, clock, n):
    k = 0
    while k < n:
        t = clock.us // 1000000
        src.service(t, 849398400 + t)
        clock.us += 10000
        k += 1
    return src.rounds_booked


def test_loop_pass_allocates_nothing():
    if not hasattr(gc, "mem_alloc"):
        return
    from host_tools.sim.chips.dlt645_meter import (
        CannedSerial,
        DLT645MeterModel,
        VirtualClock,
        build_frame,
        wire_address,
    )
    from sunprint.community.schedule import DLT645Bus
    from sunprint.drivers.dlt645 import DLT645

    model = DLT645MeterModel("000000000001", energy_kwh=4321.09, power_w=2345.6)
    replies = {}
    for di in (0x00010000, 0x02030000):
        req = bytes((di & 0xFF, di >> 8 & 0xFF, di >> 16 & 0xFF, di >> 24))
        replies[di] = model.feed(build_frame(wire_address("000000000001"), 0x11, req, 4))
    clock = VirtualClock()
    dlt = DLT645(
        CannedSerial(replies),
        address="000000000001",
        ticks_ms=clock.ticks_ms,
        sleep_ms=clock.sleep_ms,
    )
    wire = [wire_address("000000000001")] * 5
    poller = DLT645Bus(dlt, wire, ticks_ms=clock.ticks_ms)
    ledger = Ledger(counter_per_kwh=1000, counter_bits=30, counter_max_power_w=10000000)
    src = CommunitySource(poller, CommunityMeters(wire), ledger, 10)
    _passes(src, clock, 3000)
    r0 = src.rounds_booked
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()  # type: ignore[attr-defined]
        rounds = _passes(src, clock, 3000) - r0
        used = gc.mem_alloc() - before  # type: ignore[attr-defined]
    finally:
        gc.enable()
    assert rounds == 3, rounds
    assert used == 0, used


def test_built_from_a_profile_section():
    from host_tools.sim.chips.dlt645_bus import BusSerial
    from host_tools.sim.chips.dlt645_meter import DLT645MeterModel
    from host_tools.sim.chips.dlt645_meter import VirtualClock as Clock
    from host_tools.sim.chips.modbus_bus import ModbusBusPeer
    from host_tools.sim.chips.modbus_meter import ModbusMeterModel
    from host_tools.sim.chips.uart import FakeUART
    from host_tools.sim.chips.uart import VirtualClock as UClock
    from sunprint.community.source import build

    clock = Clock()
    addresses = ["000000000011", "000000000012", "000000000013"]
    line = BusSerial(
        [DLT645MeterModel(a, energy_kwh=5.0 + i) for i, a in enumerate(addresses)],
        clock,
        baudrate=9600,
    )
    section = {
        "protocol": "dlt645",
        "baudrate": 9600,
        "meters": [{"address": a} for a in addresses],
    }
    src = build(section, line, 30, clock={"ticks_ms": clock.ticks_ms, "sleep_ms": clock.sleep_ms})
    src.service(0, WALL0)
    while src.poller.busy:
        clock.sleep_ms(5)
        src.service(0, WALL0)
    assert src.reporting() == 3 and [src.poller.energy[i] for i in range(3)] == [500, 600, 700]
    st = src.status()
    assert [m["address"] for m in st] == addresses

    uclock = UClock()
    peer = ModbusBusPeer(
        [
            ModbusMeterModel(3, "sdm120", energy_kwh=2.5),
            ModbusMeterModel(9, "ddsu666", energy_kwh=4.0),
        ]
    )
    uart = FakeUART(uclock, peer, baudrate=9600, latency_ms=20)
    section = {
        "protocol": "modbus",
        "meters": [{"unit": 3, "model": "sdm120"}, {"unit": 9, "model": "ddsu666"}],
    }
    src = build(section, uart, 10, clock={"ticks_ms": uclock.ticks_ms, "sleep_ms": uclock.sleep_ms})
    src.service(0, WALL0)
    while src.poller.busy:
        uclock.sleep_ms(2)
        src.service(0, WALL0)
    assert src.reporting() == 2 and [src.poller.energy[i] for i in range(2)] == [2500, 4000]
    assert src.meters.wh_per_count == 1
