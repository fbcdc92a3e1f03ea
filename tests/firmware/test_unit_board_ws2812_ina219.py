# The whole unit on esp32-ws2812-ina219: firmware/main.py boots the profile on the fake machine
# module, with an INA219 model on the I2C bus and host_tools.sim.chips.neopixel as the neopixel
# module (its LedMatrix decodes the strip), and runs through the real Runner on a virtual
# clock. CPython and MicroPython.
# micropython-heap: 110000 (an ESP32 without PSRAM: the INA219 and strip models and the flash
# run on the host, host_tools/sim/board/modellink.py)
# micropython-vm: app (the deployed form: the app frozen into the 32-bit binary)
from repo import ROOT
from unit_boot import boot, run_until
from unit_report import lit_pixels

from sunprint.core.ledger import LIFETIME

DAY_START = 782236800  # 2024-10-15 00:00 local (UTC+8), firmware seconds
BUS_V = 17.5  # a "12 V" panel at its maximum power point
# (minutes, W): a cloudy hour and a quarter, below the 3.2 A the profile's INA219 measures
BOARD = ROOT + "/boards/esp32-ws2812-ina219.json"
PROFILE = ((10, 20.0), (15, 45.0), (10, 50.0), (5, 30.0), (20, 40.0), (10, 5.0), (5, 35.0))


def test_ws2812_ina219_unit_books_the_hour_and_shows_the_render():
    start = DAY_START + 10 * 3600  # 10:00 local: the schedule's daytime brightness
    runner, clock, rig, wdt = boot(BOARD, start)
    chip = rig.models["sensor"]
    unit = runner.unit
    strip = unit.panel.np
    truth_mws = 0  # mW * s fed to the chip
    seed = 7
    t = start
    for minutes, w in PROFILE:
        for _ in range(minutes * 6):
            # a new 10 s level, with some noise: a constant reading would trip stuck_after
            seed = (1664525 * seed + 1013904223) & 0xFFFFFFFF
            mw = int(w * 1000) + (seed >> 24) * 4 - 512  # +-0.5 W
            chip.set(mw / 1000 / BUS_V, BUS_V)
            t += 10
            # continuous mode: a fresh conversion is always done by the poll
            run_until(runner, clock, t, before=chip.convert)
            truth_mws += mw * 10
    truth = truth_mws // 3600
    app = unit.app
    got = app.ledger.mwh(LIFETIME)
    assert truth > 40000, truth  # about 40 Wh in 75 minutes
    # one 10 s sample of lag per step, the INA219's 0.1 mA and 4 mV steps
    assert abs(got - truth) <= truth // 100, (got, truth)
    # the strip shows, LED for LED, the picture the renderer drew
    assert strip.writes > 100
    assert rig.glass_differs(unit.buffer, unit.display.BUFFER_FORMAT) == 0
    assert lit_pixels(unit, 32, 8) > 10
    assert runner.tick_failures == 0 and not runner.starving
    # the one sensor fault is the first poll: the INA219 has no conversion yet after set-up
    assert list(app.faults.items()) in ([], [("sensor", 1)]), app.faults
    assert wdt.resets == 0 and not wdt.check() and wdt.feeds > 100
    print("ws2812-ina219: booked", got, "mWh of", truth, "mWh;", strip.writes, "writes")
