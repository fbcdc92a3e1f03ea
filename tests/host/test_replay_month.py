"""Month and year take the held energy they can vouch for (issue 16, item 2), randomized against
the log's truth in summary.json: the bundled week with an outage (all of it May 2024) on the
DL/T 645 board, with 1-3 power cuts that lose the time at random moments, and NTP giving it
back from half an hour to 40 h later (ntp_late) or never (rtc_lost). The truth is the same
week replayed with a trusted clock (its days booked as the log's own: checked here, the outage
day aside, where the meter's register books what the log has no rows for).

For every draw: no energy on a wrong day (wrong_day_wh 0), nothing dropped or doubled
(lifetime as the truth's; the days booked, the unattributed and the held energy add up to it),
no day above its truth, and this month and this year hold all of the truth but what is still
held: the week never leaves May, so every hold is provably May's once the time is back. The
draws that cross midnight failed on the old ledger (month = the truth less the unattributed).
"""

import random

import pytest

from host_tools.paths import LOGS
from host_tools.replay import replay

WEEK = LOGS / "zhongshan-2024-05-06-week-outage.csv"
BOARD = "esp32-epd42-dlt645"
WEEK_H = 7 * 24
MAY_6 = 1714924800  # 2024-05-06 00:00 local (UTC+8), Unix seconds: the week's first day
OUTAGE_DAY = "2024-05-09"
DRAWS = 8


def _run(path, faults):
    return replay(WEEK, BOARD, path, progress=False, accounting_only=True, faults=faults)


def _mwh(kwh):
    return round(kwh * 1e6)


def _days(s):
    return {d["date"]: round(d["booked_wh"] * 1000) for d in s["days"]}


@pytest.fixture(scope="module")
def truth(tmp_path_factory):
    s = _run(tmp_path_factory.mktemp("truth"), [])
    for d in s["days"]:
        if d["date"] != OUTAGE_DAY:
            assert abs(d["booked_wh"] - d["log_wh"]) <= 10, d  # the log's own, to a few Wh
    assert s["wrong_day_wh"] == 0 and s["clock"]["unattributed_wh"] == 0
    return s


def _draw(rng):
    faults = []
    at_h = rng.uniform(2, 40)
    for _ in range(rng.randint(1, 3)):
        if at_h >= WEEK_H - 2:
            break
        hhmm = "%d" % (MAY_6 + int(at_h * 3600))
        if rng.random() < 0.8:
            back = rng.randint(1800, 40 * 3600)
            faults.append("ntp_late@%s,seconds=%d" % (hhmm, back))
            at_h += back / 3600 + rng.uniform(1, 30)
        else:
            faults.append("rtc_lost@%s" % hhmm)  # no source: the date stays unknown
            break
    return faults


@pytest.mark.parametrize("seed", range(DRAWS))
def test_month_and_year_take_what_they_can_vouch_for(tmp_path, truth, seed):
    faults = _draw(random.Random(1600 + seed))
    s = _run(tmp_path / "out", faults)
    why = "seed %d: %s" % (seed, faults)
    e, c = s["energy"], s["clock"]
    held, unatt = _mwh(c["held_wh"] / 1000), _mwh(c["unattributed_wh"] / 1000)
    life = e["lifetime_mwh"]
    assert s["wrong_day_wh"] == 0, why
    assert life == truth["energy"]["lifetime_mwh"], why
    days = _days(s)
    true_days = _days(truth)
    assert sum(days.values()) + unatt + held == life, why
    for d in days:
        assert days[d] <= true_days[d], (why, d)
    # this month and this year: all of the truth (all May) but what is still held
    assert _mwh(e["month_kwh"]) + held == _mwh(truth["energy"]["month_kwh"]), why
    assert _mwh(e["year_kwh"]) + held == _mwh(truth["energy"]["year_kwh"]), why
    assert _mwh(truth["energy"]["month_kwh"]) == life
