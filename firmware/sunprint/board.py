"""Build a display unit from a board profile (boards/*.json, checked on the host by
host_tools/boards.py): the buses and pins, the panel driver, the power source, the ledger, the
picture, the renderer and the App.

The composition root is boot(settings, profile, platform): a unit from its settings
(core.config.Settings: config.json and the board profile, by one precedence rule) and its
profile, on a Platform (the machine module and the port's others, the flash, the clocks, and
what a host puts in place of a part), restored and ready to tick. main.py boots the unit on an
ESP32 with it, and so do `sunprint replay` (host_tools/replay_core.py), the virtual board (which
runs main.py) and the tests: there is no second way to assemble a unit. build() below is its
keyword form (the parts of a unit, not restored), for tests that take a unit apart.

    import json, machine, esp32, neopixel
    from sunprint.board import build
    with open("/board.json") as f:
        unit = build(json.load(f), machine, esp32=esp32, neopixel=neopixel, store=store)
    unit.app.restore(); unit.panel.init() (e-paper); then unit.app.tick(now) forever

The sensor's health max_w is also its rated power: the ledger believes at most twice that,
in a power reading and in the power a step of an energy counter implies (see _rated_w).

`machine` (and `neopixel`, `esp32`) are handed in: this module imports none of them, so tests
build units with a fake. Only the driver modules a profile needs are imported. Pins, buses and
drivers are made with the ESP32 port's keyword arguments:
    SPI(id, baudrate=, sck=Pin(n), mosi=Pin(n)), I2C(id, scl=Pin(n), sda=Pin(n), freq=),
    UART(id, baudrate=, bits=, parity=, stop=, tx=n, rx=n), Pin(n, Pin.OUT / Pin.IN).
"""

from sunprint.compat import const

# What build() makes: it stays on the heap, this module does not (main.py drops it after boot).
from sunprint.unitparts import Unit

_PARITY = {"none": None, "even": 0, "odd": 1}
_RATED_MARGIN = 2  # the ledger trusts up to twice the sensor's rated power (see _rated_w)
_DEFAULT_MAX_W = 10000000  # the ledger's own limit when the profile gives none (10 MW)
_S0_MAX_W_PER_IMP = 60000000  # W * imp/kWh at 16.7 pulses/s: 3.6e6 J/kWh * 16.67 /s
_NEVER_S = const(1 << 30)  # a screen period no replay reaches: a blank panel turns no screen
# The source kinds of sunprint/parts.py (POWER, METER, PULSES), folded here: parts leaves the heap
# once the profile is checked (tests/host/test_parts_registry.py checks that they are the same).
_POWER = const(0)
_METER = const(1)
_PULSES = const(2)


def _out(machine, unit, field, n):
    p = machine.Pin(n, machine.Pin.OUT)
    unit.pins[field] = p
    return p


def _in(machine, unit, field, n, pull=None):
    Pin = machine.Pin
    p = Pin(n, Pin.IN) if pull is None else Pin(n, Pin.IN, pull)
    unit.pins[field] = p
    return p


def _spi(machine, unit, spec):
    Pin = machine.Pin
    name = "spi%d" % spec["id"]
    bus = unit.buses.get(name)
    if bus is None:
        if "miso" in spec:
            bus = machine.SPI(
                spec["id"],
                baudrate=spec["baudrate"],
                sck=Pin(spec["sck"]),
                mosi=Pin(spec["mosi"]),
                miso=Pin(spec["miso"]),
            )
        else:
            bus = machine.SPI(
                spec["id"], baudrate=spec["baudrate"], sck=Pin(spec["sck"]), mosi=Pin(spec["mosi"])
            )
        unit.buses[name] = bus
    return bus


def _i2c(machine, unit, spec):
    Pin = machine.Pin
    name = "i2c%d" % spec["id"]
    bus = unit.buses.get(name)
    if bus is None:
        bus = machine.I2C(
            spec["id"], scl=Pin(spec["scl"]), sda=Pin(spec["sda"]), freq=spec.get("freq", 400000)
        )
        unit.buses[name] = bus
    return bus


def _uart(machine, unit, spec):
    name = "uart%d" % spec["id"]
    bus = machine.UART(
        spec["id"],
        baudrate=spec["baudrate"],
        bits=spec["bits"],
        parity=_PARITY[spec["parity"]],
        stop=spec["stop"],
        tx=spec["tx"],
        rx=spec["rx"],
    )
    unit.buses[name] = bus
    return bus


class _Wiring:
    """What a part's driver factory (sunprint/parts.py) builds on: the port's modules, the
    unit's pins (recorded in unit.pins), the panel's wait and the bus clock handed in.
    Boot-only, as this module: the unit keeps the drivers, not this."""

    def __init__(self, machine, unit, neopixel, esp32, sleep_ms, clock):
        self.machine = machine
        self.unit = unit
        self.neopixel = neopixel
        self.esp32 = esp32
        self.sleep_ms = sleep_ms
        self.clock = clock  # {} (the drivers' own time) or ticks_ms / sleep_ms

    def output(self, field, n):
        return _out(self.machine, self.unit, field, n)

    def input(self, field, n, pull=None):
        return _in(self.machine, self.unit, field, n, pull)


def _panel(parts, d, w):
    """The display's driver, by its registry row's factory, on the SPI bus board makes (a
    part with a data pin of its own, as a WS2812 strip, gets None)."""
    spi = _spi(w.machine, w.unit, d["spi"]) if "spi" in d else None
    return parts.display(d["type"])[4](d, d.get("options", {}), spi, w)


def _driver(parts, s, w):
    """The sensor's driver, by its registry row's factory, on the bus its row names (I2C,
    UART; None for a part on a pin of its own, as an S0 input)."""
    row = parts.sensor(s["type"])
    bus = row[2]
    if bus == parts.BUS_I2C:
        bus = _i2c(w.machine, w.unit, s["i2c"])
    elif bus == parts.BUS_UART:
        bus = _uart(w.machine, w.unit, s["uart"])
    else:
        bus = None
    return row[3](s, s.get("options", {}), bus, w)


def _rated_w(s, driver, kind):
    """The sensor's rated power in W, which bounds what the ledger believes (a power reading,
    and the power a step of an energy counter implies): the profile's health max_w, the
    largest reading the board accepts; an S0 input without one: the most its interface can
    signal, IEC 62053-31's 16.7 pulses/s (60 kW at 1000 imp/kWh). 0: unknown."""
    hi = (s.get("health") or {}).get("max_w")
    if hi is not None and 0 < hi < _DEFAULT_MAX_W:
        return int(hi + 0.999)
    if kind == _PULSES:
        return _S0_MAX_W_PER_IMP // driver.counts_per_kwh
    return 0


def _source(s, driver, kind):
    from sunprint.core.health import Health
    from sunprint.sources import MeterSource, PowerSource, PulseSource

    h = s.get("health", {})
    lo, hi, step = h.get("min_w"), h.get("max_w"), h.get("max_step_w", 0)
    health = Health(
        None if lo is None else int(lo * 1000),
        None if hi is None else int(hi * 1000),
        int(step * 1000),
        h.get("stuck_after", 0),
    )
    calib = None
    c = s.get("calib")
    if c is not None:
        from sunprint.core.calib import Linear

        max_raw = int(hi * 1000) if hi else 1 << 21
        calib = Linear(c["gain"], c.get("offset_w", 0) * 1000, max_raw=max_raw)
    cls = PowerSource if kind == _POWER else MeterSource if kind == _METER else PulseSource
    return cls(driver, calib=calib, health=health)


def _parts(profile, open_file, fonts_dir, w):
    # The host check's own rules (sunprint/parts.py), then the panel and the PV sensor's driver
    # made by their rows' factories. Boot-only: the registry is dropped again unless someone
    # else (the host) holds it. Returns (the display is e-paper, the PV sensor's entry, its
    # source kind, the panel, the driver).
    import sys

    keep = "sunprint.parts" in sys.modules
    from sunprint import parts

    def has_font(name):
        try:
            open_file(fonts_dir + "/" + name, "rb").close()
        except OSError:
            return False
        return True

    try:
        parts.check(profile, has_font)  # so the rows below exist
        d = profile["display"]
        epaper = parts.display(d["type"])[1] == parts.EPAPER  # type: ignore[index]
        panel = _panel(parts, d, w)
        sensor = kind = driver = None
        for s in profile["sensors"]:
            if s["role"] in parts.ROLES:
                sensor = s
                kind = parts.sensor(s["type"])[1]  # type: ignore[index]
                driver = _driver(parts, s, w)
                break
    finally:
        if not keep:
            parts.unload()
    if not keep:
        parts = None  # the last reference: the collection below frees the module
        import gc

        gc.collect()  # before the frame buffers: the largest blocks the unit allocates
    return epaper, sensor, kind, panel, driver


class Platform:
    """Where a unit runs: machine (the `machine` module or a fake), fs (the flash, a
    store.OsFs-like object; None: nothing persists), open_file (for board files and fonts),
    fonts_dir, neopixel and esp32 (the port's modules a board may need), sleep_ms (the
    e-paper drivers' wait; None: real time), ticks_ms and bus_sleep_ms (the clock a sensor's
    bus driver times out on; None: real time), log_dir (where the unit writes its sample log;
    None: no log).

    What a host puts in place of a part, through this front door rather than by patching the
    unit afterwards: sensor(driver) -> the driver the unit's own source reads instead of the
    one the profile built (replay's log; it gets the real driver, e.g. for its counts_per_kwh,
    and its readings are taken as already calibrated); panel: an object standing for the
    display driver that shows nothing (begin_show, busy, finish): the app keeps the unit's
    renderer and refresh plan, so the one screen-update path draws the first screen into
    the unit's frame buffer and hands it to the stand-in, then never turns to another
    screen (replay's accounting only: no frame costs a row its time).

    Boot-only, as this module: nothing the running unit holds refers to a Platform."""

    def __init__(
        self,
        machine,
        *,
        fs=None,
        open_file=open,
        fonts_dir="/fonts",
        neopixel=None,
        esp32=None,
        sleep_ms=None,
        ticks_ms=None,
        bus_sleep_ms=None,
        log_dir=None,
        sensor=None,
        panel=None,
    ):
        self.machine = machine
        self.fs = fs
        self.open_file = open_file
        self.fonts_dir = fonts_dir
        self.neopixel = neopixel
        self.esp32 = esp32
        self.sleep_ms = sleep_ms
        self.ticks_ms = ticks_ms
        self.bus_sleep_ms = bus_sleep_ms
        self.log_dir = log_dir
        self.sensor = sensor
        self.panel = panel


def boot(settings, profile, platform, faults=(), reason=None):
    """The unit of `profile` with `settings` (core.config.Settings; None: build's defaults) on
    `platform`, ready for app.tick(now): the platform's stand-ins in place, the sample log, the
    store's state restored, the settings' carbon factors from now on (what the restored ledger
    booked keeps its own), and the boot's faults recorded: the settings' (the config file's and
    its rule's) first, then `faults`, (kind, text) pairs whose text may be None.

    reason: why safe mode holds the unit (sunprint/safemode.py): it is built, shows the reason
    on its service screen and is not started (returns None). Raises sunprint.parts.ProfileError
    for a profile the unit cannot run, before anything is built."""
    p = platform
    store = None
    if p.fs is not None:
        from sunprint.store import FileBackend, Store

        store = Store(FileBackend(p.fs))
    unit = build(
        profile,
        p.machine,
        open_file=p.open_file,
        neopixel=p.neopixel,
        esp32=p.esp32,
        fonts_dir=p.fonts_dir,
        store=store,
        sleep_ms=p.sleep_ms,
        ticks_ms=p.ticks_ms,
        bus_sleep_ms=p.bus_sleep_ms,
        **(settings.build if settings is not None else {}),
    )
    if reason is not None:
        from sunprint import safemode

        safemode.show_service(unit.display, unit.renderer, reason)
        return None
    app = unit.app
    if p.sensor is not None:
        # the unit's own source (health, flags, ledger calls) reads the stand-in
        unit.source.driver = p.sensor(unit.driver)
        unit.source.calib = None  # its readings are calibrated already
    if p.panel is not None:
        app.session.panel = p.panel  # for the driver only: the renderer and plan stay
        app.screen_period_s = _NEVER_S
    if p.log_dir is not None:
        from sunprint.logwriter import SampleLogWriter  # not samplelog: its readers stay off

        app.samplelog = SampleLogWriter(p.fs, directory=p.log_dir)
    app.restore()
    if settings is not None:
        app.set_carbon(settings.carbon_row, settings.coal_dg_per_kwh, settings.tree_dg_co2_per_year)
        for text in settings.faults:
            app.fault("config", text)
    for kind, text in faults:
        if text:
            app.fault(kind, text)
    return unit


def service_panel(profile, machine, neopixel=None, sleep_ms=None):
    """Only the panel of a profile whose display section passed parts.check_display: main.py
    shows on it why the rest of the profile was refused."""
    from sunprint import parts

    try:
        return _panel(
            parts, profile["display"], _Wiring(machine, Unit(), neopixel, None, sleep_ms, {})
        )
    finally:
        parts.unload()


def build(
    profile,
    machine,
    *,
    open_file=open,
    neopixel=None,
    esp32=None,
    fonts_dir="/fonts",
    store=None,
    policy=None,
    tz_offset_s=8 * 3600,
    carbon_row=None,
    coal_dg_per_kwh=None,
    tree_dg_co2_per_year=None,
    max_gap_s=None,
    sample_period_s=None,
    screen_period_s=None,
    language=None,
    persist_interval_s=None,
    persist_wh=None,
    sleep_ms=None,
    ticks_ms=None,
    bus_sleep_ms=None,
    clock_sources=None,
    rtc=None,
):
    """A Unit with everything the profile describes, its App ready for restore() and tick().

    The settings (core.config.unit_settings gives them from config.json and the profile, as
    keyword arguments of this function): tz_offset_s, carbon_row (default
    core.carbon.factor()), coal_dg_per_kwh, tree_dg_co2_per_year, max_gap_s (None: the
    core defaults), sample_period_s, screen_period_s, language (None: the profile's layout,
    else 10, 300, "both"), persist_interval_s, persist_wh (PersistPolicy's when None).
    store: a sunprint.store.Store (None: nothing persists). policy: a PersistPolicy made by the
    caller, instead of persist_interval_s and persist_wh. sleep_ms: handed to
    the e-paper drivers (default: their own, real time). ticks_ms, bus_sleep_ms: the clock
    the sensor's bus driver times out on (default: real time); on a PC a virtual clock's
    ticks and a blocking sleep that advances it. clock_sources: the names of the profile's
    time sources to use, in priority order (None: the profile's "clock" order; () none).
    rtc: the unit's own clock the ClockKeeper keeps (wall(), set(wall); default the ESP32's
    RTC, clock.keeper.SystemRtc(machine.RTC())).

    A profile the unit cannot run raises sunprint.parts.ProfileError (a ValueError with .field)
    before anything is built: one line naming the field, what `sunprint boards check` says."""
    unit = Unit()
    clock = {}
    if ticks_ms is not None:
        clock["ticks_ms"] = ticks_ms
    if bus_sleep_ms is not None:
        clock["sleep_ms"] = bus_sleep_ms
    w = _Wiring(machine, unit, neopixel, esp32, sleep_ms, clock)
    epaper, sensor, kind, panel, driver = _parts(profile, open_file, fonts_dir, w)
    w = None
    import framebuf

    from sunprint.app import App
    from sunprint.core.ledger import Ledger
    from sunprint.ui.font import BitmapFont
    from sunprint.ui.layout import Rotation, fonts_for, screen_for
    from sunprint.ui.render import Renderer

    d = profile["display"]
    layout = profile.get("layout", {})
    picture = layout.get("picture")
    display = panel
    if picture is not None and (picture[0] != d["width"] or picture[1] != d["height"]):
        from sunprint.viewport import Viewport

        display = Viewport(panel, picture[0], picture[1])
    width, height = display.width, display.height
    fmt = display.BUFFER_FORMAT
    buf = bytearray(display.BUFFER_SIZE)
    fb = framebuf.FrameBuffer(buf, width, height, fmt)

    if carbon_row is None:
        from sunprint.core.carbon import factor

        carbon_row = factor()
    community = profile.get("community")
    if community is not None:  # many homes' meters on one bus: _community below
        period = layout.get("sample_period_s", 10) if sample_period_s is None else sample_period_s
        local = None
        if sensor is not None:  # at most one, a local INA2xx string beside the bus (parts)
            local = (_source(sensor, driver, kind), _RATED_MARGIN * _rated_w(sensor, driver, kind))
        driver, source, ledger = _community(
            community, machine, unit, period, clock, tz_offset_s, carbon_row, store, local
        )
    else:
        if sensor is None:
            raise ValueError("the profile has no pv_power or pv_energy sensor")
        source = _source(sensor, driver, kind)
        limit_w = _RATED_MARGIN * _rated_w(sensor, driver, kind)
        if kind == _POWER:
            ledger = Ledger(
                tz_offset_s=tz_offset_s,
                co2_dg_per_kwh=carbon_row[2],
                max_power_w=limit_w or _DEFAULT_MAX_W,
            )
        else:
            ledger = Ledger(
                tz_offset_s=tz_offset_s,
                co2_dg_per_kwh=carbon_row[2],
                counter_per_kwh=driver.counts_per_kwh,  # type: ignore[attr-defined]
                counter_survives_reboot=kind == _METER,
                counter_max_power_w=limit_w,
                max_power_w=limit_w or _DEFAULT_MAX_W,
            )
    if max_gap_s is not None:
        ledger.max_gap_s = max_gap_s
    if coal_dg_per_kwh is not None:
        ledger.coal_dg_per_kwh = coal_dg_per_kwh

    files = dict(fonts_for(width, height))
    files.update(layout.get("fonts", {}))
    fonts = {}
    for role in files:
        f = open_file(fonts_dir + "/" + files[role], "rb")
        unit.font_files.append(f)
        fonts[role] = BitmapFont(f)
    if language is None:
        language = layout.get("language", "both")
    rot = Rotation(width, height, language, layout.get("screens"))
    screen = screen_for(width, height, rot.name)
    renderer = Renderer(fb, buf, width, height, fonts, screen, rot.lang)
    from sunprint.ui.refresh import RefreshPlan, always_full

    if epaper:
        plan = RefreshPlan(tz_offset_s=tz_offset_s)
    else:
        # An LED panel has no ghosting and no wear: every change is shown at once, in full.
        plan = always_full(tz_offset_s)
    if store is not None and policy is None:
        from sunprint.store import PersistPolicy

        given = {}
        if persist_interval_s is not None:
            given["persist_interval_s"] = persist_interval_s
        if persist_wh is not None:
            given["persist_wh"] = persist_wh
        policy = PersistPolicy(**given)
    unit.set_parts(panel, display, buf, fb, driver, source, ledger, fonts, renderer)
    app = App(
        source=source,
        panel=display,
        renderer=renderer,
        ledger=ledger,
        carbon_row=carbon_row,
        sample_period_s=layout.get("sample_period_s", 10)
        if sample_period_s is None
        else sample_period_s,
        screen_period_s=layout.get("screen_period_s", 300)
        if screen_period_s is None
        else screen_period_s,
        store=store,
        policy=policy,
        plan=plan,
        rotation=rot,
        fmt=fmt,
    )
    if tree_dg_co2_per_year is not None:
        app.tree_dg_co2_per_year = tree_dg_co2_per_year
    keeper = _keeper(profile, machine, unit, clock_sources, rtc, tz_offset_s)
    if keeper is not None:
        app.timekeeper = keeper  # type: ignore[assignment]  # the class default is None
    unit.set_app(rot, plan, carbon_row, app)
    return unit


def _community(section, machine, unit, period, clock, tz_offset_s, carbon_row, store, local):
    """The community's meters on their bus (sunprint/community, docs/community.md): the
    poller (the unit's driver), the CommunitySource and its Ledger (a counter in Wh: the sum
    of what every meter's register booked). The per-meter record is kept beside the ledger's,
    in files of its own (community.0/.1) on the store's filesystem. local: (the
    sources.PowerSource of a local INA2xx string beside the bus, its rated power W), or None."""
    from sunprint.community.source import build as build_community
    from sunprint.core.ledger import Ledger

    uart = _uart(machine, unit, section["uart"])
    de = _out(machine, unit, "community.de", section["de"]) if "de" in section else None
    ledger = Ledger(
        tz_offset_s=tz_offset_s,
        co2_dg_per_kwh=carbon_row[2],
        counter_per_kwh=1000,
        counter_bits=30,
        counter_max_power_w=_DEFAULT_MAX_W,
    )
    local_w = 0
    if local is not None:
        local_w = local[1] or _DEFAULT_MAX_W
    source = build_community(
        section, uart, period, de=de, ledger=ledger, clock=clock, local_w=local_w
    )
    if local is not None:
        source.local = local[0]  # type: ignore[assignment]  # the class default is None
    fs = getattr(getattr(store, "backend", None), "fs", None)
    if fs is not None:
        from sunprint.store import FileBackend, Store

        backend = FileBackend(fs, prefix="community", max_payload=source.record_max)
        source.store = Store(backend)  # type: ignore[assignment]  # the class default is None
    return source.poller, source, ledger


def _keeper(profile, machine, unit, names, rtc, tz_offset_s):
    """The ClockKeeper of the profile's "clock" section (checked by parts), or None."""
    clock = profile.get("clock") or {}  # NTP (config.json) needs no "clock" section
    if names is None:
        names = clock.get("sources") or ()
    if not names:
        return None
    from sunprint.clock.keeper import ClockKeeper, SystemRtc

    i2c = None
    for s in profile["sensors"]:
        if "i2c" in s:
            i2c = s["i2c"]  # an RTC module is on the bus of the board's I2C sensor
            break
    sources = []
    for name in names:
        if name == "ds3231":
            from sunprint.drivers.ds3231 import DS3231

            sources.append((name, DS3231(_i2c(machine, unit, i2c))))
        elif name == "pcf8563":
            from sunprint.drivers.pcf8563 import PCF8563

            sources.append((name, PCF8563(_i2c(machine, unit, i2c))))
        elif name == "meter":
            from sunprint.clock.meter import MeterClock

            # the PV meter's own line: read between its polls, in the same tick
            dlt = unit.driver.dlt  # type: ignore[attr-defined]
            sources.append((name, MeterClock(dlt, tz_offset_s)))
        elif name == "ntp":
            sources.append((name, None))  # plugged in by main.py once the network exists
    if rtc is None:
        rtc = SystemRtc(machine.RTC())
    return ClockKeeper(
        rtc,
        sources,
        sync_s=clock.get("sync_s", 3600),
        retry_s=clock.get("retry_s", 60),
        jump_s=clock.get("jump_s", 60),
    )
