# Driver runs that hold the same for every MONO_HLSB e-paper controller (test_epd_ssd1683,
# test_epd_uc8179): each file calls them on its own driver and controller model and adds what
# only its controller shows (the UC8179's refresh areas and drive power: areas=, power=).
# Plain functions with bare asserts: both interpreters.
import framebuf
from epd_rig import allocated, edit, framebuffer, mismatches, scene, window_check

from sunprint.drivers.epd import EPDTimeout


def glass_is_the_buffer(m, buf, w, rows):
    """Native = landscape: the glass rows `rows` hold the MONO_HLSB buffer byte for byte."""
    for y in rows:
        for xb in range(w // 8):
            assert m.shown.get(xb, y) == buf[y * w // 8 + xb], (xb, y)


def white_ones(m, d, w, h):
    """Picture A shown whole: the model's landscape_mono_hlsb() is the MONO_HLSB buffer with
    1 = white (each byte inverted), no violation. (buf, data)"""
    buf = bytearray(d.BUFFER_SIZE)
    scene(framebuffer(buf, w, h, framebuf.MONO_HLSB), w, h)
    d.show(buf)
    data = m.landscape_mono_hlsb()
    assert len(data) == w // 8 * h and m.violations == []
    for i in range(len(data)):
        assert data[i] == buf[i] ^ 0xFF
    return buf, data


def edited_window(m, d, buf, fb, w, h, win, aligned, outside):
    """A full refresh, then picture B through a window partial of win: the window is widened to
    `aligned`, the glass is B inside it and A outside (the block `outside` not sent); every byte
    the driver sent reached the model. The bytes of the full refresh."""
    d.show(buf)
    full_bytes = d.bytes_sent
    edit(fb, win, outside)
    d.show_window(buf, *win)
    assert (d.win_x, d.win_y, d.win_w, d.win_h) == aligned
    assert m.refreshes == ["full", "partial"]
    assert m.violations == []
    assert window_check(m, fb, w, h, aligned, outside) == []
    assert d.bytes_sent == m.bytes_in
    return full_bytes


def window_again(d, buf, fb, win):
    """A second window partial of win, from standby: the bytes it sent."""
    fb.fill_rect(win[0], win[1], 8, 8, 1)
    sent = d.bytes_sent
    d.show_window(buf, *win)
    return d.bytes_sent - sent


def updates_in_a_row(m, d, buf, fb, w, h, areas=False, power=False):
    """Full refreshes, window partials and a whole-panel partial in a row: after each, the
    glass is the picture where the update reached; only a full refresh ends in deep sleep.
    areas: the model logs each refresh's area (m.areas); power: it models the drive power
    (m.powered), off after each update."""
    steps = (None, (0, 0, 8, 1), (w - 8, h - 1, 8, 1), False, (3, h // 2, w - 3, h // 2), True)
    steps += ((w // 2, 0, 9, h),)
    for i, step in enumerate(steps):
        fb.fill_rect(i * 40, i * 30, 50, 40, i & 1)
        if step is None or step is True:
            d.show(buf)
            assert mismatches(m, fb, w, h) == []
        elif step is False:
            d.show(buf, False)
            assert mismatches(m, fb, w, h) == []
        else:
            d.show_window(buf, *step)
            x, y, ww, wh = d.win_x, d.win_y, d.win_w, d.win_h
            if areas:
                assert m.areas[-1] == (x, y, ww, wh)
            assert mismatches(m, fb, w, h, x, y, x + ww, y + wh) == []
        full = step is None or step is True
        assert m.asleep == full and not m.left_powered
        if power:
            assert not m.powered
    assert m.sleeps == 2
    assert m.refreshes == ["full", "partial", "partial", "partial", "partial", "full", "partial"]
    assert m.violations == []


def finish_refused_while_busy(d):
    try:
        d.finish()
        raise AssertionError("finish() while busy")
    except RuntimeError:
        pass


def busy_timeout_leaves_the_panel_asleep(m, d, buf, fb, w, h, win, power=False):
    """BUSY never ends in a window partial, then in a full refresh: each raises EPDTimeout
    (ETIMEDOUT) and leaves the panel in deep sleep, drive power off; the next window, the base
    unknown after the abort, is a full refresh that shows the picture."""
    d.show(buf)
    m.busy_polls = 1 << 30
    for call in (lambda: d.show_window(buf, *win, timeout_ms=30), lambda: d.show(buf, True, 30)):
        try:
            call()
            raise AssertionError("no timeout")
        except EPDTimeout as e:
            assert isinstance(e, OSError) and e.errno == 110
        assert m.asleep and not m.left_powered
        if power:
            assert not m.powered
    m.busy_polls = 3
    d.show_window(buf, *win)
    assert m.refreshes == ["full", "partial", "full", "full"]
    assert mismatches(m, fb, w, h) == []


def times_out(d, buf):
    """show() raises EPDTimeout (BUSY stuck from the start)."""
    try:
        d.show(buf)
        raise AssertionError("no timeout")
    except EPDTimeout:
        pass


def allocates_nothing_per_update(d, buf, w, h, win):
    """Full refreshes, window partials and a whole-panel partial allocate nothing, once the
    driver has run each kind of update."""
    d.show(buf)
    d.show_window(buf, *win)

    def updates():
        d.show(buf)
        d.show_window(buf, *win)
        d.show_window(buf, 0, 0, w, h)
        d.show(buf, False)

    n = allocated(updates)
    assert n is None or n == 0, n
