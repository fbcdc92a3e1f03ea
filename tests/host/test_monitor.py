"""`sunprint monitor` end to end on the virtual board (esp32-epd29-ina226, its INA226 model at
a power the test sets), with mpremote's transport underneath: one line per sample, flags and
faults, and --record writing a sample log that the samplelog reader and `sunprint replay`
take as it is, also after Ctrl-C."""

import datetime
import os
import signal
import subprocess
import sys

import pytest
from ctrlc import as_from_a_terminal  # noqa: E402
from vboard_rig import BOARD, deployed_flash, powered_board

from host_tools import monitor
from host_tools.cli import main as cli_main
from host_tools.link import open_link
from host_tools.paths import ROOT, use_firmware

TRUE_W = 250.0


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    return deployed_flash(tmp_path_factory, "monitor-flash")


@pytest.fixture
def board(tmp_path, deployed):
    with powered_board(tmp_path, deployed, TRUE_W) as vb:  # power-on: the app runs
        # and has taken readings: a fresh app's first sample is NOT_READY (flag 8), as on a
        # unit just powered up, and these tests expect the sensor's steady flags
        vb.wait_booted(settle_s=1.0)
        yield vb


def _unix_seconds(line):
    """The device time that starts a monitor line, as Unix seconds."""
    stamp = datetime.datetime.strptime(line[:19], "%Y-%m-%d %H:%M:%S")
    return int(stamp.replace(tzinfo=datetime.UTC).timestamp())


def read_log(path):
    use_firmware()
    from sunprint.samplelog import read_rows

    with open(path, newline="") as f:
        return list(read_rows(f, str(path)))  # strict: any fault raises


def test_samples_are_shown_and_recorded_as_a_log_replay_reads(board, tmp_path, capsys):
    record = tmp_path / "session.csv"
    lines = []
    result = monitor.monitor(board.port, seconds=4, interval=1, record=record, say=lines.append)
    samples = result["samples"]
    assert len(samples) >= 3
    for s in samples:
        assert s["flag"] == 0 and s["power_mw"] == pytest.approx(TRUE_W * 1000, abs=50)
        assert s["raw"] == s["power_mw"]  # no calibration on this unit
    # The ledger integrates: energy today grows by about P * dt between samples (the device's
    # wall and monotonic seconds are both whole seconds: +-1 s).
    dt = samples[-1]["t"] - samples[0]["t"]
    gained = samples[-1]["today_mwh"] - samples[0]["today_mwh"]
    per_s = TRUE_W * 1000 / 3600
    assert (dt - 1) * per_s <= gained <= (dt + 1) * per_s, (dt, gained)
    assert all("250.0" in ln and " ok " in ln for ln in lines if "kWh" in ln)
    rows = read_log(record)
    # one row per device second, the first sample of it (a late sample and the next on
    # schedule can share a second on a loaded machine: monitor.write_record)
    firsts = [s for k, s in enumerate(samples) if k == 0 or s["t"] > samples[k - 1]["t"]]
    assert [r[0] for r in rows] == [s["t"] + monitor.EPOCH_2000_UNIX for s in firsts]
    assert [(r[2], r[3]) for r in rows] == [(s["raw"], s["flag"]) for s in firsts]
    out = tmp_path / "replay"
    code = cli_main(["replay", str(record), "--board", BOARD, "--out", str(out), "--no-progress"])
    assert code == 0, capsys.readouterr().err
    assert (out / "summary.json").exists()


def test_a_sensor_that_stops_answering_shows_its_flag_and_fault(board, tmp_path):
    with open_link(board.port, soft_reset=False, timeout=10) as link:
        link.exec("__rig__.break_bus()")  # the INA226 stops acknowledging
    result = monitor.monitor(board.port, seconds=3, interval=1, say=lambda t: None)
    samples = result["samples"]
    assert samples and all(s["flag"] == 1 for s in samples)  # sunprint.quality NO_ANSWER
    assert samples[-1]["faults"]["sensor"] >= len(samples)
    assert "no answer" in samples[-1]["last_fault"]
    assert "no answer" in monitor.format_sample(samples[-1])


def test_ctrl_c_writes_the_complete_lines_recorded_so_far(board, tmp_path):
    record = tmp_path / "cut.csv"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "host_tools.cli",
            "monitor",
            "--port",
            board.port,
            "--record",
            str(record),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=as_from_a_terminal,
    )
    seen = []
    try:
        while len([ln for ln in seen if "kWh" in ln]) < 3:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            seen.append(line)
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    shown = [ln for ln in seen + rest.splitlines() if "kWh" in ln]
    rows = read_log(record)
    # one row per device second shown (a late sample and the next on schedule can share one
    # second on a loaded machine; the log keeps the first, as write_record says)
    seconds = sorted({_unix_seconds(ln) for ln in shown})
    assert [r[0] for r in rows] == seconds and len(shown) >= 3
    assert "recorded %d samples" % len(rows) in rest
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".cut.csv")]  # no temp left


def test_bad_arguments_are_one_line_errors(tmp_path, capsys):
    code = cli_main(["monitor", "--port", str(tmp_path / "nope"), "--interval", "0"])
    err = capsys.readouterr().err
    assert code == 2 and "--interval" in err and err.count("\n") == 1
    code = cli_main(["monitor", "--port", str(tmp_path / "nope")])
    err = capsys.readouterr().err
    assert code == 2 and "no such port" in err and err.count("\n") == 1
    code = cli_main(
        ["monitor", "--port", "/dev/x", "--record", str(tmp_path / "no" / "dir" / "f.csv")]
    )
    err = capsys.readouterr().err
    assert code == 2 and "does not exist" in err and err.count("\n") == 1


def test_the_clock_offset_it_corrected_is_a_registry_row(board, tmp_path, capsys):
    # issue 16: monitor sets the unit's clock from this computer and records what it corrected
    units = tmp_path / "units.csv"
    code = cli_main(["monitor", "--port", board.port, "--seconds", "2", "--registry", str(units)])
    assert code == 0, capsys.readouterr().err
    from host_tools import registry

    rows = registry.read(units)
    assert len(rows) == 1 and rows[0]["port"] == board.port and rows[0]["result"] == "ok"
    assert rows[0]["message"] == "monitor set the unit's clock from this computer (UTC)"
    int(rows[0]["rtc_offset_s"])  # a whole number of seconds
