"""`make golden`: replay the golden log on every board and keep its frames as the reference.
The log is a 10 kWp plant: on a board whose sensor cannot measure that much (esp32-epd29's
INA226 caps readings at 800 W) it is first fitted into the sensor's limits (fit_log.py), since
replay books what the unit would, through the profile's health.

tests/host/test_golden.py replays the same log and compares every frame, pixel for pixel, with
the PNGs written here. Run this on purpose, after a change meant to alter what the sign shows,
and look at the new frames before committing them.

    python tools/make_golden.py [BOARD ...]

BOARD is a name in boards/. tests/golden/<BOARD>/ (and <BOARD>-clock-unknown/ for the
CLOCK_BOARDS) is replaced only if it holds nothing but frames; anything else in it stops the run
before any work, and nothing is deleted.
"""

import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from fit_log import fit_log  # noqa: E402

from host_tools import outfile  # noqa: E402
from host_tools.boards import board_names  # noqa: E402
from host_tools.errors import UserError  # noqa: E402
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
    "esp32-epd42-community",
    "esp32-epd75-community",
    "esp32-epd29-community",
)
FRAME = re.compile(r"\d{4}-\d{6}-(full|partial|led)\.png")  # a golden frame's file name
# The clock-unknown state (issue 16): the unit comes back from a power cut at the log's first
# row with its RTC at 2000-01-01 and no time source, so the sign shows lifetime, marked, where
# "today" was. Frames in tests/golden/<BOARD>-clock-unknown/.
CLOCK_BOARDS = ("esp32-epd29", "esp32-epd42-dlt645", "esp32-epd75-ddsu666", "esp32-max7219-s0")
CLOCK_SUFFIX = "-clock-unknown"
CLOCK_FAULTS = ("rtc_lost@10:00",)


# A community board (issue 18) shows its meters' sum: its frames come from the bundled community
# day (each home's power and register, minute by minute) on the whole unit, 10:00 to 11:30 with
# home 3 silent 10:20 to 10:50 ("homes reporting" 4/5), not from the golden log.
COMMUNITY_LOG = ROOT / "assets" / "logs" / "community-zhongshan-2024-10-15.csv"
COMMUNITY_SPAN = (10 * 3600, 90 * 60, ((2, 10 * 3600 + 1200, 10 * 3600 + 3000),))


def golden_frames(board, out, faults=()):
    """Replay the golden log, fitted to board, into out; returns the frame files, in order."""
    from host_tools.boards import load_board

    profile = load_board(board)
    if "community" in profile:
        from host_tools import community

        start, seconds, silent = COMMUNITY_SPAN
        out.mkdir(parents=True)
        log = community.read_log(COMMUNITY_LOG)
        return community.unit_frames(
            log, profile, out, start_s=start, seconds=seconds, silent=silent
        )
    log = fit_log(LOG, out.parent / (out.name + "-log.csv"), board)
    summary = replay(log, board, out, progress=False, pictures=False, faults=faults)
    return [out / f["file"] for f in summary["display"]["frames"]]


def _sets(boards):
    # (folder name, board, faults) of every golden set of these boards
    out = []
    for board in boards:
        out.append((board, board, ()))
        if board in CLOCK_BOARDS:
            out.append((board + CLOCK_SUFFIX, board, CLOCK_FAULTS))
    return out


def main(boards):
    """Regenerate tests/golden/<board>/ for each board (default: BOARDS); 0 done, 2 refused.

    A board is a name in boards/, never a path. A board's folder is replaced only if it is new
    or holds nothing but frames (what this script writes): nothing else is ever deleted."""
    boards = list(boards or BOARDS)
    known = board_names()
    try:
        for board in boards:
            if board not in known:
                raise UserError(
                    "board %r: not a board in boards/ (known: %s)" % (board[:60], ", ".join(known))
                )
        for name, _, _ in _sets(boards):
            _check_replaceable(GOLDEN / name)
    except UserError as e:
        print("make_golden: error: %s" % e, file=sys.stderr)
        return 2
    for name, board, faults in _sets(boards):
        with tempfile.TemporaryDirectory() as tmp:
            frames = golden_frames(board, Path(tmp) / "out", faults)
            dest = GOLDEN / name
            new = Path(tempfile.mkdtemp(prefix="." + name + ".new-", dir=GOLDEN))
            try:
                for path in frames:
                    shutil.copyfile(path, new / path.name)
                _check_replaceable(dest)  # again: it may have changed during the replay
                if dest.exists():
                    shutil.rmtree(dest)
                new.rename(dest)
            finally:
                shutil.rmtree(new, ignore_errors=True)
            shown = dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest
            print("%s: %d frames in %s" % (name, len(frames), shown))
    return 0


def _check_replaceable(dest):
    # dest holds golden frames only (or is missing): a real folder of FRAME files
    if not dest.exists() and not dest.is_symlink():
        return
    if dest.is_symlink() or not dest.is_dir():
        raise UserError("%s: is not a folder of golden frames; move it away" % dest)
    for entry in sorted(dest.iterdir()):
        if not (
            FRAME.fullmatch(entry.name)
            and entry.is_file()
            and not entry.is_symlink()
            and outfile.is_png(entry)
        ):
            raise UserError(
                "%s: holds %s, which make_golden did not write; move it away" % (dest, entry.name)
            )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
