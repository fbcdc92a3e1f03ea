"""Replay books what the unit would: the log's rows go through the unit's own source and the
profile's health, in both interpreters. One 1e9 W row in the bundled day used to turn 49.006 kWh
into 2,826.763 kWh on esp32-epd29, whose health caps readings at 800 W."""

import json

import pytest

from host_tools.paths import LOGS, ROOT, use_firmware
from host_tools.replay import replay

DAY = LOGS / "zhongshan-2024-10-15.csv"
EPOCH_2000_UNIX = 946684800
BAD_T = 1728947350  # 2024-10-15 07:09:10 local: 675.6 W, within esp32-epd29's 800 W


def _with_bad_row(path, watts):
    lines = DAY.read_text().splitlines(keepends=True)
    out = []
    hit = 0
    for ln in lines:
        if ln[0].isdigit() and int(ln.split(",")[0]) == BAD_T:
            assert float(ln.split(",")[1]) < 800
            ln = "%d,%s\n" % (BAD_T, watts)
            hit += 1
        out.append(ln)
    assert hit == 1
    path.write_text("".join(out))
    return path


def _rows(path):
    for ln in path.read_text().splitlines():
        if ln and ln[0].isdigit():
            t, p = ln.split(",")
            yield int(t), int(round(float(p) * 1000))


def what_the_unit_books(path, board):
    """The profile's Health and a Ledger, fed every row: the unit's
    accounting written out here, not through replay."""
    use_firmware()
    from sunprint.core.health import Health
    from sunprint.core.ledger import LIFETIME, Ledger

    (sensor,) = json.loads((ROOT / "boards" / (board + ".json")).read_text())["sensors"]
    h = sensor["health"]
    health = Health(
        h["min_w"] * 1000, h["max_w"] * 1000, h["max_step_w"] * 1000, h.get("stuck_after", 0)
    )
    ledger = Ledger()
    for t, mw in _rows(path):
        now = t - EPOCH_2000_UNIX
        ledger.add_power(now, mw, now, health.check(mw) == 0)
    return ledger.mwh(LIFETIME), ledger.missing_s


@pytest.mark.parametrize("micropython", [False, True])
def test_a_1e9_w_row_is_flagged_as_on_the_unit(tmp_path, micropython):
    bad = _with_bad_row(tmp_path / "bad.csv", "1000000000.0")
    summary = replay(
        bad,
        "esp32-epd29",
        tmp_path / "out",
        progress=False,
        accounting_only=True,
        micropython=micropython,
    )
    booked, missing = what_the_unit_books(bad, "esp32-epd29")
    assert summary["energy"]["lifetime_mwh"] == booked, (summary["energy"], booked)
    assert summary["energy"]["missing_s"] == missing
    clean = what_the_unit_books(DAY, "esp32-epd29")[0]
    # the row and the two intervals beside it are not booked; nothing else changes
    assert 0 <= clean - booked <= 2 * 10 * 800 * 1000 // 3600, (clean, booked)


def test_a_1e9_w_row_on_a_meter_board_is_not_booked(tmp_path):
    # On a meter board the log's energy also drives the simulated register: the row puts 2.78
    # MWh into it in 10 s. The power is flagged by the health, the register's step refused as
    # implausible (twice the meter's 30 kW), and the interval filled from power.
    bad = _with_bad_row(tmp_path / "bad.csv", "1000000000.0")
    summary = replay(
        bad, "esp32-epd42-dlt645", tmp_path / "out", progress=False, accounting_only=True
    )
    got = summary["energy"]["lifetime_kwh"]
    assert 48.9 <= got <= 49.01, got  # the clean day books 49.00 kWh (whole 0.01 kWh counts)
    assert summary["faults"]["meter"] >= 1 and summary["faults"]["sensor"] >= 1
