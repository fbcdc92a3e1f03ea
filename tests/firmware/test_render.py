# Screens, labels in two languages, icons and rotation (sunprint.ui.render / layout / icons).
# CPython and MicroPython: plain test_* functions with bare asserts.
import gc

import framebuf
from repo import ROOT

from sunprint.ui.font import BitmapFont
from sunprint.ui.icons import NAMES, SIZES, icon
from sunprint.ui.layout import (
    LABELS,
    PANELS,
    UNITS,
    Rotation,
    all_strings,
    bound_names,
    fonts_for,
    format_trees,
    screen_for,
    screen_names,
)
from sunprint.ui.render import BUILTIN, Renderer

VALUES = {
    "power_w": ("888", "kW"),
    "today_kwh": ("88.8", "MWh"),
    "today_label": ("Energy today", "今日发电"),
    "lifetime_kwh": ("888", "MWh"),
    "co2_kg": ("888", "kg"),
    "coal_kg": ("888", "kg"),
    "trees": ("88.8", "k trees"),
    "led_status": "E999",
}


def _font_path(name):
    return ROOT + "/assets/fonts/" + name


def _open_fonts(width, height):
    fonts = {}
    for role, name in fonts_for(width, height).items():
        fonts[role] = BitmapFont(_font_path(name))
    return fonts


def _close(fonts):
    for f in fonts.values():
        f.close()


def _fb(w, h):
    buf = bytearray(((w + 7) // 8) * h)
    return buf, framebuf.FrameBuffer(buf, w, h, framebuf.MONO_HLSB)


def _ink(fb, x0, y0, x1, y1):
    n = 0
    for y in range(y0, y1):
        for x in range(x0, x1):
            if fb.pixel(x, y):
                n += 1
    return n


def _bits(buf):
    n = 0
    for b in buf:
        while b:
            n += b & 1
            b >>= 1
    return n


def test_chinese_label_is_drawn_from_the_cjk_font_file():
    label = LABELS["power"][1]  # 光伏功率
    assert [ord(c) > 0x2E80 for c in label] == [True] * 4
    with BitmapFont(_font_path("cjk16.bin")) as zh:
        assert zh.count > 100 and zh.height >= 16
        buf, fb = _fb(296, 128)
        fonts = {"small": zh, "zh": zh}
        screen = (("label", 10, 40, ("small", "zh", 0), "left", "power"),)
        Renderer(fb, buf, 296, 128, fonts, screen, "zh").render({})
        top = 40 - zh.ascent
        x = 10
        for ch in label:
            adv = zh.glyph(ord(ch))
            assert adv == 16, (ch, adv)
            want = _bits(zh.buf)  # the glyph's pixels as stored in the file
            assert want > 30, ch
            assert _ink(fb, x, top, x + adv, top + zh.height) == want, ch
            x += adv
        assert _ink(fb, 0, 0, 296, 128) == _ink(fb, 10, top, x, top + zh.height)
        # English in the same item when the language is "en": other pixels, from the same font
        buf2, fb2 = _fb(296, 128)
        Renderer(fb2, buf2, 296, 128, fonts, screen, "en").render({})
        assert _ink(fb2, 0, 0, 296, 128) > 0 and bytes(buf2) != bytes(buf)


def test_missing_glyph_draws_the_fallback():
    with BitmapFont(_font_path("cjk16.bin")) as zh:
        assert zh.index(0x946B) == -1  # 鑫: not on the sign, not in the font
        buf_a, fb_a = _fb(64, 24)
        buf_b, fb_b = _fb(64, 24)
        end_a = zh.draw_text(fb_a, "\u946b", 2, 1)
        end_b = zh.draw_text(fb_b, "?", 2, 1)
        assert end_a == end_b and bytes(buf_a) == bytes(buf_b)
        assert _ink(fb_a, 0, 0, 64, 24) > 5


def test_both_languages_stack_chinese_above_english():
    fonts = _open_fonts(400, 300)
    try:
        zh, en = fonts["zh"], fonts["small"]
        screen = (("label", 8, 40, ("small", "zh", 22), "left", "today"),)
        buf, fb = _fb(400, 300)
        Renderer(fb, buf, 400, 300, fonts, screen, "both").render({})
        zh_rows = _ink(fb, 0, 40 - zh.ascent, 400, 40 + 2)
        en_rows = _ink(fb, 0, 62 - en.ascent, 400, 62 + 4)
        assert zh_rows > 50 and en_rows > 30
        assert _ink(fb, 0, 0, 400, 300) == zh_rows + en_rows
    finally:
        _close(fonts)


def test_units_are_translated_and_numbers_right_aligned():
    fonts = _open_fonts(296, 128)
    try:
        screen = (("value", 290, 60, "large", "right", "trees"),)
        ends = []
        for number in ("1.0", "8.8"):
            buf, fb = _fb(296, 128)
            r = Renderer(fb, buf, 296, 128, fonts, screen, "zh")
            r.render({"trees": (number, "trees")})
            ink_x = [x for x in range(296) for y in range(128) if fb.pixel(x, y)]
            ends.append(max(ink_x))
        assert ends[0] == ends[1]  # the unit's right edge stays put
        zh = fonts["zh"]
        w_zh = zh.text_width("\u68f5")  # 棵
        assert w_zh == 16
    finally:
        _close(fonts)


def test_rotation_order():
    r = Rotation(296, 128, "both")
    seen = [(r.name, r.lang)]
    for _ in range(r.steps):
        r.advance()
        seen.append((r.name, r.lang))
    assert seen == [
        ("main", "zh"),
        ("main", "en"),
        ("total", "zh"),
        ("total", "en"),
        ("carbon", "zh"),
        ("carbon", "en"),
        ("main", "zh"),
    ]
    r = Rotation(800, 480, "both")
    assert (r.name, r.lang, r.steps) == ("main", "both", 2)
    assert r.advance() == "carbon" and r.lang == "both"
    assert r.advance() == "main"
    r = Rotation(296, 128, "en", names=("main", "status"))
    assert [r.name, r.advance(), r.advance()] == ["main", "status", "main"] and r.lang == "en"
    r = Rotation(32, 8, "zh")  # LED: no words, one language
    names = [r.name] + [r.advance() for _ in range(3)]
    assert names == ["power_unit", "power", "today_unit", "today"] and r.lang == "en"
    r.reset()
    assert r.name == "power_unit"
    try:
        Rotation(296, 128, "fr")
    except ValueError as e:
        assert "fr" in str(e)
    else:
        raise AssertionError("accepted an unknown language")


def test_every_rotation_screen_exists():
    for size in PANELS:
        names = screen_names(size[0], size[1])
        for name in PANELS[size][1]:
            assert name in names, (size, name)
            screen_for(size[0], size[1], name)


def _shift(screen, m):
    out = []
    for kind, x, y, role, align, arg in screen:
        if kind == "hline" or kind == "vline":
            arg += m
        out.append((kind, x + m, y + m, role, align, arg))
    return out


def test_led_screens_fit():
    m = 16
    for width in (64, 32):
        for name in screen_names(width, 8):
            screen = screen_for(width, 8, name)
            for kind, _x, _y, role, _a, _arg in screen:
                assert kind in ("icon", "value", "number", "unit", "field"), kind
                assert role in (8, "builtin8") or role[0] == "builtin8"
            buf, fb = _fb(width + 2 * m, 8 + 2 * m)
            r = Renderer(fb, buf, width + 2 * m, 8 + 2 * m, {}, _shift(screen, m))
            r.render(VALUES)
            inside = _ink(fb, m, m, m + width, m + 8)
            assert inside > 10, (width, name)
            assert _ink(fb, 0, 0, width + 2 * m, 8 + 2 * m) == inside, (width, name)


def test_led_numbers_and_units():
    buf, fb = _fb(64, 8)
    r = Renderer(fb, buf, 64, 8, {}, screen_for(64, 8, "power"))
    r.render({"power_w": ("3.42", "kW")})
    assert BUILTIN.text_width("3.42") == 28
    # the number ends 1 px before the unit "kW" (16 px) at the right edge
    assert _ink(fb, 0, 0, 8, 8) > 5  # the icon
    assert _ink(fb, 8, 0, 64 - 16 - 1 - 28, 8) == 0
    assert _ink(fb, 64 - 16, 0, 64, 8) > 10
    r.show("trees")
    buf[:] = bytes(len(buf))
    r.render({"trees": ("12.3", "k trees")})  # thousands of trees: "12.3k"
    assert _ink(fb, 64 - 8, 0, 64, 8) > 5


def test_icons_are_mono_hlsb_bitmaps_with_ink():
    assert SIZES == (8, 16, 32)
    assert sorted(NAMES) == ["bolt", "coal", "leaf", "plug", "sun", "tree"]
    for name in NAMES:
        for size in SIZES:
            data, w, h, fmt = icon(name, size)
            assert (w, h, fmt) == (size, size, framebuf.MONO_HLSB)
            assert len(data) == (size + 7) // 8 * size
            ink = _bits(data)
            assert size < ink < size * size * 3 // 4, (name, size, ink)


def _blit_all(fb):
    for name in NAMES:
        for size in SIZES:
            fb.blit(icon(name, size), 1, 2, 0)


def test_icons_blit_without_allocation():
    buf, fb = _fb(40, 40)
    _blit_all(fb)
    data, w, h, _fmt = icon("sun", 16)
    buf[:] = bytes(len(buf))
    fb.blit(icon("sun", 16), 3, 4, 0)
    for y in range(16):  # the bitmap, at (3, 4)
        for x in range(16):
            bit = (data[y * 2 + (x >> 3)] >> (7 - (x & 7))) & 1
            assert fb.pixel(3 + x, 4 + y) == bit
    if not hasattr(gc, "mem_alloc"):  # CPython: nothing to measure
        return
    gc.collect()
    gc.disable()
    try:
        a = gc.mem_alloc()
        _blit_all(fb)
        b = gc.mem_alloc()
    finally:
        gc.enable()
    assert b - a == 0, b - a


def test_render_allocates_nothing_after_the_first_frame():
    if not hasattr(gc, "mem_alloc"):
        return
    fonts = _open_fonts(296, 128)
    buf, fb = _fb(296, 128)
    r = Renderer(fb, buf, 296, 128, fonts, screen_for(296, 128, "main"))
    used = []
    try:
        for lang in ("zh", "en"):
            r.lang = lang
            r.render(VALUES)  # first frame: font caches
            r.render(VALUES)
            gc.collect()
            gc.disable()
            try:
                a = gc.mem_alloc()
                r.render(VALUES)
                b = gc.mem_alloc()
            finally:
                gc.enable()
            used.append(b - a)
    finally:
        _close(fonts)
    assert used == [0, 0], used


def test_all_strings_cover_labels_units_and_digits():
    everything = all_strings()
    en = all_strings("en")
    zh = all_strings("zh")
    for pair in LABELS.values():
        assert pair[0] in everything and pair[1] in everything
        assert pair[0] in en and pair[1] not in en
        assert pair[1] in zh and pair[0] not in zh
    for unit in UNITS:
        assert unit in en
    assert "\u68f5" in zh  # 棵
    chars = "".join(everything)
    for ch in "0123456789.-%":
        assert ch in chars


def test_trees_format_stays_short():
    assert format_trees(5) == ("0.5", "trees")
    assert format_trees(999) == ("99.9", "trees")
    assert format_trees(1000) == ("100", "trees")
    assert format_trees(99994) == ("9999", "trees")
    assert format_trees(99995) == ("10.0", "k trees")
    assert format_trees(123456) == ("12.3", "k trees")
    assert format_trees(9994999) == ("999", "k trees")


def test_bound_names():
    assert bound_names(screen_for(296, 128, "main")) == (
        "power_w",
        "today_label",
        "today_kwh",
        "co2_kg",
    )
    assert "lifetime_kwh" in bound_names(screen_for(800, 480, "main"))
