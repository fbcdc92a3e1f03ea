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
from unit_boot import boot, run_until
from unit_profile import run_profile

from sunprint.core.ledger import LIFETIME

DAY_START = 782236800  # 2024-10-15 00:00 local (UTC+8), firmware seconds
# (minutes, W) of the PV meter: 1000 imp/kWh, a pulse every 1.2..3.6 s
PROFILE = ((15, 1000.0), (20, 2500.0), (10, 3000.0), (15, 1800.0), (10, 2200.0))
BOARD = ROOT + "/boards/esp32-max7219-s0.json"


def test_max7219_s0_unit_counts_every_pulse_and_shows_the_render():
    start = DAY_START + 10 * 3600
    runner, clock, rig, wdt = boot(BOARD, start)
    chain = rig.models["display"]
    unit = runner.unit
    # after each step, the meter's pulses up to now
    t = run_profile(runner, clock, start, PROFILE, rig.set_power, after=rig.update)
    truth_mws = 0  # mW * s the meter measured
    for minutes, w in PROFILE:
        truth_mws += int(w * 1000) * minutes * 60
    rig.set_power(0.0)
    run_until(runner, clock, t + 30, after=rig.update)  # the last pulse's sample
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
