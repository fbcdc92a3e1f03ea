"""Service calls for the host tools over the REPL (sunprint calibrate, monitor, logs pull).

    import sunprint.service as s
    s.info()                      # {"firmware", "app", "mpy", "running", ...}
    s.channels()                  # ["pv_power"]: the sensors' roles
    s.read("pv_power", 5)         # raw and calibrated reading, averaged over 5 polls
    s.calib("pv_power")           # the channel's /calib.json section
    s.write_calib("pv_power", '{"gain": 1.02, "offset_w": -0.4, "who": ...}')
    s.rollback("pv_power")        # the previous entry becomes current again
    s.monitor(60, 1)              # one line per sample for 60 s ("@sp " + JSON), Ctrl-C ends
    s.flush_log()                 # the running app's buffered sample-log rows onto the flash

Each call prints one JSON line (monitor: one per sample) for the host to parse; a bad request
raises ValueError with a message for a person. The watchdog: on an ESP32 the one the app armed
stays armed after the host interrupts the app (it can't be stopped, only re-timed), so calls
that wait feed it, as the app's loop does, and a host waiting for a person calls feed(). Readings need the unit's app: the one that ran
before the host interrupted it (sunprint.status knows it), or one booted here without starting
its loop and without counting a boot in the safe-mode record.

/calib.json, written atomically (a temp file renamed over it), read by main.py at boot:
    {"version": 1, "channels": {"pv_power": {"current": ENTRY or null, "history": [ENTRY...]}}}
    ENTRY = {"gain", "offset_w", "who", "when", "instrument", "notes", "points", "residuals_w",
             "rms_w"}: reference_w = gain * raw_w + offset_w. history is oldest first.
"""

import json
import sys

CALIB = "/calib.json"
HISTORY_MAX = 20  # entries kept behind the current one
WDT_MS = 30000  # the app's watchdog timeout (main.py)
READ_TRIES = 40  # polls for n good readings, POLL_MS apart: a chip still converting waits
POLL_MS = 50
_PREFIX = "@sp "


class _MemRecord:
    # A safe-mode boot record in RAM: a service boot is not a boot of the unit.
    def __init__(self):
        self.data = None

    def read(self):
        return self.data

    def write(self, data):
        self.data = bytes(data)


def _watchdog():
    import machine

    return machine.WDT(timeout=WDT_MS)


def feed():
    """Feed the unit's watchdog (a host waiting for a person keeps the unit alive)."""
    _watchdog().feed()
    _out({"fed": True})


def _folder():
    try:
        import boot

        return boot.current()
    except ImportError:
        return None


def _board_path():
    folder = _folder()
    return folder + "/board.json" if folder else "/board.json"


def _profile():
    with open(_board_path()) as f:
        return json.load(f)


def _out(obj):
    print(json.dumps(obj))


def info():
    """Which app and firmware the unit runs."""
    from sunprint import VERSION, status

    impl = sys.implementation
    reg = status.registered()
    _out(
        {
            "firmware": VERSION,
            "app": _folder(),
            "mpy": getattr(impl, "_mpy", None),
            "platform": "%s %d.%d.%d"
            % (impl.name, impl.version[0], impl.version[1], impl.version[2]),
            "running": reg is not None and reg[0] is not None,
        }
    )


def _app():
    from sunprint import status

    reg = status.registered()
    if reg is not None and reg[0] is not None:
        return reg[0]
    import main

    folder = _folder()
    if folder:
        runner = main.main(
            board_path=folder + "/board.json",
            fonts_dir=folder + "/fonts",
            boot_record=_MemRecord(),
            run=False,
        )
    else:
        runner = main.main(boot_record=_MemRecord(), run=False)
    if runner is None:
        raise ValueError("the unit is in safe mode (see its SERVICE screen)")
    return runner.app  # registered with sunprint.status: the next call finds it there


def _names(profile):
    return [s["role"] for s in profile["sensors"]]


def channels():
    _out(_names(_profile()))


def _sensor(profile, channel):
    for s in profile["sensors"]:
        if s["role"] == channel:
            return s
    raise ValueError(
        "unknown channel %r (this unit has: %s)" % (channel, ", ".join(_names(profile)))
    )


def _load():
    try:
        with open(CALIB) as f:
            doc = json.load(f)
        if not isinstance(doc.get("channels"), dict):
            raise ValueError
    except OSError:
        doc = {"version": 1, "channels": {}}
    except (ValueError, AttributeError):
        raise ValueError("%s is not a calibration file: fix or remove it" % CALIB)
    return doc


def _save(doc):
    import os

    tmp = CALIB + ".tmp"
    with open(tmp, "w") as f:
        f.write(json.dumps(doc))
    try:
        os.rename(tmp, CALIB)
    except OSError:  # a filesystem that does not rename over a file (FAT)
        os.remove(CALIB)
        os.rename(tmp, CALIB)


def _section(doc, channel):
    return doc["channels"].get(channel) or {"current": None, "history": []}


def _model(profile, channel):
    """(gain, offset_w, where) the unit applies to channel now: calib.json, profile or none."""
    s = _sensor(profile, channel)
    current = _section(_load(), channel)["current"]
    if current:
        return float(current["gain"]), float(current.get("offset_w", 0)), "calib.json"
    c = s.get("calib")
    if c:
        return float(c["gain"]), float(c.get("offset_w", 0)), "profile"
    return 1.0, 0.0, "none"


def read(channel, n=1):
    """Average of n good raw readings of channel (W, before calibration) and the calibrated
    value the unit would show with the calibration it has now (calib.json over the profile).
    Polls until n readings are good (or READ_TRIES more polls failed: flag says why)."""
    from sunprint.compat import sleep_ms
    from sunprint.core.calib import Linear
    from sunprint.quality import OK
    from sunprint.quality import name as flag_name

    profile = _profile()
    s = _sensor(profile, channel)
    if s["type"] == "s0":
        raise ValueError("channel %r counts S0 pulses: there is no reading to calibrate" % channel)
    app = _app()
    driver = app.source.driver
    wdt = _watchdog()
    total = 0
    good = 0
    flag = OK
    tries = 0
    while good < n and tries < READ_TRIES + n:
        if tries:
            sleep_ms(POLL_MS)
        tries += 1
        wdt.feed()
        f = driver.poll()
        if f == OK:
            total += driver.power_mw
            good += 1
        else:
            flag = f
    gain, offset_w, where = _model(profile, channel)
    if good:
        flag = OK
    result = {"channel": channel, "n": n, "good": good, "flag": flag, "flag_name": flag_name(flag)}
    result["calib"] = {"gain": gain, "offset_w": offset_w, "from": where}
    hi = s.get("health", {}).get("max_w")
    result["type"] = s["type"]  # the host's calibrate bounds a fit by sensor type and range
    result["max_w"] = hi
    if good:
        raw_mw = total // good
        model = Linear(gain, offset_w * 1000, max_raw=int(hi * 1000) if hi else 1 << 21)
        result["raw_w"] = raw_mw / 1000
        result["value_w"] = model.apply(raw_mw) / 1000
    else:
        result["raw_w"] = None
        result["value_w"] = None
    _out(result)


def calib(channel):
    """The channel's calibration section of /calib.json."""
    _sensor(_profile(), channel)
    _out(_section(_load(), channel))


def write_calib(channel, entry_json):
    """Make entry (JSON text) the channel's current calibration; the old one goes to history."""
    _sensor(_profile(), channel)
    entry = json.loads(entry_json)
    gain = float(entry["gain"])
    offset_w = float(entry.get("offset_w", 0))
    if gain != gain or offset_w != offset_w or gain == 0:
        raise ValueError("gain and offset_w must be numbers and gain not 0")
    doc = _load()
    sec = _section(doc, channel)
    if sec["current"]:
        sec["history"].append(sec["current"])
        while len(sec["history"]) > HISTORY_MAX:
            sec["history"].pop(0)
    sec["current"] = entry
    doc["channels"][channel] = sec
    _save(doc)
    _out(_section(_load(), channel))  # read back from the flash


def rollback(channel):
    """The previous entry becomes current again (none left: back to the profile's calib)."""
    _sensor(_profile(), channel)
    doc = _load()
    sec = _section(doc, channel)
    if not sec["current"]:
        raise ValueError("channel %r has no calibration to roll back" % channel)
    sec["current"] = sec["history"].pop() if sec["history"] else None
    doc["channels"][channel] = sec
    _save(doc)
    _out(_section(_load(), channel))


def _line(app, src, wall):
    from sunprint.core.ledger import LIFETIME

    ledger = app.ledger
    reading = getattr(src, "reading_mw", app.power_mw)
    return _PREFIX + json.dumps(
        {
            "t": wall,
            "power_mw": reading,
            "raw": getattr(src, "raw", reading),
            "flag": src.flag,
            "today_mwh": ledger.today_mwh,
            "lifetime_mwh": ledger.mwh(LIFETIME),
            "faults": app.faults,
            "last_fault": app.last_fault,
        }
    )


def _samples(src):
    n = 0
    for c in src.flags:  # readings per flag
        n += c
    return n


def monitor(seconds=0, interval=0):
    """Run the app and print a line per sample: "@sp " + JSON with t (wall, firmware seconds),
    power_mw (this reading), raw, flag, today_mwh, lifetime_mwh, faults, last_fault.
    seconds: stop after that long (0: until Ctrl-C); interval: sample period for the session
    (0: the profile's). Ends with the line "@sp end"."""
    from sunprint.compat import sleep_ms, ticks_diff, ticks_ms
    from sunprint.runner import Runner

    app = _app()
    if interval > 0:
        app.sample_period_s = interval
        app.next_sample = -1  # sample at once, then every interval
    runner = Runner(app, wdt=_watchdog())  # the unit's loop, watchdog and all
    src = app.source
    seen = _samples(src)
    start = ticks_ms()
    try:
        while seconds <= 0 or ticks_diff(ticks_ms(), start) < seconds * 1000:
            ms = runner.step()
            count = _samples(src)
            if count != seen:  # the step took a sample
                seen = count
                # the wall of the sample the log holds: a wall read now can be a second later
                # than the one the tick was given (a loaded unit, a step across a second)
                log = app.samplelog
                t = log.last_t if log is not None and log.last_t >= 0 else runner.clock.wall()
                print(_line(app, src, t))
            sleep_ms(ms if ms < 100 else 100)
    except KeyboardInterrupt:
        pass
    runner.shutdown()
    log = app.samplelog
    if log is not None:
        log.flush()  # the session's rows onto the flash before the host restarts the unit
    print(_PREFIX + "end")


def flush_log():
    """Write the running app's buffered sample-log rows (before the host reads /log)."""
    from sunprint import status

    reg = status.registered()
    log = getattr(reg[0], "samplelog", None) if reg is not None and reg[0] is not None else None
    if log is not None:
        log.flush()
    _out({"flushed": log is not None})
