"""Community sign benchmarks (issue 18; docs/community.md): many DL/T 645 meters on one bus.

- community_meters_per_10s_{2400,9600}: meters one bus polls within a 10 s sample period, each
  at its worst case (sunprint/community/schedule.py: 4 FE + request, the 500 ms turnaround the
  standard allows, the longest reply; energy and power), and, measured, a round of 16 meters on
  the simulated line (host_tools/sim/chips/dlt645_bus.py, 60 ms turnaround) with every meter answering;
- community_modbus_meters_per_10s_{9600,2400}: the same for Modbus RTU meters (t3.5 gap, the
  8-byte request, the 200 ms timeout, the 9-byte reply; energy and power), and, measured, a
  round of 16 meters of mixed models (DDSU666, SDM120, SDM630) on the simulated multi-drop
  line (host_tools/sim/chips/modbus_bus.py, 20 ms turnaround);
- community_heap_per_meter_32bit: heap a meter adds (its address, the poller's and the
  accounting's per-meter arrays), (16 meters - 1 meter) / 15 in the 32-bit MicroPython (goal
  <= 300 B);
- community_source_heap_per_meter_32bit: the same for the whole community source as the
  unit's board.build makes it (community/source.py build: the poller, its driver, the counters,
  the record buffer the store writes from), (16 meters - 1 meter) / 15 (goal <= 300 B);
- community_record_bytes_per_meter: the persisted record per meter (+ its header once);
- community_poll_cycle_alloc_32bit: bytes allocated per poll cycle (a round of 5 meters,
  energy and power) in the 32-bit MicroPython, gc.mem_alloc() around 200 cycles (goal 0);
- community_total_error_wh: community total minus the sum of the per-meter truths (what each
  register moved while on the bus) over the bundled community day
  (assets/logs/community-zhongshan-2024-10-15.csv, host_tools/community.py replay: 5 meters
  read every 60 s, meters 3 and 5 silent 10:00-12:00, meter 2 swapped at 13:00) (goal 0), and
  the community Ledger's lifetime against it; the same for the firmware test's day;
- community_modbus_total_error_wh: the same day and faults replayed on the Modbus community
  board (boards/esp32-epd42-community-modbus.json: DDSU666, SDM120, SDM630 by unit id at 9600
  baud, the log's meters by position; `sunprint community replay --board`): community total
  minus the sum of what each meter's float32 register showed while on the bus (goal 0).

    .venv/bin/python tests/bench/bench_community.py
"""

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for _p in (
    str(ROOT),
    str(ROOT / "tests"),
    str(ROOT / "tests" / "firmware"),
    str(ROOT / "tests" / "bench"),
):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import mp32  # noqa: E402
from timing import line  # noqa: E402 - tests/bench/timing.py, the format of shared/DESIGN.md

from host_tools.paths import use_firmware  # noqa: E402


def _line(name, value, unit, goal=None, peer=None):
    line(name, value, unit, goal, peer)


_VM = (
    mp32.ALLOC_OF
    + """
import gc
from host_tools.sim.chips.dlt645_meter import CannedSerial, DLT645MeterModel, VirtualClock
from host_tools.sim.chips.dlt645_meter import build_frame, wire_address
from sunprint.community.meters import CommunityMeters
from sunprint.community.schedule import DLT645Bus
from sunprint.drivers.dlt645 import DLT645, parse_address


class NoDriver:
    uart = None


def cost(n):
    gc.collect()
    before = gc.mem_alloc()
    wire = [parse_address("%012d" % (i + 1)) for i in range(n)]
    cm = CommunityMeters(wire)
    p = DLT645Bus(NoDriver(), wire)
    used = gc.mem_alloc() - before
    return used


per_meter = (cost(16) - cost(1)) // 15


class NoUART:
    def write(self, b):
        return len(b)

    def any(self):
        return 0

    def readinto(self, b, n=-1):
        return 0


from sunprint.community.source import build


def section(n):
    return {"protocol": "dlt645", "baudrate": 9600,
            "meters": [{"address": "%012d" % (i + 1)} for i in range(n)]}


def unit_cost(n):
    # the community source as board.build makes it (poller, driver, counters, record buffer,
    # its Ledger), the profile's section (boot-only) made before
    s = section(n)
    uart = NoUART()
    gc.collect()
    before = gc.mem_alloc()
    src = build(s, uart, 600)
    gc.collect()
    used = gc.mem_alloc() - before
    src = None
    return used


unit_cost(2)  # the modules' import, once
unit_per_meter = (unit_cost(16) - unit_cost(1)) // 15

model = DLT645MeterModel("000000000001", energy_kwh=4321.09, power_w=2345.6)
replies = {}
for di in (0x00010000, 0x02030000):
    req = bytes((di & 0xFF, di >> 8 & 0xFF, di >> 16 & 0xFF, di >> 24))
    replies[di] = model.feed(build_frame(wire_address("000000000001"), 0x11, req, 4))
clock = VirtualClock()
dlt = DLT645(CannedSerial(replies), address="000000000001", ticks_ms=clock.ticks_ms,
             sleep_ms=clock.sleep_ms)
poller = DLT645Bus(dlt, [wire_address("000000000001")] * 5, ticks_ms=clock.ticks_ms)


def cycles(n):
    while n > 0:
        poller.begin_round()
        while poller.step():
            clock.us += 5000
        n -= 1


used = alloc_of(cycles, 200, warm=3)
print(per_meter, used, poller.reporting(), unit_per_meter)
"""
)


def _micropython():
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "lib"
        mp32.compile_files(mp32.firmware_and("host_tools/sim/chips/dlt645_meter.py"), tree)
        out = mp32.run(_VM, tree, tmp)
    per_meter, used, reporting, unit_per_meter = (float(x) for x in out.split())
    if reporting != 5:
        raise RuntimeError("the canned round did not read every meter")
    return per_meter, used, unit_per_meter


def _measured_round_ms(baud):
    from community_rig import run_round

    from host_tools.sim.chips.dlt645_bus import BusSerial
    from host_tools.sim.chips.dlt645_meter import DLT645MeterModel, VirtualClock
    from sunprint.community.schedule import DLT645Bus
    from sunprint.drivers.dlt645 import DLT645, parse_address

    addresses = ["%012d" % (i + 1) for i in range(16)]
    clock = VirtualClock()
    meters = [DLT645MeterModel(a, energy_kwh=100.0 + i) for i, a in enumerate(addresses)]
    bus = BusSerial(meters, clock, baudrate=baud, latency_ms=60)
    dlt = DLT645(bus, address=addresses[0], ticks_ms=clock.ticks_ms, sleep_ms=clock.sleep_ms)
    poller = DLT645Bus(
        dlt, [parse_address(a) for a in addresses], baudrate=baud, ticks_ms=clock.ticks_ms
    )
    ms = run_round(clock, poller, tick_ms=2)
    if poller.reporting() != 16:
        raise RuntimeError("the simulated round missed a meter")
    return ms


def _measured_modbus_round_ms(baud):
    # 16 Modbus meters of mixed models (DDSU666, SDM120, SDM630, by unit id) on the simulated
    # multi-drop line (host_tools/sim/chips/modbus_bus.py), each answering 20 ms after a request
    from community_rig import run_round

    from host_tools.sim.chips.modbus_bus import ModbusBusPeer
    from host_tools.sim.chips.modbus_meter import ModbusMeterModel
    from host_tools.sim.chips.uart import FakeUART, VirtualClock
    from sunprint.community.modbus_bus import ModbusBus
    from sunprint.drivers import modbus

    kinds = ("ddsu666", "sdm120", "sdm630")
    models = [kinds[i % 3] for i in range(16)]
    clock = VirtualClock()
    peer = ModbusBusPeer(
        [ModbusMeterModel(i + 1, m, energy_kwh=100.0 + i) for i, m in enumerate(models)]
    )
    uart = FakeUART(clock, peer, baudrate=baud, latency_ms=20)
    rtu = modbus.ModbusRTU(uart, baudrate=baud, ticks_ms=clock.ticks_ms, sleep_ms=clock.sleep_ms)
    maps = [getattr(modbus, m.upper()) for m in models]
    poller = ModbusBus(rtu, list(range(1, 17)), maps, ticks_ms=clock.ticks_ms)
    ms = run_round(clock, poller, tick_ms=2)
    if poller.reporting() != 16 or uart.gap_violations:
        raise RuntimeError("the simulated Modbus round missed a meter or a t3.5 gap")
    return ms


def _round_lines(name, protocol, measured_round_ms, turnaround, energy_only=False):
    """A protocol's lines at 9600 and 2400 Bd: the schedule's meters per 10 s (the simulated
    round's as peer), with energy_only the same for the energy item alone, and the round."""
    from sunprint.community.schedule import meters_per_period

    for baud in (9600, 2400):
        ms = measured_round_ms(baud)
        _line(
            "community_%smeters_per_10s_%d" % (name, baud),
            meters_per_period(protocol, baud, 10),
            "meters",
            None,
            ("simulated_%s_turnaround" % turnaround, "%d" % (16 * 10000 // ms), "meters"),
        )
        if energy_only:
            _line(
                "community_%smeters_per_10s_energy_only_%d" % (name, baud),
                meters_per_period(protocol, baud, 10, items=1),
                "meters",
            )
        _line("community_%sround_16_meters_simulated_%d" % (name, baud), ms, "ms")


def bench_community():
    use_firmware()
    from test_community_meters import _day

    from sunprint.community.meters import HEADER_SIZE, RECORD_SIZE
    from sunprint.community.schedule import DLT645, MODBUS

    # One figure per line, as shared/DESIGN.md's format has it (what each means: the docstring)
    _round_lines("", DLT645, _measured_round_ms, "60ms", energy_only=True)
    _round_lines("modbus_", MODBUS, _measured_modbus_round_ms, "20ms")
    per_meter, used, unit_per_meter = _micropython()
    _line("community_heap_per_meter_32bit", "%d" % per_meter, "B", "<= 300")
    _line("community_source_heap_per_meter_32bit", "%d" % unit_per_meter, "B", "<= 300")
    _line("community_record_bytes_per_meter", RECORD_SIZE, "B")
    _line("community_record_header_bytes", HEADER_SIZE, "B")
    _line("community_poll_cycle_alloc_32bit", "%g" % used, "B", "== 0")
    from host_tools import community
    from host_tools.paths import LOGS

    log = community.read_log(LOGS / "community-zhongshan-2024-10-15.csv")
    faults = [
        community.parse_fault(f, log)
        for f in (
            "meter_silent@10:00,meter=3,until=12:00",
            "meter_silent@10:00,meter=5,until=12:00",
            "meter_swap@13:00,meter=2",
        )
    ]
    s = community.replay(log, faults)
    total = s["sum_of_truths_wh"]
    # the bundled community day: 5 meters, 2 silent 10:00-12:00, 1 swapped at 13:00
    _line(
        "community_total_error_wh",
        s["error_wh"],
        "Wh",
        "== 0",
        ("community_sum_of_truths", total, "Wh"),
    )
    _line("community_ledger_lifetime_error_wh", s["ledger_lifetime_wh"] - total, "Wh", "== 0")
    s = community.replay(log, faults, board="esp32-epd42-community-modbus")
    _line(
        "community_modbus_total_error_wh",
        s["error_wh"],
        "Wh",
        "== 0",
        ("community_modbus_sum_of_truths", s["sum_of_truths_wh"], "Wh"),
    )
    cm, led, poller, truth, _ = _day(60, 10)  # the firmware test's day, on the simulated bus
    _line(
        "community_total_error_wh_test_day",
        cm.total_wh - sum(truth) * 10,
        "Wh",
        "== 0",
        ("community_test_day_truth", sum(truth) * 10, "Wh"),
    )


if __name__ == "__main__":
    bench_community()
