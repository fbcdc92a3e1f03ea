# Several DL/T 645 meters on one simulated bus, read round-robin by DLT645Bus without blocking:
# each meter answers only its own address; a dead meter costs only its own slot; a wrong
# address, a collision or bus errors are flagged, never taken as a value; a poll cycle
# allocates nothing. CPython and MicroPython.
import gc

from community_rig import build, run_round

from host_tools.sim.chips.dlt645_bus import BUS_ERRORS, COLLIDE, SILENT, WRONG_ADDRESS, collide
from host_tools.sim.chips.dlt645_meter import build_frame, parse_frame, wire_address
from sunprint.community.schedule import DLT645, slot_us
from sunprint.quality import BAD_FRAME, NO_ANSWER, NOT_READY, OK


def test_each_meter_answers_only_its_own_address():
    clock, bus, poller, wire = build()
    assert poller.flag[0] == NOT_READY
    run_round(clock, poller)
    for i in range(5):
        assert poller.flag[i] == OK
        assert poller.energy[i] == int((1000.0 + 111.11 * i) * 100 + 1e-6)
        assert bus.meters[i].replies == 2  # energy and power, nothing for the others' requests
        assert bus.meters[i].requests == 10  # it heard every request on the line
    assert poller.reporting() == 5
    assert bus.collisions == 0 and bus.unanswered == 0
    assert poller.rounds == 1


def test_broadcast_and_wildcard_rules():
    clock, bus, poller, wire = build()
    # 99..99 broadcast: every meter hears, none answers.
    req = build_frame(b"\x99" * 6, 0x11, b"\x00\x00\x01\x00", 4)
    assert [m.feed(req) for m in bus.meters] == [None] * 5
    # AA..AA (read address): every meter answers: on a shared line that is a collision.
    req = build_frame(b"\xaa" * 6, 0x13, b"", 4)
    replies = [m.feed(req) for m in bus.meters]
    assert all(r is not None for r in replies)
    try:
        parse_frame(collide(replies))
    except ValueError:
        pass
    else:
        raise AssertionError("a collision parsed as a frame")


def test_dead_meter_costs_only_its_own_slot():
    clock, bus, poller, wire = build(baud=2400)
    good = run_round(clock, poller)
    bus.set_fault("000000000003", SILENT)
    bad = run_round(clock, poller)
    assert poller.flag[2] == NO_ANSWER and poller.silent[2] == 1
    assert poller.reporting() == 4
    for i in (0, 1, 3, 4):
        assert poller.flag[i] == OK
    # The silent meter: request + 500 ms, its power not asked; the others as before.
    assert bad - good < 500, (good, bad)
    # A whole round of 5 stays within the schedule's worst case.
    assert bad * 1000 <= 5 * slot_us(DLT645, 2400) + 5 * 2 * 3 * 5000, bad
    bus.clear_fault("000000000003")
    run_round(clock, poller)
    assert poller.reporting() == 5


def test_wrong_address_collision_and_bus_errors_are_flagged_never_values():
    clock, bus, poller, wire = build()
    run_round(clock, poller)
    before = [poller.energy[i] for i in range(5)]
    for m in bus.meters:
        m.energy_kwh += 5.0
    bus.set_fault("000000000002", WRONG_ADDRESS)
    bus.set_fault("000000000003", COLLIDE)
    bus.set_fault("000000000004", BUS_ERRORS)
    run_round(clock, poller)
    assert bus.collisions == 1
    for i in (1, 2, 3):
        assert poller.flag[i] == BAD_FRAME, (i, poller.flag[i])
        assert poller.wrong[i] == 1
        assert poller.energy[i] == before[i]  # the last good value stays; nothing new taken
        assert not poller.fresh[i]
    for i in (0, 4):
        assert poller.flag[i] == OK and poller.energy[i] == before[i] + 500
    assert poller.reporting() == 2


def test_step_never_blocks():
    # Every step() returns without moving the (virtual) clock: the tick owns the time.
    clock, bus, poller, wire = build(baud=2400)
    poller.begin_round()
    calls = 0
    while True:
        t = clock.ticks_ms()
        more = poller.step()
        assert clock.ticks_ms() == t
        calls += 1
        if not more:
            break
        clock.sleep_ms(5)
    assert calls > 20


def test_swap_is_seen_as_a_new_register():
    clock, bus, poller, wire = build()
    run_round(clock, poller)
    bus.meters[1].swap(wire_address("000000000002"), 3.21)  # the same address, a new meter
    run_round(clock, poller)
    assert poller.flag[1] == OK and poller.energy[1] == 321


def _cycles(poller, clock, n):
    # Locals only: a new global would count as allocation.
    k = 0
    while k < n:
        poller.begin_round()
        while poller.step():
            clock.us += 5000
        k += 1
    return poller.rounds


def test_poll_cycle_allocates_nothing():
    if not hasattr(gc, "mem_alloc"):
        return  # CPython: no allocation counter; the VM run is the one that counts
    from host_tools.sim.chips.dlt645_meter import CannedSerial, DLT645MeterModel, VirtualClock
    from sunprint.community.schedule import DLT645Bus
    from sunprint.drivers.dlt645 import DLT645 as Driver

    # One canned meter answers every address (the driver checks the address: use one address
    # for all five slots); the canned line allocates nothing itself.
    model = DLT645MeterModel("000000000001", energy_kwh=4321.09, power_w=2345.6)
    replies = {}
    for di in (0x00010000, 0x02030000):
        req = build_frame(
            wire_address("000000000001"),
            0x11,
            bytes([di & 0xFF, di >> 8 & 0xFF, di >> 16 & 0xFF, di >> 24]),
            4,
        )
        replies[di] = model.feed(req)
    clock = VirtualClock()
    dlt = Driver(
        CannedSerial(replies),
        address="000000000001",
        ticks_ms=clock.ticks_ms,
        sleep_ms=clock.sleep_ms,
    )
    poller = DLT645Bus(dlt, [wire_address("000000000001")] * 5, ticks_ms=clock.ticks_ms)
    _cycles(poller, clock, 3)
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()  # type: ignore[attr-defined]
        _cycles(poller, clock, 50)
        used = gc.mem_alloc() - before  # type: ignore[attr-defined]
    finally:
        gc.enable()
    assert poller.reporting() == 5 and poller.energy[4] == 432109
    assert used == 0, used


def test_direction_pin_is_high_only_while_a_request_goes_out():
    # With a DE pin: every request reaches the line whole and no reply byte is lost to a
    # driver still on (FakeSerial checks both against the pin's history).
    from host_tools.sim.chips.dlt645_bus import BusSerial
    from host_tools.sim.chips.dlt645_meter import DLT645MeterModel, FakePin, VirtualClock
    from sunprint.community.schedule import DLT645Bus
    from sunprint.drivers.dlt645 import DLT645 as Driver
    from sunprint.drivers.dlt645 import parse_address

    clock = VirtualClock()
    pin = FakePin(clock)
    addresses = ["000000000001", "000000000002", "000000000003"]
    meters = [DLT645MeterModel(a, energy_kwh=10.0 * (i + 1)) for i, a in enumerate(addresses)]
    bus = BusSerial(meters, clock, baudrate=2400, latency_ms=20, de=pin)
    dlt = Driver(
        bus, address=addresses[0], de=pin, ticks_ms=clock.ticks_ms, sleep_ms=clock.sleep_ms
    )
    poller = DLT645Bus(dlt, [parse_address(a) for a in addresses], ticks_ms=clock.ticks_ms)
    run_round(clock, poller, tick_ms=1)
    assert bus.lost_tx == 0 and bus.lost_rx == 0
    assert [poller.energy[i] for i in range(3)] == [1000, 2000, 3000]
    assert poller.reporting() == 3 and pin.value() == 0
