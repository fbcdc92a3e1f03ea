"""Safe mode: after three crashed boots in a row the sign shows SERVICE and runs nothing.

A boot record counts the boots that have not yet run HEALTHY_S (10 minutes) and keeps the last
fault noted before a crash. At boot:

    rec = RtcRecord(machine.RTC())          # or FileRecord("boot.rec")
    reason = boot(rec, cause)               # note_boot + in_safe_mode
    if reason is not None:
        show_service(panel, renderer, reason)  # SERVICE and the reason; then return to the REPL
        return                              # sensors and the display loop stay off
    ... build the app, Runner(app, boot=rec, ...).start()   # the runner calls mark_healthy

A boot that runs 10 minutes resets the count (mark_healthy). A crash of any kind (an exception
out of main, a watchdog reset, a hang) leaves the count up, so the next boot sees it. A
technician calls clear(rec) to leave safe mode.

The record (its format, FileRecord, RtcRecord, note_fault, mark_healthy) is sunprint/bootrec.py:
the runner uses it all along, while this module is boot-only (main.py lets it leave the heap).
"""

from sunprint.bootrec import (  # noqa: F401 - the record's API, here as well
    MAX_REASON,
    FileRecord,
    RtcRecord,
    load,
    mark_healthy,
    note_fault,
    parse,
    save,
)
from sunprint.compat import const

HEALTHY_S = const(600)  # a boot that runs this long is a good boot
CRASH_LIMIT = const(3)  # crashed boots in a row before safe mode

POWER_ON = "power"  # reset causes for note_boot (see boot_cause)
WATCHDOG = "watchdog"


def note_boot(store, cause=None):
    """At boot, before anything that could crash: count this boot. Returns the number of
    boots before this one that crashed (did not run HEALTHY_S), in a row.

    cause: POWER_ON starts the count afresh (a power cycle is a fresh try); WATCHDOG marks
    the reason (the last boot hung); None for any other reset. A backend that cannot be
    written is ignored: safe mode is a help, never a reason not to boot."""
    count, reason = load(store)
    if cause == POWER_ON:
        count, reason = 0, ""
    elif cause == WATCHDOG and count > 0 and not reason.startswith("watchdog"):
        reason = "watchdog reset; " + reason if reason else "watchdog reset"
    count += 1
    try:
        save(store, count, reason)
    except OSError:
        pass
    return count - 1


def crashed_boots(store):
    """Boots before this one that crashed in a row (call after note_boot)."""
    count = load(store)[0]
    return count - 1 if count > 0 else 0


def in_safe_mode(store, limit=CRASH_LIMIT):
    """True after `limit` crashed boots in a row (call after note_boot)."""
    return crashed_boots(store) >= limit


def reason(store):
    """What the record says the last crash was about ("unknown" if nothing was noted)."""
    r = load(store)[1]
    return r if r else "unknown"


def boot(store, cause=None, limit=CRASH_LIMIT):
    """note_boot, then the safe-mode reason if this boot must stay in safe mode, else None."""
    crashed = note_boot(store, cause)
    if crashed >= limit:
        return "%d crashed boots: %s" % (crashed, reason(store))
    return None


def not_a_crash(store):
    """This boot stops on purpose (a file the unit cannot run, shown on the service screen):
    it is not counted towards safe mode. Best effort, as note_boot."""
    count, r = load(store)
    if count:
        try:
            save(store, count - 1, r)
        except OSError:
            pass


def clear(store):
    """For a technician: leave safe mode (the next boot runs normally)."""
    save(store, 0, "")


def boot_cause():
    """POWER_ON, WATCHDOG or None from machine.reset_cause(), on a port that has it."""
    try:
        import machine
    except ImportError:
        return None
    rc = getattr(machine, "reset_cause", None)
    if rc is None:
        return None
    cause = rc()
    if cause == getattr(machine, "PWRON_RESET", -1):
        return POWER_ON
    if cause == getattr(machine, "WDT_RESET", -1):
        return WATCHDOG
    return None


def _wrap(text, cols, rows):
    """Up to `rows` lines of at most `cols` characters, broken at spaces where possible."""
    lines = []
    text = text.strip()
    while text and len(lines) < rows:
        if len(text) <= cols:
            lines.append(text)
            break
        cut = text.rfind(" ", 0, cols + 1)
        if cut <= 0:
            cut = cols
        lines.append(text[:cut].rstrip())
        text = text[cut:].strip()
    return lines


def service_screen(target, reason, width=0, height=0):
    """Draw "SERVICE" large and the reason small (framebuf's 8x8 font, so no font file is
    needed) into `target`: a ui.render.Renderer (its fb and size) or a framebuf.FrameBuffer
    (give width and height). Returns the number of reason lines drawn."""
    import framebuf

    fb = getattr(target, "fb", None)
    if fb is not None:
        width, height = target.width, target.height
    else:
        fb = target
    fb.fill(0)
    word = "SERVICE" if width >= 56 else "SVC"
    w = 8 * len(word)
    scale = min(width // w, (height // 2) // 8) if height >= 24 else 1
    if scale < 1:
        scale = 1
    if scale == 1:
        fb.text(word, max(0, (width - w) // 2), 0, 1)
        top = 10
    else:
        # The 8x8 text drawn once into a scratch buffer, then each pixel as a square.
        scratch = bytearray(w)  # w x 8 pixels, 1 bit each
        small = framebuf.FrameBuffer(scratch, w, 8, framebuf.MONO_HLSB)
        small.text(word, 0, 0, 1)
        x0 = (width - w * scale) // 2
        y0 = 2
        for y in range(8):
            for x in range(w):
                if small.pixel(x, y):
                    fb.fill_rect(x0 + x * scale, y0 + y * scale, scale, scale, 1)
        top = y0 + 8 * scale + 4
    rows = (height - top) // 10
    lines = _wrap(reason, width // 8, rows) if rows > 0 else []
    y = top
    for line in lines:
        fb.text(line, 0, y, 1)
        y += 10
    return len(lines)


class _Picture:
    # What service_screen and show_service draw on when there is no renderer: a frame buffer
    # the size and format of the panel.
    def __init__(self, panel):
        import framebuf

        self.width = panel.width
        self.height = panel.height
        self.fb_buffer = bytearray(panel.BUFFER_SIZE)
        self.fb = framebuf.FrameBuffer(self.fb_buffer, self.width, self.height, panel.BUFFER_FORMAT)


def show_on_panel(panel, reason, timeout_ms=10000):
    """show_service on a bare panel driver (a board profile was refused: no renderer)."""
    return show_service(panel, _Picture(panel), reason, timeout_ms)


def show_service(panel, renderer, reason, timeout_ms=10000):
    """Draw the service screen with `renderer` and put it on `panel` (full refresh; wait for
    busy to end, then finish). Best effort: a panel error is ignored, the REPL stays free."""
    from sunprint.compat import sleep_ms, ticks_diff, ticks_ms

    service_screen(renderer, reason)
    if panel is None:
        return False
    try:
        panel.begin_show(renderer.fb_buffer, True)
        t0 = ticks_ms()
        while panel.busy() and ticks_diff(ticks_ms(), t0) < timeout_ms:
            sleep_ms(20)
        panel.finish()
    except OSError:
        return False
    return True
