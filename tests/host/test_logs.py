"""`sunprint logs pull` end to end on the virtual board, with mpremote's transport underneath:
the device's log files (written by the firmware's own SampleLogWriter: into the flash folder
here, or by the running app) come back byte for byte, and are joined into one log that the
samplelog reader and `sunprint replay` take as it is."""

import shutil

import pytest

from host_tools import deploy, monitor
from host_tools.cli import main as cli_main
from host_tools.paths import use_firmware
from host_tools.sim.vboard import VirtualBoard

BOARD = "esp32-epd29-ina226"
HEAP = 400000
T0 = 782236800  # 2024-10-15 00:00 +08:00 in firmware seconds: long before the board's clock


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    flash = tmp_path_factory.mktemp("logs-flash")
    with VirtualBoard(flash, board=BOARD, heap=HEAP) as vb:
        deploy.deploy(vb.serve_pty(), BOARD, restart=False)
    return flash


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
    out.mkdir()
    (out / "keep.txt").write_text("earlier pull")
    code = cli_main(["logs", "pull", "--port", str(tmp_path / "ttyUSB7"), "--out", str(out)])
    assert code == 2 and "no such port" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "earlier pull"
    flash = tmp_path / "flash"
    shutil.copytree(deployed, flash)
    write_device_log(flash, 5)
    with VirtualBoard(flash, board=BOARD, heap=HEAP) as vb:
        port = vb.serve_pty()
        code = cli_main(["logs", "pull", "--port", port, "--out", str(out)])
    assert code == 0
    assert not (out / "keep.txt").exists() and (out / "samplelog.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flash", "pulled"]  # no temp left
