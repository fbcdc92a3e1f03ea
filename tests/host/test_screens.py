"""Every screen of every panel size fits its panel with the committed fonts, for the widest
values the formats produce; and the carbon screen shows the factor with its source."""

import pytest
from PIL import Image

from host_tools.paths import FONTS, use_firmware

use_firmware()

import framebuf  # noqa: E402

from sunprint.core import carbon  # noqa: E402
from sunprint.ui.font import BitmapFont  # noqa: E402
from sunprint.ui.layout import SCREENS, screen_for  # noqa: E402
from sunprint.ui.render import Renderer  # noqa: E402

WIDEST = {
    "power_w": ("888", "kW"),
    "today_kwh": ("888", "MWh"),
    "co2_kg": ("888", "kg"),
    "factor": ("0.5568", "kg/kWh"),
    "factor_source": "MEE/NBS 2023",
    "coal_kg": ("888", "kg"),
    "trees": ("88.8", "trees"),
    "trees_note": "at 18.3 kg CO\u2082 a year each",
}


@pytest.fixture(scope="module")
def fonts():
    small, large = open(FONTS / "sans12.bin", "rb"), open(FONTS / "sans24b.bin", "rb")
    yield {"small": BitmapFont(small), "large": BitmapFont(large)}
    small.close()
    large.close()


def extents(item, fonts):
    """(left, right, top, bottom) of the ink box an item may occupy."""
    kind, x, y, role, align, arg = item
    if kind == "hline":
        return x, arg, y, y
    font = fonts[role]
    small = fonts["small"]
    if kind == "value":
        number, unit = WIDEST[arg]
        width = font.text_width(number) + 4 + small.text_width(unit)
    else:
        width = font.text_width(WIDEST[arg] if kind == "field" else arg)
    left = x - width if align == "right" else x
    top = y - max(font.ascent, small.ascent)
    return left, left + width, top, y - font.ascent + font.height


@pytest.mark.parametrize("key", sorted(SCREENS), ids=lambda k: "%dx%d-%s" % k)
def test_screen_fits_its_panel(key, fonts):
    width, height, _ = key
    for item in SCREENS[key]:
        left, right, top, bottom = extents(item, fonts)
        assert 0 <= left and right <= width, item
        assert 0 <= top and bottom <= height, item


def test_carbon_screen_shows_factor_and_source(fonts, tmp_path):
    from sunprint.app import App
    from sunprint.core.ledger import Ledger

    row = carbon.factor("CN-South", 2023)
    led = Ledger(co2_dg_per_kwh=row[2])
    t = 782179200
    for i in range(3601):  # 10 h at 10 kW: 100 kWh
        led.add_power(t + i * 10, 10000000)
    app = App(source=None, panel=None, renderer=None, ledger=led, carbon_row=row)
    values = app.carbon_values()
    assert values["factor"] == ("0.4042", "kg/kWh")
    assert values["factor_source"] == "MEE/NBS 2023"
    assert values["coal_kg"] == ("30.6", "kg")  # 100 kWh at 305.5 gce/kWh
    assert values["trees"] == ("2.2", "trees")  # 40.42 kg / 18.3 kg a tree
    buf = bytearray(296 * 128 // 8)
    fb = framebuf.FrameBuffer(buf, 296, 128, framebuf.MONO_HLSB)
    Renderer(fb, buf, 296, 128, fonts, screen_for(296, 128, "carbon")).render(values)
    img = Image.frombytes("1", (296, 128), bytes(b ^ 0xFF for b in buf))
    img.resize((888, 384)).save(tmp_path / "carbon.png")
    assert sum(bin(b).count("1") for b in buf) > 500  # it drew something
