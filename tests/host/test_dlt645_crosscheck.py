"""DL/T 645-2007: our driver and meter model against an independent implementation, byte for byte.

The independent side is PyPI `dlt645` 3.2.0 (Chen Dongyu, Apache-2.0, pinned in the dev extras):
- its frame builder (`DLT645Protocol.build_frame`) and its client (`MeterClientService`, the
  requests it sends for read_00 / read_02 / read_address) against our driver's requests;
- its parser (`DLT645Protocol.deserialize`) and its client's value decoding (`handle_response`,
  BCD to float by the item's XX.XXXX format) on our meter model's replies;
- its meter emulator (`MeterServerService.handle_request`) answering our driver, and its replies
  against our model's, byte for byte.
Values are drawn at the items' resolution, where rounding (theirs) and truncation (ours) agree;
the one place they differ is pinned in test_rounding_is_where_the_two_differ.

CPython only: the package needs loguru and typing. The hand-checked and published frames that
need no package are in tests/firmware/test_dlt645.py (both interpreters).
"""

import random
import struct
import sys

from dlt645.common.transform import bcd_to_value, float_to_bcd
from dlt645.model.validators import validate_device
from dlt645.protocol.protocol import DLT645Protocol
from dlt645.service.clientsvc.client_service import MeterClientService
from dlt645.service.serversvc.server_service import MeterServerService

from host_tools.paths import ROOT
from host_tools.sim.chips.dlt645_meter import (
    DLT645MeterModel,
    VirtualClock,
    build_frame,
    encode_item,
    parse_frame,
    wire_address,
)
from sunprint.drivers.dlt645 import (
    CURRENT_A,
    DLT645,
    ENERGY_COMBINED,
    ENERGY_FORWARD,
    ENERGY_REVERSE,
    ERR_NO_DATA,
    POWER_TOTAL,
    VOLTAGE_A,
    format_address,
)
from sunprint.quality import DEVICE_ERROR, NO_ANSWER, OK

sys.path.insert(0, str(ROOT / "tests" / "firmware"))

from null_bus import CaptureUART  # noqa: E402

# identifier -> (decimals, model attribute, physical value of one count in the model's unit)
ITEMS = {
    ENERGY_FORWARD: (2, "energy_kwh", 1),
    POWER_TOTAL: (4, "power_w", 1000),  # the model takes W, the item is kW
    VOLTAGE_A: (1, "voltage_v", 1),
    CURRENT_A: (3, "current_a", 1),
}
# Largest count per item inside both implementations' ranges. Theirs treat every item as
# signed (energy up to 799999.99 kWh, voltage up to 799.9 V: their decoder reads the top bit of
# any item as a sign); the standard signs power and current only, and so do we.
LIMITS = {ENERGY_FORWARD: 79999999, POWER_TOTAL: 799999, VOLTAGE_A: 7999, CURRENT_A: 799999}
SIGNED = (POWER_TOTAL, CURRENT_A)


class _Peer:
    """A UART whose far end is a function: request bytes -> reply bytes (or None)."""

    def __init__(self, answer):
        self.answer = answer
        self.reply = b""

    def write(self, buf):
        self.reply = self.answer(bytes(buf)) or b""
        return len(buf)

    def flush(self):
        pass

    def any(self):
        return len(self.reply)

    def readinto(self, buf, n=-1):
        n = min(len(self.reply), len(buf), n if n >= 0 else len(buf))
        if not n:
            return None
        buf[:n] = self.reply[:n]
        self.reply = self.reply[n:]
        return n


class _ModelClient:
    """The transport their MeterClientService expects, with our meter model at the far end."""

    def __init__(self, model):
        self.model = model
        self.sent = []
        self._message_capture = None

    def _ensure_connection(self):
        return True

    def send_request(self, frame_bytes):
        self.sent.append(bytes(frame_bytes))
        return self.model.feed(bytes(frame_bytes))


def _driver(uart, **kw):
    clock = VirtualClock()
    return DLT645(uart, retries=0, ticks_ms=clock.ticks_ms, sleep_ms=clock.sleep_ms, **kw)


def _our_request(address, di, preamble=4):
    cap = CaptureUART()
    dlt = _driver(cap, address=address, preamble=preamble)
    assert (dlt.read(di) if di is not None else dlt.read_address()) == NO_ANSWER
    return cap.out[0]


def _random_address(rng):
    return "".join(rng.choice("0123456789") for _ in range(12))


def _random_count(rng, di):
    count = rng.randrange(LIMITS[di] + 1)
    if di in SIGNED and rng.random() < 0.5:
        count = -count
    return count


def _physical(di, count):
    decimals, _, per = ITEMS[di]
    return count * per / 10**decimals


_SERVER = []
_CLIENT = []


def _their_server(address, counts):
    # One emulator, re-addressed: each new one deep-copies its whole identifier table (~30 ms).
    if not _SERVER:
        _SERVER.append(MeterServerService(None))
    server = _SERVER[0]
    server.address = bytearray(wire_address(address))
    for di, count in counts.items():
        decimals = ITEMS[di][0]
        value = count / 10**decimals
        ok = server.set_00(di, value) if di == ENERGY_FORWARD else server.set_02(di, value)
        assert ok, (hex(di), value)
    return server


def _their_answer(server):
    def answer(request):
        return server.handle_request(DLT645Protocol.deserialize(request))

    return answer


def _their_client(model):
    if not _CLIENT:
        _CLIENT.append(MeterClientService(_ModelClient(model)))
    svc = _CLIENT[0]
    svc.client = _ModelClient(model)
    svc.address = bytearray(6)
    return svc, svc.client


def _model(address, counts, preamble=4):
    kw = {}
    for di, count in counts.items():
        kw[ITEMS[di][1]] = _physical(di, count)
    return DLT645MeterModel(address, preamble=preamble, **kw)


def _request_data(di):
    return struct.pack("<I", di)


# --- requests: ours == theirs ---


def test_requests_match_their_frame_builder():
    rng = random.Random(645)
    dis = list(ITEMS) + [rng.randrange(1 << 32) for _ in range(20)]
    for _ in range(50):
        address = _random_address(rng)
        wire = wire_address(address)
        for preamble in range(5):
            for di in dis:
                theirs = DLT645Protocol.build_frame(wire, 0x11, _request_data(di), preamble)
                assert _our_request(address, di, preamble) == bytes(theirs), (address, hex(di))
            theirs = DLT645Protocol.build_frame(b"\xaa" * 6, 0x13, b"", preamble)
            assert _our_request(address, None, preamble) == bytes(theirs)


def test_requests_match_their_client():
    rng = random.Random(2007)
    for _ in range(30):
        address = _random_address(rng)
        svc, client = _their_client(DLT645MeterModel(address))
        svc.address = bytearray(wire_address(address))  # their address is kept in wire order
        svc.read_00(ENERGY_FORWARD)
        svc.read_02(POWER_TOTAL)
        svc.read_02(VOLTAGE_A)
        svc.read_02(CURRENT_A)
        svc.read_address()
        ours = [_our_request(address, di) for di in (ENERGY_FORWARD, POWER_TOTAL, VOLTAGE_A)]
        ours += [_our_request(address, CURRENT_A), _our_request(address, None)]
        assert client.sent == ours


# --- our model's replies through their parser and decoder ---


def test_their_client_decodes_our_model():
    rng = random.Random(33)
    for _ in range(200):
        address = _random_address(rng)
        counts = {di: _random_count(rng, di) for di in ITEMS}
        model = _model(address, counts, preamble=rng.randrange(5))
        svc, client = _their_client(model)
        item = svc.read_address()
        assert item is not None and bytes(svc.address) == wire_address(address)
        for di, count in counts.items():
            decimals = ITEMS[di][0]
            read = svc.read_00 if di == ENERGY_FORWARD else svc.read_02
            item = read(di)
            assert item is not None, (address, hex(di), count)
            assert round(item.value * 10**decimals) == count, (hex(di), item.value, count)
            # Their parser, field by field, on the same reply bytes.
            reply = model.feed(client.sent[-1])
            frame = DLT645Protocol.deserialize(reply)
            assert bytes(frame.addr) == wire_address(address)
            assert frame.ctrl_code == 0x91
            assert bytes(frame.data[:4]) == _request_data(di)


def test_their_client_sees_our_error_reply():
    model = DLT645MeterModel("000000000001")
    svc, client = _their_client(model)
    svc.address = bytearray(wire_address("000000000001"))
    assert svc.read_02(0x02990000) is None  # an item our model does not have
    frame = DLT645Protocol.deserialize(model.feed(client.sent[-1]))
    assert frame.ctrl_code == 0xD1 and bytes(frame.data) == bytes((ERR_NO_DATA,))


# --- their meter emulator answering our driver ---


def test_our_driver_reads_their_meter():
    rng = random.Random(91)
    for _ in range(200):
        address = _random_address(rng)
        counts = {di: _random_count(rng, di) for di in ITEMS}
        server = _their_server(address, counts)
        dlt = _driver(_Peer(_their_answer(server)))
        assert dlt.read_address() == OK and dlt.address_str() == address
        for di, count in counts.items():
            assert dlt.read(di) == OK, (address, hex(di), count)
            assert dlt.value == count, (hex(di), dlt.value, count)


def test_our_driver_reads_their_error_reply():
    server = _their_server("000000000001", {})
    dlt = _driver(_Peer(_their_answer(server)), address="000000000001")
    assert dlt.read(0x02990000) == DEVICE_ERROR  # not in their data map either
    assert dlt.last_error == ERR_NO_DATA


# --- replies: our model == their meter, byte for byte ---


def test_model_replies_equal_their_meter():
    rng = random.Random(1997)
    for _ in range(200):
        address = _random_address(rng)
        counts = {di: _random_count(rng, di) for di in ITEMS}
        server = _their_server(address, counts)
        model = _model(address, counts)  # 4 FE before a reply, as theirs
        wire = wire_address(address)
        for di in list(ITEMS) + [0x02990000]:
            request = build_frame(wire, 0x11, _request_data(di), 4)
            theirs = bytes(_their_answer(server)(request))
            assert model.feed(request) == theirs, (address, hex(di), counts.get(di))
        request = build_frame(b"\xaa" * 6, 0x13, b"", 4)
        assert model.feed(request) == bytes(_their_answer(server)(request))
        assert format_address(wire) == address


def test_rounding_is_where_the_two_differ():
    # 1.23456 kW: a register shows completed units (01.2345, our model); PyPI dlt645 rounds
    # (01.2346). Only values between two resolution steps differ; the cross-checks above use
    # values on the steps.
    address = "000000000007"
    wire = wire_address(address)
    server = MeterServerService(None, address=bytearray(wire))
    assert server.set_02(POWER_TOTAL, 1.23456)
    request = build_frame(wire, 0x11, _request_data(POWER_TOTAL), 4)
    theirs = DLT645Protocol.deserialize(bytes(_their_answer(server)(request)))
    ours = DLT645Protocol.deserialize(DLT645MeterModel(address, power_w=1234.56).feed(request))
    assert bytes(theirs.data[4:]) == b"\x46\x23\x01"
    assert bytes(ours.data[4:]) == b"\x45\x23\x01"


# --- the frame layer: build and parse, the +33H offset, the checksum ---


def test_frames_both_ways_for_any_control_and_data():
    # Our model's frame builder and parser against theirs on arbitrary frames: the +33H on
    # every DATA byte (and back), the checksum from the first 68 on, the FE preamble skipped.
    rng = random.Random(68)
    for _ in range(300):
        address = bytes(rng.randrange(256) for _ in range(6))
        control = rng.randrange(256)
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(60)))
        preamble = rng.randrange(5)
        ours = build_frame(address, control, data, preamble)
        theirs = bytes(DLT645Protocol.build_frame(address, control, data, preamble))
        assert ours == theirs, (address.hex(), hex(control), data.hex())
        # the wire carries DATA + 33H
        head = preamble + 10
        assert ours[head : head + len(data)] == bytes((b + 0x33) & 0xFF for b in data)
        assert parse_frame(theirs) == (address, control, data)
        frame = DLT645Protocol.deserialize(ours)
        assert (bytes(frame.addr), frame.ctrl_code, bytes(frame.data)) == (address, control, data)


# --- BCD: every item's format, both encoders ---


FORMATS = {
    ENERGY_COMBINED: "XXXXXX.XX",
    ENERGY_FORWARD: "XXXXXX.XX",
    ENERGY_REVERSE: "XXXXXX.XX",
    POWER_TOTAL: "XX.XXXX",
    VOLTAGE_A: "XXX.X",
    CURRENT_A: "XXX.XXX",
}
DECIMALS = {di: len(f) - f.index(".") - 1 for di, f in FORMATS.items()}
SIGNED_ITEMS = (ENERGY_COMBINED, POWER_TOTAL, CURRENT_A)


def test_bcd_of_every_item_equals_theirs():
    # Values on the item's resolution (where their rounding and our truncation agree), low
    # byte first, the sign in the top bit of the last byte for the signed items.
    rng = random.Random(645)
    for di, fmt in FORMATS.items():
        digits = fmt.count("X")
        top = 8 * 10 ** (digits - 1) if di in SIGNED_ITEMS else 10**digits
        for _ in range(300):
            count = rng.randrange(top)
            if di in SIGNED_ITEMS and rng.random() < 0.5:
                count = -count
            value = count / 10 ** DECIMALS[di]
            ours = encode_item(di, value)
            theirs = bytes(float_to_bcd(value, fmt, "little"))
            assert ours == theirs, (hex(di), value, ours.hex(), theirs.hex())
            if abs(count) < 8 * 10 ** (digits - 1):  # their decoder signs every item
                back = bcd_to_value(bytearray(ours), fmt, "little")
                assert round(back * 10 ** DECIMALS[di]) == count, (hex(di), value, back)


# --- the energy identifiers: combined, forward, reverse ---


def test_energy_identifiers_against_their_meter():
    # Forward (00010000) counts while power flows in, reverse (00020000) while it flows out,
    # combined (00000000) is forward + reverse here; their meter set to the same three
    # answers byte for byte as our model, and our driver reads each from their meter.
    rng = random.Random(2)
    for _ in range(100):
        address = _random_address(rng)
        forward = rng.randrange(40000000)
        reverse = rng.randrange(40000000 - forward)
        model = DLT645MeterModel(address, energy_kwh=forward / 100, export_kwh=reverse / 100)
        server = _their_server(address, {})
        for di, count in (
            (ENERGY_FORWARD, forward),
            (ENERGY_REVERSE, reverse),
            (ENERGY_COMBINED, forward + reverse),
        ):
            assert server.set_00(di, count / 100)
            request = build_frame(wire_address(address), 0x11, _request_data(di), 4)
            assert model.feed(request) == bytes(_their_answer(server)(request)), hex(di)
            dlt = _driver(_Peer(_their_answer(server)), address=address)
            assert dlt.read(di) == OK and dlt.value == count, (hex(di), dlt.value, count)
            svc, client = _their_client(model)
            svc.address = bytearray(wire_address(address))
            item = svc.read_00(di)
            assert item is not None and round(item.value * 100) == count, hex(di)


def test_model_energy_follows_the_power_direction():
    model = DLT645MeterModel("000000000009", energy_kwh=10.0)
    model.power_w = 3600.0
    model.advance(1000)  # 1 kWh in
    model.power_w = -1800.0
    model.advance(1000)  # 0.5 kWh out
    assert (model.value(ENERGY_FORWARD), model.value(ENERGY_REVERSE)) == (11.0, 0.5)
    assert model.value(ENERGY_COMBINED) == 11.5


# --- addressing: who answers ---


def test_addresses_both_accept():
    # Their address check (dlt645.model.validators.validate_device) and our model agree on
    # what a meter answers: its own address and AA AA AA AA AA AA.
    rng = random.Random(99)
    for _ in range(200):
        address = _random_address(rng)
        wire = wire_address(address)
        model = DLT645MeterModel(address)
        for to in (wire, b"\xaa" * 6):
            assert validate_device(bytearray(wire), 0x11, bytes(to))
            assert model.addressed(to)
            reply = model.feed(build_frame(to, 0x11, _request_data(ENERGY_FORWARD), 4))
            assert reply is not None and parse_frame(reply)[0] == wire


def test_where_the_two_differ_on_addressing():
    # DL/T 645-2007 is master-slave on a shared RS-485 bus: only the addressed meter answers,
    # and a broadcast (99 99 99 99 99 99: time sync, freeze) is never answered, so that meters
    # never talk over each other. PyPI dlt645 3.2.0's meter emulator answers every frame: a
    # read sent to the broadcast address with data, one for any other address (abbreviated
    # ones too: AA in the top bytes) with an error frame (D1H). Our model stays silent to the
    # broadcast and to other meters' addresses (our driver reads NO_ANSWER from it), and
    # answers an abbreviated address that matches its own.
    address = "112233445566"
    wire = wire_address(address)
    other = wire_address("112233445567")
    broadcast = b"\x99" * 6
    abbreviated = wire[:4] + b"\xaa\xaa"
    model = DLT645MeterModel(address)
    server = _their_server(address, {ENERGY_FORWARD: 12345})
    for to, their_control, ours_answers in (
        (other, 0xD1, False),
        (broadcast, 0x91, False),
        (abbreviated, 0xD1, True),
    ):
        request = build_frame(to, 0x11, _request_data(ENERGY_FORWARD), 4)
        theirs = DLT645Protocol.deserialize(bytes(_their_answer(server)(request)))
        assert theirs.ctrl_code == their_control, to.hex()
        ours = model.feed(request)
        assert (ours is not None) == ours_answers, to.hex()
        if ours is not None:
            assert parse_frame(ours)[:2] == (wire, 0x91)
    assert validate_device(bytearray(wire), 0x11, bytes(broadcast))  # they let it through
    assert not validate_device(bytearray(wire), 0x11, bytes(abbreviated))
    # broadcast time sync (08H): neither answers
    sync = build_frame(broadcast, 0x08, bytes((0x00, 0x30, 0x12, 0x15, 0x10, 0x24)), 4)
    assert _their_answer(server)(sync) is None and model.feed(sync) is None
    # our driver, addressed elsewhere, hears nothing from our model
    dlt = _driver(_Peer(model.feed), address="112233445567")
    assert dlt.read(ENERGY_FORWARD) == NO_ANSWER


# --- the meter's clock: date 04000101 (YYMMDDWW) and time 04000102 (hhmmss) ---


def test_date_and_time_against_their_meter():
    import datetime

    from sunprint.clock.meter import MeterClock
    from sunprint.drivers.dlt645 import DATE, TIME

    rng = random.Random(4000101)
    epoch = datetime.datetime(2000, 1, 1)
    checked = 0
    for _ in range(60):
        address = _random_address(rng)
        secs = rng.randrange(100 * 365 * 86400)
        dt = epoch + datetime.timedelta(seconds=secs)
        if dt.hour == 0 and dt.minute == 0 and dt.second < 3:
            continue  # the driver's midnight guard
        ww = dt.isoweekday() % 7  # the standard's WW: 0 = Sunday
        server = _their_server(address, {})
        assert server.set_04(DATE, "%02d%02d%02d%02d" % (dt.year % 100, dt.month, dt.day, ww))
        assert server.set_04(TIME, dt.strftime("%H%M%S"))
        model = DLT645MeterModel(address)
        model.set_clock(dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second, ww)
        for di in (DATE, TIME):  # our model's replies == their meter's, byte for byte
            request = _our_request(address, di)
            theirs = server.handle_request(DLT645Protocol.deserialize(request))
            assert model.feed(request) == bytes(theirs), (hex(di), dt)
        # our driver and the clock source read their meter (tz 0: the meter keeps UTC here)
        dlt = _driver(_Peer(_their_answer(server)), address=address)
        r = MeterClock(dlt, tz_offset_s=0).read()
        assert r is not None and r[0] == secs, (dt, r)
        checked += 1
    assert checked >= 55
