# The device config, config.json: schema, defaults, validation, migration, loading.
#
# This module owns the format and reads no file itself: parse() takes the text, load() a
# function that returns it. A config is one flat JSON object, one key per setting (simple for
# a technician to edit). After parse() every key of SCHEMA is present (a missing key takes its
# default); unknown keys, wrong types and out-of-range values are errors that name the key and
# what is allowed, and the first fault found is the one reported. Valid regions and years are
# whatever carbon.FACTORS holds when a config is validated.
#
# Format versions:
#   1  the earlier shape: "tz": "+08:00" (local time minus UTC) and "factor_kg_per_kwh": 0.5306
#      (the grid factor itself) where version 2 has tz_offset_min, carbon_region and
#      carbon_year; every other key as in version 2.
#   2  tz_offset_min, carbon_region, carbon_year. sample_period_s, screen_period_s and
#      language were validated but did nothing: the board profile's layout ruled.
#   3  VERSION. sample_period_s, screen_period_s and language drive the unit; null (their
#      default) means the board profile's (see unit_settings). Migration: a version 1 text's
#      tz becomes tz_offset_min and its factor the (carbon_region, carbon_year) row of
#      carbon.FACTORS that has it; in a version 1 or 2 text those three keys at their old
#      defaults (10, 300, "both", what `sunprint flash` wrote) become null, so the unit does
#      what it did; any other value of them is kept and now takes effect.
#
# Cross-key rule: max_gap_s >= 2 * sample_period_s, else one late sample is a gap in the ledger
# (and with sample_period_s > max_gap_s no energy is ever counted). Checked here when the
# config gives both, by unit_settings() against the board's period when it is null.
#
# On the device, load() is the rule: a bad config never stops the sign. No file on a first boot
# (no previous config) is normal: the defaults, no fault. A file that is gone after there was a
# good one, cannot be read, or is not valid: the previous good config (or the defaults) and the
# fault "<name>: <the one-line error>" (main.py files it as a "config" fault, and keeps the
# previous good config on the flash). To go back to the defaults, write {"version": 3}.
import json

from sunprint.compat import const
from sunprint.core import carbon, strictjson

VERSION = const(3)

_ENOENT = const(2)
_SHOW_MAX = const(40)  # characters of a bad key or value quoted in an error, at most

# (key, type, default, min, max or allowed values, meaning). Types: "int" (a JSON integer,
# never true/false), "number" (integer or decimal), "str" (length min..max, no control
# characters), "secret" (a str like "str" whose value no error quotes), "bool" (true/false),
# "id" (a str of A-Z a-z 0-9 _ -), "enum" (one of the allowed values), "region"
# (a region of carbon.FACTORS), "year" (a year carbon.FACTORS has for carbon_region). A key
# whose default is None may also be null: the board profile's layout value (unit_settings).
SCHEMA = (
    ("version", "int", VERSION, 1, VERSION, "format version of this file"),
    ("unit_id", "id", "sunprint", 1, 32, "this unit's name: letters, digits, '_' and '-'"),
    ("site", "str", "", 0, 64, "where the sign stands, free text"),
    ("tz_offset_min", "int", 480, -720, 840, "local time minus UTC, minutes (480 = UTC+8)"),
    ("carbon_region", "region", "CN", None, None, "grid region of the emission factor"),
    ("carbon_year", "year", 2023, None, None, "year of the emission factor"),
    ("coal_gce_per_kwh", "number", 305.5, 100, 500, "coal saved, gce/kWh (NDRC 2020 supply)"),
    ("tree_kg_co2_per_year", "number", 18.3, 1, 100, "CO2 per tree-year, kg (a convention)"),
    ("persist_interval_s", "int", 600, 60, 86400, "save the ledger at least every, s"),
    ("persist_wh", "int", 10, 1, 1000, "save the ledger after this much new energy, Wh"),
    ("max_gap_s", "int", 300, 10, 3600, "samples further apart are a gap, not counted, s"),
    ("sample_period_s", "int", None, 1, 1800, "read the sensors every, s; null: the board's"),
    ("screen_period_s", "int", None, 1, 86400, "next screen every, s; null: the board's"),
    ("language", "enum", None, None, ("zh", "en", "both"), "labels; null: the board's"),
    (
        "clock_sources",
        "str",
        None,
        0,
        64,
        'time sources first to last, e.g. "pcf8563,ds3231"; "": none; null: the board\'s',
    ),
    # The network (sunprint/net, docs/mqtt.md): off by default, no listener is ever opened.
    # A "secret" is a str whose value no error, status or log ever quotes.
    ("wifi_ssid", "str", "", 0, 32, 'Wi-Fi network name; "": Wi-Fi and MQTT off'),
    ("wifi_password", "secret", "", 0, 64, "Wi-Fi password (never shown)"),
    (
        "ntp_host",
        "str",
        "pool.ntp.org",
        0,
        64,
        'NTP server for the clock over Wi-Fi, host or host:port; "": NTP off (and without Wi-Fi)',
    ),
    ("mqtt_host", "str", "", 0, 64, 'MQTT broker host name or address; "": MQTT off'),
    ("mqtt_port", "int", 1883, 1, 65535, "MQTT broker TCP port"),
    ("mqtt_user", "str", "", 0, 64, 'MQTT user name; "": none'),
    ("mqtt_password", "secret", "", 0, 64, "MQTT password (never shown)"),
    ("mqtt_period_s", "int", 60, 5, 86400, "publish the state every, s"),
    ("mqtt_prefix", "id", "sunprint", 1, 32, "topics are <prefix>/<unit_id>/..."),
    ("mqtt_discovery", "bool", True, None, None, "publish Home Assistant discovery"),
)

# The keys a board profile's "layout" also has, and the value when neither says (unit_settings).
_LAYOUT = (("sample_period_s", 10), ("screen_period_s", 300), ("language", "both"))

# Version 1 keys that version 2 replaced, and what replaced them.
_V1_ONLY = {"tz": "tz_offset_min", "factor_kg_per_kwh": "carbon_region and carbon_year"}


class ConfigError(ValueError):
    # str() is one line that starts with the file name; .key is the key at fault, None when
    # the text as a whole is (not JSON, not an object).
    def __init__(self, name, key, message):
        super().__init__("%s: %s" % (name, message))
        self.key = key


def defaults():
    """A new dict with every key at its default: a valid config."""
    return {row[0]: row[2] for row in SCHEMA}


def parse(text, name="config.json"):
    """The config in text (JSON, str or UTF-8 bytes), migrated to VERSION, defaults filled in,
    validated. Raises ConfigError on the first fault."""
    raw = text.encode() if type(text) is str else text
    if type(raw) is not bytes:
        raise ConfigError(name, None, "expected text, got %s" % type(text).__name__)
    if raw[:3] == b"\xef\xbb\xbf":  # a byte-order mark, as some Windows editors write
        raw = raw[3:]
    try:
        text = raw.decode()
    except ValueError:  # UnicodeError is a ValueError in both interpreters
        raise ConfigError(name, None, "not UTF-8 text (save the file as UTF-8)")
    try:
        keys = strictjson.check(raw)
        d = json.loads(text)
    except ValueError as e:
        raise ConfigError(name, None, "not valid JSON: %s" % e)
    twice = strictjson.first_duplicate(raw, keys)
    if twice is not None:
        k = twice[0]
        lines = (_q(k), twice[1], twice[2])
        raise ConfigError(name, k, "key %s appears twice (lines %d and %d)" % lines)
    if type(d) is not dict:
        raise ConfigError(name, None, "expected a JSON object {...}, got %s" % _show(d))
    d = migrate(d, name)
    _unknown(d, name)
    full = defaults()
    full.update(d)
    return validate(full, name)


def validate(d, name="config.json"):
    """Check a complete version 2 config dict and return it. Raises ConfigError on the first
    fault: unknown keys, then each key of SCHEMA in order, then the cross-key rule."""
    _unknown(d, name)
    for row in SCHEMA:
        key = row[0]
        if key not in d:
            raise ConfigError(name, key, "key %s is missing" % _q(key))
        if key == "version":
            _version(d, name, VERSION)
        elif d[key] is not None or row[2] is not None:
            _check(row, d[key], d, name)
    gap, period = d["max_gap_s"], d["sample_period_s"]
    if period is not None and gap < 2 * period:
        raise _err(
            name, "max_gap_s", "%d must be at least twice sample_period_s (%d)" % (gap, period)
        )
    ntp_port(d["ntp_host"], name)
    if d["mqtt_host"] and not d["wifi_ssid"]:
        raise _err(name, "mqtt_host", "MQTT needs Wi-Fi: give wifi_ssid too")
    return d


def ntp_port(host, name="config.json"):
    """(host, port) of ntp_host "host" or "host:port" (port 123 when not given)."""
    head, sep, tail = host.partition(":")
    if not sep:
        return host, 123
    port = int(tail) if tail.isdigit() and len(tail) <= 5 else 0
    if not head or not 1 <= port <= 65535:
        raise _err(name, "ntp_host", "%s is not host or host:port (port 1-65535)" % _show(host))
    return head, port


def migrate(d, name="config.json"):
    """A new dict: d brought to VERSION, its other keys unchecked. Raises ConfigError naming
    the key when d has no usable version or a version 1 value has no version 2 equivalent."""
    out = dict(d)
    version = _version(d, name, 1)
    if version == 1:
        for key in ("tz_offset_min", "carbon_region", "carbon_year"):
            if key in out:
                raise _err(name, key, "not a version 1 key, and this file says version 1")
        if "tz" in out:
            out["tz_offset_min"] = _tz_minutes(out.pop("tz"), name)
        if "factor_kg_per_kwh" in out:
            row = _factor_row(out.pop("factor_kg_per_kwh"), name)
            out["carbon_region"], out["carbon_year"] = row[0], row[1]
    if version < 3:
        # These did nothing before version 3; at the value `sunprint flash` wrote for them
        # they mean "the board's", as they did.
        for key, old in _LAYOUT:
            v = out.get(key)
            if v is not None and type(v) is type(old) and v == old:
                out[key] = None
    out["version"] = VERSION
    return out


def load(read_text, previous=None, name="config.json"):
    """The device rule, (config, fault); never raises. read_text() returns the file's text or
    raises OSError. No file (ENOENT) and no previous config: the defaults and no fault, as on
    a first boot. A file that is gone, cannot be read or is bad: previous (the last good
    config) or the defaults, and the fault, one line that starts with name: "config.json: key
    'persist_wh': ..." (the caller files it under "config")."""
    fallback = defaults() if previous is None else previous
    try:
        text = read_text()
    except OSError as e:
        if e.args and e.args[0] == _ENOENT:
            if previous is None:
                return fallback, None
            return fallback, "%s: missing; the previous config stays in use" % name
        return fallback, _one_line("%s: cannot read: %s" % (name, e))
    except Exception as e:  # the sign keeps going whatever happened
        return fallback, _one_line("%s: cannot read: %r" % (name, e))
    try:
        return parse(text, name), None
    except ConfigError as e:
        return fallback, _one_line(str(e))
    except Exception as e:  # a bug, or MemoryError: the sign keeps going too
        return fallback, _one_line("%s: %r" % (name, e))


def unit_settings(config, profile, name="config.json"):
    """What a unit is built with, from a valid config and its board profile: (settings,
    faults). settings is a dict of board.build's keyword arguments: tz_offset_s, carbon_row,
    coal_dg_per_kwh, tree_dg_co2_per_year, max_gap_s, sample_period_s, screen_period_s,
    language, persist_interval_s, persist_wh, clock_sources. main.py and `sunprint replay` both build from
    it, so a unit and its replay cannot disagree. faults: a list (empty when none) of every
    fault found, each one line naming the key.

    Precedence: sample_period_s, screen_period_s and language are config.json's when it
    gives them, else the profile's "layout" ones, else 10 s, 300 s and "both"; every other
    setting is config.json's alone. When max_gap_s is less than twice the sample period
    chosen (the board's can be long), it is raised to twice the period, with a fault."""
    layout = profile.get("layout") or {}
    s = {}
    for key, default in _LAYOUT:
        v = config.get(key)
        s[key] = layout.get(key, default) if v is None else v
    faults = []
    region, year = config["carbon_region"], config["carbon_year"]
    try:
        row = carbon.factor(region, year)
    except carbon.CarbonError:  # a config validated against another table
        row = carbon.factor()
        faults.append(
            "%s: key 'carbon_year': %s %s has no emission factor; %s %d used"
            % (name, _show(region), _show(year), row[0], row[1])
        )
    gap, period = config["max_gap_s"], s["sample_period_s"]
    if gap < 2 * period:
        what = (
            "%s: key 'max_gap_s': %d is less than twice the board's sample_period_s (%d); %d used"
        )
        faults.append(what % (name, gap, period, 2 * period))
        gap = 2 * period
    s["tz_offset_s"] = config["tz_offset_min"] * 60
    s["carbon_row"] = row
    s["coal_dg_per_kwh"] = int(round(config["coal_gce_per_kwh"] * 10))
    s["tree_dg_co2_per_year"] = int(round(config["tree_kg_co2_per_year"] * 10000))
    s["max_gap_s"] = gap
    s["persist_interval_s"] = config["persist_interval_s"]
    s["persist_wh"] = config["persist_wh"]
    ntp = bool(config.get("wifi_ssid") and config.get("ntp_host"))
    s["clock_sources"] = _clock_sources(config.get("clock_sources"), profile, name, faults, ntp)
    return s, faults


class Settings:
    """A unit's settings, made once from a valid config and its board profile by
    unit_settings' precedence rule (its docstring): build, the keyword arguments of
    board.build; faults, one line each (`fault` first: what was wrong with config.json
    itself, when the unit runs on the last good one); and the values a boot and a replay
    read after the build as attributes (tz_offset_s, carbon_row, coal_dg_per_kwh,
    tree_dg_co2_per_year, persist_interval_s, persist_wh, sample_period_s, language,
    clock_sources)."""

    def __init__(self, config, profile, name="config.json", fault=None):
        s, faults = unit_settings(config, profile, name)
        if fault:
            faults.insert(0, fault)
        self.build = s
        self.faults = faults
        self.tz_offset_s = s["tz_offset_s"]
        self.carbon_row = s["carbon_row"]
        self.coal_dg_per_kwh = s["coal_dg_per_kwh"]
        self.tree_dg_co2_per_year = s["tree_dg_co2_per_year"]
        self.persist_interval_s = s["persist_interval_s"]
        self.persist_wh = s["persist_wh"]
        self.sample_period_s = s["sample_period_s"]
        self.language = s["language"]
        self.clock_sources = s["clock_sources"]


def _clock_sources(text, profile, name, faults, ntp=False):
    # The config's order of the board's time sources ("" none); a name the board's "clock"
    # section does not have is a fault, and the board's order is used. "ntp" is a source of
    # every board when Wi-Fi and an NTP server are set (ntp): first, unless the board's or the
    # config's order puts it elsewhere or leaves it out; without them it is dropped.
    clock = profile.get("clock") or {}
    board = [n for n in clock.get("sources") or () if ntp or n != "ntp"]
    if ntp and "ntp" not in board:
        board.insert(0, "ntp")
    if text is None:
        return tuple(board)
    names = []
    for n in text.split(","):
        n = n.strip()
        if not n:
            continue
        if n not in board or n in names:
            faults.append(
                "%s: key 'clock_sources': %s is %s; the board's order (%s) used"
                % (
                    name,
                    _show(n),
                    "named twice" if n in names else "not a time source of this board",
                    ",".join(board) or "none",
                )
            )
            return tuple(board)
        names.append(n)
    return tuple(names)


def dumps(config):
    """The canonical text of a valid config: JSON, keys sorted, one per line, non-ASCII
    characters as they are. parse(dumps(c)) == c. Raises ConfigError if c is not valid."""
    validate(config)
    lines = ['  "%s": %s' % (key, _json(config[key])) for key in sorted(config)]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def _check(row, value, d, name):
    key, kind, lo, hi = row[0], row[1], row[3], row[4]
    t = type(value)
    if kind in ("int", "year") and t is not int:
        raise _err(name, key, "expected an integer, got %s" % _show(value))
    if kind == "number" and (t is not int and t is not float or value != value):
        raise _err(name, key, "expected a number, got %s" % _show(value))
    if kind == "secret":
        # never quoted: only what is wrong with it
        if t is not str:
            raise _err(name, key, "expected a string, got another type (value not shown)")
        if not lo <= len(value) <= hi:
            raise _err(name, key, "%d characters, allowed %d..%d" % (len(value), lo, hi))
        for c in value:
            if c < " " or c == "\x7f":
                raise _err(name, key, "has a control character (value not shown)")
        return
    if kind == "bool" and t is not bool:
        raise _err(name, key, "expected a boolean (true or false), got %s" % _show(value))
    if kind in ("str", "id", "enum", "region") and t is not str:
        raise _err(name, key, "expected a string, got %s" % _show(value))
    if kind in ("int", "number"):
        if not lo <= value <= hi:
            raise _err(name, key, "%s is out of range %s..%s" % (_show(value), lo, hi))
    elif kind in ("str", "id"):
        if not lo <= len(value) <= hi:
            what = "%s is %d characters, allowed %d..%d" % (_show(value), len(value), lo, hi)
            raise _err(name, key, what)
        i = 0
        for c in value:
            i += 1
            if kind == "str" and (c < " " or c == "\x7f"):
                what = "has a control character"
            elif kind == "id" and not ("a" <= c <= "z" or "A" <= c <= "Z" or c in "0123456789_-"):
                what = "has"
            else:
                continue
            what = "%s %s U+%04X at position %d" % (_show(value), what, ord(c), i)
            if kind == "id":
                what += "; allowed: letters A-Z a-z, digits, '_' and '-'"
            raise _err(name, key, what)
    elif kind == "enum":
        if value not in hi:
            raise _err(name, key, "%s is not one of %s" % (_show(value), _list(hi)))
    elif kind == "region":
        regions = []
        for r in carbon.FACTORS:
            if r[0] not in regions:
                regions.append(r[0])
        if value not in regions:
            raise _err(
                name,
                key,
                "%s is not a region of carbon.FACTORS: %s" % (_show(value), _list(regions)),
            )
    elif kind == "year":
        region = d["carbon_region"]
        years = sorted([r[1] for r in carbon.FACTORS if r[0] == region])
        if value not in years:
            what = "%s has no emission factor for carbon_region %s in carbon.FACTORS; years: %s"
            raise _err(name, key, what % (_show(value), _show(region), _list(years)))


def _version(d, name, oldest):
    # d's version, an int in oldest..VERSION
    if "version" not in d:
        what = "key 'version' is missing: the file must say its format version (%d)" % VERSION
        raise ConfigError(name, "version", what)
    v = d["version"]
    if type(v) is not int:
        raise _err(name, "version", "expected an integer, got %s" % _show(v))
    if v > VERSION:
        what = "version %s is newer than this firmware (%d)" % (_show(v), VERSION)
        raise ConfigError(name, "version", what)
    if v < 1:
        raise _err(name, "version", "%s is not a format version (1..%d)" % (_show(v), VERSION))
    if v < oldest:
        raise _err(name, "version", "%d is an old format: migrate() it to %d first" % (v, VERSION))
    return v


def _unknown(d, name):
    if type(d) is not dict:
        raise ConfigError(name, None, "expected a JSON object {...}, got %s" % _show(d))
    known = [row[0] for row in SCHEMA]
    for key in d:
        if type(key) is not str:
            raise ConfigError(name, key, "key %s is not a string" % _show(key))
    for key in sorted(d):
        if key in known:
            continue
        if key in _V1_ONLY:
            hint = " (a version 1 key: version 2 has %s)" % _V1_ONLY[key]
        else:
            best = _closest(key, known)
            hint = " (did you mean %s?)" % _q(best) if best else ""
        raise ConfigError(name, key, "unknown key %s%s" % (_q(key), hint))


def _err(name, key, message):
    return ConfigError(name, key, "key %s: %s" % (_q(key), message))


def _tz_minutes(value, name):
    # minutes east of UTC of "+HH:MM" or "-HH:MM"
    ok = type(value) is str and len(value) == 6 and value[0] in "+-" and value[3] == ":"
    if not ok or [c for c in value[1:3] + value[4:6] if c not in "0123456789"]:
        raise _err(name, "tz", 'expected "+HH:MM" or "-HH:MM", got %s' % _show(value))
    hh, mm = int(value[1:3]), int(value[4:6])
    minutes = (hh * 60 + mm) * (-1 if value[0] == "-" else 1)
    if mm > 59 or not -720 <= minutes <= 840:
        raise _err(name, "tz", "%s is out of range -12:00..+14:00" % _show(value))
    return minutes


def _factor_row(value, name):
    # The carbon.FACTORS row whose factor is value (kg/kWh, to 0.1 g). When several rows have
    # it: carbon.DEFAULT_REGION before other regions, then the latest year.
    key = "factor_kg_per_kwh"
    if type(value) is not int and type(value) is not float or value != value:
        raise _err(name, key, "expected a number, got %s" % _show(value))
    if not 0 < value <= 10:
        raise _err(name, key, "%s is out of range 0..10 kg/kWh" % _show(value))
    dg = round(value * 10000)
    best = None
    for row in carbon.FACTORS:
        rank = (row[0] == carbon.DEFAULT_REGION, row[1])
        if row[2] == dg and (best is None or rank > best[0]):
            best = (rank, row)
    if best is None:
        have = ", ".join(["%s %d: %s" % (r[0], r[1], r[2] / 10000) for r in carbon.FACTORS])
        what = "%s matches no row of carbon.FACTORS (%s); give carbon_region and carbon_year"
        raise _err(name, key, what % (_show(value), have))
    return best[1]


def _closest(key, known):
    # The known key nearest to key (a typo, another case), or None when none is near.
    best, limit = None, max(1, len(key) // 3) + 1
    if len(key) > 64:
        return None
    a = key.lower()
    for b in known:
        # Levenshtein distance, one row at a time
        prev = list(range(len(b) + 1))
        for i in range(len(a)):
            cur = [i + 1]
            for j in range(len(b)):
                cur.append(min(prev[j + 1] + 1, cur[j] + 1, prev[j] + (a[i] != b[j])))
            prev = cur
        if prev[-1] < limit:
            best, limit = b, prev[-1]
    return best


def _q(key):
    # a key quoted for a message: 'persist_wh', or as JSON when it has odd characters; cut
    # to one short line as _show() cuts a value
    if len(key) > _SHOW_MAX:
        return _show(key)
    for c in key:
        if not " " < c < "\x7f" or c == "'":
            return _show(key)
    return "'%s'" % key


def _list(values):
    return ", ".join([_show(v) for v in values])


def _show(v):
    # v as the JSON file would have it, cut to one short line (a long text is cut first: no
    # copy of a huge value is made to quote the start of it)
    cut = type(v) is str and len(v) > _SHOW_MAX
    if cut:
        v = v[:_SHOW_MAX]
    text = "NaN" if v != v else _json(v)
    return text if len(text) <= _SHOW_MAX and not cut else text[: _SHOW_MAX - 3] + "..."


def _json(v):
    # JSON of v, non-ASCII characters as they are, the same in both interpreters
    try:
        return json.dumps(v, ensure_ascii=False)  # type: ignore[call-arg]  # CPython
    except TypeError:  # MicroPython: no ensure_ascii, and it never escapes non-ASCII
        try:
            return json.dumps(v)
        except Exception:
            return repr(v)


def _one_line(text):
    return " ".join(text.split())
