"""The values of the "status" screen, for the installer: unit id, firmware version, sensor
state, last fault, last save, the carbon factor with its source, free memory, the clock; on an LED
matrix just "OK" or "E<faults>"."""

from sunprint import VERSION
from sunprint.compat import const
from sunprint.ui.layout import (
    NO_FAULT,
    SAVED_AGO,
    SAVED_NEVER,
    SENSOR_FAULTS,
    SENSOR_OK,
    format_factor,
    short_source,
)

MAX_FAULT_CHARS = const(28)  # what the narrowest status screen has room for
_MAX_LED_COUNT = const(999)


def _boot_fault(fault):
    # The screen's short form of a boot fault, naming the key when there is one:
    # "config: config.json: key 'persist_wh': 5000 is ..." -> "config: persist_wh";
    # "config: config.json: not valid JSON: line 1 ..." -> "config.json: not valid JSON"
    what, _, rest = fault.partition(": ")
    i = rest.find("key '")
    if i >= 0:
        j = rest.find("'", i + 5)
        if j > i + 5:
            return what + ": " + rest[i + 5 : j]
    parts = rest.split(": ", 2)
    return ": ".join(parts[:2])


def status_values(app, unit_id, now, free_heap):
    """{name: text} for the status screens, from an App (sunprint.app) at firmware time `now`,
    with the unit's id and the free heap in bytes (gc.mem_free() on the device)."""
    n = app.faults.get("sensor", 0)
    sensor = SENSOR_OK if not n else (SENSOR_FAULTS[0] % n, SENSOR_FAULTS[1] % n)
    boot = getattr(app, "boot_faults", None)
    # a fault of a file read at boot (config.json, calib.json) stays in view until it is fixed:
    # a sensor fault, counted on the sensor row, does not hide it
    fault = _boot_fault(boot[0]) if boot else app.last_fault
    if fault is None:
        last_fault = NO_FAULT
    elif len(fault) > MAX_FAULT_CHARS:
        last_fault = fault[: MAX_FAULT_CHARS - 3] + "..."
    else:
        last_fault = fault
    policy = app.policy
    last = getattr(policy, "_last", -1) if policy is not None else -1
    if policy is None or not policy.writes or last < 0:
        persisted = SAVED_NEVER
    else:
        minutes = (now - last) // 60
        persisted = (SAVED_AGO[0] % minutes, SAVED_AGO[1] % minutes)
    faults = 0
    for k in app.faults:
        faults += app.faults[k]
    return {
        # 4 characters for an LED: "OK", or "E" and the number of faults of any kind
        "led_status": "OK" if not faults else "E%d" % min(faults, _MAX_LED_COUNT),
        "unit_id": unit_id,
        "firmware": "fw " + VERSION,
        "sensor": sensor,
        "last_fault": last_fault,
        "persisted": persisted,
        "factor": format_factor(app.carbon_row[2]),  # the row its source cites
        "factor_source": short_source(app.carbon_row),
        "heap": "%d.%d kB" % (free_heap // 1000, free_heap % 1000 // 100),
        # the time source and how far its last reading moved the RTC ("ds3231 +2s"), or that
        # the ledger holds energy for the periods: the date is unknown (status JSON: periods)
        "clock": _clock(app),
        # Wi-Fi / MQTT: "" when the network is off (config.json wifi_ssid ""), else a pair
        # such as ("WiFi pw?", "WiFi密码错"): the password was refused (net/publish.py LINK_TEXTS)
        "link": app.net.screen_text() if getattr(app, "net", None) is not None else "",
    }


def _clock(app):
    vouched = getattr(app.ledger, "vouched", None)
    if vouched is not None and not vouched():
        return "date unknown"
    return app.timekeeper.summary() if app.timekeeper is not None else ""
