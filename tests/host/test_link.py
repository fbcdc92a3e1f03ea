"""host_tools/link.py against the virtual board: what a tool finds when its Ctrl-C lands in the
middle of a unit's boot."""

import time

from test_vboard import wait_for

from host_tools.link import open_link
from host_tools.paths import FIRMWARE
from host_tools.sim.board.vboard import VirtualBoard


def test_a_tool_that_stops_the_launcher_still_finds_the_app(tmp_path):
    """A Ctrl-C into boot.py (the launcher) stops it before it puts the app's folder on
    sys.path, and a board then skips main.py: the link imports the launcher itself, so the
    app's modules import in the interrupted interpreter."""
    flash = tmp_path / "flash"
    (flash / "app" / "v1").mkdir(parents=True)
    (flash / "app" / "current").write_text("v1\n")
    (flash / "app" / "v1" / "main.mpy").write_bytes(b"")  # the launcher checks it is there
    (flash / "app" / "v1" / "probe.py").write_text("WHERE = 'app v1'\n")
    slow = "import time\ntime.sleep_ms(int(open('/boot-ms').read()))\n"
    (flash / "boot.py").write_text(slow + (FIRMWARE / "boot.py").read_text())
    (flash / "boot-ms").write_text("3000")
    (flash / "main.py").write_text("open('main-ran', 'w').close()\n")
    with VirtualBoard(flash) as vb:
        port = vb.serve_pty()
        wait_for(lambda: vb.running_what == "boot.py", "boot.py to run")
        time.sleep(0.2)
        (flash / "boot-ms").write_text("0")
        with open_link(port, soft_reset=False, timeout=5) as link:
            assert link.exec("import probe\nprint(probe.WHERE)") == b"app v1\r\n"
    assert not (flash / "main-ran").exists()  # the boot was stopped in boot.py
