# board.boot, the one composition root (issue 15 item 2): Settings made once from the config
# and the profile, a Platform that carries the machine, the flash, the clocks and what a host
# puts in place of a part (the log as the sensor's driver, a panel that shows nothing), and
# boot(settings, profile, platform). CPython and MicroPython.
# micropython-heap: 300000 (as test_board_build.py, whose fake machine this borrows)
import json

from test_board_build import BOARDS, FONTS, Esp32Module, Machine, NeoPixelModule, _no_wait

from sunprint.board import Platform, boot
from sunprint.core import config as config_mod


def _profile(name):
    with open(BOARDS + name + ".json") as f:
        return json.load(f)


class _Flash:
    # an empty flash that keeps nothing (the store finds no ledger: a first boot)
    def exists(self, name):
        return False

    def open(self, name, mode="rb"):
        raise OSError(2)

    def rename(self, a, b):
        raise OSError(2)

    def remove(self, name):
        raise OSError(2)


class _Stand:
    # a sensor driver standing in for the profile's: replay's log
    def __init__(self, real):
        self.real = real
        self.power_mw = 1234
        self.counts_per_kwh = getattr(real, "counts_per_kwh", 0)

    def poll(self):
        return 0


class _Blank:
    # a panel that shows nothing (replay's accounting-only run has one: replay_core._NullPanel):
    # it stands for the display driver only, and counts what it was asked to show
    def __init__(self):
        self.shows = []

    def begin_show(self, buf, full):
        self.shows.append(full)

    def busy(self):
        return False

    def finish(self):
        pass


def _platform(**kw):
    return Platform(
        Machine,
        fonts_dir=FONTS,
        neopixel=NeoPixelModule,
        esp32=Esp32Module,
        sleep_ms=_no_wait,
        **kw,
    )


def test_settings_are_unit_settings_with_the_config_fault_first():
    profile = _profile("esp32-epd29-ina226")
    cfg = config_mod.defaults()
    cfg["max_gap_s"] = 5  # under twice the sample period: raised, with a fault
    want, faults = config_mod.unit_settings(cfg, profile)
    s = config_mod.Settings(cfg, profile, fault="config.json: bad; the last good used")
    assert s.build == want
    assert s.faults[0] == "config.json: bad; the last good used"
    assert s.faults[1:] == faults and len(faults) == 1
    assert s.tz_offset_s == want["tz_offset_s"] and s.carbon_row == want["carbon_row"]
    assert s.sample_period_s == want["sample_period_s"] and s.language == want["language"]


def test_boot_builds_the_unit_with_the_settings_and_records_their_faults():
    profile = _profile("esp32-epd29-ina226")
    cfg = config_mod.defaults()
    cfg["tz_offset_min"] = 60
    cfg["max_gap_s"] = 5
    settings = config_mod.Settings(cfg, profile)
    unit = boot(settings, profile, _platform(), (("calib", "calib.json: bad"),))
    app = unit.app
    assert unit.ledger.tz_offset_s == 3600
    assert unit.ledger.max_gap_s == 2 * settings.sample_period_s
    assert app.carbon_row == settings.carbon_row
    assert app.faults.get("config") == 1 and app.faults.get("calib") == 1
    unit.close()


def test_the_platform_puts_a_stand_in_sensor_and_a_blank_panel_through_the_front_door():
    for name in ("esp32-epd29-ina226", "esp32-max7219-s0"):
        profile = _profile(name)
        settings = config_mod.Settings(config_mod.defaults(), profile)
        made = []

        def stand_in(real, made=made):
            made.append(_Stand(real))
            return made[-1]

        blank = _Blank()
        unit = boot(settings, profile, _platform(sensor=stand_in, panel=blank))
        app = unit.app
        assert unit.source.driver is made[0] and made[0].real is unit.driver, name
        assert unit.source.calib is None  # the stand-in's readings are calibrated already
        assert app.session.panel is blank
        unit.close()


def test_a_blank_panel_stands_for_the_driver_only_the_plan_and_the_renderer_stay():
    # The app keeps the unit's renderer and refresh plan (one screen-update path, issue 15
    # item 3): the blank panel gets the plan's first full refresh, and no screen turns after it.
    for name in ("esp32-epd29-ina226", "esp32-max7219-s0"):
        profile = _profile(name)
        settings = config_mod.Settings(config_mod.defaults(), profile)
        blank = _Blank()
        unit = boot(settings, profile, _platform(panel=blank))
        app = unit.app
        assert app.renderer is unit.renderer, name
        assert app.session.plan is not None and app.session.plan is unit.plan, name
        t = 782265600  # 2024-10-15 08:00 local
        for _ in range(100):
            wake = app.tick(t)
            while wake <= t:
                wake = app.tick(t)
            t += 10
        assert blank.shows == [True], (name, blank.shows)
        assert app.session.plan.fulls == 1 and app.refreshes == 1, name
        unit.close()


def test_a_flash_gives_the_unit_a_store_and_its_sample_log():
    profile = _profile("esp32-epd29-ina226")
    settings = config_mod.Settings(config_mod.defaults(), profile)
    unit = boot(settings, profile, _platform(fs=_Flash(), log_dir="/log"))
    assert unit.app.store is not None and unit.app.samplelog is not None
    unit.close()
    unit = boot(settings, profile, _platform())
    assert unit.app.store is None
    unit.close()


def test_a_safe_mode_boot_builds_the_unit_and_does_not_start_it():
    profile = _profile("esp32-epd29-ina226")
    settings = config_mod.Settings(config_mod.defaults(), profile)
    assert boot(settings, profile, _platform(), reason="3 crashes in a row") is None
