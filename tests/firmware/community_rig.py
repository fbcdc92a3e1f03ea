# A community on one simulated RS-485 line: meter models (host_tools/sim/chips/dlt645_meter.py) on a
# BusSerial (host_tools/sim/chips/dlt645_bus.py), the firmware's DL/T 645 driver and DLT645Bus poller.
# Portable: CPython and MicroPython.
from host_tools.sim.chips.dlt645_bus import BusSerial
from host_tools.sim.chips.dlt645_meter import DLT645MeterModel, VirtualClock
from sunprint.community.schedule import DLT645Bus
from sunprint.drivers.dlt645 import DLT645, parse_address

ADDRESSES = ("000000000001", "000000000002", "000000000003", "000000000004", "000000000005")


def build(n=5, baud=9600, latency_ms=30, read_power=True, energies=None, addresses=None):
    addresses = addresses or ADDRESSES[:n]
    clock = VirtualClock()
    meters = []
    for i in range(len(addresses)):
        e = energies[i] if energies else 1000.0 + 111.11 * i
        meters.append(DLT645MeterModel(addresses[i], energy_kwh=e, power_w=0.0))
    bus = BusSerial(meters, clock, baudrate=baud, latency_ms=latency_ms)
    dlt = DLT645(
        bus, baudrate=baud, address=addresses[0], ticks_ms=clock.ticks_ms, sleep_ms=clock.sleep_ms
    )
    wire = [parse_address(a) for a in addresses]
    poller = DLT645Bus(
        dlt, wire, read_power=read_power, baudrate=baud, timeout_ms=500, ticks_ms=clock.ticks_ms
    )
    return clock, bus, poller, wire


def run_round(clock, poller, tick_ms=5, limit_ms=60000):
    """Run one round to its end, the clock moving tick_ms between step() calls; returns the
    bus time it took in ms."""
    t0 = clock.ticks_ms()
    poller.begin_round()
    while poller.step():
        clock.sleep_ms(tick_ms)
        if clock.ticks_ms() - t0 > limit_ms:
            raise AssertionError("round never ended")
    return clock.ticks_ms() - t0
