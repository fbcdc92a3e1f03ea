# The whole unit on esp32-max7219-s0: firmware/main.py boots the profile on the fake machine
# module, with a 16-device MAX7219 chain model on the SPI bus and an S0 pulse train from the
# PV meter on pin 39 (the rig's, host_tools.sim.rig: a 50 ms pulse per Wh at 1000 imp/kWh),
# counted by the PCNT model (host_tools.sim.chips.pulses) as esp32.PCNT, and runs through the real
# Runner on a virtual clock. CPython and MicroPython.
# micropython-heap: 110000 (an ESP32 without PSRAM: the chain, pulse and PCNT models and the
# flash run on the host, host_tools/sim/board/modellink.py)
# micropython-vm: app (the deployed form: the app frozen into the 32-bit binary)
import framebuf
from repo import ROOT

from host_tools.sim.board import modellink
from host_tools.sim.platform import machine as fake
from host_tools.sim.platform.clock import Clock  # ticks_ms() wraps as a unit's, a small int
from sunprint.core.ledger import LIFETIME

DAY_START = 782236800  # 2024-10-15 00:00 local (UTC+8), firmware seconds
# (minutes, W) of the PV meter: 1000 imp/kWh, a pulse every 1.2..3.6 s
PROFILE = ((15, 1000.0), (20, 2500.0), (10, 3000.0), (15, 1800.0), (10, 2200.0))
NS_PER_MS = 1000000
BOARD = ROOT + "/boards/esp32-max7219-s0.json"


def _no_wait(ms):
    pass


def boot(start_s):
    from sunprint import status

    status.register(None, "")  # let an earlier test's unit go
    clock = Clock(start_s)
    rig = modellink.wire(BOARD, clock, fake)  # in MicroPython: the models on the host
    wdt = fake.WDT(timeout=30000)
    import main

    runner = main.main(
        fake,
        fs=modellink.flash(),
        board_path=BOARD,
        config_path=ROOT + "/no-config.json",
        fonts_dir=ROOT + "/assets/fonts",
        clock=clock,
        wdt=wdt,
        neopixel=None,
        esp32=rig.esp32,
        sleep_ms=_no_wait,
        # the sensor's bus driver waits on the virtual clock: a request's byte times and a
        # meter's latency pass in virtual time (the platform's clock, board.Platform)
        ticks_ms=clock.ticks_ms,
        bus_sleep_ms=clock.block_ms,
        run=False,
    )
    return runner, clock, rig, wdt


def _run_to(runner, clock, rig, t_ns):
    while clock.ns < t_ns:
        ns = clock.ns + runner.step() * NS_PER_MS
        clock.ns = ns if ns < t_ns else t_ns
        rig.update()  # the meter's pulses up to now


def test_max7219_s0_unit_counts_every_pulse_and_shows_the_render():
    start = DAY_START + 10 * 3600
    runner, clock, rig, wdt = boot(start)
    chain = rig.models["display"]
    unit = runner.unit
    truth_mws = 0  # mW * s the meter measured
    t_ns = start * 1000000000
    for minutes, w in PROFILE:
        rig.set_power(w)
        t_ns += minutes * 60000 * NS_PER_MS
        _run_to(runner, clock, rig, t_ns)
        truth_mws += int(w * 1000) * minutes * 60
    rig.set_power(0.0)
    _run_to(runner, clock, rig, t_ns + 30000 * NS_PER_MS)  # the last pulse's sample
    truth = truth_mws // 3600
    pulses = rig.pulses
    app = unit.app
    got = app.ledger.mwh(LIFETIME)
    assert pulses > 2000, pulses
    # every pulse, 1 Wh each, and only the part of a pulse not yet complete is missing (the
    # rig rounds a pulse's time up to the ns: a whole Wh at the very end comes just after it)
    assert got == pulses * 1000, (got, pulses)
    assert 0 <= truth - got <= 1000, (got, truth)
    # the chain shows the renderer's 64x8 picture centred on its 128x8, LED for LED
    fb = framebuf.FrameBuffer(unit.buffer, 64, 8, unit.display.BUFFER_FORMAT)
    w, h, leds = rig.picture()  # MONO_HLSB rows of the whole chain, 1 = lit
    assert (w, h) == (128, 8), (w, h)
    lit = 0
    for y in range(8):
        for x in range(128):
            want = fb.pixel(x - 32, y) if 32 <= x < 96 else 0
            assert leds[y * 16 + (x >> 3)] >> (7 - (x & 7)) & 1 == want, (x, y)
            lit += want
    assert lit > 10
    assert chain.violations == [] and chain.unknown == [], (chain.violations, chain.unknown)
    assert runner.tick_failures == 0 and not runner.starving
    assert not app.faults, app.faults
    assert wdt.resets == 0 and not wdt.check() and wdt.feeds > 100
    print("max7219-s0: booked", got, "mWh of", truth, "mWh;", chain.frames, "frames")
