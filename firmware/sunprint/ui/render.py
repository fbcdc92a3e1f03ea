"""Draw a screen (ui/layout.py) into a framebuf with bitmap fonts (ui/font.py) and icons.

The renderer owns nothing but references: the frame buffer and the fonts are allocated once
by whoever builds the app. 1 is ink (black on e-paper, lit on an LED), 0 is paper.

After the first frame (font caches filled), render() allocates nothing: labels, values and
icons are looked up in tables and drawn from preallocated buffers; the 8x8 font of LED panels
is framebuf's own (fb.text).
"""

from sunprint.ui import icons as _icons
from sunprint.ui.layout import (
    BUILTIN8,
    FALLBACK,
    LABELS,
    SMALL,
    UNITS_LED,
    UNITS_ZH,
    ZH,
    screen_for,
)


class Builtin8:
    """framebuf's built-in 8x8 font behind the BitmapFont drawing interface: a character
    advances 8 px, except "." which is drawn as a 2x2 dot advancing 4 px (the built-in one
    takes a whole cell, and numbers look gappy); capitals and digits fill rows 0..6, so the
    baseline is row 7."""

    height = 8
    ascent = 7

    def text_width(self, text):
        return 8 * len(text) - 4 * text.count(".")

    def draw_text(self, fb, text, x, y, color=1):
        for ch in text:  # one-character strings are interned: no allocation
            if ch == ".":
                fb.fill_rect(x + 1, y + 5, 2, 2, color)
                x += 4
            else:
                fb.text(ch, x, y, color)
                x += 8
        return x


BUILTIN = Builtin8()


class Renderer:
    """Draws `screen` (items of ui/layout.py) for `values` into `fb`.

    fonts: {role: BitmapFont}. lang: "en", "zh" or "both" (see layout.Rotation). A label in
    Chinese with no ZH font is drawn in English.
    """

    def __init__(self, fb, buffer, width, height, fonts, screen, lang="en"):
        self.fb = fb
        self.fb_buffer = buffer  # the bytes behind fb, in the layout the panel driver sends
        self.width = width
        self.height = height
        self.fonts = fonts  # role name -> BitmapFont
        self.screen = screen
        self.lang = lang

    def show(self, name, lang=None):
        """Switch to screen `name` of this panel size (and to language `lang`, if given)."""
        self.screen = screen_for(self.width, self.height, name)
        if lang is not None:
            self.lang = lang

    def font(self, role):
        """The font object of a role (a missing role falls back, see layout.FALLBACK)."""
        if role == BUILTIN8:
            return BUILTIN
        fonts = self.fonts
        f = fonts.get(role)
        if f is None:
            f = fonts.get(FALLBACK.get(role, SMALL))
            if f is None:
                f = fonts[SMALL]
        return f

    def render(self, values):
        """Draw the screen with values: name -> (number text, unit text), or text, or a pair
        (English text, Chinese text)."""
        fb = self.fb
        fb.fill(0)
        for item in self.screen:
            kind = item[0]
            if kind == "hline":
                fb.hline(item[1], item[2], item[5] - item[1], 1)
            elif kind == "vline":
                fb.vline(item[1], item[2], item[5] - item[2], 1)
            elif kind == "icon":
                fb.blit(_icons.icon(item[5], item[3]), item[1], item[2], 0)
            elif kind == "text":
                self._draw(self.font(item[3]), item[5], item[1], item[2], item[4])
            elif kind == "label":
                self._words(LABELS[item[5]], item)
            elif kind == "field":
                self._words(values[item[5]], item)
            else:  # value, number, unit
                self._value(kind, values[item[5]], item)

    def _words(self, text, item):
        """A label or a text field: a string, or an (English, Chinese) pair in self.lang."""
        # One name at a time: MicroPython builds a tuple for a 4-way assignment.
        x = item[1]
        y = item[2]
        role = item[3]
        align = item[4]
        if type(role) is not tuple:
            self._draw(self.font(role), text if type(text) is not tuple else text[0], x, y, align)
            return
        if type(text) is not tuple:
            self._draw(self.font(role[0]), text, x, y, align)
            return
        lang = self.lang
        if lang == "en" or ZH not in self.fonts:  # one language: centred in the room for two
            self._draw(self.font(role[0]), text[0], x, y + (role[2] >> 1), align)
        elif lang == ZH:
            self._draw(self.font(role[1]), text[1], x, y + (role[2] >> 1), align)
        elif role[2]:  # both, stacked: Chinese above English
            self._draw(self.font(role[1]), text[1], x, y, align)
            self._draw(self.font(role[0]), text[0], x, y + role[2], align)
        elif align == "right":  # both, on one line: Chinese, then English
            en = self.font(role[0])
            self._draw(en, text[0], x, y, align)
            self._draw(self.font(role[1]), text[1], x - en.text_width(text[0]) - 6, y, align)
        else:
            end = self._draw(self.font(role[1]), text[1], x, y, align)
            self._draw(self.font(role[0]), text[0], end + 6, y, align)

    def _value(self, kind, value, item):
        x = item[1]
        y = item[2]
        role = item[3]
        align = item[4]
        number = value[0]
        unit = value[1]
        if type(role) is tuple:
            font = self.font(role[0])
            unit_font = self.font(role[1])
            gap = role[2]
        else:
            font = self.font(role)
            unit_font = self.font(SMALL) if kind == "value" else font
            gap = 4
        # The unit as drawn: shortened on an LED, translated in Chinese (in the ZH font).
        if unit_font is BUILTIN:
            if unit in UNITS_LED:
                unit = UNITS_LED[unit]
            elif unit and unit[-1] == "?":
                unit = "?"  # the date-unknown mark alone (layout.UNITS)
        elif self.lang == ZH and unit in UNITS_ZH and ZH in self.fonts:
            unit = UNITS_ZH[unit]
            unit_font = self.fonts[ZH]
        if kind == "number":
            self._draw(font, number, x, y, align)
            return
        if kind == "unit":
            self._draw(unit_font, unit, x, y, align)
            return
        if not unit:
            gap = 0
        if align == "right":
            x_unit = x - unit_font.text_width(unit)
            self._draw(unit_font, unit, x_unit, y, "left")
            self._draw(font, number, x_unit - gap, y, "right")
        else:
            x_end = self._draw(font, number, x, y, "left")
            self._draw(unit_font, unit, x_end + gap, y, "left")

    def _draw(self, font, text, x, baseline, align):
        if align == "right":
            x -= font.text_width(text)
        return font.draw_text(self.fb, text, x, baseline - font.ascent)
