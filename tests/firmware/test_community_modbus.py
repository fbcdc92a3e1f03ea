# Several Modbus RTU meters (mixed models) on one simulated bus, read round-robin by ModbusBus
# without blocking: each answers only its unit id; silence costs only its own slot; a collision
# is flagged, never a value. CPython and MicroPython.
from host_tools.sim.chips.modbus_bus import ModbusBusPeer
from host_tools.sim.chips.modbus_meter import ModbusMeterModel
from host_tools.sim.chips.uart import FakeUART, VirtualClock
from sunprint.community.modbus_bus import ModbusBus
from sunprint.community.schedule import MODBUS, slot_us
from sunprint.drivers.modbus import DDSU666, SDM120, ModbusRTU
from sunprint.quality import BAD_FRAME, NO_ANSWER, OK


def _rig():
    clock = VirtualClock()
    models = [
        ModbusMeterModel(1, "sdm120", power_w=1234.5, energy_kwh=100.25),
        ModbusMeterModel(2, "ddsu666", power_w=2500.0, energy_kwh=2000.5),
        ModbusMeterModel(5, "sdm120", power_w=0.0, energy_kwh=7.0),
    ]
    peer = ModbusBusPeer(models)
    uart = FakeUART(clock, peer, baudrate=9600, latency_ms=20)
    rtu = ModbusRTU(uart, baudrate=9600, ticks_ms=clock.ticks_ms, sleep_ms=clock.sleep_ms)
    bus = ModbusBus(rtu, [1, 2, 5], [SDM120, DDSU666, SDM120], ticks_ms=clock.ticks_ms)
    return clock, uart, peer, bus


def _round(clock, bus):
    t0 = clock.ticks_ms()
    bus.begin_round()
    while bus.step():
        t = clock.ticks_ms()
        clock.sleep_ms(2)
        assert clock.ticks_ms() - t == 2
    return clock.ticks_ms() - t0


def test_mixed_models_each_answer_their_unit():
    clock, uart, peer, bus = _rig()
    ms = _round(clock, bus)
    assert [bus.flag[i] for i in range(3)] == [OK, OK, OK]
    assert [bus.energy[i] for i in range(3)] == [100250, 2000500, 7000]
    assert [bus.power[i] for i in range(3)] == [12345, 25000, 0]
    assert bus.reporting() == 3 and peer.collisions == 0
    assert uart.gap_violations == 0  # t3.5 kept before every request
    assert ms * 1000 <= 3 * slot_us(MODBUS, 9600), ms


def test_silent_unit_costs_its_slot_and_collision_is_flagged():
    clock, uart, peer, bus = _rig()
    good = _round(clock, bus)
    peer.silent.add(2)
    peer.twins.add(5)
    bad = _round(clock, bus)
    assert bus.flag[1] == NO_ANSWER and bus.silent[1] == 1
    assert bus.flag[2] == BAD_FRAME and bus.wrong[2] == 1 and bus.energy[2] == 7000
    assert bus.flag[0] == OK and bus.reporting() == 1
    assert bad - good <= 200 + 10, (good, bad)  # the silent meter's timeout, its power unasked
