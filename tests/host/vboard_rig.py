"""The virtual board with the app deployed, for the host tools' end-to-end tests
(test_calibrate.py, test_monitor.py, test_logs.py): deployed once per test file, copied for each
test, powered on with the sensor at a given power."""

import shutil
from contextlib import contextmanager

from host_tools import deploy
from host_tools.sim.board.vboard import VirtualBoard

BOARD = "esp32-epd29-ina226"
HEAP = 400000


def deployed_flash(tmp_path_factory, name):
    """A flash folder with the app deployed (`sunprint deploy` over the board's pty), not
    restarted."""
    flash = tmp_path_factory.mktemp(name)
    with VirtualBoard(flash, board=BOARD, heap=HEAP) as vb:
        deploy.deploy(vb.serve_pty(), BOARD, restart=False)
    return flash


@contextmanager
def powered_board(tmp_path, deployed, power_w):
    """A copy of the deployed flash on a board powered on (the app runs) with power_w on its
    sensor; vb.port is its pty."""
    flash = tmp_path / "flash"
    shutil.copytree(deployed, flash)
    with VirtualBoard(flash, board=BOARD, heap=HEAP) as vb:
        vb.power_w = power_w
        vb.port = vb.serve_pty()
        yield vb
