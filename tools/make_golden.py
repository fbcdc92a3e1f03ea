"""`make golden`: replay the golden log on every board and keep its frames as the reference.
The log is a 10 kWp plant: on a board whose sensor cannot measure that much (esp32-epd29's
INA226 caps readings at 800 W) it is first fitted into the sensor's limits (fit_log.py), since
replay books what the unit would, through the profile's health.

tests/host/test_golden.py replays the same log and compares every frame, pixel for pixel, with
the PNGs written here. Run this on purpose, after a change meant to alter what the sign shows,
and look at the new frames before committing them.

    python tools/make_golden.py [BOARD ...]
"""

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from fit_log import fit_log  # noqa: E402

from host_tools.replay import replay  # noqa: E402

GOLDEN = ROOT / "tests" / "golden"
LOG = GOLDEN / "golden-log.csv"
BOARDS = (
    "esp32-epd29",
    "esp32-epd29-ina226",
    "esp32-epd42-dlt645",
    "esp32-epd75-ddsu666",
    "esp32-max7219-s0",
    "esp32-ws2812-ina219",
)


def golden_frames(board, out):
    """Replay the golden log, fitted to board, into out; returns the frame files, in order."""
    log = fit_log(LOG, out.parent / (out.name + "-log.csv"), board)
    summary = replay(log, board, out, progress=False, pictures=False)
    return [out / f["file"] for f in summary["display"]["frames"]]


def main(boards):
    for board in boards or BOARDS:
        with tempfile.TemporaryDirectory() as tmp:
            frames = golden_frames(board, Path(tmp) / "out")
            dest = GOLDEN / board
            new = GOLDEN / ("." + board + ".new")
            shutil.rmtree(new, ignore_errors=True)
            new.mkdir()
            for path in frames:
                shutil.copyfile(path, new / path.name)
            shutil.rmtree(dest, ignore_errors=True)
            new.rename(dest)
            print("%s: %d frames in %s" % (board, len(frames), dest.relative_to(ROOT)))


if __name__ == "__main__":
    main(sys.argv[1:])
