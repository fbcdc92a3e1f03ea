"""Clock faults in a replay (issue 16, item 3): power cuts that lose the time (rtc_lost), NTP
that answers hours after the boot (ntp_late), a clock that runs fast (rtc_drift) and the DL/T 645
meter's clock giving the time back (meter_clock), over the bundled week with an outage on the
DL/T 645 board. summary.json's days (per local day, booked against the log) and wrong_day_wh:
energy booked to a day it was not produced on, 0 with a trusted source; what the unit could not
place is in clock.unattributed_wh (lifetime only), never dropped."""

import json

import pytest

from host_tools.errors import UserError
from host_tools.paths import LOGS, ROOT
from host_tools.replay import replay

WEEK = LOGS / "zhongshan-2024-05-06-week-outage.csv"
BOARD = "esp32-epd42-dlt645"


def _run(tmp_path, faults=(), board=BOARD, name="out"):
    return replay(
        WEEK, board, tmp_path / name, progress=False, accounting_only=True, faults=list(faults)
    )


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("plain"))


def _meter_board(tmp_path):
    # the DL/T 645 board with its meter's clock as the time source
    p = json.loads((ROOT / "boards" / (BOARD + ".json")).read_text())
    p["clock"] = {"sources": ["meter"]}
    path = tmp_path / "epd42-meter-clock.json"
    path.write_text(json.dumps(p))
    return str(path)


def _booked(s):
    return {d["date"]: d["booked_wh"] for d in s["days"]}


def test_without_faults_every_day_is_booked_to_itself(plain):
    days = plain["days"]
    assert [d["date"] for d in days] == ["2024-05-%02d" % d for d in range(6, 13)]
    assert plain["wrong_day_wh"] == 0 and plain["clock"]["unattributed_wh"] == 0
    for d in days:
        if d["date"] != "2024-05-09":  # the meter books the outage the log has no rows for
            assert abs(d["booked_wh"] - d["log_wh"]) <= 10, d
    assert plain["clock"]["source_used"] is None and plain["clock"]["date_known_at_end"]


def test_no_source_holds_and_never_guesses(tmp_path, plain):
    s = _run(tmp_path, ["rtc_lost@12:00"])
    assert s["wrong_day_wh"] == 0
    clock = s["clock"]
    assert clock["source_used"] is None and not clock["date_known_at_end"]
    # from the cut on, nothing is booked to a day; all of it is in lifetime, held
    assert clock["held_wh"] > 200000
    assert s["energy"]["lifetime_mwh"] == plain["energy"]["lifetime_mwh"]
    assert _booked(s)["2024-05-06"] < _booked(plain)["2024-05-06"]
    assert s["energy"]["today_kwh"] * 1000 == _booked(s)["2024-05-06"]  # the last day it knew


def test_a_meter_clock_gives_the_time_back_at_the_boot(tmp_path, plain):
    faults = ["meter_clock@12:00", "rtc_lost@34:00", "meter_clock@82:00,until=83:00"]
    s = _run(tmp_path, faults, board=_meter_board(tmp_path))
    assert s["wrong_day_wh"] == 0 and s["clock"]["unattributed_wh"] == 0
    assert s["clock"]["held_wh"] == 0 and s["clock"]["source_used"] == "meter"
    for f in s["faults_injected"]:
        assert f["clock_source"] == "meter" and f["bound_held"], f
    assert [f.get("meter_reading_ok") for f in s["faults_injected"]] == [True, True, True]
    for date, wh in _booked(plain).items():
        assert abs(_booked(s)[date] - wh) <= 20, date


def test_meter_clock_on_a_board_without_one_is_not_applicable(tmp_path):
    s = _run(tmp_path, ["meter_clock@12:00"], board="esp32-epd29")
    f = s["faults_injected"][0]
    assert f["applicable"] is False and f["clock_source"] is None


def test_ntp_late_the_same_day_is_attributed_to_it(tmp_path, plain):
    s = _run(tmp_path, ["ntp_late@08:00,seconds=10800"])
    assert s["wrong_day_wh"] == 0 and s["clock"]["unattributed_wh"] == 0
    assert s["clock"]["source_used"] == "ntp" and s["clock"]["held_wh"] == 0
    assert abs(_booked(s)["2024-05-06"] - _booked(plain)["2024-05-06"]) <= 20
    assert s["faults_injected"][0]["time_back_t"] >= 1714953600 + 3 * 3600


def test_ntp_late_after_midnight_is_unattributed_not_wrong(tmp_path, plain):
    # cut at 16:00 on the 6th, NTP at 04:00 on the 7th: the evening's energy cannot be
    # proven to be the 6th's (nor the 7th's): lifetime only
    s = _run(tmp_path, ["ntp_late@16:00,seconds=43200"])
    assert s["wrong_day_wh"] == 0
    lost_day = _booked(plain)["2024-05-06"] - _booked(s)["2024-05-06"]
    assert lost_day > 1000 and abs(s["clock"]["unattributed_wh"] - lost_day) <= 20
    assert s["energy"]["lifetime_mwh"] == plain["energy"]["lifetime_mwh"]
    assert _booked(s)["2024-05-07"] == _booked(plain)["2024-05-07"]


def test_a_clock_20_ppm_fast_for_the_week(tmp_path, plain):
    s = _run(tmp_path, ["rtc_drift@00:00"])  # 12 s fast by the end: nights have no sun
    assert s["faults_injected"][0]["ppm"] == 20.0 and s["wrong_day_wh"] == 0
    assert s["faults_injected"][0]["bound_held"]
    # 1000 ppm: 10 min fast by the end of the week, still night at midnight
    s = _run(tmp_path, ["rtc_drift@00:00,ppm=1000"], name="fast")
    assert s["wrong_day_wh"] == 0


def test_clock_fault_options_are_checked(tmp_path):
    for spec, want in (
        ("ntp_late@12:00", "seconds: missing"),
        ("ntp_late@12:00,seconds=-5", "NTP answers after the boot"),
        ("rtc_drift@00:00,ppm=5000", "ppm: want"),
        ("rtc_lost@12:00,seconds=3", "seconds: not a key of a rtc_lost event"),
    ):
        with pytest.raises(UserError, match=want):
            _run(tmp_path, [spec], name="bad")


def test_wrong_day_wh_sees_a_clock_a_day_ahead(tmp_path, plain):
    # the measure can fail: a wall clock that jumps a day ahead at noon books every later
    # sample to the day after the one it was produced on (a trusted clock, wrongly set)
    s = _run(tmp_path, ["clock_jump@12:00,seconds=86400"])
    after_noon = _booked(plain)["2024-05-06"] - _booked(s)["2024-05-06"]
    assert after_noon > 1000
    # everything from 12:00 on the 6th to the end of the week is a day late
    total = s["energy"]["lifetime_mwh"] / 1000
    assert total - _booked(s)["2024-05-06"] - 50 <= s["wrong_day_wh"] <= total


def test_micropython_replays_the_clock_faults_alike(tmp_path):
    faults = ["meter_clock@12:00", "ntp_late@40:00,seconds=3600", "rtc_lost@60:00"]
    cp = _run(tmp_path, faults, name="cp")
    mp = replay(
        WEEK,
        BOARD,
        tmp_path / "mp",
        progress=False,
        accounting_only=True,
        faults=faults,
        micropython=True,
    )
    for key in ("days", "wrong_day_wh", "clock", "energy"):
        assert mp[key] == cp[key], key
    assert mp["faults_injected"][0]["meter_reading_ok"] is True
