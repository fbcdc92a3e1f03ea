"""Board profile validation (host_tools/boards.py): every profile passes, each broken copy fails
with a one-line error naming the file and the field."""

import copy
import json
import os

import pytest

from host_tools import boards
from host_tools.errors import UserError

NAME = "boards/x.json"


def _profile(name):
    return json.loads((boards.BOARDS / (name + ".json")).read_text(encoding="utf-8"))


def _fails(profile, *fragments):
    with pytest.raises(UserError) as e:
        boards.validate(profile, NAME)
    msg = str(e.value)
    assert msg.startswith(NAME + ": "), msg
    assert "\n" not in msg
    for frag in fragments:
        assert frag in msg, msg
    return msg


def test_the_required_profiles_exist():
    names = set(boards.board_names())
    for name in (
        "esp32-epd29",
        "esp32-epd29-ina226",
        "esp32-epd42-dlt645",
        "esp32-epd75-ddsu666",
        "esp32-max7219-s0",
        "esp32-ws2812-ina219",
    ):
        assert name in names


@pytest.mark.parametrize("name", boards.board_names())
def test_every_profile_validates_without_warnings(name):
    warnings = []
    profile = boards.load_board(name, warnings)
    assert profile["display"]["type"] in boards.DISPLAYS
    assert warnings == []


def test_check_all():
    assert set(boards.check_all()) == set(boards.board_names())


def test_load_board_keeps_its_replay_behaviour():
    p = boards.load_board("esp32-epd29")
    assert p["display"]["type"] == "ssd1680" and p["display"]["width"] == 296
    with pytest.raises(UserError, match="unknown board 'nope'"):
        boards.load_board("nope")


def test_load_board_by_path_names_the_file(tmp_path):
    p = _profile("esp32-epd29")
    p["display"]["pins"]["busy"] = 6
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(p))
    with pytest.raises(UserError) as e:
        boards.load_board(str(path))
    assert str(e.value) == "%s: display.pins.busy: GPIO 6 is a flash pin (6-11)" % path


def test_invalid_json_gives_file_and_line(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{\n  "chip": "ESP32",\n  oops\n}\n')
    with pytest.raises(UserError, match=r"bad\.json:3: not valid JSON"):
        boards.load_board(str(path))


def test_gpio_used_twice_names_both_fields():
    p = _profile("esp32-epd42-dlt645")
    p["sensors"][0]["de"] = 27
    _fails(p, "sensors[0].de: GPIO 27 is already used by display.pins.dc")


def test_shared_i2c_bus_is_not_a_conflict():
    p = _profile("esp32-epd29-ina226")
    second = copy.deepcopy(p["sensors"][0])
    second["role"] = "pv_energy"
    second["options"]["address"] = 0x41
    p["sensors"].append(second)
    assert boards.validate(p, NAME) == []


@pytest.mark.parametrize(
    ("where", "field"),
    [
        (("display", "pins", "cs"), "display.pins.cs"),
        (("display", "pins", "dc"), "display.pins.dc"),
        (("display", "pins", "rst"), "display.pins.rst"),
        (("display", "spi", "mosi"), "display.spi.mosi"),
        (("display", "spi", "sck"), "display.spi.sck"),
    ],
)
def test_input_only_gpio_as_output(where, field):
    p = _profile("esp32-epd29")
    p["display"]["pins"]["busy"] = 33  # free 34 for the test
    obj = p
    for k in where[:-1]:
        obj = obj[k]
    obj[where[-1]] = 34
    _fails(p, field + ": GPIO 34 is input-only (34-39) and cannot be an output")


def test_input_only_uart_tx_de_and_led_data():
    p = _profile("esp32-epd42-dlt645")
    p["sensors"][0]["uart"]["tx"] = 36
    _fails(p, "sensors[0].uart.tx: GPIO 36 is input-only")
    p = _profile("esp32-epd42-dlt645")
    p["sensors"][0]["de"] = 39
    _fails(p, "sensors[0].de: GPIO 39 is input-only")
    p = _profile("esp32-ws2812-ina219")
    p["display"]["pin"] = 35
    _fails(p, "display.pin: GPIO 35 is input-only")


def test_input_only_as_input_is_fine():
    p = _profile("esp32-epd29")
    p["display"]["pins"]["busy"] = 36
    assert boards.validate(p, NAME) == []


def test_flash_pin():
    p = _profile("esp32-epd29")
    p["display"]["pins"]["busy"] = 6
    assert _fails(p) == NAME + ": display.pins.busy: GPIO 6 is a flash pin (6-11)"
    p = _profile("esp32-ws2812-ina219")
    p["sensors"][0]["i2c"]["sda"] = 11
    _fails(p, "sensors[0].i2c.sda: GPIO 11 is a flash pin")


def test_gpio_that_does_not_exist():
    p = _profile("esp32-epd29")
    p["display"]["pins"]["dc"] = 24
    _fails(p, "display.pins.dc: GPIO 24 does not exist")


def test_psram_pins_on_a_wrover():
    p = _profile("esp32-epd75-ddsu666")
    p["sensors"][0]["uart"]["rx"] = 16
    _fails(p, "sensors[0].uart.rx: GPIO 16 is already used by the PSRAM")


@pytest.mark.parametrize("gpio", [0, 2, 5, 12, 15])
def test_strapping_pin_is_a_warning(gpio):
    p = _profile("esp32-epd29")
    p["display"]["pins"]["cs"] = gpio
    warnings = boards.validate(p, NAME)
    assert warnings == [
        NAME + ": display.pins.cs: GPIO %d is a strapping pin (0, 2, 5, 12, 15): "
        "check boot levels" % gpio
    ]


def test_unknown_display_and_sensor_types():
    p = _profile("esp32-epd29")
    p["display"]["type"] = "ssd1675"
    _fails(p, "display.type: unknown display 'ssd1675'", "ssd1680")
    p = _profile("esp32-epd29")
    p["sensors"][0]["type"] = "ina260"
    _fails(p, "sensors[0].type: unknown sensor 'ina260'")


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (("display",), "display"),
        (("display", "pins", "busy"), "display.pins.busy"),
        (("display", "spi"), "display.spi"),
        (("display", "width"), "display.width"),
        (("sensors", 0, "i2c", "scl"), "sensors[0].i2c.scl"),
        (("sensors", 0, "options", "shunt_ohm"), "sensors[0].options.shunt_ohm"),
        (("layout", "sample_period_s"), "layout.sample_period_s"),
        (("chip",), "chip"),
    ],
)
def test_missing_field(path, field):
    p = _profile("esp32-epd29")
    obj = p
    for k in path[:-1]:
        obj = obj[k]
    del obj[path[-1]]
    _fails(p, field + ": missing")


def test_missing_uart_and_s0_fields():
    p = _profile("esp32-epd42-dlt645")
    del p["sensors"][0]["uart"]["rx"]
    _fails(p, "sensors[0].uart.rx: missing")
    p = _profile("esp32-max7219-s0")
    del p["sensors"][0]["options"]["imp_per_kwh"]
    _fails(p, "sensors[0].options.imp_per_kwh: missing")


@pytest.mark.parametrize(
    ("path", "value", "field", "says"),
    [
        (
            ("display", "pins", "busy"),
            "32",
            "display.pins.busy",
            "must be an integer, not a string",
        ),
        (("display", "pins", "cs"), True, "display.pins.cs", "must be an integer, not true/false"),
        (("display", "spi"), [2], "display.spi", "must be an object, not a list"),
        (("display", "spi", "baudrate"), 4e6, "display.spi.baudrate", "must be an integer"),
        (("sensors",), {}, "sensors", "must be a list"),
        (
            ("sensors", 0, "options", "shunt_ohm"),
            "2m",
            "sensors[0].options.shunt_ohm",
            "must be a number",
        ),
        (("layout", "screen_period_s"), -5, "layout.screen_period_s", "must be 1 to 86400, not -5"),
        (("layout", "language"), "fr", "layout.language", "'fr' is not one of en, zh, both"),
    ],
)
def test_wrong_type(path, value, field, says):
    p = _profile("esp32-epd29")
    obj = p
    for k in path[:-1]:
        obj = obj[k]
    obj[path[-1]] = value
    _fails(p, field + ": " + says)


def test_wrong_uart_format_and_values():
    p = _profile("esp32-epd42-dlt645")
    p["sensors"][0]["uart"]["parity"] = "E"
    _fails(p, "sensors[0].uart.parity: 'E' is not one of none, even, odd")
    p = _profile("esp32-epd42-dlt645")
    p["sensors"][0]["uart"]["parity"] = "none"
    assert boards.validate(p, NAME) == [
        NAME + ": sensors[0].uart: DL/T 645 meters speak 8E1 (8 bits, even parity, 1 stop)"
    ]


def test_unknown_key_is_named():
    p = _profile("esp32-epd29")
    p["display"]["pins"]["bsy"] = 33
    _fails(p, "display.pins.bsy: unknown key")


def test_display_size_must_match():
    p = _profile("esp32-epd42-dlt645")
    p["display"]["width"] = 296
    _fails(p, "display.width: 296x300 does not match a ssd1683 panel (400x300)")
    p = _profile("esp32-max7219-s0")
    p["display"]["options"]["modules"] = 8
    _fails(p, "display.width: 128x8 does not match 8 modules x 1 rows")


def test_led_picture_needs_screens():
    p = _profile("esp32-max7219-s0")
    del p["layout"]["picture"]
    _fails(p, "display.width: no screens for a 128x8 picture", "set layout.picture")


def test_unknown_screen_in_rotation():
    p = _profile("esp32-epd29-ina226")
    p["layout"]["screens"] = ["main", "weather"]
    _fails(p, "layout.screens[1]: no screen 'weather' for 296x128")


def test_s0_on_input_only_pin_needs_external_pull_up():
    p = _profile("esp32-max7219-s0")
    p["sensors"][0]["options"]["pull_up"] = True
    _fails(p, "sensors[0].options.pull_up: GPIO 39 has no internal pull-up")


def test_cli_check(capsys):
    import argparse

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    boards.add_cli(sub)
    args = parser.parse_args(["boards", "check", "--all"])
    assert args.func(args) == 0
    assert "esp32-ws2812-ina219: ok" in capsys.readouterr().out


# --- profiles the unit cannot run (issue 12 item 11): the host says what the unit would ---

NAN = float("nan")


@pytest.mark.parametrize(
    ("board", "path", "value", "field"),
    [
        ("esp32-epd29-ina226", ("sensors", 0, "health", "min_w"), 900, "sensors[0].health.min_w"),
        (
            "esp32-epd29-ina226",
            ("sensors", 0, "health", "max_step_w"),
            -1,
            "sensors[0].health.max_step_w",
        ),
        ("esp32-epd29-ina226", ("sensors", 0, "health", "max_w"), NAN, "sensors[0].health.max_w"),
        (
            "esp32-epd29-ina226",
            ("sensors", 0, "health", "max_w"),
            float("inf"),
            "sensors[0].health.max_w",
        ),
        ("esp32-epd29-ina226", ("sensors", 0, "health"), None, "sensors[0].health"),
        ("esp32-ws2812-ina219", ("sensors", 0, "calib", "gain"), NAN, "sensors[0].calib.gain"),
        (
            "esp32-ws2812-ina219",
            ("sensors", 0, "calib", "gain"),
            float("inf"),
            "sensors[0].calib.gain",
        ),
        (
            "esp32-epd29-ina226",
            ("sensors", 0, "options", "averaging"),
            3,
            "sensors[0].options.averaging",
        ),
        (
            "esp32-epd29-ina226",
            ("sensors", 0, "options", "conversion_us"),
            7,
            "sensors[0].options.conversion_us",
        ),
        (
            "esp32-epd29-ina226",
            ("sensors", 0, "options", "shunt_ohm"),
            1e-300,
            "sensors[0].options.shunt_ohm",
        ),
        (
            "esp32-ws2812-ina219",
            ("sensors", 0, "options", "bus_range_v"),
            7,
            "sensors[0].options.bus_range_v",
        ),
        (
            "esp32-ws2812-ina219",
            ("display", "options", "brightness"),
            1000,
            "display.options.brightness",
        ),
        ("esp32-ws2812-ina219", ("display", "options", "schedule"), [], "display.options.schedule"),
        (
            "esp32-ws2812-ina219",
            ("display", "options", "schedule"),
            ["x"],
            "display.options.schedule[0]",
        ),
        (
            "esp32-epd42-dlt645",
            ("sensors", 0, "options", "address"),
            "\u00b2\u00b3",
            "sensors[0].options.address",
        ),
        (
            "esp32-epd75-ddsu666",
            ("sensors", 0, "options", "energy"),
            "bogus",
            "sensors[0].options.energy",
        ),
        (
            "esp32-epd75-ddsu666",
            ("sensors", 0, "options", "retries"),
            -2,
            "sensors[0].options.retries",
        ),
        ("esp32-epd29-ina226", ("layout", "fonts"), {"small": "nope.bin"}, "layout.fonts.small"),
        (
            "esp32-epd29-ina226",
            ("layout", "fonts"),
            {"small": "../../etc/hostname"},
            "layout.fonts.small",
        ),
    ],
)
def test_what_the_unit_cannot_run_is_refused_naming_the_field(board, path, value, field):
    p = _profile(board)
    obj = p
    for k in path[:-1]:
        obj = obj[k]
    obj[path[-1]] = value
    _fails(p, field + ": ")


def test_the_example_message():
    p = _profile("esp32-epd29-ina226")
    p["sensors"][0]["options"]["averaging"] = 3
    assert _fails(p) == (
        NAME + ": sensors[0].options.averaging: 3 is not one of 1, 4, 16, 64, 128, 256, 512, 1024"
    )


def test_modbus_energy_choices_are_the_driver_maps_entries():
    # parts.py lists them so the host needs no driver; they must be the maps' own names
    from host_tools.paths import use_firmware

    use_firmware()
    from sunprint import parts
    from sunprint.drivers import modbus

    for row in parts.SENSORS:
        if row[3] is parts.modbus:
            regmap = getattr(modbus, row[0].upper())
            names = tuple(k for k in regmap if k.startswith("energy"))
            choices = [r for r in row[4] if r[0] == "energy"][0][2]
            assert set(choices) == set(names), (row[0], choices, names)


# --- files that are not a clean JSON text (issue 12 item 12): one line, file and line, exit 2 ---

_GOOD = (boards.BOARDS / "esp32-epd29.json").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (_GOOD.encode("utf-16"), "bad.json: UTF-16 text: save it as UTF-8"),
        (_GOOD.encode("utf-16-le"), "bad.json: UTF-16 text: save it as UTF-8"),
        (
            _GOOD.replace("DevKitC", "DevKit\udcff").encode("utf-8", "surrogateescape"),
            "bad.json:3: not UTF-8",
        ),
        (
            _GOOD.encode("gb18030").replace(b"DevKitC", "DevKit\u4e2d".encode("gb18030")),
            "bad.json:3: not UTF-8",
        ),
        (b"[" * 100000, "bad.json:1: nested deeper than"),
        (b'{"chip": 1' + b"0" * 5000 + b"}", "bad.json:1: a number of 5001 digits"),
        (
            b'{\n "chip": "ESP8266",\n "name": "x",\n "chip": "ESP32"\n}',
            'bad.json:4: duplicate key "chip"',
        ),
        (
            _GOOD.replace('"rst": 25,', '"rst": 25, "cs": 4,').encode(),
            'bad.json:18: duplicate key "cs" (in display.pins)',
        ),
        (b"", "bad.json:1: not valid JSON"),
    ],
)
def test_unreadable_files_are_one_line_errors(tmp_path, content, says):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(UserError) as e:
        boards.load_board(str(path))
    msg = str(e.value)
    assert msg.startswith(str(tmp_path)), msg
    assert "\n" not in msg and len(msg) < 200, msg
    assert says in msg, msg


def test_the_check_command_exits_2_with_one_line(tmp_path, capsys):
    from host_tools import cli

    path = tmp_path / "bad.json"
    path.write_bytes(b"[" * 100000)
    assert cli.main(["boards", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.json:1: nested deeper than" in err, err
    p = _profile("esp32-epd29-ina226")
    p["sensors"][0]["options"]["averaging"] = 3
    path.write_text(json.dumps(p))
    assert cli.main(["boards", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "sensors[0].options.averaging: 3 is not one of" in err, err


def test_a_utf8_bom_is_read():
    # Windows editors write one; deploy re-serialises the profile, so the unit never sees it
    path = boards.BOARDS / "esp32-epd29.json"
    text = path.read_text(encoding="utf-8")
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "bom.json")
        with open(p, "wb") as f:
            f.write(b"\xef\xbb\xbf" + text.encode())
        assert boards.load_board(p)["name"] == "esp32-epd29"


def test_epaper_rotation_and_revision_options():
    # issue 14: rotation for mounting (0 = the maker's orientation, or 180); the 7.5" glass's
    # revision picks its partial waveform.
    p = _profile("esp32-epd75-ddsu666")
    p["display"]["options"] = {"rotation": 180, "revision": "old"}
    boards.validate(p, NAME)
    p["display"]["options"] = {"revision": "2019"}
    _fails(p, "display.options.revision", "2023, old")
    p["display"]["options"] = {"revision": 2023}
    _fails(p, "display.options.revision")
    p = _profile("esp32-epd29")
    p["display"]["options"] = {"rotation": 90}
    _fails(p, "display.options.rotation", "0, 180")
    p["display"]["options"] = {"revision": "old"}
    _fails(p, "display.options.revision")  # the 2.9" has no such option
