"""A version 2 log written by the device's SampleLogWriter (real files through OsFs), its files
concatenated in order, replays with host_tools.replay. CPython only."""

from host_tools.paths import use_firmware
from host_tools.replay import replay

use_firmware()

from sunprint.compat import EPOCH_2000_UNIX  # noqa: E402
from sunprint.samplelog import ReadStats, SampleLogWriter, log_files, read_log  # noqa: E402
from sunprint.store import OsFs  # noqa: E402

T0 = 1728950400 - EPOCH_2000_UNIX  # 2024-10-15 08:00 in Zhongshan (UTC+8)
N = 720  # two hours at 10 s


def _power_mw(i):
    # a smooth morning ramp, 0 .. 719 W: within esp32-epd29's 800 W (replay applies its health)
    return 1000 * i


def _write_device_log(root, flagged=()):
    root.mkdir()
    fs = OsFs(str(root))
    w = SampleLogWriter(fs, directory="log", file_bytes=4096, budget_bytes=256 * 1024)
    for i in range(N):
        flag = 6 if i in flagged else 0
        w.append(T0 + 10 * i, _power_mw(i), _power_mw(i) + 5, flag)
    w.close()
    assert w.errors == 0
    return fs, w


def _concatenated(tmp_path, fs):
    out = tmp_path / "device.csv"
    with open(out, "wb") as dst:
        for p in log_files(fs, "log"):
            dst.write((tmp_path / "dev" / p).read_bytes())
    return out


def _trapezoid_mwh(skip=()):
    total = 0
    for i in range(1, N):
        if i in skip or i - 1 in skip:
            continue
        total += (_power_mw(i - 1) + _power_mw(i)) * 5  # trapezoid, 10 s
    return total / 3600


def test_device_files_read_back_on_the_host(tmp_path):
    fs, w = _write_device_log(tmp_path / "dev")
    assert w.files_started >= 5 and w.files_deleted == 0
    st = ReadStats()
    rows = list(read_log(fs, "log", False, st))
    assert [r[0] for r in rows] == [T0 + EPOCH_2000_UNIX + 10 * i for i in range(N)]
    assert [r[1] for r in rows] == [_power_mw(i) / 1000 for i in range(N)]
    assert st.sections == w.files_started and st.dropped == 0


def test_v2_device_log_replays(tmp_path):
    fs, _ = _write_device_log(tmp_path / "dev")
    log = _concatenated(tmp_path, fs)
    summary = replay(log, "esp32-epd29", tmp_path / "out", progress=False)
    assert summary["samples"] == N
    assert summary["first_timestamp"] == T0 + EPOCH_2000_UNIX
    assert summary["last_timestamp"] == T0 + EPOCH_2000_UNIX + 10 * (N - 1)
    expected = _trapezoid_mwh()
    got = summary["energy"]["lifetime_mwh"]
    assert abs(got - expected) <= 2, (got, expected)
    assert summary["energy"]["missing_s"] == 0


def test_flagged_rows_are_missing_time_in_replay(tmp_path):
    flagged = {100, 101, 400}
    fs, _ = _write_device_log(tmp_path / "dev", flagged)
    log = _concatenated(tmp_path, fs)
    summary = replay(log, "esp32-epd29", tmp_path / "out", progress=False)
    # every interval touching a flagged reading is missing: 100,101 -> 3 intervals, 400 -> 2
    assert summary["energy"]["missing_s"] == 50
    expected = _trapezoid_mwh(flagged)
    assert abs(summary["energy"]["lifetime_mwh"] - expected) <= 2
