"""The sign's screens on the host: each panel size's fonts, sample values, drawing into a frame
buffer (with a margin, to see ink that would fall off the panel) and pictures of the result.

The drawing is the firmware's own (sunprint.ui.render.Renderer over the framebuf stand-in); only
the fonts' opening and the PNG are host side.
"""

from __future__ import annotations

from contextlib import contextmanager

from host_tools.paths import FONTS, use_firmware


# Each value the screens show: (its sample, its widest text). The sample is what a sunny
# afternoon at a community roof a few years old looks like; the widest is the widest text the
# value can take (digits drawn as 8, which is as wide as any digit). _same: a text that is the
# same in both (names, notes, labels).
def _same(text):
    return (text, text)


_VALUES = {
    "power_w": (("3.42", "kW"), ("888", "kW")),
    "today_kwh": (("41.2", "kWh"), ("888", "MWh?")),
    "today_label": (("Energy today", "今日发电"), ("Total, date unknown", "累计 时间未知")),
    "lifetime_kwh": (("12.6", "MWh"), ("888", "MWh")),
    "co2_kg": (("6.69", "t"), ("888", "kg")),
    "coal_kg": (("3.85", "t"), ("888", "kg")),
    "trees": (("366", "trees"), ("88.8", "k trees")),
    "factor": (("0.5306", "kg/kWh"), ("0.5568", "kg/kWh")),
    "factor_source": _same("MEE/NBS 2023"),
    "trees_note": _same(("at 18.3 kg CO\u2082 a year each", "每棵树每年吸收18.3 kg")),
    "coal_note": _same(("at 305.5 g per kWh", "每度电305.5克")),
    "unit_id": _same("ZS-XL-0042"),
    "firmware": ("fw 0.1.0", "fw 10.10.10"),
    "sensor": (("2 faults", "故障2次"), ("88888 faults", "故障88888次")),
    "last_fault": _same("sensor: [Errno 110] ETIM..."),
    "persisted": (("4 min ago", "4分钟前"), ("8888 min ago", "8888分钟前")),
    "heap": ("52.3 kB", "888.8 kB"),
    "clock": ("ds3231 +2s", "pcf8563 -99999s"),
    # the network is off by default: no link row; the widest of sunprint/net/publish.py LINK_TEXTS
    "link": ("", ("WiFi pw?", "WiFi连接中")),
    "led_status": ("E2", "E999"),
    # a community sign: homes reporting of homes on the bus (at most community/profile.py
    # MAX_METERS)
    "homes": (("12/14", ""), ("64/64", "")),
    "homes_label": _same(("Homes reporting", "在线户数")),
}
for _i in range(8):
    _VALUES["home_n%d" % _i] = (
        ("Home %d" % (_i + 1), "%d号户" % (_i + 1)),
        ("Home %d" % (_i + 57), "%d号户" % (_i + 57)),
    )
for _i in range(8):
    _VALUES["home_v%d" % _i] = (
        "%.2f kW   %.1f kWh" % (0.5 + 0.7 * _i, 40 + 13.3 * _i),
        "888 kW   888 MWh",
    )
SAMPLE = {key: sample for key, (sample, _) in _VALUES.items()}
WIDEST = {key: widest for key, (_, widest) in _VALUES.items()}


def panels():
    """Every panel size with screens, largest first."""
    use_firmware()
    from sunprint.ui.panels import PANELS

    return sorted(PANELS, key=lambda wh: -wh[0] * wh[1])


def languages(width, height):
    """The languages a panel's screens are drawn in: one for LED panels (no words)."""
    use_firmware()
    from sunprint.ui.layout import NO_WORDS, STACKED
    from sunprint.ui.panels import PANELS

    mode = PANELS[(width, height)][2]
    if mode == NO_WORDS:
        return ("en",)
    if mode == STACKED:
        return ("both", "en", "zh")
    return ("en", "zh")


@contextmanager
def panel_fonts(width, height, fonts_dir=FONTS):
    """{role: BitmapFont} for a panel size (ui.layout.fonts_for), open for the with-block."""
    use_firmware()
    from sunprint.ui.font import BitmapFont
    from sunprint.ui.layout import fonts_for

    files = []
    try:
        fonts = {}
        for role, name in fonts_for(width, height).items():
            f = open(fonts_dir / name, "rb")
            files.append(f)
            fonts[role] = BitmapFont(f)
        yield fonts
    finally:
        for f in files:
            f.close()


def shifted(screen, m):
    """The items of `screen` moved right and down by m px."""
    out = []
    for kind, x, y, role, align, arg in screen:
        if kind == "hline":
            arg += m
        elif kind == "vline":
            arg += m
        out.append((kind, x + m, y + m, role, align, arg))
    return tuple(out)


def draw(width, height, name, lang, values, fonts, margin=0):
    """Draw screen `name` of a width x height panel into a fresh MONO_HLSB buffer that has
    `margin` px of extra room on every side; returns (buffer, buffer width, buffer height)."""
    use_firmware()
    import framebuf

    from sunprint.ui.layout import screen_for
    from sunprint.ui.render import Renderer

    w, h = width + 2 * margin, height + 2 * margin
    buf = bytearray((w + 7) // 8 * h)
    fb = framebuf.FrameBuffer(buf, w, h, framebuf.MONO_HLSB)
    screen = shifted(screen_for(width, height, name), margin)
    Renderer(fb, buf, w, h, fonts, screen, lang).render(values)
    return buf, w, h


def ink_outside(buf, w, h, margin):
    """The pixels with ink outside the panel (the margin), as (x, y) in panel coordinates."""
    stride = (w + 7) // 8
    out = []
    for y in range(h):
        row = buf[y * stride : (y + 1) * stride]
        if not any(row):
            continue
        for x in range(w):
            if row[x >> 3] & (0x80 >> (x & 7)):
                inside = margin <= x < w - margin and margin <= y < h - margin
                if not inside:
                    out.append((x - margin, y - margin))
    return out


def picture(buf, w, h, scale=1, led=False):
    """A Pillow image of a MONO_HLSB buffer: black ink on white paper, or for an LED panel lit
    dots on a dark board."""
    from PIL import Image, ImageDraw

    mono = Image.frombytes("1", (w, h), bytes(buf))  # 1 = ink
    if not led:
        img = Image.frombytes("1", (w, h), bytes(b ^ 0xFF for b in buf)).convert("L")
        return img.resize((w * scale, h * scale), Image.Resampling.NEAREST) if scale > 1 else img
    pitch = max(scale, 4)
    img = Image.new("RGB", (w * pitch, h * pitch), (20, 16, 14))
    d = ImageDraw.Draw(img)
    for y in range(h):
        for x in range(w):
            lit = mono.getpixel((x, y))
            colour = (255, 150, 30) if lit else (48, 34, 28)
            d.ellipse(
                (x * pitch + 1, y * pitch + 1, (x + 1) * pitch - 2, (y + 1) * pitch - 2),
                fill=colour,
            )
    return img
