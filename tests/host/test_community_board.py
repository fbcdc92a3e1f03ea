"""The community section of a board profile as `sunprint boards check` (host_tools/boards.py,
sunprint/parts.py) sees it: each fault a named one-line refusal; the community screens only
where they belong (the per-home screen only when the profile opts in)."""

import copy
import json

import pytest

from host_tools import boards
from host_tools.errors import UserError

GOOD = json.loads((boards.BOARDS / "esp32-epd42-community.json").read_text())


def _refusal(change):
    p = copy.deepcopy(GOOD)
    change(p)
    with pytest.raises(UserError) as e:
        boards.validate(p, "x.json")
    msg = str(e.value)
    assert "\n" not in msg
    return msg


def test_the_bundled_community_boards_pass():
    boards.validate(copy.deepcopy(GOOD), "x.json")
    with_string = json.loads((boards.BOARDS / "esp32-epd42-community-ina226.json").read_text())
    boards.validate(with_string, "x.json")
    modbus = json.loads((boards.BOARDS / "esp32-epd42-community-modbus.json").read_text())
    boards.validate(modbus, "x.json")  # mixed Modbus models by unit id, 9600 baud


def test_each_fault_is_named():
    def dup(p):
        p["community"]["meters"][1]["address"] = "1"

    def forty(p):
        p["community"]["meters"] = [{"address": str(i + 1)} for i in range(40)]
        p["layout"]["sample_period_s"] = 10

    def mixed(p):
        p["community"]["meters"][0] = {"unit": 3, "model": "sdm120"}

    def pin(p):
        p["community"]["de"] = 23  # the display's MOSI

    def baud(p):
        p["community"]["baudrate"] = 9600  # the bus says 2400

    def no_bus(p):
        del p["community"]["uart"]

    def two_strings(p):
        ina = json.loads((boards.BOARDS / "esp32-epd29-ina226.json").read_text())["sensors"][0]
        p["sensors"] = [ina, copy.deepcopy(ina)]

    def meter_beside(p):
        p["sensors"] = json.loads((boards.BOARDS / "esp32-epd42-dlt645.json").read_text())[
            "sensors"
        ]

    want = {
        dup: "x.json: community.meters[1].address: 000000000001 is also meters[0]'s",
        forty: "x.json: community.meters: 40 DL/T 645 meters at 2400 baud need 55.9 s per round",
        mixed: "x.json: community.meters[0].unit: a Modbus unit id on a DL/T 645 bus",
        pin: "x.json: community.de: GPIO 23 is already used by display.spi.mosi",
        baud: "x.json: community.baudrate: 9600, but community.uart.baudrate is 2400",
        no_bus: "x.json: community.uart: missing",
        two_strings: "x.json: sensors: a community unit has at most one local string",
        meter_beside: "x.json: sensors[0]: a community unit's local string is an INA2xx",
    }
    for change, start in want.items():
        msg = _refusal(change)
        assert msg.startswith(start), msg


def test_community_screens_only_where_they_belong():
    def homes_without_community(p):
        del p["community"]
        p["sensors"] = copy.deepcopy(
            json.loads((boards.BOARDS / "esp32-epd42-dlt645.json").read_text())["sensors"]
        )

    msg = _refusal(homes_without_community)
    assert msg.startswith("x.json: layout.screens[0]: the homes screen shows a community's"), msg

    def home_not_opted_in(p):
        p["layout"]["screens"] = ["homes", "home"]

    msg = _refusal(home_not_opted_in)
    assert msg.startswith("x.json: layout.screens[1]: the home screen shows each household"), msg
    p = copy.deepcopy(GOOD)
    p["layout"]["screens"] = ["homes", "home"]
    p["community"]["per_home_screen"] = True
    boards.validate(p, "x.json")


def test_the_large_panel_shows_the_community_screens():
    # the 7.5" panel has homes and home screens (ui/screens800.py): before them parts refused a
    # community profile on it ("layout.screens[0]: no screen 'homes' for 800x480")
    large = json.loads((boards.BOARDS / "esp32-epd75-community.json").read_text())
    boards.validate(copy.deepcopy(large), "x.json")
    large["layout"]["screens"] = ["homes", "home", "main"]
    large["community"]["per_home_screen"] = True
    boards.validate(large, "x.json")


def test_the_small_panel_shows_homes_but_has_no_per_home_screen():
    # the 2.9" panel has a homes screen (ui/layout.py; before it: "layout.screens[0]: no screen
    # 'homes' for 296x128"); 8 homes a page do not fit its 128 px: the home screen is refused
    # by name
    small = json.loads((boards.BOARDS / "esp32-epd29-community.json").read_text())
    boards.validate(copy.deepcopy(small), "x.json")
    small["layout"]["screens"] = ["homes", "home"]
    small["community"]["per_home_screen"] = True
    with pytest.raises(UserError) as e:
        boards.validate(small, "x.json")
    assert "layout.screens[1]: no screen 'home' for 296x128" in str(e.value), str(e.value)
