"""A synthetic community day and its replay through the firmware's community core (issue 18).

    sunprint community synth --homes 5 --out community.csv [--seed 7]
    sunprint community replay community.csv [--board esp32-epd42-community-modbus] \\
        [--fault meter_silent@10:00,meter=3,until=12:00] [--fault meter_swap@13:00,meter=2]

synth: N homes under one sky (host_tools/synth.py's pvlib chain and seeded clouds, the same
cloud field over every roof), each with its own kWp, tilt, azimuth and a shading window (a tree
or a neighbour's wall: the power times a factor between two local times), and its own meter
whose register starts at its own reading.

The community log, format 1 (one file, one pair of columns per meter):

    # sunprint community log 1
    # site=Zhongshan lat=22.5 lon=113.4 tz=+08:00 interval_s=60 source=sunprint-community-synth
    # meter 000000000001 kwp=5.0 tilt=20 azimuth=180 shading=07:00-09:00x0.40
    ...
    time,000000000001_w,000000000001_kwh,000000000002_w,000000000002_kwh,...
    2024-10-15T00:00:00+08:00,0.0,1000.00,0.0,1111.11,...

Each row: the mean AC power over [time, time + interval) in W, and the meter's register at
`time` (DL/T 645 forward active energy, XXXXXX.XX kWh, truncated as a register shows it).

replay: the meters on the simulated RS-485 line (host_tools/sim/chips/dlt645_bus.py), their
registers and power set from the log row by row; the firmware's DLT645Bus, CommunityMeters and a
community Ledger (CommunitySource) read them every sample period. With --board NAME (a community
profile) the line and poller are the board's: the rig wires its meters (DL/T 645 by address or
Modbus by unit id, mixed models: host_tools/sim/parts.py COMMUNITY_BUSES) and
community/source.py build makes the poller as the unit does (its baud rate, timeout, DE pin).
A log's meters map onto the profile's BY POSITION: column k (the k-th `# meter` line) is the
profile's meters[k-1], whatever its address; a profile listing another number of meters is
refused by name. The log's register (10 Wh counts) is what each Modbus meter's float32 kWh
register is set to. Faults per meter (meter = its 1-based position in the log): meter_silent
(no answer), bus_errors (replies with a flipped byte) and collision (a second device answers
to its address or unit id), from a time until a time; meter_swap at a time (a new meter at
0.00 kWh, or kwh=, in its place, the supply back 10 minutes later or at until=). The summary: per meter
what its registers moved while on the bus, as the meter showed them (the truth), and what was
booked, the community total against their sum, homes reporting; with --board also the board,
its protocol, each meter's unit id and model (Modbus) or address on the line (DL/T 645), and
what the line counted against the master (t3.5 gaps, DE, collisions).

(`python -m host_tools.community ...` is the same command.)

Bad input: a one-line error naming the file and line, exit status 2; --out is a new file or an
earlier output of synth (host_tools/outfile.py), written whole.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from host_tools import outfile
from host_tools.errors import UserError

SOURCE = "sunprint-community-synth"
MAGIC = "# sunprint community log 1"


@dataclass(frozen=True)
class Home:
    address: str
    kwp: float
    tilt: float = 20.0
    azimuth: float = 180.0
    shading: tuple[float, float, float] = (0.0, 0.0, 1.0)  # from h, to h, power factor
    start_kwh: float = 1000.0


def default_homes(n: int) -> list[Home]:
    """n households with varied roofs: deterministic, no randomness."""
    homes = []
    for i in range(n):
        homes.append(
            Home(
                address="%012d" % (i + 1),
                kwp=(3.0, 5.0, 6.5, 4.2, 8.0, 2.4)[i % 6],
                tilt=(20.0, 25.0, 15.0, 30.0, 10.0, 22.0)[i % 6],
                azimuth=(180.0, 150.0, 210.0, 175.0, 120.0, 240.0)[i % 6],
                shading=((7.0, 9.0, 0.4), (0.0, 0.0, 1.0), (15.5, 18.0, 0.3))[i % 3],
                start_kwh=round(1000.0 + 1111.11 * i, 2),
            )
        )
    return homes


def synthesize(homes, *, day=dt.date(2024, 10, 15), interval_s=60, seed=7):
    """(stamps, power W per home per row, register counts per home per row)."""
    from host_tools.synth import simulate_day, zhongshan_spec

    base = replace(zhongshan_spec(day=day, seed=seed), step_s=interval_s)
    stamps = None
    powers = []
    registers = []
    for h in homes:
        spec = replace(base, kwp=h.kwp, tilt_deg=h.tilt, azimuth_deg=h.azimuth)
        r = simulate_day(spec, 0)
        stamps = [int(s) for s in r.stamps]
        p = []
        for k, s in enumerate(stamps):
            hour = (s - stamps[0]) / 3600.0
            f = h.shading[2] if h.shading[0] <= hour < h.shading[1] else 1.0
            p.append(round(float(r.pac[k]) * f, 1))
        wh = h.start_kwh * 1000.0
        reg = []
        for w in p:
            reg.append(int(wh / 10.0 + 1e-6))  # the register at the row's time
            wh += w * interval_s / 3600.0
        powers.append(p)
        registers.append(reg)
    return stamps, powers, registers


def _hm(h):
    return "%02d:%02d" % (int(h), round((h - int(h)) * 60))


def log_text(homes, stamps, powers, registers, *, interval_s=60, tz_s=8 * 3600) -> str:
    from host_tools.synth import tz_text

    tz = dt.timezone(dt.timedelta(seconds=tz_s))
    out = [
        MAGIC + "\n",
        "# site=Zhongshan lat=22.5 lon=113.4 tz=%s interval_s=%d source=%s\n"
        % (tz_text(tz_s), interval_s, SOURCE),
    ]
    for h in homes:
        out.append(
            "# meter %s kwp=%g tilt=%g azimuth=%g shading=%s-%sx%.2f\n"
            % (
                h.address,
                h.kwp,
                h.tilt,
                h.azimuth,
                _hm(h.shading[0]),
                _hm(h.shading[1]),
                h.shading[2],
            )
        )
    out.append("time," + ",".join("%s_w,%s_kwh" % (h.address, h.address) for h in homes) + "\n")
    for k, s in enumerate(stamps):
        t = dt.datetime.fromtimestamp(s, tz).isoformat()
        cells = []
        for i in range(len(homes)):
            cells.append(
                "%.1f,%d.%02d" % (powers[i][k], registers[i][k] // 100, registers[i][k] % 100)
            )
        out.append(t + "," + ",".join(cells) + "\n")
    return "".join(out)


@dataclass
class CommunityLog:
    addresses: list[str]
    interval_s: int
    stamps: list[int]
    powers: list[list[float]]
    registers: list[list[int]]


def read_log(path) -> CommunityLog:
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise UserError("%s: cannot read: %s" % (path, e.strerror)) from None
    if not lines or lines[0] != MAGIC:
        raise UserError("%s:1: not a sunprint community log (first line %r)" % (path, MAGIC))
    interval = None
    addresses = []
    header = None
    stamps: list[int] = []
    rows = 0
    powers: list[list[float]] = []
    registers: list[list[int]] = []
    for n, line in enumerate(lines[1:], start=2):
        where = "%s:%d" % (path, n)
        if line.startswith("#"):
            for word in line[1:].split():
                if word.startswith("interval_s="):
                    try:
                        interval = int(word[len("interval_s=") :])
                    except ValueError:
                        raise UserError("%s: interval_s is not an integer" % where) from None
            if line.startswith("# meter "):
                addresses.append(line.split()[2])
            continue
        if header is None:
            header = line.split(",")
            want = ["time"] + [c for a in addresses for c in (a + "_w", a + "_kwh")]
            if header != want or not addresses:
                raise UserError("%s: header is not %s" % (where, ",".join(want)))
            powers = [[] for _ in addresses]
            registers = [[] for _ in addresses]
            continue
        cells = line.split(",")
        if len(cells) != len(header):
            raise UserError("%s: %d fields, the header has %d" % (where, len(cells), len(header)))
        try:
            s = int(dt.datetime.fromisoformat(cells[0]).timestamp())
        except ValueError:
            raise UserError(
                "%s: time %r is not ISO 8601 with an offset" % (where, cells[0])
            ) from None
        if stamps and s <= stamps[-1]:
            raise UserError("%s: time %s does not follow the row before" % (where, cells[0]))
        stamps.append(s)
        for i in range(len(addresses)):
            w, kwh = cells[1 + 2 * i], cells[2 + 2 * i]
            try:
                p = float(w)
                whole, _, frac = kwh.partition(".")
                if len(frac) != 2:
                    raise ValueError
                count = int(whole) * 100 + int(frac)
            except ValueError:
                raise UserError(
                    "%s: %s: %r / %r is not W and XXXXXX.XX kWh" % (where, addresses[i], w, kwh)
                ) from None
            if registers[i] and count < registers[i][-1]:
                raise UserError("%s: %s: the register goes back" % (where, addresses[i]))
            powers[i].append(p)
            registers[i].append(count)
        rows += 1
    if interval is None or interval <= 0:
        raise UserError("%s: no interval_s= in the header" % path)
    if not rows:
        raise UserError("%s: no rows" % path)
    return CommunityLog(addresses, interval, stamps, powers, registers)


# --- faults ---

KINDS = ("meter_silent", "meter_swap", "bus_errors", "collision")


@dataclass(frozen=True)
class Fault:
    kind: str
    at_s: int  # seconds after the log's first row
    meter: int  # 0-based
    until_s: int
    new_count: int = 0  # meter_swap: the new meter's register when connected (10 Wh counts)


def parse_fault(text, log: CommunityLog, tz_s=8 * 3600) -> Fault:
    def clock(v, what):
        try:
            h, m = v.split(":")
            return int(h) * 3600 + int(m) * 60
        except ValueError:
            raise UserError("--fault %s: %s %r is not HH:MM" % (text, what, v)) from None

    kind, _, rest = text.partition("@")
    if kind not in KINDS:
        raise UserError("--fault %s: kind must be one of %s" % (text, ", ".join(KINDS)))
    parts = rest.split(",")
    # the log's first row is local midnight of its day (synth), so HH:MM is seconds after it
    first = (log.stamps[0] + tz_s) % 86400
    at = clock(parts[0], "time") - first
    meter = None
    until = None
    new_count = 0
    for p in parts[1:]:
        key, _, v = p.partition("=")
        if key == "meter":
            try:
                meter = int(v) - 1
            except ValueError:
                meter = -1
            if not 0 <= meter < len(log.addresses):
                raise UserError("--fault %s: meter must be 1 to %d" % (text, len(log.addresses)))
        elif key == "until":
            until = clock(v, "until") - first
        elif key == "kwh" and kind == "meter_swap":
            new_count = _new_register(text, v)
        else:
            known = "meter=, until=, kwh=" if kind == "meter_swap" else "meter=, until="
            raise UserError("--fault %s: unknown %r (%s)" % (text, key, known))
    if meter is None:
        raise UserError("--fault %s: meter= is missing" % text)
    if kind == "meter_swap" and until is None:
        until = at + 600  # ten minutes without supply while the meter is changed
    if until is None or until <= at:
        raise UserError("--fault %s: until= must come after the start" % text)
    return Fault(kind, at, meter, until, new_count)


def _new_register(text, v):
    """A swapped-in meter's register, kWh with at most 2 decimals (a DL/T 645 register's
    XXXXXX.XX), as 10 Wh counts."""
    whole, _, frac = v.partition(".")
    if not (
        whole.isdigit() and len(whole) <= 6 and (frac == "" or frac.isdigit()) and len(frac) <= 2
    ):
        raise UserError("--fault %s: kwh=%s is not a register, 0 to 999999.99 kWh" % (text, v))
    return int(whole) * 100 + int((frac + "00")[:2])


# --- replay ---


class _Line:
    """The meter models on a simulated line, as the replay drives them: meter i by its
    position (the log's column), keys[i] its address or unit id on the line."""

    uart = None  # the line the master talks to (a board's replay: its counters)

    def __init__(self, bus, models, keys):
        self.bus = bus
        self.models = models
        self.keys = keys

    def fault(self, i, kind):
        b = self._line_module()
        self.bus.set_fault(
            self.keys[i],
            {"meter_silent": b.SILENT, "bus_errors": b.BUS_ERRORS, "collision": b.COLLIDE}[kind],
        )

    def clear(self, i):
        self.bus.clear_fault(self.keys[i])


class _DLT645Line(_Line):
    """DL/T 645 meter models on a BusSerial line, by 12-digit address: a register is
    XXXXXX.XX kWh (10 Wh a count)."""

    def _line_module(self):  # its fault names
        from host_tools.sim.chips import dlt645_bus

        return dlt645_bus

    def set(self, i, power_w, kwh):
        self.models[i].energy_kwh = kwh
        self.models[i].power_w = power_w

    def hold(self, i):
        self.models[i].power_w = 0.0  # the register holds its last value

    def shown_wh(self, i):
        return int(round(self.models[i].energy_kwh * 100)) * 10

    def swap(self, i, kwh):
        self.models[i].swap(self.keys[i], kwh)


class _ModbusLine(_Line):
    """Modbus meter models (mixed models) on a ModbusBusPeer, by unit id: a register is the
    vendor's float32 kWh, read in whole Wh."""

    def _line_module(self):  # its fault names
        from host_tools.sim.chips import modbus_bus

        return modbus_bus

    def set(self, i, power_w, kwh):
        self.models[i].set(power_w=power_w, energy_kwh=kwh)

    def hold(self, i):
        self.models[i].set(power_w=0.0)

    def shown_wh(self, i):
        return self.models[i].shown_wh()

    def swap(self, i, kwh):
        self.models[i].swap(kwh)  # a new meter at its own register, at the old one's unit id


def _board(board, log: CommunityLog):
    """The profile of a community board whose meters the log's map onto (by position)."""
    from host_tools.boards import load_board

    profile = load_board(board)
    section = profile.get("community")
    if section is None:
        raise UserError("--board %s: not a community profile (no community section)" % board)
    n = len(section["meters"])
    if n != len(log.addresses):
        raise UserError(
            "--board %s: %d meters in community.meters, the log has %d: a log's meters map "
            "onto the board's by position (column k on meters[k-1])"
            % (board, n, len(log.addresses))
        )
    return profile


def _board_line(profile, board, period):
    """The board's community line from the rig (parts.COMMUNITY_BUSES) and the firmware's
    CommunitySource on it, as board.build opens them: (clock, line, source)."""
    from host_tools.sim import rig as rigmod
    from host_tools.sim.platform import machine as fake
    from sunprint.community.profile import CommunityError
    from sunprint.community.source import build

    section = profile["community"]
    clock = rigmod.Clock()
    rig = rigmod.wire(profile, clock, fake)
    uart = fake.UART(section["uart"]["id"])  # the rig's line, as the unit's machine opens it
    de = fake.Pin(section["de"], fake.Pin.OUT) if "de" in section else None
    try:
        src = build(
            section,
            uart,
            period,
            de=de,
            clock={"ticks_ms": clock.ticks_ms, "sleep_ms": clock.block_ms},
        )
    except CommunityError as e:  # the replay's sample period, not the profile's, is too short
        raise UserError("--board %s: %s" % (board, e)) from None
    models = rig.models["meters"]
    if section["protocol"] == "modbus":
        line = _ModbusLine(rig.models["bus"], models, [m["unit"] for m in section["meters"]])
    else:
        keys = [m["address"].rjust(12, "0") for m in section["meters"]]
        line = _DLT645Line(rig.models["bus"], models, keys)
    line.uart = rig.models["uart"]
    return clock, line, src


# what the simulated line counted against the master (FakeUART; BusSerial has what it has)
_LINE_COUNTS = ("gap_violations", "de_violations", "collisions", "lost_bytes")


def replay(log: CommunityLog, faults=(), *, sample_period_s=None, baud=9600, board=None):
    """The log through the firmware's community core on the simulated bus: a summary dict.

    board: a community profile (a name in boards/ or a path): its protocol, meters, baud rate
    and timeout make the line (the rig's, host_tools/sim/parts.py COMMUNITY_BUSES) and the
    poller (community/source.py build, as the unit's board.build); the log's meters map onto
    the profile's by position. Without it: DL/T 645 meters at the log's addresses, `baud`."""
    from host_tools.paths import use_firmware

    use_firmware()
    from sunprint.core.ledger import LIFETIME

    period = sample_period_s or log.interval_s
    n = len(log.addresses)
    profile = None
    if board is not None:
        profile = _board(board, log)
        clock, line, src = _board_line(profile, board, period)
        step = clock.block_ms
    else:
        from host_tools.sim.chips.dlt645_bus import BusSerial
        from host_tools.sim.chips.dlt645_meter import DLT645MeterModel, VirtualClock
        from sunprint.community.meters import CommunityMeters
        from sunprint.community.schedule import DLT645Bus
        from sunprint.community.source import CommunitySource
        from sunprint.core.ledger import Ledger
        from sunprint.drivers.dlt645 import DLT645, parse_address

        clock = VirtualClock()
        models = [
            DLT645MeterModel(a, energy_kwh=log.registers[i][0] / 100, power_w=0.0)
            for i, a in enumerate(log.addresses)
        ]
        bus = BusSerial(models, clock, baudrate=baud, latency_ms=40)
        dlt = DLT645(
            bus, address=log.addresses[0], ticks_ms=clock.ticks_ms, sleep_ms=clock.sleep_ms
        )
        wire = [parse_address(a) for a in log.addresses]
        poller = DLT645Bus(dlt, wire, read_power=True, baudrate=baud, ticks_ms=clock.ticks_ms)
        ledger = Ledger(counter_per_kwh=1000, counter_bits=30, counter_max_power_w=10000000)
        src = CommunitySource(poller, CommunityMeters(wire), ledger, period)
        line = _DLT645Line(bus, models, log.addresses)
        step = clock.sleep_ms
    poller, meters, ledger = src.poller, src.meters, src.ledger
    offset = [0] * n  # counts subtracted from the log's register: a swapped-in meter's zero
    truth = [0] * n  # Wh each register moved while on the bus, as the meter showed it
    on_bus_from = [None] * n  # the register (Wh, shown) when it was last connected
    min_reporting = n
    t0 = log.stamps[0]
    wall0 = t0 - 946684800  # firmware seconds (since 2000)
    for k, s in enumerate(log.stamps):
        rel = s - t0
        if profile is not None:
            clock.advance_to_us(rel * 1000000)  # the rig's line keeps the log's time
        frozen = [False] * n
        swapped = []
        for f in faults:
            i = f.meter
            if f.kind == "meter_swap":
                if f.at_s < rel < f.until_s:
                    frozen[i] = True  # read at its value of the cut, then nothing moves
                elif rel == f.until_s:  # the new meter at its own register, the supply back
                    offset[i] = log.registers[i][k] - f.new_count
                    line.swap(i, f.new_count / 100)
                    swapped.append(i)
            elif f.at_s <= rel < f.until_s:
                line.fault(i, f.kind)
            elif rel == f.until_s:
                line.clear(i)
        for i in range(n):
            if frozen[i]:
                line.hold(i)
                continue
            line.set(i, log.powers[i][k], (log.registers[i][k] - offset[i]) / 100)
            if k == 0 or i in swapped:
                on_bus_from[i] = line.shown_wh(i)
        for f in faults:  # the supply is cut: the old register stops here
            if f.kind == "meter_swap" and f.at_s == rel and on_bus_from[f.meter] is not None:
                truth[f.meter] += line.shown_wh(f.meter) - on_bus_from[f.meter]
                on_bus_from[f.meter] = None
        if rel % period == 0:
            src.service(rel, wall0 + rel)
            while poller.busy:
                step(5)
                src.service(rel, wall0 + rel)
            min_reporting = min(min_reporting, poller.reporting())
    for i in range(n):
        if on_bus_from[i] is not None:  # (a swap not finished by the end: its old part counted)
            truth[i] += line.shown_wh(i) - on_bus_from[i]
    total_truth = sum(truth)
    per_meter = []
    for i in range(n):
        row = {
            "meter": i + 1,
            "address": log.addresses[i],
            "truth_wh": truth[i],
            "booked_wh": meters.booked[i] * meters.wh_per_count,
            "silent_reads": poller.silent[i],
            "bad_frames": poller.wrong[i],
            "resets": meters.resets[i],
        }
        if profile is not None:  # where the log's meter is on the board's line
            spec = profile["community"]["meters"][i]
            if "unit" in spec:
                row["unit"] = spec["unit"]
                row["model"] = spec["model"]
            else:
                row["on_bus"] = line.keys[i]
        per_meter.append(row)
    summary = {}
    if profile is not None:
        summary["board"] = board
        summary["protocol"] = profile["community"]["protocol"]
        summary["line"] = {
            name: getattr(line.uart, name) for name in _LINE_COUNTS if hasattr(line.uart, name)
        }
    summary.update(
        {
            "meters": per_meter,
            "community_total_wh": meters.total_wh,
            "sum_of_truths_wh": total_truth,
            "error_wh": meters.total_wh - total_truth,
            "ledger_lifetime_wh": ledger.mwh(LIFETIME) // 1000,
            "homes_reporting_last": poller.reporting(),
            "homes_reporting_min": min_reporting,
            "homes": n,
            "rounds": poller.rounds,
        }
    )
    return summary


def unit_frames(log: CommunityLog, profile: dict, frames_dir, *, start_s, seconds, silent=()):
    """A whole community unit over part of a community log: the firmware's board.boot and
    App (the profile's screens, fonts and rotation) on the rig's panel model and meter line
    (host_tools/sim/rig.py), each meter's power from the log minute by minute, its register
    starting at the log's; silent: (meter index, from s, until s) faults, seconds from the
    log's first row. Writes the glass at every refresh into frames_dir as replay names its
    frames (NNNN-HHMMSS-kind.png, local time); returns the paths, in order."""
    import time as _time

    from host_tools.paths import FONTS, use_firmware
    from host_tools.replay import mono_image
    from host_tools.sim import rig as rigmod
    from host_tools.sim.chips.dlt645_bus import SILENT
    from host_tools.sim.platform import machine as fake
    from host_tools.sim.platform.faultfs import FaultFS

    use_firmware()
    from sunprint.board import Platform, boot
    from sunprint.core.config import Settings, defaults

    t0 = log.stamps[0]
    wall = t0 - 946684800 + start_s  # firmware seconds (since 2000)
    clock = rigmod.Clock(wall)
    rig = rigmod.wire(profile, clock, fake)
    # the unit as main.py boots it (board.boot, the one composition root): a default
    # config.json with the profile, on the rig's models, a fresh flash and the virtual clock
    settings = Settings(defaults(), profile)
    tz = settings.tz_offset_s
    platform = Platform(
        fake,
        fs=FaultFS(),
        fonts_dir=str(FONTS),
        sleep_ms=lambda ms: None,
        ticks_ms=clock.ticks_ms,  # the bus drivers on the virtual clock
        bus_sleep_ms=clock.block_ms,
    )
    unit = boot(settings, profile, platform)
    unit.panel.init()
    app = unit.app
    bus = rig.models["bus"]
    models = rig.models["meters"]
    first = start_s // log.interval_s
    for i, m in enumerate(models):
        m.energy_kwh = log.registers[i][first] / 100
    panel = rig.models["display"]
    out = []
    seen = clock.us
    shown = 0
    k = first
    while (k - first) * log.interval_s < seconds:
        rel = k * log.interval_s
        for i, frm, until in silent:
            if rel == frm:
                bus.set_fault(log.addresses[i], SILENT)
            elif rel == until:
                bus.clear_fault(log.addresses[i])
        bus.set_powers([log.powers[i][k] for i in range(len(models))])
        end = wall + (k - first + 1) * log.interval_s
        now = clock.now()
        while now < end:
            wake = app.tick(now, now)
            step = 20000 if wake <= now else (wake - now) * 1000000
            clock.us = min(clock.us + step, end * 1000000)
            bus.advance((clock.us - seen) / 1000000)
            seen = clock.us
            if len(panel.refreshes) > shown:
                shown = len(panel.refreshes)
                name = "%04d-%s-%s.png" % (
                    shown,
                    _time.strftime("%H%M%S", _time.gmtime(now + 946684800 + tz)),
                    panel.refreshes[-1],
                )
                w, h, data = rig.picture()
                path = Path(frames_dir) / name
                mono_image(w, h, data).save(path, optimize=True)
                out.append(path)
            now = clock.now()
        k += 1
    unit.close()
    return out


_RECOGNISE = outfile.text_with("source=" + SOURCE)


def check_out(path):
    """UserError unless synth may write path: new, or an earlier output of synth."""
    outfile.check(path, "--out", "community synth", _RECOGNISE)


def add_cli(sub) -> None:
    """`sunprint community synth ...` and `sunprint community replay ...`."""
    p = sub.add_parser(
        "community",
        help="a community of homes' meters on one bus: synthesise a day, replay a log",
        description="synth: N homes under one sky as a community log (one pair of columns per "
        "meter). replay: a community log through the firmware's bus poller, per-meter "
        "accounting and community Ledger on the simulated RS-485 line, with faults per meter; "
        "prints a JSON summary (docs/community.md).",
    )
    _arguments(p)
    p.set_defaults(func=cmd_community)


def _arguments(p) -> None:
    sub = p.add_subparsers(dest="cmd", metavar="{synth,replay}")
    sub.required = True
    s = sub.add_parser("synth", help="a community day as a community log")
    s.add_argument("--homes", type=int, default=5, help="homes (meters), 1 to 64 (default 5)")
    s.add_argument("--seed", type=int, default=7, help="cloud process seed (default 7)")
    s.add_argument("--interval", type=int, default=60, help="seconds a row: 10, 30, 60, 300")
    s.add_argument(
        "--out", required=True, help="the log to write: a new file or an earlier synth output"
    )
    r = sub.add_parser("replay", help="a community log through the firmware's community core")
    r.add_argument("log", metavar="LOG", help="a community log (sunprint community log 1)")
    r.add_argument(
        "--fault",
        action="append",
        default=[],
        help="meter_silent@HH:MM,meter=N,until=HH:MM, bus_errors@..., collision@..., "
        "meter_swap@HH:MM,meter=N[,until=HH:MM][,kwh=R] (N: the meter's 1-based column in the "
        "log; R: the new meter's register, default 0.00)",
    )
    r.add_argument("--sample-period", type=int, default=0, help="seconds (default: the log's)")
    r.add_argument(
        "--board",
        metavar="NAME",
        help="a community board profile (boards/NAME.json or a path): its protocol (DL/T 645 or "
        "Modbus), meters, baud rate and timeout on the line; the log's meters map onto the "
        "profile's by position (default: DL/T 645 meters at the log's addresses, 9600 baud)",
    )


def cmd_community(args) -> int:
    """Raises UserError for bad input (the caller prints one line and exits 2)."""
    if args.cmd == "synth":
        if not 1 <= args.homes <= 64:
            raise UserError("--homes %d: 1 to 64" % args.homes)
        if args.interval not in (10, 30, 60, 300):
            raise UserError("--interval %d: 10, 30, 60 or 300" % args.interval)
        check_out(args.out)
        homes = default_homes(args.homes)
        stamps, p, reg = synthesize(homes, interval_s=args.interval, seed=args.seed)
        text = log_text(homes, stamps, p, reg, interval_s=args.interval)
        outfile.write(args.out, text.encode("utf-8"), "--out", "community synth", _RECOGNISE)
        return 0
    if args.sample_period < 0:
        raise UserError("--sample-period %d: a number of seconds" % args.sample_period)
    log = read_log(args.log)
    faults = [parse_fault(f, log) for f in args.fault]
    import json

    summary = replay(log, faults, sample_period_s=args.sample_period or None, board=args.board)
    print(json.dumps(summary, indent=1))
    return 0


def main(argv=None) -> int:
    """`python -m host_tools.community ...`: the same as `sunprint community ...`."""
    ap = argparse.ArgumentParser(prog="python -m host_tools.community")
    _arguments(ap)
    args = ap.parse_args(argv)
    try:
        return cmd_community(args)
    except UserError as e:
        print("error: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
