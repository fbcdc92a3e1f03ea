# Safe mode (sunprint.safemode): the boot counter, its reason, power-cut safety, the SERVICE
# screen. CPython and MicroPython.
import framebuf

from host_tools.sim.platform.faultfs import AFTER, BEFORE, FaultFS, PowerCut
from sunprint import safemode


class Record:
    """A read()/write(bytes) store in memory (what RtcRecord does with RTC memory)."""

    def __init__(self, data=None):
        self.data = data
        self.fail = False

    def read(self):
        if self.fail:
            raise OSError(5, "EIO")
        return self.data

    def write(self, data):
        if self.fail:
            raise OSError(5, "EIO")
        self.data = bytes(data)


def test_three_crashed_boots_enter_safe_mode_with_the_reason():
    rec = Record()
    assert safemode.boot(rec) is None  # first boot
    safemode.note_fault(rec, "sensor: I2C no ACK")
    assert safemode.boot(rec) is None  # crashed once
    assert safemode.boot(rec) is None  # crashed twice
    safemode.note_fault(rec, "tick: MemoryError")
    reason = safemode.boot(rec)  # crashed three times in a row
    assert reason == "3 crashed boots: tick: MemoryError"
    assert safemode.in_safe_mode(rec) and safemode.reason(rec) == "tick: MemoryError"
    assert safemode.boot(rec) is not None  # stays until a technician clears it
    safemode.clear(rec)
    assert safemode.boot(rec) is None and not safemode.in_safe_mode(rec)


def test_a_healthy_run_resets_the_count():
    rec = Record()
    for _ in range(3):
        safemode.note_boot(rec)
    assert safemode.crashed_boots(rec) == 2
    safemode.mark_healthy(rec)  # this boot ran 10 minutes
    assert safemode.load(rec) == (0, "")
    assert safemode.boot(rec) is None and safemode.boot(rec) is None
    assert safemode.boot(rec) is None  # two crashes only
    assert safemode.boot(rec) is not None  # three: reason unknown
    assert safemode.reason(rec) == "unknown"


def test_reset_causes():
    rec = Record()
    for _ in range(3):
        safemode.note_boot(rec)
    safemode.note_fault(rec, "sensor: timeout")
    assert safemode.note_boot(rec, safemode.WATCHDOG) == 3
    assert safemode.reason(rec) == "watchdog reset; sensor: timeout"
    safemode.note_boot(rec, safemode.WATCHDOG)  # not prefixed twice
    assert safemode.reason(rec) == "watchdog reset; sensor: timeout"
    assert safemode.note_boot(rec, safemode.POWER_ON) == 0  # a power cycle is a fresh try
    assert safemode.load(rec) == (1, "")
    assert safemode.boot_cause() in (None, safemode.POWER_ON, safemode.WATCHDOG)


def test_torn_or_bad_records_read_as_zero_and_never_raise():
    rec = Record()
    safemode.note_boot(rec)
    safemode.note_fault(rec, "a reason that is long enough to be cut by the record, yes " * 2)
    good = rec.data
    assert len(safemode.load(rec)[1]) <= safemode.MAX_REASON
    for n in range(len(good)):
        rec.data = good[:n]  # torn at every length
        assert safemode.load(rec) == (0, "")
        assert safemode.boot(rec) is None
    for i in range(len(good)):
        bad = bytearray(good)
        bad[i] ^= 0x40
        rec.data = bytes(bad)
        assert safemode.load(rec) == (0, "")
    rec.data = b"\xff" * 4096  # erased flash / garbage
    assert safemode.load(rec) == (0, "")
    rec.data = b""  # RTC memory never written
    assert safemode.boot(rec) is None
    rec.fail = True  # the backend itself fails
    assert safemode.load(rec) == (0, "") and safemode.boot(rec) is None


def test_multibyte_reason_is_cut_on_a_character_boundary():
    rec = Record()
    safemode.note_fault(rec, "传感器故障" * 10)
    r = safemode.load(rec)[1]
    assert r and len(r.encode("utf-8")) <= safemode.MAX_REASON and r == "传感器故障" * (len(r) // 5)


def test_file_record_survives_a_power_cut_at_every_point():
    fs = FaultFS()
    rec = safemode.FileRecord("boot.rec", fs)
    for _ in range(2):
        safemode.note_boot(rec)
    base = fs.ops
    safemode.note_boot(rec)
    ops = fs.ops - base
    assert ops >= 4
    for mode in (BEFORE, AFTER):
        for cut in range(ops):
            f2 = FaultFS()
            r2 = safemode.FileRecord("boot.rec", f2)
            safemode.note_boot(r2)
            safemode.note_boot(r2)
            f2 = f2.reboot(cut_at=cut, cut_mode=mode, torn=3)
            r2 = safemode.FileRecord("boot.rec", f2)
            try:
                safemode.note_boot(r2)
            except PowerCut:
                pass
            after = safemode.FileRecord("boot.rec", f2.reboot())
            assert safemode.load(after)[0] in (2, 3)  # the old record or the new one


def test_file_record_on_the_real_filesystem():
    rec = safemode.FileRecord("boot-test.rec")
    assert safemode.load(rec) == (0, "")  # no file yet
    safemode.note_boot(rec)
    safemode.note_fault(rec, "x")
    assert safemode.load(safemode.FileRecord("boot-test.rec")) == (1, "x")


class Rtc:
    def __init__(self):
        self.mem = b""

    def memory(self, data=None):
        if data is None:
            return self.mem
        self.mem = bytes(data)


def test_rtc_record():
    rec = safemode.RtcRecord(Rtc())
    assert safemode.boot(rec) is None
    assert safemode.load(rec) == (1, "")


def _ink(buf, fb, x0, y0, x1, y1):
    n = 0
    for y in range(y0, y1):
        for x in range(x0, x1):
            n += fb.pixel(x, y)
    return n


def test_service_screen_draws_service_and_the_reason():
    w, h = 296, 128
    buf = bytearray(w * h // 8)
    fb = framebuf.FrameBuffer(buf, w, h, framebuf.MONO_HLSB)
    fb.fill(1)
    lines = safemode.service_screen(fb, "3 crashed boots: tick: MemoryError in render", w, h)
    assert lines == 2  # 37 characters a line at 8 px
    assert _ink(buf, fb, 0, 0, w, 44) > 500  # "SERVICE" drawn large (scale 5)
    # the same word in the 8x8 font, scaled: pixel (x, y) of the small one is a 5x5 square
    small = framebuf.FrameBuffer(bytearray(56), 56, 8, framebuf.MONO_HLSB)
    small.text("SERVICE", 0, 0, 1)
    x0 = (w - 56 * 5) // 2
    for y in range(8):
        for x in range(56):
            assert fb.pixel(x0 + x * 5 + 2, 2 + y * 5 + 2) == small.pixel(x, y)
    assert _ink(buf, fb, 0, 46, w, 56) > 50  # first reason line
    assert _ink(buf, fb, 0, 56, w, 66) > 20  # second
    assert _ink(buf, fb, 0, 66, w, h) == 0


class Panel:
    def __init__(self):
        self.shown = None
        self.polls = 0
        self.finished = False

    def begin_show(self, buf, full):
        self.shown = (bytes(buf), full)

    def busy(self):
        self.polls += 1
        return self.polls < 3

    def finish(self):
        self.finished = True


class TinyRenderer:
    def __init__(self, w, h):
        self.width, self.height = w, h
        self.fb_buffer = bytearray(w * h // 8)
        self.fb = framebuf.FrameBuffer(self.fb_buffer, w, h, framebuf.MONO_HLSB)


def test_show_service_on_a_panel_and_an_led_matrix():
    r = TinyRenderer(128, 64)
    panel = Panel()
    assert safemode.show_service(panel, r, "watchdog reset")
    assert panel.finished and panel.shown is not None and panel.shown[1] is True
    assert any(panel.shown[0])
    led = TinyRenderer(32, 8)  # no room for the reason: "SVC" only
    assert safemode.service_screen(led, "anything") == 0
    assert _ink(led.fb_buffer, led.fb, 0, 0, 32, 8) > 10
