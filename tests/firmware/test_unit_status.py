# The machine-readable unit status (sunprint.status) that host tools read over the REPL.
# CPython and MicroPython.
import json

from app_rig import Renderer

import sunprint.status
from sunprint import VERSION
from sunprint.app import App
from sunprint.core import carbon
from sunprint.core.ledger import Ledger
from sunprint.quality import NO_ANSWER, OK
from sunprint.store import PersistPolicy
from sunprint.ui.refresh import always_full

T0 = 782179200


class Source:
    flag = OK
    power_mw = 0


class Store:
    writes = 7


def _app():
    row = carbon.factor("CN", 2023)
    app = App(
        source=Source(),
        panel=None,
        renderer=Renderer(),
        ledger=Ledger(co2_dg_per_kwh=row[2]),
        carbon_row=row,
        policy=PersistPolicy(),
        store=Store(),
        plan=always_full(),
    )
    return app


def test_status_dict():
    app = _app()
    s = sunprint.status.status(app, "ZS-0042", T0)
    assert s["unit_id"] == "ZS-0042" and s["firmware"] == VERSION
    assert s["sensor"]["flag"] == "ok" and s["sensor"]["comm_failed"] is False
    assert s["faults"] == {} and s["last_fault"] is None
    assert s["last_persist"] is None and s["store_writes"] == 7
    assert s["carbon_factor_dg_per_kwh"] == 5306 and "2023" in s["carbon_source"]
    app.source.flag = NO_ANSWER
    app._fault("sensor", "no answer")
    app.policy.saved(T0 - 120)
    s = sunprint.status.status(app, "ZS-0042", T0)
    assert s["sensor"]["comm_failed"] is True and s["sensor"]["ok"] is False
    assert s["faults"] == {"sensor": 1} and s["last_fault"] == "sensor: no answer"
    assert s["last_persist"] == T0 - 120 and s["persist_age_s"] == 120
    heap = s["free_heap"]
    assert heap is None or heap > 0


class Clock:
    def now(self):
        return T0 + 5


def test_json_of_the_registered_app():
    sunprint.status.register(None, "x")
    sunprint.status._registered = None
    assert json.loads(sunprint.status.json()) == {"error": "no app registered"}
    app = _app()
    sunprint.status.register(app, "ZS-0001", Clock())
    d = json.loads(sunprint.status.json())
    assert d["unit_id"] == "ZS-0001" and d["now"] == T0 + 5 and d["firmware"] == VERSION
    assert sunprint.status.registered()[0] is app
