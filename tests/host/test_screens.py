"""Every screen of every panel size fits its panel with the committed fonts, in every language,
for the widest values the formats produce, and no two items draw on the same pixel; and the
carbon screen shows the factor with its source."""

import pytest
from PIL import Image

from host_tools.paths import FONTS, use_firmware
from host_tools.screens import WIDEST, draw, ink_outside, languages, panel_fonts

use_firmware()

import framebuf  # noqa: E402

from sunprint.core import carbon  # noqa: E402
from sunprint.ui.font import BitmapFont  # noqa: E402
from sunprint.ui.layout import all_screens, bound_names, screen_for  # noqa: E402
from sunprint.ui.render import Renderer  # noqa: E402

SCREENS = all_screens()
CASES = [(key, lang) for key in sorted(SCREENS) for lang in languages(key[0], key[1])]


@pytest.fixture(scope="module")
def fonts():
    small, large = open(FONTS / "sans12.bin", "rb"), open(FONTS / "sans24b.bin", "rb")
    yield {"small": BitmapFont(small), "large": BitmapFont(large)}
    small.close()
    large.close()


def test_widest_has_every_value_name():
    for key, screen in SCREENS.items():
        for name in bound_names(screen):
            assert name in WIDEST, (key, name)


@pytest.mark.parametrize(("key", "lang"), CASES, ids=lambda c: "%dx%d-%s" % c if len(c) == 3 else c)
def test_screen_fits_its_panel(key, lang):
    width, height, name = key
    margin = 40
    with panel_fonts(width, height) as fonts:
        buf, w, h = draw(width, height, name, lang, WIDEST, fonts, margin)
    assert ink_outside(buf, w, h, margin) == []


def _ink_set(buf, w, h):
    stride = (w + 7) // 8
    return {
        (x, y) for y in range(h) for x in range(w) if buf[y * stride + (x >> 3)] & (0x80 >> (x & 7))
    }


@pytest.mark.parametrize(("key", "lang"), CASES, ids=lambda c: "%dx%d-%s" % c if len(c) == 3 else c)
def test_items_do_not_touch(key, lang):
    """Each item drawn alone: no pixel is inked by two items, and text keeps 1 px clear of
    other text (rules may run close to text)."""
    from sunprint.ui import layout

    width, height, name = key
    screen = SCREENS[key]
    inks = []
    with panel_fonts(width, height) as fonts:
        for i, item in enumerate(screen):
            layout.SCREENS[(width, height, "_one")] = (item,)
            try:
                buf, w, h = draw(width, height, "_one", lang, WIDEST, fonts)
            finally:
                del layout.SCREENS[(width, height, "_one")]
            inks.append((i, item, _ink_set(buf, w, h)))
    for a in range(len(inks)):
        for b in range(a + 1, len(inks)):
            ia, item_a, pa = inks[a]
            ib, item_b, pb = inks[b]
            assert not (pa & pb), (item_a, item_b)
            if item_a[0] in ("hline", "vline") or item_b[0] in ("hline", "vline"):
                continue
            grown = {(x + dx, y + dy) for x, y in pa for dx in (-1, 0, 1) for dy in (-1, 0, 1)}
            assert not (grown & pb), ("touching", item_a, item_b)


def test_carbon_screen_shows_factor_and_source(fonts, tmp_path):
    from sunprint.app import App
    from sunprint.core.ledger import Ledger
    from sunprint.sources import PowerSource
    from sunprint.ui.refresh import always_full

    row = carbon.factor("CN-South", 2023)
    led = Ledger(co2_dg_per_kwh=row[2])
    t = 782179200
    for i in range(3601):  # 10 h at 10 kW: 100 kWh
        led.add_power(t + i * 10, 10000000)
    buf = bytearray(296 * 128 // 8)
    fb = framebuf.FrameBuffer(buf, 296, 128, framebuf.MONO_HLSB)
    renderer = Renderer(fb, buf, 296, 128, fonts, screen_for(296, 128, "carbon"))
    app = App(
        source=PowerSource(None),
        panel=None,
        renderer=renderer,
        ledger=led,
        carbon_row=row,
        plan=always_full(),
        fmt=framebuf.MONO_HLSB,
    )
    values = app.carbon_values()
    assert values["factor"] == ("0.4042", "kg/kWh")
    assert values["factor_source"] == "MEE/NBS 2023"
    assert values["coal_kg"] == ("30.6", "kg")  # 100 kWh at 305.5 gce/kWh
    assert values["trees"] == ("2.2", "trees")  # 40.42 kg / 18.3 kg a tree
    renderer.render(values)
    img = Image.frombytes("1", (296, 128), bytes(b ^ 0xFF for b in buf))
    img.resize((888, 384)).save(tmp_path / "carbon.png")
    assert sum(bin(b).count("1") for b in buf) > 500  # it drew something


@pytest.mark.parametrize(
    "fault",
    [
        "config: config.json: key 'tree_kg_co2_per_year': 0 is out of range 1..100",
        "config: config.json: not valid JSON: line 1 column 99: trailing commas",
        "config: config.json: missing; the previous config stays in use",
        "calib: calib.json: 'channels'",
    ],
)
def test_the_status_screen_fits_its_panel_with_a_boot_fault(fault):
    # a boot fault stays on the status screen (ui/status.py), in its short form
    from sunprint.ui.status import MAX_FAULT_CHARS, _boot_fault

    shown = _boot_fault(fault)
    if len(shown) > MAX_FAULT_CHARS:
        shown = shown[: MAX_FAULT_CHARS - 3] + "..."
    values = dict(WIDEST)
    values["last_fault"] = shown
    for (width, height, name), _screen in sorted(SCREENS.items()):
        if name != "status":
            continue
        for lang in languages(width, height):
            with panel_fonts(width, height) as fonts:
                buf, w, h = draw(width, height, name, lang, values, fonts, 40)
            assert ink_outside(buf, w, h, 40) == [], (shown, width, height, lang)


def test_every_font_role_and_panel_mode_is_one_layout_names():
    # ui/panels.py and ui/screens*.py write the roles as consts private to each module (folded
    # at compile time, and no import of layout, which imports them): the strings must stay
    # layout's
    from sunprint.ui import layout
    from sunprint.ui.panels import PANELS

    roles = {layout.SMALL, layout.LARGE, layout.ZH, layout.HUGE, layout.UNIT, layout.BUILTIN8}
    used = set()
    for items in SCREENS.values():
        for item in items:
            if item[0] in ("text", "label", "field", "value", "number", "unit"):
                font = item[3]
                used.update(font[:2] if isinstance(font, tuple) else (font,))
    for fonts, _rotation, mode in PANELS.values():
        used.update(fonts)
        assert mode in (layout.ALTERNATE, layout.STACKED, layout.NO_WORDS), mode
    assert used and used <= roles, used - roles
