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

from dlt645.protocol.protocol import DLT645Protocol
from dlt645.service.clientsvc.client_service import MeterClientService
from dlt645.service.serversvc.server_service import MeterServerService

from host_tools.sim.dlt645_meter import DLT645MeterModel, VirtualClock, build_frame, wire_address
from sunprint.core.quality import DEVICE_ERROR, NO_ANSWER, OK
from sunprint.drivers.dlt645 import (
    CURRENT_A,
    DLT645,
    ENERGY_FORWARD,
    ERR_NO_DATA,
    POWER_TOTAL,
    VOLTAGE_A,
    format_address,
)

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


class _Capture:
    """A UART that records the driver's requests and never answers."""

    def __init__(self):
        self.out = []

    def write(self, buf):
        self.out.append(bytes(buf))
        return len(buf)

    def flush(self):
        pass

    def any(self):
        return 0

    def readinto(self, buf, n=-1):
        return None


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
    cap = _Capture()
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
