# WS2812 matrix driver against the fake NeoPixel and the LED matrix model
# (host_tools/sim/chips/neopixel.py). Plain test_* functions with bare asserts: runs under pytest and
# inside MicroPython (framebuf is the real module there, the byte-exact stand-in under CPython).
import framebuf
from alloc import allocated, has_counter

from host_tools.sim.chips.neopixel import LedMatrix, NeoPixel
from sunprint.drivers.ws2812 import WS2812Matrix, strip_index

ORIGINS = ("top-left", "top-right", "bottom-left", "bottom-right")


def _rig(width=32, height=8, **kw):
    strip = NeoPixel(None, width * height)
    d = WS2812Matrix(strip, width=width, height=height, **kw)
    layout = {}
    for key in ("origin", "column_major", "serpentine"):
        if key in kw:
            layout[key] = kw[key]
    return strip, d, LedMatrix(strip, width, height, **layout)


def _canvas(d):
    buf = bytearray(d.BUFFER_SIZE)
    return buf, framebuf.FrameBuffer(buf, d.width, d.height, d.BUFFER_FORMAT)


def _same_picture(panel, fb):
    for y in range(panel.height):
        for x in range(panel.width):
            if panel.lit(x, y) != fb.pixel(x, y):
                return (x, y)
    return None


def test_default_layout_corners():
    # 8x32 flexible panel, column zig-zag, first LED at the top left
    for (x, y), i in (((0, 0), 0), ((0, 7), 7), ((1, 7), 8), ((1, 0), 15), ((2, 0), 16)):
        assert strip_index(x, y, 32, 8) == i, (x, y)
    assert strip_index(31, 0, 32, 8) == 255 and strip_index(31, 7, 32, 8) == 248
    assert strip_index(30, 7, 32, 8) == 247
    # row-major progressive from the bottom right, 16x16
    kw = {"origin": "bottom-right", "column_major": False, "serpentine": False}
    assert strip_index(15, 15, 16, 16, **kw) == 0
    assert strip_index(0, 15, 16, 16, **kw) == 15
    assert strip_index(15, 14, 16, 16, **kw) == 16
    assert strip_index(0, 0, 16, 16, **kw) == 255
    # row-major zig-zag from the top left: row 1 runs back
    assert strip_index(15, 1, 16, 16, column_major=False) == 16
    assert strip_index(0, 1, 16, 16, column_major=False) == 31
    try:
        strip_index(0, 0, 32, 8, origin="middle")
        raise AssertionError("accepted a bad origin")
    except ValueError:
        pass


def test_mapping_matches_the_model_for_every_layout():
    for origin in ORIGINS:
        for column_major in (True, False):
            for serpentine in (True, False):
                kw = {"origin": origin, "column_major": column_major, "serpentine": serpentine}
                panel = LedMatrix(NeoPixel(None, 16 * 8), 16, 8, **kw)
                seen = bytearray(128)
                for y in range(8):
                    for x in range(16):
                        i = strip_index(x, y, 16, 8, **kw)
                        assert i == panel.index(x, y), (kw, x, y)
                        seen[i] += 1
                assert seen == bytearray(b"\x01" * 128)


def test_text_32x8_pixel_for_pixel():
    strip, d, panel = _rig(color=(0, 255, 60), brightness=255, max_ma=None)
    buf, fb = _canvas(d)
    fb.text("1.23 kW", 0, 0, 1)  # clipped at 32 px: "1.23"
    d.show(buf)
    assert _same_picture(panel, fb) is None
    for y in range(8):
        for x in range(32):
            want = (0, 255, 60) if fb.pixel(x, y) else (0, 0, 0)
            assert panel.color(x, y) == want, (x, y)
    assert strip.writes == 1 and strip.bytes_written == 768


def test_text_on_other_layouts_pixel_for_pixel():
    cases = (
        (64, 8, {}),
        (32, 8, {"origin": "bottom-right"}),
        (16, 16, {"column_major": False}),
        (16, 16, {"origin": "top-right", "column_major": False, "serpentine": False}),
        (8, 32, {"origin": "bottom-left", "serpentine": False}),
    )
    for w, h, kw in cases:
        strip, d, panel = _rig(w, h, brightness=100, max_ma=None, **kw)
        buf, fb = _canvas(d)
        fb.text("1.23 kW", 0, 0, 1)
        fb.text("CO2", 1, 8, 1)
        fb.line(0, h - 1, w - 1, 0, 1)
        d.show(buf)
        assert _same_picture(panel, fb) is None, (w, h, kw)


def test_grb_bytes_in_the_strip_buffer():
    strip, d, panel = _rig(color=(200, 100, 50), brightness=255, max_ma=None)
    buf, fb = _canvas(d)
    fb.pixel(0, 0, 1)  # LED 0
    fb.pixel(1, 0, 1)  # LED 15 (column 1 runs up)
    d.show(buf)
    assert strip.shown[0:3] == bytearray((100, 200, 50))  # G, R, B
    assert strip.shown[45:48] == bytearray((100, 200, 50))
    assert strip.shown[3:45] == bytearray(42)
    assert panel.lit_count() == 2


def test_brightness_scales_the_colour():
    strip, d, panel = _rig(color=(255, 128, 10), brightness=128, max_ma=None)
    buf, fb = _canvas(d)
    fb.fill(1)
    d.show(buf)
    assert panel.color(5, 5) == (128, 64, 5)  # c * 128 // 255
    d.set_brightness(0)
    d.show(buf)
    assert panel.lit_count() == 0 and panel.current_ma() == 256
    for bad in (-1, 256, 1.5):
        try:
            d.set_brightness(bad)
            raise AssertionError("accepted %r" % (bad,))
        except ValueError:
            pass
    try:
        d.set_color((0, 300, 0))
        raise AssertionError("accepted a channel of 300")
    except ValueError:
        pass


def test_brightness_schedule():
    sched = ((0, 5), (7, 100), (19, 30))
    strip, d, panel = _rig(brightness=200, schedule=sched, max_ma=None)
    assert [d.set_brightness_for(h) for h in (0, 3, 6, 7, 12, 18, 19, 23)] == [
        5,
        5,
        5,
        100,
        100,
        100,
        30,
        30,
    ]
    d.set_schedule(((6, 120), (20, 10)))  # wraps over midnight
    assert [d.set_brightness_for(h) for h in (2, 5, 6, 13, 20, 23)] == [10, 10, 120, 120, 10, 10]
    assert d.brightness == 10
    buf, fb = _canvas(d)
    fb.fill(1)
    d.show(buf)
    assert panel.color(0, 0) == (10, 10, 10)
    for bad in ((), ((7, 10), (7, 20)), ((9, 10), (8, 20)), ((24, 1),), ((1, 256),)):
        try:
            d.set_schedule(bad)
            raise AssertionError("accepted %r" % (bad,))
        except ValueError:
            pass
    plain = WS2812Matrix(NeoPixel(None, 256), brightness=77)
    assert plain.set_brightness_for(12) == 77  # no schedule: unchanged


def test_current_cap_scales_brightness_within_budget():
    # 256 LEDs, all lit white at 255: 256 * 1 + 256 * 3 * 20 = 15616 mA uncapped
    strip, d, panel = _rig(color=(255, 255, 255), brightness=255, max_ma=None)
    buf, fb = _canvas(d)
    fb.fill(1)
    d.show(buf)
    assert d.last_ma == panel.current_ma() == 15616
    for max_ma, color in (
        (2000, (255, 255, 255)),
        (1000, (255, 255, 255)),
        (1000, (255, 100, 0)),
        (700, (0, 255, 60)),
        (300, (3, 1, 0)),
    ):
        strip, d, panel = _rig(color=color, brightness=255, max_ma=max_ma)
        buf, fb = _canvas(d)
        for lit_text in ("", "1.23 kW", None):
            fb.fill(0)
            if lit_text is None:
                fb.fill(1)
            else:
                fb.text(lit_text, 0, 0, 1)
            d.show(buf)
            est = panel.current_ma()
            assert est == d.last_ma, (max_ma, color, est, d.last_ma)
            assert est <= max_ma, (max_ma, color, est)
            b = d.effective_brightness
            if b < 255:  # capped: one step brighter would break the budget
                assert d.estimate_ma(d.lit, b + 1) > max_ma, (max_ma, color, b)
            assert _same_picture(panel, fb) is None or b == 0 or color == (3, 1, 0)
    # all lit white at a 2 A budget: 1744 mA above idle allow a channel sum of
    # 1744 * 255 // (20 * 256) = 86 per LED, so 3 * 28 = 84: brightness 255 -> 28
    strip, d, panel = _rig(color=(255, 255, 255), brightness=255, max_ma=2000)
    buf, fb = _canvas(d)
    fb.fill(1)
    d.show(buf)
    assert d.effective_brightness == 28 and d.brightness == 255
    assert panel.color(3, 3) == (28, 28, 28)
    assert panel.current_ma() == d.last_ma == 256 + (20 * 256 * 84 + 254) // 255 == 1943
    # few lit pixels: no cap needed
    fb.fill(0)
    fb.text("1", 0, 0, 1)
    d.show(buf)
    assert d.effective_brightness == 255 and panel.current_ma() <= 2000
    try:
        WS2812Matrix(NeoPixel(None, 256), max_ma=255)  # below 256 LEDs x 1 mA idle
        raise AssertionError("accepted a budget below the idle current")
    except ValueError:
        pass


def test_factory_and_rgbw():
    made = []

    def factory(n):
        made.append(n)
        return NeoPixel(None, n, bpp=4)

    d = WS2812Matrix(factory, width=16, height=8, color=(10, 20, 30), brightness=255)
    assert made == [128]
    strip = d.np
    panel = LedMatrix(strip, 16, 8)
    buf, fb = _canvas(d)
    fb.text("42", 0, 0, 1)
    d.show(buf)
    assert _same_picture(panel, fb) is None
    assert strip.bytes_written == 512
    i = panel.index(1, 0)  # "4" lights (1, 0)? find any lit LED and check its 4 bytes
    for y in range(8):
        for x in range(16):
            if fb.pixel(x, y):
                i = panel.index(x, y)
    assert strip.shown[4 * i : 4 * i + 4] == bytearray((20, 10, 30, 0))
    try:
        WS2812Matrix(NeoPixel(None, 100), width=32, height=8)
        raise AssertionError("accepted a strip that is too short")
    except ValueError:
        pass
    try:
        WS2812Matrix(NeoPixel(None, 256), width=32, height=6)
        raise AssertionError("accepted a height that is not a multiple of 8")
    except ValueError:
        pass


def test_panel_interface_and_off():
    strip, d, panel = _rig(brightness=50)
    buf, fb = _canvas(d)
    assert d.BUFFER_FORMAT == framebuf.MONO_VLSB == WS2812Matrix.BUFFER_FORMAT
    assert d.BUFFER_SIZE == 32
    fb.text("OK", 0, 0, 1)
    d.begin_show(buf, True)
    assert not d.busy()
    d.finish()
    assert _same_picture(panel, fb) is None and strip.writes == 1
    d.off()
    assert panel.lit_count() == 0 and strip.writes == 2 and d.last_ma == 256
    try:
        d.show(bytearray(31))
        raise AssertionError("accepted a short buffer")
    except ValueError:
        pass


class _NullStrip:
    ORDER = (1, 0, 2, 3)
    bpp = 3

    def __init__(self, n):
        self.buf = bytearray(3 * n)

    def write(self):
        pass


def test_no_allocation_per_frame():
    d = WS2812Matrix(_NullStrip(256), max_ma=800, color=(255, 180, 40), brightness=255)
    d.set_schedule(((0, 30), (8, 255)))
    buf, fb = _canvas(d)
    fb.text("1.23 kW", 0, 0, 1)
    for h in range(3):
        d.set_brightness_for(h * 9)
        d.show(buf)
    if not has_counter():
        return  # CPython: no allocation counter

    def step():
        for h in range(24):
            d.set_brightness_for(h)
            fb.scroll(-1, 0)
            d.show(buf)
            d.begin_show(buf, True)
            d.busy()
            d.finish()
        fb.fill(1)
        d.show(buf)  # capped

    used = allocated(step)
    assert d.effective_brightness < 255
    assert used == 0, used


def test_fake_neopixel_api():
    # The fake behaves as micropython-lib's neopixel.NeoPixel: GRB bytes, (r, g, b) tuples.
    strip = NeoPixel(None, 3)
    strip[1] = (1, 2, 3)
    assert strip.buf == bytearray((0, 0, 0, 2, 1, 3, 0, 0, 0))
    assert strip[1] == (1, 2, 3) and len(strip) == 3
    strip.fill((9, 8, 7))
    assert strip.buf == bytearray((8, 9, 7) * 3)
    assert strip.shown == bytearray(9)  # nothing latched before write()
    strip.write()
    assert strip.shown_rgb(2) == (9, 8, 7)
    assert (strip.writes, strip.bytes_written) == (1, 9)
    assert strip.current_ma() == 3 + (20 * 72 + 254) // 255
