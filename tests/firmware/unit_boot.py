# The whole unit as the test_unit_*.py files (and tests/host/ntp_unit.py) run it: firmware/main.py
# boots a board profile on the fake machine module with the profile's models wired on a virtual
# clock (host_tools/sim/board/modellink.py: in MicroPython the models run on the host, outside
# the unit's heap), and run_until drives the real Runner in virtual time. CPython and
# MicroPython (a helper module: tests/conftest.py compiles every tests/firmware/*.py).
#
#     runner, clock, rig, wdt = boot(BOARD, start_s)
#     feed = ModelTime(rig.models["sensor"], clock)   # a meter's register counts as time passes
#     run_until(runner, clock, start_s + 600, after=feed.catch_up)
from repo import ROOT

from host_tools.sim.board import modellink
from host_tools.sim.platform import machine as fake
from host_tools.sim.platform.clock import Clock  # ticks_ms() wraps as a unit's, a small int

FONTS = ROOT + "/assets/fonts"
NO_CONFIG = ROOT + "/no-config.json"  # none: the defaults, as on a first boot


def no_wait(ms):
    pass


def boot(board, start_s, fs=None, wired=None, config_path=NO_CONFIG, fonts_dir=FONTS, **kw):
    """main.main on the profile at `board` (a path), its models wired on a Clock at start_s
    (firmware seconds), not started: (runner, clock, rig, wdt). fs: the unit's flash (a fresh
    modellink.flash() by default); wired: the profile to wire the models from when the host
    cannot read `board` (a dict; dropped before the unit boots); kw: main.main's other keywords
    (open_file, boot_record, wdt, ...)."""
    from sunprint import status

    status.register(None, "")  # let an earlier test's unit go
    clock = Clock(start_s)
    rig = modellink.wire(board if wired is None else wired, clock, fake)
    wired = None  # the dict leaves the heap before the unit is built
    if "wdt" not in kw:
        kw["wdt"] = fake.WDT(timeout=30000)
    import main

    runner = main.main(
        fake,
        fs=fs if fs is not None else modellink.flash(),
        board_path=board,
        config_path=config_path,
        fonts_dir=fonts_dir,
        clock=clock,
        neopixel=rig.neopixel,  # the port's modules, where the board needs them
        esp32=rig.esp32,
        sleep_ms=no_wait,
        # the sensor's bus driver waits on the virtual clock: a request's byte times and a
        # meter's latency pass in virtual time (the platform's clock, board.Platform)
        ticks_ms=clock.ticks_ms,
        bus_sleep_ms=clock.block_ms,
        run=False,
        **kw,
    )
    return runner, clock, rig, kw["wdt"]


def run_until(runner, clock, end_s, before=None, after=None):
    """The Runner's loop in virtual time up to end_s (firmware seconds): each step's wait passes
    on the clock, to end_s at most. before(): called before each step (a chip's new level);
    after(): once the clock has moved (a model counting the time that passed)."""
    end_ns = end_s * 1000000000
    while clock.ns < end_ns:
        if before is not None:
            before()
        began = clock.ns  # the step's wait counts from its start (a bus wait within it too)
        ns = began + runner.step() * 1000000
        clock.ns = ns if ns < end_ns else end_ns
        if after is not None:
            after()


class ModelTime:
    """Hands a model that counts as time passes (a meter's register, a bus of meters) the
    virtual time since it was last handed any, in seconds: run_until(..., after=catch_up)."""

    def __init__(self, model, clock):
        self.model = model
        self.clock = clock
        self.seen_us = clock.us

    def catch_up(self):
        us = self.clock.us
        self.model.advance((us - self.seen_us) / 1000000)
        self.seen_us = us


class VRtc:
    """The ESP32's RTC on the virtual clock: 2000-01-01 00:00 at power-on, counting on."""

    def __init__(self, clock):
        self.clock = clock
        self.off = -clock.now()

    def wall(self):
        return self.clock.now() + self.off

    def set(self, wall):
        self.off = wall - self.clock.now()


def lit_pixels(unit, width, height, row_step=1):
    """How many pixels of the renderer's picture are set, on every row_step-th row: a sign it
    drew something."""
    import framebuf

    fb = framebuf.FrameBuffer(unit.buffer, width, height, unit.display.BUFFER_FORMAT)
    n = 0
    for y in range(0, height, row_step):
        for x in range(width):
            n += fb.pixel(x, y)
    return n


def print_booked(name, got, truth, refreshes):
    """One line for the log: what the ledger booked of the truth, and the panel's refreshes."""
    full = refreshes.count("full")
    partial = refreshes.count("partial")
    print(
        name + ": booked",
        got,
        "mWh of",
        truth,
        "mWh;",
        full,
        "full and",
        partial,
        "partial refreshes",
    )
