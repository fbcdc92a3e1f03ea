"""The community log (host_tools/community.py): the bundled community day replayed through the
firmware's community core on the simulated bus with per-meter faults, synth's determinism, and
every kind of bad input (one line, exit status 2, nothing overwritten)."""

import pytest

from host_tools import community
from host_tools.errors import UserError
from host_tools.paths import LOGS

DAY = LOGS / "community-zhongshan-2024-10-15.csv"
BENCH_FAULTS = (
    "meter_silent@10:00,meter=3,until=12:00",
    "meter_silent@10:00,meter=5,until=12:00",
    "meter_swap@13:00,meter=2",
)


@pytest.fixture(scope="module")
def log():
    return community.read_log(DAY)


def test_bundled_day_with_two_silent_and_one_swapped_is_exact(log):
    faults = [community.parse_fault(f, log) for f in BENCH_FAULTS]
    s = community.replay(log, faults)
    assert s["error_wh"] == 0 and s["community_total_wh"] == s["sum_of_truths_wh"] > 100000
    assert s["ledger_lifetime_wh"] == s["community_total_wh"]
    assert s["homes_reporting_min"] == 3 and s["homes_reporting_last"] == 5
    m = s["meters"]
    assert m[2]["silent_reads"] == 120 and m[4]["silent_reads"] == 120
    assert m[1]["resets"] == 1 and all(x["booked_wh"] == x["truth_wh"] for x in m)


def test_bus_errors_on_one_address_never_distort(log):
    faults = [community.parse_fault("bus_errors@09:00,meter=4,until=15:00", log)]
    s = community.replay(log, faults)
    assert s["meters"][3]["bad_frames"] == 360
    assert s["error_wh"] == 0


def test_synth_is_deterministic_per_home(log):
    homes = community.default_homes(2)
    stamps, p, reg = community.synthesize(homes)
    assert stamps == log.stamps
    assert p == log.powers[:2] and reg == log.registers[:2]


def _refused(tmp_path, text, capsys, *args):
    f = tmp_path / "c.csv"
    f.write_text(text)
    assert community.main(["replay", str(f), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    return err


def test_bad_logs_are_named(tmp_path, capsys):
    good = DAY.read_text().splitlines(keepends=True)
    head = "".join(good[:8])
    assert "not a sunprint community log" in _refused(tmp_path, "time,x\n", capsys)
    assert "header is not" in _refused(tmp_path, "".join(good[:7]) + "time,a\n", capsys)
    row = good[8].split(",")
    row[2] = "12.3"  # not XXXXXX.XX
    assert "c.csv:9: 000000000001" in _refused(tmp_path, head + ",".join(row), capsys)
    assert "does not follow" in _refused(tmp_path, head + good[9] + good[8], capsys)
    row = good[9].split(",")
    row[4] = "0.00"
    assert "register goes back" in _refused(tmp_path, head + good[8] + ",".join(row), capsys)
    assert "fields" in _refused(tmp_path, head + "2024-10-15T00:00:00+08:00,1\n", capsys)


def test_bad_faults_are_named(log):
    for text, what in (
        ("meter_gone@10:00,meter=1,until=11:00", "kind must be"),
        ("meter_silent@10:00,meter=9,until=11:00", "meter must be 1 to 5"),
        ("meter_silent@10:00,until=11:00", "meter= is missing"),
        ("meter_silent@10:00,meter=1", "until= must come after"),
        ("meter_silent@ten,meter=1,until=11:00", "is not HH:MM"),
        ("meter_silent@10:00,meter=1,until=11:00,x=1", "unknown"),
    ):
        with pytest.raises(UserError, match=what):
            community.parse_fault(text, log)


def test_synth_never_overwrites_a_file_it_did_not_write(tmp_path, capsys):
    f = tmp_path / "notes.csv"
    f.write_text("mine\n")
    assert community.main(["synth", "--homes", "1", "--out", str(f)]) == 2
    assert f.read_text() == "mine\n"
    assert capsys.readouterr().err.startswith("error: --out")
