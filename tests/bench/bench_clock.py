"""Time sources (issue 16): heap each one adds, and what a clock read allocates.

- clock_heap_<part>_{mpy,frozen}_32bit: gc.mem_alloc() after gc.collect(), before and after
  importing and constructing one part, in the 32-bit MicroPython unix port: with the app as
  .mpy files (deployed as files) and frozen into micropython32-app (the unit's image). The
  parts, each in its own VM (its imports included, sunprint.clock's too): the ClockKeeper with
  the unit's RTC, a DS3231 driver, a PCF8563 driver, the DL/T 645 meter's clock (the meter
  driver imported first: a board with the meter has it), SNTP (the socket module imported
  first). sunprint.compat and sunprint.quality, which every unit has loaded already, are imported
  first. ntp_open: the SNTP source after its first request (its UDP socket, the poller, the
  select module, the server's address): what NTP costs a unit on Wi-Fi. Peer: the INA226
  driver, measured the same way.
- clock_tick_alloc_32bit: B per ClockKeeper.tick() that reads the DS3231 model on the fake
  I2C bus at every tick (sync_s=0, the worst case; a unit syncs hourly), the RTC within noise.
- ds3231_read_alloc_32bit, pcf8563_read_alloc_32bit: B per driver read(), through the models.
- meter_clock_read_alloc_32bit: B per MeterClock.read() (date and time from the DL/T 645 meter
  model's replies, replayed as bench_dlt645 does); ntp_read_alloc_32bit: B per SNTP exchange
  (a read that sends, a later read that collects the reply) over real loopback UDP, a server
  socket in the same VM answering; ledger_hold_tick_alloc_32bit: B per power sample the ledger books
  while the date is unknown (held for the periods).
- wrong_day_wh_<source>: energy booked to a day it was not produced on, over the bundled week
  with an outage (zhongshan-2024-05-06-week-outage.csv) with 3 power cuts that lose the clock
  (05-07 12:00, the outage 05-09 09:40-14:10, 05-11 16:00-16:30), by the unit's time source:
  rtc_module (a DS3231 on esp32-epd29-ina226, the week fitted into its INA226), meter (the
  DL/T 645 meter's clock on esp32-epd42-dlt645), ntp_only (NTP 3 h after each boot; _12h:
  12 h, past midnight) and none
  (no source) on esp32-epd42-dlt645. Goal 0 with an RTC module or the meter; with NTP only or
  nothing, the price of never guessing is energy in no day: unattributed (held, then not
  provably today's) and held (the date still unknown at the end), reported beside it; and
  month_short_wh_<source>: what May's total lacks at the end of the week (all in May): the
  held energy only, since month and year take unattributed energy they can vouch for.
  (Replay models when the source gives the time back; the drivers and the keeper on a whole
  unit: tests/firmware/test_unit_clock.py.)

    .venv/bin/python tests/bench/bench_clock.py
"""

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for _p in (str(ROOT), str(ROOT / "tests")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import mp32  # noqa: E402

# one VM per part, so that each is measured on its own (imports included)
_PART = """
import gc
import sunprint.compat
import sunprint.quality


def used():
    gc.collect()
    return gc.mem_alloc()


class MachineRtc:
    def datetime(self, t=None):
        pass


keep = []
%s
a = used()
%s
b = used()
print(b - a)
"""

_PARTS = (
    (
        "keeper",
        "",
        "from sunprint.clock.keeper import ClockKeeper, SystemRtc\n"
        "keep.append(ClockKeeper(SystemRtc(MachineRtc()), ()))",
    ),
    ("ds3231", "", "from sunprint.drivers.ds3231 import DS3231\nkeep.append(DS3231(None))"),
    ("pcf8563", "", "from sunprint.drivers.pcf8563 import PCF8563\nkeep.append(PCF8563(None))"),
    (
        "meter",  # on a DL/T 645 board: the driver is there already
        "import sunprint.drivers.dlt645",
        "from sunprint.clock.meter import MeterClock\nkeep.append(MeterClock(None))",
    ),
    (
        "ntp",  # the socket module is the network's, there already
        "import socket",
        "from sunprint.clock.ntp import Ntp\nkeep.append(Ntp(socket, 'pool.ntp.org'))",
    ),
    (
        "ntp_open",  # after its first request: the socket, its poller, select, the address
        "import socket",
        "from sunprint.clock.ntp import Ntp\nn = Ntp(socket, '127.0.0.1', 9)\n"
        "n.read()\nkeep.append(n)",
    ),
    (
        "ina226_peer",
        "",
        "from sunprint.drivers.ina2xx import INA226\n"
        "keep.append(INA226(None, shunt_ohm=0.002, max_current_a=20))",
    ),
)

_ALLOC = (
    mp32.ALLOC_OF
    + """
from host_tools.sim.chips.i2c import FakeI2C
from host_tools.sim.chips.rtcchips import DS3231Model, PCF8563Model
from sunprint.clock import wall_from
from sunprint.clock.keeper import ClockKeeper
from sunprint.drivers.ds3231 import DS3231
from sunprint.drivers.pcf8563 import PCF8563

T0 = wall_from(2024, 10, 14, 12, 0, 0)


class Ms:
    ms = 0

    def __call__(self):
        return self.ms


class Rtc:
    def __init__(self, ms):
        self.ms = ms

    def wall(self):
        return T0 + self.ms.ms // 1000

    def set(self, wall):
        raise AssertionError("within noise: never set")


ms = Ms()
bus = FakeI2C()
bus.attach(0x68, DS3231Model(ms))
bus.attach(0x51, PCF8563Model(ms))
ds = DS3231(bus)
pcf = PCF8563(bus)
ds.set(T0)
pcf.set(T0)
k = ClockKeeper(Rtc(ms), [("ds3231", ds)], sync_s=0)


def ticks(n):
    i = 0
    while i < n:
        ms.ms += 1000
        k.tick(ms.ms // 1000)
        i += 1


def reads(d, n):
    i = 0
    while i < n:
        ms.ms += 1000
        d.read()
        i += 1


tick_b = alloc_of(ticks, 1000)
ds_b = alloc_of(lambda n: reads(ds, n), 1000)
pcf_b = alloc_of(lambda n: reads(pcf, n), 1000)
assert k.syncs > 1000 and ds.read()[0] == T0 + ms.ms // 1000, k.syncs

from host_tools.sim.chips.dlt645_meter import CannedSerial, DLT645MeterModel, VirtualClock
from host_tools.sim.chips.dlt645_meter import build_frame, wire_address
from sunprint.clock.meter import MeterClock
from sunprint.drivers.dlt645 import DATE, DLT645, TIME

# the meter model's date and time replies, replayed without allocating (as bench_dlt645)
meter = DLT645MeterModel("112233445566", energy_kwh=100.0, power_w=2000.0)
meter.set_clock(2024, 10, 14, 20, 0, 0, 1)
replies = {}
for di in (DATE, TIME):
    request = bytes((di & 0xFF, (di >> 8) & 0xFF, (di >> 16) & 0xFF, (di >> 24) & 0xFF))
    replies[di] = meter.feed(build_frame(wire_address("112233445566"), 0x11, request, 4))
vc = VirtualClock()
dlt = DLT645(
    CannedSerial(replies), address="112233445566", ticks_ms=vc.ticks_ms, sleep_ms=vc.sleep_ms
)
mc = MeterClock(dlt, 8 * 3600)
assert mc.read()[0] == T0, mc.flag
meter_b = alloc_of(lambda n: reads(mc, n), 1000)

from sunprint.core.ledger import Ledger

led = Ledger()
st = [10]


def held(n):
    i = 0
    while i < n:
        st[0] += 10
        led.add_power(st[0], 2000000 + (st[0] & 1023), st[0])  # a wall clock in 2000
        i += 1


hold_b = alloc_of(held, 1000)
assert led.holding and led.held() > 0

# SNTP over real loopback UDP: a server socket in this VM answers each request (readinto and
# write on a connected socket: the server side allocates nothing either)
import socket
from sunprint.clock.ntp import Ntp

srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
srv.bind(socket.getaddrinfo("127.0.0.1", NTP_PORT)[0][-1])
ntp = Ntp(socket, "127.0.0.1", NTP_PORT, ticks_ms=ms)
req = bytearray(48)
reply = bytearray(48)
reply[0] = 0x24  # LI 0, VN 4, mode 4
reply[1] = 2  # stratum
reply[40] = 0xEB  # transmit: 2025 in the NTP era's seconds, roughly


def answer():
    for j in range(8):
        reply[24 + j] = req[40 + j]  # originate = the client's transmit
    srv.write(reply)


def ntp_reads(n):
    i = 0
    while i < n:
        ms.ms += 1000
        ntp.read()  # sends
        srv.readinto(req)
        answer()
        ms.ms += 1000
        if ntp.read() is None:  # collects
            raise AssertionError("no reading")
        i += 1


ntp.read()
first, addr = srv.recvfrom(64)
srv.connect(addr)  # from now on the server reads and writes without an address object
req[:] = first
answer()
ms.ms += 1000
assert ntp.read() is not None
ntp_b = alloc_of(ntp_reads, 1000)
assert ntp.replies > 1000 and ntp.timeouts == 0, (ntp.replies, ntp.timeouts, ntp.rejected)
print(tick_b, ds_b, pcf_b, meter_b, hold_b, ntp_b)
"""
)

# The bundled week, 3 cuts that lose the clock: "at" (and "until"), HH:MM on the first day
# (05-07 12:00; 05-09 09:40-14:10, the outage; 05-11 16:00-16:30, local UTC+8)
_CUTS = (("36:00", None), ("81:40", "86:10"), ("1715414400", "1715416200"))
_SOURCES = (
    # name, board, the profile's clock sources, the fault kind, its extra option
    ("rtc_module", "esp32-epd29-ina226", ["ds3231"], "rtc_lost", ""),
    ("meter", "esp32-epd42-dlt645", ["meter"], "meter_clock", ""),
    ("ntp_only", "esp32-epd42-dlt645", None, "ntp_late", ",seconds=10800"),
    ("ntp_only_12h", "esp32-epd42-dlt645", None, "ntp_late", ",seconds=43200"),
    ("none", "esp32-epd42-dlt645", None, "rtc_lost", ""),
)


def bench_wrong_day(tmp):
    import json

    sys.path.insert(0, str(ROOT / "tools"))
    from fit_log import fit_log

    from host_tools.paths import LOGS
    from host_tools.replay import replay

    week = LOGS / "zhongshan-2024-05-06-week-outage.csv"
    for name, board, sources, kind, extra in _SOURCES:
        log = week
        if board == "esp32-epd29-ina226":
            log = fit_log(week, Path(tmp) / "week-fitted.csv", board)
        profile = json.loads((ROOT / "boards" / (board + ".json")).read_text())
        if sources:
            profile["clock"] = {"sources": sources}
        path = Path(tmp) / ("%s.json" % name)
        path.write_text(json.dumps(profile))
        faults = []
        for at, until in _CUTS:
            faults.append("%s@%s%s%s" % (kind, at, ",until=" + until if until else "", extra))
        s = replay(
            log,
            str(path),
            Path(tmp) / ("out-" + name),
            progress=False,
            accounting_only=True,
            faults=faults,
        )
        c = s["clock"]
        goal = "== 0" if name in ("rtc_module", "meter") else None
        text = "bench wrong_day_wh_%s: %g Wh" % (name, s["wrong_day_wh"])
        if goal:
            text += " (goal %s)" % goal
        print(text, flush=True)
        # the price of never guessing a day: energy in no day (DESIGN's one-figure lines)
        print("bench unattributed_wh_%s: %g Wh" % (name, c["unattributed_wh"]), flush=True)
        print(
            "bench held_wh_%s: %g Wh peer booked_wh_%s: %g Wh"
            % (name, c["held_wh"], name, s["energy"]["lifetime_mwh"] / 1000),
            flush=True,
        )
        # the week is all May 2024: what this month's total lacks at the end (in no day
        # is not in no month: month and year take what they can vouch for)
        short = (s["energy"]["lifetime_mwh"] - round(s["energy"]["month_kwh"] * 1e6)) / 1000
        print("bench month_short_wh_%s: %g Wh" % (name, short), flush=True)


from timing import line as _line  # noqa: E402 - tests/bench/timing.py


def _free_udp_port():
    import socket

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def bench_clock():
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "lib"
        mp32.compile_files(
            mp32.firmware_and(
                "host_tools/sim/chips/i2c.py",
                "host_tools/sim/chips/rtcchips.py",
                "host_tools/sim/chips/dlt645_meter.py",
            ),
            tree,
        )
        empty = Path(tmp) / "empty"
        empty.mkdir()
        for form, binary, path in (
            ("mpy", mp32.MICROPYTHON32, tree),
            ("frozen", mp32.MICROPYTHON32_APP, empty),
        ):
            got = {}
            for name, pre, code in _PARTS:
                script = _PART % (pre, code)
                got[name] = int(mp32.run(script, path, tmp, binary=binary).split()[-1])
            peer = ("ina226_driver_heap_%s_32bit" % form, got["ina226_peer"], "B")
            for name in ("keeper", "ds3231", "pcf8563", "meter", "ntp", "ntp_open"):
                _line("clock_heap_%s_%s_32bit" % (name, form), got[name], "B", None, peer)
        alloc = _ALLOC.replace("NTP_PORT", str(_free_udp_port()))
        tick_b, ds_b, pcf_b, meter_b, hold_b, ntp_b = mp32.run(alloc, tree, tmp).split()
        _line("clock_tick_alloc_32bit", "%g" % float(tick_b), "B/tick", "== 0")
        _line("ds3231_read_alloc_32bit", "%g" % float(ds_b), "B/read", "== 0")
        _line("pcf8563_read_alloc_32bit", "%g" % float(pcf_b), "B/read", "== 0")
        _line("meter_clock_read_alloc_32bit", "%g" % float(meter_b), "B/read", "== 0")
        _line("ledger_hold_tick_alloc_32bit", "%g" % float(hold_b), "B/sample", "== 0")
        # one request sent and its reply collected: two reads
        _line("ntp_read_alloc_32bit", "%g" % float(ntp_b), "B/exchange", "== 0")
        bench_wrong_day(tmp)


if __name__ == "__main__":
    bench_clock()
