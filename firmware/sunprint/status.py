"""The unit's status as a plain dict, for host tools over the REPL:

    import sunprint.status; print(sunprint.status.json())

The boot code registers the running app once: `register(app, unit_id, clock)`. The screens'
text for the same facts is ui/status.py; this is the machine-readable side.
"""

import sys

from sunprint import VERSION
from sunprint.quality import BAD_FRAME, NO_ANSWER, OK
from sunprint.quality import name as quality_name

_registered = None  # (app, unit_id, clock)


def register(app, unit_id, clock=None):
    """Remember the running app (and the clock whose now() it is ticked with)."""
    global _registered
    _registered = (app, unit_id, clock)


def registered():
    return _registered


def _free_heap():
    try:
        import gc

        return gc.mem_free()  # type: ignore[attr-defined]
    except (ImportError, AttributeError):  # CPython
        return None


def _platform():
    impl = sys.implementation
    v = impl.version
    return "%s %d.%d.%d" % (impl.name, v[0], v[1], v[2])


def status(app, unit_id, now):
    """{name: value} of plain ints, strings, None, lists and dicts (JSON-ready)."""
    source = app.source
    flag = getattr(source, "flag", None)
    if flag is None:
        sensor = {"flag": None, "comm_failed": bool(app.faults.get("sensor", 0))}
    else:
        sensor = {"flag": quality_name(flag), "comm_failed": flag in (NO_ANSWER, BAD_FRAME)}
    sensor["ok"] = flag == OK if flag is not None else not app.faults.get("sensor", 0)
    sensor["power_mw"] = app.power_mw
    faults = {}
    for k in app.faults:
        faults[k] = app.faults[k]
    policy, store = app.policy, app.store
    last = getattr(policy, "_last", -1) if policy is not None else -1
    persisted = last if policy is not None and policy.writes and last >= 0 else None
    row = app.carbon_row
    return {
        "unit_id": unit_id,
        "firmware": VERSION,
        "platform": _platform(),
        "now": now,
        "sensor": sensor,
        "faults": faults,
        "last_fault": app.last_fault,
        "boot_faults": list(getattr(app, "boot_faults", ())),  # config, calib: until fixed
        "last_persist": persisted,
        "persist_age_s": now - persisted if persisted is not None else None,
        "store_writes": store.writes if store is not None else 0,
        "store_status": app.store_status,
        "refreshes": app.refreshes,
        "carbon_factor_dg_per_kwh": app.ledger.co2_dg_per_kwh,
        "carbon_source": "%s %s: %s" % (row[0], row[1], row[3]) if row else None,
        "free_heap": _free_heap(),
        "clock": app.timekeeper.status(now) if app.timekeeper is not None else None,
        # Wi-Fi and MQTT link states and counters (never a password), None when off
        "net": app.net.status() if getattr(app, "net", None) is not None else None,
        "periods": _periods(app.ledger),
        # a community unit: every meter on its bus with its state (community/source.py)
        "meters": source.status() if hasattr(source, "reporting") else None,
    }


def _periods(ledger):
    # Whether today, month and year can be vouched for (the date known), what is held for
    # them while it is not, and what could never be attributed to a day (lifetime only).
    held = getattr(ledger, "held", None)
    if held is None:
        return None
    return {
        "vouched": ledger.vouched(),
        "held_mwh": held(),
        "unattributed_mwh": ledger.unattributed(),
        "held_to_today": ledger.held_settled,
        "held_unattributed": ledger.held_unattributed,
    }


def json():
    """The registered app's status as a JSON string ({"error": ...} before register())."""
    import json as _json

    reg = _registered
    if reg is None:
        return _json.dumps({"error": "no app registered"})
    app, unit_id, clock = reg
    if clock is not None:
        now = clock.now()
    else:
        import time

        from sunprint.compat import EPOCH_2000_UNIX

        now = int(time.time())
        if time.gmtime(0)[0] == 1970:
            now -= EPOCH_2000_UNIX
    return _json.dumps(status(app, unit_id, now))
