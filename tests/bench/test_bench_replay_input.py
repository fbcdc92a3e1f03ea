"""The replay benchmark's synthetic year is an array its board can carry: fitted into
esp32-epd29's sensor (800 W, steps of 400 W), the unit books what the log holds, so the
figure measures the unit's usual sample. Fed the 9 kW peak the bench once made, the board's
health flagged ~45% of the rows and the figure measured the fault path instead."""

import sys

import pytest

from host_tools.paths import ROOT

sys.path.insert(0, str(ROOT / "tests" / "bench"))
import bench_replay  # noqa: E402


def _two_days(tmp_path, monkeypatch, peak_w):
    monkeypatch.setattr(bench_replay, "YEAR_ROWS", 2 * 8640)
    log = tmp_path / "days.csv"
    bench_replay.write_year(log, peak_w)
    return bench_replay.replay(
        log, "esp32-epd29", tmp_path / "out", progress=False, accounting_only=True
    )


def test_the_benchmark_year_fits_its_board(tmp_path, monkeypatch):
    peak = bench_replay.fitted_peak_w("esp32-epd29")
    assert 400 < peak <= 0.9 * 800
    summary = _two_days(tmp_path, monkeypatch, peak)
    assert bench_replay.fits_board(summary), summary["faults"]


def test_an_array_beyond_the_board_is_refused_by_the_check(tmp_path, monkeypatch):
    # the check the benchmark makes, on the input it had before: it must be able to fail
    summary = _two_days(tmp_path, monkeypatch, 9000.0)
    assert not bench_replay.fits_board(summary)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
