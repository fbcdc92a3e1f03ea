"""Draw a screen (ui/layout.py) into a framebuf with bitmap fonts (ui/font.py).

The renderer owns nothing but references: the frame buffer and the fonts are allocated once
by whoever builds the app. 1 is ink (black on e-paper), 0 is paper.
"""

from sunprint.ui.layout import SMALL


class Renderer:
    def __init__(self, fb, buffer, width, height, fonts, screen):
        self.fb = fb
        self.fb_buffer = buffer  # the bytes behind fb, in the layout the panel driver sends
        self.width = width
        self.height = height
        self.fonts = fonts  # role name -> BitmapFont
        self.screen = screen

    def render(self, values):
        """Draw the screen with values: name -> (number text, unit text) or text."""
        fb = self.fb
        fb.fill(0)
        small = self.fonts[SMALL]
        for kind, x, y, role, align, arg in self.screen:
            if kind == "hline":
                fb.hline(x, y, arg - x, 1)
            elif kind == "text":
                self._draw(self.fonts[role], arg, x, y, align)
            elif kind == "field":
                self._draw(self.fonts[role], values[arg], x, y, align)
            elif kind == "value":
                number, unit = values[arg]
                font = self.fonts[role]
                if align == "right":
                    x_unit = x - small.text_width(unit)
                    self._draw(small, unit, x_unit, y, "left")
                    self._draw(font, number, x_unit - 4, y, "right")
                else:
                    x_end = self._draw(font, number, x, y, "left")
                    self._draw(small, unit, x_end + 4, y, "left")

    def _draw(self, font, text, x, baseline, align):
        if align == "right":
            x -= font.text_width(text)
        return font.draw_text(self.fb, text, x, baseline - font.ascent)
