"""Our Modbus RTU framing against pymodbus's, byte for byte, both ways (CPython only).

- requests: the bytes our master puts on the wire equal pymodbus's FramerRTU.buildFrame() of
  the same ReadHoldingRegistersRequest / ReadInputRegistersRequest, and pymodbus's server-side
  framer decodes them to the same unit, function, address and count;
- replies: pymodbus-built normal and exception replies, fed through the fake UART, are parsed
  by our master (registers, exception code); the meter model's replies equal pymodbus's
  encoding of the same registers or exception, byte for byte;
- the CRC equals pymodbus's table CRC over random data;
- pymodbus's own slave logic (SimCore over a SimDevice, asyncio-free use of
  datastore_update) stands in for an SDM120 behind the fake UART, on the virtual clock: our
  Meter reads it, and its exception 02 for an address it lacks comes back as DEVICE_ERROR.
"""

import asyncio
import random
import struct

import pytest
from pymodbus.client.mixin import ModbusClientMixin
from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU, ExceptionResponse
from pymodbus.pdu.register_message import (
    ReadHoldingRegistersRequest,
    ReadHoldingRegistersResponse,
    ReadInputRegistersRequest,
    ReadInputRegistersResponse,
)
from pymodbus.simulator.simcore import SimCore
from pymodbus.simulator.simdata import DataType, SimData
from pymodbus.simulator.simdevice import SimDevice

from host_tools.sim.chips.modbus_meter import ModbusMeterModel
from host_tools.sim.chips.uart import FakeUART, VirtualClock
from sunprint.drivers.modbus import (
    DATA,
    DDSU666,
    SDM120,
    Meter,
    ModbusRTU,
    crc16,
)
from sunprint.quality import DEVICE_ERROR, NO_ANSWER, OK

REQUEST = {3: ReadHoldingRegistersRequest, 4: ReadInputRegistersRequest}
RESPONSE = {3: ReadHoldingRegistersResponse, 4: ReadInputRegistersResponse}


def client_framer():
    return FramerRTU(DecodePDU(False))


def server_framer():
    return FramerRTU(DecodePDU(True))


class Silent:
    def respond(self, req, n, out):
        return 0


class Replay:
    """A peer that answers with fixed bytes (pymodbus-built)."""

    def __init__(self, frame):
        self.frame = frame

    def respond(self, req, n, out):
        out[: len(self.frame)] = self.frame
        return len(self.frame)


class PymodbusSlave:
    """pymodbus as the meter: its server framer and its datastore logic, no transport."""

    def __init__(self, device):
        self.unit = device.id
        self.core = SimCore(device)
        self.framer = server_framer()
        self.loop = asyncio.new_event_loop()

    def respond(self, req, n, out):
        _, pdu = self.framer.handleFrame(bytes(req[:n]), 0, 0)
        if pdu is None or pdu.dev_id != self.unit:
            return 0
        reply = self.loop.run_until_complete(pdu.datastore_update(self.core, pdu.dev_id))
        reply.dev_id = pdu.dev_id
        frame = self.framer.buildFrame(reply)
        out[: len(frame)] = frame
        return len(frame)

    def close(self):
        self.loop.close()


def rig(peer, retries=0):
    clock = VirtualClock(1000)
    uart = FakeUART(clock, peer)
    uart.record = True
    mb = ModbusRTU(uart, retries=retries, ticks_ms=clock.ticks_ms, sleep_ms=clock.sleep_ms)
    return uart, mb


def test_crc16_equals_pymodbus():
    rnd = random.Random(1)
    for n in list(range(0, 40)) + [255, 256]:
        data = bytes(rnd.randrange(256) for _ in range(n))
        c = crc16(data)
        # pymodbus returns the CRC as the two wire bytes read big-endian (low byte first)
        assert FramerRTU.compute_CRC(data) == ((c & 0xFF) << 8) | (c >> 8), data.hex()


REQUEST_CASES = [
    (1, 4, 0x0000, 2),
    (1, 4, 0x0156, 2),
    (1, 4, 0x0000, 14),
    (1, 3, 0x2000, 6),
    (17, 3, 0x4000, 2),
    (247, 4, 0x2006, 20),
    (1, 3, 0x0000, 125),
    (5, 4, 0xFFFF, 1),
    (200, 3, 0x1234, 60),
]


@pytest.mark.parametrize("unit,fc,address,count", REQUEST_CASES)
def test_our_requests_are_pymodbus_requests(unit, fc, address, count):
    uart, mb = rig(Silent())
    assert mb.read_registers(unit, address, count, fc) == NO_ANSWER
    ours = uart.requests_seen[0]
    theirs = client_framer().buildFrame(REQUEST[fc](address=address, count=count, dev_id=unit))
    assert ours == theirs
    used, pdu = server_framer().handleFrame(ours, 0, 0)
    assert used == 8 and pdu is not None
    assert (pdu.dev_id, pdu.function_code, pdu.address, pdu.count) == (unit, fc, address, count)


@pytest.mark.parametrize("seed", range(12))
def test_pymodbus_replies_parsed_by_our_master(seed):
    rnd = random.Random(seed)
    fc = rnd.choice((3, 4))
    unit = rnd.randrange(1, 248)
    count = rnd.choice((1, 2, 7, 60, 125))
    address = rnd.randrange(0, 0x10000 - count)
    registers = [rnd.randrange(0x10000) for _ in range(count)]
    frame = client_framer().buildFrame(RESPONSE[fc](registers=registers, dev_id=unit))
    uart, mb = rig(Replay(frame))
    assert mb.read_registers(unit, address, count, fc) == OK
    got = [(mb.buf[DATA + 2 * i] << 8) | mb.buf[DATA + 2 * i + 1] for i in range(count)]
    assert got == registers
    assert bytes(mb.buf[: len(frame)]) == frame


@pytest.mark.parametrize("code", [1, 2, 3, 4, 6, 11])
@pytest.mark.parametrize("fc", [3, 4])
def test_pymodbus_exception_replies_parsed_by_our_master(fc, code):
    frame = client_framer().buildFrame(ExceptionResponse(fc, code, device_id=9))
    assert len(frame) == 5 and frame[1] == fc | 0x80
    uart, mb = rig(Replay(frame), retries=2)
    assert mb.read_registers(9, 0x0010, 2, fc) == DEVICE_ERROR
    assert mb.last_exception == code
    assert uart.requests == 1  # not retried


def test_model_replies_equal_pymodbus_encoding():
    model = ModbusMeterModel(
        1, "sdm120", power_w=1234.5, energy_kwh=5678.9, voltage_v=230.1, current_a=5.37
    )
    uart, mb = rig(model)
    cases = [(0x0000, 14), (0x000C, 2), (0x0156, 2), (0x0000, 60), (0x0048, 4)]
    for address, count in cases:
        assert mb.read_registers(1, address, count, 4) == OK
    for (_address, count), reply in zip(cases, uart.replies_sent, strict=True):
        used, pdu = client_framer().handleFrame(reply, 1, 0)
        assert used == len(reply) and isinstance(pdu, ReadInputRegistersResponse)
        assert len(pdu.registers) == count
        rebuilt = client_framer().buildFrame(
            ReadInputRegistersResponse(registers=pdu.registers, dev_id=1)
        )
        assert rebuilt == reply
    # the values, decoded by pymodbus from the power reply
    _, pdu = client_framer().handleFrame(uart.replies_sent[1], 1, 0)
    watts = ModbusClientMixin.convert_from_registers(
        pdu.registers, ModbusClientMixin.DATATYPE.FLOAT32
    )
    assert watts == pytest.approx(1234.5)
    # exception replies: illegal address (02), too many registers (03), busy (06)
    out = bytearray(300)
    for req, code in (
        (ReadInputRegistersRequest(address=0x1000, count=2, dev_id=1), 2),
        (ReadInputRegistersRequest(address=0x0000, count=61, dev_id=1), 3),
        (ReadHoldingRegistersRequest(address=0x0000, count=2, dev_id=1), 2),
    ):
        frame = client_framer().buildFrame(req)
        n = model.respond(frame, len(frame), out)
        theirs = client_framer().buildFrame(ExceptionResponse(req.function_code, code, device_id=1))
        assert bytes(out[:n]) == theirs
    model.busy = True
    frame = client_framer().buildFrame(ReadInputRegistersRequest(address=0, count=2, dev_id=1))
    n = model.respond(frame, len(frame), out)
    assert bytes(out[:n]) == client_framer().buildFrame(ExceptionResponse(4, 6, device_id=1))


def sdm120_device(volts, amps, watts, kwh):
    ir = [
        SimData(0x0000, values=[volts], datatype=DataType.FLOAT32),
        SimData(0x0002, count=4, values=0, datatype=DataType.REGISTERS),
        SimData(0x0006, values=[amps], datatype=DataType.FLOAT32),
        SimData(0x0008, count=4, values=0, datatype=DataType.REGISTERS),
        SimData(0x000C, values=[watts], datatype=DataType.FLOAT32),
        SimData(0x000E, count=0x50 - 0x0E, values=0, datatype=DataType.REGISTERS),
        SimData(0x0156, values=[kwh, 0.0], datatype=DataType.FLOAT32),
    ]
    nothing = [SimData(0, values=0, datatype=DataType.REGISTERS)]
    bits = [SimData(0, values=False, datatype=DataType.BITS)]
    return SimDevice(id=1, simdata=(bits, bits, nothing, ir))


def test_meter_reads_the_pymodbus_slave():
    slave = PymodbusSlave(sdm120_device(230.1, 5.37, -1234.5, 5678.9))
    try:
        uart, mb = rig(slave, retries=2)
        m = Meter(mb, 1, SDM120)
        assert m.poll() == OK
        assert (m.power_mw, m.energy_wh, m.voltage_mv, m.current_ma) == (
            -1234500,
            5678900,
            230100,
            5370,
        )
        assert uart.requests == 2 and mb.retry_count == 0
        # pymodbus decodes the same float and we agree on its milli-units
        _, pdu = client_framer().handleFrame(uart.replies_sent[0], 1, 0)
        volts = ModbusClientMixin.convert_from_registers(
            pdu.registers[0:2], ModbusClientMixin.DATATYPE.FLOAT32
        )
        assert round(volts * 1000) == m.voltage_mv
        # an address pymodbus's slave does not have: its exception 02, no retry
        assert Meter(mb, 1, DDSU666).poll() == DEVICE_ERROR
        assert mb.last_exception == 2
        assert uart.requests == 3
        # another unit id: pymodbus stays silent
        assert mb.read_registers(2, 0x0000, 2, 4) == NO_ANSWER
    finally:
        slave.close()


def test_pymodbus_reply_with_leading_noise():
    frame = client_framer().buildFrame(ReadInputRegistersResponse(registers=[0x4366, 0], dev_id=1))
    uart, mb = rig(Replay(b"\x00\xff" + frame))
    assert mb.read_registers(1, 0, 2, 4) == OK
    assert mb.noise_bytes == 2
    # pymodbus's own framer drops these bytes whole: 00 FF reads as an exception reply from
    # unit 0 whose CRC fails, and it discards the buffer. Our master takes the valid tail.
    assert client_framer().handleFrame(b"\x00\xff" + frame, 1, 0)[1] is None
    assert struct.unpack(">f", bytes(mb.buf[DATA : DATA + 4]))[0] == 230.0
