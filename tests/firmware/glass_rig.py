# Shared by tests/firmware/test_glass_*.py (issue 14: the e-paper drivers held against what
# the glass knows). Each check here runs for every panel whose file calls it, on that panel's
# own driver and controller model.
from epd_rig import edit, framebuffer, scene, window_check


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
        if len(self.calls) < 200:  # a timeout spins here for its whole length: keep the start
            self.calls.append((ms, m.rst.value(), m.commands[-1] if m.commands else -1))


def rig(m, driver, w, h, fmt, out, **kw):
    """Driver class `driver` on controller model m, with a recording sleep (Clock) and the app's
    frame as its base; picture A drawn in buf, the block `out` left blank. kw go to the driver.
    (m, d, buf, prev, fb, clock)"""
    clock = Clock(m)
    d = driver(m.spi, cs=m.cs, dc=m.dc, rst=m.rst, busy=m.busy, sleep=clock, **kw)
    d.reset_timeout_ms = 40
    buf = bytearray(d.BUFFER_SIZE)
    prev = bytearray(d.BUFFER_SIZE)
    keep_base(d, prev)
    fb = framebuffer(buf, w, h, fmt)
    scene(fb, w, h)
    fb.fill_rect(out[0], out[1], out[2], out[3], 0)
    return m, d, buf, prev, fb, clock


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


def restored_then_drawn_over(m, d, buf, fb, win, w, h):
    """As sunprint.app.App does: the base is the frame buffer itself (no second frame), and
    restore_base() rewrites the controller's lost RAM from it after the deep sleep of a full
    refresh, before the next picture is drawn over it; the partial then shows that picture,
    with no stale base seen."""
    from epd_rig import window_check

    d.set_base(buf)
    d.show(buf)
    assert m.asleep
    d.restore_base()
    assert not m.asleep and not m.left_powered
    d.restore_base()  # awake with its RAM known: nothing more is sent
    sent = d.bytes_sent
    d.restore_base()
    assert d.bytes_sent == sent
    fb.fill_rect(win[0], win[1], win[2], win[3], 1)  # the base buffer changes
    fb.fill_rect(win[0] + 2, win[1] + 2, win[2] - 4, win[3] - 4, 0)
    d.show_window(buf, win[0], win[1], win[2], win[3])
    assert m.refreshes[-1] == "partial"
    assert m.violations == [], m.violations
    assert window_check(m, fb, w, h, (0, 0, w, h), (0, 0, 0, 0)) == []


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


def edited_window(d, buf, prev, fb, win, out):
    """A full refresh of picture A, then picture B (edit) through a window partial of win."""
    full(d, buf, prev)
    edit(fb, win, out)
    window(d, buf, prev, win)


def window_right(m, d, fb, w, h, out):
    """No violation, and the glass shows fb but for the block `out` outside the last window."""
    assert m.violations == [], m.violations
    assert window_check(m, fb, w, h, (d.win_x, d.win_y, d.win_w, d.win_h), out) == []


def rotated_180(m, d, buf, prev, fb, w, h, block):
    """A driver made with rotation=180 for mounting, on a blank picture: the corner pixel and
    `block` land turned on the glass, in a full refresh and in a window partial of the block."""
    bx, by, bw, bh = block
    fb.fill(0)
    fb.pixel(0, 0, 1)
    fb.fill_rect(bx, by, bw, bh, 1)
    full(d, buf, prev)
    pixel = m.landscape_pixel
    assert pixel(w - 1, h - 1) == 1 and pixel(0, 0) == 0
    assert pixel(w - 1 - bx, h - 1 - by) == 1
    fb.fill_rect(bx, by, bw, bh, 0)
    window(d, buf, prev, block)
    assert pixel(w - 1 - bx, h - 1 - by) == 0 and pixel(w - 1, h - 1) == 1
    assert m.violations == []


def settles_after_software_reset(m, d, buf, prev, clock):
    """GxEPD2 _InitDisplay: "delay(10); // 10ms according to specs" after 0x12. With BUSY never
    seen high, the wait is the driver's own."""
    m.short_busy_polls = 0
    full(d, buf, prev)
    after = [ms for ms, _, cmd in clock.calls if cmd == 0x12]
    assert after and after[0] >= 10, clock.calls


def reset_pulse(d, clock):
    """The first three sleeps of a hardware reset: (ms, RST level, last command) each."""
    d.reset()
    return clock.calls[:3]
