"""`sunprint panel-test` on the virtual board: the firmware's own driver runs the sequence
(full, ten partials, deep sleep, a partial from deep sleep, full) on the board profile's panel
model, through the link, and says what to look for at each step."""

import sys

import pytest

from host_tools import deploy, paneltest
from host_tools.cli import main as cli_main
from host_tools.link import open_link
from host_tools.paths import ROOT
from host_tools.sim.board.vboard import VirtualBoard

sys.path.insert(0, str(ROOT / "tests" / "bench"))
from bench_deploy import firmware_copy  # noqa: E402

BOARD = "esp32-epd29-ina226"
HEAP = 400000  # the app's bytecode on the 64-bit unix port (tests/host/test_deploy.py)


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("paneltest")
    with VirtualBoard(tmp / "flash", board=BOARD, heap=HEAP) as vb:
        vb.port = vb.serve_pty()
        deploy.deploy(vb.port, BOARD, firmware_dir=firmware_copy(tmp / "fw"), restart=False)
        yield vb


def _panel_model(port):
    """What the board's panel model saw (sim/rig.py's models, in the unit's REPL globals)."""
    with open_link(port, soft_reset=False) as link:
        code = "m = __rig__.models['display']\nprint(repr((m.refreshes, m.waveforms, "
        code += "m.violations, m.sleeps, m.asleep, m.left_powered)))"
        out = link.exec(code)
    import ast

    return ast.literal_eval(out.decode().strip().splitlines()[-1])


def test_the_sequence_runs_on_the_panel(board):
    said = []
    result = paneltest.panel_test(board.port, BOARD, pause_s=0, say=said.append, restart=False)
    assert result["completed"], said
    names = [s["name"] for s in result["steps"]]
    assert names == ["full"] + ["partial"] * 10 + ["sleep", "wake", "final"]
    # every step announced with what to look for, and reported
    text = "\n".join(said)
    for name in ("full", "partial", "sleep", "wake", "final"):
        assert paneltest.LOOK_FOR[name] in text
    assert text.count("done in") == 14
    steps = {s["step"]: s for s in result["steps"]}
    assert steps[13]["bytes"] > 2 * 4736  # the wake restored both RAMs
    # a partial from standby: power on, the window (280 gates x 5 pages) three times, display
    assert steps[3]["bytes"] == 3 + 3 * (14 + 280 * 5) + 3
    refreshes, waveforms, violations, sleeps, asleep, powered = _panel_model(board.port)
    assert violations == []
    assert refreshes == ["full"] + ["partial"] * 11 + ["full"]
    assert waveforms == ["otp-full"] + ["host"] * 11 + ["otp-full"]
    assert sleeps == 3 and asleep and not powered  # after each full, and the step's own


def test_bad_input_is_exit_2_and_a_failed_unit_exit_1(board, capsys, monkeypatch):
    assert cli_main(["panel-test", "--port", board.port, "--board", "esp32-max7219-s0"]) == 2
    assert "not an e-paper panel" in capsys.readouterr().err
    assert cli_main(["panel-test", "--port", board.port, "--board", BOARD, "--pause", "-1"]) == 2
    # a panel whose BUSY never ends: the driver times out on the unit, the job failed
    monkeypatch.setattr(
        paneltest, "UNIT_CODE", paneltest.UNIT_CODE.replace("_pt()\n", "raise OSError(110)\n")
    )
    assert cli_main(["panel-test", "--port", board.port, "--board", BOARD, "--pause", "0"]) == 1
    assert "failed" in capsys.readouterr().err
