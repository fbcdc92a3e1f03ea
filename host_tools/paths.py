"""Where things live in the repository, and how host code loads the firmware."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRMWARE = ROOT / "firmware"
BOARDS = ROOT / "boards"
ASSETS = ROOT / "assets"
FONTS = ASSETS / "fonts"
LOGS = ROOT / "assets" / "logs"


def use_firmware():
    """Make `import sunprint` load firmware/sunprint under CPython, with a stand-in framebuf.

    The firmware imports `framebuf`, which only MicroPython has; the pure-Python stand-in in
    host_tools.sim.framebuf is checked byte for byte against the real one.
    """
    path = str(FIRMWARE)
    if path not in sys.path:
        sys.path.insert(0, path)
    if "framebuf" not in sys.modules:
        from host_tools.sim import framebuf

        sys.modules["framebuf"] = framebuf
