# Boot: load the config and the board profile, build the unit, run it.
#
# On a unit MicroPython runs this file as __main__ after boot.py. Everything it touches is
# handed to main() so that a PC can boot the very same code: tests pass a fake machine module
# wired to chip and panel models, an in-memory flash, a virtual clock and a watchdog on it.
# Safe mode: three boots that crash before running 10 minutes leave the sign showing SERVICE
# with the reason, sensors and display loop off, and the REPL free for a technician.
# A board.json the unit cannot run (sunprint/parts.py says why, as `sunprint boards check` does)
# is not a crash: one line on the console and the service screen, the REPL free, no boot counted.
# Calibration: /calib.json (written on site by `sunprint calibrate`) overrides the profile's
# `calib` of each sensor it has an entry for, by channel (the sensor's role).
# Config: /config.json, or when it is bad or gone the last good one, kept on the flash as
# config.good.json in its canonical form (core.config.dumps: under 1 KB whatever the size of
# the config.json it came from; rewritten, atomically, only when the config's values changed),
# with the fault shown; the unit's settings come from it and the profile by
# core.config.unit_settings.
# On a deployed unit this module is /app/<id>/main.mpy, started by boot.py's run().
import gc
import json

CONFIG = "/config.json"
BOARD = "/board.json"
BOOT_RECORD = "/boot.rec"
CALIB = "/calib.json"
GOOD_CONFIG = "config.good.json"  # on the flash (fs), beside the ledger


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
    config being the copy on the flash. A valid config.json whose values differ from the copy
    becomes the copy, in canonical form (core.config.dumps), written to a temporary file and
    renamed over it (at most one write per change: the flash wears)."""
    good = None
    previous = None
    try:
        if flash.exists(GOOD_CONFIG):
            f = flash.open(GOOD_CONFIG, "rb")
            try:
                good = f.read()  # whole: a copy written before it was canonical can be large
            finally:
                f.close()
            previous = config_mod.parse(good, GOOD_CONFIG)
    except (OSError, ValueError, MemoryError):
        pass  # no usable copy: the defaults are the fallback
    found = []

    def read():
        text = read_text()
        found.append(True)
        return text

    config, fault = config_mod.load(read, previous)
    if fault is None and found:  # a valid config.json (none on a first boot: nothing kept)
        raw = config_mod.dumps(config).encode()
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
        if found:
            from sunprint import parts  # the profile's own calib rules (boot-only)

            try:
                for s, gain, offset_w in found:
                    parts.check_calib({"gain": gain, "offset_w": offset_w}, s["role"])
            finally:
                parts.unload()
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        return "calib.json: %s" % (e,)
    for s, gain, offset_w in found:
        s["calib"] = {"gain": gain, "offset_w": offset_w}
    return None


def _refuse(record, text, profile, machine, neopixel=None, sleep_ms=None):
    """A board.json the unit cannot run: say why (one line) on the console and, when its
    display section is sound, on the sign's service screen; nothing else runs and the REPL
    stays free. A bad file is not a crash: this boot does not count towards safe mode."""
    from sunprint import safemode

    safemode.not_a_crash(record)
    print(text)
    if profile is None:
        return None
    from sunprint import parts

    try:
        parts.check_display(profile["display"])
    except (ValueError, KeyError, TypeError):
        return None  # nothing to show it on
    finally:
        parts.unload()
    from sunprint.board import service_panel

    try:
        panel = service_panel(profile, machine, neopixel, sleep_ms)
    except (ValueError, OSError):  # e.g. a ws2812 without the neopixel module
        return None
    safemode.show_on_panel(panel, text)
    return None


# Modules only the boot needs: parsing the config, checking the profile, the panel table and
# building the unit, safe mode's decision and service screen. Once the unit is built, main lets
# them leave the heap (their code and tables; from .mpy files or ROMFS their bytecode too):
# nothing the running unit holds refers to them (its objects' classes live in other modules:
# sunprint.unitparts, sunprint.bootrec). Only those this boot imported leave: a host that has
# one loaded keeps it.
BOOT_ONLY = (
    "sunprint.board",
    "sunprint.parts",
    "sunprint.safemode",
    "sunprint.core.config",
    "sunprint.core.strictjson",
    "sunprint.ui.panels",
)


def _leave(names):
    """Drop the modules `names` from sys.modules and from their packages, then collect."""
    import sys

    for name in names:
        sys.modules.pop(name, None)
        pkg, _, leaf = name.rpartition(".")
        parent = sys.modules.get(pkg)
        if parent is not None:
            try:
                delattr(parent, leaf)
            except (AttributeError, KeyError):  # MicroPython: KeyError
                pass  # never imported by this boot, or already gone
    gc.collect()


def _plug_ntp(app, net, config, clock):
    """NTP on the Wi-Fi link, in the keeper's slot "ntp" (core.config.unit_settings put it in
    the order when config.json sets wifi_ssid and ntp_host). Its timeout runs on the runner's
    clock (clock: the one main was given; None: the real ticks_ms, as runner.Clock's)."""
    keeper = app.timekeeper
    if net is None or keeper is None or "ntp" not in keeper.names:
        return
    import socket

    from sunprint.clock.ntp import Ntp
    from sunprint.core.config import ntp_port

    host, port = ntp_port(config["ntp_host"])  # checked when the config was parsed
    if clock is None:
        ntp = Ntp(socket, host, port, link=net.wifi)
    else:
        ntp = Ntp(socket, host, port, ticks_ms=clock.ticks_ms, link=net.wifi)
    keeper.plug("ntp", ntp)


def main(machine=None, *, run=True, **kw):
    """Boot the unit; returns the Runner (run=False: built and restored, not started), or
    None in safe mode. The keywords are _boot's: fs, open_file, board_path, config_path,
    calib_path, boot_record, fonts_dir, clock, wdt, neopixel, esp32, sleep_ms, ticks_ms and
    bus_sleep_ms (the clock the sensor's bus driver waits on: a PC's virtual clock; default
    real time), network (the `network` module; the port's own by default, used only when
    config.json sets wifi_ssid). The unit is put together by sunprint.board.boot (the one
    composition root, which replay and the tests use too).

    Before the runner starts, the boot-only modules (BOOT_ONLY) leave the heap with every
    local of the boot: the profile and config dicts, the build function."""
    import sys

    mine = [n for n in BOOT_ONLY if n not in sys.modules]
    runner = _boot(machine, run=run, **kw)
    _leave(mine)
    if run and runner is not None:
        runner.start()
    return runner


def _boot(
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
    ticks_ms=None,
    bus_sleep_ms=None,
    network=None,
    run=True,
):
    """main() without the start: the Runner (not started), or None in safe mode."""
    if machine is None:
        import machine  # the real one, on a unit

        # and the port's own modules for the boards that need them (WS2812, S0 on a PCNT)
        if neopixel is None:
            neopixel = _optional("neopixel")
        if esp32 is None:
            esp32 = _optional("esp32")
    from sunprint import safemode, status
    from sunprint.core import config as config_mod
    from sunprint.store import OsFs

    record = boot_record if boot_record is not None else safemode.FileRecord(BOOT_RECORD, fs)
    reason = safemode.boot(record, safemode.boot_cause())
    flash = fs if fs is not None else OsFs("/")
    config, config_fault = load_config(config_mod, lambda: _read(open_file, config_path), flash)
    try:
        profile = json.loads(_read(open_file, board_path))
    except OSError as e:
        return _refuse(record, "board.json: cannot be read (%s)" % (e,), None, machine)
    except (ValueError, RuntimeError, MemoryError) as e:  # deep nesting: recursion, memory
        return _refuse(record, "board.json: not valid JSON (%s)" % (e,), None, machine)
    try:
        calib_fault = overlay_calib(profile, _read(open_file, calib_path))
    except OSError:  # no calibration on site yet: the profile's
        calib_fault = None
    gc.collect()  # before the frame buffer: the largest block the unit allocates

    from sunprint.board import Platform, boot

    try:
        settings = config_mod.Settings(config, profile, fault=config_fault)
    except (AttributeError, TypeError, KeyError, ValueError):
        settings = None  # a profile of the wrong shape: build's check names it
    platform = Platform(
        machine,
        fs=flash,
        open_file=open_file,
        fonts_dir=fonts_dir,
        neopixel=neopixel,
        esp32=esp32,
        sleep_ms=sleep_ms,
        ticks_ms=ticks_ms,
        bus_sleep_ms=bus_sleep_ms,
        log_dir="/log",  # what `sunprint replay` reads
    )
    try:
        # boot faults: each stays on the status screen and in the status JSON (app.boot_faults)
        unit = boot(settings, profile, platform, (("calib", calib_fault),), reason)
    except ValueError as e:
        if getattr(e, "field", None) is None:
            raise  # not the profile: a crash, counted as one
        text = "board.json: %s" % (e,)
        return _refuse(record, text, profile, machine, neopixel, sleep_ms)
    if unit is None:
        return None  # safe mode: the service screen shows the reason
    app = unit.app
    status.register(app, str(config["unit_id"]), clock)
    if config.get("wifi_ssid"):  # the network: off by default (sunprint/net, docs/mqtt.md)
        if network is None:
            network = _optional("network")
        if network is None:
            app.fault("net", "this port has no network module")
        else:
            from sunprint.net.publish import start

            name = str(profile.get("name", ""))
            net = start(app, network, config, flash, name, settings.language)  # type: ignore[union-attr]
            _plug_ntp(app, net, config, clock)
    from sunprint.runner import Runner

    if wdt is None and run:
        wdt = machine.WDT(timeout=30000)
    # A community's bus poller (community/source.py) wants a pass every few ms while a round
    # is under way: with a DE pin, DE must drop before a meter may answer (20 ms, DL/T 645)
    poll_ms = 10 if hasattr(unit.source, "pump") else 50
    return Runner(app, wdt=wdt, clock=clock, boot=record, unit=unit, poll_ms=poll_ms)


if __name__ == "__main__":
    main()
