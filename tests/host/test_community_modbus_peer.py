"""The simulated Modbus community line (host_tools/sim/chips/modbus_bus.py) as outside masters
see it, over a real serial line (CPython only).

Five meter models of three makes (Chint DDSU666, Eastron SDM120 and SDM630) share ONE
pseudo-terminal (test_meter_models_peer.PtyMeter serving the line's respond()): every request
reaches every meter, each answers its own unit id only. minimalmodbus 2.1.1 and pymodbus 3.16's
ModbusSerialClient, as masters on that one port, read each unit's import energy and power at the
addresses, function codes and units its datasheet gives (written here, not taken from the
models' tables). A unit not on the line, a silent meter and two devices answering one id (a
collision: the CRC fails) are what a master on a real multi-drop bus meets: no reply, no
reply, an invalid frame; never another meter's value.
"""

import minimalmodbus
import pytest
from pymodbus.client import ModbusSerialClient
from test_meter_models_peer import PtyMeter, f32

from host_tools.sim.chips.modbus_bus import ModbusBusPeer
from host_tools.sim.chips.modbus_meter import ModbusMeterModel

# unit id, model, its datasheet's (fc, import energy kWh address), (fc, power address, W per unit)
LINE = [
    (1, "ddsu666", (3, 0x4000), (3, 0x2004, 1000.0)),  # Chint: FC03, power in kW
    (2, "sdm120", (4, 0x0048), (4, 0x000C, 1.0)),  # Eastron: input registers, W
    (7, "sdm630", (4, 0x0048), (4, 0x0034, 1.0)),  # 30053 total system power
    (12, "sdm120", (4, 0x0048), (4, 0x000C, 1.0)),
    (21, "ddsu666", (3, 0x4000), (3, 0x2004, 1000.0)),
]


def _truth(i):
    return 1000.0 + 111.25 * i, 500.0 + 1250.5 * i  # kWh, W: a different value per meter


@pytest.fixture
def bus():
    models = []
    for i, (unit, name, _, _) in enumerate(LINE):
        kwh, w = _truth(i)
        models.append(ModbusMeterModel(unit, name, energy_kwh=kwh, power_w=w))
    peer = ModbusBusPeer(models)
    pty = PtyMeter(peer)
    yield peer, pty.port
    pty.close()


def _instrument(port, unit):
    inst = minimalmodbus.Instrument(port, unit, mode=minimalmodbus.MODE_RTU)
    inst.serial.baudrate = 9600
    inst.serial.timeout = 0.3
    inst.clear_buffers_before_each_transaction = True
    return inst


def test_minimalmodbus_reads_each_unit_on_the_shared_line(bus):
    peer, port = bus
    for i, (unit, _name, (efc, ereg), (pfc, preg, per)) in enumerate(LINE):
        kwh, w = _truth(i)
        inst = _instrument(port, unit)
        try:
            assert inst.read_float(ereg, efc, 2) == f32(kwh), unit
            assert inst.read_float(preg, pfc, 2) == f32(w / per), unit
        finally:
            inst.serial.close()
    assert peer.collisions == 0
    stranger = _instrument(port, 3)  # no meter has unit id 3
    try:
        with pytest.raises(minimalmodbus.NoResponseError):
            stranger.read_float(0x0048, 4, 2)
    finally:
        stranger.serial.close()


def test_pymodbus_reads_each_unit_on_the_shared_line(bus):
    _, port = bus
    client = ModbusSerialClient(port, baudrate=9600, timeout=0.3, retries=0)
    assert client.connect()
    try:
        for i, (unit, _name, (efc, ereg), _) in enumerate(LINE):
            read = client.read_input_registers if efc == 4 else client.read_holding_registers
            rr = read(ereg, count=2, device_id=unit)
            assert not rr.isError(), (unit, rr)
            got = client.convert_from_registers(
                rr.registers, client.DATATYPE.FLOAT32, word_order="big"
            )
            assert got == f32(_truth(i)[0]), unit
    finally:
        client.close()


def test_silence_and_a_collision_as_a_master_meets_them(bus):
    peer, port = bus
    peer.set_fault(7, "silent")
    peer.set_fault(12, "collide")
    silent = _instrument(port, 7)
    twin = _instrument(port, 12)
    neighbour = _instrument(port, 2)
    try:
        with pytest.raises(minimalmodbus.NoResponseError):
            silent.read_float(0x0048, 4, 2)
        with pytest.raises(minimalmodbus.InvalidResponseError):
            twin.read_float(0x0048, 4, 2)  # the two replies ANDed: the CRC fails
        assert neighbour.read_float(0x0048, 4, 2) == f32(_truth(1)[0])  # unaffected
        peer.clear_fault(7)
        peer.set_fault(12, "bus errors")
        assert silent.read_float(0x0048, 4, 2) == f32(_truth(2)[0])
        with pytest.raises(minimalmodbus.InvalidResponseError):
            twin.read_float(0x0048, 4, 2)  # a flipped byte: the CRC fails
    finally:
        for inst in (silent, twin, neighbour):
            inst.serial.close()
    assert peer.collisions >= 1
