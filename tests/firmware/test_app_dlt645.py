# The app over the DL/T 645 driver and its emulated meter, with line faults: the meter's
# register is the energy truth. CPython and MicroPython.
from app_rig import START, Lcg, make_app

from host_tools.sim.chips import dlt645_meter as dm
from sunprint.core.ledger import LIFETIME, Ledger
from sunprint.drivers import dlt645
from sunprint.sources import MeterSource


def _dlt_rig():
    clock = dm.VirtualClock()
    meter = dm.DLT645MeterModel("112233445566", energy_kwh=1000.0, power_w=3600.0)
    uart = dm.FakeSerial(meter, clock)
    dlt = dlt645.DLT645(
        uart, address="112233445566", ticks_ms=clock.ticks_ms, sleep_ms=clock.sleep_ms
    )
    return meter, uart, dlt645.Meter(dlt)


def test_dlt645_meter_register_is_the_truth_through_faults():
    meter, uart, drv = _dlt_rig()
    source = MeterSource(drv)
    app = make_app(source, Ledger(counter_per_kwh=100))
    rng = Lcg(7)
    t = START
    while t < START + 3600:
        meter.advance(10)  # 3.6 kW for 10 s: 10 Wh, one register count
        if rng.next(5) == 0:  # three bad replies in a row beat the driver's two retries
            uart.inject((dm.NO_REPLY, dm.BAD_CS, dm.GARBAGE, dm.PARTIAL)[rng.next(4)], 3)
        app.tick(t)
        t += 10
    # The ledger books exactly what the register counted between the first and the last good
    # reading: 0.01 kWh resolution, nothing from a bad frame.
    assert app.faults.get("sensor", 0) > 0
    booked = app.ledger.mwh(LIFETIME)
    assert 3500000 <= booked <= 3600000, booked
    assert booked % 10000 == 0  # whole register counts only
    assert app.ledger.counter_resets == 0
