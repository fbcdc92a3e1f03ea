"""Board profiles: boards/NAME.json, one per hardware build, and their validation.

A profile (firmware/sunprint/board.py builds a unit from it on the device):

    {"name", "description", "chip": "ESP32",
     "display": {"type", "width", "height",
                 "spi": {"id", "sck", "mosi", "baudrate"[, "miso"]}   (e-paper, max7219)
                 | "pin": N                                            (ws2812 data),
                 "pins": {"cs", "dc", "rst", "busy"}    (e-paper; max7219 has only "cs"),
                 "options": {...}},                     (driver keyword arguments)
     "sensors": [{"type", "role",
                  "i2c": {"id", "scl", "sda"[, "freq"]}                 (ina219, ina226)
                  | "uart": {"id", "tx", "rx", "baudrate", "bits", "parity", "stop"}, "de": N
                  | "pin": N                                             (s0),
                  "options": {...}, "calib": {"gain", "offset_w"}, "health": {...}}],
     "layout": {"language", "screens"?, "sample_period_s", "screen_period_s",
                "picture"?: [w, h], "fonts"?, "site"?, "text"?}}

The rules are the firmware's own (firmware/sunprint/parts.py: each part's option schema, the
GPIO and bus rules), which the unit runs again at boot: what this check accepts, the unit runs.
Here the file is read strictly first (UTF-8, no key given twice, bounded nesting and numbers).

validate(profile, name) raises UserError naming the file and the field
("boards/x.json: display.pins.busy: GPIO 6 is a flash pin (6-11)") and returns a list of
warnings (strapping pins and the like, which a real board may use on purpose).
"""

import json
from pathlib import Path

from host_tools.errors import UserError
from host_tools.paths import BOARDS, FONTS, use_firmware

use_firmware()
from sunprint import parts  # noqa: E402 - the firmware is on the path from here

DISPLAYS = tuple(row[0] for row in parts.DISPLAYS)
SENSORS = tuple(row[0] for row in parts.SENSORS)
METERS = tuple(row[0] for row in parts.SENSORS if row[1] == parts.METER)  # energy registers
EPAPER = {row[0]: (row[2], row[3]) for row in parts.DISPLAYS if row[1] == parts.EPAPER}
LED = tuple(row[0] for row in parts.DISPLAYS if row[1] == parts.LED)

MAX_DEPTH = 16  # a profile nests 5 deep; CPython's json recurses once per level
MAX_BYTES = 1 << 20
MAX_DIGITS = 30  # a longer number is a slip (CPython's int() stops at 4,300 with a traceback)


def board_names():
    return sorted(p.stem for p in BOARDS.glob("*.json"))


def board_path(name):
    """boards/NAME.json, or NAME itself when it is a path to a .json file."""
    if str(name).endswith(".json"):
        return Path(name)
    return BOARDS / (name + ".json")


def _display_name(path):
    try:
        return str(path.resolve().relative_to(BOARDS.parent.resolve()))
    except ValueError:
        return str(path)


def read_board(name):
    """The profile of board `name` as parsed JSON, unchecked; and the name used in messages."""
    path = board_path(name)
    if not path.is_file():
        raise UserError("unknown board %r (known: %s)" % (name, ", ".join(board_names()) or "none"))
    shown = _display_name(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise UserError("%s: %d bytes: a board profile is a few kB" % (shown, size))
        data = path.read_bytes()
    except OSError as e:
        raise UserError("%s: cannot read it: %s" % (shown, e.strerror or e)) from None
    return parse_board(data, shown), shown


def parse_board(data, shown):
    """A profile's bytes as parsed JSON. UTF-8 (a BOM is skipped), no key twice in an object,
    at most MAX_DEPTH levels and MAX_DIGITS digits a number; else a one-line UserError
    "shown:line: what"."""
    text = _utf8(data, shown)
    _scan(text, shown)
    try:
        return json.loads(text, parse_constant=float)  # NaN: read, the check names its field
    except json.JSONDecodeError as e:
        raise UserError("%s:%d: not valid JSON: %s" % (shown, e.lineno, e.msg)) from None
    except (ValueError, RecursionError) as e:  # _scan should have said; never a traceback
        raise UserError("%s: not valid JSON: %s" % (shown, str(e)[:60])) from None


def _utf8(data, shown):
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(data) > 1 and not (data[0] and data[1])):
        raise UserError("%s: UTF-16 text: save it as UTF-8" % shown)
    if data[:3] == b"\xef\xbb\xbf":
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise UserError(
            "%s:%d: not UTF-8 (byte 0x%02X): save it as UTF-8" % (shown, line, data[e.start])
        ) from None


def _scan(text, shown):
    """Refuse, with its line, what json.loads takes silently (a key given twice in one object:
    the last one wins) or only with a traceback (deep nesting, a huge number). One pass over
    the text; the syntax itself is left to json.loads."""
    stack = []  # per open container: [field, keys seen or None for a list, last key]
    expect_key = False
    line = 1
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"' and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            if expect_key:
                top = stack[-1]
                try:
                    key = json.loads(text[i : j + 1])
                except ValueError:
                    key = text[i + 1 : j]  # json.loads will say what is wrong with it
                if key in top[1]:
                    where = " (in %s)" % top[0] if top[0] else ""
                    raise UserError(
                        "%s:%d: duplicate key %s%s" % (shown, line, json.dumps(key)[:60], where)
                    )
                top[1].add(key)
                top[2] = key
            expect_key = False
            i = j + 1
            continue
        if c in "{[":
            if len(stack) >= MAX_DEPTH:
                raise UserError("%s:%d: nested deeper than %d levels" % (shown, line, MAX_DEPTH))
            stack.append([_child(stack), set() if c == "{" else None, None])
            expect_key = c == "{"
        elif c in "}]":
            if stack:
                stack.pop()
            expect_key = False
        elif c == ",":
            expect_key = bool(stack) and stack[-1][1] is not None
            if stack and stack[-1][1] is None:
                stack[-1][2] = (stack[-1][2] or 0) + 1  # a list counts its items
        elif c == "\n":
            line += 1
        elif "0" <= c <= "9":
            j = i
            while j < n and "0" <= text[j] <= "9":
                j += 1
            if j - i > MAX_DIGITS:
                raise UserError("%s:%d: a number of %d digits" % (shown, line, j - i))
            i = j
            continue
        i += 1


def _child(stack):
    # The field name of a container that opens here, as parts.py names fields.
    if not stack:
        return ""
    parent = stack[-1]
    if parent[1] is None:  # in a list: its index
        return "%s[%d]" % (parent[0], parent[2] or 0)
    key = str(parent[2])[:60]
    return parent[0] + "." + key if parent[0] else key


def load_board(name, warnings=None):
    """The profile of board `name` (a name in boards/ or a path to a JSON file), fully checked.

    Raises UserError on the first problem; strapping-pin warnings go into `warnings` (a list)
    when one is given."""
    profile, shown = read_board(name)
    found = validate(profile, shown)
    if warnings is not None:
        warnings.extend(found)
    return profile


def check_all():
    """{name: warnings} for every profile in boards/; UserError on the first bad one."""
    return {name: validate(*read_board(name)) for name in board_names()}


def _has_font(name):
    return (FONTS / name).is_file()  # name is a plain file name: parts.py checked it


def validate(profile, name):
    """Check a parsed profile; raise UserError naming `name` and the field; return warnings.

    The unit's own check (sunprint.parts.check), with the fonts looked up in assets/fonts."""
    found = []
    try:
        parts.check(profile, _has_font, found)
    except parts.ProfileError as e:
        raise UserError("%s: %s" % (name, e)) from None
    return ["%s: %s" % (name, w) for w in found]


def add_cli(sub):
    """`sunprint boards check NAME... | --all` (the lead wires it into host_tools/cli.py)."""
    p = sub.add_parser(
        "boards",
        help="check board profiles",
        description="Check board profiles in boards/: pins, buses, display, sensors, layout.",
    )
    bsub = p.add_subparsers(dest="boards_command", metavar="ACTION")
    bsub.required = True
    chk = bsub.add_parser("check", help="validate board profiles (exit 2 on the first error)")
    chk.add_argument("names", nargs="*", metavar="NAME", help="board name or path to a .json")
    chk.add_argument("--all", action="store_true", help="every profile in boards/")
    chk.set_defaults(func=cmd_check)


def cmd_check(args):
    names = board_names() if args.all else args.names
    if not names:
        raise UserError("name a board or give --all")
    for name in names:
        warnings = []
        load_board(name, warnings)
        for w in warnings:
            print("warning: " + w)
        print("%s: ok" % name)
    return 0
