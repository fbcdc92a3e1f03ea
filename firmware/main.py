# Boot: load the config and the board profile, build the unit, run it.
#
# On a unit MicroPython runs this file as __main__ after boot.py. Everything it touches is
# handed to main() so that a PC can boot the very same code: tests pass a fake machine module
# wired to chip and panel models, an in-memory flash, a virtual clock and a watchdog on it.
# Safe mode: three boots that crash before running 10 minutes leave the sign showing SERVICE
# with the reason, sensors and display loop off, and the REPL free for a technician.
# Calibration: /calib.json (written on site by `sunprint calibrate`) overrides the profile's
# `calib` of each sensor it has an entry for, by channel (the sensor's role).
# On a deployed unit this module is /app/<id>/main.mpy, started by boot.py's run().
import gc
import json

CONFIG = "/config.json"
BOARD = "/board.json"
BOOT_RECORD = "/boot.rec"
CALIB = "/calib.json"


def _read(open_file, path):
    with open_file(path) as f:
        return f.read()


def _optional(name):
    try:
        return __import__(name)
    except ImportError:
        return None


def overlay_calib(profile, text):
    """Put /calib.json's current entries (text) into the profile's sensors, in place.

    {"channels": {role: {"current": {"gain": g, "offset_w": o, ...} or null, ...}}}.
    Returns None, or what is wrong with the file (the profile's own calib then stays)."""
    try:
        channels = json.loads(text)["channels"]
        found = []
        for s in profile["sensors"]:
            entry = channels.get(s["role"])
            current = entry.get("current") if entry else None
            if current:
                found.append((s, float(current["gain"]), float(current.get("offset_w", 0))))
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        return "calib.json: %s" % (e,)
    for s, gain, offset_w in found:
        s["calib"] = {"gain": gain, "offset_w": offset_w}
    return None


def main(
    machine=None,
    *,
    fs=None,
    open_file=open,
    board_path=BOARD,
    config_path=CONFIG,
    calib_path=CALIB,
    boot_record=None,
    fonts_dir="/fonts",
    clock=None,
    wdt=None,
    neopixel=None,
    esp32=None,
    sleep_ms=None,
    run=True,
):
    """Boot the unit; returns the Runner (run=False: built and restored, not started), or
    None in safe mode."""
    if machine is None:
        import machine  # the real one, on a unit

        # and the port's own modules for the boards that need them (WS2812, S0 on a PCNT)
        if neopixel is None:
            neopixel = _optional("neopixel")
        if esp32 is None:
            esp32 = _optional("esp32")
    from sunprint import safemode, status
    from sunprint.core import carbon
    from sunprint.core import config as config_mod
    from sunprint.store import FileBackend, OsFs, PersistPolicy, Store

    record = boot_record if boot_record is not None else safemode.FileRecord(BOOT_RECORD, fs)
    reason = safemode.boot(record, safemode.boot_cause())
    config, config_fault = config_mod.load(lambda: _read(open_file, config_path))
    profile = json.loads(_read(open_file, board_path))
    try:
        calib_fault = overlay_calib(profile, _read(open_file, calib_path))
    except OSError:  # no calibration on site yet: the profile's
        calib_fault = None
    gc.collect()  # before the frame buffer: the largest block the unit allocates

    from sunprint.board import build

    try:
        row = carbon.factor(str(config["carbon_region"]), int(config["carbon_year"]))
    except carbon.CarbonError:
        row = carbon.factor()
    unit = build(
        profile,
        machine,
        open_file=open_file,
        neopixel=neopixel,
        esp32=esp32,
        fonts_dir=fonts_dir,
        store=Store(FileBackend(fs if fs is not None else OsFs("/"))),
        policy=PersistPolicy(int(config["persist_interval_s"]), int(config["persist_wh"])),
        tz_offset_s=int(config["tz_offset_min"]) * 60,
        carbon_row=row,
        sleep_ms=sleep_ms,
    )
    if reason is not None:
        safemode.show_service(unit.display, unit.renderer, reason)
        return None
    app = unit.app
    from sunprint.samplelog import SampleLogWriter

    flash = fs if fs is not None else OsFs("/")
    app.samplelog = SampleLogWriter(flash, directory="/log")  # what `sunprint replay` reads
    app.restore()
    if config_fault:
        app.fault("config", config_fault)
    if calib_fault:
        app.fault("calib", calib_fault)
    status.register(app, str(config["unit_id"]), clock)
    from sunprint.runner import Runner

    if wdt is None and run:
        wdt = machine.WDT(timeout=30000)
    runner = Runner(app, wdt=wdt, clock=clock, boot=record, unit=unit)
    if run:
        runner.start()
    return runner


if __name__ == "__main__":
    main()
