# The SSD1680 controller model on its own (host_tools/sim/chips/ssd1680.py), what it knows of the
# glass: RAM in deep sleep, drive power, where the waveform comes from, the 0x37 ping-pong.
# (A file of its own: beside the driver tests it would not fit MicroPython's 110 KB heap.)
# Plain test_* functions with bare asserts: both interpreters.
from ssd1680_pins import refresh as _refresh
from ssd1680_pins import send as _send
from ssd1680_pins import wake as _wake

from host_tools.sim.chips.ssd1680 import SSD1680Model


def _load_host_lut(m):
    _send(m, 0x32, bytes(153))


def test_model_ram_in_deep_sleep():
    # keep_ram=True: deep sleep mode 1 keeps RAM (the datasheet's word), mode 2 does not; by
    # default the model takes RAM as lost in any deep sleep (nothing in the sources shows it
    # surviving one).
    for keep, mode, kept in ((True, 0x01, True), (True, 0x03, False), (False, 0x01, False)):
        m = SSD1680Model(keep_ram=keep)
        _wake(m)
        _send(m, 0x24, b"\x12\x34")
        _send(m, 0x10, bytes((mode,)))
        assert m.asleep and m.sleep_mode == mode
        m.rst.value(0)
        m.rst.value(1)
        # entry mode 0x03 after the reset: X first, one byte per X address
        assert ((m.ram_bw[0][0], m.ram_bw[1][0]) == (0x12, 0x34)) == kept, (keep, mode)
    # and a partial over the lost RAM is a stale base
    m = SSD1680Model()
    _wake(m)
    _refresh(m)
    _send(m, 0x10, b"\x01")
    _wake(m)
    _load_host_lut(m)
    _refresh(m, 0xCF)
    assert m.refreshes == ["full", "partial"]
    assert len(m.violations) == 1 and "stale base" in m.violations[0], m.violations


def test_model_refreshes_need_drive_power_not_deep_sleep():
    m = SSD1680Model()
    _wake(m)
    _refresh(m)  # 0xF7: power on, OTP full waveform, power off
    assert not m.left_powered
    _refresh(m)  # another one without deep sleep in between: fine on the glass
    _refresh(m, 0xC0)  # power on only
    assert m.left_powered and m.refreshes == ["full", "full"]
    _refresh(m, 0x03)  # power off only
    assert not m.left_powered
    _refresh(m, 0x04)  # display mode 1 with the drive power off
    assert m.refreshes == ["full", "full", "full"]
    assert len(m.violations) == 1 and "without drive power" in m.violations[0], m.violations


def test_model_waveform_sources():
    # The 2.9" V2 glass has no mode 2 waveform in OTP (GxEPD2_290_T94_V2.h): 0x22 0xFF shows
    # nothing; the host LUT (0x32) runs, and OTP partial glass (otp_partial=True) runs too.
    m = SSD1680Model()
    _wake(m)
    _refresh(m)
    _refresh(m, 0xFF)
    assert m.waveforms == ["otp-full", "none"]
    assert len(m.violations) == 1 and "lacks" in m.violations[0]
    _load_host_lut(m)
    _refresh(m, 0xCF)
    assert m.waveforms[-1] == "host" and len(m.violations) == 1
    _refresh(m, 0xF7)  # loads the OTP full waveform over the host LUT
    assert m.lut_source == "otp-full"
    m = SSD1680Model(otp_partial=True)
    _wake(m)
    _refresh(m)
    _refresh(m, 0xFF)
    assert m.waveforms == ["otp-full", "otp-partial"] and m.violations == []


def test_model_pingpong_keeps_the_old_picture_following():
    # 0x37 byte F bit 6: after a mode 2 refresh RED RAM holds the new picture (what
    # Waveshare's epd2in9_V2 partial relies on: it writes only 0x24 between partials).
    for pingpong, stale in ((0x40, False), (0x00, True)):
        m = SSD1680Model()
        _wake(m)
        _refresh(m)
        _load_host_lut(m)
        _send(m, 0x37, bytes((0, 0, 0, 0, 0, pingpong, 0, 0, 0, 0)))
        _send(m, 0x24, b"\xff")  # one byte turns white (the RAMs held 0: black)
        _refresh(m, 0xCF)
        _send(m, 0x4E, b"\x00")
        _send(m, 0x4F, b"\x00\x00")
        _send(m, 0x24, b"\x00")  # and black again
        _refresh(m, 0xCF)
        # without ping-pong RED RAM still says black: the pixel is not driven, stays white
        assert m.pixel(0, 0) == (0 if stale else 1)
        assert bool(m.violations) == stale, m.violations
