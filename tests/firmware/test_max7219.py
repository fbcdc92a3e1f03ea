# MAX7219 chain driver against the chain model (host_tools/sim/chips/max7219.py), the scroller, and
# the model on its own. Plain test_* functions with bare asserts: runs under pytest and inside
# MicroPython (framebuf is the real module there, the byte-exact stand-in under CPython).
import framebuf
from alloc import allocated, has_counter
from null_bus import NullPin as _NullPin
from null_bus import NullSPI as _NullSPI

from host_tools.sim.chips.max7219 import MAX7219Chain
from sunprint.drivers.max7219 import MAX7219, Scroller

ORIENTATIONS = ((0, False), (90, False), (180, False), (270, False))
FLIPS = ((0, True), (90, True), (180, True), (270, True))


def _rig(modules=4, rows=1, rotation=0, flip=False, serpentine=False, intensity=1):
    m = MAX7219Chain(modules, rows, rotation, flip, serpentine)
    d = MAX7219(
        m.spi,
        cs=m.cs,
        modules=modules,
        rows=rows,
        rotation=rotation,
        flip=flip,
        serpentine=serpentine,
        intensity=intensity,
    )
    return m, d


def _canvas(d):
    buf = bytearray(d.BUFFER_SIZE)
    return buf, framebuf.FrameBuffer(buf, d.width, d.height, d.BUFFER_FORMAT)


def _same_picture(m, fb, w, h):
    for y in range(h):
        for x in range(w):
            if m.pixel(x, y) != fb.pixel(x, y):
                return (x, y)
    return None


def test_buffer_format_follows_the_digit_direction():
    m, d = _rig()
    assert (d.width, d.height, d.BUFFER_SIZE) == (32, 8, 32)
    assert d.BUFFER_FORMAT == framebuf.MONO_HLSB == MAX7219.BUFFER_FORMAT
    m, d = _rig(modules=8, rows=2, rotation=90)
    assert (d.width, d.height, d.BUFFER_SIZE) == (64, 16, 128)
    assert d.BUFFER_FORMAT == framebuf.MONO_VLSB
    for rot in (180, 270):
        m, d = _rig(rotation=rot)
        assert d.BUFFER_FORMAT == (framebuf.MONO_HLSB if rot == 180 else framebuf.MONO_VLSB)


def test_init_sequence_blanks_and_configures_every_device():
    m = MAX7219Chain(4)
    m.record = True
    assert m.devices[0].shutdown and m.lit_count() == 0  # power-up: shutdown, digits garbage
    assert m.devices[0].digits != bytearray(8)
    MAX7219(m.spi, cs=m.cs, modules=4, intensity=5)
    regs = [frame[0][0] for frame in m.latched]
    assert regs == [0x0C, 0x0F, 0x0B, 0x09, 0x0A, 1, 2, 3, 4, 5, 6, 7, 8, 0x0C]
    assert [frame[0][1] for frame in m.latched] == [0, 0, 7, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    for frame in m.latched:
        assert len(frame) == 4 and len(set(frame)) == 1  # the same word to every device
    for dev in m.devices:
        assert not dev.shutdown and not dev.test
        assert (dev.scan_limit, dev.decode, dev.intensity) == (7, 0, 5)
        assert dev.digits == bytearray(8)
    assert m.violations == [] and m.unknown == []
    assert m.bytes_sent == 14 * 8 and m.frames == 14


def test_fc16_layout_by_hand():
    # FC-16 (MD_MAX72XX pageFC16): DIN on the right, digit 0 = top row, bit 7 (DP) = left.
    m, d = _rig(modules=4)
    buf = bytearray(d.BUFFER_SIZE)
    buf[0] = 0x80  # MONO_HLSB: pixel (0, 0)
    buf[7 * 4 + 3] = 0x01  # pixel (31, 7)
    buf[2 * 4 + 1] = 0x10  # pixel (11, 2)
    d.show(buf)
    assert m.devices[3].digits[0] == 0x80  # farthest from DIN: leftmost module
    assert m.devices[0].digits[7] == 0x01  # nearest DIN: rightmost module
    assert m.devices[2].digits[2] == 0x10
    assert m.lit_count() == 3
    assert m.pixel(0, 0) == 1 and m.pixel(31, 7) == 1 and m.pixel(11, 2) == 1
    assert m.locate(0, 0) == (3, 0, 7) and m.locate(31, 7) == (0, 7, 0)


def test_other_vendor_layouts_by_hand():
    # Top-left pixel (0, 0) of a 4-module chain, from MD_MAX72XX's diagrams:
    # generic = digits on columns, D7 left, DP top; ICStation = D7 top, G (bit 0) left;
    # Parola = D0 top, G (bit 0) left.
    for rotation, flip, digit, bit in ((90, False, 7, 7), (180, False, 7, 0), (0, True, 0, 0)):
        m, d = _rig(rotation=rotation, flip=flip)
        buf, fb = _canvas(d)
        fb.pixel(0, 0, 1)
        d.show(buf)
        assert m.devices[3].digits[digit] == 1 << bit, (rotation, flip)
        assert m.lit_count() == 1 and m.pixel(0, 0) == 1


def test_text_64x8_pixel_for_pixel():
    m, d = _rig(modules=8)
    buf, fb = _canvas(d)
    fb.text("1.23 kW", 0, 0, 1)
    d.show(buf)
    assert _same_picture(m, fb, 64, 8) is None
    assert m.lit_count() > 60
    assert m.violations == [] and m.unknown == []


def test_every_orientation_128x8_and_64x16():
    for rotation, flip in ORIENTATIONS + FLIPS:
        for modules, rows, serpentine in ((16, 1, False), (8, 2, False), (8, 2, True)):
            m, d = _rig(modules, rows, rotation, flip, serpentine)
            buf, fb = _canvas(d)
            fb.text("1.23 kW", 3, 0, 1)
            fb.text("CO2 -9t", 1, 8, 1)
            fb.line(0, 0, d.width - 1, d.height - 1, 1)
            fb.pixel(d.width - 1, 0, 1)
            d.show(buf)
            where = _same_picture(m, fb, d.width, d.height)
            assert where is None, (rotation, flip, modules, rows, serpentine, where)
            assert m.violations == []
            fb.fill(0)  # and back to dark
            d.show(buf)
            assert m.lit_count() == 0


def test_intensity_range():
    m, d = _rig()
    for bad in (-1, 16, 1.5, "3", None):
        try:
            d.intensity(bad)
            raise AssertionError("accepted %r" % (bad,))
        except ValueError:
            pass
    assert m.intensities() == [1, 1, 1, 1]
    d.intensity(0)
    assert m.intensities() == [0, 0, 0, 0]
    d.intensity(15)
    assert m.intensities() == [15, 15, 15, 15]
    try:
        MAX7219(m.spi, cs=m.cs, intensity=16)
        raise AssertionError("constructor accepted 16")
    except ValueError:
        pass
    for kw in ({"rotation": 45}, {"modules": 0}, {"rows": 0}):
        try:
            MAX7219(m.spi, cs=m.cs, **kw)
            raise AssertionError("accepted %r" % (kw,))
        except ValueError:
            pass


def test_only_changed_rows_are_sent():
    m, d = _rig(modules=8)
    buf, fb = _canvas(d)
    fb.text("1.23 kW", 0, 0, 1)
    before = m.bytes_sent
    assert d.show(buf) == 7  # the 8x8 font leaves row 7 of these glyphs empty
    assert m.bytes_sent - before == 7 * 16
    before = m.bytes_sent
    assert d.show(buf) == 0  # nothing changed: nothing sent
    assert m.bytes_sent == before
    fb.pixel(40, 7, 1)  # one pixel in the empty row
    m.record = True
    assert d.show(buf) == 1
    assert m.bytes_sent - before == 16
    assert len(m.latched) == 1 and m.latched[0][0][0] == 8  # digit 7 = register 0x08
    assert _same_picture(m, fb, 64, 8) is None
    assert d.bytes_sent == m.bytes_sent and d.frames_sent == m.frames


def test_full_resends_registers_and_every_row():
    m, d = _rig(modules=8)
    buf, fb = _canvas(d)
    fb.text("42", 0, 0, 1)
    d.show(buf)
    # a glitch on the cable scrambles device 5: shutdown, display test, a wrong digit
    m.devices[5].shutdown = True
    m.devices[2].test = True
    m.devices[6].digits[3] ^= 0xFF
    m.devices[1].scan_limit = 2
    assert _same_picture(m, fb, 64, 8) is not None
    before = m.bytes_sent
    assert d.show(buf) == 0  # the driver cannot know
    d.begin_show(buf, True)
    assert not d.busy()
    d.finish()
    assert m.bytes_sent - before == (5 + 8) * 16
    assert _same_picture(m, fb, 64, 8) is None


def test_power_off_keeps_the_picture():
    m, d = _rig()
    buf, fb = _canvas(d)
    fb.text("ON", 8, 0, 1)
    d.show(buf)
    n = m.lit_count()
    d.power(False)
    assert m.lit_count() == 0
    d.power(True)
    assert m.lit_count() == n and _same_picture(m, fb, 32, 8) is None


def test_scroller_advances_one_pixel_per_tick():
    m, d = _rig(modules=4)
    buf, fb = _canvas(d)
    ref_buf, ref = _canvas(d)
    text = "1.23 kW"
    s = Scroller(fb, d.width, text)
    assert s.x == 32 and s.text_width == 56
    restarts = 0
    prev = None
    for k in range(1, 32 + 56 + 3):
        restart = s.tick()
        d.show(buf)
        if k < 32 + 56:
            assert not restart and s.x == 32 - k, (k, s.x)
        ref.fill(0)
        ref.text(text, s.x, 0, 1)
        assert buf == ref_buf, k
        assert _same_picture(m, fb, 32, 8) is None, k
        if prev is not None and not restart:
            # everything moved one pixel to the left
            for y in range(8):
                for x in range(31):
                    assert m.pixel(x, y) == prev[y * 32 + x + 1], (k, x, y)
        prev = bytearray(m.pixel(x, y) for y in range(8) for x in range(32))
        if restart:
            restarts += 1
            assert s.x == 32 and m.lit_count() == 0
    assert restarts == 1
    assert s.x == 30  # two ticks into the second pass


def test_scroll_step_sends_only_the_changed_rows():
    # 64x8 (two 4-in-1 boards), "1.23 kW": a step re-sends the digits whose row changed.
    m, d = _rig(modules=8)
    buf, fb = _canvas(d)
    s = Scroller(fb, d.width, "1.23 kW")
    old = bytearray(len(buf))
    total = 0
    steps = 0
    most = 0
    for _ in range(64 + 56):
        s.tick()
        changed_rows = 0
        for y in range(8):
            if buf[y * 8 : y * 8 + 8] != old[y * 8 : y * 8 + 8]:
                changed_rows += 1
        before = m.bytes_sent
        assert d.show(buf) == changed_rows
        sent = m.bytes_sent - before
        assert sent == changed_rows * 16
        total += sent
        most = max(most, sent)
        steps += 1
        old[:] = buf
    assert most == 7 * 16  # row 7 stays empty: 112 of 128 bytes at most
    assert total < steps * 128
    assert m.violations == []


def test_scroller_keeps_the_rest_of_the_picture():
    m, d = _rig(modules=8, rows=2)
    buf, fb = _canvas(d)
    fb.text("kWh", 0, 0, 1)  # a fixed top line
    s = Scroller(fb, d.width, "CO2 avoided 12.3 t", y=8)
    for _ in range(20):
        s.tick()
    d.show(buf)
    ref_buf, ref = _canvas(d)
    ref.text("kWh", 0, 0, 1)
    ref.text("CO2 avoided 12.3 t", 64 - 20, 8, 1)
    assert buf == ref_buf
    assert _same_picture(m, fb, 64, 16) is None


def test_spi_failure_resends_everything_next_time():
    m, d = _rig()
    buf, fb = _canvas(d)
    fb.text("AB", 0, 0, 1)

    class _Flaky:
        fail = True

        def write(self, data):
            if self.fail:
                raise OSError(5)
            m.spi.write(data)

    flaky = _Flaky()
    d._spi = flaky
    try:
        d.show(buf)
        raise AssertionError("no error")
    except OSError:
        pass
    assert m.cs.level == 1  # CS released
    flaky.fail = False
    before = m.bytes_sent
    assert d.show(buf) == 8  # stale: registers and every digit again
    assert m.bytes_sent - before == 13 * 8
    assert _same_picture(m, fb, 32, 8) is None


def test_counters_stay_small_ints():
    m, d = _rig()
    buf, fb = _canvas(d)
    d.bytes_sent = (1 << 30) - 4
    fb.fill(1)
    d.show(buf)
    assert 0 <= d.bytes_sent < 1 << 30
    assert d.bytes_sent == 8 * 8 - 4


def test_model_display_test_scan_limit_and_decode():
    m = MAX7219Chain(2)
    d = MAX7219(m.spi, cs=m.cs, modules=2)
    assert m.lit_count() == 0
    d._all(0x0F, 1)  # display test: every LED, whatever the digits and shutdown say
    assert m.lit_count() == 128
    d.power(False)
    assert m.lit_count() == 128
    d._all(0x0F, 0)
    assert m.lit_count() == 0
    d.power(True)
    buf, fb = _canvas(d)
    fb.fill(1)
    d.show(buf)
    assert m.lit_count() == 128
    d._all(0x0B, 3)  # scan limit: digits 0-3 only
    assert m.lit_count() == 64
    assert m.pixel(0, 3) == 1 and m.pixel(0, 4) == 0
    d._all(0x0B, 7)
    d._all(0x09, 0x01)  # Code B on digit 0, which holds 0xFF: DP + blank (0x0F)
    assert m.devices[0].segments(0) == 0x80
    d._all(0x01, 0x08)  # '8' without DP: A-G
    assert m.devices[0].segments(0) == 0x7F
    d._all(0x0D, 0)
    assert m.unknown == [0x0D, 0x0D]


def test_model_flags_bad_frames():
    m = MAX7219Chain(4)
    m.cs.value(0)
    m.spi.write(b"\x0c\x01")  # one word for a chain of four
    m.cs.value(1)
    assert len(m.violations) == 1 and "2 bytes" in m.violations[0]
    assert not m.devices[0].shutdown and m.devices[1].shutdown
    m.spi.write(b"\x00\x00")
    assert "CS was high" in m.violations[1]


def test_image_mono_hlsb():
    m, d = _rig(modules=8)
    buf, fb = _canvas(d)
    fb.text("1.23 kW", 0, 0, 1)
    d.show(buf)
    img = m.image_mono_hlsb()
    assert len(img) == 8 * 8
    assert img == buf  # FC-16 takes MONO_HLSB as it is, and the image is 1 = lit, MSB left
    try:
        from PIL import Image
    except ImportError:
        return
    im = Image.frombytes("1", (64, 8), bytes(img))
    for y in range(8):
        for x in range(64):
            assert (im.getpixel((x, y)) == 255) == (fb.pixel(x, y) == 1)


def test_no_allocation_per_frame_or_scroll_step():
    d = MAX7219(_NullSPI(), cs=_NullPin(), modules=16)
    buf, fb = _canvas(d)
    s = Scroller(fb, d.width, "CO2 -1.23 t today")
    d2 = MAX7219(_NullSPI(), cs=_NullPin(), modules=8, rows=2, rotation=90, serpentine=True)
    buf2 = bytearray(d2.BUFFER_SIZE)
    for _ in range(3):
        s.tick()
        d.show(buf)
        d2.show(buf2, True)
        d.intensity(3)
    if not has_counter():
        return  # CPython: no allocation counter

    def step():  # a closure over 5 names: MicroPython calls it without allocating
        for _ in range(20):
            s.tick()
            d.show(buf)
            d.begin_show(buf, True)
            d.busy()
            d.finish()
            d2.show(buf2, True)
            d.intensity(3)

    used = allocated(step)
    assert used == 0, used
