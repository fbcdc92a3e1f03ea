"""The sign's picture on the host, from what a unit published, by the firmware's own code.

The values are formatted by sunprint.app.App.screen_values / carbon_values and
sunprint.ui.status.status_values (called on a stand-in that holds the published numbers where
the App keeps its ledger), and drawn by sunprint.ui.render.Renderer with the panel's fonts and
the board profile's screens, languages and rotation (sunprint.ui.layout.Rotation): the code
replay and the unit use. A picture smaller than its LED panel (layout.picture) is centred on
it as sunprint.viewport does. Pictures are MONO_HLSB bytes, 1 = ink (as the panel models'
rig.picture() gives them) and PNGs by replay's own picture code.

What the schema does not carry is taken as the firmware's defaults: the coal and tree
conventions (core.carbon) and, on the status screen, "last saved" (shown as never).
"""

from __future__ import annotations

import io
import threading

from host_tools.paths import FONTS, use_firmware

_fonts_cache: dict = {}
_lock = threading.Lock()  # the firmware's formatting reuses module-level state: one at a time


class _Ledger:
    """What App.screen_values and carbon_values read of a ledger, from published numbers."""

    def __init__(self, state, coal_dg_per_kwh):
        self._vouched = "today_mwh" in state or "lifetime_mwh" not in state
        self.today_mwh = max(0, state.get("today_mwh", 0))
        self._lifetime = max(0, state.get("lifetime_mwh", 0))
        self._co2 = max(0, state.get("co2_g", 0))
        self._coal = max(0, state.get("coal_g", 0))
        self.coal_dg_per_kwh = coal_dg_per_kwh

    def mwh(self, period):
        return self._lifetime

    def vouched(self):
        # the unit publishes its periods only when its ledger vouches for the date
        return self._vouched

    def grams(self, quantity, period):
        from sunprint.core.ledger import CO2

        return self._co2 if quantity == CO2 else self._coal


class _Clock:
    def __init__(self, text):
        self.text = text

    def summary(self):
        return self.text


class _Source:
    """App.source as carbon_values calls it: the source's own screen values (a community's
    homes reporting) are not published, so a fleet unit's sign shows none."""

    def screen_values(self, values):
        pass


class _App:
    """The attributes of sunprint.app.App that its value methods and status_values read."""

    boot_faults = ()
    policy = None
    source = _Source()

    def __init__(self, state, status, row):
        from sunprint.core.carbon import COAL_DG_PER_KWH, TREE_DG_CO2_PER_YEAR

        self.ledger = _Ledger(state, COAL_DG_PER_KWH)
        p = state.get("power_w", 0.0)
        self.power_mw = int(round(p * 1000)) if p > 0 else 0
        self.carbon_row = row
        self.tree_dg_co2_per_year = TREE_DG_CO2_PER_YEAR
        from sunprint.ui.layout import ScreenValues

        self.screen = ScreenValues()  # App's screen model, its value caches
        self.faults = dict(status.get("faults", {}))
        self.last_fault = status.get("last_fault") or None
        clock = status.get("clock_source")
        self.timekeeper = _Clock(clock) if clock is not None else None


def carbon_row(factor_dg, source):
    """The firmware's table row (core.carbon.FACTORS) a published factor and source name:
    (row, known). Unknown: a stand-in row with the published figure (the page flags it)."""
    use_firmware()
    from sunprint.core.carbon import FACTORS, factor
    from sunprint.ui.layout import short_source

    if factor_dg is None:
        return factor(), True
    same = [r for r in FACTORS if r[2] == factor_dg]
    for r in same:
        # the unit sends "<region> <year>: <source>" (net/publish.py); the bare and short
        # forms are read too
        if source is None or source in (r[3], short_source(r), "%s %d: %s" % (r[0], r[1], r[3])):
            return r, True
    if same:
        return same[0], False
    return ("?", 0, factor_dg, source or "?"), False


def values(state, status, unit_id, now=0):
    """{name: value} for every screen: the App's carbon_values() and the status screen's."""
    use_firmware()
    from sunprint.app import App
    from sunprint.ui.layout import short_source
    from sunprint.ui.status import status_values

    row, known = carbon_row(state.get("factor_dg"), state.get("factor_source"))
    if not hasattr(_App, "carbon_values"):  # the App's own methods, on the stand-in
        _App.screen_values = App.screen_values  # type: ignore[attr-defined]
        _App.carbon_values = App.carbon_values  # type: ignore[attr-defined]
    app = _App(state, status, row)
    with _lock:
        out = dict(app.carbon_values())  # type: ignore[attr-defined]
        out.update(status_values(app, unit_id, now, status.get("free_heap", 0)))
    if not known and row[0] == "?":
        src = state.get("factor_source") or "?"
        out["factor_source"] = src[:24]
    elif not known:
        out["factor_source"] = short_source(row)
    fw = status.get("firmware")
    out["firmware"] = "fw " + fw[:12] if fw else "fw ?"
    return out


def rotation(profile, lang=None):
    """[(screen name, language)] the unit shows in turn (its Rotation), then "status" where the
    panel has one (in the rotation's first language)."""
    use_firmware()
    from sunprint.ui.layout import Rotation, screen_names

    w, h = picture_size(profile)
    layout = profile.get("layout", {})
    rot = Rotation(w, h, lang or layout.get("language", "both"), layout.get("screens"))
    out = []
    for _ in range(rot.steps):
        out.append((rot.name, rot.lang))
        rot.advance()
    if "status" in screen_names(w, h) and "status" not in rot.names:
        out.append(("status", rot.langs[0]))
    return out


def picture_size(profile):
    d = profile["display"]
    pic = profile.get("layout", {}).get("picture")
    return (pic[0], pic[1]) if pic else (d["width"], d["height"])


def _fonts(profile, w, h):
    from sunprint.ui.font import BitmapFont
    from sunprint.ui.layout import fonts_for

    files = dict(fonts_for(w, h))
    files.update(profile.get("layout", {}).get("fonts", {}))
    key = tuple(sorted(files.items()))
    fonts = _fonts_cache.get(key)
    if fonts is None:
        fonts = {
            role: BitmapFont(io.BytesIO((FONTS / name).read_bytes()))
            for role, name in files.items()
        }
        _fonts_cache[key] = fonts
    return fonts


def draw(profile, name, lang, vals):
    """The panel's picture (width, height, MONO_HLSB bytes, 1 = ink) of screen `name` in `lang`
    with `vals` (values()): what rig.picture() shows when the unit has drawn the same."""
    use_firmware()
    import framebuf

    from sunprint.ui.layout import screen_for
    from sunprint.ui.render import Renderer

    w, h = picture_size(profile)
    buf = bytearray((w + 7) // 8 * h)
    fb = framebuf.FrameBuffer(buf, w, h, framebuf.MONO_HLSB)
    with _lock:
        fonts = _fonts(profile, w, h)
        Renderer(fb, buf, w, h, fonts, screen_for(w, h, name), lang).render(vals)
    d = profile["display"]
    pw, ph = d["width"], d["height"]
    if (pw, ph) == (w, h):
        return w, h, buf
    # centred as sunprint.viewport.Viewport puts it (its byte-aligned offsets)
    x0, y0 = (pw - w) // 2, (ph - h) // 2
    x0 &= ~7
    out = bytearray((pw + 7) // 8 * ph)
    src, dst = (w + 7) // 8, (pw + 7) // 8
    for y in range(h):
        o = (y0 + y) * dst + x0 // 8
        out[o : o + src] = buf[y * src : (y + 1) * src]
    return pw, ph, out


def png(profile, width, height, data):
    """PNG bytes of a picture, drawn as replay draws its frames (e-paper or LED dots)."""
    from host_tools import replay

    kind = replay.picture_kind(profile)
    if kind == "led":
        img = replay.led_image(width, height, data, replay._led_color(profile))
    else:
        img = replay.mono_image(width, height, data)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()
