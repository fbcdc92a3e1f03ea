# Shared by the e-paper driver tests (test_ssd1680_window, test_epd_ssd1683, test_epd_uc8179):
# pictures drawn with framebuf (the real module in MicroPython, the stand-in under CPython),
# pixel-for-pixel comparison with a panel model, a null bus, and an allocation counter.
import gc
import sys

import framebuf

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


class NullSPI:
    def write(self, buf):
        pass


class NullPin:
    def __init__(self, level=0):
        self.level = level

    def value(self, v=None):
        return self.level


def allocated(fn):
    """Bytes fn() allocates on the MicroPython heap (None under CPython)."""
    if not hasattr(gc, "mem_alloc"):
        fn()
        return None
    gc.collect()
    gc.disable()
    try:
        a = gc.mem_alloc()  # type: ignore[attr-defined]
        fn()
        b = gc.mem_alloc()  # type: ignore[attr-defined]
    finally:
        gc.enable()
    return b - a


# --- shared by test_glass_*.py (issue 14: the drivers held against what the glass knows) ---


def keep_base(d, prev):
    """Hand the driver the frame the app keeps of the glass (sunprint.app.App does); older
    drivers had no such call."""
    keep = getattr(d, "set_base", None)
    if keep is not None:
        keep(prev)


class Clock:
    """A sleep function that records (ms, RST level, last command) per call."""

    def __init__(self, model):
        self.model = model
        self.calls = []

    def __call__(self, ms):
        m = self.model
        self.calls.append((ms, m.rst.value(), m.commands[-1] if m.commands else -1))


def full(d, buf, prev):
    d.show(buf)
    prev[:] = buf  # what the app's diff keeps: the picture now on the glass


def window(d, buf, prev, win):
    d.show_window(buf, win[0], win[1], win[2], win[3])
    prev[:] = buf


def started(d, buf, full=True):
    d.begin_show(buf, full)  # RAM written, refresh running: look before deep sleep


def done(d):
    while d.busy():
        pass
    d.finish()


def after_sleep(m, d, buf, prev, fb, win, out, w, h):
    """Full refresh, deep sleep, window partial; again from deep sleep after a partial: the
    glass is right and no stale base is seen."""
    full(d, buf, prev)
    d.sleep()  # a full refresh may already have put it to sleep: a no-op then
    assert m.asleep
    edit(fb, win, out)
    window(d, buf, prev, win)
    assert m.refreshes[-1] == "partial"
    assert m.violations == [], m.violations
    aligned = (d.win_x, d.win_y, d.win_w, d.win_h)
    assert window_check(m, fb, w, h, aligned, out) == []
    # from deep sleep after a partial, too (the block outside was never sent: the app's frame
    # holds what the glass shows)
    fb.fill_rect(out[0], out[1], out[2], out[3], 0)
    prev[:] = buf
    d.sleep()
    fb.fill_rect(win[0], win[1], 8, 8, 1)
    window(d, buf, prev, (win[0], win[1], 8, 8))
    assert m.violations == [], m.violations
    assert window_check(m, fb, w, h, aligned, out) == []


def partials_stay_awake(m, d, buf, prev, fb):
    """No Waveshare sequence sleeps between partials: the controller stays awake (RAM kept, no
    reset, no RAM restore) with the drive power off; a full refresh ends in deep sleep."""
    full(d, buf, prev)
    assert m.asleep
    fb.fill_rect(8, 8, 8, 8, 1)
    window(d, buf, prev, (8, 8, 8, 8))
    resets = m.hw_resets
    assert not m.asleep and not m.left_powered
    sent = d.bytes_sent
    fb.fill_rect(8, 8, 8, 8, 0)
    window(d, buf, prev, (8, 8, 8, 8))
    assert m.hw_resets == resets and not m.asleep and not m.left_powered
    assert d.bytes_sent - sent < 400, d.bytes_sent - sent  # the window and a few commands
    assert m.violations == [], m.violations
    d.show(buf)
    assert m.asleep and m.refreshes[-1] == "full"
