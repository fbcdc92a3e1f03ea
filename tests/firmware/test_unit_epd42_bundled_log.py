# The whole unit on esp32-epd42-dlt645 (test_unit_board_epd42_dlt645.py's rig) through the
# bundled Zhongshan day's power on the DL/T 645 meter, in a VM of its own: a unit boots into a
# fresh heap (booted after another unit in the same VM, the first unit's leftovers in the fake
# machine's tables can leave no 15000-byte hole for the frame). CPython and MicroPython.
# micropython-heap: 110000 (an ESP32 without PSRAM: the panel and meter models and the flash
# run on the host, host_tools/sim/board/modellink.py)
# micropython-vm: app (the deployed form: the app frozen into the 32-bit binary)
from repo import ROOT
from test_unit_board_epd42_dlt645 import DAY_START, E0_KWH, boot
from unit_boot import run_until

from sunprint.core.ledger import LIFETIME

LOG = ROOT + "/assets/logs/zhongshan-2024-10-15.csv"
FIRST_H = 10
HOURS = 2


def run_bundled_log(hours=HOURS, first_h=FIRST_H):
    # `hours` of the bundled log (10 kWp, Zhongshan) from `first_h` local through the meter at
    # 110000 B (in MicroPython): no MemoryError, no failed tick, the energy booked, the glass
    # showing the last render after the partial refreshes. FIRST_H, HOURS: the sunny late
    # morning, where the most changes and journal appends are (the whole day, 0 and 24, passes
    # too and takes some 4 minutes in the two interpreters: too long for every run).
    from sunprint.compat import EPOCH_2000_UNIX
    from sunprint.samplelog import read_samples

    first = DAY_START + first_h * 3600
    last = first + hours * 3600
    runner, clock, meter, line, rig, wdt = boot(first)
    panel = rig.models["display"]
    unit = runner.unit
    with open(LOG) as f:
        for t_unix, w in read_samples(f, LOG):
            t = t_unix - EPOCH_2000_UNIX
            if t < first:
                continue
            if t >= last:
                break
            meter.power_w = w
            run_until(runner, clock, t + 10, model=meter)  # the register counts as time passes
    truth = int((meter.energy_kwh - E0_KWH) * 1000000)
    app = unit.app
    got = app.ledger.mwh(LIFETIME)
    assert truth > 1000000 * hours, truth  # 5 to 8 kW in the late morning
    assert 0 <= truth - got <= 30000, (got, truth)
    assert runner.tick_failures == 0, (runner.tick_failures, app.last_fault)
    assert "MemoryError" not in (app.last_fault or ""), app.last_fault
    assert "sensor" not in app.faults and "panel" not in app.faults, app.faults
    import gc

    gc.collect()
    refreshes = panel.refreshes  # a copy from the model host: collected first
    assert refreshes.count("partial") >= 8 * hours, refreshes.count("partial")
    assert rig.glass_differs(unit.buffer, unit.display.BUFFER_FORMAT) == 0
    assert panel.violations == [], panel.violations
    assert wdt.resets == 0


def test_epd42_dlt645_unit_runs_the_bundled_late_morning_at_the_esp32_heap():
    run_bundled_log()
