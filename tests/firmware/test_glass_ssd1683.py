# The SSD1683 driver (Waveshare 4.2" V2) held against what the glass knows (issue 14): the
# model's RAM is lost in deep sleep; the references' polarity and pulses. Plain test_* functions:
# both interpreters (a narrower panel inside MicroPython, as test_epd_ssd1683.py).
import framebuf
from epd_rig import MICROPYTHON
from glass_rig import (
    after_sleep,
    done,
    partials_stay_awake,
    reset_pulse,
    restored_then_drawn_over,
    rig,
    rotated_180,
    settles_after_software_reset,
    started,
    window,
)

from host_tools.sim.chips.ssd1683 import SSD1683Model
from sunprint.drivers.ssd1683 import SSD1683

W, H = (96, 40) if MICROPYTHON else (400, 300)
WIN = (20, 9, 40, 17)
OUT = (72, 28, 16, 8)


def _rig(**kw):
    m = SSD1683Model(W, H)
    return rig(m, SSD1683, W, H, framebuf.MONO_HLSB, OUT, width=W, height=H, **kw)


# 3. a partial after deep sleep rewrites the old RAM from the app's frame


def test_partial_after_deep_sleep():
    m, d, buf, prev, fb, _ = _rig()
    after_sleep(m, d, buf, prev, fb, WIN, OUT, W, H)


def test_the_base_is_restored_before_the_frame_is_drawn_over():
    m, d, buf, prev, fb, _ = _rig()
    restored_then_drawn_over(m, d, buf, fb, WIN, W, H)


def test_partials_in_a_row_stay_out_of_deep_sleep_with_the_power_off():
    m, d, buf, prev, fb, _ = _rig()
    partials_stay_awake(m, d, buf, prev, fb)


# 5. the references' RAM polarity: 0x21 0x40 (full) / 0x00 (partial), 1 = white


def test_ram_holds_one_for_white():
    m, d, buf, prev, fb, _ = _rig()
    fb.fill(0)
    started(d, buf)
    assert m.registers[0x21] == b"\x40\x00", m.registers[0x21]
    assert m.ram_bw.get(0, 0) == 0xFF and m.ram_red.get(W // 8 - 1, H - 1) == 0xFF
    done(d)
    prev[:] = buf
    fb.fill_rect(0, 0, 8, 1, 1)
    window(d, buf, prev, (0, 0, 8, 1))
    assert m.registers[0x21] == b"\x00\x00", m.registers[0x21]
    assert m.ram_bw.get(0, 0) == 0x00 and m.ram_red.get(0, 0) == 0x00
    assert m.violations == []


def test_rotation_180_for_mounting():
    m, d, buf, prev, fb, _ = _rig(rotation=180)
    rotated_180(m, d, buf, prev, fb, W, H, (16, 8, 8, 4))


# 7. settle after 0x12, Waveshare's reset pulse


def test_reset_pulse_is_waveshares():
    # epd4in2_V2.py V1.0 reset(): RST high 100 ms, low 2 ms, high 100 ms
    m, d, buf, prev, fb, clock = _rig()
    pulse = reset_pulse(d, clock)
    assert pulse == [(100, 1, -1), (2, 0, -1), (100, 1, -1)], clock.calls


def test_settle_after_software_reset():
    m, d, buf, prev, fb, clock = _rig()
    settles_after_software_reset(m, d, buf, prev, clock)
