# The whole unit on esp32-epd75-ddsu666: firmware/main.py boots the profile on the fake machine
# module, with the UC8179 model as the 7.5" 800x480 panel and a Chint DDSU666 Modbus RTU model
# behind an RS-485 line (host_tools.sim.uart.FakeUART, DE on pin 33), and runs through the real
# Runner on a virtual clock. CPython and MicroPython.
# micropython-heap: 800000 (the profile is for an ESP32-WROVER with PSRAM: the unit's 48 KB
# picture buffer, the UC8179 model's three 48 KB planes, the flash and the fonts share the VM;
# the in-memory flash's sample-log file grows as one block: at 650000 its 13.5 KB realloc
# failed now and then in the fragmented heap)
import framebuf
from repo import ROOT

from host_tools.sim import machine as fake
from host_tools.sim.faultfs import FaultFS
from host_tools.sim.modbus_meter import ModbusMeterModel
from host_tools.sim.rig import Clock  # ticks_ms() wraps as a unit's, a small int
from host_tools.sim.uart import FakePin, FakeUART
from host_tools.sim.uc8179 import UC8179Model
from sunprint.core.ledger import LIFETIME

DAY_START = 782236800  # 2024-10-15 00:00 local (UTC+8), firmware seconds
# (minutes, W) of the PV string the meter measures
# (steps within the profile's max_step_w 4000)
PROFILE = ((10, 1500.0), (15, 4200.0), (10, 6000.0), (10, 2500.0), (20, 5200.0), (10, 1500.0))
E0_KWH = 1234.5  # float32 in the meter: ~0.1 Wh steps here


def _no_wait(ms):
    pass


def boot(start_s):
    from sunprint import status

    status.register(None, "")  # let an earlier test's unit go
    fake.unwire()
    panel = UC8179Model()
    for n, pin in ((26, panel.cs), (27, panel.dc), (25, panel.rst), (34, panel.busy)):
        fake.wire_pin(n, pin)
    fake.wire_spi(2, panel.spi)
    clock = Clock(start_s)
    meter = ModbusMeterModel(1, "ddsu666", energy_kwh=E0_KWH)
    de = FakePin(clock)
    fake.wire_pin(33, de)
    line = FakeUART(clock, meter, baudrate=9600, de=de)
    fake.wire_uart(2, line)
    fake.set_clock(clock)
    wdt = fake.WDT(timeout=30000)
    import main

    runner = main.main(
        fake,
        fs=FaultFS(),
        board_path=ROOT + "/boards/esp32-epd75-ddsu666.json",
        config_path=ROOT + "/no-config.json",
        fonts_dir=ROOT + "/assets/fonts",
        clock=clock,
        wdt=wdt,
        sleep_ms=_no_wait,
        run=False,
    )
    # The drivers take compat's ticks_ms / sleep_ms when built: put the Modbus link on the
    # virtual clock, so a request's byte times and the meter's latency pass in virtual time.
    rtu = runner.unit.driver.modbus
    rtu._ticks = clock.ticks_ms
    rtu._sleep = clock.block_ms
    rtu._idle_t = clock.ticks_ms()
    return runner, clock, meter, line, panel, wdt


def test_epd75_ddsu666_unit_books_the_register_and_shows_the_render():
    start = DAY_START + 10 * 3600
    runner, clock, meter, line, panel, wdt = boot(start)
    unit = runner.unit
    seen_us = clock.us
    t = start
    for minutes, w in PROFILE:
        meter.set(power_w=w)
        end = t + minutes * 60
        while clock.now() < end:
            meter.advance((clock.us - seen_us) / 1000000)  # the register counts as time passes
            seen_us = clock.us
            clock.us = min(clock.us + runner.step() * 1000, end * 1000000)
        meter.advance((clock.us - seen_us) / 1000000)
        seen_us = clock.us
        t = end
    truth = int((meter.energy_kwh - E0_KWH) * 1000000)
    app = unit.app
    got = app.ledger.mwh(LIFETIME)
    assert truth > 4000000, truth
    # the first reading is the base, so the energy before it (one 10 s sample at most, 17 Wh)
    # is not booked; float32 kWh in the meter, Wh in the ledger
    assert -1000 <= truth - got <= 20000, (got, truth)
    # the glass is the renderer's picture, pixel for pixel
    assert panel.refreshes and panel.refreshes[0] == "full" and "partial" in panel.refreshes
    fb = framebuf.FrameBuffer(unit.buffer, 800, 480, unit.display.BUFFER_FORMAT)
    black = 0
    for y in range(480):
        for x in range(800):
            p = fb.pixel(x, y)
            assert panel.pixel(x, y) == p, (x, y)
            black += p
    assert black > 1000
    assert panel.violations == [], panel.violations
    assert line.de_violations == 0 and line.gap_violations == 0 and line.collisions == 0
    assert runner.tick_failures == 0 and not runner.starving
    assert not app.faults, (app.faults, app.last_fault)
    assert wdt.resets == 0 and not wdt.check() and wdt.feeds > 100
    print(
        "epd75-ddsu666: booked",
        got,
        "mWh of",
        truth,
        "mWh;",
        panel.refreshes.count("full"),
        "full and",
        panel.refreshes.count("partial"),
        "partial refreshes",
    )
