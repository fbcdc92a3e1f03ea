# The composition root: boot(settings, profile, platform) builds a unit from its settings
# (core.config.Settings: config.json and the board profile, by one precedence rule) and its
# board profile on a platform (Platform: the machine module and the port's others, the
# filesystem, the clocks, and what a host puts in place of a part). main.py boots the unit on
# an ESP32 with it, and so do `sunprint replay` (host_tools/replay_core.py), the virtual board
# (which runs main.py) and the tests: there is no second way to assemble a unit.
#
# Boot-only (main.BOOT_ONLY): nothing the running unit holds refers to this module or to a
# Platform (the Runner gets the clock and watchdog it needs by name).

from sunprint.compat import const


class Platform:
    """Where a unit runs: machine (the `machine` module or a fake), fs (the flash, a
    store.OsFs-like object; None: nothing persists), open_file (for board files and fonts),
    fonts_dir, neopixel and esp32 (the port's modules a board may need), sleep_ms (the
    e-paper drivers' wait; None: real time), ticks_ms and bus_sleep_ms (the clock a sensor's
    bus driver times out on; None: real time), rtc (the unit's own clock the ClockKeeper keeps;
    None: the ESP32's RTC), log_dir (where the unit writes its sample log; None: no log).

    What a host puts in place of a part, through this front door rather than by patching the
    unit afterwards: sensor(driver) -> the driver the unit's own source reads instead of the
    one the profile built (replay's log; it gets the real driver, e.g. for its counts_per_kwh,
    and its readings are taken as already calibrated); panel: an object standing for the
    display that shows nothing (begin_show, busy, finish, render): the app then draws no
    picture, keeps no refresh plan and never turns to another screen."""

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
        rtc=None,
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
        self.rtc = rtc
        self.log_dir = log_dir
        self.sensor = sensor
        self.panel = panel


# a screen period no replay reaches (the null panel's app turns no screen)
_NEVER_S = const(1 << 30)


def build(settings, profile, platform):
    """The unit (sunprint.unitparts.Unit) of `profile` with `settings` on `platform`, not yet
    restored. Raises sunprint.parts.ProfileError for a profile the unit cannot run."""
    from sunprint.board import build as board_build

    store = None
    if platform.fs is not None:
        from sunprint.store import FileBackend, Store

        store = Store(FileBackend(platform.fs))
    p = platform
    return board_build(
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
        rtc=p.rtc,
        **(settings.build if settings is not None else {}),
    )


def start(unit, settings, platform, faults=()):
    """Make a built unit ready to tick: the platform's stand-ins in place, the sample log,
    the store's state restored, the settings' carbon factors from now on (what the restored
    ledger booked keeps its own), and the boot's faults recorded: the settings' (the config
    file's and its rule's) first, then `faults`, (kind, text) pairs. Returns the unit."""
    app = unit.app
    if platform.sensor is not None:
        # the unit's own source (health, flags, ledger calls) reads the stand-in
        unit.source.driver = platform.sensor(unit.driver)
        unit.source.calib = None  # its readings are calibrated already
    if platform.panel is not None:
        app.panel = platform.panel
        app.renderer = platform.panel
        app.plan = None
        app.screen_period_s = _NEVER_S
    if platform.log_dir is not None:
        from sunprint.logwriter import SampleLogWriter  # not samplelog: its readers stay off

        app.samplelog = SampleLogWriter(platform.fs, directory=platform.log_dir)
    app.restore()
    if settings is not None:
        app.set_carbon(settings.carbon_row, settings.coal_dg_per_kwh, settings.tree_dg_co2_per_year)
        for text in settings.faults:
            app.fault("config", text)
    for kind, text in faults:
        if text:
            app.fault(kind, text)
    return unit


def boot(settings, profile, platform, faults=()):
    """build() then start(): the unit a platform runs, ready for app.tick(now)."""
    return start(build(settings, profile, platform), settings, platform, faults)
