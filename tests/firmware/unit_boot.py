# The whole unit as the test_unit_*.py files (and tests/host/ntp_unit.py) run it: firmware/main.py
# boots a board profile on the fake machine module with the profile's models wired on a virtual
# clock (host_tools/sim/board/modellink.py: in MicroPython the models run on the host, outside
# the unit's heap), and run_until drives the real Runner in virtual time. CPython and
# MicroPython (a helper module: tests/conftest.py compiles every tests/firmware/*.py).
#
#     runner, clock, rig, wdt = boot(BOARD, start_s)
#     run_until(runner, clock, start_s + 600, model=rig.models["sensor"])  # a meter counting on
#
# Small on purpose: the community units run at 110000 B with little to spare (unit_report.py
# and vrtc.py hold what only some tests need).
from repo import ROOT

from host_tools.sim.board import modellink
from host_tools.sim.platform import machine as fake
from host_tools.sim.platform.clock import Clock  # ticks_ms() wraps as a unit's, a small int


def no_wait(ms):
    pass


def boot(board, start_s, fs=None, wired=None, config_path=None, **kw):
    """main.main on the profile at `board` (a path), its models wired on a Clock at start_s
    (firmware seconds), not started: (runner, clock, rig, wdt). fs: the unit's flash (a fresh
    modellink.flash() by default); wired: the profile to wire the models from when the host
    cannot read `board` (a dict; dropped before the unit boots); config_path: None for none
    (the defaults, as on a first boot); kw: main.main's other keywords (open_file, ...)."""
    from sunprint import status

    status.register(None, "")  # let an earlier test's unit go
    clock = Clock(start_s)
    rig = modellink.wire(board if wired is None else wired, clock, fake)
    wired = None  # the dict leaves the heap before the unit is built
    wdt = fake.WDT(timeout=30000)
    import main

    runner = main.main(
        fake,
        fs=fs if fs is not None else modellink.flash(),
        board_path=board,
        config_path=config_path or ROOT + "/no-config.json",
        fonts_dir=ROOT + "/assets/fonts",
        clock=clock,
        wdt=wdt,
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
    return runner, clock, rig, wdt


def run_until(runner, clock, end_s, before=None, after=None, model=None):
    """The Runner's loop in virtual time up to end_s (firmware seconds): each step's wait passes
    on the clock, to end_s at most. before(): called before each step (a chip's new level);
    after(): once the clock has moved; model: one that counts as time passes (a meter's
    register, a bus of meters), handed the time that passed, in seconds, once the clock moved
    (it has counted up to now when this is called, and has when this returns)."""
    end_ns = end_s * 1000000000
    seen_us = clock.us
    while clock.ns < end_ns:
        if before is not None:
            before()
        began = clock.ns  # the step's wait counts from its start (a bus wait within it too)
        ns = began + runner.step() * 1000000
        clock.ns = ns if ns < end_ns else end_ns
        if after is not None:
            after()
        if model is not None:
            us = clock.us
            model.advance((us - seen_us) / 1000000)
            seen_us = us
