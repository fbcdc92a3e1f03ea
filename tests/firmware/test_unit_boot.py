# The whole unit: firmware/main.py boots esp32-epd29-ina226 on the fake machine module, with an
# INA226 model fed from the bundled Zhongshan day and the SSD1680 model as the panel, and runs
# hours of virtual time (and a whole day) through the real Runner. CPython and MicroPython.
# micropython-heap: 110000 (an ESP32 without PSRAM: the models run outside the VM)
# micropython-vm: app (the deployed form: the app frozen into the 32-bit binary)
# In MicroPython the chip and panel models run on the host (host_tools/sim/board/modellink.py): the
# VM holds the unit, the test and the log reader, as an ESP32 would hold the unit.
from repo import ROOT
from unit_boot import boot as boot_unit
from unit_boot import run_until

from sunprint.compat import EPOCH_2000_UNIX
from sunprint.core.ledger import LIFETIME
from sunprint.samplelog import read_samples
from sunprint.store import OsFs

LOG = ROOT + "/assets/logs/zhongshan-2024-10-15.csv"
BOARD = ROOT + "/boards/esp32-epd29-ina226.json"
DAY_START = 782236800  # 2024-10-15 00:00 local (UTC+8) in firmware seconds: the log's first row
SCALE = 20  # the 10 kWp log, scaled to a 500 W panel string on the INA226 (30 V bus)


_FLASHES = [0]


def _flash():
    """A fresh folder in the scratch folder the test runs in, as the unit's flash: its files
    (the sample log grows ~30 KB in a day) are not in the unit's heap, as on an ESP32."""
    import os

    while True:
        _FLASHES[0] += 1
        folder = "flash%d" % _FLASHES[0]
        try:
            os.mkdir(folder)
        except OSError:  # an earlier run's, in the same folder
            continue
        return OsFs(folder)


def boot(start_s):
    return boot_unit(BOARD, start_s, fs=_flash())


def _glass_is_the_render(rig, unit):
    # the rig compares (on the model host, in MicroPython): no second picture in the heap
    return rig.glass_differs(unit.buffer, unit.display.BUFFER_FORMAT) == 0


def run_log(runner, clock, rig, first, last):
    """Feed the log's samples in [first, last) (firmware s) through the chip; return the
    independent trapezoid integral of what the chip was fed, in mWh."""
    truth_mj2 = 0  # (p1 + p2) * dt in mW*s
    prev = None
    with open(LOG) as f:
        for t_unix, w in read_samples(f, LOG):
            t = t_unix - EPOCH_2000_UNIX
            if t < first:
                continue
            if t >= last:
                break
            mw = int(w * 1000 / SCALE)
            rig.set_power(mw / 1000)
            if prev is not None:
                truth_mj2 += (prev[1] + mw) * (t - prev[0])
            prev = (t, mw)
            run_until(runner, clock, t + 10)
    return truth_mj2 // 7200


def test_the_unit_boots_and_runs_a_morning():
    start = DAY_START + 7 * 3600  # 07:00 local
    runner, clock, rig, wdt = boot(start)
    unit = runner.unit
    truth = run_log(runner, clock, rig, start, start + 4 * 3600)
    app = unit.app
    got = app.ledger.mwh(LIFETIME)
    # The INA226 quantises, and the health filter holds back the first readings of a big step.
    assert abs(got - truth) <= truth // 50, (got, truth)
    panel = rig.models["display"]
    refreshes = panel.refreshes
    assert refreshes and refreshes[0] == "full" and "partial" in refreshes
    assert _glass_is_the_render(rig, unit)
    assert panel.violations == [], panel.violations
    assert wdt.resets == 0 and wdt.feeds > 1000
    assert app.store.writes >= 10  # the ledger went to the flash every 10 minutes or so


def test_the_unit_runs_the_whole_bundled_day():
    # 00:00 to 24:00 of the bundled log at the ESP32's heap: no MemoryError, no failed tick,
    # the day's energy booked, the glass showing the last render.
    runner, clock, rig, wdt = boot(DAY_START)
    unit = runner.unit
    truth = run_log(runner, clock, rig, DAY_START, DAY_START + 24 * 3600)
    app = unit.app
    got = app.ledger.mwh(LIFETIME)
    assert truth > 1000000 and abs(got - truth) <= truth // 50, (got, truth)
    assert runner.tick_failures == 0, (runner.tick_failures, app.last_fault)
    # the night's flat zero reads as a stuck sensor (a health flag): nothing failed
    assert "MemoryError" not in (app.last_fault or ""), app.last_fault
    assert _glass_is_the_render(rig, unit)
    assert rig.models["display"].violations == []
    assert wdt.resets == 0


def test_a_hung_step_is_caught_by_the_watchdog():
    start = DAY_START + 10 * 3600
    runner, clock, rig, wdt = boot(start)
    run_log(runner, clock, rig, start, start + 120)
    driver = runner.unit.source.driver

    def hang():
        clock.advance_ms(45000)  # an I2C read that never comes back
        return 1

    driver.poll = hang
    runner.step()
    runner.step()
    assert wdt.check() or wdt.resets >= 1
