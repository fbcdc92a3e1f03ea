# The SSD1680 driver (Waveshare 2.9" V2) held against what the glass knows (issue 14): the
# controller model knows where a refresh's waveform comes from (this glass has no partial
# waveform in OTP), the 0x37 ping-pong, RAM lost in deep sleep, and Waveshare's landscape
# mapping. Plain test_* functions with bare asserts: both interpreters.
import framebuf
from epd_rig import mismatches
from glass_rig import (
    after_sleep,
    done,
    edited_window,
    full,
    partials_stay_awake,
    reset_pulse,
    restored_then_drawn_over,
    rig,
    rotated_180,
    settles_after_software_reset,
    started,
    window,
    window_right,
)

from host_tools.sim.chips.ssd1680 import SSD1680Model
from sunprint.drivers.ssd1680 import SSD1680

W, H = 296, 128
WIN = (50, 13, 60, 20)
OUT = (200, 90, 30, 20)

# Waveshare e-Paper, RaspberryPi_JetsonNano/c/lib/e-Paper/EPD_2in9_V2.c (V1.2, 2023-12-21,
# repository HEAD 86aa993): _WF_PARTIAL_2IN9, the 153 bytes EPD_2IN9_V2_LUT sends to 0x32.
# Transcribed here as a fact to hold the driver's own table against.
WAVESHARE_PARTIAL_LUT = bytes(
    [0x00, 0x40] + [0] * 10
    + [0x80, 0x80] + [0] * 10
    + [0x40, 0x40] + [0] * 10
    + [0x00, 0x80] + [0] * 10
    + [0] * 12
    + [0x0A, 0, 0, 0, 0, 0, 0x02]
    + [0x01, 0, 0, 0, 0, 0, 0]
    + [0x01, 0, 0, 0, 0, 0, 0]
    + [0] * 63
    + [0x22] * 6 + [0, 0, 0]
)  # fmt: skip
# The same file, EPD_2IN9_V2_Display_Partial: 0x37 with the ping-pong byte.
WAVESHARE_DISPLAY_OPTION = bytes([0, 0, 0, 0, 0, 0x40, 0, 0, 0, 0])


def _rig(**kw):
    return rig(SSD1680Model(), SSD1680, W, H, framebuf.MONO_VLSB, OUT, **kw)


# 1. the partial runs a host-loaded LUT, as Waveshare's later driver does


def test_partial_runs_a_host_loaded_lut():
    m, d, buf, prev, fb, _ = _rig()
    edited_window(d, buf, prev, fb, WIN, OUT)
    assert m.refreshes == ["full", "partial"]
    assert m.waveforms == ["otp-full", "host"], m.waveforms
    window_right(m, d, fb, W, H, OUT)


def test_partial_sends_waveshares_bytes():
    m, d, buf, prev, fb, _ = _rig()
    full(d, buf, prev)
    fb.fill_rect(60, 20, 30, 10, 1)
    window(d, buf, prev, (60, 20, 30, 10))
    assert bytes(m.lut_data) == WAVESHARE_PARTIAL_LUT
    assert m.registers[0x37] == WAVESHARE_DISPLAY_OPTION
    assert m.registers[0x3C] == b"\x80"
    # power on (0xC0), then display mode 2 with the power switched off again (0x0F)
    assert m.updates[-2:] == [0xC0, 0x0F], m.updates
    assert not m.left_powered


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


# 5. the references' RAM polarity: 0x21 0x00, 1 = white


def test_ram_holds_one_for_white():
    m, d, buf, prev, fb, _ = _rig()
    fb.fill(0)
    started(d, buf)
    assert m.registers[0x21] == b"\x00\x80", m.registers[0x21]
    assert m.ram_bw[0][0] == 0xFF and m.ram_red[15][295] == 0xFF
    done(d)


# 6. Waveshare's landscape mapping; rotation for mounting


def test_landscape_is_waveshares():
    m, d, buf, prev, fb, _ = _rig()
    fb.fill(0)
    fb.pixel(0, 0, 1)
    fb.pixel(W - 1, 5, 1)
    full(d, buf, prev)
    # epd2in9_V2.py getbuffer, horizontal image: (x, y) -> source y, gate 295 - x
    assert m.pixel(0, 295) == 1 and m.pixel(5, 0) == 1
    assert m.pixel(127, 0) == 0
    assert mismatches(m, fb, W, H) == []


def test_rotation_180_for_mounting():
    m, d, buf, prev, fb, _ = _rig(rotation=180)
    rotated_180(m, d, buf, prev, fb, W, H, (100, 40, 20, 8))


# 7. settle after 0x12, Waveshare's reset pulse


def test_reset_pulse_is_waveshares():
    # epd2in9_V2.py V1.1 reset(): RST high 50 ms, low 2 ms, high 50 ms
    m, d, buf, prev, fb, clock = _rig()
    pulse = reset_pulse(d, clock)
    assert pulse == [(50, 1, -1), (2, 0, -1), (50, 1, -1)], clock.calls


def test_settle_after_software_reset():
    m, d, buf, prev, fb, clock = _rig()
    settles_after_software_reset(m, d, buf, prev, clock)


def test_a_timeout_while_starting_a_partial_leaves_the_power_off():
    # The partial powers the panel on (0x22 0xC0) and waits for BUSY before sending the window:
    # if BUSY never ends there, the driver resets the panel and puts it to sleep, as after a
    # refresh timeout, instead of leaving the drive power on.
    m, d, buf, prev, fb, _ = _rig()
    full(d, buf, prev)
    fb.fill_rect(60, 20, 30, 10, 1)
    window(d, buf, prev, (60, 20, 30, 10))  # awake now, partial setup done
    m.short_busy_polls = 1 << 30  # the power-on never finishes
    try:
        d.begin_show_window(buf, 60, 20, 30, 10)
        raise AssertionError("no timeout")
    except OSError as e:
        assert e.errno == 110
    assert m.asleep and not m.left_powered
