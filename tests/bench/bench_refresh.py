"""E-paper refresh benchmarks: refreshes a day from the refresh plan, and the frame diff's cost.

The simulated week of tests/firmware/refresh_sim.py (a value changing every minute, two days
of it round the clock, quiet nights, an afternoon and a whole day with nothing new) runs
through sunprint.ui.refresh.RefreshPlan with its defaults, checking every rule as it goes:
- full_refreshes_per_day: full refreshes on the week's worst day; peer: the same week with
  about 20 random reboots (state carried over by pack/unpack) and wall clock jumps;
- full_refreshes_min_per_day: the fewest on any day (one nightly full at least);
- refreshes_per_day: all refreshes on the worst day; 86400 / 180 s = 480 is the ceiling;
- diff_alloc_32bit: bytes allocated per changed_rects() + changed_rect(out) call inside
  the 32-bit MicroPython unix port (tests/mp32.py; 296 x 128 MONO_VLSB, five changed areas,
  4 boxes);
- diff_296x128_us_32bit: time of one changed_rects() over that frame on this PC's unix
  port (not an ESP32's time: that is many times slower); peer: 400 x 300 MONO_HLSB;
- panel_bytes_minute_update_<panel>: bytes on the panel's SPI bus for a partial refresh, as a
  share of a full refresh, over the bundled day replayed with one screen rendered each minute
  (the plan lets a partial through every 3 minutes); the e-paper drivers end each full refresh
  in deep sleep, so the first partial after it restores the controller's RAM, and these
  figures include that. Peer: the mean bytes of a partial. The 4.2" and 7.5" lines are skipped
  with BENCH_QUICK=1.

    .venv/bin/python tests/bench/bench_refresh.py
"""

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for _p in (str(ROOT), str(ROOT / "tests")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import mp32  # noqa: E402
from timing import line as _line  # noqa: E402 - tests/bench/timing.py

from host_tools.paths import use_firmware  # noqa: E402


def _weeks():
    use_firmware()
    sys.path.insert(0, str(ROOT / "tests" / "firmware"))
    from refresh_sim import Week

    calm = Week().run().check_days()
    rough = Week(reboot_odds=3000, jumps=True, seed=5).run().check_days()
    return calm, rough


_DIFF = (
    mp32.ALLOC_OF
    + """
import time
from sunprint.ui.diff import MONO_HLSB, MONO_VLSB, changed_rect, changed_rects, new_boxes


def fill(buf, x0, y0, w, h):
    for y in range(y0, y0 + h):
        for x in range(x0, x0 + w):
            buf[(y >> 3) * 296 + x] |= 1 << (y & 7)


def calls(prev, cur, out, n):
    # Locals only: a new global would count as allocation.
    k = 0
    for _ in range(n):
        k += changed_rects(prev, cur, 296, 128, MONO_VLSB, out, 4, 16)
        if changed_rect(prev, cur, 296, 128, MONO_VLSB, out) is not None:
            k += 1
    return k


prev = bytearray(4736)
cur = bytearray(4736)
for x0 in (0, 60, 120, 180, 240):
    fill(cur, x0, x0 // 3, 20, 20)
out = new_boxes(4)
hprev = bytearray(15000)
hcur = bytearray(15000)
hcur[7000] = 1
hcur[100] = 0x80
used = alloc_of(lambda n: calls(prev, cur, out, n), 20, warm=1) / 2  # per call
t0 = time.ticks_us()
for _ in range(20):
    changed_rects(prev, cur, 296, 128, MONO_VLSB, out)
vlsb_us = time.ticks_diff(time.ticks_us(), t0) // 20
t0 = time.ticks_us()
for _ in range(20):
    changed_rects(hprev, hcur, 400, 300, MONO_HLSB, out)
hlsb_us = time.ticks_diff(time.ticks_us(), t0) // 20
print(used, vlsb_us, hlsb_us)
"""
)


def _diff_micropython():
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "lib"
        mp32.compile_files(mp32.firmware_and(), tree)
        used, vlsb_us, hlsb_us = mp32.run(_DIFF, tree, tmp).split()
    return float(used), int(vlsb_us), int(hlsb_us)


def _minute_update(board_name):
    """(partial mean bytes / full mean bytes, partial mean bytes) over the bundled day."""
    import json

    from host_tools.boards import load_board
    from host_tools.paths import LOGS
    from host_tools.replay import replay

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
    from fit_log import (
        fit_log,  # the 10 kWp day into the board's sensor range, as the unit books it
    )

    board = load_board(board_name)
    board["layout"] = dict(board["layout"], language="en", screens=["main"], screen_period_s=60)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "minute.json"
        path.write_text(json.dumps(board))
        day = fit_log(LOGS / "zhongshan-2024-10-15.csv", Path(tmp) / "day.csv", board_name)
        summary = replay(day, str(path), Path(tmp) / "o", progress=False, pictures=False)
    sent = {"full": [], "partial": []}
    for f in summary["display"]["frames"][1:]:  # the first one also wakes the panel
        sent[f["kind"]].append(f["bytes_sent"])
    full = sum(sent["full"]) / max(1, len(sent["full"]))
    part = sum(sent["partial"]) / max(1, len(sent["partial"]))
    return part / full, part


def bench_refresh():
    use_firmware()
    panels = (("epd29", "esp32-epd29", "<= 25"),)
    if not os.environ.get("BENCH_QUICK"):
        panels += (("epd42", "esp32-epd42-dlt645", None), ("epd75", "esp32-epd75-ddsu666", None))
    for name, board, goal in panels:
        share, part = _minute_update(board)
        _line(
            "panel_bytes_minute_update_" + name,
            "%.1f" % (100 * share),
            "%",
            goal,
            ("partial_bytes_mean", "%.0f" % part, "B"),
        )
    calm, rough = _weeks()
    _line(
        "full_refreshes_per_day",
        max(calm.fulls),
        "fulls",
        "<= 24",
        ("with_reboots_and_clock_jumps", max(rough.fulls), "fulls"),
    )
    _line("full_refreshes_min_per_day", min(calm.fulls), "fulls", ">= 1")
    _line(
        "refreshes_per_day",
        max(calm.refreshes),
        "refreshes",
        "<= 480",
        ("week_mean", "%.0f" % (sum(calm.refreshes) / len(calm.refreshes)), "refreshes"),
    )
    _line("refresh_min_gap", min(calm.min_gap, rough.min_gap), "s", ">= 180")
    per_call, vlsb_us, hlsb_us = _diff_micropython()
    _line("diff_alloc_32bit", "%g" % per_call, "B/call", "== 0")
    _line(
        "diff_296x128_us_32bit",
        vlsb_us,
        "us",
        None,
        ("diff_400x300_hlsb_us_32bit", hlsb_us, "us"),
    )


if __name__ == "__main__":
    bench_refresh()
