# SSD1680 window partial refresh (begin_show_window / show_window) against the controller model,
# compared pixel for pixel with the framebuf picture. Plain test_* functions, both interpreters.
import framebuf
from base_frame import track
from epd_rig import NullPin, NullSPI, allocated, edit, framebuffer, mismatches, scene, window_check

from host_tools.sim.chips.ssd1680 import SSD1680Model
from sunprint.drivers.ssd1680 import SSD1680, EPDTimeout

W = 296
H = 128
WIN = (50, 13, 60, 20)  # pages 1..4 once aligned: y 8..39
ALIGNED = (50, 8, 60, 32)
OUTSIDE = (200, 90, 30, 20)


def _rig(busy_polls=3):
    m = SSD1680Model(busy_polls=busy_polls)
    d = SSD1680(m.spi, cs=m.cs, dc=m.dc, rst=m.rst, busy=m.busy)
    d.reset_timeout_ms = 40
    track(d)
    buf = bytearray(d.BUFFER_SIZE)
    fb = framebuffer(buf, W, H, framebuf.MONO_VLSB)
    scene(fb, W, H)
    fb.fill_rect(OUTSIDE[0], OUTSIDE[1], OUTSIDE[2], OUTSIDE[3], 0)
    return m, d, buf, fb


def test_window_alignment():
    m, d, buf, fb = _rig()
    d.show(buf)
    d.begin_show_window(buf, *WIN)
    assert (d.win_x, d.win_y, d.win_w, d.win_h) == ALIGNED
    d.abort()
    d.show(buf)
    d.show_window(buf, 290, -5, 20, 9)  # clipped to the panel, y to whole pages
    assert (d.win_x, d.win_y, d.win_w, d.win_h) == (290, 0, 6, 8)
    for bad in ((0, 0, 0, 5), (300, 0, 5, 5), (10, 128, 5, 5), (-20, 10, 20, 5)):
        try:
            d.begin_show_window(buf, *bad)
            raise AssertionError("empty window accepted: %r" % (bad,))
        except ValueError:
            pass
    assert m.violations == []


def test_window_partial_changes_only_the_window():
    m, d, buf, fb = _rig()
    d.show(buf)
    assert mismatches(m, fb, W, H) == []
    full_bytes = d.bytes_sent
    edit(fb, WIN, OUTSIDE)
    d.show_window(buf, *WIN)
    window_bytes = d.bytes_sent - full_bytes
    assert m.refreshes == ["full", "partial"]
    assert m.violations == []
    assert window_check(m, fb, W, H, ALIGNED, OUTSIDE) == []
    # after the full refresh's deep sleep: wake (init 27), partial setup (0x32 LUT 154, 0x37
    # 11, 0x3C 2), both RAMs restored (2 x (window 13 + command 1 + 4736)); then per partial:
    # power on (3), the window (4 pages x 60 gates) to BW RAM, display (3), the window to RED
    # and BW RAM again
    per_partial = 3 + 3 * (14 + 4 * 60) + 3
    assert window_bytes == 27 + 154 + 11 + 2 + 2 * (14 + W * H // 8) + per_partial, window_bytes
    assert full_bytes == 27 + 2 * (14 + W * H // 8) + 3 + 2, full_bytes
    assert d.bytes_sent == m.bytes_in
    # a partial from standby sends the window three times and a few commands
    fb.fill_rect(WIN[0], WIN[1], 10, 10, 1)
    sent = d.bytes_sent
    d.show_window(buf, *WIN)
    assert d.bytes_sent - sent == per_partial, d.bytes_sent - sent
    # the stale block outside is sent by the next full refresh
    d.show(buf)
    assert mismatches(m, fb, W, H) == []


def test_window_command_sequence():
    m, d, buf, fb = _rig()
    d.show(buf)
    d.show_window(buf, *WIN)  # the wake and partial setup
    m.commands = bytearray()
    d.show_window(buf, *WIN)
    area = [0x44, 0x45, 0x4E, 0x4F]
    tail = area + [0x24, 0x22, 0x20] + area + [0x26] + area + [0x24]
    assert list(m.commands) == [0x22, 0x20] + tail
    assert m.registers[0x44] == bytes((1, 4))  # X bytes = pages 1..4 (source = landscape y)
    assert m.registers[0x45] == bytes((186, 0, 245, 0))  # gates 295-x1 .. 295-x0
    assert m.registers[0x4E] == bytes((1,))
    assert m.registers[0x4F] == bytes((186, 0))
    assert m.updates[-2:] == [0xC0, 0x0F]
    assert m.registers[0x3C] == b"\x80"


def test_windows_in_a_row_keep_the_base():
    m, d, buf, fb = _rig()
    d.show(buf)
    wins = ((0, 0, 40, 16), (256, 112, 40, 16), (100, 60, 1, 1), (10, 100, 286, 28))
    for i, win in enumerate(wins):
        fb.fill_rect(win[0], win[1], win[2], win[3], i & 1)
        fb.text(str(i), win[0], win[1], (i + 1) & 1)
        d.show_window(buf, *win)
        assert not m.asleep and not m.left_powered  # awake between partials, power off
        box = (d.win_x, d.win_y, d.win_w, d.win_h)
        assert mismatches(m, fb, W, H, box[0], box[1], box[0] + box[2], box[1] + box[3]) == []
    assert m.violations == []
    assert m.refreshes == ["full"] + ["partial"] * 4
    d.show(buf, False)  # a whole-screen partial after windows: the base is still right
    assert mismatches(m, fb, W, H) == []
    assert m.violations == []


def test_first_window_is_a_full_refresh():
    m, d, buf, fb = _rig()
    d.show_window(buf, *WIN)
    assert m.refreshes == ["full"]
    assert (d.win_x, d.win_y, d.win_w, d.win_h) == (0, 0, W, H)
    assert mismatches(m, fb, W, H) == []


def test_window_timeout_leaves_the_panel_asleep():
    m, d, buf, fb = _rig()
    d.show(buf)
    m.busy_polls = 1 << 30
    try:
        d.show_window(buf, *WIN, timeout_ms=30)
        raise AssertionError("no timeout")
    except EPDTimeout as e:
        assert e.errno == 110
    assert m.asleep and not m.left_powered
    m.busy_polls = 3
    d.show_window(buf, *WIN)  # base unknown after abort: full
    assert m.refreshes == ["full", "partial", "full"]
    assert mismatches(m, fb, W, H) == []


def test_window_allocates_nothing():
    d = SSD1680(NullSPI(), cs=NullPin(), dc=NullPin(), rst=NullPin(), busy=NullPin())
    buf = bytearray(d.BUFFER_SIZE)
    d.set_base(bytearray(d.BUFFER_SIZE))  # partials after a full refresh wake and restore
    d.show(buf)
    d.show_window(buf, 3, 5, 200, 100)

    def updates():
        d.show(buf)
        d.show_window(buf, 3, 5, 200, 100)
        d.show_window(buf, 0, 0, 1, 1)
        d.show(buf, False)

    n = allocated(updates)
    assert n is None or n == 0, n
