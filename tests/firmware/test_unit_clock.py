# The whole unit with a battery-backed DS3231 on the INA226's I2C bus (issue 16): firmware/main.py
# boots esp32-epd29-ina226 with a "clock" section on the fake machine, and is power-cycled
# across midnight. The ESP32's own RTC starts at 2000-01-01 at every power-on (VRtc below); the
# DS3231 model kept the time on its battery, so the ClockKeeper sets the RTC at boot and the
# day rolls where it should: yesterday's energy is yesterday's, today's today's. Without a time
# source the same cut leaves the date unknown: the energy is in lifetime, held, and the sign
# says so. CPython and MicroPython.
# micropython-heap: 110000 (an ESP32 without PSRAM: the models run outside the VM)
# micropython-vm: app (the deployed form: the app frozen into the 32-bit binary)
import json

from repo import ROOT
from unit_boot import boot as boot_unit
from unit_boot import run_until
from vrtc import VRtc

from sunprint.core.ledger import LIFETIME, TODAY, YESTERDAY
from sunprint.store import OsFs

BOARD = ROOT + "/boards/esp32-epd29-ina226.json"
MIDNIGHT = 782236800  # 2024-10-15 00:00 local (UTC+8), firmware seconds
W = 200.0  # a small string on the INA226, day and night: the test is about days, not the sun


_N = [0]


def _flash():
    import os

    while True:
        _N[0] += 1
        folder = "clockflash%d" % _N[0]
        try:
            os.mkdir(folder)
        except OSError:
            continue
        return OsFs(folder)


def _profile(sources, path):
    with open(BOARD) as f:
        p = json.load(f)
    if sources:
        p["clock"] = {"sources": list(sources)}
    with open(path, "w") as f:
        json.dump(p, f)
    return p


def boot(start_s, fs, sources):
    from sunprint.clock.keeper import ClockKeeper

    path = "clockboard%d.json" % len(sources)
    # the DS3231 set as at installation: it kept time (the models wired from the dict: the
    # model host does not read the VM's folder)
    runner, clock, rig, _ = boot_unit(path, start_s, fs=fs, wired=_profile(sources, path))
    app = runner.unit.app
    rtc = VRtc(clock)
    if app.timekeeper is None:
        app.timekeeper = ClockKeeper(rtc, ())  # no source: the RTC alone
    else:
        app.timekeeper.rtc = rtc
    return runner, clock, rig


def run(runner, clock, rig, until):
    # 200 W give or take 1 W a minute (a flat line reads as a stuck sensor)
    def level():
        rig.set_power(W + (clock.now() // 60) % 3 - 1)

    run_until(runner, clock, until, before=level)


def _cycle(sources):
    fs = _flash()
    runner, clock, rig = boot(MIDNIGHT - 3600, fs, sources)  # 23:00 on the 14th
    run(runner, clock, rig, MIDNIGHT - 600)
    before = runner.unit.app.ledger.mwh(TODAY)
    runner.unit.app.shutdown(clock.now())  # (the journal keeps it anyway: a clean cut)
    runner = clock = rig = None  # the old boot's models leave the VM's heap before the next
    import gc

    gc.collect()
    # the power is back at 00:10 on the 15th, the ESP32's RTC at 2000-01-01
    runner, clock, rig = boot(MIDNIGHT + 600, fs, sources)
    run(runner, clock, rig, MIDNIGHT + 3600)
    return runner, before


def test_a_ds3231_keeps_the_days_across_a_cut_at_midnight():
    runner, before = _cycle(("ds3231",))
    app = runner.unit.app
    ledger = app.ledger
    k = app.timekeeper
    assert k.trusted() and k.names[k.source] == "ds3231" and k.sets == 1
    assert ledger.vouched() and ledger.held() == 0 and ledger.unattributed() == 0
    hour_mwh = int(W * 1000)  # 200 W for an hour
    assert before >= hour_mwh * 45 // 60  # 23:00-23:50, less the first readings
    assert ledger.mwh(YESTERDAY) == before  # the 14th kept what it had
    assert hour_mwh * 45 // 60 <= ledger.mwh(TODAY) <= hour_mwh * 50 // 60 + 10
    assert ledger.mwh(LIFETIME) == before + ledger.mwh(TODAY)
    v = app.screen_values()
    assert v["today_label"][0] == "Energy today" and v["today_kwh"][1] == "Wh"
    from sunprint import status

    s = status.status(app, "x", 0)
    assert s["periods"]["vouched"] and s["clock"]["source"] == "ds3231"


def test_without_a_source_the_same_cut_leaves_the_date_unknown():
    runner, before = _cycle(())
    app = runner.unit.app
    ledger = app.ledger
    assert not ledger.vouched() and ledger.held() > 0
    assert ledger.mwh(TODAY) == before  # the 14th's, not added to: the sign can't vouch
    assert ledger.mwh(LIFETIME) == before + ledger.held()
    v = app.screen_values()
    assert v["today_label"] == ("Total, date unknown", "累计 时间未知")
    assert v["today_kwh"][1].endswith("?")
