"""`sunprint community synth / replay` (host_tools/cli.py, host_tools/community.py): the
commands of the sunprint CLI, bad input as one line and exit status 2, nothing overwritten."""

import json

from host_tools import cli
from host_tools.paths import LOGS

DAY = LOGS / "community-zhongshan-2024-10-15.csv"


def _run(capsys, *argv):
    rc = cli.main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_replay_is_a_sunprint_command(capsys):
    rc, out, err = _run(
        capsys, "community", "replay", str(DAY), "--fault", "meter_silent@10:00,meter=3,until=12:00"
    )
    assert rc == 0, err
    s = json.loads(out)
    assert s["error_wh"] == 0 and s["homes_reporting_min"] == 4


def test_bad_input_is_one_line_and_status_2(capsys, tmp_path):
    mine = tmp_path / "mine.csv"
    mine.write_text("my own file\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("# sunprint community log 1\ntime,x\n2024-10-15T00:00:00+08:00,zz\n")
    cases = [
        ("community", "replay", str(tmp_path / "missing.csv")),
        ("community", "replay", str(bad)),
        ("community", "replay", str(DAY), "--fault", "meter_silent@10:00,meter=9"),
        ("community", "replay", str(DAY), "--fault", "meter_melt@10:00,meter=1"),
        ("community", "synth", "--homes", "0", "--out", str(tmp_path / "x.csv")),
        ("community", "synth", "--out", str(mine)),
        ("community", "synth", "--out", str(tmp_path / "no-folder" / "x.csv")),
    ]
    for argv in cases:
        rc, out, err = _run(capsys, *argv)
        assert rc == 2, (argv, rc, err)
        assert err.count("\n") == 1 and err.startswith("sunprint community: error: "), err
    assert mine.read_text() == "my own file\n"  # never overwritten
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "mine.csv"]


def test_sample_log_replay_refuses_a_community_board(capsys, tmp_path):
    # a sample log is one power: the community board's meters replay from a community log
    log = LOGS / "zhongshan-2024-10-15.csv"
    out = tmp_path / "out"
    rc, _, err = _run(
        capsys, "replay", str(log), "--board", "esp32-epd42-community", "--out", str(out)
    )
    assert rc == 2 and err.count("\n") == 1, err
    assert "sunprint community replay" in err and not out.exists()
