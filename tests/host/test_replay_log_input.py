"""`sunprint replay` on logs as people hand them over: a CSV saved by Excel (UTF-8 byte order
mark, CRLF), a log from a unit whose clock was not set (dated before 2024), a log with a gap of
years, and flagged rows of absurd power; summary.json's log integral counts only where the log
has data, by the unit's own rule."""

import json

from host_tools.cli import main

BOARD = "esp32-epd29"


def _replay(tmp_path, text, capsys, *extra, name="log.csv"):
    log = tmp_path / name
    log.write_bytes(text.encode("utf-8"))
    out = tmp_path / "out"
    board = extra[extra.index("--board") + 1] if "--board" in extra else BOARD
    extra = [a for a in extra if a not in ("--board", board)]
    code = main(["replay", str(log), "--board", board, "--out", str(out), "--no-progress", *extra])
    captured = capsys.readouterr()
    summary = json.loads((out / "summary.json").read_text()) if code == 0 else None
    return code, captured.err, summary


def test_a_csv_saved_by_excel_with_a_byte_order_mark_is_read(tmp_path, capsys):
    rows = "".join("%d,%d.0\r\n" % (1728950400 + 10 * i, 100 + i) for i in range(6))
    code, err, summary = _replay(tmp_path, "\ufefftimestamp,power_w\r\n" + rows, capsys)
    assert code == 0, err
    assert summary["samples"] == 6 and summary["log_rows"]["rows"] == 6


def test_a_log_dated_before_2024_says_the_unit_treats_its_clock_as_unset(tmp_path, capsys):
    # 2019-06-01: a unit whose RTC was never set; the unit books it all into one "today"
    rows = "".join("%d,%d.0\n" % (1559347200 + 60 * i, 500) for i in range(30))
    code, err, summary = _replay(
        tmp_path, "timestamp,power_w\n" + rows, capsys, "--accounting-only"
    )
    assert code == 0, err
    lines = [ln for ln in err.splitlines() if "warning" in ln]
    assert len(lines) == 1 and "2024" in lines[0] and "unset" in lines[0], err
    warnings = summary["warnings"]
    assert len(warnings) == 1 and "2019-06-01" in warnings[0] and "unset" in warnings[0]
    assert "today" in warnings[0]


def test_a_log_from_2024_on_has_no_clock_warning(tmp_path, capsys):
    rows = "".join("%d,%d.0\n" % (1728950400 + 60 * i, 500) for i in range(30))
    code, err, summary = _replay(
        tmp_path, "timestamp,power_w\n" + rows, capsys, "--accounting-only"
    )
    assert code == 0 and "warning" not in err and summary["warnings"] == []


def test_the_log_integral_does_not_bridge_a_gap_of_three_years(tmp_path, capsys):
    # a day's hour at 1 kW in 2021, then an hour at 1 kW in 2024: two hours of data, not three
    # years of interpolation (the log read 2,138.9 kWh)
    first = [(1625097600 + 60 * i, 1000.0) for i in range(61)]  # 2021-07-01, 60 min
    second = [(1719792000 + 60 * i, 1000.0) for i in range(61)]  # 2024-07-01, 60 min
    text = "timestamp,power_w\n" + "".join("%d,%.1f\n" % r for r in first + second)
    code, err, summary = _replay(tmp_path, text, capsys, "--accounting-only")
    assert code == 0, err
    energy = summary["energy"]
    assert energy["log_integral_kwh"] == 2.0  # 2 x 60 min x 1 kW
    assert energy["log_integral_max_gap_s"] == 300  # the unit's max_gap_s, said in the summary
    assert energy["log_integral_unbridged_s"] == second[0][0] - first[-1][0]
    assert "max_gap_s" in energy["log_integral_rule"]


def test_the_log_integral_leaves_out_flagged_rows_as_the_unit_does(tmp_path, capsys):
    t0 = 1728950400
    rows = [(t0 + 10 * i, 720.0, 720000, 0) for i in range(10)]
    rows[5] = (t0 + 50, 199981000000000.0, 199981, 5)  # an absurd calibration's reading, flagged
    text = "# sunprint samplelog 2\ntimestamp,power_w,raw,flag\n"
    text += "".join("%d,%.3f,%d,%d\n" % r for r in rows)
    code, err, summary = _replay(tmp_path, text, capsys)  # with the plot and the frames
    assert code == 0, err
    energy = summary["energy"]
    # 90 s of rows, the 20 s on either side of the flagged row are not data: 70 s at 720 W
    assert energy["log_integral_kwh"] == 0.014
    assert energy["lifetime_kwh"] == energy["log_integral_kwh"]


def test_a_flagged_row_of_huge_finite_power_books_nothing_in_both_interpreters(tmp_path, capsys):
    # the reader takes any finite power on a flagged row; the unit books nothing for it
    t0 = 1728950400
    rows = [(t0 + 10 * i, 720.0, 720000, 0) for i in range(10)]
    same = list(rows)
    rows[5] = (t0 + 50, 1.7e308, 100000, 5)
    same[5] = (t0 + 50, 5.0, 100000, 5)
    head = "# sunprint samplelog 2\ntimestamp,power_w,raw,flag\n"
    runs = [(), ("--micropython",)]
    runs += [("--board", b) for b in ("esp32-max7219-s0", "esp32-epd42-dlt645")]  # counters
    for extra in runs:
        got = []
        for table in (rows, same):
            text = head + "".join("%d,%r,%d,%d\n" % r for r in table)
            code, err, summary = _replay(tmp_path, text, capsys, "--accounting-only", *extra)
            assert code == 0, err
            got.append(summary["energy"])
        assert got[0]["lifetime_mwh"] == got[1]["lifetime_mwh"] > 0, extra
        assert got[0]["log_integral_kwh"] == got[1]["log_integral_kwh"], extra


def test_a_log_of_only_flagged_huge_rows_replays_with_its_plot(tmp_path, capsys):
    t0 = 1728950400
    text = "# sunprint samplelog 2\ntimestamp,power_w,raw,flag\n"
    text += "".join(
        "%d,%s,100000,5\n" % (t0 + 10 * i, "-1.7e308" if i % 2 else "1.7e308") for i in range(6)
    )
    code, err, summary = _replay(tmp_path, text, capsys)
    assert code == 0, err
    assert summary["energy"]["lifetime_mwh"] == 0 and summary["plot"] == "plot.png"


def test_a_log_dated_before_2000_is_refused_with_file_and_line(tmp_path, capsys):
    # the unit's clock counts seconds from 2000-01-01: it cannot have written such a row, and
    # replay booked 0 kWh for it (firmware time negative) while the log held 0.997 kWh
    cases = (
        [(1000000 + 10 * i, 1000.0) for i in range(360)],  # 1970
        [(946681200 + 10 * i, 1000.0) for i in range(720)],  # from an hour before 2000
    )
    for rows in cases:
        text = "timestamp,power_w\n" + "".join("%d,%.1f\n" % r for r in rows)
        code, err, _ = _replay(tmp_path, text, capsys, "--accounting-only")
        assert code == 2, err
        line = err.strip()
        assert len(line.splitlines()) == 1 and "log.csv:2: timestamp %d" % rows[0][0] in line, err
        assert "2000-01-01" in line, err


def test_a_log_from_2000_on_books_its_lifetime_as_the_warning_says(tmp_path, capsys):
    # 2000-01-01 00:00 UTC on, one hour at 1 kW: the clock warning says lifetime is meaningful
    rows = [(946684800 + 10 * i, 1000.0) for i in range(361)]
    text = "timestamp,power_w\n" + "".join("%d,%.1f\n" % r for r in rows)
    for extra in ((), ("--micropython",)):
        # a meter board: 1 kW is over the 800 W cap of esp32-epd29's INA226
        board = ("--board", "esp32-epd42-dlt645")
        code, err, summary = _replay(tmp_path, text, capsys, "--accounting-only", *board, *extra)
        assert code == 0, err
        assert "(lifetime is)" in summary["warnings"][0], summary["warnings"]
        energy = summary["energy"]
        assert energy["log_integral_kwh"] == 1.0
        # the first interval after boot is the unit's to book or count as missing (item 9)
        assert 0.99 <= energy["lifetime_kwh"] <= 1.0, (energy, extra)
        # issue 16: no day is credited with energy of an unknown date (today was all of it)
        assert energy["today_kwh"] == 0 and energy["yesterday_kwh"] == 0, energy
        assert summary["clock"]["held_wh"] == energy["lifetime_mwh"] / 1000, summary["clock"]
        assert summary["wrong_day_wh"] == 0 and not summary["clock"]["date_known_at_end"]
