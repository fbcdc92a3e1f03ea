# The parts registry: every display and sensor type a board profile may name, with its display
# family or source kind and the schema of its options; and check(profile), the one validation of
# a board profile. The host runs it (`sunprint boards check`, host_tools/boards.py) and so does
# the unit at boot (board.build), so the two never disagree: a profile check() accepts builds
# and runs; one it refuses raises ProfileError, whose str() is one line, "field: what is wrong"
# (e.g. "sensors[0].options.averaging: 3 is not one of 1, 4, 16, 64, 128, 256, 512, 1024").
#
# Boot-only on the unit: board.build imports this module, checks, and unload()s it, so its tables
# and code do not stay on the heap (only the names it interned do). Tables are tuples, not dicts.
# Those names stay for good (as .mpy or ROMFS; a frozen app has them in flash): every identifier
# and every string literal of up to 10 characters here is one. So private tables are const(), a
# nested field is named from its parent's name when a message needs it (_at: "sensors[0].i2c."
# and "scl"), and no value is walked a character at a time (tests/host/test_parts_heap.py).
#
# Adding a part: docs/adding-parts.md. A sensor of a family the registry already builds (say one
# more Modbus meter) is one row in SENSORS (its factory and its options' schema) plus its register
# map and tests; a new family also needs its driver module and its factory here (board.build
# calls the row's factory: it has no list of types or families of its own). An option row is
# (name, rule, a, b): rule one of the _INT.. codes below (| _REQ when the option is required),
# a and b its bounds or allowed values. Ranges are what the driver accepts AND what keeps the unit
# alive: e.g. a meter's timeout_ms x (retries + 1) is bounded so that a silent meter cannot hold
# a tick past the watchdog (30 s).
#
# (A sensor-level number such as a rated power, for the ledger's counter plausibility, goes in
# _SENSOR_KEYS and _sensor() below, beside calib and health.)

from sunprint.compat import const

# Source kinds: what the PV sensor's driver gives the app (board.build picks the source and the
# ledger by them).
POWER = const(0)  # instantaneous power (INA2xx): the ledger integrates it
METER = const(1)  # an energy register that survives the unit's reboot (Modbus, DL/T 645)
PULSES = const(2)  # pulses counted since the unit booted (S0)
# Display families.
EPAPER = const(0)  # slow full/partial refreshes, a refresh plan, quiet hours
LED = const(1)  # shows every change at once
# Buses a sensor is on.
BUS_I2C = const(0)
BUS_UART = const(1)
BUS_PIN = const(2)

# Option rules.
_INT = const(1)  # an integer a..b
_NUM = const(2)  # a finite number a..b
_BOOL = const(3)  # true or false
_ONE_OF = const(4)  # one of the tuple a
_DIGITS = const(5)  # a string of 1..a ASCII decimal digits
_RGB = const(6)  # [r, g, b], each 0-255
_HOURS = const(7)  # [[hour, brightness], ...]: hours 0-23 increasing, brightness 0-255
_REQ = const(16)  # flag: required

MAX_W = const(1000000)  # power limits (W): 1 MW keeps every mW value a small int (< 2**30)
_TIMEOUTS_MS = const(3000)  # (retries + 1) x timeout_ms of a meter, at most
_FONT_CHARS = const(32)

# Private tuples are const(), as the ints: folded into the code that reads them, so no global
# and no qstr for their names on the unit.
# e-paper: rotation for mounting, 0 = the maker's landscape orientation
_EPD = const((("rotation", _ONE_OF, (0, 180), None),))

# Driver factories: make(entry, options, bus, w) -> the driver of one profile entry (its section
# and its options), on the bus board.build made for it (the display's SPI, the sensor's I2C or
# UART; None for a part on a pin of its own). w is board.build's wiring: w.output(field, n) and
# w.input(field, n, pull) make and record pins, w.machine, w.neopixel, w.esp32 are the port's
# modules, w.sleep_ms the panel's wait (None: the driver's own), w.clock the bus clock ({} or
# ticks_ms / sleep_ms). Each imports its driver module only when called: the unit imports the
# drivers its profile names and no other. The factories run at boot only, with this module.
# Each is named as the type it builds (modbus: the four meters of drivers/modbus.py), so that its
# name costs the unit no qstr beyond the type's own (an .mpy interns every name it holds), and
# the driver module each imports is named as the type too (`from sunprint.drivers import
# ssd1683`, shadowing the factory's name within it: no "sunprint.drivers.ssd1683" string);
# a part without a bus takes it as `_`.


def _epd(driver, d, options, spi, w, **kw):
    pins = d["pins"]
    kw["rotation"] = options.get("rotation", 0)  # 0 = the maker's orientation, 180
    if w.sleep_ms is not None:
        kw["sleep"] = w.sleep_ms
    return driver(
        spi,
        cs=w.output("display.pins.cs", pins["cs"]),
        dc=w.output("display.pins.dc", pins["dc"]),
        rst=w.output("display.pins.rst", pins["rst"]),
        busy=w.input("display.pins.busy", pins["busy"]),
        **kw,
    )


def ssd1680(d, options, spi, w):
    from sunprint.drivers import ssd1680

    return _epd(ssd1680.SSD1680, d, options, spi, w)


def ssd1683(d, options, spi, w):
    from sunprint.drivers import ssd1683

    return _epd(ssd1683.SSD1683, d, options, spi, w)


def uc8179(d, options, spi, w):
    from sunprint.drivers import uc8179

    # revision: which partial waveform the glass has
    return _epd(uc8179.UC8179, d, options, spi, w, revision=options.get("revision", "2023"))


def max7219(d, options, spi, w):
    from sunprint.drivers import max7219

    return max7219.MAX7219(
        spi,
        cs=w.output("display.pins.cs", d["pins"]["cs"]),
        modules=options["modules"],
        rows=options.get("rows", 1),
        rotation=options.get("rotation", 0),
        flip=options.get("flip", False),
        serpentine=options.get("serpentine", False),
        intensity=options.get("intensity", 1),
    )


def ws2812(d, options, _, w):
    from sunprint.drivers import ws2812

    if w.neopixel is None:
        raise ValueError("a ws2812 display needs the neopixel module (build(neopixel=...))")
    pin = w.output("display.pin", d["pin"])
    schedule = options.get("schedule")
    return ws2812.WS2812Matrix(
        w.neopixel.NeoPixel(pin, d["width"] * d["height"]),
        width=d["width"],
        height=d["height"],
        origin=options.get("origin", "top-left"),
        column_major=options.get("column_major", True),
        serpentine=options.get("serpentine", True),
        color=tuple(options.get("color", (255, 255, 255))),
        brightness=options.get("brightness", 32),
        schedule=None if schedule is None else tuple(tuple(x) for x in schedule),
        max_ma=options.get("max_ma", 500),
    )


def ina226(s, options, i2c, w):
    from sunprint.drivers import ina2xx

    return ina2xx.INA226(
        i2c,
        address=options.get("address", 0x40),
        shunt_ohm=options["shunt_ohm"],
        max_current_a=options["max_current_a"],
        averaging=options.get("averaging", 16),
        conversion_us=options.get("conversion_us", 1100),
    )


def ina219(s, options, i2c, w):
    from sunprint.drivers import ina2xx

    return ina2xx.INA219(
        i2c,
        address=options.get("address", 0x40),
        shunt_ohm=options["shunt_ohm"],
        max_current_a=options["max_current_a"],
        bus_range_v=options.get("bus_range_v", 32),
        shunt_range_mv=options.get("shunt_range_mv"),
        averaging=options.get("averaging", 16),
    )


def dlt645(s, options, uart, w):
    from sunprint.drivers import dlt645

    dlt = dlt645.DLT645(
        uart,
        address=options.get("address"),
        de=w.output("sensor.de", s["de"]) if "de" in s else None,  # RS-485 enable
        timeout_ms=options.get("timeout_ms", 500),
        retries=options.get("retries", 2),
        baudrate=s["uart"]["baudrate"],
        **w.clock,
    )
    energy = (
        dlt645.ENERGY_COMBINED if options.get("energy") == "combined" else dlt645.ENERGY_FORWARD
    )
    return dlt645.Meter(dlt, energy_di=energy)


def modbus(s, options, uart, w):
    # the type names its register map in drivers/modbus.py: "sdm120" -> modbus.SDM120
    from sunprint.drivers import modbus

    rtu = modbus.ModbusRTU(
        uart,
        de=w.output("sensor.de", s["de"]) if "de" in s else None,  # RS-485 enable
        baudrate=s["uart"]["baudrate"],
        timeout_ms=options.get("timeout_ms", 200),
        retries=options.get("retries", 2),
        **w.clock,
    )
    regmap = getattr(modbus, s["type"].upper())
    if "energy" in options:
        regmap = modbus.with_energy(regmap, options["energy"])
    return modbus.Meter(rtu, options.get("unit", 1), regmap)


def s0(s, options, _, w):
    from sunprint.drivers import s0

    pull = w.machine.Pin.PULL_UP if options.get("pull_up", True) else None
    pin = w.input("sensor.pin", s["pin"], pull)
    counts = options["imp_per_kwh"]
    active_low = options.get("active_low", True)
    ticks = {"ticks_ms": w.clock["ticks_ms"]} if "ticks_ms" in w.clock else {}
    pcnt = getattr(w.esp32, "PCNT", None) if w.esp32 is not None else None
    if pcnt is not None and not options.get("bouncy", False):
        return s0.PcntS0(
            pin,
            unit=options.get("pcnt_unit", 0),
            counts_per_kwh=counts,
            active_low=active_low,
            pcnt_factory=pcnt,
            **ticks,
        )
    return s0.IrqS0(
        pin,
        debounce_ms=options.get("debounce_ms", 10),
        min_width_ms=options.get("min_width_ms", 25),
        counts_per_kwh=counts,
        active_low=active_low,
        **ticks,
    )


# type, family, panel width, height (0: from the options), driver factory, options
DISPLAYS = (
    ("ssd1680", EPAPER, 296, 128, ssd1680, _EPD),
    ("ssd1683", EPAPER, 400, 300, ssd1683, _EPD),
    # revision: which partial waveform the 7.5" glass has (drivers/uc8179.py): "2023" the
    # controller's OTP fast waveform, "old" register LUTs loaded by the host
    (
        "uc8179",
        EPAPER,
        800,
        480,
        uc8179,
        _EPD + (("revision", _ONE_OF, ("2023", "old"), None),),
    ),
    (
        "max7219",
        LED,
        0,
        0,
        max7219,
        (
            ("modules", _INT | _REQ, 1, 32),
            ("rows", _INT, 1, 8),
            ("rotation", _ONE_OF, (0, 90, 180, 270), None),
            ("flip", _BOOL, None, None),
            ("serpentine", _BOOL, None, None),
            ("intensity", _INT, 0, 15),
        ),
    ),
    (
        "ws2812",
        LED,
        0,
        0,
        ws2812,
        (
            ("origin", _ONE_OF, ("top-left", "top-right", "bottom-left", "bottom-right"), None),
            ("column_major", _BOOL, None, None),
            ("serpentine", _BOOL, None, None),
            ("color", _RGB, None, None),
            ("brightness", _INT, 0, 255),
            ("schedule", _HOURS, None, None),
            ("max_ma", _INT, 1, 100000),
        ),
    ),
)

_UART_METER = const((("timeout_ms", _INT, 20, 1000), ("retries", _INT, 0, 5)))
_MODBUS = const((("unit", _INT, 1, 247), ("timeout_ms", _INT, 20, 1000), ("retries", _INT, 0, 5)))
_SDM_ENERGY = const(("energy", "energy_import", "energy_export"))  # names in modbus.SDM120 / SDM630

# type, source kind, bus, driver factory, options. A Modbus meter's factory takes the register
# map its type names in drivers/modbus.py (e.g. "sdm120" -> modbus.SDM120).
SENSORS = (
    (
        "ina226",
        POWER,
        BUS_I2C,
        ina226,
        (
            ("address", _INT, 0x40, 0x4F),
            ("shunt_ohm", _NUM | _REQ, 0.00005, 100),
            ("max_current_a", _NUM | _REQ, 0.001, 1000),
            ("averaging", _ONE_OF, (1, 4, 16, 64, 128, 256, 512, 1024), None),
            ("conversion_us", _ONE_OF, (140, 204, 332, 588, 1100, 2116, 4156, 8244), None),
        ),
    ),
    (
        "ina219",
        POWER,
        BUS_I2C,
        ina219,
        (
            ("address", _INT, 0x40, 0x4F),
            ("shunt_ohm", _NUM | _REQ, 0.00005, 100),
            ("max_current_a", _NUM | _REQ, 0.001, 1000),
            ("bus_range_v", _ONE_OF, (16, 32), None),
            ("shunt_range_mv", _ONE_OF, (40, 80, 160, 320), None),
            ("averaging", _ONE_OF, (1, 2, 4, 8, 16, 32, 64, 128), None),
        ),
    ),
    (
        "dlt645",
        METER,
        BUS_UART,
        dlt645,
        (
            ("address", _DIGITS, 12, None),
            ("energy", _ONE_OF, ("forward", "combined"), None),
        )
        + _UART_METER,
    ),
    (
        "ddsu666",
        METER,
        BUS_UART,
        modbus,
        _MODBUS + (("energy", _ONE_OF, ("energy", "energy_export"), None),),
    ),
    ("dtsu666", METER, BUS_UART, modbus, _MODBUS + (("energy", _ONE_OF, ("energy",), None),)),
    ("sdm120", METER, BUS_UART, modbus, _MODBUS + (("energy", _ONE_OF, _SDM_ENERGY, None),)),
    ("sdm630", METER, BUS_UART, modbus, _MODBUS + (("energy", _ONE_OF, _SDM_ENERGY, None),)),
    (
        "s0",
        PULSES,
        BUS_PIN,
        s0,
        (
            ("imp_per_kwh", _INT | _REQ, 1, 1000000),
            ("active_low", _BOOL, None, None),
            ("pull_up", _BOOL, None, None),
            ("bouncy", _BOOL, None, None),
            ("pcnt_unit", _INT, 0, 7),
            ("debounce_ms", _INT, 0, 1000),
            ("min_width_ms", _INT, 0, 1000),
        ),
    ),
)

# Time sources a board's "clock" section may name, in its priority order: name, bus.
# An RTC module on I2C shares the bus of the board's I2C sensor (its address is the chip's own);
# "meter" is the clock of the board's DL/T 645 meter (date and time items, local time); "ntp"
# is SNTP over the unit's Wi-Fi (config.json wifi_ssid and ntp_host; no bus: None).
CLOCKS = (
    ("ds3231", BUS_I2C),
    ("pcf8563", BUS_I2C),
    ("meter", BUS_UART),
    ("ntp", None),
)

ROLES = ("pv_power", "pv_energy")
LANGUAGES = ("en", "zh", "both")
_PARITIES = const(("none", "even", "odd"))
_BAUDS = const((1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200))

# ESP32 (classic) GPIOs: 20, 24 and 28-31 don't exist; 6-11 are the SPI flash of every module.
_INPUT_ONLY = const((34, 39))  # no output driver, no internal pull-up/down
_STRAPPING = const((0, 2, 5, 12, 15))
_PSRAM_PINS = const((16, 17))  # a WROVER module's PSRAM

# "community": the meters of many homes on one bus (sunprint/community)
_TOP_KEYS = const(
    ("name", "description", "chip", "psram", "display", "sensors", "layout", "clock", "community")
)
_CLOCK_KEYS = const(("sources", "sync_s", "retry_s", "jump_s"))
_DISPLAY_KEYS = const(("type", "width", "height", "spi", "pin", "pins", "options"))
_SENSOR_KEYS = const(("type", "role", "options", "calib", "health"))
# "site", "text": words for the font tool's glyph subset (host_tools/fonts.py)
_LAYOUT_KEYS = const(
    (
        "language",
        "screens",
        "sample_period_s",
        "screen_period_s",
        "picture",
        "fonts",
        "site",
        "text",
    )
)


class ProfileError(ValueError):
    """A board profile the unit cannot run: str() is "field: what is wrong", one line."""

    def __init__(self, field, what):
        super().__init__(field + ": " + what)
        self.field = field


def display(kind):
    """The DISPLAYS row of a display type, or None."""
    for row in DISPLAYS:
        if row[0] == kind:
            return row
    return None


def sensor(kind):
    """The SENSORS row of a sensor type, or None."""
    for row in SENSORS:
        if row[0] == kind:
            return row
    return None


def check(profile, has_font=None, warnings=None):
    """Raise ProfileError at the first thing in `profile` (parsed JSON) the unit cannot run.

    has_font(name) -> bool: whether a font file is there (None: not checked). warnings: a list
    that gets "field: note" for what a board may do on purpose (strapping pins and the like)."""
    c = _Checker(warnings)
    if not isinstance(profile, dict):
        raise ProfileError("(profile)", "must be a JSON object, not " + _kind(profile))
    if c.value(profile, "psram", "psram", _BOOL, required=False):
        for n in _PSRAM_PINS:
            c.pins[n] = ("the PSRAM of a WROVER module (psram: true)", None)
    size = _display(c, c.obj(profile, "display", "display", True))
    c.known(profile, _TOP_KEYS, "")
    c.text(profile, "name", "name", 64, False)
    c.text(profile, "description", "description", 400, False)
    chip = c.text(profile, "chip", "chip", 16, True)
    if chip != "ESP32":
        _fail("chip", "only ESP32 is supported, not " + _show(chip))
    _sensors(c, profile)
    _clock(c, profile)
    _layout(c, c.obj(profile, "layout", "layout", True), size, has_font)
    _community(c, profile)


def check_display(d):
    """Raise ProfileError unless the display section `d` alone is one the unit can drive."""
    _display(_Checker(None), d)


def check_calib(calib, field):
    """Raise ProfileError unless calib ({"gain", "offset_w"}) is a usable calibration."""
    _calib(_Checker(None), calib, field)


def unload():
    """Let the GC take this module: the unit calls it once the profile is checked."""
    import sys

    sys.modules.pop(__name__, None)
    pkg = sys.modules.get("sunprint")
    if pkg is not None and "parts" in dir(pkg):
        delattr(pkg, "parts")


def _at(field, key):
    # A field given as its parent's name and a dot ("sensors[0].i2c.") names `key` within it:
    # built when it is needed, not held as one more short literal (a qstr the unit keeps).
    return field + key if field[-1:] == "." else field


def _fail(field, what):
    raise ProfileError(field, what)


def _kind(v):
    if v is None:
        return "null"
    if v is True or v is False:
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
    return "a " + type(v).__name__


def _show(v):
    # A value as the message shows it: repr, at most 40 characters (a 1 MB value is not echoed,
    # nor its whole repr built first).
    if isinstance(v, str) and len(v) > 40:
        v = v[:40]
    elif isinstance(v, (list, dict)) and len(v) > 8:
        return "%s of %d items" % (_kind(v), len(v))
    s = repr(v)
    return s if len(s) <= 40 else s[:37] + "..."


def _finite(v):
    return v - v == 0  # NaN - NaN and inf - inf are NaN


def _is_int(v):
    return isinstance(v, int) and v is not True and v is not False


class _Checker:
    def __init__(self, warnings):
        self.warnings = warnings
        self.pins = {}  # gpio -> (field, share key)

    def warn(self, field, what):
        if self.warnings is not None:
            self.warnings.append(field + ": " + what)

    def known(self, d, keys, field):
        for k in d:
            if k not in keys:
                _fail(
                    (field + "." if field else "") + str(k),
                    "unknown key (allowed: %s)" % ", ".join(sorted(keys)),
                )

    def obj(self, d, key, field, required):
        field = _at(field, key)
        if key not in d:
            if required:
                _fail(field, "missing")
            return None
        v = d[key]
        if not isinstance(v, dict):
            _fail(field, "must be an object, not " + _kind(v))
        return v

    def text(self, d, key, field, hi, required):
        field = _at(field, key)
        if key not in d:
            if required:
                _fail(field, "missing")
            return None
        v = d[key]
        if not isinstance(v, str):
            _fail(field, "must be a string, not " + _kind(v))
        if len(v) > hi:
            _fail(field, "longer than %d characters" % hi)
        return v

    def value(self, d, key, field, kind, a=None, b=None, required=True):
        """d[key] checked against one rule (kind: _INT.._HOURS); None when it is absent and not
        required."""
        field = _at(field, key)
        if key not in d:
            if required:
                _fail(field, "missing")
            return None
        v = d[key]
        if kind == _INT:
            if not _is_int(v):
                _fail(field, "must be an integer, not " + _kind(v))
            if a is not None and b is not None and not a <= v <= b:
                _fail(field, "must be %s to %s, not %s" % (a, b, _show(v)))
        elif kind == _NUM:
            if not (_is_int(v) or isinstance(v, float)):
                _fail(field, "must be a number, not " + _kind(v))
            if not _finite(v):
                _fail(field, "must be a finite number, not " + _show(v))
            if a is not None and b is not None and not a <= v <= b:
                _fail(field, "must be %s to %s, not %s" % (a, b, _show(v)))
        elif kind == _BOOL:
            if v is not True and v is not False:
                _fail(field, "must be true or false, not " + _kind(v))
        elif kind == _ONE_OF:
            ok = False
            for x in a or ():
                if v == x and type(v) is type(x):
                    ok = True
            if not ok:
                _fail(field, "%s is not one of %s" % (_show(v), ", ".join(str(x) for x in a or ())))
        elif kind == _DIGITS:
            if not isinstance(v, str) or not 0 < len(v) <= (a or 0) or not _digits(v):
                _fail(field, "must be 1-%d decimal digits (the nameplate), not %s" % (a, _show(v)))
        elif kind == _RGB:
            if not isinstance(v, list) or len(v) != 3 or not _all_bytes(v):
                _fail(field, "must be [r, g, b], each 0-255, not " + _show(v))
        elif kind == _HOURS:
            _hours(self, v, field)
        return v

    def options(self, d, field, rows):
        """The options object (checked against the part's rows rows); {} when absent."""
        opts = self.obj(d, "options", field + ".options", False)
        if opts is None:
            opts = {}
        names = []
        for row in rows:
            names.append(row[0])
            kind = row[1]
            self.value(
                opts, row[0], field + ".options." + row[0], kind & 15, row[2], row[3], kind & _REQ
            )
        self.known(opts, names, field + ".options")
        return opts

    def gpio(self, d, key, field, output, group=None, required=True):
        """A GPIO number; output: the pin is driven (or open-drain, as I2C and the LED data).
        group: the pins of one bus ("spi1") may be shared by its parts, each pin by its key."""
        field = _at(field, key)
        n = self.value(d, key, field, _INT, required=required)
        if n is None:
            return None
        if 6 <= n <= 11:
            _fail(field, "GPIO %d is a flash pin (6-11)" % n)
        if n < 0 or n > 39 or n == 20 or n == 24 or 28 <= n <= 31:
            _fail(field, "GPIO %d does not exist on the ESP32 (0-19, 21-23, 25-27, 32-39)" % n)
        if output and _INPUT_ONLY[0] <= n <= _INPUT_ONLY[1]:
            _fail(field, "GPIO %d is input-only (34-39) and cannot be an output" % n)
        if n in _STRAPPING:
            self.warn(field, "GPIO %d is a strapping pin (0, 2, 5, 12, 15): check boot levels" % n)
        if n == 1 or n == 3:
            self.warn(field, "GPIO %d is the UART0 console (1 TX, 3 RX)" % n)
        seen = self.pins.get(n)
        if seen is not None and (group is None or seen[1] != (group, key)):
            _fail(field, "GPIO %d is already used by %s" % (n, seen[0]))
        if seen is None:
            self.pins[n] = (field, group and (group, key))
        return n


# Characters are checked with strip(), never one at a time: MicroPython interns every string of
# one character it makes (a loop over "000000000123" would leave "1", "2", "3" as qstrs).
_DECIMAL = const("0123456789")  # str.isdigit() also takes "²³"
_NAME_CHARS = const("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


def _digits(s):
    return s.strip(_DECIMAL) == ""  # what strip() leaves is a character not in the set


def _all_bytes(v):
    for x in v:
        if not _is_int(x) or not 0 <= x <= 255:
            return False
    return True


def _hours(c, v, field):
    if not isinstance(v, list) or not 0 < len(v) <= 24:
        _fail(field, "must be a list of 1-24 [hour, brightness] entries, not " + _show(v))
    last = -1
    for i in range(len(v)):
        e = v[i]
        f = "%s[%d]" % (field, i)
        if (
            not isinstance(e, list)
            or len(e) != 2
            or not _is_int(e[0])
            or not _is_int(e[1])
            or not 0 <= e[0] <= 23
            or not 0 <= e[1] <= 255
        ):
            _fail(f, "must be [hour 0-23, brightness 0-255], not " + _show(e))
        if e[0] <= last:
            _fail(f, "hours must increase (%d after %d)" % (e[0], last))
        last = e[0]


def _display(c, d):
    """Check the display section; returns the panel size (width, height)."""
    if not isinstance(d, dict):
        _fail("display", "must be an object, not " + _kind(d))
    kind = c.text(d, "type", "display.type", 16, True)
    row = display(kind)
    if row is None:
        raise ProfileError(
            "display.type",
            "unknown display %s (supported: %s)" % (_show(kind), ", ".join(r[0] for r in DISPLAYS)),
        )
    c.known(d, _DISPLAY_KEYS, "display")
    width = c.value(d, "width", "display.width", _INT, 1, 4096)
    height = c.value(d, "height", "display.height", _INT, 1, 4096)
    opts = c.options(d, "display", row[5])
    if row[1] == EPAPER:
        if (width, height) != (row[2], row[3]):
            _fail(
                "display.width",
                "%dx%d does not match a %s panel (%dx%d)" % (width, height, kind, row[2], row[3]),
            )
    elif kind == "max7219":
        modules, rows = opts["modules"], opts.get("rows", 1)
        if modules * rows > 64:
            _fail("display.options.modules", "at most 64 devices in a chain (modules x rows)")
        if (width, height) != (8 * modules, 8 * rows):
            _fail(
                "display.width",
                "%dx%d does not match %d modules x %d rows of 8x8 (%dx%d)"
                % (width, height, modules, rows, 8 * modules, 8 * rows),
            )
    else:  # ws2812
        if height % 8:
            _fail("display.height", "must be a multiple of 8, not %d" % height)
        if width * height > 2048:
            _fail("display.width", "at most 2048 LEDs, not %dx%d" % (width, height))
        if opts.get("max_ma", 500) < width * height:  # the driver's 1 mA per dark LED
            _fail(
                "display.options.max_ma",
                "%d (default 500) is below the %d mA that %d dark LEDs draw"
                % (opts.get("max_ma", 500), width * height, width * height),
            )
    if kind == "ws2812":
        for key in ("spi", "pins"):
            if key in d:
                _fail("display." + key, "a ws2812 strip has one data pin: use display.pin")
        c.gpio(d, "pin", "display.pin", True)
        return width, height
    if "pin" in d:
        _fail("display.pin", "a %s display is on SPI: use display.spi and display.pins" % kind)
    spi = c.obj(d, "spi", "display.spi", True)
    c.known(spi, ("id", "sck", "mosi", "miso", "baudrate"), "display.spi")
    spi_id = c.value(spi, "id", "display.spi.id", _INT)
    if spi_id != 1 and spi_id != 2:
        _fail("display.spi.id", "must be 1 (HSPI) or 2 (VSPI), not %s" % _show(spi_id))
    c.value(spi, "baudrate", "display.spi.baudrate", _INT, 100000, 80000000)
    share = "spi%d" % spi_id
    c.gpio(spi, "sck", "display.spi.sck", True, share)
    c.gpio(spi, "mosi", "display.spi.mosi", True, share)
    c.gpio(spi, "miso", "display.spi.miso", False, share, False)
    pins = c.obj(d, "pins", "display.pins", True)
    names = ("cs",) if kind == "max7219" else ("cs", "dc", "rst", "busy")
    c.known(pins, names, "display.pins")
    for key in names:
        c.gpio(pins, key, "display.pins." + key, key != "busy")
    return width, height


def _sensors(c, profile):
    if "sensors" not in profile:
        _fail("sensors", "missing")
    sensors = profile["sensors"]
    if not isinstance(sensors, list):
        _fail("sensors", "must be a list, not " + _kind(sensors))
    if not sensors and "community" not in profile:
        _fail("sensors", "needs one sensor (the PV power or energy source)")
    if len(sensors) > 1 and "community" in profile:
        _fail("sensors", "a community unit has at most one local string beside its meters")
    if len(sensors) > 4:
        _fail("sensors", "at most 4 sensors")
    roles = []
    for i in range(len(sensors)):
        role = _sensor(c, sensors[i], "sensors[%d]" % i)
        row = sensor(sensors[i]["type"])
        if "community" in profile and (role != "pv_power" or row is None or row[2] != BUS_I2C):
            _fail(
                "sensors[%d]" % i,
                "a community unit's local string is an INA2xx pv_power sensor (its meters are "
                "in the community section)",
            )
        if role in roles:
            _fail("sensors[%d].role" % i, "two sensors with the role " + role)
        roles.append(role)


def _sensor(c, s, f):
    if not isinstance(s, dict):
        _fail(f, "must be an object, not " + _kind(s))
    g = f + "."  # its fields' names are built within it (_at)
    kind = c.text(s, "type", g, 16, True)
    row = sensor(kind)
    if row is None:
        raise ProfileError(
            g + "type",
            "unknown sensor %s (supported: %s)" % (_show(kind), ", ".join(r[0] for r in SENSORS)),
        )
    role = c.text(s, "role", g, 16, True)
    if role not in ROLES:
        _fail(g + "role", "unknown role %s (known: %s)" % (_show(role), ", ".join(ROLES)))
    bus = row[2]
    if bus == BUS_I2C:
        c.known(s, _SENSOR_KEYS + ("i2c",), f)
        i2c = c.obj(s, "i2c", g, True)
        i = g + "i2c"
        c.known(i2c, ("id", "scl", "sda", "freq"), i)
        i += "."
        bus_id = c.value(i2c, "id", i, _INT)
        if bus_id != 0 and bus_id != 1:
            _fail(i + "id", "must be 0 or 1, not %s" % _show(bus_id))
        c.value(i2c, "freq", i, _INT, 10000, 1000000, False)
        c.gpio(i2c, "scl", i, True, "i2c%d" % bus_id)
        c.gpio(i2c, "sda", i, True, "i2c%d" % bus_id)
    elif bus == BUS_UART:
        c.known(s, _SENSOR_KEYS + ("uart", "de"), f)
        _uart(c, s, f, kind == "dlt645")
    else:  # a pulse input
        c.known(s, _SENSOR_KEYS + ("pin",), f)
        c.gpio(s, "pin", g, False)
    opts = c.options(s, f, row[4])
    if bus == BUS_I2C:
        _ina(c, kind, opts, f)
    elif bus == BUS_UART:
        t = opts.get("timeout_ms", 500 if kind == "dlt645" else 200)
        if (opts.get("retries", 2) + 1) * t > _TIMEOUTS_MS:
            _fail(
                f + ".options.timeout_ms",
                "(retries + 1) x timeout_ms is %d ms; at most %d, or a silent meter holds the "
                "unit past its watchdog" % ((opts.get("retries", 2) + 1) * t, _TIMEOUTS_MS),
            )
    elif opts.get("pull_up", True) and _INPUT_ONLY[0] <= s["pin"] <= _INPUT_ONLY[1]:
        _fail(
            f + ".options.pull_up",
            "GPIO %d has no internal pull-up (34-39): fit an external one and set pull_up false"
            % s["pin"],
        )
    calib = c.obj(s, "calib", g, False)
    if calib is not None:
        _calib(c, calib, g + "calib")
    health = c.obj(s, "health", f + ".health", False)
    if health is not None:
        c.known(health, ("min_w", "max_w", "max_step_w", "stuck_after"), f + ".health")
        lo = c.value(health, "min_w", f + ".health.min_w", _NUM, -MAX_W, MAX_W, False)
        hi = c.value(health, "max_w", f + ".health.max_w", _NUM, -MAX_W, MAX_W, False)
        c.value(health, "max_step_w", f + ".health.max_step_w", _NUM, 0, MAX_W, False)
        c.value(health, "stuck_after", f + ".health.stuck_after", _INT, 0, 100000, False)
        if hi is not None and hi <= 0:
            _fail(f + ".health.max_w", "must be above 0 W, or nothing is ever counted")
        if lo is not None and hi is not None and lo > hi:
            _fail(f + ".health.min_w", "%s is above max_w (%s)" % (_show(lo), _show(hi)))
    return role


def _uart(c, s, f, dlt645):
    # An RS-485 bus: s["uart"] and the optional s["de"] pin (a sensor's, or the community's).
    g = f + "."  # its fields' names are built within it (_at)
    uart = c.obj(s, "uart", g, True)
    u = g + "uart"
    c.known(uart, ("id", "tx", "rx", "baudrate", "bits", "parity", "stop"), u)
    v = u + "."
    bus_id = c.value(uart, "id", v, _INT)
    if bus_id != 1 and bus_id != 2:
        _fail(v + "id", "must be 1 or 2 (UART0 is the console), not %s" % _show(bus_id))
    c.value(uart, "baudrate", v, _ONE_OF, _BAUDS)
    c.value(uart, "bits", v, _ONE_OF, (7, 8))
    c.value(uart, "parity", v, _ONE_OF, _PARITIES)
    c.value(uart, "stop", v, _ONE_OF, (1, 2))
    share = "uart%d" % bus_id
    c.gpio(uart, "tx", v, True, share)
    c.gpio(uart, "rx", v, False, share)
    c.gpio(s, "de", g, True, share, False)
    if dlt645 and (uart["bits"], uart["parity"], uart["stop"]) != (8, "even", 1):
        c.warn(u, "DL/T 645 meters speak 8E1 (8 bits, even parity, 1 stop)")
    return uart


def _community(c, profile):
    # The meters of many homes on one bus: the bus by the sensors' rules, the meters by
    # community/profile.py's (one named message per fault, the same at boot), at the
    # profile's sample period.
    section = c.obj(profile, "community", "community", False)
    screens = profile["layout"].get("screens") or ()
    for name in ("homes", "home"):
        if section is None and name in screens:
            _fail(
                "layout.screens[%d]" % screens.index(name),
                "the %s screen shows a community's meters: the profile has no community section"
                % name,
            )
    if section is None:
        return
    if "home" in screens and section.get("per_home_screen") is not True:
        _fail(
            "layout.screens[%d]" % screens.index("home"),
            "the home screen shows each household's production: only with "
            "community.per_home_screen true",
        )
    from sunprint.community.profile import check as check_community

    uart = _uart(c, section, "community", section.get("protocol") == "dlt645")
    period = profile["layout"].get("sample_period_s", 10)
    try:
        community = check_community(section, period)
    except ValueError as e:  # CommunityError: "field: what is wrong", as a ProfileError
        field = getattr(e, "field", "community")
        raise ProfileError(field, str(e)[len(field) + 2 :]) from None
    if community.baudrate != uart["baudrate"]:
        _fail(
            "community.baudrate",
            "%d, but community.uart.baudrate is %d" % (community.baudrate, uart["baudrate"]),
        )


def clock_sources(profile):
    """The names of the profile's time sources, in its priority order (() when none)."""
    clock = profile.get("clock")
    return tuple(clock.get("sources", ())) if clock else ()


def _clock(c, profile):
    clock = c.obj(profile, "clock", "clock", False)
    if clock is None:
        return
    c.known(clock, _CLOCK_KEYS, "clock")
    sources = clock.get("sources")
    if not isinstance(sources, list) or not 0 < len(sources) <= len(CLOCKS):
        _fail(
            "clock.sources",
            "must be a list of 1-%d time sources, not %s" % (len(CLOCKS), _show(sources)),
        )
    names = [r[0] for r in CLOCKS]
    i2c = False
    meter = False
    for s in profile["sensors"]:
        row = sensor(s.get("type")) if isinstance(s, dict) else None
        if row is not None and row[2] == BUS_I2C:
            i2c = True
        if row is not None and row[0] == "dlt645":
            meter = True
    for i in range(len(sources)):
        f = "clock.sources[%d]" % i
        name = sources[i]
        if not isinstance(name, str) or name not in names:
            _fail(f, "unknown time source %s (known: %s)" % (_show(name), ", ".join(names)))
        if name in sources[:i]:
            _fail(f, "%s named twice" % name)
        if name == "ntp":
            pass  # on Wi-Fi: config.json says whether there is one
        elif name == "meter":
            if not meter:
                _fail(f, "the meter's clock needs a dlt645 sensor (DL/T 645 date and time)")
        elif not i2c:
            _fail(
                f, "a %s module is on the I2C bus of a sensor, and no sensor here is on I2C" % name
            )
    c.value(clock, "sync_s", "clock.sync_s", _INT, 60, 86400, False)
    c.value(clock, "retry_s", "clock.retry_s", _INT, 10, 86400, False)
    c.value(clock, "jump_s", "clock.jump_s", _INT, 2, 86400, False)


def _calib(c, calib, field):
    if not isinstance(calib, dict):
        _fail(field, "must be an object, not " + _kind(calib))
    c.known(calib, ("gain", "offset_w"), field)
    field += "."
    c.value(calib, "gain", field, _NUM, 0.01, 100)
    c.value(calib, "offset_w", field, _NUM, -MAX_W, MAX_W, False)


def _ina(c, kind, options, f):
    # The INA2xx calibration ties shunt_ohm, max_current_a and the shunt range together (the
    # register arithmetic must fit): the driver's own constructor decides, on no bus at all.
    from sunprint.drivers import ina2xx

    try:
        if kind == "ina226":
            ina2xx.INA226(
                None, shunt_ohm=options["shunt_ohm"], max_current_a=options["max_current_a"]
            )
        else:
            ina2xx.INA219(
                None,
                shunt_ohm=options["shunt_ohm"],
                max_current_a=options["max_current_a"],
                shunt_range_mv=options.get("shunt_range_mv"),
            )
    except ValueError as e:
        _fail(
            f + ".options.max_current_a", "with shunt_ohm %s: %s" % (_show(options["shunt_ohm"]), e)
        )


def _layout(c, layout, size, has_font):
    from sunprint.ui.layout import FALLBACK, fonts_for, screen_names
    from sunprint.ui.panels import PANELS

    c.known(layout, _LAYOUT_KEYS, "layout")
    c.value(layout, "language", "layout.language", _ONE_OF, LANGUAGES)
    c.value(layout, "sample_period_s", "layout.sample_period_s", _INT, 1, 3600)
    c.value(layout, "screen_period_s", "layout.screen_period_s", _INT, 1, 86400)
    picture = None
    if "picture" in layout:
        picture = layout["picture"]
        if (
            not isinstance(picture, list)
            or len(picture) != 2
            or not _is_int(picture[0])
            or not _is_int(picture[1])
            or picture[0] < 1
            or picture[1] < 1
        ):
            _fail("layout.picture", "must be [width, height], not " + _show(picture))
        if picture[0] > size[0] or picture[1] > size[1]:
            _fail("layout.picture", "%dx%d is larger than the display" % (picture[0], picture[1]))
        size = (picture[0], picture[1])
    if size not in PANELS:
        _fail(
            "layout.picture" if picture is not None else "display.width",
            "no screens for a %dx%d picture (sizes with screens: %s); set layout.picture"
            % (size[0], size[1], ", ".join("%dx%d" % k for k in PANELS)),
        )
    if "screens" in layout:
        screens = layout["screens"]
        known = screen_names(size[0], size[1])
        if not isinstance(screens, list) or not 0 < len(screens) <= 16:
            _fail("layout.screens", "must be a list of 1-16 screen names, not " + _show(screens))
        for i in range(len(screens)):
            if screens[i] not in known:
                _fail(
                    "layout.screens[%d]" % i,
                    "no screen %s for %dx%d (known: %s)"
                    % (_show(screens[i]), size[0], size[1], ", ".join(known)),
                )
    for key in ("site", "text"):
        if key in layout:
            _words(c, layout[key], "layout." + key)
    files = dict(fonts_for(size[0], size[1]))
    roles = list(files)  # and the roles drawn in another font when a board has none for them
    for role in FALLBACK if files else ():
        if role not in roles:
            roles.append(role)
    fonts = c.obj(layout, "fonts", "layout.fonts", False)
    if fonts is not None:
        for role in fonts:
            f = "layout.fonts." + str(role)
            if role not in roles:
                _fail(
                    f,
                    "no font role %s here (roles: %s)"
                    % (_show(role), ", ".join(roles) or "none, these screens draw no text"),
                )
            name = fonts[role]
            if not isinstance(name, str) or not _font_name(name):
                _fail(f, "must be a font file name such as sans16.bin, not " + _show(name))
            files[role] = name
    if has_font is not None:
        for role in files:
            if not has_font(files[role]):
                _fail("layout.fonts." + role, "no font file %s" % files[role])


def _font_name(s):
    # A plain name in the fonts folder, never a path: letters, digits, "_", "-", then ".bin".
    if not 4 < len(s) <= _FONT_CHARS or s[-4:] != ".bin":
        return False
    return s[:-4].strip(_NAME_CHARS) == ""


def _words(c, v, field):
    # A string, or a list or object of strings (e.g. [English, Chinese]).
    items = v if isinstance(v, list) else list(v.values()) if isinstance(v, dict) else [v]
    for x in items:
        if not isinstance(x, str) or len(x) > 200:
            _fail(field, "must be text (a string, or a list of strings of up to 200 characters)")
