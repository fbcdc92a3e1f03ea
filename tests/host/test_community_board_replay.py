"""`sunprint community replay LOG --board NAME` (host_tools/community.py): a community log
replayed on a community board's own line, the protocol, meters, baud rate and timeout from the
profile (the rig's line, host_tools/sim/parts.py COMMUNITY_BUSES): the bundled DL/T 645 day on
the Modbus community board (DDSU666, SDM120, SDM630 by unit id at 9600 baud) with per-meter
faults, the log's meters mapped onto the board's by position; bad input one line, exit 2."""

import json

import pytest

from host_tools import cli, community
from host_tools.errors import UserError
from host_tools.paths import BOARDS, LOGS
from host_tools.sim.chips.modbus_meter import ModbusMeterModel

DAY = LOGS / "community-zhongshan-2024-10-15.csv"
MODBUS = "esp32-epd42-community-modbus"
BENCH_FAULTS = (
    "meter_silent@10:00,meter=3,until=12:00",
    "meter_silent@10:00,meter=5,until=12:00",
    "meter_swap@13:00,meter=2",
)


@pytest.fixture(scope="module")
def log():
    return community.read_log(DAY)


def _faults(log, texts):
    return [community.parse_fault(f, log) for f in texts]


def test_a_new_modbus_meter_starts_at_its_own_register():
    # a replacement meter counts on from the value it came with, never from the old one's
    m = ModbusMeterModel(7, "sdm630", energy_kwh=4321.5, export_kwh=12.0)
    m.swap(energy_kwh=2.5)
    assert m.shown_wh() == 2500 and m.export_kwh == 0.0
    m.set(power_w=3600.0)
    m.advance(1000)
    assert m.shown_wh() == 3500
    m.swap()  # a new meter fresh from the factory: 0.00 kWh
    assert m.shown_wh() == 0


def test_bundled_day_on_the_modbus_board_is_exact(log):
    s = community.replay(log, _faults(log, BENCH_FAULTS), board=MODBUS)
    assert s["protocol"] == "modbus" and s["board"] == MODBUS
    assert s["error_wh"] == 0 and s["community_total_wh"] == s["sum_of_truths_wh"] > 100000
    assert s["ledger_lifetime_wh"] == s["community_total_wh"]
    m = s["meters"]
    # by position: log column k is the profile's meters[k - 1]
    assert [x["unit"] for x in m] == [1, 2, 7, 12, 21]
    assert [x["model"] for x in m] == ["ddsu666", "sdm120", "sdm630", "sdm120", "ddsu666"]
    assert [x["address"] for x in m] == log.addresses
    assert m[2]["silent_reads"] == 120 and m[4]["silent_reads"] == 120
    assert m[1]["resets"] == 1 and all(x["booked_wh"] == x["truth_wh"] for x in m)
    assert s["homes_reporting_min"] == 3 and s["homes_reporting_last"] == 5
    # the poller kept the t3.5 silences and let go of the line before every reply
    assert s["line"] == {"gap_violations": 0, "de_violations": 0, "collisions": 0, "lost_bytes": 0}
    # the Modbus registers count in Wh: the truth is not the DL/T 645 replay's 10 Wh steps
    # rounded, but what each register showed, and it comes to the same energy within a count
    dlt = community.replay(log, _faults(log, BENCH_FAULTS))
    assert abs(s["sum_of_truths_wh"] - dlt["sum_of_truths_wh"]) <= 10 * len(m)


def test_bus_errors_on_one_modbus_meter_are_its_own(log):
    s = community.replay(log, _faults(log, ["bus_errors@09:00,meter=4,until=15:00"]), board=MODBUS)
    bad = [x["bad_frames"] for x in s["meters"]]
    assert bad[3] == 360 and sum(bad) == 360  # unit 12's CRC errors, nobody else's
    assert s["error_wh"] == 0


@pytest.mark.parametrize("board", [MODBUS, "esp32-epd42-community"])
def test_a_collision_on_one_meter_is_flagged_never_booked(log, board):
    # a second device answering to unit 12 (address 4) for an hour: garbage, a bad frame each
    # round on that meter alone; its energy is booked from its register when it is heard again
    s = community.replay(log, _faults(log, ["collision@10:00,meter=4,until=11:00"]), board=board)
    assert [x["bad_frames"] for x in s["meters"]] == [0, 0, 0, 60, 0]
    assert s["error_wh"] == 0 and s["meters"][3]["booked_wh"] == s["meters"][3]["truth_wh"]


@pytest.mark.parametrize("board", [MODBUS, "esp32-epd42-community"])
@pytest.mark.parametrize("kwh", ["12.34", "50000"])
def test_a_new_meter_at_its_own_register_is_a_swap(log, board, kwh):
    # the new meter comes with its own reading, below or far above the old one's: never a
    # negative step, never the jump booked; what it moved on the bus is
    f = _faults(log, ["meter_swap@13:00,meter=2,kwh=" + kwh])
    assert f[0].new_count == int(float(kwh) * 100 + 0.5)
    s = community.replay(log, f, board=board)
    m = s["meters"][1]
    assert s["error_wh"] == 0 and m["resets"] == 1 and m["booked_wh"] == m["truth_wh"] > 20000


def test_a_bad_new_register_is_named(log):
    for text, what in (
        ("meter_swap@13:00,meter=2,kwh=1.234", "kwh=1.234 is not a register"),
        ("meter_swap@13:00,meter=2,kwh=-1", "is not a register"),
        ("meter_swap@13:00,meter=2,kwh=1000000", "is not a register"),
        ("meter_silent@10:00,meter=1,until=11:00,kwh=1", "unknown 'kwh'"),
    ):
        with pytest.raises(UserError, match=what):
            community.parse_fault(text, log)


def test_the_dlt645_board_replays_on_its_own_line(log):
    s = community.replay(log, _faults(log, BENCH_FAULTS), board="esp32-epd42-community")
    assert s["protocol"] == "dlt645" and s["error_wh"] == 0
    assert [x["on_bus"] for x in s["meters"]] == ["%012d" % (i + 1) for i in range(5)]
    assert s["meters"][1]["resets"] == 1


def _run(capsys, *argv):
    rc = cli.main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_replay_on_a_board_is_a_sunprint_command(capsys):
    fault = "meter_silent@10:00,meter=3,until=12:00"
    rc, out, err = _run(
        capsys, "community", "replay", str(DAY), "--board", MODBUS, "--fault", fault
    )
    assert rc == 0, err
    s = json.loads(out)
    assert s["error_wh"] == 0 and s["homes_reporting_min"] == 4 and s["protocol"] == "modbus"


def test_a_board_that_does_not_fit_the_log_is_refused_by_name(capsys, tmp_path):
    three = tmp_path / "three.csv"
    homes = community.default_homes(3)
    stamps, p, reg = community.synthesize(homes, interval_s=300)
    three.write_text(community.log_text(homes, stamps, p, reg, interval_s=300))
    profile = json.loads((BOARDS / (MODBUS + ".json")).read_text())
    profile["community"]["meters"][1]["model"] = "sdm999"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(profile))
    before = sorted(tmp_path.iterdir())
    cases = [
        (("--board", "esp32-epd42-dlt645"), "not a community profile"),
        (("--board", "no-such-board"), "no-such-board"),
        (("--board", str(broken)), "community.meters[1].model"),
        (("--board", MODBUS, "--sample-period", "1"), "community.meters"),
    ]
    for args, what in cases:
        rc, out, err = _run(capsys, "community", "replay", str(DAY), *args)
        assert rc == 2 and out == "", (args, err)
        assert err.count("\n") == 1 and err.startswith("sunprint community: error: "), err
        assert what in err, err
    rc, out, err = _run(capsys, "community", "replay", str(three), "--board", MODBUS)
    assert rc == 2 and err.count("\n") == 1, err
    assert "5 meters" in err and "3" in err and "by position" in err
    assert sorted(tmp_path.iterdir()) == before  # nothing written


def test_counts_that_differ_are_refused_before_anything_runs(log):
    homes = community.default_homes(2)
    stamps, p, reg = community.synthesize(homes, interval_s=300)
    two = community.CommunityLog([h.address for h in homes], 300, stamps, p, reg)
    with pytest.raises(UserError, match="by position"):
        community.replay(two, (), board=MODBUS)
