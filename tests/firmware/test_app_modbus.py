# The app over the Modbus master and an emulated SDM120, with CRC errors and a meter reset.
# CPython and MicroPython.
# micropython-heap: 120000 (the meter and UART models share the VM with the app: with the
# ledger's plausibility checks, +3 KB of code and ~25 names, their 1.3 KB buffer found no block)
from app_rig import START, make_app

from host_tools.sim.chips import uart as mu
from host_tools.sim.chips.modbus_meter import ModbusMeterModel
from sunprint.core.ledger import LIFETIME, Ledger
from sunprint.drivers import modbus
from sunprint.sources import MeterSource


def test_modbus_sdm120_faults_recover_and_reset_rebases():
    clock = mu.VirtualClock(1000)
    model = ModbusMeterModel(1, "sdm120", power_w=1800.0, energy_kwh=500.0)
    uart = mu.FakeUART(clock, model, baudrate=9600)
    mb = modbus.ModbusRTU(uart, ticks_ms=clock.ticks_ms, sleep_ms=clock.sleep_ms)
    drv = modbus.Meter(mb, 1, modbus.SDM120)
    app = make_app(MeterSource(drv), Ledger(counter_per_kwh=1000))
    t = START
    for i in range(360):
        model.advance(10)  # 1.8 kW: 5 Wh per 10 s
        if i % 17 == 5:
            for _ in range(3):  # beats the two retries: a flagged reading
                uart.fault_once(mu.CRC)
        if i == 200:
            model.reset()  # the meter's register goes back to 0: rebase, never negative
        app.tick(t)
        t += 10
    led = app.ledger
    assert led.counter_resets == 1
    # 3590 s at 1.8 kW = 1795 Wh; the rebase interval is filled from power or lost, never doubled
    assert 1780000 <= led.mwh(LIFETIME) <= 1795000, led.mwh(LIFETIME)
