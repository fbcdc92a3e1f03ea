# main.py and a board.json the unit cannot run (issue 12 item 11): the one-line reason from
# sunprint.parts goes on the console and on the sign's service screen, main returns (the REPL is
# free), and the boot is not counted towards safe mode however often it happens; a file that is
# not JSON at all does the same. CPython and MicroPython.
# micropython-heap: 300000 (the SSD1680 model and the in-memory flash share the VM with the unit)
import gc
import json

from repo import ROOT

from host_tools.sim import machine as fake
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
    from host_tools.sim.faultfs import FaultFS
    from host_tools.sim.i2c import FakeI2C, INA226Model
    from host_tools.sim.ssd1680 import SSD1680Model
    from sunprint import status

    status.register(None, "")
    fake.unwire()
    model = SSD1680Model()
    for n, pin in ((26, model.cs), (27, model.dc), (25, model.rst), (32, model.busy)):
        fake.wire_pin(n, pin)
    fake.wire_spi(2, model.spi)
    bus = FakeI2C()
    bus.attach(64, INA226Model(shunt_ohm=0.002, always_ready=True))
    fake.wire_i2c(0, bus)
    with open("board.json", "w") as f:
        f.write(text)
    import main

    got = main.main(
        fake,
        fs=FaultFS(),
        board_path="board.json",
        config_path=ROOT + "/no-config.json",
        boot_record=record,
        fonts_dir=FONTS,
        wdt=fake.WDT(timeout=30000),
        sleep_ms=_no_wait,
        run=False,
    )
    return got, model


def _service_picture(reason):
    import framebuf

    buf = bytearray(296 * 128 // 8)
    fb = framebuf.FrameBuffer(buf, 296, 128, framebuf.MONO_VLSB)
    safemode.service_screen(fb, reason, 296, 128)
    return fb


def test_main_shows_a_refused_profile_on_the_service_screen_and_counts_no_crash():
    bad = _profile("esp32-epd29-ina226")
    bad["sensors"][0]["options"]["averaging"] = 3
    record = _Record()
    for _ in range(4):  # more boots than safe mode's limit
        model = None
        gc.collect()
        got, model = _main_with(json.dumps(bad), record)
        assert got is None  # nothing runs; the REPL is free
        assert safemode.load(record)[0] == 0, safemode.load(record)
    want = _service_picture("board.json: " + AVERAGING)
    for y in range(128):
        for x in range(296):
            assert model.landscape_pixel(x, y) == want.pixel(x, y), (x, y)
    _let_go()


def test_main_with_an_unreadable_board_json_returns_and_counts_no_crash():
    record = _Record()
    for text in ('{"chip": "ESP32",', "[" * 2000, '"just a string"'):
        got, model = _main_with(text, record)
        assert got is None
        assert safemode.load(record)[0] == 0


def test_a_good_profile_still_counts_the_boot():
    record = _Record()
    got, model = _main_with(json.dumps(_profile("esp32-epd29-ina226")), record)
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
