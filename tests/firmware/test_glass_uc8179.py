# The UC8179 driver (Waveshare 7.5" V2) held against what the glass knows (issue 14): the model
# knows where a refresh's waveform comes from (the OTP's fast partial waveform only on 2023
# glass, register LUTs), loses its RAM in deep sleep and at power-up, and checks the OLD RAM
# under a full refresh. Plain test_* functions: both interpreters (a narrower panel inside
# MicroPython, as test_epd_uc8179.py).
import framebuf
from epd_rig import MICROPYTHON, mismatches
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
    started,
    window,
    window_right,
)

from host_tools.sim.chips.uc8179 import UC8179Model
from sunprint.drivers.uc8179 import UC8179

W, H = (96, 40) if MICROPYTHON else (800, 480)
WIN = (20, 9, 40, 17)
OUT = (72, 28, 16, 8)


def _rig(revision="2023", driver_revision=None, **kw):
    m = UC8179Model(W, H, revision=revision)
    if driver_revision is not None:
        kw["revision"] = driver_revision
    return rig(m, UC8179, W, H, framebuf.MONO_HLSB, OUT, width=W, height=H, **kw)


# 2. the OTP fast waveform (2023 glass) or register LUTs (older glass)


def test_2023_partial_selects_the_otp_fast_waveform():
    m, d, buf, prev, fb, _ = _rig("2023")
    edited_window(d, buf, prev, fb, WIN, OUT)
    assert m.waveforms == ["otp-full", "otp-fast-partial"], m.waveforms
    assert m.registers[0xE0] == b"\x02" and m.registers[0xE5] == b"\x6e"
    window_right(m, d, fb, W, H, OUT)


def test_old_glass_partial_runs_register_luts():
    m, d, buf, prev, fb, _ = _rig("old", driver_revision="old")
    edited_window(d, buf, prev, fb, WIN, OUT)
    assert m.waveforms == ["otp-full", "register"], m.waveforms
    assert m.registers[0x00] == b"\x3f"  # PSR: LUTs from registers, KW mode
    assert 0xE5 not in m.registers
    window_right(m, d, fb, W, H, OUT)
    # a second partial over the first: the OLD RAM followed the glass (N2OCP)
    fb.fill_rect(OUT[0], OUT[1], OUT[2], OUT[3], 0)
    prev[:] = buf
    fb.fill_rect(WIN[0], WIN[1], 8, 8, 0)
    window(d, buf, prev, (WIN[0], WIN[1], 8, 8))
    assert m.violations == [], m.violations
    assert mismatches(m, fb, W, H) == []


def test_fast_waveform_asked_of_old_glass_is_caught():
    # The model refuses the 2023 sequence on older glass: the revision option matters.
    m, d, buf, prev, fb, _ = _rig("old", driver_revision="2023")
    edited_window(d, buf, prev, fb, WIN, OUT)
    assert len(m.violations) == 1 and "lacks" in m.violations[0], m.violations


# 3. a partial after deep sleep rewrites the old RAM from the app's frame


def test_partial_after_deep_sleep():
    for revision in ("2023", "old"):
        m, d, buf, prev, fb, _ = _rig(revision, driver_revision=revision)
        after_sleep(m, d, buf, prev, fb, WIN, OUT, W, H)


def test_the_base_is_restored_before_the_frame_is_drawn_over():
    for revision in ("2023", "old"):
        m, d, buf, prev, fb, _ = _rig(revision, driver_revision=revision)
        restored_then_drawn_over(m, d, buf, fb, WIN, W, H)


def test_partials_in_a_row_stay_out_of_deep_sleep_with_the_power_off():
    m, d, buf, prev, fb, _ = _rig()
    partials_stay_awake(m, d, buf, prev, fb)


# 4. the OLD RAM (DTM1) is written before the first full refresh


def test_first_full_refresh_has_a_written_old_ram():
    m, d, buf, prev, fb, _ = _rig()
    started(d, buf)
    assert m.old_known  # DTM1 written whole before the refresh
    done(d)
    assert m.violations == [], m.violations
    assert mismatches(m, fb, W, H) == []


# 5. the references' polarity: CDI 0x10 (1 = black) full, 0xA9 (1 = white) partial


def test_partial_cdi_is_waveshares():
    m, d, buf, prev, fb, _ = _rig()
    full(d, buf, prev)
    fb.fill_rect(8, 8, 8, 8, 1)
    d.begin_show_window(buf, 8, 8, 8, 8)
    assert m.registers[0x50][0] == 0xA9, m.registers[0x50]
    # 1 = white in the partial's data: the window's black block is 0x00 in NEW
    assert m.ram_new.get(1, 8) == 0x00
    done(d)
    assert m.violations == []


def test_rotation_180_for_mounting():
    m, d, buf, prev, fb, _ = _rig(rotation=180)
    rotated_180(m, d, buf, prev, fb, W, H, (16, 8, 8, 4))


# 7. CDI 0xF7 before power-off, Waveshare's reset pulse


def test_sleep_sequence_is_waveshares():
    m, d, buf, prev, fb, _ = _rig()
    full(d, buf, prev)
    # EPD_7in5_V2.c EPD_7IN5_V2_Sleep: CDI 0xF7, POF, (BUSY), DSLP 0xA5
    assert bytes(m.commands[-3:]) == b"\x50\x02\x07", bytes(m.commands[-6:])
    assert m.registers[0x50][0] == 0xF7 and m.registers[0x07] == b"\xa5"
    assert m.violations == []


def test_reset_pulse_is_waveshares():
    # EPD_7in5_V2.c V3.0 EPD_Reset: RST high 20 ms, low 2 ms, high 20 ms
    m, d, buf, prev, fb, clock = _rig()
    pulse = reset_pulse(d, clock)
    assert pulse == [(20, 1, -1), (2, 0, -1), (20, 1, -1)], clock.calls
