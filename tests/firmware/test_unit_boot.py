# The whole unit: firmware/main.py boots esp32-epd29-ina226 on the fake machine module, with an
# INA226 model fed from the bundled Zhongshan day and the SSD1680 model as the panel, and runs
# hours of virtual time through the real Runner. CPython and MicroPython.
# micropython-heap: 400000 (the INA226 and SSD1680 models, the in-memory flash and the log
# reader share the VM with the unit; and the unit itself takes ~180 KB here: see make bench)
import framebuf
from repo import ROOT

from host_tools.sim import machine as fake
from host_tools.sim.faultfs import FaultFS
from host_tools.sim.i2c import FakeI2C, INA226Model
from host_tools.sim.rig import Clock  # ticks_ms() wraps as a unit's, a small int
from host_tools.sim.ssd1680 import SSD1680Model
from sunprint.compat import EPOCH_2000_UNIX
from sunprint.core.ledger import LIFETIME
from sunprint.samplelog import read_samples

LOG = ROOT + "/assets/logs/zhongshan-2024-10-15.csv"
DAY_START = 782236800  # 2024-10-15 00:00 local (UTC+8) in firmware seconds: the log's first row
SCALE = 20  # the 10 kWp log, scaled to a 500 W panel string on the INA226
BUS_V = 30.0


def _no_wait(ms):
    pass


def boot(start_s, fs=None):
    from sunprint import status

    status.register(None, "")  # let an earlier test's unit go
    fake.unwire()
    model = SSD1680Model()
    for n, pin in ((26, model.cs), (27, model.dc), (25, model.rst), (32, model.busy)):
        fake.wire_pin(n, pin)
    fake.wire_spi(2, model.spi)
    bus = FakeI2C()
    chip = bus.attach(64, INA226Model(shunt_ohm=0.002, always_ready=True))
    fake.wire_i2c(0, bus)
    clock = Clock(start_s)
    fake.set_clock(clock)
    wdt = fake.WDT(timeout=30000)
    import main

    runner = main.main(
        fake,
        fs=fs if fs is not None else FaultFS(),
        board_path=ROOT + "/boards/esp32-epd29-ina226.json",
        config_path=ROOT + "/no-config.json",  # none: the defaults, as on a first boot
        fonts_dir=ROOT + "/assets/fonts",
        clock=clock,
        wdt=wdt,
        sleep_ms=_no_wait,
        run=False,
    )
    return runner, clock, chip, model, wdt


def _glass_is_the_render(model, unit):
    fb = framebuf.FrameBuffer(unit.buffer, 296, 128, framebuf.MONO_VLSB)
    for y in range(0, 128, 3):
        for x in range(296):
            if model.landscape_pixel(x, y) != fb.pixel(x, y):
                return False
    return True


def run_log(runner, clock, chip, first, last):
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
            chip.set(mw / 1000 / BUS_V, BUS_V)
            if prev is not None:
                truth_mj2 += (prev[1] + mw) * (t - prev[0])
            prev = (t, mw)
            while clock.now() < t + 10:
                clock.advance_ms(min(runner.step(), (t + 10) * 1000 - clock.ms))
    return truth_mj2 // 7200


def test_the_unit_boots_and_runs_a_morning():
    start = DAY_START + 7 * 3600  # 07:00 local
    runner, clock, chip, model, wdt = boot(start)
    unit = runner.unit
    truth = run_log(runner, clock, chip, start, start + 4 * 3600)
    app = unit.app
    got = app.ledger.mwh(LIFETIME)
    # The INA226 quantises, and the health filter holds back the first readings of a big step.
    assert abs(got - truth) <= truth // 50, (got, truth)
    assert model.refreshes and model.refreshes[0] == "full" and "partial" in model.refreshes
    assert _glass_is_the_render(model, unit)
    assert model.violations == [], model.violations
    assert wdt.resets == 0 and wdt.feeds > 1000
    assert app.store.writes >= 10  # the ledger went to the flash every 10 minutes or so


def test_a_hung_step_is_caught_by_the_watchdog():
    start = DAY_START + 10 * 3600
    runner, clock, chip, model, wdt = boot(start)
    run_log(runner, clock, chip, start, start + 120)
    driver = runner.unit.source.driver

    def hang():
        clock.advance_ms(45000)  # an I2C read that never comes back
        return 1

    driver.poll = hang
    runner.step()
    runner.step()
    assert wdt.check() or wdt.resets >= 1
