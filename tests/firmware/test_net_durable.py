# The publisher's ever-increasing totals across a power cut: the durable state the store
# wrote (App.durable), not the live ledger. CPython and MicroPython (the app frozen in, as a
# unit runs it: the store, the app and FaultFS share the VM).
# micropython-vm: app
import json

import network

from sunprint.core.ledger import Ledger
from sunprint.net.publish import Net

T0 = 782179200  # 2024-10-15 00:00 UTC, firmware time


def _cfg():
    return {
        "unit_id": "sp-a1b2c3",
        "wifi_ssid": "site",
        "wifi_password": "pw",
        "mqtt_host": "127.0.0.1",
        "mqtt_port": 1,
        "mqtt_user": "",
        "mqtt_password": "",
        "mqtt_period_s": 60,
        "mqtt_prefix": "sunprint",
        "mqtt_discovery": True,
    }


def _stored_app(fs):
    from app_rig import Panel, Renderer, power_source

    from sunprint.app import App
    from sunprint.store import FileBackend, PersistPolicy, Store
    from sunprint.ui.refresh import always_full

    app = App(
        source=power_source(1000000),  # 1 kW
        panel=Panel(),
        renderer=Renderer(),
        ledger=Ledger(),
        carbon_row=("CN", 2023, 5306, "test"),
        store=Store(FileBackend(fs)),
        policy=PersistPolicy(persist_interval_s=600, persist_wh=10),
        plan=always_full(),
    )
    app.restore()
    return app


def _totals(net, buf):
    d = json.loads(bytes(buf[128 : net.format_state(buf, 128)]).decode())
    return tuple(int(d[k].replace(".", "")) for k in ("lifetime_kwh", "co2_kg", "coal_kg"))


def test_published_totals_never_go_backwards_across_a_power_cut():
    # Lifetime, CO2 and coal are total_increasing sensors in Home Assistant: a decrease books a
    # meter reset. A power cut loses what the store had not yet saved (up to persist_wh), so
    # what is published is the durable state, which the next boot restores at least.
    from host_tools.sim.platform.faultfs import FaultFS

    fs = FaultFS()
    app = _stored_app(fs)
    net = Net(app, network, _cfg(), fs)
    buf = bytearray(1024)
    t, shown = T0 + 9 * 3600, []
    for _ in range(100):  # 100 samples of 1 kW at 10 s: 278 Wh, saved every 10 Wh
        app.tick(t)
        shown.append(_totals(net, buf))
        t += 10
    assert shown[-1][0] > 0 and shown[-1][1] > 0 and shown[-1][2] > 0
    assert app.ledger.unsaved_mwh > 0  # the live ledger is ahead of the store: the cut loses it
    again = _stored_app(fs.reboot())
    after = _totals(Net(again, network, _cfg(), fs), buf)
    for k in range(3):
        assert after[k] >= max(s[k] for s in shown), (k, after, shown[-1])
    assert all(shown[i] <= shown[i + 1] for i in range(len(shown) - 1))
