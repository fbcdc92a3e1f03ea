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

validate(profile, name) raises UserError naming the file and the field
("boards/x.json: display.pins.busy: GPIO 6 is a flash pin (6-11)") and returns a list of
warnings (strapping pins and the like, which a real board may use on purpose).
"""

import json
from pathlib import Path

from host_tools.errors import UserError
from host_tools.paths import BOARDS

# ESP32 (classic) GPIOs: 20, 24 and 28-31 don't exist.
GPIOS = frozenset(list(range(0, 20)) + [21, 22, 23, 25, 26, 27] + list(range(32, 40)))
FLASH_PINS = frozenset(range(6, 12))  # SPI flash on every WROOM/WROVER module
INPUT_ONLY = frozenset(range(34, 40))  # no output driver, no internal pull-up/down
STRAPPING = frozenset((0, 2, 5, 12, 15))
CONSOLE = frozenset((1, 3))
PSRAM_PINS = (16, 17)  # UART0 TX/RX: the REPL and the bootloader

EPAPER = {"ssd1680": (296, 128), "ssd1683": (400, 300), "uc8179": (800, 480)}
LED = ("max7219", "ws2812")
DISPLAYS = tuple(EPAPER) + LED
SUPPORTED_DISPLAYS = EPAPER  # (kept for older callers: the e-paper sizes)

I2C_SENSORS = ("ina219", "ina226")
MODBUS_METERS = ("ddsu666", "dtsu666", "sdm120", "sdm630")
UART_SENSORS = ("dlt645",) + MODBUS_METERS
SENSORS = I2C_SENSORS + UART_SENSORS + ("s0",)
ROLES = ("pv_power", "pv_energy")
PARITIES = ("none", "even", "odd")
LANGUAGES = ("en", "zh", "both")

_DISPLAY_OPTIONS = {
    "ssd1680": {"rotation": int},  # e-paper rotation: 0 (the maker's orientation) or 180
    "ssd1683": {"rotation": int},
    "uc8179": {"rotation": int, "revision": str},  # revision: "2023" or "old" (see below)
    "max7219": {
        "modules": int,
        "rows": int,
        "rotation": int,
        "flip": bool,
        "serpentine": bool,
        "intensity": int,
    },
    "ws2812": {
        "origin": str,
        "column_major": bool,
        "serpentine": bool,
        "color": list,
        "brightness": int,
        "schedule": list,
        "max_ma": int,
    },
}
_SENSOR_OPTIONS = {
    "ina226": {
        "address": int,
        "shunt_ohm": float,
        "max_current_a": float,
        "averaging": int,
        "conversion_us": int,
    },
    "ina219": {
        "address": int,
        "shunt_ohm": float,
        "max_current_a": float,
        "bus_range_v": int,
        "shunt_range_mv": int,
        "averaging": int,
    },
    "dlt645": {"address": str, "energy": str, "timeout_ms": int, "retries": int},
    "s0": {
        "imp_per_kwh": int,
        "active_low": bool,
        "pull_up": bool,
        "bouncy": bool,
        "pcnt_unit": int,
        "debounce_ms": int,
        "min_width_ms": int,
    },
}
for _m in MODBUS_METERS:
    _SENSOR_OPTIONS[_m] = {"unit": int, "timeout_ms": int, "retries": int, "energy": str}
_REQUIRED_OPTIONS = {
    "ina226": ("shunt_ohm", "max_current_a"),
    "ina219": ("shunt_ohm", "max_current_a"),
    "s0": ("imp_per_kwh",),
    "max7219": ("modules",),
}
_HEALTH = {"min_w": float, "max_w": float, "max_step_w": float, "stuck_after": int}
_CALIB = {"gain": float, "offset_w": float}

_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
_TYPE_NAMES[list] = "a list"
_TYPE_NAMES[dict] = "an object"


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
        profile = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise UserError("%s:%d: not valid JSON: %s" % (shown, e.lineno, e.msg)) from None
    return profile, shown


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


class _Checker:
    def __init__(self, name):
        self.name = name
        self.warnings = []
        self.pins = {}  # gpio -> (field, share key)

    def fail(self, field, msg):
        raise UserError("%s: %s: %s" % (self.name, field, msg))

    def warn(self, field, msg):
        self.warnings.append("%s: %s: %s" % (self.name, field, msg))

    def obj(self, parent, key, field, required=True):
        v = parent.get(key)
        if v is None:
            if required:
                self.fail(field, "missing")
            return None
        if not isinstance(v, dict):
            self.fail(field, "must be an object, not %s" % _json_type(v))
        return v

    def value(self, parent, key, field, kind, required=True):
        if key not in parent:
            if required:
                self.fail(field, "missing")
            return None
        v = parent[key]
        ok = isinstance(v, kind) and not (kind in (int, float) and isinstance(v, bool))
        if kind is float:
            ok = isinstance(v, (int, float)) and not isinstance(v, bool)
        if not ok:
            self.fail(field, "must be %s, not %s" % (_TYPE_NAMES[kind], _json_type(v)))
        return v

    def positive(self, parent, key, field, kind=int, required=True):
        v = self.value(parent, key, field, kind, required)
        if v is not None and v <= 0:
            self.fail(field, "must be > 0, not %r" % (v,))
        return v

    def known_keys(self, obj, allowed, field):
        for k in obj:
            if k not in allowed:
                self.fail(
                    "%s.%s" % (field, k) if field else k,
                    "unknown key (allowed: %s)" % ", ".join(sorted(allowed)),
                )

    def options(self, parent, field, spec, required):
        opts = self.obj(parent, "options", field + ".options", required=bool(required))
        if opts is None:
            return {}
        self.known_keys(opts, spec, field + ".options")
        for key, kind in spec.items():
            self.value(opts, key, "%s.options.%s" % (field, key), kind, key in required)
        return opts

    def gpio(self, parent, key, field, output, share=None, required=True):
        """A GPIO number; output: the pin is driven (or open-drain, as I2C and the LED data)."""
        n = self.value(parent, key, field, int, required)
        if n is None:
            return None
        if n in FLASH_PINS:
            self.fail(field, "GPIO %d is a flash pin (6-11)" % n)
        if n not in GPIOS:
            self.fail(field, "GPIO %d does not exist on the ESP32 (0-19, 21-23, 25-27, 32-39)" % n)
        if output and n in INPUT_ONLY:
            self.fail(field, "GPIO %d is input-only (34-39) and cannot be an output" % n)
        if n in STRAPPING:
            self.warn(field, "GPIO %d is a strapping pin (0, 2, 5, 12, 15): check boot levels" % n)
        if n in CONSOLE:
            self.warn(field, "GPIO %d is the UART0 console (1 TX, 3 RX)" % n)
        seen = self.pins.get(n)
        if seen is not None and (share is None or seen[1] != share):
            self.fail(field, "GPIO %d is already used by %s" % (n, seen[0]))
        if seen is None:
            self.pins[n] = (field, share)
        return n


def _json_type(v):
    if isinstance(v, bool):
        return "true/false"
    if isinstance(v, int):
        return "an integer"
    if isinstance(v, float):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "an object"
    return "null"


def validate(profile, name):
    """Check a parsed profile; raise UserError naming `name` and the field; return warnings."""
    c = _Checker(name)
    if not isinstance(profile, dict):
        raise UserError("%s: a board profile must be a JSON object" % name)
    c.known_keys(
        profile, ("name", "description", "chip", "psram", "display", "sensors", "layout"), ""
    )
    if c.value(profile, "psram", "psram", bool, required=False):
        for n in PSRAM_PINS:  # WROVER modules wire their PSRAM to GPIO 16 and 17
            c.pins[n] = ("the PSRAM of a WROVER module (psram: true)", None)
    c.value(profile, "name", "name", str, required=False)
    c.value(profile, "description", "description", str, required=False)
    chip = c.value(profile, "chip", "chip", str)
    if chip != "ESP32":
        c.fail("chip", "only ESP32 is supported, not %r" % chip)
    size = _display(c, profile)
    _sensors(c, profile)
    _layout(c, profile, size)
    return c.warnings


def _display(c, profile):
    d = c.obj(profile, "display", "display")
    kind = c.value(d, "type", "display.type", str)
    if kind not in DISPLAYS:
        c.fail("display.type", "unknown display %r (supported: %s)" % (kind, ", ".join(DISPLAYS)))
    c.known_keys(d, ("type", "width", "height", "spi", "pin", "pins", "options"), "display")
    width = c.positive(d, "width", "display.width")
    height = c.positive(d, "height", "display.height")
    opts = c.options(d, "display", _DISPLAY_OPTIONS[kind], _REQUIRED_OPTIONS.get(kind, ()))
    if kind in EPAPER:
        if (width, height) != EPAPER[kind]:
            c.fail(
                "display.width",
                "%dx%d does not match a %s panel (%dx%d)" % ((width, height, kind) + EPAPER[kind]),
            )
        if opts.get("rotation", 0) not in (0, 180):
            c.fail("display.options.rotation", "an e-paper panel turns by 0 or 180, not 90/270")
        # The 7.5" glass: "2023" has the OTP's fast partial waveform (Waveshare EPD_7in5_V2.c,
        # Dec 2023), "old" is driven with register LUTs (EPD_7in5_V2_old.c).
        if opts.get("revision", "2023") not in ("2023", "old"):
            c.fail("display.options.revision", 'must be "2023" or "old"')
    elif kind == "max7219":
        modules, rows = opts["modules"], opts.get("rows", 1)
        if modules < 1 or rows < 1:
            c.fail("display.options.modules", "modules and rows must be >= 1")
        if (width, height) != (8 * modules, 8 * rows):
            c.fail(
                "display.width",
                "%dx%d does not match %d modules x %d rows of 8x8 (%dx%d)"
                % (width, height, modules, rows, 8 * modules, 8 * rows),
            )
        if opts.get("rotation", 0) not in (0, 90, 180, 270):
            c.fail("display.options.rotation", "must be 0, 90, 180 or 270")
        if not 0 <= opts.get("intensity", 1) <= 15:
            c.fail("display.options.intensity", "must be 0-15")
    else:  # ws2812
        if height % 8:
            c.fail("display.height", "must be a multiple of 8, not %d" % height)
        color = opts.get("color")
        if color is not None and (
            len(color) != 3 or not all(isinstance(x, int) and 0 <= x <= 255 for x in color)
        ):
            c.fail("display.options.color", "must be [r, g, b], each 0-255")
    if kind == "ws2812":
        for key in ("spi", "pins"):
            if key in d:
                c.fail("display." + key, "a ws2812 strip has one data pin: use display.pin")
        c.gpio(d, "pin", "display.pin", output=True)
        return width, height
    if "pin" in d:
        c.fail("display.pin", "a %s display is on SPI: use display.spi and display.pins" % kind)
    spi = c.obj(d, "spi", "display.spi")
    c.known_keys(spi, ("id", "sck", "mosi", "miso", "baudrate"), "display.spi")
    spi_id = c.value(spi, "id", "display.spi.id", int)
    if spi_id not in (1, 2):
        c.fail("display.spi.id", "must be 1 (HSPI) or 2 (VSPI), not %d" % spi_id)
    c.positive(spi, "baudrate", "display.spi.baudrate")
    share = "spi%d" % spi_id
    c.gpio(spi, "sck", "display.spi.sck", output=True, share=share + ".sck")
    c.gpio(spi, "mosi", "display.spi.mosi", output=True, share=share + ".mosi")
    c.gpio(spi, "miso", "display.spi.miso", output=False, share=share + ".miso", required=False)
    pins = c.obj(d, "pins", "display.pins")
    names = ("cs",) if kind == "max7219" else ("cs", "dc", "rst", "busy")
    c.known_keys(pins, names, "display.pins")
    for key in names:
        c.gpio(pins, key, "display.pins." + key, output=key != "busy")
    return width, height


def _sensors(c, profile):
    sensors = c.value(profile, "sensors", "sensors", list)
    if not sensors:
        c.fail("sensors", "needs one sensor (the PV power or energy source)")
    for i, s in enumerate(sensors):
        f = "sensors[%d]" % i
        if not isinstance(s, dict):
            c.fail(f, "must be an object, not %s" % _json_type(s))
        kind = c.value(s, "type", f + ".type", str)
        if kind not in SENSORS:
            c.fail(f + ".type", "unknown sensor %r (supported: %s)" % (kind, ", ".join(SENSORS)))
        role = c.value(s, "role", f + ".role", str)
        if role not in ROLES:
            c.fail(f + ".role", "unknown role %r (known: %s)" % (role, ", ".join(ROLES)))
        allowed = ["type", "role", "options", "calib", "health"]
        if kind in I2C_SENSORS:
            allowed.append("i2c")
            bus = c.obj(s, "i2c", f + ".i2c")
            c.known_keys(bus, ("id", "scl", "sda", "freq"), f + ".i2c")
            bus_id = c.value(bus, "id", f + ".i2c.id", int)
            if bus_id not in (0, 1):
                c.fail(f + ".i2c.id", "must be 0 or 1, not %d" % bus_id)
            c.positive(bus, "freq", f + ".i2c.freq", required=False)
            c.gpio(bus, "scl", f + ".i2c.scl", output=True, share="i2c%d.scl" % bus_id)
            c.gpio(bus, "sda", f + ".i2c.sda", output=True, share="i2c%d.sda" % bus_id)
        elif kind in UART_SENSORS:
            allowed += ["uart", "de"]
            bus = c.obj(s, "uart", f + ".uart")
            c.known_keys(bus, ("id", "tx", "rx", "baudrate", "bits", "parity", "stop"), f + ".uart")
            bus_id = c.value(bus, "id", f + ".uart.id", int)
            if bus_id not in (1, 2):
                c.fail(f + ".uart.id", "must be 1 or 2 (UART0 is the console), not %d" % bus_id)
            c.positive(bus, "baudrate", f + ".uart.baudrate")
            if c.value(bus, "bits", f + ".uart.bits", int) not in (7, 8):
                c.fail(f + ".uart.bits", "must be 7 or 8")
            if c.value(bus, "parity", f + ".uart.parity", str) not in PARITIES:
                c.fail(f + ".uart.parity", "must be one of %s" % ", ".join(PARITIES))
            if c.value(bus, "stop", f + ".uart.stop", int) not in (1, 2):
                c.fail(f + ".uart.stop", "must be 1 or 2")
            share = "uart%d" % bus_id
            c.gpio(bus, "tx", f + ".uart.tx", output=True, share=share + ".tx")
            c.gpio(bus, "rx", f + ".uart.rx", output=False, share=share + ".rx")
            c.gpio(s, "de", f + ".de", output=True, share=share + ".de", required=False)
            if kind == "dlt645" and (bus["bits"], bus["parity"], bus["stop"]) != (8, "even", 1):
                c.warn(f + ".uart", "DL/T 645 meters speak 8E1 (8 bits, even parity, 1 stop)")
        else:  # s0
            allowed.append("pin")
            c.gpio(s, "pin", f + ".pin", output=False)
        c.known_keys(s, allowed, f)
        opts = c.options(s, f, _SENSOR_OPTIONS[kind], _REQUIRED_OPTIONS.get(kind, ()))
        _sensor_options(c, f, kind, s, opts)
        calib = c.obj(s, "calib", f + ".calib", required=False)
        if calib is not None:
            c.known_keys(calib, _CALIB, f + ".calib")
            c.value(calib, "gain", f + ".calib.gain", float)
            c.value(calib, "offset_w", f + ".calib.offset_w", float, required=False)
        health = c.obj(s, "health", f + ".health", required=False)
        if health is not None:
            c.known_keys(health, _HEALTH, f + ".health")
            for key, kind2 in _HEALTH.items():
                c.value(health, key, "%s.health.%s" % (f, key), kind2, required=False)
    roles = [s["role"] for s in sensors]
    if len(set(roles)) != len(roles):
        c.fail("sensors", "two sensors with the same role")


def _sensor_options(c, f, kind, s, opts):
    if kind in I2C_SENSORS:
        address = opts.get("address", 0x40)
        if not 0x40 <= address <= 0x4F:
            c.fail(f + ".options.address", "an INA2xx answers at 0x40-0x4F, not 0x%02X" % address)
        for key in ("shunt_ohm", "max_current_a"):
            if opts[key] <= 0:
                c.fail("%s.options.%s" % (f, key), "must be > 0")
    elif kind == "dlt645":
        address = opts.get("address")
        if address is not None and (len(address) > 12 or not address.isdigit()):
            c.fail(f + ".options.address", "up to 12 decimal digits (the nameplate address)")
        if opts.get("energy", "forward") not in ("forward", "combined"):
            c.fail(f + ".options.energy", "must be forward or combined")
    elif kind in MODBUS_METERS:
        if not 1 <= opts.get("unit", 1) <= 247:
            c.fail(f + ".options.unit", "a Modbus unit address is 1-247")
    elif kind == "s0":
        if not 0 < opts["imp_per_kwh"] <= 1000000:
            c.fail(f + ".options.imp_per_kwh", "must be 1..1000000")
        if opts.get("pull_up", True) and s["pin"] in INPUT_ONLY:
            c.fail(
                f + ".options.pull_up",
                "GPIO %d has no internal pull-up (34-39): fit an external one and set "
                "pull_up false" % s["pin"],
            )


def _layout(c, profile, size):
    from host_tools.paths import use_firmware

    use_firmware()
    from sunprint.ui.layout import PANELS, screen_names

    lay = c.obj(profile, "layout", "layout")
    c.known_keys(
        lay,
        (
            "language",
            "screens",
            "sample_period_s",
            "screen_period_s",
            "picture",
            "fonts",
            "site",
            "text",
        ),
        "layout",
    )
    if c.value(lay, "language", "layout.language", str) not in LANGUAGES:
        c.fail("layout.language", "must be one of %s" % ", ".join(LANGUAGES))
    c.positive(lay, "sample_period_s", "layout.sample_period_s")
    c.positive(lay, "screen_period_s", "layout.screen_period_s")
    picture = c.value(lay, "picture", "layout.picture", list, required=False)
    if picture is not None:
        if len(picture) != 2 or not all(isinstance(x, int) and x > 0 for x in picture):
            c.fail("layout.picture", "must be [width, height]")
        if picture[0] > size[0] or picture[1] > size[1]:
            c.fail("layout.picture", "%dx%d is larger than the display" % tuple(picture))
        size = tuple(picture)
    if size not in PANELS:
        c.fail(
            "layout.picture" if picture is not None else "display.width",
            "no screens for a %dx%d picture (sizes with screens: %s); set layout.picture"
            % (size[0], size[1], ", ".join("%dx%d" % k for k in PANELS)),
        )
    screens = c.value(lay, "screens", "layout.screens", list, required=False)
    if screens is not None:
        known = screen_names(size[0], size[1])
        for i, s in enumerate(screens):
            if s not in known:
                c.fail(
                    "layout.screens[%d]" % i,
                    "no screen %r for %dx%d (known: %s)" % (s, size[0], size[1], ", ".join(known)),
                )
    fonts = c.obj(lay, "fonts", "layout.fonts", required=False)
    if fonts is not None:
        for role, file in fonts.items():
            if not isinstance(file, str):
                c.fail("layout.fonts." + role, "must be a font file name")


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
