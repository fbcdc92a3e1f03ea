# main.py and a board.json the unit cannot run (issue 12 item 11): the one-line reason from
# sunprint.parts goes on the console and on the sign's service screen, main returns (the REPL is
# free), and the boot is not counted towards safe mode however often it happens; a file that is
# not JSON at all does the same. CPython and MicroPython.
# micropython-heap: 110000 (an ESP32 without PSRAM: the panel and sensor models and the flash
# run on the host, host_tools/sim/board/modellink.py)
# micropython-vm: app (the deployed form: the app frozen into the 32-bit binary)
import gc
import json

from repo import ROOT

from host_tools.sim.platform import machine as fake
from sunprint import safemode

FONTS = ROOT + "/assets/fonts"
AVERAGING = "sensors[0].options.averaging: 3 is not one of 1, 4, 16, 64, 128, 256, 512, 1024"


def _profile(board):
    with open(ROOT + "/boards/" + board + ".json") as f:
        return json.load(f)


def _no_wait(ms):
    pass


class _Record:
    """The boot record in memory (what RtcRecord keeps in RTC memory)."""

    def __init__(self):
        self.data = None

    def read(self):
        return self.data

    def write(self, data):
        self.data = bytes(data)


def _main_with(text, record):
    from host_tools.sim.board import modellink
    from host_tools.sim.platform.clock import Clock
    from sunprint import status

    status.register(None, "")
    # the 2.9" INA226 board's models (the profiles tried here have its display and sensor)
    rig = modellink.wire(ROOT + "/boards/esp32-epd29-ina226.json", Clock(0), fake)
    with open("board.json", "w") as f:
        f.write(text)
    import main

    got = main.main(
        fake,
        fs=modellink.flash(),
        board_path="board.json",
        config_path=ROOT + "/no-config.json",
        boot_record=record,
        fonts_dir=FONTS,
        wdt=fake.WDT(timeout=30000),
        sleep_ms=_no_wait,
        run=False,
    )
    return got, rig


def _service_picture(reason):
    import framebuf

    buf = bytearray(296 * 128 // 8)
    fb = framebuf.FrameBuffer(buf, 296, 128, framebuf.MONO_VLSB)
    safemode.service_screen(fb, reason, 296, 128)
    return buf


def test_main_shows_a_refused_profile_on_the_service_screen_and_counts_no_crash():
    bad = _profile("esp32-epd29-ina226")
    bad["sensors"][0]["options"]["averaging"] = 3
    record = _Record()
    for _ in range(4):  # more boots than safe mode's limit
        rig = None
        gc.collect()
        got, rig = _main_with(json.dumps(bad), record)
        assert got is None  # nothing runs; the REPL is free
        assert safemode.load(record)[0] == 0, safemode.load(record)
    import framebuf

    want = _service_picture("board.json: " + AVERAGING)
    assert rig.glass_differs(want, framebuf.MONO_VLSB) == 0
    _let_go()


def test_main_with_an_unreadable_board_json_returns_and_counts_no_crash():
    record = _Record()
    for text in ('{"chip": "ESP32",', "[" * 2000, '"just a string"'):
        got, _ = _main_with(text, record)
        assert got is None
        assert safemode.load(record)[0] == 0


def test_a_good_profile_still_counts_the_boot():
    record = _Record()
    got, _ = _main_with(json.dumps(_profile("esp32-epd29-ina226")), record)
    assert got is not None
    assert safemode.load(record)[0] == 1  # this boot, until it has run 10 minutes
    got.unit.close()
    _let_go()


def _let_go():
    from sunprint import status

    status.register(None, "")  # the registered app holds the whole unit
    fake.unwire()  # and the fake machine the models


def test_an_unusable_calib_json_entry_is_a_fault_and_the_profile_calib_stays():
    # calib.json overrides a sensor's calib at boot: by the profile's own calib rules, or not
    # at all (a NaN or absurd gain would otherwise crash the boot or count nothing).
    import main

    for gain, says in ((1e12, "must be 0.01 to 100"), (-1.0, "must be 0.01 to 100")):
        profile = _profile("esp32-ws2812-ina219")
        doc = {"channels": {"pv_power": {"current": {"gain": gain, "offset_w": 0}}}}
        fault = main.overlay_calib(profile, json.dumps(doc))
        assert fault is not None and fault.startswith("calib.json: pv_power.gain: "), fault
        assert says in fault, fault
        assert profile["sensors"][0]["calib"] == {"gain": 1.0, "offset_w": 0.0}
    profile = _profile("esp32-ws2812-ina219")
    text = '{"channels": {"pv_power": {"current": {"gain": NaN}}}}'
    fault = main.overlay_calib(profile, text.replace("NaN", "1e400"))  # inf
    assert fault is not None and fault.startswith("calib.json: pv_power.gain: "), fault
    assert profile["sensors"][0]["calib"]["gain"] == 1.0
