#!/usr/bin/env python3
"""Plot a sunprint sample log: AC power and cumulative kWh vs local time.

    .venv/bin/python tools/plot_log.py LOG.csv OUT.png [--lenient]

Reads any log replay reads (format 1 or 2, several sections; firmware/sunprint/samplelog.py)
and draws it with host_tools.pictures.write_plot: gaps longer than 5 min (an outage) are shaded
and not integrated. The local time zone comes from the ``tz=+HH:MM`` key of a ``#`` comment
line (UTC if there is none). Flagged rows (format 2) are left out of the plot and counted.
OUT.png must be new or an earlier plot of this script (host_tools/outfile.py).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from host_tools import outfile  # noqa: E402
from host_tools.errors import UserError  # noqa: E402
from host_tools.paths import use_firmware  # noqa: E402
from host_tools.pictures import write_plot  # noqa: E402

TOOL = "tools/plot_log.py"  # the PNG's Software text: marks the plots it may replace


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def comment_keys(path: str) -> dict[str, str]:
    """key=value pairs of the '#' lines before the first header."""
    meta: dict[str, str] = {}
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        for line in fh:
            if not line.startswith("#"):
                break
            for token in line[1:].split():
                key, sep, value = token.partition("=")
                if sep:
                    meta.setdefault(key, value)
    return meta


def tz_offset_s(meta: dict[str, str]) -> int:
    m = re.fullmatch(r"([+-])(\d{2}):(\d{2})", meta.get("tz", "+00:00"))
    if not m:
        return 0
    return (1 if m.group(1) == "+" else -1) * (int(m.group(2)) * 3600 + int(m.group(3)) * 60)


def main(argv: list[str] | None = None) -> int:
    ap = _Parser(
        prog="plot_log.py",
        description="Plot AC power and cumulative kWh vs local time for a sunprint sample log.",
    )
    ap.add_argument("log", metavar="LOG.csv", help="sunprint sample log (format 1 or 2)")
    ap.add_argument("out", metavar="OUT.png", help="PNG to write")
    ap.add_argument("--lenient", action="store_true", help="drop a torn last line")
    args = ap.parse_args(argv)
    log, out = Path(args.log), Path(args.out)
    if not log.is_file():
        ap.error(f"no such log file: {log}")
    try:  # a new file or this script's earlier plot (its PNG Software text), nothing else
        outfile.check(out, "OUT.png", TOOL, outfile.png_from(TOOL))
    except UserError as e:
        ap.error(str(e))

    use_firmware()
    from sunprint.samplelog import ReadStats, SampleLogError, read_rows

    times, power = [], []
    stats = ReadStats()
    try:
        with open(log, encoding="utf-8", newline="") as fh:
            for t, p, _raw, flag in read_rows(fh, str(log), lenient=args.lenient, stats=stats):
                if flag == 0:
                    times.append(t)
                    power.append(p)
    except (SampleLogError, UnicodeDecodeError) as e:
        ap.error(str(e))
    if len(times) < 2:
        ap.error(f"{log}: fewer than two usable rows")

    meta = comment_keys(str(log))
    title = "%s, %s kWp" % (meta.get("site", log.name), meta.get("kwp", "?"))
    if stats.flagged:
        title += ", %d flagged rows left out" % stats.flagged
    with tempfile.TemporaryDirectory() as tmp:
        plot = Path(tmp) / "plot.png"
        write_plot(plot, times, power, None, (), tz_offset_s=tz_offset_s(meta), title=title)
        try:
            outfile.write(out, outfile.mark_png(plot.read_bytes(), TOOL), "OUT.png", TOOL,
                          outfile.png_from(TOOL))  # fmt: skip
        except UserError as e:
            ap.error(str(e))
    print(f"wrote {out}: {len(times)} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
