# Shared by the e-paper driver tests (test_ssd1680_window, test_epd_ssd1683, test_epd_uc8179):
# pictures drawn with framebuf (the real module in MicroPython, the stand-in under CPython),
# pixel-for-pixel comparison with a panel model, a null bus, and an allocation counter.
import sys

import framebuf
from alloc import allocated  # noqa: F401 - the e-paper tests take it from here
from null_bus import NullPin, NullSPI  # noqa: F401 - likewise

# Inside MicroPython's 110 KB heap a panel model's three RAM planes plus the picture do not fit at
# 400 x 300 or 800 x 480: the tests run a narrower panel there (same code paths, coordinates
# above 255 still); CPython runs the real sizes.
MICROPYTHON = sys.implementation.name == "micropython"


def scene(fb, w, h):
    """Picture A: a frame, diagonals, filled blocks, text and circles across the whole panel."""
    fb.fill(0)
    fb.rect(0, 0, w, h, 1)
    fb.line(0, 0, w - 1, h - 1, 1)
    fb.line(w - 1, 0, 0, h - 1, 1)
    fb.fill_rect(w // 5, h // 6, w // 7, h // 5, 1)
    fb.text("CO2 -1.2 t", w // 2, 10, 1)
    fb.text("23.4 kWh", 9, h - 20, 1)
    fb.ellipse(w * 3 // 4, h * 2 // 3, w // 10, h // 8, 1)
    fb.ellipse(w // 3, h // 2, 5, 5, 1, True)


def framebuffer(buf, w, h, fmt):
    return framebuf.FrameBuffer(buf, w, h, fmt)


def mismatches(model, fb, w, h, x0=0, y0=0, x1=None, y1=None, limit=5):
    """Pixels of (x0..x1, y0..y1) where the glass differs from fb: a short list of (x, y)."""
    bad = []
    x1 = w if x1 is None else x1
    y1 = h if y1 is None else y1
    pixel = model.landscape_pixel
    for y in range(y0, y1):
        for x in range(x0, x1):
            if pixel(x, y) != fb.pixel(x, y):
                bad.append((x, y))
                if len(bad) >= limit:
                    return bad
    return bad


def window_check(model, fb, w, h, win, outside, outside_value=0):
    """After a window partial refresh: inside win (x, y, w, h) the glass is fb; outside it the
    glass is fb too, except in the rectangle `outside`, drawn after the last full refresh and not
    sent, where it is still outside_value. Returns the first mismatches."""
    wx, wy, ww, wh = win
    ox, oy, ow, oh = outside
    bad = []
    pixel = model.landscape_pixel
    for y in range(h):
        for x in range(w):
            inside = wx <= x < wx + ww and wy <= y < wy + wh
            stale = not inside and ox <= x < ox + ow and oy <= y < oy + oh
            want = outside_value if stale else fb.pixel(x, y)
            if pixel(x, y) != want:
                bad.append((x, y, inside))
                if len(bad) >= 5:
                    return bad
    return bad


def edit(fb, win, outside):
    """Picture B = A plus changes inside the window and a block outside it."""
    wx, wy, ww, wh = win
    fb.fill_rect(wx, wy, ww, wh, 0)
    fb.rect(wx, wy, ww, wh, 1)
    fb.text("88.8", wx + 2, wy + 2, 1)
    fb.line(wx, wy + wh - 1, wx + ww - 1, wy, 1)
    ox, oy, ow, oh = outside
    fb.fill_rect(ox, oy, ow, oh, 1)
