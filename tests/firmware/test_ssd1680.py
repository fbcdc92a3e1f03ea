# SSD1680 driver against the controller model (host_tools/sim/chips/ssd1680.py), and the model on its
# own. Plain test_* functions with bare asserts: runs under pytest and inside MicroPython.
from alloc import allocated, has_counter
from base_frame import track
from null_bus import NullPin as _NullPin
from null_bus import NullSPI as _NullSPI
from ssd1680_pins import refresh as _refresh
from ssd1680_pins import send as _send
from ssd1680_pins import wake as _wake

from host_tools.sim.chips.ssd1680 import SSD1680Model
from sunprint.drivers.ssd1680 import BUFFER_FORMAT, SSD1680, EPDTimeout

W = 296
H = 128
SIZE = W * H // 8


def _rig(busy_polls=3, stuck_busy=False):
    m = SSD1680Model(busy_polls=busy_polls, stuck_busy=stuck_busy)
    d = SSD1680(m.spi, cs=m.cs, dc=m.dc, rst=m.rst, busy=m.busy)
    d.reset_timeout_ms = 40
    track(d)  # the base frame the app keeps, for partials after deep sleep
    return m, d


def _set(buf, x, y):
    # framebuf MONO_VLSB, built by hand: byte page*W + x, bit y%8, 1 = black
    buf[(y >> 3) * W + x] |= 1 << (y & 7)


def _clear(buf, x, y):
    buf[(y >> 3) * W + x] &= ~(1 << (y & 7))


def _get(buf, x, y):
    return (buf[(y >> 3) * W + x] >> (y & 7)) & 1


def _pattern():
    buf = bytearray(SIZE)
    for x, y in ((0, 0), (W - 1, 0), (0, H - 1), (W - 1, H - 1)):
        _set(buf, x, y)
    for x in range(10, 101):  # horizontal line y = 64
        _set(buf, x, 64)
    for y in range(5, 121):  # vertical line x = 200
        _set(buf, 200, y)
    for x in range(30, 40):  # filled rectangle 10 x 10 at (30, 20)
        for y in range(20, 30):
            _set(buf, x, y)
    return buf


def _popcount(data):
    n = 0
    for b in data:
        while b:
            b &= b - 1
            n += 1
    return n


def _noise_native():
    # A native picture (16 bytes x 296 gates, 1 = black) with every byte different-ish.
    ref = bytearray(16 * 296)
    v = 0x5A
    for i in range(len(ref)):
        v = (v * 109 + 89) & 0xFF
        ref[i] = v
    return ref


def test_buffer_constants():
    m, d = _rig()
    assert BUFFER_FORMAT == 0
    assert d.BUFFER_FORMAT == 0
    assert (d.width, d.height, d.BUFFER_SIZE) == (W, H, SIZE)
    try:
        import framebuf
    except ImportError:
        return
    assert framebuf.MONO_VLSB == BUFFER_FORMAT


def test_round_trip_pattern():
    m, d = _rig()
    buf = _pattern()
    d.show(buf)
    assert m.refreshes == ["full"]
    assert m.violations == []
    assert m.unknown == []
    # landscape corners land on the native corners: (x, y) -> (sx = y, gy = 295 - x)
    assert m.pixel(127, 0) == 1
    assert m.pixel(127, 295) == 1
    assert m.pixel(0, 0) == 1
    assert m.pixel(0, 295) == 1
    assert m.pixel(126, 0) == 0 and m.pixel(127, 1) == 0
    for x in range(W):
        for y in range(H):
            assert m.landscape_pixel(x, y) == _get(buf, x, y), (x, y)
    assert m.landscape_pixel(9, 64) == 0 and m.landscape_pixel(101, 64) == 0
    assert m.landscape_pixel(200, 4) == 0 and m.landscape_pixel(200, 121) == 0
    assert _popcount(m.shown) == 4 + 91 + 116 + 100


def test_round_trip_framebuf():
    try:
        import framebuf
    except ImportError:
        return  # CPython without a framebuf: the hand-built buffers above cover the format
    m, d = _rig()
    buf = bytearray(d.BUFFER_SIZE)
    fb = framebuf.FrameBuffer(buf, W, H, framebuf.MONO_VLSB)
    fb.fill(0)
    fb.rect(0, 0, W, H, 1)
    fb.line(0, 0, W - 1, H - 1, 1)
    fb.fill_rect(100, 40, 20, 30, 1)
    fb.text("CO2 -1.2 t", 150, 10, 1)
    d.show(buf)
    assert m.violations == []
    for y in range(H):
        for x in range(W):
            assert m.landscape_pixel(x, y) == fb.pixel(x, y), (x, y)


def test_landscape_mono_hlsb_layout():
    m, d = _rig()
    buf = _pattern()
    d.show(buf)
    data = m.landscape_mono_hlsb()
    assert len(data) == 37 * H
    for y in range(H):
        for x in range(W):
            white = (data[y * 37 + (x >> 3)] >> (7 - (x & 7))) & 1
            assert white == 1 - _get(buf, x, y), (x, y)
    try:
        from PIL import Image
    except ImportError:
        return
    img = Image.frombytes("1", (W, H), data)
    assert img.getpixel((0, 0)) == 0  # black
    assert img.getpixel((35, 25)) == 0
    assert img.getpixel((1, 1)) == 255  # white
    assert img.getpixel((W - 1, H - 1)) == 0


def test_command_sequence():
    m, d = _rig()
    buf = _pattern()
    d.show(buf)
    init = [0x12, 0x01, 0x11, 0x44, 0x45, 0x3C, 0x21, 0x18, 0x4E, 0x4F]
    area = [0x44, 0x45, 0x4E, 0x4F]
    assert list(m.commands) == init + area + [0x24] + area + [0x26, 0x22, 0x20, 0x10]
    assert m.registers[0x01] == b"\x27\x01\x00"
    assert m.registers[0x11] == b"\x03"
    assert m.registers[0x44] == b"\x00\x0f"
    assert m.registers[0x45] == b"\x00\x00\x27\x01"
    assert m.registers[0x21] == b"\x00\x80"
    assert m.registers[0x22] == b"\xf7"
    assert m.registers[0x10] == b"\x01"
    # a partial after the full refresh's deep sleep: wake, partial setup, RAMs restored from
    # the base frame, the picture, display mode 2; then both RAMs again; no deep sleep
    m.commands = bytearray()
    d.show(buf, False)
    setup = [0x32, 0x37, 0x3C, 0x22, 0x20]
    restore = area + [0x26] + area + [0x24]
    tail = area + [0x24, 0x22, 0x20] + area + [0x26] + area + [0x24]
    assert list(m.commands) == init + setup + restore + tail
    assert m.updates[-2:] == [0xC0, 0x0F]
    assert m.registers[0x3C] == b"\x80"
    assert m.hw_resets == 2 and not m.asleep
    # the next partial from standby: power on, the picture, display mode 2, both RAMs again
    m.commands = bytearray()
    d.show(buf, False)
    assert list(m.commands) == [0x22, 0x20] + tail
    assert m.hw_resets == 2
    assert m.violations == []


def test_deep_sleep_after_a_full_awake_after_a_partial():
    m, d = _rig()
    buf = _pattern()
    for full in (True, False, False, True):
        if full:
            _set(buf, 150, 100)
        else:
            _clear(buf, 150, 100)
        d.show(buf, full)
        assert m.asleep == full
        assert not m.left_powered  # the drive power is off after every refresh
        assert m.landscape_pixel(150, 100) == (1 if full else 0)
    assert m.refreshes == ["full", "partial", "partial", "full"]
    assert m.sleeps == 2 and m.sleep_mode == 1
    assert m.violations == []


def test_partial_refreshes_keep_a_correct_base():
    # The model flags a partial refresh whose RED RAM is not the picture on the panel, so this
    # fails if the driver stops rewriting 0x26 after a partial.
    m, d = _rig()
    buf = _pattern()
    d.show(buf)
    _set(buf, 250, 50)
    d.show(buf, False)
    assert m.landscape_pixel(250, 50) == 1
    _clear(buf, 250, 50)
    _set(buf, 251, 51)
    d.show(buf, False)
    assert m.refreshes == ["full", "partial", "partial"]
    assert m.violations == []
    assert m.landscape_pixel(250, 50) == 0 and m.landscape_pixel(251, 51) == 1


def test_first_update_is_full():
    m, d = _rig()
    d.show(_pattern(), False)
    assert m.refreshes == ["full"]
    assert m.violations == []


def test_non_blocking_shape():
    m, d = _rig(busy_polls=5)
    buf = _pattern()
    d.begin_show(buf, True)
    assert m.refreshes == ["full"]
    assert m.updates == [0xF7]  # power on, OTP full waveform, power off: one activation
    try:
        d.begin_show(buf, True)
        raise AssertionError("second begin_show accepted")
    except RuntimeError:
        pass
    polls = 0
    while d.busy():
        polls += 1
    assert polls == 5
    d.finish()
    assert m.asleep and not m.left_powered
    assert m.violations == []


def test_finish_refuses_while_busy():
    m, d = _rig(busy_polls=5)
    d.begin_show(_pattern(), True)
    try:
        d.finish()
        raise AssertionError("finish() while busy")
    except RuntimeError:
        pass
    d.wait_idle(1000)
    d.finish()
    assert m.violations == []


def test_busy_timeout_during_refresh():
    m, d = _rig()
    buf = _pattern()
    d.show(buf)
    m.busy_polls = 1 << 30  # the refresh never ends
    try:
        d.show(buf, False, 30)
        raise AssertionError("no timeout")
    except EPDTimeout as e:
        assert isinstance(e, OSError)
        assert e.errno == 110
    assert m.asleep  # the driver reset the panel and put it to sleep
    assert not m.left_powered
    m.busy_polls = 3
    d.show(buf, False)  # the base is unknown after an abort: a full refresh
    assert m.refreshes == ["full", "partial", "full"]
    assert m.asleep


def test_busy_stuck_from_the_start():
    m, d = _rig(stuck_busy=True)
    try:
        d.show(_pattern())
        raise AssertionError("no timeout")
    except EPDTimeout:
        pass
    assert m.refreshes == []
    assert m.asleep  # abort() sent deep sleep even with BUSY stuck


def test_busy_stuck_after_begin_show():
    m, d = _rig()
    d.begin_show(_pattern(), True)
    m.stuck_busy = True
    try:
        d.wait_idle(20)
        raise AssertionError("no timeout")
    except EPDTimeout:
        pass
    d.abort()
    m.stuck_busy = False
    assert m.asleep and not m.left_powered


def test_reset_recovers_from_deep_sleep():
    m, d = _rig()
    buf = _pattern()
    d.show(buf)
    assert m.asleep
    n = len(m.commands)
    ram = m.ram_bw[15][0:2]
    _send(m, 0x4E, b"\x0f")
    _send(m, 0x24, b"\x00\x00")  # ignored: only a hardware reset wakes the chip
    assert len(m.commands) == n and m.ignored == 5
    assert m.ram_bw[15][0:2] == ram
    _send(m, 0x12)  # a software reset does not wake it either
    assert m.asleep and m.sw_resets == 1
    _set(buf, 5, 5)
    d.show(buf, False)  # RAM lost in deep sleep: the driver restores it from the base frame
    assert not m.asleep and m.hw_resets == 2
    assert m.refreshes == ["full", "partial"]
    assert m.violations == []
    assert m.landscape_pixel(5, 5) == 1


def test_model_flags_bytes_while_busy_and_unknown_partial():
    m = SSD1680Model(otp_partial=True)
    _wake(m)
    _send(m, 0x22, b"\xff")
    _send(m, 0x20)
    _send(m, 0x10, b"\x01")  # no wait for BUSY
    assert m.refreshes == ["partial"]
    assert len(m.violations) == 2
    assert "before any full refresh" in m.violations[0]
    assert "while BUSY" in m.violations[1]


def test_model_unknown_commands_and_cs():
    m = SSD1680Model()
    _wake(m)
    _send(m, 0xAB, b"\x01\x02")
    _send(m, 0x4F, b"\x05\x00")
    assert m.unknown == [0xAB]
    assert m.y == 5
    _send(m, 0x24, b"\x11\x22")
    assert (m.ram_bw[0][5], m.ram_bw[1][5]) == (0x11, 0x22)
    _send(m, 0x4E, b"\x00")
    m.dc.value(0)
    m.spi.write(b"\x24")  # CS high: not clocked in
    m.dc.value(1)
    m.spi.write(b"\x33\x44")
    assert (m.ram_bw[0][5], m.ram_bw[1][5]) == (0x11, 0x22)
    _send(m, 0x24, b"\x55")
    assert (m.ram_bw[0][5], m.ram_bw[1][5]) == (0x55, 0x22)


def _window(mode, x0, x1, y0, y1):
    # (start, end) per axis for a data entry mode: a decrementing axis starts at its high end.
    xs, xe = (x0, x1) if mode & 1 else (x1, x0)
    ys, ye = (y0, y1) if mode & 2 else (y1, y0)
    return xs, xe, ys, ye


def _order(mode, xs, xe, ys, ye):
    # The RAM addresses in the order the datasheet's counter visits them.
    xr = range(xs, xe + 1) if mode & 1 else range(xs, xe - 1, -1)
    yr = range(ys, ye + 1) if mode & 2 else range(ys, ye - 1, -1)
    if mode & 4:
        for x in xr:
            for y in yr:
                yield x, y
    else:
        for y in yr:
            for x in xr:
                yield x, y


def _setup_window(m, mode, xs, xe, ys, ye):
    _send(m, 0x11, bytes((mode,)))
    _send(m, 0x44, bytes((xs, xe)))
    _send(m, 0x45, bytes((ys & 0xFF, ys >> 8, ye & 0xFF, ye >> 8)))
    _send(m, 0x4E, bytes((xs,)))
    _send(m, 0x4F, bytes((ys & 0xFF, ys >> 8)))


def test_model_all_data_entry_modes_full_screen():
    ref = _noise_native()
    stream = bytearray(len(ref))
    sizes = (1, 1, 5, 13, 296, 700, 3)
    m = SSD1680Model()
    for mode in range(8):
        _wake(m)
        inverse = mode & 1
        _send(m, 0x21, b"\x08\x80" if inverse else b"\x00\x80")
        xs, xe, ys, ye = _window(mode, 0, 15, 0, 295)
        _setup_window(m, mode, xs, xe, ys, ye)
        i = 0
        for x, y in _order(mode, xs, xe, ys, ye):
            v = ref[y * 16 + x]
            stream[i] = v if inverse else v ^ 0xFF  # RAM 1 = white unless inverted
            i += 1
        m.dc.value(0)
        m.cs.value(0)
        m.spi.write(b"\x24")
        m.dc.value(1)
        mv = memoryview(stream)
        i = 0
        k = 0
        while i < len(stream):
            n = sizes[k % len(sizes)]
            m.spi.write(mv[i : i + n])
            i += n
            k += 1
        m.cs.value(1)
        _refresh(m)
        _send(m, 0x10, b"\x01")
        assert m.shown == ref, mode
        assert (m.x, m.y) == (xs, ys), mode  # both counters wrapped to the window start
        assert m.violations == [], mode
    assert m.refreshes == ["full"] * 8


def test_model_all_data_entry_modes_byte_by_byte_window():
    ref = _noise_native()
    m = SSD1680Model()
    one = bytearray(1)
    for mode in range(8):
        _wake(m)
        _send(m, 0x21, b"\x08\x80")
        _setup_window(m, 3, 0, 15, 0, 295)
        zeros = bytes(296)
        for _ in range(16):
            _send(m, 0x24, zeros)  # white background
        xs, xe, ys, ye = _window(mode, 3, 8, 100, 139)
        _setup_window(m, mode, xs, xe, ys, ye)
        m.dc.value(0)
        m.cs.value(0)
        m.spi.write(b"\x24")
        m.cs.value(1)
        for x, y in _order(mode, xs, xe, ys, ye):
            one[0] = ref[y * 16 + x]
            m.dc.value(1)
            m.cs.value(0)
            m.spi.write(one)
            m.cs.value(1)
        _refresh(m)
        _send(m, 0x10, b"\x01")
        for gy in range(296):
            for j in range(16):
                inside = 3 <= j <= 8 and 100 <= gy <= 139
                want = ref[gy * 16 + j] if inside else 0
                assert m.shown[gy * 16 + j] == want, (mode, j, gy)
    assert m.violations == []


def test_model_counter_wraps_within_window():
    m = SSD1680Model()
    _wake(m)
    # X first, increments: window X 2..3, Y 5..7 holds 6 bytes; 8 bytes wrap to the start.
    _setup_window(m, 0x03, 2, 3, 5, 7)
    _send(m, 0x24, b"\x01\x02\x03\x04\x05\x06\x07\x08")
    r = m.ram_bw
    assert (r[2][5], r[3][5], r[2][6], r[3][7]) == (7, 8, 3, 6)
    assert (m.x, m.y) == (2, 6)
    # Y first, both decrement: window X 9..8, Y 20..19 holds 4 bytes.
    _setup_window(m, 0x04, 9, 8, 20, 19)
    _send(m, 0x26, b"\x11\x12\x13\x14\x15")
    r = m.ram_red
    assert (r[9][20], r[9][19], r[8][20], r[8][19]) == (0x15, 0x12, 0x13, 0x14)
    assert (m.x, m.y) == (9, 19)


def test_driver_allocates_nothing_per_frame():
    d = SSD1680(_NullSPI(), cs=_NullPin(), dc=_NullPin(), rst=_NullPin(), busy=_NullPin())
    buf = bytearray(d.BUFFER_SIZE)
    d.show(buf)
    d.show(buf, False)
    if not has_counter():
        return  # CPython: no allocation counter

    def step():
        d.show(buf)
        d.show(buf, False)

    used = allocated(step)
    assert used == 0, used
