# The whole unit on esp32-epd42-dlt645: firmware/main.py boots the profile on the fake machine
# module, with the SSD1683 model as the 4.2" panel and a DL/T 645-2007 meter model behind an
# RS-485 line (host_tools.sim.chips.dlt645_meter.FakeSerial, DE on pin 4), and runs through the real
# Runner on a virtual clock. CPython and MicroPython.
# micropython-heap: 110000 (an ESP32 without PSRAM: the panel and meter models and the flash
# run on the host, host_tools/sim/board/modellink.py)
# micropython-vm: app (the deployed form: the app frozen into the 32-bit binary)
from repo import ROOT
from unit_boot import boot as boot_unit
from unit_profile import run_profile
from unit_report import lit_pixels

from sunprint.core.ledger import LIFETIME

DAY_START = 782236800  # 2024-10-15 00:00 local (UTC+8), firmware seconds
# (minutes, W) of the PV string the meter measures
PROFILE = ((10, 1500.0), (15, 4200.0), (10, 6000.0), (10, 2500.0), (20, 5200.0), (10, 800.0))
E0_KWH = 12345.67
BOARD = ROOT + "/boards/esp32-epd42-dlt645.json"


def boot(start_s):
    runner, clock, rig, wdt = boot_unit(BOARD, start_s)
    meter = rig.models["sensor"]
    meter.energy_kwh = E0_KWH
    return runner, clock, meter, rig.models["uart"], rig, wdt


def test_epd42_dlt645_unit_books_the_register_and_shows_the_render():
    start = DAY_START + 10 * 3600
    runner, clock, meter, line, rig, wdt = boot(start)
    panel = rig.models["display"]
    unit = runner.unit

    def set_power(w):
        meter.power_w = w

    # the register counts as time passes
    run_profile(runner, clock, start, PROFILE, set_power, model=meter)
    truth = int((meter.energy_kwh - E0_KWH) * 1000000)
    app = unit.app
    got = app.ledger.mwh(LIFETIME)
    assert truth > 4000000, truth
    # whole 10 Wh register counts; the first reading is the base, so the energy before it
    # (one 10 s sample at most) and the last count's remainder are not booked
    assert got % 10000 == 0, got
    assert 0 <= truth - got <= 30000, (got, truth)
    # the glass is the renderer's picture, pixel for pixel
    refreshes = panel.refreshes
    assert refreshes and refreshes[0] == "full" and "partial" in refreshes
    assert rig.glass_differs(unit.buffer, unit.display.BUFFER_FORMAT) == 0
    assert lit_pixels(unit, 400, 300, row_step=2) > 500  # black ink
    assert panel.violations == [], panel.violations
    assert line.lost_tx == 0 and line.lost_rx == 0, (line.lost_tx, line.lost_rx)
    assert runner.tick_failures == 0 and not runner.starving
    assert not app.faults, app.faults
    assert wdt.resets == 0 and not wdt.check() and wdt.feeds > 100
    full, partial = refreshes.count("full"), refreshes.count("partial")
    print(
        "epd42-dlt645: booked", got, "mWh of", truth, "mWh;", full, "full and", partial, "partial"
    )
