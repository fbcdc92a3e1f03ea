"""The same short log replayed under CPython (in-process) and inside the real MicroPython VM
(`--micropython`: the firmware and host_tools/replay_core.py as .mpy) gives the same
summary.json (but for the run's own figures) and the same frames, pixel for pixel. The log is
fitted into each board's sensor limits (tools/fit_log.py): replay books what the unit would."""

import json
import sys

import pytest
from PIL import Image

from host_tools.paths import LOGS, ROOT
from host_tools.replay import replay

sys.path.insert(0, str(ROOT / "tools"))
from fit_log import fit_log  # noqa: E402

DAY = LOGS / "zhongshan-2024-10-15.csv"


def _short_log(path, first_row, rows):
    """rows samples of the bundled day from first_row on (10 s each), with its header."""
    lines = DAY.read_text().splitlines(keepends=True)
    head = [ln for ln in lines[:10] if not ln[0].isdigit()]
    data = [ln for ln in lines if ln[0].isdigit()]
    path.write_text("".join(head + data[first_row : first_row + rows]))
    return path


def _pixels(path):
    img = Image.open(path)
    return img.size, img.mode, img.tobytes()


@pytest.mark.parametrize("board", ["esp32-epd29", "esp32-ws2812-ina219"])
def test_cpython_and_micropython_agree(tmp_path, board):
    log = _short_log(tmp_path / "short.csv", 3600, 240)  # 10:00-10:40, a sunny morning
    log = fit_log(log, tmp_path / "fitted.csv", board)
    events = ["dropout@10:10,until=10:13", "power_cut@10:20"]
    runs = {}
    for name, mp in (("cpython", False), ("micropython", True)):
        out = tmp_path / name
        replay(log, board, out, progress=False, micropython=mp, faults=events)
        runs[name] = out
    a = json.loads((runs["cpython"] / "summary.json").read_text())
    b = json.loads((runs["micropython"] / "summary.json").read_text())
    assert a.pop("run")["interpreter"] == "cpython"
    assert b.pop("run")["interpreter"] == "micropython"
    assert a == b
    # the run did something worth comparing: frames, energy, both faults with a reboot
    assert a["display"]["refreshes"] >= 5 and a["energy"]["lifetime_mwh"] > 10000
    assert [f["kind"] for f in a["faults_injected"]] == ["dropout", "power_cut"]
    assert a["boots"] == 2
    names = sorted(p.name for p in (runs["cpython"] / "frames").iterdir())
    assert names == sorted(p.name for p in (runs["micropython"] / "frames").iterdir())
    assert names == sorted(f["file"].split("/")[1] for f in a["display"]["frames"])
    for name in names:
        assert _pixels(runs["cpython"] / "frames" / name) == _pixels(
            runs["micropython"] / "frames" / name
        ), name
