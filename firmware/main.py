# Boot: load the config and the board profile, build the unit, run it.
#
# On a unit MicroPython runs this file as __main__ after boot.py. Everything it touches is
# handed to main() so that a PC can boot the very same code: tests pass a fake machine module
# wired to chip and panel models, an in-memory flash, a virtual clock and a watchdog on it.
# Safe mode: three boots that crash before running 10 minutes leave the sign showing SERVICE
# with the reason, sensors and display loop off, and the REPL free for a technician.
# Calibration: /calib.json (written on site by `sunprint calibrate`) overrides the profile's
# `calib` of each sensor it has an entry for, by channel (the sensor's role).
# Config: /config.json, or when it is bad or gone the last good one, kept on the flash as
# config.good.json (rewritten, atomically, only when a valid config.json changed), with the
# fault shown; the unit's settings come from it and the profile by core.config.unit_settings.
# On a deployed unit this module is /app/<id>/main.mpy, started by boot.py's run().
import gc
import json

CONFIG = "/config.json"
BOARD = "/board.json"
BOOT_RECORD = "/boot.rec"
CALIB = "/calib.json"
GOOD_CONFIG = "config.good.json"  # on the flash (fs), beside the ledger
_GOOD_MAX = 4096  # bytes read of it: a valid config is well below


def _read(open_file, path):
    with open_file(path) as f:
        return f.read()


def _optional(name):
    try:
        return __import__(name)
    except ImportError:
        return None


def load_config(config_mod, read_text, flash):
    """(config, fault): config.json by the device rule (core.config.load), the previous good
    config being the copy on the flash. A valid config.json that differs from the copy becomes
    the copy, written to a temporary file and renamed over it (at most one write per change:
    the flash wears)."""
    good = None
    previous = None
    try:
        if flash.exists(GOOD_CONFIG):
            f = flash.open(GOOD_CONFIG, "rb")
            try:
                good = f.read(_GOOD_MAX)
            finally:
                f.close()
            previous = config_mod.parse(good, GOOD_CONFIG)
    except (OSError, ValueError):
        pass  # no usable copy: the defaults are the fallback
    texts = []

    def read():
        text = read_text()
        texts.append(text)
        return text

    config, fault = config_mod.load(read, previous)
    if fault is None and texts:
        raw = texts[0].encode() if type(texts[0]) is str else texts[0]
        if raw != good:
            try:
                f = flash.open(GOOD_CONFIG + ".tmp", "wb")
                try:
                    f.write(raw)
                    f.flush()
                finally:
                    f.close()
                flash.rename(GOOD_CONFIG + ".tmp", GOOD_CONFIG)
            except OSError as e:
                fault = "%s: not kept as the last good config: %s" % (GOOD_CONFIG, e)
    return config, fault


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
    from sunprint.core import config as config_mod
    from sunprint.store import FileBackend, OsFs, Store

    record = boot_record if boot_record is not None else safemode.FileRecord(BOOT_RECORD, fs)
    reason = safemode.boot(record, safemode.boot_cause())
    flash = fs if fs is not None else OsFs("/")
    config, config_fault = load_config(config_mod, lambda: _read(open_file, config_path), flash)
    profile = json.loads(_read(open_file, board_path))
    try:
        calib_fault = overlay_calib(profile, _read(open_file, calib_path))
    except OSError:  # no calibration on site yet: the profile's
        calib_fault = None
    gc.collect()  # before the frame buffer: the largest block the unit allocates

    from sunprint.board import build

    settings, settings_fault = config_mod.unit_settings(config, profile)
    unit = build(
        profile,
        machine,
        open_file=open_file,
        neopixel=neopixel,
        esp32=esp32,
        fonts_dir=fonts_dir,
        store=Store(FileBackend(flash)),
        sleep_ms=sleep_ms,
        **settings,
    )
    if reason is not None:
        safemode.show_service(unit.display, unit.renderer, reason)
        return None
    app = unit.app
    from sunprint.samplelog import SampleLogWriter

    app.samplelog = SampleLogWriter(flash, directory="/log")  # what `sunprint replay` reads
    app.restore()
    # the config's factors from now on; what the restored ledger booked keeps its own
    app.set_carbon(
        settings["carbon_row"], settings["coal_dg_per_kwh"], settings["tree_dg_co2_per_year"]
    )
    if config_fault:
        app.fault("config", config_fault)
    if settings_fault:
        app.fault("config", settings_fault)
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
