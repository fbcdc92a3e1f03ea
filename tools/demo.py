"""`make demo`: replay the bundled Zhongshan day (a 10 kWp plant) on an e-paper board and on an
LED board whose sensors can measure it, and print where to look.

    build/demo/            the 4.2" e-paper sign with a DL/T 645 meter (esp32-epd42-dlt645):
                           frames, GIF, plot, summary
    build/demo-led/        the MAX7219 LED sign with an S0 meter (esp32-max7219-s0): the same

Replay books what the unit would, through the profile's health: the 2.9" board's INA226
(esp32-epd29) caps readings at 800 W, so there the day is almost all "out of range".
"""

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from host_tools import outdir  # noqa: E402
from host_tools.errors import UserError  # noqa: E402
from host_tools.replay import replay  # noqa: E402

DAY = ROOT / "assets" / "logs" / "zhongshan-2024-10-15.csv"
RUNS = (
    ("esp32-epd42-dlt645", ROOT / "build" / "demo", '4.2" e-paper'),
    ("esp32-max7219-s0", ROOT / "build" / "demo-led", "MAX7219 LED chain"),
)


def _own_folders():
    # the only two paths the demo owns: inside the repository's gitignored build/ folder
    return (ROOT / "build" / "demo", ROOT / "build" / "demo-led")


def clear_unmarked(out):
    """Remove `out` when it is one of the demo's own folders (build/demo, build/demo-led) and
    carries no replay marker: an older sunprint wrote it before outputs were marked, and
    replay (rightly) refuses any unmarked folder. The demo is a developer tool that owns
    those two folders inside the gitignored build/; it never clears any other path (a path a
    user named is replay's to refuse). True when it removed something."""
    if out not in _own_folders() or out.is_symlink() or not out.is_dir():
        return False
    if out.resolve() != out or (out / outdir.MARKER).exists():
        return False  # reached through a link, or marked: replay's rule decides
    shutil.rmtree(out)
    return True


def main():
    print("sunprint demo: %s (one day at 10 s, Zhongshan, 10 kWp)" % DAY.relative_to(ROOT))
    for board, out, what in RUNS:
        if clear_unmarked(out):
            print("(cleared %s: written by an older sunprint, without a marker)" % out)
        summary = replay(DAY, board, out, progress=None)
        energy, co2, display = summary["energy"], summary["carbon"], summary["display"]
        rel = out.relative_to(ROOT)
        print()
        print(
            "%s (%s): %.3f kWh, %.2f kg CO2 avoided, %.2f kg coal saved, %d frames (%s)"
            % (
                what,
                board,
                energy["lifetime_kwh"],
                co2["co2_kg"],
                co2["coal_kg"],
                display["refreshes"],
                ", ".join("%d %s" % (n, k) for k, n in display["by_kind"].items() if n),
            )
        )
        for name, label in (
            ("frames", "every frame the sign shows"),
            ("last-frame.png", "the sign at the end of the day"),
            ("carbon-screen.png", "the carbon screen: factor and source, coal, trees"),
            ("animation.gif", "the day as an animation"),
            ("contact-sheet.png", "the day's frames on one page"),
            ("plot.png", "power and energy with refresh and fault events"),
            ("summary.json", "the numbers"),
        ):
            if (out / name).exists():
                print("  %-40s %s" % ("%s/%s" % (rel, name), label))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except UserError as e:
        print("demo: error: %s" % e, file=sys.stderr)
        sys.exit(2)
