"""`sunprint logs pull` end to end on the virtual board, with mpremote's transport underneath:
the device's log files (written by the firmware's own SampleLogWriter: into the flash folder
here, or by the running app) come back byte for byte, and are joined into one log that the
samplelog reader and `sunprint replay` take as it is."""

import json
import shutil

import pytest
from vboard_rig import BOARD, HEAP, deployed_flash

from host_tools import monitor
from host_tools.cli import main as cli_main
from host_tools.paths import use_firmware
from host_tools.sim.board.vboard import VirtualBoard

T0 = 782236800  # 2024-10-15 00:00 +08:00 in firmware seconds: long before the board's clock


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    return deployed_flash(tmp_path_factory, "logs-flash")


def read_log(path):
    use_firmware()
    from sunprint.samplelog import read_rows

    with open(path, newline="") as f:
        return list(read_rows(f, str(path)))  # strict: any fault raises


def write_device_log(flash, n):
    """n rows through the firmware's writer, in small files (a ring of several), then a row
    torn by a power cut at the end of the newest file. Returns the rows as replay reads them."""
    use_firmware()
    from sunprint.compat import EPOCH_2000_UNIX
    from sunprint.samplelog import SampleLogWriter
    from sunprint.store import OsFs

    log = SampleLogWriter(OsFs(str(flash)), directory="/log", file_bytes=512, budget_bytes=8192)
    rows = []
    for i in range(n):
        mw = 1000 * i + 7
        flag = 1 if i % 10 == 3 else 0
        log.append(T0 + 10 * i, mw, mw - 5, flag)
        rows.append((T0 + 10 * i + EPOCH_2000_UNIX, mw / 1000, mw - 5, flag))
    log.close()
    newest = sorted((flash / "log").iterdir())[-1]
    with open(newest, "ab") as f:
        f.write(b"%d,12.3" % (T0 + 10 * n + EPOCH_2000_UNIX))  # the cut
    return rows


def test_pull_downloads_the_files_and_joins_them_into_a_log_replay_reads(
    tmp_path, deployed, capsys
):
    flash = tmp_path / "flash"
    shutil.copytree(deployed, flash)
    rows = write_device_log(flash, 60)
    device_files = {p.name: p.read_bytes() for p in (flash / "log").iterdir()}
    assert len(device_files) >= 4
    out = tmp_path / "pulled"
    with VirtualBoard(flash, board=BOARD, heap=HEAP) as vb:
        port = vb.serve_pty()
        code = cli_main(["logs", "pull", "--port", port, "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "1 torn line(s)" in text
    got = {p.name: p.read_bytes() for p in (out / "device").iterdir()}
    for name, data in device_files.items():
        assert got[name] == data  # byte for byte
    joined = read_log(out / "samplelog.csv")
    # The running app flushed its own first rows (the board's clock: after ours) on the way.
    assert [(t, round(p, 3), raw, flag) for t, p, raw, flag in joined[: len(rows)]] == rows
    assert all(r[0] > rows[-1][0] for r in joined[len(rows) :])
    replayed = tmp_path / "replay"
    code = cli_main(
        [
            "replay",
            str(out / "samplelog.csv"),
            "--board",
            BOARD,
            "--out",
            str(replayed),
            "--no-progress",
        ]
    )
    assert code == 0, capsys.readouterr().err


def test_a_monitor_sessions_samples_are_in_the_pulled_log(tmp_path, deployed):
    flash = tmp_path / "flash"
    shutil.copytree(deployed, flash)
    with VirtualBoard(flash, board=BOARD, heap=HEAP) as vb:
        vb.power_w = 180.0
        port = vb.serve_pty()
        vb.wait_booted(settle_s=1.0)  # the app has taken readings (none are NOT_READY)
        session = monitor.monitor(port, seconds=3, interval=1, say=lambda t: None)["samples"]
        from host_tools import logs

        summary = logs.pull(port, tmp_path / "pulled", say=lambda t: None)
    assert len(session) >= 2 and summary["rows"] >= len(session)
    pulled = {r[0]: r for r in read_log(tmp_path / "pulled" / "samplelog.csv")}
    for s in session:
        t, power_w, raw, flag = pulled[s["t"] + monitor.EPOCH_2000_UNIX]
        assert (raw, flag) == (s["raw"], s["flag"]) and power_w == s["power_mw"] / 1000


def test_the_out_folder_is_replaced_only_on_success(tmp_path, deployed, capsys):
    out = tmp_path / "pulled"
    flash = tmp_path / "flash"
    shutil.copytree(deployed, flash)
    write_device_log(flash, 5)
    with VirtualBoard(flash, board=BOARD, heap=HEAP) as vb:
        port = vb.serve_pty()
        vb.wait_booted()
        assert cli_main(["logs", "pull", "--port", port, "--out", str(out)]) == 0
        earlier = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
        code = cli_main(["logs", "pull", "--port", str(tmp_path / "ttyUSB7"), "--out", str(out)])
        assert code == 2 and "no such port" in capsys.readouterr().err
        assert {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()} == earlier
        inode = out.stat().st_ino
        code = cli_main(["logs", "pull", "--port", port, "--out", str(out)])
    assert code == 0
    assert out.stat().st_ino != inode and (out / "samplelog.csv").exists()  # a new folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flash", "pulled"]  # no temp left


def _pull_refused(tmp_path, deployed, capsys, out, *words):
    flash = tmp_path / "flash"
    shutil.copytree(deployed, flash)
    write_device_log(flash, 5)
    with VirtualBoard(flash, board=BOARD, heap=HEAP) as vb:
        port = vb.serve_pty()
        code = cli_main(["logs", "pull", "--port", port, "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    for w in words:
        assert w in err, err


def test_pull_refuses_a_folder_of_the_users_files(tmp_path, deployed, capsys):
    out = tmp_path / "docs"
    out.mkdir()
    (out / "report.odt").write_text("the user's report")
    _pull_refused(tmp_path, deployed, capsys, out, "docs", "not empty")
    assert sorted(p.name for p in out.iterdir()) == ["report.odt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docs", "flash"]


def test_pull_refuses_a_regular_file(tmp_path, deployed, capsys):
    out = tmp_path / "notes.txt"
    out.write_text("my notes")
    _pull_refused(tmp_path, deployed, capsys, out, "notes.txt", "not a folder")
    assert out.read_text() == "my notes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flash", "notes.txt"]


def test_pull_refuses_a_symlink(tmp_path, deployed, capsys):
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "mine.txt").write_text("mine")
    out = tmp_path / "link"
    out.symlink_to(target)
    _pull_refused(tmp_path, deployed, capsys, out, "symbolic link")
    assert out.is_symlink() and sorted(p.name for p in target.iterdir()) == ["mine.txt"]


def test_pull_refuses_the_current_folder(tmp_path, deployed, capsys, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    (work / "thesis.tex").write_text("chapter 1")
    monkeypatch.chdir(work)
    _pull_refused(tmp_path, deployed, capsys, ".", "current folder")
    assert sorted(p.name for p in work.iterdir()) == ["thesis.tex"]


def test_flagged_rows_of_an_absurd_calibration_are_pulled_and_replayed(tmp_path, deployed, capsys):
    # What a unit calibrated with gain 1e12 logged (before calibrate refused such a fit): its
    # 199.981 W read as 1.99e14 W, flagged out of range (5), between good rows.
    use_firmware()
    from sunprint.compat import EPOCH_2000_UNIX

    flash = tmp_path / "flash"
    shutil.copytree(deployed, flash)
    (flash / "log").mkdir(exist_ok=True)
    t = T0 + EPOCH_2000_UNIX
    rows = ["%d,12.500,12500,0" % t]
    rows += ["%d,199981000000000.000,199981,5" % (t + 10 * i) for i in range(1, 4)]
    rows += ["%d,13.000,13000,0" % (t + 40)]
    text = "# sunprint samplelog 2\ntimestamp,power_w,raw,flag\n" + "\n".join(rows) + "\n"
    (flash / "log" / "00000001.csv").write_text(text)
    out = tmp_path / "pulled"
    with VirtualBoard(flash, board=BOARD, heap=HEAP) as vb:
        port = vb.serve_pty()
        vb.wait_booted()
        code = cli_main(["logs", "pull", "--port", port, "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    joined = read_log(out / "samplelog.csv")
    assert [(r[1], r[3]) for r in joined[:5]] == [
        (12.5, 0),
        (199981000000000.0, 5),
        (199981000000000.0, 5),
        (199981000000000.0, 5),
        (13.0, 0),
    ]
    for extra in ([], ["--lenient"]):
        code = cli_main(
            ["replay", str(out / "samplelog.csv"), "--board", BOARD, "--no-progress"]
            + ["--out", str(tmp_path / "replay"), "--accounting-only"]
            + extra
        )
        assert code == 0, capsys.readouterr().err
        summary = json.loads((tmp_path / "replay" / "summary.json").read_text())
        assert summary["log_rows"]["flagged"] >= 3 and summary["log_rows"]["skipped_bad"] == 0
        assert summary["energy"]["lifetime_kwh"] < 0.001  # the flagged rows booked nothing


def test_pull_refuses_an_unmarked_folder_with_the_names_it_writes(tmp_path, capsys):
    # checked before the port is opened: no unit needed
    out = tmp_path / "mine"
    (out / "device").mkdir(parents=True)
    (out / "samplelog.csv").write_text("my own log")
    (out / "device" / "20230101.csv").write_text("my own day")
    code = cli_main(["logs", "pull", "--port", str(tmp_path / "ttyUSB7"), "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "not empty" in err, err
    assert (out / "samplelog.csv").read_text() == "my own log"
    assert (out / "device" / "20230101.csv").read_text() == "my own day"
