# Modbus RTU master and Meter (sunprint.drivers.modbus) against the UART and meter models
# (host_tools.sim.chips.uart, host_tools.sim.chips.modbus_meter) on a virtual clock. Plain test_* functions
# with bare asserts: runs under pytest and inside MicroPython.
import gc
import struct

from null_bus import SilentUART

from host_tools.sim.chips import uart as wire
from host_tools.sim.chips.modbus_meter import ModbusMeterModel
from host_tools.sim.chips.uart import FakePin, FakeUART, VirtualClock
from sunprint.core.ledger import Ledger
from sunprint.drivers.modbus import (
    BAD_NAN,
    BAD_RANGE,
    DATA,
    DDSU666,
    DTSU666_ENERGY_401E,
    SDM120,
    SDM630,
    Meter,
    ModbusRTU,
    crc16,
    dtsu666,
    f32,
    f32_to_int,
    s16,
    s32,
    u16,
    u32,
    with_energy,
)
from sunprint.quality import (
    BAD_FRAME,
    DEVICE_ERROR,
    NO_ANSWER,
    NOT_A_NUMBER,
    NOT_READY,
    OK,
    OUT_OF_RANGE,
)

# SDM120, power and energy only: two requests of 2 registers each, the pair a stale reply
# could confuse.
SDM120_PE = {
    "power": SDM120["power"],
    "energy": SDM120["energy"],
    "_readable": SDM120["_readable"],
}


def _rig(meter="sdm120", baudrate=9600, with_de=True, **truth):
    # meter: the model's own type name or table (host_tools.sim.chips.modbus_meter), never a map of
    # the driver's: the driver is checked against the datasheet's registers.
    clock = VirtualClock(1000)
    de = FakePin(clock) if with_de else None
    model = ModbusMeterModel(1, meter, **truth)
    uart = FakeUART(clock, model, baudrate=baudrate, de=de)
    mb = ModbusRTU(uart, de=de, baudrate=baudrate, ticks_ms=clock.ticks_ms, sleep_ms=clock.sleep_ms)
    return clock, de, model, uart, mb


class _Scripted:
    """A peer that answers every request with the same bytes."""

    def __init__(self, reply):
        self.reply = reply
        self.requests = 0

    def respond(self, req, n, out):
        self.requests += 1
        for i in range(len(self.reply)):
            out[i] = self.reply[i]
        return len(self.reply)


def _framed(body):
    b = bytearray(body) + bytearray(2)
    c = wire.crc16(b, len(body))
    b[-2] = c & 0xFF
    b[-1] = c >> 8
    return b


def _lcg(seed):
    return (seed * 1103515245 + 12345) & 0x7FFFFFFF


# --- CRC ---


def test_crc16_known_vectors():
    # Read 10 holding registers from unit 1: the CRC is 0xCDC5, sent low byte first: C5 CD.
    assert crc16(bytes([0x01, 0x03, 0x00, 0x00, 0x00, 0x0A])) == 0xCDC5
    # SDM120 voltage read, 01 04 00 00 00 02 71 CB on the wire
    assert crc16(bytes([0x01, 0x04, 0x00, 0x00, 0x00, 0x02])) == 0xCB71
    assert crc16(b"123456789") == 0x4B37  # the CRC-16/MODBUS check value
    assert crc16(b"") == 0xFFFF
    framed = bytes([0x01, 0x03, 0x00, 0x00, 0x00, 0x0A, 0xC5, 0xCD])
    assert crc16(framed) == 0  # a frame with its CRC appended checks to zero
    assert crc16(framed, 2, 4) == crc16(bytes([0, 0]))


def test_crc16_table_matches_bitwise_reference():
    seed = 7
    data = bytearray(300)
    for i in range(len(data)):
        seed = _lcg(seed)
        data[i] = seed >> 16 & 0xFF
    for n in (0, 1, 2, 7, 8, 64, 255, 300):
        assert crc16(data, 0, n) == wire.crc16(data, n), n


# --- requests ---


def test_request_bytes_on_the_wire():
    clock, de, model, uart, mb = _rig()
    uart.record = True
    assert mb.read_registers(1, 0x0000, 2, 4) == OK
    assert mb.read_registers(1, 0x0156, 2, 4) == OK
    assert mb.read_registers(1, 0x000C, 2) == DEVICE_ERROR  # FC03: no holding registers here
    assert uart.requests_seen[0] == bytes([0x01, 0x04, 0x00, 0x00, 0x00, 0x02, 0x71, 0xCB])
    r = uart.requests_seen[1]
    assert r[:6] == bytes([0x01, 0x04, 0x01, 0x56, 0x00, 0x02])
    assert crc16(r) == 0
    assert uart.requests_seen[2][:2] == bytes([0x01, 0x03])
    # the reply lands at buf[DATA:]: 230.0 V as float32 big-endian, high word first
    model.set(voltage_v=230.0)
    assert mb.read_registers(1, 0x0000, 2, 4) == OK
    assert mb.buf[DATA : DATA + 4] == bytes([0x43, 0x66, 0x00, 0x00])


def test_bad_arguments_raise_value_error():
    clock, de, model, uart, mb = _rig()
    for args in ((0, 0, 2, 4), (248, 0, 2, 4), (1, 0, 0, 4), (1, 0, 126, 4), (1, 0, 2, 6)):
        try:
            mb.read_registers(*args)
        except ValueError:
            pass
        else:
            raise AssertionError(args)
    try:
        mb.read_registers(1, 0xFFFF, 2, 4)
    except ValueError:
        pass
    else:
        raise AssertionError("address past 0xFFFF")


# --- decoding ---


def _f32_reference(b, scale):
    # exact round-half-away-from-zero of the float32's value * scale, with big ints
    e = ((b[0] & 0x7F) << 1) | (b[1] >> 7)
    if e == 0:
        return 0
    m = ((b[1] | 0x80) << 16) | (b[2] << 8) | b[3]
    num = m * scale
    sh = e - 150
    r = num << sh if sh >= 0 else (2 * num + (1 << -sh)) >> (1 - sh)
    return -r if b[0] & 0x80 else r


def test_f32_to_int_known_values():
    def enc(x):
        return struct.pack(">f", x)

    assert f32_to_int(enc(230.0), 0, 1000) == 230000
    assert f32_to_int(enc(-196.3), 0, 1000) == -196300
    assert f32_to_int(enc(0.1963), 0, 1000000) == 196300  # kW -> mW
    assert f32_to_int(enc(5678.9), 0, 1000) == 5678900
    assert f32_to_int(enc(0.0), 0, 1000) == 0
    assert f32_to_int(enc(-0.0), 0, 1000) == 0
    assert f32_to_int(enc(1.0), 0, 1) == 1
    assert f32_to_int(enc(0.5), 0, 1) == 1  # half away from zero
    assert f32_to_int(enc(-0.5), 0, 1) == -1
    assert f32_to_int(enc(0.4999), 0, 1) == 0
    assert f32_to_int(enc(2.5), 0, 1) == 3
    assert f32_to_int(enc(1e-30), 0, 1000000) == 0
    assert f32_to_int(bytes([0x00, 0x00, 0x00, 0x01]), 0, 1000) == 0  # subnormal
    assert f32_to_int(bytes([0x7F, 0xC0, 0x00, 0x00]), 0, 1000) == BAD_NAN
    assert f32_to_int(bytes([0x7F, 0x80, 0x00, 0x00]), 0, 1000) == BAD_NAN  # +inf
    assert f32_to_int(bytes([0xFF, 0x80, 0x00, 0x00]), 0, 1000) == BAD_NAN  # -inf
    assert f32_to_int(enc(268435.0), 0, 1000) == 268435000  # below 2**28
    assert f32_to_int(enc(268436.0), 0, 1000) == BAD_RANGE  # 2**28 or more
    assert f32_to_int(enc(-3e38), 0, 1000) == BAD_RANGE
    assert f32_to_int(enc(1.0), 0, 1 << 40) == BAD_RANGE  # big powers of two fold away
    assert f32_to_int(b"\x00\x00" + enc(230.0), 2, 1000) == 230000  # at an offset
    assert f32_to_int(enc(230.0), 0, 3**15) == BAD_RANGE  # odd part of the scale too big


def test_f32_to_int_matches_exact_reference():
    seed = 2024
    b = bytearray(4)
    n = 0
    for scale in (1, 10, 100, 1000, 1000000, 3, 15625):
        for _ in range(300):
            seed = _lcg(seed)
            b[0] = seed >> 8 & 0xFF
            seed = _lcg(seed)
            b[1] = seed >> 8 & 0xFF
            b[2] = seed >> 16 & 0xFF
            b[3] = seed >> 4 & 0xFF
            # bias the exponent towards useful values: 2**-20 .. 2**30
            b[0] = (b[0] & 0x80) | (0x35 + (b[0] & 0x0F))
            got = f32_to_int(b, 0, scale)
            ref = _f32_reference(b, scale)
            if abs(ref) >= 1 << 28:
                assert got == BAD_RANGE, (bytes(b), scale, got)
            else:
                assert got == ref, (bytes(b), scale, got, ref)
                n += 1
    assert n > 1000


def test_integer_helpers():
    b = bytes([0xFF, 0xFE, 0x00, 0x02, 0x80, 0x00, 0x00, 0x00])
    assert u16(b, 0) == 0xFFFE
    assert s16(b, 0) == -2
    assert s16(b, 2) == 2
    assert u32(b, 0) == 0xFFFE0002
    assert s32(b, 0) == -131070
    assert s32(b, 4) == -(1 << 31)
    assert u32(b, 4) == 1 << 31
    assert f32(struct.pack(">f", 1.5), 0) == 1.5


def test_meter_integer_register_types():
    regmap = {
        "power": (3, 0x10, 2, "s32", 100),  # 0.1 W -> mW
        "energy": (3, 0x12, 2, "u32", 10),  # 0.01 kWh -> Wh
        "voltage": (3, 0x14, 1, "u16", 100),  # 0.1 V -> mV
        "current": (3, 0x15, 1, "s16", 10),  # 0.01 A -> mA
        "_readable": ((3, 0x10, 6),),
    }
    # a made-up meter with integer registers, in the model's terms
    meter = {
        "name": "int-meter",
        "fcs": (3,),
        "phases": 1,
        "max_regs": 125,
        "blocks": ((0x10, 6),),
        "registers": (
            (0x10, "s32", "power", "0.1W"),
            (0x12, "u32", "energy_import", "0.01kWh"),
            (0x14, "u16", "voltage", "0.1V"),
            (0x15, "s16", "current", "0.01A"),
        ),
    }
    clock, de, model, uart, mb = _rig(
        meter, power_w=-1234.5, energy_kwh=98765.43, voltage_v=231.4, current_a=-5.37
    )
    m = Meter(mb, 1, regmap)
    assert m.requests_per_poll == 1
    assert m.poll() == OK
    assert (m.power_mw, m.energy_wh, m.voltage_mv, m.current_ma) == (
        -1234500,
        98765430,
        231400,
        -5370,
    )
    model.poke(3, 0x12, bytes([0xFF, 0xFF, 0xFF, 0xFF]))  # 42.9 million kWh: out of range
    assert m.poll() == OUT_OF_RANGE
    assert m.energy_wh == 98765430 and m.power_mw == -1234500


# --- faults ---


def test_every_fault_gives_its_flag():
    cases = (
        (wire.NONE, OK),
        (wire.NO_REPLY, NO_ANSWER),
        (wire.CRC, BAD_FRAME),
        (wire.GARBAGE, BAD_FRAME),
        (wire.PARTIAL, BAD_FRAME),
        (wire.WRONG_UNIT, BAD_FRAME),
        (wire.NOISE, OK),  # leading junk is skipped: the reply is the tail
        (wire.LATE, NO_ANSWER),
        (wire.EXCEPTION, DEVICE_ERROR),
        (wire.OSERROR, NO_ANSWER),
    )
    for fault, flag in cases:
        clock, de, model, uart, mb = _rig(power_w=500.0)
        uart.fault = fault
        got = mb.read_registers(1, 0x000C, 2, 4)
        assert got == flag, (wire.FAULT_NAMES[fault], got)
        assert de.value() == 0
        assert uart.de_violations == 0 and uart.gap_violations == 0, wire.FAULT_NAMES[fault]
        attempts = 1 if flag == OK or flag == DEVICE_ERROR else 3
        assert mb.retry_count == attempts - 1, (wire.FAULT_NAMES[fault], mb.retry_count)
        if fault == wire.EXCEPTION:
            assert mb.last_exception == 4 and mb.exceptions == 1
        if fault == wire.NOISE:
            assert mb.noise_bytes == 3
            assert f32_to_int(mb.buf, DATA, 1000) == 500000
        if fault == wire.OSERROR:
            assert mb.bus_errors == 3


def test_wrong_function_and_wrong_length_are_bad_frames():
    for body in (
        [0x01, 0x03, 0x04, 0x43, 0x66, 0x00, 0x00],  # FC03 reply to an FC04 request
        [0x01, 0x04, 0x02, 0x43, 0x66],  # 1 register instead of 2
        [0x01, 0x04, 0x06, 0x43, 0x66, 0x00, 0x00, 0x00, 0x00],  # 3 registers
        [0x01, 0x83, 0x02],  # an exception for another function
    ):
        clock = VirtualClock()
        peer = _Scripted(_framed(body))
        uart = FakeUART(clock, peer)
        mb = ModbusRTU(uart, ticks_ms=clock.ticks_ms, sleep_ms=clock.sleep_ms)
        assert mb.read_registers(1, 0, 2, 4) == BAD_FRAME, body
        assert peer.requests == 3


def test_exception_replies_of_the_model():
    clock, de, model, uart, mb = _rig()
    assert mb.read_registers(1, 0x1000, 2, 4) == DEVICE_ERROR
    assert mb.last_exception == 2  # illegal data address
    assert mb.read_registers(1, 0x0000, 61, 4) == DEVICE_ERROR
    assert mb.last_exception == 3  # more than 30 parameters
    model.busy = True
    assert mb.read_registers(1, 0x0000, 2, 4) == DEVICE_ERROR
    assert mb.last_exception == 6
    model.busy = False
    assert mb.read_registers(1, 0x0000, 2, 4) == OK
    assert mb.retry_count == 0  # an exception is an answer: never retried
    # the model as a slave, byte by byte
    out = bytearray(300)
    req = _framed([0x01, 0x10, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00])
    assert model.respond(req, len(req), out) == 5 and out[1] == 0x90 and out[2] == 1
    req = _framed([0x01, 0x04, 0x00, 0x00, 0x00, 0x02])
    assert model.respond(req, len(req), out) == 9
    req[3] ^= 1  # request CRC error: no reply
    assert model.respond(req, len(req), out) == 0 and model.crc_errors == 1
    req = _framed([0x02, 0x04, 0x00, 0x00, 0x00, 0x02])  # another unit: no reply
    assert model.respond(req, len(req), out) == 0
    req = _framed([0x00, 0x04, 0x00, 0x00, 0x00, 0x02])  # broadcast read: no reply
    assert model.respond(req, len(req), out) == 0


def test_one_fault_is_retried_and_recovers():
    clock, de, model, uart, mb = _rig(power_w=750.0)
    for fault in (wire.NO_REPLY, wire.CRC, wire.GARBAGE, wire.PARTIAL, wire.WRONG_UNIT):
        before = mb.retry_count
        uart.fault_once(fault)
        assert mb.read_registers(1, 0x000C, 2, 4) == OK, wire.FAULT_NAMES[fault]
        assert mb.retry_count == before + 1
        assert f32_to_int(mb.buf, DATA, 1000) == 750000
    # a late reply is drained before the retry, not taken for the retry's reply
    uart.fault_once(wire.LATE)
    assert mb.read_registers(1, 0x000C, 2, 4) == OK
    assert mb.stray_bytes == 9
    assert uart.gap_violations == 0 and uart.collisions == 0
    mb.retries = 0
    uart.fault_once(wire.CRC)
    assert mb.read_registers(1, 0x000C, 2, 4) == BAD_FRAME
    assert mb.transactions == 7 and mb.bad_frames == 5 and mb.no_answers == 2


def test_meter_keeps_last_values_and_recovers():
    clock, de, model, uart, mb = _rig(power_w=1500.0, energy_kwh=12.5)
    m = Meter(mb, 1, SDM120)
    assert m.flag == NOT_READY
    try:
        m.read_mw()
    except OSError:
        pass
    else:
        raise AssertionError("read_mw before any poll")
    assert m.poll() == OK
    assert m.read_mw() == 1500000 and m.total_mwh() == 12500000
    model.set(power_w=2000.0, energy_kwh=13.0)
    for fault, flag in ((wire.NO_REPLY, NO_ANSWER), (wire.CRC, BAD_FRAME)):
        uart.fault = fault
        assert m.poll() == flag
        assert m.flag == flag
        assert m.power_mw == 1500000 and m.energy_wh == 12500 and m.energy_count == 12500
        try:
            m.read_mw()
        except OSError as e:
            assert e.args[0] == (110 if flag == NO_ANSWER else 5)
        else:
            raise AssertionError("read_mw after a failed poll")
        assert m.total_mwh() == 12500000  # the last good total
    uart.fault = wire.NONE
    assert m.poll() == OK
    assert m.read_mw() == 2000000 and m.energy_wh == 13000


def test_meter_nan_and_inf_are_not_a_number():
    clock, de, model, uart, mb = _rig(power_w=800.0, energy_kwh=3.0)
    m = Meter(mb, 1, SDM120)
    assert m.poll() == OK
    model.poke(4, 0x000C, bytes([0x7F, 0xC0, 0x00, 0x00]))  # power NaN
    assert m.poll() == NOT_A_NUMBER
    assert m.power_mw == 800000
    try:
        m.read_mw()
    except OSError:
        pass
    else:
        raise AssertionError("NaN power read")
    assert m.energy_wh == 3000  # the other fields still updated
    model.set(energy_kwh=4.0)
    model.poke(4, 0x000C, bytes([0xFF, 0x80, 0x00, 0x00]))  # -inf
    assert m.poll() == NOT_A_NUMBER and m.energy_wh == 4000
    model.set(power_w=900.0)
    assert m.poll() == OK and m.read_mw() == 900000


def test_total_mwh_polls_when_unknown_and_raises_when_it_cannot():
    clock, de, model, uart, mb = _rig(energy_kwh=1.234)
    m = Meter(mb, 1, SDM120)
    assert m.total_mwh() == 1234000 and m.polls == 1
    clock, de, model, uart, mb = _rig(energy_kwh=1.234)
    uart.fault = wire.NO_REPLY
    m = Meter(mb, 1, SDM120)
    try:
        m.total_mwh()
    except OSError as e:
        assert e.args[0] == 110
    else:
        raise AssertionError("total without a meter")


def test_500_polls_with_random_faults_never_raise_nor_lie():
    clock, de, model, uart, mb = _rig(power_w=100.0, energy_kwh=1.0)
    m = Meter(mb, 1, SDM120_PE)
    state = [99]

    def hook(n):
        s = _lcg(state[0])
        state[0] = s
        k = s >> 16 & 15
        return k if k <= wire.OSERROR else wire.NONE  # about 40 % clean replies

    uart.fault_hook = hook
    seen = {}
    seed = 5
    for i in range(500):
        seed = _lcg(seed)
        watts = (seed >> 8) % 5000
        kwh = 1.0 + i
        model.set(power_w=float(watts), energy_kwh=kwh)
        flag = m.poll()
        seen[flag] = seen.get(flag, 0) + 1
        assert flag in (OK, NO_ANSWER, BAD_FRAME, DEVICE_ERROR), flag
        if flag == OK:  # a poll that says OK has the truth, never a stale or foreign reply
            assert m.power_mw == watts * 1000, (i, m.power_mw, watts)
            assert m.energy_wh == int(kwh) * 1000, (i, m.energy_wh, kwh)
        assert de.value() == 0
    assert seen.get(OK, 0) > 100 and seen.get(DEVICE_ERROR, 0) > 0
    assert seen.get(NO_ANSWER, 0) + seen.get(BAD_FRAME, 0) > 0
    assert uart.de_violations == 0 and uart.gap_violations == 0 and uart.collisions == 0
    assert mb.retry_count > 100


# --- timing and the direction pin ---


def test_de_high_while_sending_low_after():
    for flush in (True, False):
        clock, de, model, uart, mb = _rig()
        if not flush:
            uart.flush = None  # a UART without flush(): the frame time from the baud rate
            mb = ModbusRTU(uart, de=de, ticks_ms=clock.ticks_ms, sleep_ms=clock.sleep_ms)
        for _ in range(5):
            assert mb.read_registers(1, 0x0000, 14, 4) == OK
            assert de.value() == 0
        assert uart.de_violations == 0, flush
        assert de.changes == 10  # one high and one low per request
        assert uart.requests == 5
    # negative control: dropping DE before the frame is out cuts it, the meter stays silent
    clock, de, model, uart, mb = _rig()
    req = _framed([0x01, 0x04, 0x00, 0x00, 0x00, 0x02])
    de.value(1)
    uart.write(req)
    clock.sleep_ms(5)  # 4 of 8 characters out
    de.value(0)
    clock.sleep_ms(300)
    assert uart.de_violations == 1 and uart.any() == 0 and model.crc_errors == 1


def test_inter_frame_gap_is_respected():
    for baud, gap_us in ((9600, 4010), (2400, 16042), (38400, 1750)):
        clock, de, model, uart, mb = _rig(baudrate=baud)
        m = Meter(mb, 1, SDM120)
        for _ in range(10):
            assert m.poll() == OK
            assert mb.read_registers(1, 0x0000, 2, 4) == OK
        assert uart.gap_violations == 0
        assert uart.min_gap_us >= gap_us, (baud, uart.min_gap_us)
        assert uart.min_gap_us < gap_us + 3000, (baud, uart.min_gap_us)  # and not much more
    # negative control: a frame sent right after a reply is counted
    clock, de, model, uart, mb = _rig(with_de=False)
    assert mb.read_registers(1, 0x0000, 2, 4) == OK
    uart.write(_framed([0x01, 0x04, 0x00, 0x00, 0x00, 0x02]))
    assert uart.gap_violations == 1


# --- meters end to end ---


def test_sdm120_end_to_end():
    clock, de, model, uart, mb = _rig(
        power_w=1234.5, energy_kwh=5678.9, voltage_v=230.1, current_a=5.37
    )
    m = Meter(mb, 1, SDM120)
    assert m.requests_per_poll == 2  # V, I, P in one request (0x0000..0x000D), energy apart
    assert m.poll() == OK
    assert uart.requests == 2
    assert (m.power_mw, m.energy_wh, m.voltage_mv, m.current_ma) == (1234500, 5678900, 230100, 5370)
    assert m.counts_per_kwh == 1000 and m.energy_count == 5678900
    model.set(power_w=-42.0)  # exporting: signed
    assert m.poll() == OK and m.read_mw() == -42000
    assert Meter(mb, 1, SDM120, max_gap=0).requests_per_poll == 4
    assert Meter(mb, 1, SDM120_PE).requests_per_poll == 2
    m2 = Meter(mb, 1, with_energy(SDM120, "energy_import"))
    assert m2.poll() == OK and m2.energy_wh == 5678900


def test_sdm630_uses_total_system_power():
    clock, de, model, uart, mb = _rig(
        "sdm630", power_w=9000.0, energy_kwh=100.0, voltage_v=229.0, current_a=13.1
    )
    m = Meter(mb, 1, SDM630)
    assert m.requests_per_poll == 3  # V and I; total power at 0x0034; energy
    assert m.poll() == OK
    assert (m.power_mw, m.energy_wh, m.voltage_mv, m.current_ma) == (9000000, 100000, 229000, 13100)


def test_ddsu666_power_in_kw():
    clock, de, model, uart, mb = _rig(
        "ddsu666", power_w=2500.0, energy_kwh=478.492, voltage_v=230.2, current_a=1.26
    )
    uart.record = True
    m = Meter(mb, 1, DDSU666)
    assert m.requests_per_poll == 2
    assert m.poll() == OK
    assert (m.power_mw, m.energy_wh, m.voltage_mv, m.current_ma) == (2500000, 478492, 230200, 1260)
    # the register holds kilowatts: 2.5 as float32
    assert uart.replies_sent[0][3 + 8 : 3 + 12] == struct.pack(">f", 2.5)
    assert uart.requests_seen[0][:6] == bytes([0x01, 0x03, 0x20, 0x00, 0x00, 0x06])
    model.set(power_w=-196.3)
    assert m.poll() == OK and m.power_mw == -196300


def test_dtsu666_energy_address_is_configurable():
    for addr in (0x4000, DTSU666_ENERGY_401E):
        regmap = dtsu666(addr)
        clock, de, model, uart, mb = _rig(
            "dtsu666@%04X" % addr, power_w=6543.2, energy_kwh=321.5, voltage_v=231.0, current_a=9.5
        )
        m = Meter(mb, 1, regmap)
        assert m.poll() == OK
        assert (m.power_mw, m.energy_wh, m.voltage_mv, m.current_ma) == (
            6543200,
            321500,
            231000,
            9500,
        )
    # a meter whose firmware has it at 0x401E, read at 0x4000: exception 02, say so
    clock, de, model, uart, mb = _rig("dtsu666@401E", energy_kwh=1.0)
    m = Meter(mb, 1, dtsu666(0x4000))
    assert m.poll() == DEVICE_ERROR and mb.last_exception == 2
    assert m.read_mw() == 0  # power came first and is fresh; energy is not
    try:
        m.total_mwh()
    except OSError:
        pass
    else:
        raise AssertionError("energy from an illegal address")


def test_meter_reset_rebases_the_ledger_counter():
    clock, de, model, uart, mb = _rig(power_w=3000.0, energy_kwh=5000.0)
    m = Meter(mb, 1, SDM120_PE)
    led = Ledger(counter_per_kwh=m.counts_per_kwh)
    t = 1000
    for _ in range(6):
        assert m.poll() == OK
        led.add_counter(t, m.energy_count)
        model.advance(600)  # 10 minutes at 3 kW: 0.5 kWh
        t += 600
    assert m.energy_count == 5002500
    model.reset()
    assert m.poll() == OK and m.energy_count == 0
    led.add_counter(t, m.energy_count)
    assert led.counter_resets == 0  # one reading back at 0 could be a glitch
    for _ in range(2):  # the new level stays for three readings: the ledger re-anchors
        model.advance(60)
        t += 60
        assert m.poll() == OK
        led.add_counter(t, m.energy_count)
    assert led.counter_resets == 1


# --- allocation ---


def _polls(meter, n):
    for _ in range(n):
        meter.poll()


def test_sdm120_poll_allocates_nothing():
    if not hasattr(gc, "mem_alloc"):
        return  # CPython: nothing to count (this test counts inside MicroPython)
    for regmap in (SDM120_PE, SDM120):
        clock, de, model, uart, mb = _rig(power_w=1234.5, energy_kwh=42.0)
        m = Meter(mb, 1, regmap)
        _polls(m, 3)  # warm up
        gc.collect()
        gc.disable()
        try:
            before = gc.mem_alloc()  # type: ignore[attr-defined]
            _polls(m, 20)
            used = gc.mem_alloc() - before  # type: ignore[attr-defined]
        finally:
            gc.enable()
        assert m.flag == OK and m.power_mw == 1234500
        assert used == 0, used


class _Runaway(Exception):
    pass


class _CountingUART(SilentUART):
    """A line nobody answers that stops the test (rather than hang it) after 20 requests."""

    def __init__(self):
        self.requests = 0

    def write(self, buf):
        self.requests += 1
        if self.requests > 20:
            raise _Runaway("still retrying after 20 requests")
        return len(buf)


def test_bad_constructor_arguments_are_refused_not_looped_on():
    # retries=-2 once counted down past zero forever (`while attempts:`), and the watchdog
    # reset the unit for good. A driver built without a profile must refuse it.
    for kw in ({"retries": -2}, {"retries": -1}, {"timeout_ms": 0}, {"baudrate": 0}):
        clock = VirtualClock(1000)
        uart = _CountingUART()
        try:
            mb = ModbusRTU(uart, ticks_ms=clock.ticks_ms, sleep_ms=clock.sleep_ms, **kw)
        except ValueError:
            continue
        except ZeroDivisionError as e:
            raise AssertionError("%r: %r" % (kw, e))
        try:
            mb.read_registers(1, 0, 2, 4)
        except _Runaway as e:
            raise AssertionError("%r: %s" % (kw, e))
        raise AssertionError("%r accepted" % (kw,))
