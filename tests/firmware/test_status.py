# The values the screens bind by name: App.screen_values / carbon_values and the status screen
# (sunprint.ui.status). CPython and MicroPython.
from app_rig import Renderer

from sunprint import VERSION
from sunprint.app import App
from sunprint.core import carbon
from sunprint.core.ledger import Ledger
from sunprint.sources import PowerSource
from sunprint.store import PersistPolicy
from sunprint.ui.refresh import always_full
from sunprint.ui.status import status_values

T0 = 782179200  # 2024-10-15 00:00 UTC in firmware time


def _app(policy=None):
    row = carbon.factor("CN", 2023)
    led = Ledger(co2_dg_per_kwh=row[2])
    for i in range(3601):  # 10 h at 10 kW: 100 kWh
        led.add_power(T0 + i * 10, 10000000)
    return App(
        source=PowerSource(None),
        panel=None,
        renderer=Renderer(),
        ledger=led,
        carbon_row=row,
        policy=policy,
        plan=always_full(),
    )


def test_screen_values_bind_every_quantity_by_name():
    app = _app()
    app.power_mw = 3421000
    v = app.screen_values()
    assert v["power_w"] == ("3.42", "kW")
    assert v["today_kwh"] == ("100", "kWh")
    assert v["lifetime_kwh"] == ("100", "kWh")
    assert v["co2_kg"] == ("53.1", "kg")  # 100 kWh at 0.5306 kg/kWh
    assert v["coal_kg"] == ("30.6", "kg")  # at 305.5 gce/kWh
    assert v["trees"] == ("2.8", "trees")  # 53.06 kg / 18.3 kg a tree, in whole tenths


def test_carbon_values_have_notes_in_both_languages():
    v = _app().carbon_values()
    assert v["factor"] == ("0.5306", "kg/kWh") and v["factor_source"] == "MEE/NBS 2023"
    assert v["lifetime_kwh"] == ("100", "kWh") and v["trees"] == ("2.8", "trees")
    assert v["trees_note"] == ("at 18.3 kg CO\u2082 a year each", "每棵树每年吸收18.3 kg")
    assert v["coal_note"] == ("at 305.5 g per kWh", "每度电305.5克")


def test_status_values():
    app = _app(PersistPolicy())
    v = status_values(app, "ZS-0042", T0 + 36000, 52345)
    assert v["unit_id"] == "ZS-0042"
    assert v["firmware"] == "fw " + VERSION
    assert v["sensor"] == ("OK", "正常") and v["last_fault"] == ("none", "无")
    assert v["persisted"] == ("never", "从未")
    assert v["factor"] == ("0.5306", "kg/kWh") and v["factor_source"] == "MEE/NBS 2023"
    assert v["heap"] == "52.3 kB"
    assert v["led_status"] == "OK"
    app.policy.saved(T0 + 36000 - 300)
    for _ in range(3):
        app._fault("sensor", "[Errno 110] ETIMEDOUT while reading the INA226 shunt register")
    v = status_values(app, "ZS-0042", T0 + 36000, 52345)
    assert v["persisted"] == ("5 min ago", "5分钟前")
    assert v["sensor"] == ("3 faults", "故障3次")
    assert v["last_fault"] == "sensor: [Errno 110] ETIME..."
    assert len(v["last_fault"]) == 28
    assert v["led_status"] == "E3"
