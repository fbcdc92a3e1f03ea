"""Replay benchmarks: a year of 10 s samples, a day with a frame each minute, MicroPython's pace.

- replay_year_accounting: `sunprint replay --accounting-only` over a year of 10 s samples
  (3.15 M rows, generated into a temporary file: a clear-sky-like day shape with clouds from
  an LCG, never committed) on esp32-epd29, the array fitted into that board's sensor as
  tools/fit_log.py fits the bundled days (fitted_peak_w: 514 W peak): the firmware's app,
  ledger, store and faults, no display; peer: a plain csv-module parse of the same file (int
  and float of each row) in this run;
- replay_year_vs_csv_parse: the ratio of the two;
- replay_day_frame_each_minute: the bundled Zhongshan day (fitted into the 2.9" board's 800 W
  sensor, tools/fit_log.py: replay applies the board's health) on that board, one screen in
  English rendered each minute (the refresh plan decides what reaches the panel), frames as
  PNGs, no plot or animation; peer: the frames written;
- replay_micropython_vs_cpython: the same 2-hour log on the 2.9" board inside MicroPython
  (`--micropython`, .mpy) over in-process CPython, both writing their frames.

    .venv/bin/python tests/bench/bench_replay.py      (or bench_replay() from tests/bench/run.py)
"""

import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from host_tools.boards import load_board  # noqa: E402
from host_tools.paths import LOGS  # noqa: E402
from host_tools.replay import replay  # noqa: E402

sys.path.insert(0, str(ROOT / "tools"))
from fit_log import board_health, fit_log  # noqa: E402

DAY = LOGS / "zhongshan-2024-10-15.csv"
YEAR_START = 1704038400  # 2024-01-01 00:00 in UTC+8
# BENCH_QUICK (make test checks that every benchmark runs): a month stands in for the year
YEAR_ROWS = (30 if os.environ.get("BENCH_QUICK") else 365) * 8640


from timing import line as _line  # noqa: E402 - tests/bench/timing.py

# The year's day shape: a sine over daylight hours times a cloud factor drawn every 10 min in
# [_CLOUD_MIN, 1]: the largest step from one row to the next is (1 - _CLOUD_MIN) x the peak.
_CLOUD_MIN = 0.3


def fitted_peak_w(board, headroom=0.9):
    """The year's peak power for the board's sensor, by tools/fit_log.py's rule: the peak and
    the largest step at most headroom x the health's max_w and max_step_w (esp32-epd29's
    INA226: 800 W and 400 W, so 514 W). A bigger array (the 9 kW peak this bench fed the 800 W
    board before) sends ~45% of the rows down the fault path: readings no such unit takes."""
    h = board_health(board)
    peak = h.get("max_w", 9000.0)
    if h.get("max_step_w"):
        peak = min(peak, h["max_step_w"] / (1 - _CLOUD_MIN))
    return headroom * peak


def fits_board(summary):
    """Whether a replay booked what its log holds: at most 1% of the samples a sensor fault and
    99% of the log's integral booked (the input is an array the board can carry)."""
    sensor = summary["faults"].get("sensor", 0)
    energy = summary["energy"]
    booked = energy["lifetime_mwh"]
    return sensor <= summary["samples"] // 100 and booked >= 0.99e6 * energy["log_integral_kwh"]


def write_year(path, peak_w):
    """A year of 10 s samples peaking at peak_w: daylight hours, a cloud factor per 10 min."""
    import math

    seed = 12345
    chunk = []
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("# sunprint samplelog 1\n# synthetic year for bench_replay\ntimestamp,power_w\n")
        cloud = 1.0
        for i in range(YEAR_ROWS):
            t = YEAR_START + 10 * i
            s = i % 8640  # local time of day in 10 s steps
            if s % 60 == 0:
                seed = (1664525 * seed + 1013904223) & 0xFFFFFFFF
                cloud = _CLOUD_MIN + (1 - _CLOUD_MIN) * (seed >> 8) / (1 << 24)
            h = s / 360.0
            p = peak_w * math.sin(math.pi * (h - 6) / 12) * cloud if 6 < h < 18 else 0.0
            chunk.append("%d,%.1f\n" % (t, p))
            if len(chunk) == 100000:
                f.write("".join(chunk))
                chunk = []
        f.write("".join(chunk))


def csv_parse(path):
    n = 0
    total = 0.0
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        for row in reader:
            if not row or row[0][0] in "#t":
                continue
            int(row[0])
            total += float(row[1])
            n += 1
    return n


def _timed(fn):
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def bench_replay():
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        year = tmp / "year.csv"
        write_year(year, fitted_peak_w("esp32-epd29"))
        parse_s, n = _timed(lambda: csv_parse(year))
        run_s, summary = _timed(
            lambda: replay(
                year, "esp32-epd29", tmp / "year-out", progress=False, accounting_only=True
            )
        )
        assert summary["samples"] == n == YEAR_ROWS, (summary["samples"], n)
        assert fits_board(summary), summary["faults"]  # the usual sample, not the fault path
        _line(
            "replay_year_accounting",
            "%.1f" % run_s,
            "s",
            "<= 15",
            ("csv_module_parse", "%.1f" % parse_s, "s"),
        )
        _line("replay_year_vs_csv_parse", "%.1f" % (run_s / parse_s), "x", "<= 3")

        board = load_board("esp32-epd29")
        board["layout"] = dict(board["layout"], language="en", screens=["main"], screen_period_s=60)
        path = tmp / "minute.json"
        path.write_text(json.dumps(board))
        day = fit_log(DAY, tmp / "day.csv", "esp32-epd29")
        minute_s, minute = _timed(
            lambda: replay(day, str(path), tmp / "minute-out", progress=False, pictures=False)
        )
        _line(
            "replay_day_frame_each_minute",
            "%.2f" % minute_s,
            "s",
            "<= 10",
            ("frames", minute["display"]["refreshes"], "frames"),
        )

        short = tmp / "short.csv"
        lines = day.read_text().splitlines(keepends=True)
        head = [ln for ln in lines[:10] if not ln[0].isdigit()]
        data = [ln for ln in lines if ln[0].isdigit()]
        short.write_text("".join(head + data[3600:4320]))  # 10:00-12:00
        cp_s, _ = _timed(
            lambda: replay(short, "esp32-epd29", tmp / "cp", progress=False, pictures=False)
        )
        mp_s, _ = _timed(
            lambda: replay(
                short, "esp32-epd29", tmp / "mp", progress=False, pictures=False, micropython=True
            )
        )
        _line(
            "replay_micropython_vs_cpython",
            "%.1f" % (mp_s / cp_s),
            "x",
            None,
            ("cpython_2h_log", "%.2f" % cp_s, "s"),
        )


if __name__ == "__main__":
    bench_replay()
