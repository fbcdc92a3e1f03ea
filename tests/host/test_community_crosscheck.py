"""The simulated community bus (host_tools/sim/chips/dlt645_bus.py) against PyPI dlt645 3.2.0's meter
emulator, one emulator per address, as tests/host/test_dlt645_crosscheck.py does for one meter.

On the shared line, every request reaches every meter; the one addressed answers, byte for byte
as their emulator configured with that meter's address and registers answers; the others stay
silent. (Their emulator answers every frame, another address with D1H: on a shared RS-485 bus
that would collide, so the bus holds our model, checked here against theirs.) The poller
(DLT645Bus) then reads every meter's energy and power as their client's decoding says.
CPython only (the package needs loguru).
"""

import random
import struct

from dlt645.protocol.protocol import DLT645Protocol
from dlt645.service.serversvc.server_service import MeterServerService

from host_tools.sim.chips.dlt645_bus import BusSerial
from host_tools.sim.chips.dlt645_meter import (
    DLT645MeterModel,
    VirtualClock,
    build_frame,
    wire_address,
)
from sunprint.community.schedule import DLT645Bus
from sunprint.drivers.dlt645 import DLT645, ENERGY_FORWARD, POWER_TOTAL
from sunprint.quality import OK

_SERVER = []


def _theirs(address, energy_count, power_count):
    if not _SERVER:
        _SERVER.append(MeterServerService(None))
    s = _SERVER[0]
    s.address = bytearray(wire_address(address))
    assert s.set_00(ENERGY_FORWARD, energy_count / 100)
    assert s.set_02(POWER_TOTAL, power_count / 10000)
    return s


def _community(rng, n):
    addresses = sorted({"".join(rng.choice("0123456789") for _ in range(12)) for _ in range(n)})
    energy = [rng.randrange(79999999) for _ in addresses]
    power = [rng.randrange(799999) for _ in addresses]
    meters = [
        DLT645MeterModel(a, energy_kwh=e / 100, power_w=p / 10)
        for a, e, p in zip(addresses, energy, power, strict=True)
    ]
    return addresses, energy, power, meters


def test_only_the_addressed_meter_answers_as_their_emulator_does():
    rng = random.Random(18)
    for _ in range(8):
        addresses, energy, power, meters = _community(rng, 8)
        clock = VirtualClock()
        bus = BusSerial(meters, clock, baudrate=9600, latency_ms=20)
        for k, a in enumerate(addresses):
            server = _theirs(a, energy[k], power[k])
            for di in (ENERGY_FORWARD, POWER_TOTAL):
                request = build_frame(wire_address(a), 0x11, struct.pack("<I", di), 4)
                theirs = bytes(server.handle_request(DLT645Protocol.deserialize(request)))
                bus.write(request)
                bus.flush()
                clock.sleep_ms(200)
                heard = bus.read()
                assert heard == theirs, (a, hex(di))
        assert bus.collisions == 0 and bus.unanswered == 0
        for m in meters:
            assert m.replies == 2 and m.requests == 2 * len(meters)


def test_poller_reads_every_meter_as_their_emulator_says():
    rng = random.Random(645)
    addresses, energy, power, meters = _community(rng, 16)
    clock = VirtualClock()
    bus = BusSerial(meters, clock, baudrate=2400, latency_ms=60)
    dlt = DLT645(bus, address=addresses[0], ticks_ms=clock.ticks_ms, sleep_ms=clock.sleep_ms)
    poller = DLT645Bus(dlt, [wire_address(a) for a in addresses], ticks_ms=clock.ticks_ms)
    poller.begin_round()
    while poller.step():
        clock.sleep_ms(3)
    for k, a in enumerate(addresses):
        server = _theirs(a, energy[k], power[k])
        frame = DLT645Protocol.deserialize(
            build_frame(wire_address(a), 0x11, struct.pack("<I", ENERGY_FORWARD), 4)
        )
        reply = DLT645Protocol.deserialize(bytes(server.handle_request(frame)))
        assert reply.ctrl_code == 0x91
        assert poller.flag[k] == OK
        assert poller.energy[k] == energy[k]
        assert poller.power[k] == power[k]
    assert poller.reporting() == 16
