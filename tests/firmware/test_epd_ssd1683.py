# SSD1683 driver (Waveshare 4.2" V2, 400 x 300) against its controller model
# (host_tools/sim/chips/ssd1683.py), compared pixel for pixel with the framebuf picture; and the model
# on its own. Plain test_* functions with bare asserts: runs under pytest and inside MicroPython.
import framebuf
from base_frame import track
from epd_rig import (
    MICROPYTHON,
    NullPin,
    NullSPI,
    allocated,
    edit,
    framebuffer,
    mismatches,
    scene,
    window_check,
)

from host_tools.sim.chips.ssd1683 import SSD1683Model
from sunprint.drivers.ssd1683 import BUFFER_FORMAT, SSD1683, EPDTimeout

W = 240 if MICROPYTHON else 400  # see epd_rig.MICROPYTHON
H = 300
WIN = (101, 40, 70, 24)  # x widened to bytes: 96..175
ALIGNED = (96, 40, 80, 24)
OUTSIDE = (W - 60, 200, 40, 30)


def _rig(busy_polls=3, stuck_busy=False):
    buf = bytearray(W * H // 8)  # first: the one large block (the model keeps its RAM in bands)
    m = SSD1683Model(W, H, busy_polls=busy_polls, stuck_busy=stuck_busy)
    d = SSD1683(m.spi, cs=m.cs, dc=m.dc, rst=m.rst, busy=m.busy, width=W, height=H)
    d.reset_timeout_ms = 40
    track(d)
    fb = framebuffer(buf, W, H, framebuf.MONO_HLSB)
    scene(fb, W, H)
    fb.fill_rect(OUTSIDE[0], OUTSIDE[1], OUTSIDE[2], OUTSIDE[3], 0)
    return m, d, buf, fb


def test_buffer_constants():
    m, d, buf, fb = _rig()
    assert BUFFER_FORMAT == 3 == framebuf.MONO_HLSB
    assert d.BUFFER_FORMAT == BUFFER_FORMAT
    assert (d.width, d.height, d.BUFFER_SIZE) == (W, H, W * H // 8)
    assert d.BUSY_LEVEL == 1


def test_full_refresh_matches_framebuf():
    m, d, buf, fb = _rig()
    d.show(buf)
    assert m.refreshes == ["full"]
    assert m.violations == [] and m.unknown == []
    assert mismatches(m, fb, W, H) == []
    for y in (0, 1, 150, H - 1):  # native = landscape: the glass is the MONO_HLSB buffer
        for xb in range(W // 8):
            assert m.shown.get(xb, y) == buf[y * W // 8 + xb], (xb, y)
    assert m.pixel(0, 0) == 1 and m.pixel(W - 1, H - 1) == 1 and m.pixel(1, 2) == 0
    assert m.asleep and m.sleep_mode == 1 and not m.left_powered
    # init 27, two RAMs (window 13 + command 1 + picture each), 0x22 0x20 3, deep sleep 2
    assert d.bytes_sent == m.bytes_in == 27 + 2 * (14 + W * H // 8) + 3 + 2


def test_landscape_mono_hlsb_is_white_ones():
    # a small panel: the picture, the model's RAMs and a copy do not all fit 110 KB at 400 x 300
    m = SSD1683Model(width=96, height=40)
    d = SSD1683(m.spi, cs=m.cs, dc=m.dc, rst=m.rst, busy=m.busy, width=96, height=40)
    buf = bytearray(d.BUFFER_SIZE)
    scene(framebuffer(buf, 96, 40, framebuf.MONO_HLSB), 96, 40)
    d.show(buf)
    data = m.landscape_mono_hlsb()
    assert len(data) == 12 * 40 and m.violations == []
    for i in range(len(data)):
        assert data[i] == buf[i] ^ 0xFF
    try:
        from PIL import Image
    except ImportError:
        return
    img = Image.frombytes("1", (96, 40), bytes(data))
    assert img.getpixel((0, 0)) == 0 and img.getpixel((3, 20)) == 255 and buf[20 * 12] & 0x10 == 0


def test_window_partial_changes_only_the_window():
    m, d, buf, fb = _rig()
    d.show(buf)
    full_bytes = d.bytes_sent
    edit(fb, WIN, OUTSIDE)
    d.show_window(buf, *WIN)
    assert (d.win_x, d.win_y, d.win_w, d.win_h) == ALIGNED
    assert m.refreshes == ["full", "partial"]
    assert m.violations == []
    assert window_check(m, fb, W, H, ALIGNED, OUTSIDE) == []
    assert d.bytes_sent == m.bytes_in
    # from standby: the window (10 bytes x 24 rows) to BW RAM, 0x22 0x20, then to RED and BW
    fb.fill_rect(WIN[0], WIN[1], 8, 8, 1)
    sent = d.bytes_sent
    d.show_window(buf, *WIN)
    window_bytes = d.bytes_sent - sent
    assert window_bytes == 3 * (14 + 10 * 24) + 3, window_bytes
    assert window_bytes * 20 < full_bytes
    assert m.violations == []


def test_command_sequences():
    m, d, buf, fb = _rig()
    d.show(buf)
    init = [0x12, 0x01, 0x11, 0x44, 0x45, 0x3C, 0x18, 0x21, 0x4E, 0x4F]
    area = [0x44, 0x45, 0x4E, 0x4F]
    assert m.commands == bytes(init + area + [0x24] + area + [0x26, 0x22, 0x20, 0x10])
    assert m.registers[0x01] == b"\x2b\x01\x00"
    assert m.registers[0x11] == b"\x03"
    assert m.registers[0x44] == bytes((0, W // 8 - 1))
    assert m.registers[0x45] == b"\x00\x00\x2b\x01"
    assert m.registers[0x21] == b"\x40\x00"  # RED bypassed as 0, BW normal (1 = white)
    assert m.registers[0x22] == b"\xf7"
    assert m.registers[0x10] == b"\x01"
    # a window after the full refresh's deep sleep: wake, partial mode, both RAMs restored,
    # the window, display mode 2 from OTP; then the window to both RAMs; no deep sleep
    m.commands = bytearray()
    d.show_window(buf, *WIN)
    mode = [0x3C, 0x21]
    restore = area + [0x26] + area + [0x24]
    tail = area + [0x24, 0x22, 0x20] + area + [0x26] + area + [0x24]
    assert m.commands == bytes(init + mode + restore + tail)
    assert m.registers[0x21] == b"\x00\x00"
    assert m.registers[0x3C] == b"\x80"
    assert m.registers[0x44] == bytes((12, 21))
    assert m.registers[0x45] == bytes((40, 0, 63, 0))
    assert m.registers[0x22] == b"\xff"
    m.commands = bytearray()
    d.show(buf, False)  # from standby: just the picture
    assert m.commands == bytes(tail)


def test_updates_in_a_row_keep_the_base():
    m, d, buf, fb = _rig()
    steps = (None, (0, 0, 8, 1), (W - 8, H - 1, 8, 1), False, (3, H // 2, W - 3, H // 2), True)
    steps += ((W // 2, 0, 9, H),)
    for i, step in enumerate(steps):
        fb.fill_rect(i * 40, i * 30, 50, 40, i & 1)
        if step is None or step is True:
            d.show(buf)
            assert mismatches(m, fb, W, H) == []
        elif step is False:
            d.show(buf, False)
            assert mismatches(m, fb, W, H) == []
        else:
            d.show_window(buf, *step)
            x, y, w, h = d.win_x, d.win_y, d.win_w, d.win_h
            assert mismatches(m, fb, W, H, x, y, x + w, y + h) == []
        full = step is None or step is True
        assert m.asleep == full and not m.left_powered
    assert m.sleeps == 2
    assert m.refreshes == ["full", "partial", "partial", "partial", "partial", "full", "partial"]
    assert m.violations == []


def test_first_window_is_a_full_refresh():
    m, d, buf, fb = _rig()
    d.show_window(buf, *WIN)
    assert m.refreshes == ["full"]
    assert mismatches(m, fb, W, H) == []


def test_non_blocking_shape():
    m, d, buf, fb = _rig(busy_polls=5)
    d.show(buf)
    d.begin_show_window(buf, *WIN)
    assert m.updates[-1] == 0xFF  # OTP partial waveform, power off at the end
    try:
        d.finish()
        raise AssertionError("finish() while busy")
    except RuntimeError:
        pass
    polls = 1
    while d.busy():
        polls += 1
    assert polls == 5
    d.finish()
    assert not m.asleep and not m.left_powered and m.violations == []


def test_busy_timeout_leaves_the_panel_asleep():
    m, d, buf, fb = _rig()
    d.show(buf)
    m.busy_polls = 1 << 30
    for call in (lambda: d.show_window(buf, *WIN, timeout_ms=30), lambda: d.show(buf, True, 30)):
        try:
            call()
            raise AssertionError("no timeout")
        except EPDTimeout as e:
            assert isinstance(e, OSError) and e.errno == 110
        assert m.asleep and not m.left_powered
    m.busy_polls = 3
    d.show_window(buf, *WIN)  # base unknown after abort: a full refresh
    assert m.refreshes == ["full", "partial", "full", "full"]
    assert mismatches(m, fb, W, H) == []


def test_busy_stuck_from_the_start():
    m, d, buf, fb = _rig(stuck_busy=True)
    try:
        d.show(buf)
        raise AssertionError("no timeout")
    except EPDTimeout:
        pass
    assert m.refreshes == [] and m.asleep


def _send(m, cmd, data=b""):
    m.dc.value(0)
    m.cs.value(0)
    m.spi.write(bytes((cmd,)))
    if data:
        m.dc.value(1)
        m.spi.write(data)
    m.cs.value(1)


def _wake(m):
    m.rst.value(0)
    m.rst.value(1)
    while m.busy.value():
        pass


def test_model_flags_stale_base_needs_power_not_deep_sleep():
    m = SSD1683Model(width=64, height=16, keep_ram=True)
    d = SSD1683(m.spi, cs=m.cs, dc=m.dc, rst=m.rst, busy=m.busy, width=64, height=16)
    buf = bytearray(d.BUFFER_SIZE)
    fb = framebuffer(buf, 64, 16, framebuf.MONO_HLSB)
    scene(fb, 64, 16)
    d.show(buf)
    _wake(m)
    _send(m, 0x10, b"\x03")  # deep sleep mode 2 loses RAM even with keep_ram
    assert m.asleep and m.sleep_mode == 3
    fb.fill_rect(0, 0, 8, 8, 1)
    d.show_window(buf, 0, 0, 8, 8)  # no base frame: a full refresh
    assert m.refreshes == ["full", "full"] and m.violations == []
    m = SSD1683Model(width=64, height=16)
    _wake(m)
    for _ in range(2):  # two refreshes, no deep sleep in between: fine on the glass
        _send(m, 0x22, b"\xf7")
        _send(m, 0x20)
        while m.busy.value():
            pass
    assert m.refreshes == ["full", "full"] and m.violations == []
    for _ in range(2):  # successive OTP partials: the old picture follows (otp_pingpong)
        _send(m, 0x24, b"\x0f")
        _send(m, 0x22, b"\xff")
        _send(m, 0x20)
        while m.busy.value():
            pass
    assert m.violations == []
    _send(m, 0x10, b"\x01")
    _wake(m)
    _send(m, 0x22, b"\xff")  # over the RAM lost in deep sleep
    _send(m, 0x20)
    _send(m, 0x10, b"\x01")  # no wait for BUSY
    assert "stale base" in m.violations[0], m.violations
    assert "while BUSY" in m.violations[-1]


def test_model_counter_modes():
    m = SSD1683Model(width=64, height=16)
    _wake(m)

    def send(cmd, data=b""):
        _send(m, cmd, data)

    # X first, increments, window X 2..3, Y 5..7 (6 bytes): 8 bytes wrap to the start.
    send(0x11, b"\x03")
    send(0x44, b"\x02\x03")
    send(0x45, b"\x05\x00\x07\x00")
    send(0x4E, b"\x02")
    send(0x4F, b"\x05\x00")
    send(0x24, b"\x01\x02\x03\x04\x05\x06\x07\x08")
    r = m.ram_bw.get
    assert (r(2, 5), r(3, 5), r(2, 6), r(3, 7)) == (7, 8, 3, 6)
    assert (m.x, m.y) == (2, 6)
    # Y first, both decrement, window X 6..5, Y 9..8 (4 bytes)
    send(0x11, b"\x04")
    send(0x44, b"\x06\x05")
    send(0x45, b"\x09\x00\x08\x00")
    send(0x4E, b"\x06")
    send(0x4F, b"\x09\x00")
    send(0x26, b"\x11\x12\x13\x14\x15")
    r = m.ram_red.get
    assert (r(6, 9), r(6, 8), r(5, 9), r(5, 8)) == (0x15, 0x12, 0x13, 0x14)
    assert m.violations == []


def test_driver_allocates_nothing_per_update():
    d = SSD1683(NullSPI(), cs=NullPin(), dc=NullPin(), rst=NullPin(), busy=NullPin())
    buf = bytearray(d.BUFFER_SIZE)
    d.set_base(bytearray(d.BUFFER_SIZE))  # partials after a full refresh wake and restore
    d.show(buf)
    d.show_window(buf, *WIN)

    def updates():
        d.show(buf)
        d.show_window(buf, *WIN)
        d.show_window(buf, 0, 0, W, H)
        d.show(buf, False)

    n = allocated(updates)
    assert n is None or n == 0, n
