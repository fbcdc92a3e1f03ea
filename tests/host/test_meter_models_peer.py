"""The Modbus meter models as outside masters see them, over a real serial line (CPython only).

Each model sits on the far end of a pseudo-terminal (os.openpty, a thread serving its
respond()), and two Modbus RTU masters the project did not write read it through the pty's
device file as they would read a meter on a USB RS-485 adapter: minimalmodbus 2.1.1 and
pymodbus 3.16's ModbusSerialClient. For a set physical state (power, voltage, current,
import and export energy, frequency) the floats they decode must be what each datasheet
says the register holds, in the datasheet's unit, function code and word order (all four
meters: IEEE 754 float32, high word first). The expected values are written here from the
datasheets (the sources are cited in host_tools/sim/chips/modbus_maps.py), not computed with the
model's tables, so a wrong address, scale or word order in a model fails here.

tests/host/test_modbus_pymodbus.py already checks the framing byte for byte against pymodbus
(CRC, request and exception frames, the reply encoding) without a serial line.
"""

import os
import select
import struct
import threading
import tty

import minimalmodbus
import pytest
from pymodbus.client import ModbusSerialClient
from pymodbus.exceptions import ModbusIOException

from host_tools.sim.chips.modbus_meter import ModbusMeterModel

# The physical truth every meter is set to.
VOLTS = 231.4
AMPS = 10.25
WATTS = 2345.6
IMPORT_KWH = 1234.5
EXPORT_KWH = 12.5
HZ = 50.0


def f32(x):
    """x as the meter's float32 holds it."""
    return struct.unpack(">f", struct.pack(">f", x))[0]


# type -> (function codes the measurements are read with, [(address, datasheet value)])
DATASHEET = {
    # Eastron SDM120: input registers (FC04), V, A, W, Hz, kWh; 30343 total = import + export
    "sdm120": (
        (4,),
        [
            (0x0000, VOLTS),
            (0x0006, AMPS),
            (0x000C, WATTS),
            (0x0046, HZ),
            (0x0048, IMPORT_KWH),
            (0x004A, EXPORT_KWH),
            (0x0156, IMPORT_KWH + EXPORT_KWH),
        ],
    ),
    # Eastron SDM630: phase 1-3 volts and amps, phase powers, 30053 total system power
    "sdm630": (
        (4,),
        [
            (0x0000, VOLTS),
            (0x0002, VOLTS),
            (0x0004, VOLTS),
            (0x0006, AMPS),
            (0x000C, WATTS / 3),
            (0x0010, WATTS / 3),
            (0x0034, WATTS),
            (0x0048, IMPORT_KWH),
            (0x0156, IMPORT_KWH + EXPORT_KWH),
        ],
    ),
    # Chint DDSU666: FC03 (manual) and FC04 (Tasmota); active power in kW
    "ddsu666": (
        (3, 4),
        [
            (0x2000, VOLTS),
            (0x2002, AMPS),
            (0x2004, WATTS / 1000),
            (0x200E, HZ),
            (0x4000, IMPORT_KWH),
            (0x400A, EXPORT_KWH),
        ],
    ),
    # Chint DTSU666: 0.1 V, mA, 0.1 W, 0.01 Hz; energy kWh at 0x4000 (OpenEMS)
    "dtsu666": (
        (3, 4),
        [
            (0x2006, VOLTS * 10),
            (0x200A, VOLTS * 10),
            (0x200C, AMPS * 1000),
            (0x2012, WATTS * 10),
            (0x2014, WATTS * 10 / 3),
            (0x2044, HZ * 100),
            (0x4000, IMPORT_KWH),
        ],
    ),
    # the DTSU666 firmware with ImpEp at 0x401E and ExpEp at 0x4028
    "dtsu666@401E": ((3, 4), [(0x2012, WATTS * 10), (0x401E, IMPORT_KWH), (0x4028, EXPORT_KWH)]),
    # the manual's copy: ImpEp 0x101E, ExpEp 0x1028
    "dtsu666@101E": ((3, 4), [(0x200C, AMPS * 1000), (0x101E, IMPORT_KWH), (0x1028, EXPORT_KWH)]),
}


class PtyMeter:
    """A meter model behind a pseudo-terminal: `port` is the device a master opens."""

    def __init__(self, model):
        self.model = model
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.port = os.ttyname(self.slave)
        self.frames = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        # A frame ends when the line has been quiet 10 ms (t3.5 is 4 ms at 9600 baud; a pty
        # delivers a write at once).
        frame = bytearray()
        out = bytearray(300)
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.01)
            if ready:
                try:
                    frame += os.read(self.master, 512)
                except OSError:
                    return
                continue
            if frame:
                self.frames += 1
                n = self.model.respond(bytes(frame), len(frame), out)
                if n:
                    os.write(self.master, bytes(out[:n]))
                frame.clear()

    def close(self):
        self._stop.set()
        self._thread.join(2)
        os.close(self.master)
        os.close(self.slave)


def _model(name, unit=1):
    return ModbusMeterModel(
        unit,
        name,
        power_w=WATTS,
        energy_kwh=IMPORT_KWH,
        export_kwh=EXPORT_KWH,
        voltage_v=VOLTS,
        current_a=AMPS,
        frequency_hz=HZ,
    )


@pytest.fixture
def line(request):
    meters = []

    def open_line(name, unit=1):
        m = PtyMeter(_model(name, unit))
        meters.append(m)
        return m

    yield open_line
    for m in meters:
        m.close()


def _minimalmodbus(port, unit=1):
    inst = minimalmodbus.Instrument(port, unit, mode=minimalmodbus.MODE_RTU)
    inst.serial.baudrate = 9600
    inst.serial.timeout = 0.3
    inst.clear_buffers_before_each_transaction = True
    return inst


@pytest.mark.parametrize("name", sorted(DATASHEET))
def test_minimalmodbus_reads_the_datasheet_values(line, name):
    meter = line(name)
    inst = _minimalmodbus(meter.port)
    try:
        fcs, registers = DATASHEET[name]
        for fc in fcs:
            for address, value in registers:
                got = inst.read_float(address, fc, 2, minimalmodbus.BYTEORDER_BIG)
                assert got == f32(value), (name, fc, hex(address), got, value)
                # high word first: the first register is the float's top 16 bits
                words = inst.read_registers(address, 2, fc)
                assert struct.pack(">HH", *words) == struct.pack(">f", value), hex(address)
    finally:
        inst.serial.close()


@pytest.mark.parametrize("name", sorted(DATASHEET))
def test_pymodbus_client_reads_the_datasheet_values(line, name):
    meter = line(name)
    client = ModbusSerialClient(meter.port, baudrate=9600, timeout=0.3, retries=0)
    assert client.connect()
    try:
        fcs, registers = DATASHEET[name]
        for fc in fcs:
            read = client.read_input_registers if fc == 4 else client.read_holding_registers
            for address, value in registers:
                rr = read(address, count=2, device_id=1)
                assert not rr.isError(), (name, fc, hex(address), rr)
                got = client.convert_from_registers(
                    rr.registers, client.DATATYPE.FLOAT32, word_order="big"
                )
                assert got == f32(value), (name, fc, hex(address), got, value)
    finally:
        client.close()


def test_a_block_read_in_one_request(line):
    # ESPHome's sdm_meter reads voltage..energy of an SDM meter in one request from 0x0000;
    # the model allows 60 registers (Eastron: 30 parameters a request), so 0x0000..0x003B.
    inst = _minimalmodbus(line("sdm630").port)
    try:
        regs = inst.read_registers(0, 60, 4)
        floats = struct.unpack(">30f", struct.pack(">60H", *regs))
        assert floats[0] == f32(VOLTS) and floats[3] == f32(AMPS)
        assert floats[26] == f32(WATTS)  # 30053 total system power: parameter 27
        assert floats[1] == f32(VOLTS) and floats[2] == f32(VOLTS)
    finally:
        inst.serial.close()


def test_exceptions_and_silence_as_the_masters_see_them(line):
    sdm = line("sdm120")
    inst = _minimalmodbus(sdm.port)
    try:
        # Eastron's measurements are input registers only: a holding read of them fails
        with pytest.raises(minimalmodbus.IllegalRequestError, match="illegal data address"):
            inst.read_float(0x000C, 3)
        with pytest.raises(minimalmodbus.IllegalRequestError, match="illegal data address"):
            inst.read_float(0x1000, 4)  # nothing there
        with pytest.raises(minimalmodbus.IllegalRequestError, match="illegal data value"):
            inst.read_registers(0, 62, 4)  # 31 parameters: above Eastron's 30
        sdm.model.busy = True
        with pytest.raises(minimalmodbus.SlaveDeviceBusyError):
            inst.read_float(0x000C, 4)
        sdm.model.busy = False
    finally:
        inst.serial.close()
    other = _minimalmodbus(sdm.port, unit=7)  # another unit id: the meter stays silent
    try:
        with pytest.raises(minimalmodbus.NoResponseError):
            other.read_float(0x000C, 4)
    finally:
        other.serial.close()
    client = ModbusSerialClient(sdm.port, baudrate=9600, timeout=0.3, retries=0)
    assert client.connect()
    try:
        rr = client.read_holding_registers(0x000C, count=2, device_id=1)
        assert rr.isError() and rr.exception_code == 2
        with pytest.raises(ModbusIOException):
            client.read_input_registers(0x000C, count=2, device_id=9)
    finally:
        client.close()


def test_energy_counts_in_the_direction_the_power_flows(line):
    # Import counts while power flows in, export while it flows out, total is their sum, and
    # neither counts down (Eastron: "Total kWh equals to Import + export").
    meter = line("sdm120")
    inst = _minimalmodbus(meter.port)
    try:
        model = meter.model
        model.set(power_w=3600.0)
        model.advance(1800)  # 1.8 kWh in
        model.set(power_w=-1200.0)
        model.advance(3600)  # 1.2 kWh out
        imp = inst.read_float(0x0048, 4)
        exp = inst.read_float(0x004A, 4)
        total = inst.read_float(0x0156, 4)
        assert imp == f32(IMPORT_KWH + 1.8)
        assert exp == f32(EXPORT_KWH + 1.2)
        assert total == f32(IMPORT_KWH + 1.8 + EXPORT_KWH + 1.2)
        assert inst.read_float(0x000C, 4) == f32(-1200.0)
    finally:
        inst.serial.close()
