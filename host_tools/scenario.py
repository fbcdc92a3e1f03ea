"""Fault scenarios for `sunprint replay`: a JSON file (--scenario FILE) or --fault options.

A scenario file is a JSON list of events, each an object:

    {"at": "12:00", "kind": "power_cut"}                         the unit loses power at 12:00
    {"at": "12:00", "kind": "power_cut", "until": "12:20"}       ... and stays off until 12:20
    {"at": "10:00", "kind": "dropout", "until": "10:30"}         the sensor does not answer
    {"at": "11:00", "kind": "bus_errors", "until": "12:00", "rate": 0.2}
    {"at": "13:00:30", "kind": "clock_jump", "seconds": -3600}   the wall clock jumps
    {"at": 1728970000, "kind": "meter_swap"}                     the meter's counter restarts
    {"at": "12:00", "kind": "rtc_lost"}                          a power cut that loses the time
    {"at": "12:00", "kind": "ntp_late", "seconds": 10800}        ... and NTP gives it 3 h later
    {"at": "00:00", "kind": "rtc_drift", "until": "720:00"}      the clock runs 20 ppm fast
    {"at": "12:00", "kind": "meter_clock"}                       the time back from the meter

Clock faults (the unit's RTC restarts at 2000-01-01 at a power-on, as an ESP32's does):
rtc_lost and meter_clock are power cuts (with "until", the unit stays off until then) after
which the time comes back only from a source the board has (its profile's "clock" sources: an
RTC module keeps the time, the DL/T 645 meter's clock has it; none: never in the run);
meter_clock reads it from the DL/T 645 meter's clock (the board must have one, else the event
is recorded as not applicable and the unit has no source). ntp_late: a power cut after which
NTP gives the time "seconds" after the power is back (the unit's only source). rtc_drift: from
"at" to "until" (or the end of the log) the unit's clock runs "ppm" fast (default 20).

"at" and "until" are "HH:MM" or "HH:MM:SS" local time on the log's first day (the unit's time
zone; a time may pass 24:00 to reach the next days, e.g. "30:00"), or UNIX seconds (an integer).
The same on the command line: --fault KIND@AT[,until=T][,rate=R][,seconds=S], e.g.
`--fault dropout@10:00,until=10:30` or `--fault clock_jump@12:00,seconds=-3600`.

Every fault names the file, the line and the event's index and key: UserError.
"""

import json
from pathlib import Path

from host_tools.errors import UserError

KINDS = (
    "power_cut",
    "dropout",
    "bus_errors",
    "clock_jump",
    "meter_swap",
    "rtc_lost",
    "ntp_late",
    "rtc_drift",
    "meter_clock",
)
CLOCK_KINDS = ("rtc_lost", "ntp_late", "rtc_drift", "meter_clock")
_KEYS = {
    "power_cut": ("until",),
    "dropout": ("until",),
    "bus_errors": ("until", "rate"),
    "clock_jump": ("seconds",),
    "meter_swap": (),
    "rtc_lost": ("until",),
    "ntp_late": ("until", "seconds"),
    "rtc_drift": ("until", "ppm"),
    "meter_clock": ("until",),
}
_REQUIRED = {
    "dropout": ("until",),
    "bus_errors": ("until", "rate"),
    "clock_jump": ("seconds",),
    "ntp_late": ("seconds",),
}
_MAX_JUMP_S = 20 * 365 * 86400


class _Spec:
    """One event as written, with its time fields still to be resolved against the log."""

    def __init__(self, where, fields):
        self.where = where  # "file:line: event 2" or "--fault 'x'"
        self.fields = fields


def _clock_text(text, where, key):
    parts = text.split(":")
    if len(parts) not in (2, 3) or not all(p.isdigit() and len(p) <= 2 for p in parts):
        raise UserError('%s: %s: %r is not "HH:MM[:SS]" or UNIX seconds' % (where, key, text))
    h, m = int(parts[0]), int(parts[1])
    s = int(parts[2]) if len(parts) == 3 else 0
    if m > 59 or s > 59:
        raise UserError("%s: %s: %r has minutes or seconds above 59" % (where, key, text))
    return h * 3600 + m * 60 + s


def _check(fields, where):
    """Validate one event's fields (JSON values); returns them with clock texts as seconds."""
    if not isinstance(fields, dict):
        raise UserError("%s: an event is an object with at and kind" % where)
    kind = fields.get("kind")
    if kind is None:
        raise UserError("%s: kind: missing (one of %s)" % (where, ", ".join(KINDS)))
    if kind not in KINDS:
        raise UserError("%s: kind: %r is not one of %s" % (where, kind, ", ".join(KINDS)))
    if "at" not in fields:
        raise UserError("%s: at: missing" % where)
    for key in fields:
        if key not in ("at", "kind") and key not in _KEYS[kind]:
            raise UserError("%s: %s: not a key of a %s event" % (where, key, kind))
    for key in _REQUIRED.get(kind, ()):
        if key not in fields:
            raise UserError("%s: %s: missing (a %s event needs it)" % (where, key, kind))
    out = {"kind": kind}
    for key in ("at", "until"):
        if key not in fields:
            continue
        v = fields[key]
        if isinstance(v, bool) or not isinstance(v, (int, str)):
            raise UserError('%s: %s: want "HH:MM[:SS]" or UNIX seconds' % (where, key))
        if isinstance(v, int):
            if not 0 <= v <= 4294967295:
                raise UserError("%s: %s: %d is out of range" % (where, key, v))
            out[key] = v
        else:
            out[key] = _ClockTime(_clock_text(v, where, key))
    if "rate" in fields:
        r = fields["rate"]
        if isinstance(r, bool) or not isinstance(r, (int, float)) or not 0 <= r <= 1:
            raise UserError("%s: rate: want a number from 0 to 1" % where)
        out["rate"] = float(r)
    if "seconds" in fields:
        s = fields["seconds"]
        if isinstance(s, bool) or not isinstance(s, int) or s == 0 or abs(s) > _MAX_JUMP_S:
            raise UserError(
                "%s: seconds: want a non-zero integer within +-%d" % (where, _MAX_JUMP_S)
            )
        if kind == "ntp_late" and s < 0:
            raise UserError("%s: seconds: NTP answers after the boot, not before" % where)
        out["seconds"] = s
    if "ppm" in fields:
        v = fields["ppm"]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < abs(v) <= 1000:
            raise UserError("%s: ppm: want a non-zero number within +-1000" % where)
        out["ppm"] = float(v)
    return out


class _ClockTime(int):
    """Seconds after the first day's local midnight (an "HH:MM" value), not UNIX seconds."""


def _resolve_value(value, day_start):
    return day_start + int(value) if isinstance(value, _ClockTime) else value


class Scenario:
    """Events as read; events(day_start_unix) gives them with UNIX times, sorted."""

    def __init__(self, specs=()):
        self.specs = list(specs)

    def __bool__(self):
        return bool(self.specs)

    def add(self, other):
        self.specs.extend(other.specs)

    def events(self, day_start_unix):
        out = []
        for spec in self.specs:
            ev = dict(spec.fields)
            ev["t"] = _resolve_value(ev.pop("at"), day_start_unix)
            if "until" in ev:
                ev["until"] = _resolve_value(ev["until"], day_start_unix)
                if ev["until"] <= ev["t"]:
                    raise UserError("%s: until: must be after at" % spec.where)
            out.append(ev)
        out.sort(key=lambda e: e["t"])
        return out


def _no_constant(name):
    raise ValueError("%s is not JSON" % name)


def _no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise ValueError("duplicate key %r" % k)
        out[k] = v
    return out


def load(path):
    """A Scenario from a JSON file; UserError naming file:line, the event index and the key."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError("%s: no such file" % path) from None
    except OSError as e:
        raise UserError("%s: cannot read: %s" % (path, e.strerror)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise UserError("%s:%d: not UTF-8 text" % (path, line)) from None
    decoder = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    try:
        data = decoder.decode(text)
    except json.JSONDecodeError as e:
        raise UserError("%s:%d: not JSON: %s" % (path, e.lineno, e.msg)) from None
    except ValueError as e:
        raise UserError("%s:1: %s" % (path, e)) from None
    if not isinstance(data, list):
        raise UserError("%s:1: a scenario is a JSON list of events" % path)
    lines = _item_lines(text, decoder)
    specs = []
    for i, item in enumerate(data):
        where = "%s:%d: event %d" % (path, lines[i] if i < len(lines) else 1, i)
        specs.append(_Spec(where, _check(item, where)))
    return Scenario(specs)


def _item_lines(text, decoder):
    # The line each top-level list item starts on (the file is known to be a valid list).
    i = text.index("[") + 1
    lines = []
    n = len(text)
    while True:
        while i < n and text[i] in " \t\r\n,":
            i += 1
        if i >= n or text[i] == "]":
            return lines
        lines.append(text.count("\n", 0, i) + 1)
        _, i = decoder.raw_decode(text, i)


def parse_fault(spec):
    """A Scenario of one event from a --fault KIND@AT[,key=value...] option."""
    where = "--fault %r" % spec
    head, _, rest = spec.partition(",")
    kind, sep, at = head.partition("@")
    if not sep or not at:
        raise UserError("%s: want KIND@AT[,until=T][,rate=R][,seconds=S][,ppm=P]" % where)
    fields = {"kind": kind.strip(), "at": _cli_value(at.strip())}
    if rest:
        for part in rest.split(","):
            key, eq, value = part.partition("=")
            key = key.strip()
            if not eq or not key:
                raise UserError("%s: %r is not key=value" % (where, part))
            if key in fields:
                raise UserError("%s: %s: given twice" % (where, key))
            fields[key] = _cli_value(value.strip(), number=key in ("rate", "seconds", "ppm"))
    return Scenario([_Spec(where, _check(fields, where))])


def _cli_value(text, number=False):
    if text.lstrip("-").isdigit():
        return int(text)
    if number:
        try:
            return float(text)
        except ValueError:
            return text
    return text
