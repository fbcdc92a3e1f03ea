"""The panel makers' own command sequences, fed into the controller models (issue 14).

Each sequence below is transcribed from a reference driver, byte for byte, as a fact: the file
and the revision read are named beside it. Fed into the model of the same controller, it must
show the frames it was given, without a violation; and sunprint's driver, given the same frames,
must leave the model showing the same picture. So the models accept what works on the glass,
and sunprint's drivers agree with the makers' on what the glass shows (orientation included).

References (repositories as fetched for issue 14):
  WS  waveshareteam/e-Paper, HEAD 86aa993 (2026-03-06), RaspberryPi_JetsonNano/...
  GX  ZinggJM/GxEPD2, HEAD de82887 (version 1.6.8, 97746b1)
CPython only: the full-size panels do not fit MicroPython's heap beside three models.
"""

import pytest

from host_tools.paths import use_firmware
from host_tools.sim.chips.ssd1680 import SSD1680Model
from host_tools.sim.chips.ssd1683 import SSD1683Model
from host_tools.sim.chips.uc8179 import UC8179Model
from host_tools.sim.platform import framebuf

use_firmware()

from sunprint.drivers.ssd1680 import SSD1680  # noqa: E402
from sunprint.drivers.ssd1683 import SSD1683  # noqa: E402
from sunprint.drivers.uc8179 import UC8179  # noqa: E402

# WS c/lib/e-Paper/EPD_2in9_V2.c V1.2 (2023-12-21): _WF_PARTIAL_2IN9[0:153]. GX's
# GxEPD2_290_T94_V2::lut_partial has the same bytes.
LUT_2IN9_PARTIAL = bytes(
    [0x00, 0x40] + [0] * 10 + [0x80, 0x80] + [0] * 10 + [0x40, 0x40] + [0] * 10
    + [0x00, 0x80] + [0] * 10 + [0] * 12
    + [0x0A, 0, 0, 0, 0, 0, 0x02] + [0x01] + [0] * 6 + [0x01] + [0] * 6 + [0] * 63
    + [0x22] * 6 + [0, 0, 0]
)  # fmt: skip
# WS EPD_2in9_V2.c V1.2: WS_20_30[0:159], the full-refresh LUT its Init loads (0x32 + 0x3F,
# 0x03, 0x04, 0x2C from bytes 153-158) for TurnOnDisplay 0x22 0xC7.
LUT_2IN9_WS_20_30 = bytes(
    [0x80, 0x66, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0]
    + [0x10, 0x66, 0, 0, 0, 0, 0, 0, 0x20, 0, 0, 0]
    + [0x80, 0x66, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0]
    + [0x10, 0x66, 0, 0, 0, 0, 0, 0, 0x20, 0, 0, 0]
    + [0] * 12
    + [0x14, 0x08, 0, 0, 0, 0, 0x02] + [0x0A, 0x0A, 0, 0x0A, 0x0A, 0, 0x01] + [0] * 35
    + [0x14, 0x08, 0, 0x01, 0, 0, 0x01] + [0, 0, 0, 0, 0, 0, 0x01] + [0] * 21
    + [0x44] * 6 + [0, 0, 0]
    + [0x22, 0x17, 0x41, 0x00, 0x32, 0x36]
)  # fmt: skip
# WS 0x37 for the 2.9" partial: byte F bit 6, RAM ping-pong.
PINGPONG = bytes([0, 0, 0, 0, 0, 0x40, 0, 0, 0, 0])
# WS c/lib/e-Paper/EPD_7in5_V2_old.c V1.0 (2023-12-18): LUT_VCOM/WW/BW/WB/BB_7IN5_V2 (the full
# refresh from registers; 3 groups each, then zeros to 42 bytes).
_G = [0x0F, 0x0F, 0x00, 0x00, 0x01]
LUT_7IN5_OLD_FULL = [
    bytes([0x00] + _G + [0x00, 0x0F, 0x01, 0x0F, 0x01, 0x02, 0x00] + _G + [0] * 24),
    bytes([0x10] + _G + [0x84, 0x0F, 0x01, 0x0F, 0x01, 0x02, 0x20] + _G + [0] * 24),
    bytes([0x10] + _G + [0x84, 0x0F, 0x01, 0x0F, 0x01, 0x02, 0x20] + _G + [0] * 24),
    bytes([0x80] + _G + [0x84, 0x0F, 0x01, 0x0F, 0x01, 0x02, 0x40] + _G + [0] * 24),
    bytes([0x80] + _G + [0x84, 0x0F, 0x01, 0x0F, 0x01, 0x02, 0x40] + _G + [0] * 24),
]
# The same file: Lut_partial (EVS/PLL/PWR/LUTOPT/VCOM header, then one group per LUT).
LUT_7IN5_OLD_PARTIAL = [
    bytes([lv, 0x14, 0x02, 0x00, 0x00, 0x01] + [0] * 36) for lv in (0x00, 0x20, 0x80, 0x40, 0x00)
]
# GX GxEPD2_750_T7.cpp: the partial LUTs 0x20-0x25 (T1 30, T2 5, T3 30, T4 5), padded to 42.
LUT_750_T7_PARTIAL = [
    bytes([lv, 30, 5, 30, 5, 1] + [0] * 36) for lv in (0x00, 0x00, 0x5A, 0x84, 0x00, 0x00)
]


class Bus:
    """The host side of the 4-wire bus, as the reference drivers' send_command / send_data /
    ReadBusy drive it."""

    def __init__(self, model, busy_level):
        self.m = model
        self.level = busy_level

    def cmd(self, c, *data):
        m = self.m
        m.dc.value(0)
        m.cs.value(0)
        m.spi.write(bytes((c,)))
        m.cs.value(1)
        if data:
            self.data(bytes(data))

    def data(self, buf):
        m = self.m
        m.dc.value(1)
        m.cs.value(0)
        m.spi.write(bytes(buf))
        m.cs.value(1)

    def send(self, c, buf):
        self.cmd(c)
        self.data(buf)

    def wait(self):
        n = 0
        while self.m.busy.value() == self.level:
            n += 1
            assert n < 10000, "BUSY stuck"

    def reset(self):
        # RST pulse, then the reference's delay (10-100 ms): the model counts time in BUSY
        # polls, so the delay is a wait.
        self.m.rst.value(1)
        self.m.rst.value(0)
        self.m.rst.value(1)
        self.wait()


# --- the frames: a picture, then a change in a window (landscape, 1 = black as the app draws) ---


def _frames(w, h, fmt, win):
    a = bytearray(w * h // 8)
    fb = framebuf.FrameBuffer(a, w, h, fmt)
    fb.fill(0)
    fb.rect(0, 0, w, h, 1)
    fb.line(0, 0, w - 1, h - 1, 1)
    fb.fill_rect(w // 5, h // 6, w // 7, h // 5, 1)
    fb.text("CO2 -1.2 t", w // 2, 10, 1)
    fb.text("23.4 kWh", 9, h - 20, 1)
    fb.pixel(1, 1, 1)  # marks the top-left corner: a picture turned 180 degrees differs
    b = bytearray(a)
    fb = framebuf.FrameBuffer(b, w, h, fmt)
    x, y, ww, hh = win
    fb.fill_rect(x, y, ww, hh, 0)
    fb.text("88.8", x + 2, y + 2, 1)
    fb.line(x, y + hh - 1, x + ww - 1, y, 1)
    c = bytearray(b)  # and back: partial after partial
    fb = framebuf.FrameBuffer(c, w, h, fmt)
    fb.fill_rect(x, y, ww, hh, 1)
    return a, b, c


def _expected(buf, w, h, fmt):
    """What the glass must show: landscape rows, MSB = leftmost, 1 = white (model format)."""
    fb = framebuf.FrameBuffer(buf, w, h, fmt)
    out = bytearray(w * h // 8)
    for y in range(h):
        for x in range(w):
            if not fb.pixel(x, y):
                out[y * (w // 8) + x // 8] |= 0x80 >> (x & 7)
    return bytes(out)


def _hlsb_white(buf):
    """An app frame (MONO_HLSB, 1 = black) as the references' image buffer (1 = white)."""
    return bytes(b ^ 0xFF for b in buf)


def _window_hlsb(img, w, win):
    """The rows of a window (x and width multiples of 8) of a full HLSB image."""
    x, y, ww, hh = win
    xb = w // 8
    out = bytearray()
    for r in range(y, y + hh):
        out += img[r * xb + x // 8 : r * xb + (x + ww) // 8]
    return bytes(out)


def _sunprint(model, driver, frames, win):
    """sunprint's driver shows frame A (full), B and C (window partials), as the app would."""
    prev = bytearray(driver.BUFFER_SIZE)
    if hasattr(driver, "set_base"):  # older drivers had none
        driver.set_base(prev)
    pictures = []
    for i, f in enumerate(frames):
        buf = bytearray(f)
        if i == 0:
            driver.show(buf)
        else:
            driver.show_window(buf, *win)
        prev[:] = buf
        pictures.append(bytes(model.landscape_mono_hlsb()))
    return pictures


# --- 2.9" SSD1680 -------------------------------------------------------------------------

W29, H29 = 296, 128
WIN29 = (48, 24, 100, 40)  # landscape; y and height whole pages


def _ws_2in9_image(frame):
    """WS python/lib/waveshare_epd/epd2in9_V2.py getbuffer() of a 296 x 128 (horizontal)
    image: pixel (x, y) -> buf[(y + (295 - x) * 128) / 8] bit 0x80 >> (y % 8), 1 = white."""
    fb = framebuf.FrameBuffer(bytearray(frame), W29, H29, framebuf.MONO_VLSB)
    buf = bytearray(b"\xff" * (128 * 296 // 8))
    for y in range(H29):
        for x in range(W29):
            if fb.pixel(x, y):
                newx, newy = y, 296 - x - 1
                buf[(newx + newy * 128) // 8] &= ~(0x80 >> (y % 8)) & 0xFF
    return bytes(buf)


def _ws_2in9_init(bus):
    # epd2in9_V2.py at 7c368a2 (2021-01-26) init(): the later revisions keep these bytes.
    bus.reset()
    bus.wait()
    bus.cmd(0x12)
    bus.wait()
    bus.cmd(0x01, 0x27, 0x01, 0x00)
    bus.cmd(0x11, 0x03)
    bus.cmd(0x44, 0x00, 0x0F)
    bus.cmd(0x45, 0x00, 0x00, 0x27, 0x01)
    bus.cmd(0x21, 0x00, 0x80)
    bus.cmd(0x4E, 0x00)
    bus.cmd(0x4F, 0x00, 0x00)
    bus.wait()


def _ws_base(bus, image, update):
    # WS Display_Base (epd2in9_V2) / display (epd4in2_V2): the image to both RAMs (0x24 BW,
    # 0x26 RED), then TurnOnDisplay with display update control 0x22 `update`
    bus.send(0x24, image)
    bus.send(0x26, image)
    bus.cmd(0x22, update)
    bus.cmd(0x20)
    bus.wait()


def _ws_2in9_partial(bus, image, reset_pulse=True):
    # epd2in9_V2.py at 7c368a2 display_Partial() (= EPD_2in9_V2.c V1.2 Display_Partial)
    if reset_pulse:
        bus.reset()
    bus.send(0x32, LUT_2IN9_PARTIAL)
    bus.wait()
    bus.send(0x37, PINGPONG)
    bus.cmd(0x3C, 0x80)
    bus.cmd(0x22, 0xC0)
    bus.cmd(0x20)
    bus.wait()
    bus.cmd(0x44, 0x00, 0x0F)
    bus.cmd(0x45, 0x00, 0x00, 0x27, 0x01)
    bus.cmd(0x4E, 0x00)
    bus.cmd(0x4F, 0x00, 0x00)
    bus.send(0x24, image)
    bus.cmd(0x22, 0x0F)
    bus.cmd(0x20)
    bus.wait()


def _ws_2in9_partials(bus, frames):
    # a Display_Partial per frame after the first, then Sleep (deep sleep mode 1)
    for f in frames[1:]:
        _ws_2in9_partial(bus, _ws_2in9_image(f))
        yield
    bus.cmd(0x10, 0x01)


def ws_2in9_2021(model, frames):
    """WS epd2in9_V2.py at 7c368a2: init, display_Base (OTP full, 0x22 0xF7), partials."""
    bus = Bus(model, 1)
    _ws_2in9_init(bus)
    _ws_base(bus, _ws_2in9_image(frames[0]), 0xF7)
    yield
    yield from _ws_2in9_partials(bus, frames)


def ws_2in9_2023(model, frames):
    """WS EPD_2in9_V2.c V1.2 (2023-12-21): Init loads WS_20_30 from the host, Display_Base
    runs it with 0x22 0xC7; Display_Partial as 2021."""
    bus = Bus(model, 1)
    _ws_2in9_init(bus)
    bus.send(0x32, LUT_2IN9_WS_20_30[:153])  # EPD_2IN9_V2_LUT_by_host(WS_20_30)
    bus.wait()
    bus.cmd(0x3F, LUT_2IN9_WS_20_30[153])
    bus.cmd(0x03, LUT_2IN9_WS_20_30[154])
    bus.cmd(0x04, *LUT_2IN9_WS_20_30[155:158])
    bus.cmd(0x2C, LUT_2IN9_WS_20_30[158])
    _ws_base(bus, _ws_2in9_image(frames[0]), 0xC7)
    yield
    yield from _ws_2in9_partials(bus, frames)


def _gx_area(bus, x, y, w, h):
    # GX _setPartialRamArea (the same in GxEPD2_290_T94_V2 and GxEPD2_420_GDEY042T81): entry
    # mode X then Y increment, the RAM window in native coordinates, the counters at its start
    bus.cmd(0x11, 0x03)
    bus.cmd(0x44, x // 8, (x + w - 1) // 8)
    bus.cmd(0x45, y % 256, y // 256, (y + h - 1) % 256, (y + h - 1) // 256)
    bus.cmd(0x4E, x // 8)
    bus.cmd(0x4F, y % 256, y // 256)


def _gx_hibernate(bus):
    # GX hibernate(): _PowerOff (0x22 0x83), then deep sleep mode 1
    bus.cmd(0x22, 0x83)
    bus.cmd(0x20)
    bus.wait()
    bus.cmd(0x10, 0x01)


def gx_290_t94_v2(model, frames):
    """GX GxEPD2_290_T94_V2.cpp with setRotation(3) (Adafruit GFX: native x = y, native y =
    295 - x, Waveshare's landscape): _InitDisplay, writeImageForFullRefresh + refresh(false),
    then per partial writeImage + refresh(x, y, w, h) + writeImageAgain; hibernate."""
    bus = Bus(model, 1)
    bus.reset()  # _hibernating at power-up
    bus.cmd(0x12)
    bus.wait()
    bus.cmd(0x01, 0x27, 0x01, 0x00)
    bus.cmd(0x11, 0x03)
    bus.cmd(0x3C, 0x05)
    bus.cmd(0x21, 0x00, 0x80)
    bus.cmd(0x18, 0x80)

    def area(x, y, w, h):  # native coordinates
        _gx_area(bus, x, y, w, h)

    def write(ram, image, x, y, w, h):  # _writeImage of the window of a full native image
        area(x, y, w, h)
        rows = bytearray()
        for r in range(y, y + h):
            rows += image[r * 16 + x // 8 : r * 16 + (x + w) // 8]
        bus.send(ram, rows)

    area(0, 0, 128, 296)
    image = _ws_2in9_image(frames[0])
    write(0x26, image, 0, 0, 128, 296)
    write(0x24, image, 0, 0, 128, 296)
    bus.cmd(0x22, 0xF7)  # _Update_Full
    bus.cmd(0x20)
    bus.wait()
    yield
    x, y, w, h = WIN29  # landscape window -> native: sources y.., gates 295-x-w+1..
    nx, ny, nw, nh = y, W29 - x - w, h, w
    lut_loaded = False
    for f in frames[1:]:
        image = _ws_2in9_image(f)
        write(0x24, image, nx, ny, nw, nh)
        area(nx, ny, nw, nh)  # refresh(x, y, w, h)
        if not lut_loaded:  # _Init_Part
            bus.send(0x32, LUT_2IN9_PARTIAL)
            lut_loaded = True
        bus.cmd(0x22, 0xCC)  # _Update_Part
        bus.cmd(0x20)
        bus.wait()
        write(0x26, image, nx, ny, nw, nh)  # writeImageAgain
        write(0x24, image, nx, ny, nw, nh)
        yield
    _gx_hibernate(bus)


def _agree(reference, ref, m, d, frames, w, h, fmt, win):
    """The reference on model ref shows every frame as drawn, with no violation, in a full
    refresh then partials; sunprint's driver d on model m leaves the same pictures."""
    got = _run(reference, ref, frames)
    assert ref.violations == [], ref.violations
    assert ref.refreshes == ["full"] + ["partial"] * (len(frames) - 1)
    for i, f in enumerate(frames):
        assert got[i] == _expected(f, w, h, fmt), "%s: frame %d" % (reference.__name__, i)
    assert _sunprint(m, d, frames, win) == got
    assert m.violations == [], m.violations


def _run(reference, model, frames):
    pictures = []
    steps = reference(model, frames)
    for _ in frames:
        next(steps)
        pictures.append(bytes(model.landscape_mono_hlsb()))
    for _ in steps:  # the reference's own ending (deep sleep)
        pass
    return pictures


@pytest.mark.parametrize("reference", [ws_2in9_2021, ws_2in9_2023, gx_290_t94_v2])
def test_ssd1680_references_and_sunprint_show_the_same(reference):
    frames = _frames(W29, H29, framebuf.MONO_VLSB, WIN29)
    assert len(frames) == 3
    m = SSD1680Model()
    d = SSD1680(m.spi, cs=m.cs, dc=m.dc, rst=m.rst, busy=m.busy, sleep=lambda ms: None)
    _agree(reference, SSD1680Model(), m, d, frames, W29, H29, framebuf.MONO_VLSB, WIN29)


def test_ssd1680_waveshare_2020_partial_shows_nothing_on_this_glass():
    # WS epd2in9_V2.py at 04d4621 (2020-12-10): display_Partial ran 0x22 0xFF, the OTP's partial
    # waveform, which the 2.9" V2 glass does not have (GX GxEPD2_290_T94_V2.h): the model says
    # so, and the glass keeps the base picture.
    frames = _frames(W29, H29, framebuf.MONO_VLSB, WIN29)
    m = SSD1680Model()
    bus = Bus(m, 1)
    _ws_2in9_init(bus)
    _ws_base(bus, _ws_2in9_image(frames[0]), 0xF7)
    bus.reset()
    bus.cmd(0x3C, 0x80)
    bus.send(0x24, _ws_2in9_image(frames[1]))
    bus.cmd(0x22, 0xFF)
    bus.cmd(0x20)
    bus.wait()
    assert len(m.violations) == 1 and "lacks" in m.violations[0]
    assert bytes(m.landscape_mono_hlsb()) == _expected(frames[0], W29, H29, framebuf.MONO_VLSB)


# --- 4.2" SSD1683 -------------------------------------------------------------------------

W42, H42 = 400, 300
WIN42 = (96, 40, 104, 48)


def _ws_4in2_init(bus):
    # WS python/lib/waveshare_epd/epd4in2_V2.py V1.0 (2023-09-13) init()
    bus.reset()
    bus.wait()
    bus.cmd(0x12)
    bus.wait()
    bus.cmd(0x21, 0x40, 0x00)
    bus.cmd(0x3C, 0x05)
    bus.cmd(0x11, 0x03)
    bus.cmd(0x44, 0x00, 0x31)
    bus.cmd(0x45, 0x00, 0x00, 0x2B, 0x01)
    bus.cmd(0x4E, 0x00)
    bus.cmd(0x4F, 0x00, 0x00)
    bus.wait()


def ws_4in2(model, frames):
    """WS epd4in2_V2.py V1.0: init, display (0x24 + 0x26, 0x22 0xF7), display_Partial after
    display_Partial (0x24 only, 0x22 0xFF from OTP), sleep."""
    bus = Bus(model, 1)
    _ws_4in2_init(bus)
    _ws_base(bus, _hlsb_white(frames[0]), 0xF7)
    yield
    for f in frames[1:]:
        bus.cmd(0x3C, 0x80)
        bus.cmd(0x21, 0x00, 0x00)
        bus.cmd(0x3C, 0x80)
        bus.cmd(0x44, 0x00, 0x31)
        bus.cmd(0x45, 0x00, 0x00, 0x2B, 0x01)
        bus.cmd(0x4E, 0x00)
        bus.cmd(0x4F, 0x00, 0x00)
        bus.send(0x24, _hlsb_white(f))
        bus.cmd(0x22, 0xFF)
        bus.cmd(0x20)
        bus.wait()
        yield
    bus.cmd(0x10, 0x01)


def gx_420_gdey042t81(model, frames):
    """GX src/gdey/GxEPD2_420_GDEY042T81.cpp: _InitDisplay, writeImageForFullRefresh +
    _Update_Full (0x21 40 00, 0x22 0xF7), then writeImage + _Update_Part (0x21 00 00,
    0x22 0xFC) + writeImageAgain; hibernate."""
    bus = Bus(model, 1)
    bus.reset()
    bus.cmd(0x12)
    bus.wait()
    bus.cmd(0x01, 0x2B, 0x01, 0x00)
    bus.cmd(0x3C, 0x01)
    bus.cmd(0x18, 0x80)

    def area(x, y, w, h):
        _gx_area(bus, x, y, w, h)

    def write(ram, frame, win):
        area(*win)
        bus.send(ram, _window_hlsb(_hlsb_white(frame), W42, win))

    whole = (0, 0, W42, H42)
    write(0x26, frames[0], whole)
    write(0x24, frames[0], whole)
    bus.cmd(0x21, 0x40, 0x00)
    bus.cmd(0x22, 0xF7)
    bus.cmd(0x20)
    bus.wait()
    yield
    for f in frames[1:]:
        write(0x24, f, WIN42)
        area(*WIN42)
        bus.cmd(0x21, 0x00, 0x00)
        bus.cmd(0x22, 0xFC)
        bus.cmd(0x20)
        bus.wait()
        write(0x26, f, WIN42)
        write(0x24, f, WIN42)
        yield
    _gx_hibernate(bus)


@pytest.mark.parametrize("reference", [ws_4in2, gx_420_gdey042t81])
def test_ssd1683_references_and_sunprint_show_the_same(reference):
    frames = _frames(W42, H42, framebuf.MONO_HLSB, WIN42)
    assert len(frames) == 3
    m = SSD1683Model()
    d = SSD1683(m.spi, cs=m.cs, dc=m.dc, rst=m.rst, busy=m.busy, sleep=lambda ms: None)
    _agree(reference, SSD1683Model(), m, d, frames, W42, H42, framebuf.MONO_HLSB, WIN42)


# --- 7.5" UC8179 --------------------------------------------------------------------------

W75, H75 = 800, 480
WIN75 = (160, 80, 200, 64)  # x and width multiples of 8; x_end % 256 != 0 (see below)


def _ws_7in5_ptl(bus, win, minus_one_low):
    x0, y0, w, h = win
    x1, y1 = x0 + w, y0 + h
    if minus_one_low:  # EPD_7in5_V2.c _Display_Part: "x_end%256-1" (fine unless % 256 == 0)
        bus.cmd(0x90, x0 >> 8, x0 & 255, x1 >> 8, x1 % 256 - 1, y0 >> 8, y0 & 255, y1 >> 8)
        bus.data(bytes((y1 % 256 - 1, 0x01)))
    else:  # EPD_7in5_V2_old.c _Display_Partial: (x_end - 1)
        bus.cmd(0x90, x0 >> 8, x0 & 255, (x1 - 1) >> 8, (x1 - 1) & 255, y0 >> 8, y0 & 255)
        bus.data(bytes(((y1 - 1) >> 8, (y1 - 1) & 255, 0x01)))


def _ws_7in5_display(bus, frame):
    # EPD_7IN5_V2_Display: DTM1 = the image (1 = white), DTM2 = the image inverted, DRF
    image = _hlsb_white(frame)
    bus.send(0x10, image)
    bus.send(0x13, bytes(b ^ 0xFF for b in image))
    bus.cmd(0x12)
    bus.wait()


def ws_7in5_2023(model, frames):
    """WS c/lib/e-Paper/EPD_7in5_V2.c V3.0 (2023-12-18): Init + Display, Init_Part (forced
    temperature 0x6E: the OTP's fast partial waveform) + Display_Part twice, Sleep."""
    bus = Bus(model, 0)
    bus.reset()
    bus.cmd(0x01, 0x07, 0x07, 0x3F, 0x3F)
    bus.cmd(0x06, 0x17, 0x17, 0x28, 0x17)
    bus.cmd(0x04)
    bus.wait()
    bus.cmd(0x00, 0x1F)
    bus.cmd(0x61, 0x03, 0x20, 0x01, 0xE0)
    bus.cmd(0x15, 0x00)
    bus.cmd(0x50, 0x10, 0x07)
    bus.cmd(0x60, 0x22)
    _ws_7in5_display(bus, frames[0])
    yield
    bus.reset()  # EPD_7IN5_V2_Init_Part
    bus.cmd(0x00, 0x1F)
    bus.cmd(0x04)
    bus.wait()
    bus.cmd(0xE0, 0x02)
    bus.cmd(0xE5, 0x6E)
    for f in frames[1:]:
        bus.cmd(0x50, 0xA9, 0x07)
        bus.cmd(0x91)
        _ws_7in5_ptl(bus, WIN75, True)
        bus.send(0x13, _window_hlsb(_hlsb_white(f), W75, WIN75))
        bus.cmd(0x12)
        bus.wait()
        yield
    bus.cmd(0x50, 0xF7)  # EPD_7IN5_V2_Sleep
    bus.cmd(0x02)
    bus.wait()
    bus.cmd(0x07, 0xA5)


def ws_7in5_old(model, frames):
    """WS c/lib/e-Paper/EPD_7in5_V2_old.c V1.0 (2023-12-18): Init (LUTs from registers) +
    Display, Init_Partial (Init2 + Epaper_LUT_By_MCU(Lut_partial)) + one Display_Partial, Sleep.
    Its partial leaves N2OCP off (CDI 0x22): the OLD RAM stays at the full refresh's picture,
    so only the first partial after a full one is exact; sunprint's sets N2OCP."""
    bus = Bus(model, 0)
    bus.reset()
    bus.cmd(0x01, 0x17, 0x17, 0x3F, 0x3F, 0x11)  # Voltage_Frame_7IN5_V2 [6], [1], [2], [3]
    bus.cmd(0x82, 0x24)
    bus.cmd(0x06, 0x27, 0x27, 0x2F, 0x17)
    bus.cmd(0x30, 0x06)
    bus.cmd(0x04)
    bus.wait()
    bus.cmd(0x00, 0x3F)
    bus.cmd(0x61, 0x03, 0x20, 0x01, 0xE0)
    bus.cmd(0x15, 0x00)
    bus.cmd(0x50, 0x10, 0x00)
    bus.cmd(0x60, 0x22)
    bus.cmd(0x65, 0x00, 0x00, 0x00, 0x00)
    for i, lut in enumerate(LUT_7IN5_OLD_FULL):
        bus.send(0x20 + i, lut)
    _ws_7in5_display(bus, frames[0])
    yield
    bus.reset()  # EPD_7IN5_V2_Init2
    bus.cmd(0x00, 0x3F)
    bus.cmd(0x06, 0x17, 0x17, 0x28, 0x18)
    bus.cmd(0x50, 0x22, 0x07)
    bus.cmd(0x60, 0x22)
    bus.cmd(0x61, 0x03, 0x20, 0x01, 0xE0)
    bus.cmd(0x65, 0x00, 0x00, 0x00, 0x00)
    bus.cmd(0x04)
    bus.wait()
    bus.cmd(0x52, 0x02)  # Epaper_LUT_By_MCU(Lut_partial): 0x67 0xBF 0x3F 0x0D 0x00 0x1C
    bus.cmd(0x30, 0x06)
    bus.cmd(0x01, 0x17, 0x07, 0x3F, 0x3F, 0x0D)
    bus.cmd(0x2A, 0x00, 0x00)
    bus.cmd(0x82, 0x1C)
    for i, lut in enumerate(LUT_7IN5_OLD_PARTIAL):
        bus.send(0x20 + i, lut)
    bus.cmd(0x91)
    _ws_7in5_ptl(bus, WIN75, False)
    bus.send(0x13, _window_hlsb(_hlsb_white(frames[1]), W75, WIN75))
    bus.cmd(0x12)
    bus.wait()
    bus.cmd(0x92)
    yield
    bus.cmd(0x02)  # EPD_7IN5_V2_Sleep
    bus.wait()
    bus.cmd(0x07, 0xA5)


def gx_750_t7(model, frames):
    """GX src/epd/GxEPD2_750_T7.cpp: the first writeImage cleans both RAMs in partial setup
    (_Init_Part: PSR 0x3F, register LUTs, CDI 0x39), refresh(false) runs the OTP full waveform
    (_Init_Full: PSR 0x1F, CDI 0x29); drawImage = writeImage + refresh(x, y, w, h) + writeImage
    with register LUTs; hibernate."""
    bus = Bus(model, 0)

    def init_display():
        bus.cmd(0x01, 0x07, 0x07, 0x3F, 0x3F)
        bus.cmd(0x00, 0x1F)
        bus.cmd(0x61, 0x03, 0x20, 0x01, 0xE0)
        bus.cmd(0x15, 0x00)
        bus.cmd(0x50, 0x29, 0x07)
        bus.cmd(0x60, 0x22)

    def init_part():
        init_display()
        bus.cmd(0x00, 0x3F)
        bus.cmd(0x82, 0x26)
        bus.cmd(0x50, 0x39, 0x07)
        for i, lut in enumerate(LUT_750_T7_PARTIAL):
            bus.send(0x20 + i, lut)
        bus.cmd(0x04)
        bus.wait()

    def ptl(win):
        x, y, w, h = win
        xe, ye = (x + w - 1) | 7, y + h - 1
        x &= 0xFFF8
        bus.cmd(0x90, x // 256, x % 256, xe // 256, xe % 256, y // 256, y % 256)
        bus.data(bytes((ye // 256, ye % 256, 0x01)))

    def write(frame, win):
        bus.cmd(0x91)
        ptl(win)
        bus.send(0x13, _window_hlsb(_hlsb_white(frame), W75, win))
        bus.cmd(0x92)

    bus.reset()
    init_part()  # writeScreenBuffer() at the initial write
    bus.send(0x13, b"\xff" * (W75 * H75 // 8))
    bus.send(0x10, b"\xff" * (W75 * H75 // 8))  # "0xFF is white"
    write(frames[0], (0, 0, W75, H75))
    init_display()  # refresh(false): _Init_Full, _Update_Full
    bus.cmd(0x00, 0x1F)
    bus.cmd(0x04)
    bus.wait()
    bus.cmd(0x12)
    bus.wait()
    yield
    init_part()
    for f in frames[1:]:
        write(f, WIN75)
        bus.cmd(0x91)
        ptl(WIN75)
        bus.cmd(0x12)
        bus.wait()
        bus.cmd(0x92)
        write(f, WIN75)
        yield
    bus.cmd(0x02)
    bus.wait()
    bus.cmd(0x07, 0xA5)


@pytest.mark.parametrize(
    "reference, revision", [(ws_7in5_2023, "2023"), (ws_7in5_old, "old"), (gx_750_t7, "old")]
)
def test_uc8179_references_and_sunprint_show_the_same(reference, revision):
    frames = _frames(W75, H75, framebuf.MONO_HLSB, WIN75)
    if reference is ws_7in5_old:
        frames = frames[:2]
    ref = UC8179Model(revision=revision)
    m = UC8179Model(revision=revision)
    d = UC8179(
        m.spi, cs=m.cs, dc=m.dc, rst=m.rst, busy=m.busy, sleep=lambda ms: None, revision=revision
    )
    _agree(reference, ref, m, d, frames, W75, H75, framebuf.MONO_HLSB, WIN75)
