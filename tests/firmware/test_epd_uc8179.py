# UC8179 driver (Waveshare 7.5" V2, 800 x 480) against its controller model
# (host_tools/sim/chips/uc8179.py), compared pixel for pixel with the framebuf picture; and the model
# on its own. Plain test_* functions with bare asserts: runs under pytest and inside MicroPython
# (at 256 x 160 there, the base frame beside the picture: see epd_rig.MICROPYTHON).
import epd_steps as steps
import framebuf
from base_frame import track
from epd_rig import MICROPYTHON, NullPin, NullSPI, edit, framebuffer, mismatches, scene
from ssd1680_pins import send as _send
from ssd1680_pins import wait

from host_tools.sim.chips.uc8179 import UC8179Model
from sunprint.drivers.uc8179 import BUFFER_FORMAT, UC8179

W = 256 if MICROPYTHON else 800
H = 160 if MICROPYTHON else 480
WIN = (101, 40, 70, 24)  # x widened to bytes: 96..175
ALIGNED = (96, 40, 80, 24)
OUTSIDE = (W - 60, H - 50, 40, 30)
INIT = [0x01, 0x06, 0x00, 0x61, 0x15, 0x50, 0x60]  # EPD_7in5_V2.c Init, PON sent later


def _rig(busy_polls=3, stuck_busy=False, base=True):
    buf = bytearray(W * H // 8)  # first: the one large block (the model keeps its RAM in bands)
    m = UC8179Model(W, H, busy_polls=busy_polls, stuck_busy=stuck_busy)
    d = UC8179(m.spi, cs=m.cs, dc=m.dc, rst=m.rst, busy=m.busy, width=W, height=H)
    d.reset_timeout_ms = 40
    if base:
        track(d)
    fb = framebuffer(buf, W, H, framebuf.MONO_HLSB)
    scene(fb, W, H)
    fb.fill_rect(OUTSIDE[0], OUTSIDE[1], OUTSIDE[2], OUTSIDE[3], 0)
    return m, d, buf, fb


def _settle(m):
    return wait(m, busy=0)  # BUSY_N low = busy


def _wake(m):
    m.rst.value(0)
    m.rst.value(1)
    _settle(m)


def test_buffer_constants():
    d = UC8179(NullSPI(), cs=NullPin(), dc=NullPin(), rst=NullPin(), busy=NullPin(1))
    assert BUFFER_FORMAT == 3 == framebuf.MONO_HLSB == d.BUFFER_FORMAT
    assert (d.width, d.height, d.BUFFER_SIZE) == (800, 480, 48000)
    assert d.BUSY_LEVEL == 0


def test_full_refresh_matches_framebuf():
    m, d, buf, fb = _rig()
    d.show(buf)
    assert m.refreshes == ["full"] and m.areas == [(0, 0, W, H)]
    assert m.violations == [] and m.unknown == []
    assert mismatches(m, fb, W, H) == []
    steps.glass_is_the_buffer(m, buf, W, (0, 1, H // 2, H - 1))
    assert m.asleep and not m.powered and not m.left_powered
    # init 24, DTM1 + DTM2 (1 + picture each), PON, DRF, CDI F7 2, POF, DSLP 2
    assert d.bytes_sent == m.bytes_in == 24 + 2 * (1 + W * H // 8) + 1 + 1 + 2 + 1 + 2


def test_landscape_mono_hlsb_is_white_ones():
    m = UC8179Model(96, 40)
    d = UC8179(m.spi, cs=m.cs, dc=m.dc, rst=m.rst, busy=m.busy, width=96, height=40)
    steps.white_ones(m, d, 96, 40)


def test_window_partial_changes_only_the_window():
    m, d, buf, fb = _rig()
    full_bytes = steps.edited_window(m, d, buf, fb, W, H, WIN, ALIGNED, OUTSIDE)
    assert m.areas[-1] == ALIGNED
    # from standby: CDI 3, PTIN, PTL 10, DTM2 + 10 bytes x 24 rows, PON, DRF, PTOUT, CDI F7 2,
    # POF (the window once: N2OCP copies it to OLD)
    window_bytes = steps.window_again(d, buf, fb, WIN)
    assert window_bytes == 10 * 24 + 21, window_bytes
    assert window_bytes * 30 < full_bytes
    assert m.violations == []
    d.show(buf)  # the stale block outside goes out with the next full refresh
    assert mismatches(m, fb, W, H) == []


def test_command_sequences():
    m, d, buf, fb = _rig()
    d.show(buf)
    assert m.commands == bytes(INIT + [0x10, 0x13, 0x04, 0x12, 0x50, 0x02, 0x07])
    assert m.registers[0x01] == b"\x07\x07\x3f\x3f"
    assert m.registers[0x06] == b"\x17\x17\x28\x17"
    assert m.registers[0x00] == b"\x1f"
    assert m.registers[0x61] == bytes((W >> 8, W & 0xFF, H >> 8, H & 0xFF))
    assert m.registers[0x50] == b"\xf7"  # 0x10 0x07 for the refresh, then 0xF7 before POF
    assert m.registers[0x07] == b"\xa5"
    # a window after the full refresh's deep sleep: EPD_7IN5_V2_Init_Part, the OLD RAM
    # restored whole from the base frame, then _Display_Part
    m.commands = bytearray()
    d.show_window(buf, W - 20, H - 10, 20, 10)
    part = [0x50, 0x91, 0x90, 0x13, 0x04, 0x12, 0x92, 0x50, 0x02]
    assert m.commands == bytes([0x00, 0xE0, 0xE5, 0x10] + part)
    x0 = (W - 20) & ~7
    ptl = (x0 >> 8, x0 & 0xFF, (W - 1) >> 8, (W - 1) & 0xFF, (H - 10) >> 8, (H - 10) & 0xFF)
    assert m.registers[0x90] == bytes(ptl + ((H - 1) >> 8, (H - 1) & 0xFF, 1))
    assert m.registers[0xE0] == b"\x02" and m.registers[0xE5] == b"\x6e"
    m.commands = bytearray()
    d.show(buf, False)  # a partial of the whole panel from standby: a window of everything
    assert m.commands == bytes(part)
    assert m.registers[0x90] == bytes(
        (0, 0, (W - 1) >> 8, (W - 1) & 0xFF, 0, 0, (H - 1) >> 8, (H - 1) & 0xFF, 1)
    )
    assert m.refreshes == ["full", "partial", "partial"] and m.violations == []


def test_updates_in_a_row_keep_the_base():
    m, d, buf, fb = _rig()
    steps.updates_in_a_row(m, d, buf, fb, W, H, areas=True, power=True)


def test_first_window_is_a_full_refresh():
    m, d, buf, fb = _rig()
    d.show_window(buf, *WIN)
    assert m.refreshes == ["full"] and m.areas == [(0, 0, W, H)]
    assert mismatches(m, fb, W, H) == []


def test_non_blocking_shape():
    # begin_show_window sends the picture and PON; busy() sends DRF, then PTOUT, CDI F7 and
    # POF, each once BUSY_N is released; finish() sends nothing more after a partial (the
    # controller stays awake, power off). Nothing waits for the refresh.
    m, d, buf, fb = _rig(busy_polls=5)
    d.show(buf)
    m.commands = bytearray()
    d.begin_show_window(buf, *WIN)
    assert m.commands[-2:] == b"\x13\x04" and m.refreshes == ["full"]
    steps.finish_refused_while_busy(d)
    polls = 0
    while d.busy():
        polls += 1
        assert polls < 100
    assert m.commands[-6:] == b"\x13\x04\x12\x92\x50\x02"
    assert m.refreshes == ["full", "partial"] and not m.powered and not m.asleep
    n = len(m.commands)
    d.finish()
    assert len(m.commands) == n and not m.asleep
    d.sleep()
    assert m.commands[-1] == 0x07 and m.asleep
    assert m.violations == []


def test_busy_timeout_leaves_the_panel_asleep():
    m, d, buf, fb = _rig()
    steps.busy_timeout_leaves_the_panel_asleep(m, d, buf, fb, W, H, WIN, power=True)
    assert m.violations == []


def test_busy_stuck_from_the_start():
    m, d, buf, fb = _rig(stuck_busy=True)
    steps.times_out(d, buf)
    assert m.refreshes == [] and m.asleep and not m.powered


def test_partial_after_ram_loss_without_a_base_is_full():
    # The RAM is lost in deep sleep: with no base frame to restore it from, the driver turns a
    # partial after deep sleep into a full refresh rather than compare against noise.
    m, d, buf, fb = _rig(base=False)
    d.show(buf)
    edit(fb, WIN, OUTSIDE)
    d.show_window(buf, *WIN)
    assert m.refreshes == ["full", "full"] and m.violations == []
    assert mismatches(m, fb, W, H) == []


def test_model_polarity_and_protocol_flags():
    m = UC8179Model(64, 16)
    _wake(m)
    _send(m, 0x00, b"\x1f")
    _send(m, 0x61, b"\x00\x40\x00\x10")
    _send(m, 0x50, b"\x11\x07")  # DDX = 01: a DTM2 bit 1 is white
    _send(m, 0x10, bytes(128))  # OLD written: a full refresh compares it with NEW
    _send(m, 0x13, b"\xf0" + bytes(127))
    _send(m, 0x12)  # DRF without PON: nothing happens
    assert m.refreshes == [] and "power is off" in m.violations[-1]
    _send(m, 0x04)
    _settle(m)
    _send(m, 0x12)
    _settle(m)
    assert m.refreshes == ["full"]
    assert m.pixel(0, 0) == 0 and m.pixel(4, 0) == 1 and m.pixel(0, 1) == 1
    _send(m, 0x07, b"\x00")  # wrong check code: ignored
    assert not m.asleep and "check code" in m.violations[-1]
    _send(m, 0x07, b"\xa5")  # still powered: flagged, but asleep
    assert m.asleep and "no POF" in m.violations[-1]
    n = len(m.violations)
    _send(m, 0x04)  # ignored while asleep
    assert m.ignored == 1 and len(m.violations) == n
    _wake(m)
    _send(m, 0x91)
    _send(m, 0x90, b"\x00\x09\x00\x0e\x00\x02\x00\x03\x01")  # x 8..15, y 2..3
    _send(m, 0x13, b"\x55\x66\x77")  # one byte too many
    assert (m.ram_new.get(1, 2), m.ram_new.get(1, 3)) == (0x55, 0x66)
    assert m.overflow == 1 and "beyond the window" in m.violations[-1]
    _send(m, 0xAB)
    assert m.unknown == [0xAB]


def test_model_knows_the_glass():
    # TRES after a reset is the panel's (Waveshare's Init_Part never sends it); OLD unwritten
    # under a full refresh is flagged (KW mode compares OLD with NEW); the fast partial
    # waveform needs 2023 glass; register LUTs must all be loaded.
    m = UC8179Model(64, 16)
    _wake(m)
    _send(m, 0x00, b"\x1f")
    _send(m, 0x04)
    _settle(m)
    _send(m, 0x12)  # full refresh, OLD never written
    _settle(m)
    assert len(m.violations) == 1 and "never written" in m.violations[0], m.violations
    for revision in ("2023", "old"):
        m = UC8179Model(64, 16, revision=revision)
        _wake(m)
        _send(m, 0x00, b"\x1f")
        _send(m, 0x10, bytes(128))
        _send(m, 0x13, bytes(128))
        _send(m, 0x04)
        _settle(m)
        _send(m, 0x12)
        _settle(m)
        _send(m, 0xE0, b"\x02")
        _send(m, 0xE5, b"\x6e")
        _send(m, 0x91)
        _send(m, 0x90, b"\x00\x00\x00\x07\x00\x00\x00\x00\x01")
        _send(m, 0x12)
        _settle(m)
        assert m.waveforms == ["otp-full", "otp-fast-partial" if revision == "2023" else "none"]
        assert len(m.violations) == (0 if revision == "2023" else 1), m.violations
    m = UC8179Model(64, 16)
    _wake(m)
    _send(m, 0x00, b"\x3f")  # REG: LUTs from registers
    for lut in (0x20, 0x21, 0x22, 0x23):  # LUTKK 0x24 missing
        _send(m, lut, bytes(42))
    _send(m, 0x04)
    _settle(m)
    _send(m, 0x12)
    _settle(m)
    assert m.waveforms == ["none"] and "register LUTs" in m.violations[-1]


def test_driver_allocates_nothing_per_update():
    buf = bytearray(W * H // 8)
    d = UC8179(
        NullSPI(), cs=NullPin(), dc=NullPin(), rst=NullPin(), busy=NullPin(1), width=W, height=H
    )
    d.set_base(buf)  # partials after a full refresh wake and restore (no room for a 2nd frame)
    steps.allocates_nothing_per_update(d, buf, W, H, WIN)
