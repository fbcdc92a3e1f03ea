"""The units' MQTT topics, read: every line of `sunprint fleet` that knows a payload's shape is here.

The schema is what the unit publishes (firmware/sunprint/net/publish.py, docs/mqtt.md):

    sunprint/<unit_id>/availability   "online" / "offline"   (retained; last will "offline")
    sunprint/<unit_id>/state          retained JSON object:
        t             Unix seconds of the unit's last sample (number)
        power_w       W (number)
        today_kwh     kWh as a decimal string, exact to the mWh: "12.345678"
        yesterday_kwh, month_kwh, year_kwh, lifetime_kwh   likewise (a number is accepted too
                      and rounded to the mWh); lifetime as the store last made it durable
        co2_kg        kg CO2 avoided in the unit's life, decimal string exact to the g
        coal_kg       kg standard coal, likewise
        factor_kg_per_kwh  the emission factor the unit counts at, kg CO2/kWh, a decimal
                      string ("0.5306"); a number "factor" in g/kWh is read too
        factor_source where it is from: "CN 2023: <the table's source text>"
    sunprint/<unit_id>/status         retained JSON object:
        firmware      str ("0.1.0"); app_version, when sent, likewise
        board         the board profile's name, e.g. "esp32-epd29-ina226"
        lang          "zh" / "en" / "both": the language the sign is set to
        screen, screen_lang  the screen the sign shows now ("main", "carbon", ...; "zh"/"en")
        fault_kinds   {what: count} (counts never decrease while the unit runs); "faults" is
                      their sum (an int) or, from older senders, the object itself
        last_fault    str or null
        free_heap     bytes (int)
        clock         the time source in use (str) or null; "clock_source" is read too

Keys may be missing or null (that value is unknown) and keys not named here are ignored. A value of the
wrong type or out of range is left out and said (a note); a payload that is not a JSON object,
is longer than MAX_PAYLOAD, is empty (a retained message cleared) or is not UTF-8 is refused
whole (TopicError). Unit ids are any
topic level other than "", "+" and "#" up to MAX_ID_CHARS: they are shown escaped, never
trusted as markup or paths.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal, InvalidOperation

PREFIX = "sunprint"
SUBSCRIPTION = PREFIX + "/#"  # every unit topic, and anything else under it (ignored, counted)
KINDS = ("availability", "state", "status")
AVAILABILITY = ("online", "offline")
LANGS = ("en", "zh", "both")
MAX_PAYLOAD = 4096  # bytes: a state or status is ~300; more is not a unit's
MAX_ID_CHARS = 64
MAX_TEXT_CHARS = 200  # a string value longer than this is cut (and said)
MAX_FAULT_KINDS = 32

# state key -> (field in the parsed dict, milli-units per unit): energies in mWh, masses in g
_DECIMALS = {
    "today_kwh": ("today_mwh", 10**6),
    "yesterday_kwh": ("yesterday_mwh", 10**6),
    "month_kwh": ("month_mwh", 10**6),
    "year_kwh": ("year_mwh", 10**6),
    "lifetime_kwh": ("lifetime_mwh", 10**6),
    "co2_kg": ("co2_g", 1000),
    "coal_kg": ("coal_g", 1000),
}
_MAX_MILLI = 10**18  # 10^12 kWh: more is nonsense, not a reading


class TopicError(ValueError):
    """A message refused whole: why, in one line."""


def split(topic: str) -> tuple[str, str]:
    """(unit_id, kind) of a unit topic; TopicError for any other topic."""
    parts = topic.split("/")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise TopicError("not a unit topic (sunprint/<unit_id>/<kind>)")
    unit_id, kind = parts[1], parts[2]
    if not unit_id or unit_id in ("+", "#"):
        raise TopicError("empty unit id")
    if len(unit_id) > MAX_ID_CHARS:
        raise TopicError("unit id longer than %d characters" % MAX_ID_CHARS)
    if kind not in KINDS:
        raise TopicError("unknown kind %r (expected %s)" % (kind[:20], "/".join(KINDS)))
    return unit_id, kind


def parse(kind: str, payload: bytes) -> tuple[dict, list[str]]:
    """(fields, notes) of a payload of `kind`: fields as below, notes what was left out."""
    if not payload:
        raise TopicError("empty payload (a retained message cleared)")
    if len(payload) > MAX_PAYLOAD:
        raise TopicError("payload of %d bytes (more than %d)" % (len(payload), MAX_PAYLOAD))
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise TopicError("payload is not UTF-8") from None
    if kind == "availability":
        word = text.strip()
        if word not in AVAILABILITY:
            raise TopicError("availability %r is not online/offline" % word[:20])
        return {"availability": word}, []
    try:
        obj = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as e:
        raise TopicError("not JSON (%s)" % str(e)[:80]) from None
    if not isinstance(obj, dict):
        raise TopicError("JSON %s, not an object" % type(obj).__name__)
    return (parse_state if kind == "state" else parse_status)(obj)


def _no_constant(name):
    raise ValueError("%s is not a number" % name)


def parse_state(obj: dict) -> tuple[dict, list[str]]:
    """State fields: t (int), power_w (float), today_mwh, month_mwh, year_mwh, lifetime_mwh,
    co2_g, coal_g (ints), factor_dg (int, 0.1 g CO2/kWh as the firmware's table), factor_source
    (str)."""
    out: dict = {}
    notes: list[str] = []
    t = _number(obj, "t", notes)
    if t is not None:
        if 0 <= t < 2**40:
            out["t"] = int(t)
        else:
            notes.append("state key 't': %r is not a time" % t)
    p = _number(obj, "power_w", notes)
    if p is not None:
        out["power_w"] = float(p)
    for key, (field, per) in _DECIMALS.items():
        v = _milli(obj, key, per, notes)
        if v is not None:
            out[field] = v
    f = _number(obj, "factor", notes)
    if f is not None:
        out["factor_dg"] = int(round(f * 10))
    if "factor_kg_per_kwh" in obj:  # kg/kWh to 0.1 g/kWh, the firmware table's unit
        dg = _milli(obj, "factor_kg_per_kwh", 10**4, notes)
        if dg is not None:
            out["factor_dg"] = dg
    s = _text(obj, "factor_source", notes)
    if s is not None:
        out["factor_source"] = s
    return out, notes


def parse_status(obj: dict) -> tuple[dict, list[str]]:
    """Status fields: firmware, app_version, board, lang, last_fault, clock_source (str),
    faults ({str: int}), free_heap (int)."""
    out: dict = {}
    notes: list[str] = []
    for key in ("firmware", "app_version", "board", "clock_source"):
        s = _text(obj, key, notes)
        if s is not None:
            out[key] = s
    for key, field in (("last_fault", "last_fault"), ("clock", "clock_source")):
        if obj.get(key) is not None:  # null: none (no fault yet, no time source)
            s = _text(obj, key, notes)
            if s is not None:
                out[field] = s
    screen = _text(obj, "screen", notes)
    if screen is not None:
        if len(screen) <= 20 and screen.replace("_", "").isalnum():
            out["screen"] = screen
        else:
            notes.append("status key 'screen': %r is not a screen name" % screen[:20])
    screen_lang = _text(obj, "screen_lang", notes)
    if screen_lang is not None:
        if screen_lang in ("zh", "en"):
            out["screen_lang"] = screen_lang
        else:
            notes.append("status key 'screen_lang': %r is not zh/en" % screen_lang[:20])
    lang = _text(obj, "lang", notes)
    if lang is not None:
        if lang in LANGS:
            out["lang"] = lang
        else:
            notes.append("status key 'lang': %r is not one of %s" % (lang, "/".join(LANGS)))
    heap = _number(obj, "free_heap", notes)
    if heap is not None:
        if heap >= 0 and heap == int(heap):
            out["free_heap"] = int(heap)
        else:
            notes.append("status key 'free_heap': %r is not a byte count" % heap)
    kinds = "fault_kinds" if "fault_kinds" in obj else "faults"
    if kinds == "faults" and type(obj.get("faults")) is int:
        kinds = None  # the unit's sum of its fault kinds, without them
    if kinds is not None and kinds in obj:
        faults = obj[kinds]
        if not isinstance(faults, dict):
            notes.append("status key %r: not an object" % kinds)
        else:
            good = {}
            for k, v in faults.items():
                if len(good) >= MAX_FAULT_KINDS:
                    notes.append("status key %r: more than %d kinds" % (kinds, MAX_FAULT_KINDS))
                    break
                if type(v) is int and v >= 0 and len(k) <= 40:
                    good[k] = v
                else:
                    notes.append("status key %r: %r: %r is not a count" % (kinds, k[:40], v))
            out["faults"] = good
    return out, notes


def _number(obj, key, notes):
    if obj.get(key) is None:  # missing or null: unknown
        return None
    v = obj[key]
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        notes.append("key %r: %s is not a number" % (key, _shown(v)))
        return None
    if abs(v) > 1e15:
        notes.append("key %r: %s is out of range" % (key, _shown(v)))
        return None
    return v


def _milli(obj, key, per, notes):
    """A decimal string (or number) as an int count of 1/per units, exact for strings."""
    if obj.get(key) is None:  # missing or null: unknown
        return None
    v = obj[key]
    if isinstance(v, str):
        if len(v) > 40:
            notes.append("key %r: a %d-character string is not a number" % (key, len(v)))
            return None
        try:
            d = Decimal(v.strip())
        except InvalidOperation:
            d = None
        if d is None or not d.is_finite():
            notes.append("key %r: %s is not a decimal number" % (key, _shown(v)))
            return None
        m = d * per
        if m != m.to_integral_value():
            notes.append("key %r: %s has more decimals than %d" % (key, v, len(str(per)) - 1))
        n = int(m.to_integral_value())
    elif isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
        n = int(round(v * per))
    else:
        notes.append("key %r: %s is not a number" % (key, _shown(v)))
        return None
    if abs(n) > _MAX_MILLI:
        notes.append("key %r: %s is out of range" % (key, _shown(v)))
        return None
    return n


def _text(obj, key, notes):
    if obj.get(key) is None:  # missing or null: unknown
        return None
    v = obj[key]
    if not isinstance(v, str):
        notes.append("key %r: %s is not text" % (key, _shown(v)))
        return None
    if len(v) > MAX_TEXT_CHARS:
        notes.append("key %r: cut to %d characters" % (key, MAX_TEXT_CHARS))
        v = v[:MAX_TEXT_CHARS]
    return v


def _shown(v):
    text = json.dumps(v)[:40] if not isinstance(v, float) or math.isfinite(v) else repr(v)
    return text


def state_payload(values: dict) -> bytes:
    """A state payload in this schema from milli-unit fields as parse_state returns them (the
    tests' and benches' simulated units publish these): the inverse of parse_state."""
    out = {}
    if "t" in values:
        out["t"] = values["t"]
    if "power_w" in values:
        out["power_w"] = values["power_w"]
    for key, (field, per) in _DECIMALS.items():
        if field in values:
            n = values[field]
            digits = len(str(per)) - 1
            sign = "-" if n < 0 else ""
            out[key] = "%s%d.%0*d" % (sign, abs(n) // per, digits, abs(n) % per)
    if "factor_dg" in values:  # as the unit sends it: kg/kWh, a decimal string
        dg = values["factor_dg"]
        out["factor_kg_per_kwh"] = "%d.%04d" % (dg // 10000, dg % 10000)
    if "factor_source" in values:
        out["factor_source"] = values["factor_source"]
    return json.dumps(out).encode()
