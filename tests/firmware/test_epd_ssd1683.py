# SSD1683 driver (Waveshare 4.2" V2, 400 x 300) against its controller model
# (host_tools/sim/chips/ssd1683.py), compared pixel for pixel with the framebuf picture; and the model
# on its own. Plain test_* functions with bare asserts: runs under pytest and inside MicroPython.
import epd_steps as steps
import framebuf
from base_frame import track
from epd_rig import MICROPYTHON, NullPin, NullSPI, framebuffer, mismatches, scene
from ssd1680_pins import send as _send
from ssd1680_pins import wait

from host_tools.sim.chips.ssd1683 import SSD1683Model
from sunprint.drivers.ssd1683 import BUFFER_FORMAT, SSD1683

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
    steps.glass_is_the_buffer(m, buf, W, (0, 1, 150, H - 1))
    assert m.pixel(0, 0) == 1 and m.pixel(W - 1, H - 1) == 1 and m.pixel(1, 2) == 0
    assert m.asleep and m.sleep_mode == 1 and not m.left_powered
    # init 27, two RAMs (window 13 + command 1 + picture each), 0x22 0x20 3, deep sleep 2
    assert d.bytes_sent == m.bytes_in == 27 + 2 * (14 + W * H // 8) + 3 + 2


def test_landscape_mono_hlsb_is_white_ones():
    # a small panel: the picture, the model's RAMs and a copy do not all fit 110 KB at 400 x 300
    m = SSD1683Model(width=96, height=40)
    d = SSD1683(m.spi, cs=m.cs, dc=m.dc, rst=m.rst, busy=m.busy, width=96, height=40)
    buf, data = steps.white_ones(m, d, 96, 40)
    try:
        from PIL import Image
    except ImportError:
        return
    img = Image.frombytes("1", (96, 40), bytes(data))
    assert img.getpixel((0, 0)) == 0 and img.getpixel((3, 20)) == 255 and buf[20 * 12] & 0x10 == 0


def test_window_partial_changes_only_the_window():
    m, d, buf, fb = _rig()
    full_bytes = steps.edited_window(m, d, buf, fb, W, H, WIN, ALIGNED, OUTSIDE)
    # from standby: the window (10 bytes x 24 rows) to BW RAM, 0x22 0x20, then to RED and BW
    window_bytes = steps.window_again(d, buf, fb, WIN)
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
    steps.updates_in_a_row(m, d, buf, fb, W, H)


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
    steps.finish_refused_while_busy(d)
    polls = 1
    while d.busy():
        polls += 1
    assert polls == 5
    d.finish()
    assert not m.asleep and not m.left_powered and m.violations == []


def test_busy_timeout_leaves_the_panel_asleep():
    m, d, buf, fb = _rig()
    steps.busy_timeout_leaves_the_panel_asleep(m, d, buf, fb, W, H, WIN)


def test_busy_stuck_from_the_start():
    m, d, buf, fb = _rig(stuck_busy=True)
    steps.times_out(d, buf)
    assert m.refreshes == [] and m.asleep


def _wake(m):
    m.rst.value(0)
    m.rst.value(1)
    wait(m)


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
        wait(m)
    assert m.refreshes == ["full", "full"] and m.violations == []
    for _ in range(2):  # successive OTP partials: the old picture follows (otp_pingpong)
        _send(m, 0x24, b"\x0f")
        _send(m, 0x22, b"\xff")
        _send(m, 0x20)
        wait(m)
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

    def area(mode, x0, x1, y0, y1):
        # 0x11 data entry mode, 0x44 / 0x45 the window (start, end), counters at its start
        _send(m, 0x11, bytes((mode,)))
        _send(m, 0x44, bytes((x0, x1)))
        _send(m, 0x45, bytes((y0, 0, y1, 0)))
        _send(m, 0x4E, bytes((x0,)))
        _send(m, 0x4F, bytes((y0, 0)))

    # X first, increments, window X 2..3, Y 5..7 (6 bytes): 8 bytes wrap to the start.
    area(0x03, 2, 3, 5, 7)
    _send(m, 0x24, b"\x01\x02\x03\x04\x05\x06\x07\x08")
    r = m.ram_bw.get
    assert (r(2, 5), r(3, 5), r(2, 6), r(3, 7)) == (7, 8, 3, 6)
    assert (m.x, m.y) == (2, 6)
    # Y first, both decrement, window X 6..5, Y 9..8 (4 bytes)
    area(0x04, 6, 5, 9, 8)
    _send(m, 0x26, b"\x11\x12\x13\x14\x15")
    r = m.ram_red.get
    assert (r(6, 9), r(6, 8), r(5, 9), r(5, 8)) == (0x15, 0x12, 0x13, 0x14)
    assert m.violations == []


def test_driver_allocates_nothing_per_update():
    d = SSD1683(NullSPI(), cs=NullPin(), dc=NullPin(), rst=NullPin(), busy=NullPin())
    buf = bytearray(d.BUFFER_SIZE)
    d.set_base(bytearray(d.BUFFER_SIZE))  # partials after a full refresh wake and restore
    steps.allocates_nothing_per_update(d, buf, W, H, WIN)
