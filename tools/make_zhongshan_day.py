#!/usr/bin/env python3
"""Make the bundled sample log: one day of rooftop PV AC power in Zhongshan at 10 s.

The model lives in host_tools/synth.py (the same one `sunprint synth` runs); this keeps the
bundled day's own settings: 22.5 N 113.4 E, UTC+8, a 10 m roof, 20 deg / south, fair-weather
cumulus (cloudiness 0.1), October air 22..30 C. Same arguments give a byte-identical file
(tests/host/test_synth.py checks the committed one).

    .venv/bin/python tools/make_zhongshan_day.py assets/logs/zhongshan-2024-10-15.csv
    # same as: --date 2024-10-15 --kwp 10 --seed 7
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from host_tools import synth  # noqa: E402
from host_tools.errors import UserError  # noqa: E402

SOURCE = synth.zhongshan_spec().source  # the header's source=: what marks this script's log


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, exit status 2 (argparse's own convention, minus the usage dump).
        self.exit(2, f"{self.prog}: error: {message}\n")


def main(argv: list[str] | None = None) -> int:
    ap = _Parser(
        prog="make_zhongshan_day.py",
        description="Simulate one day of rooftop PV AC power in Zhongshan (22.5N 113.4E, UTC+8) "
        "at 10 s resolution with pvlib (offline) and write a sunprint sample log.",
    )
    ap.add_argument("out", metavar="OUT.csv", help="output sample log path")
    ap.add_argument("--date", default="2024-10-15", help="local date, YYYY-MM-DD")
    ap.add_argument("--kwp", default="10", help="DC nameplate in kWp (default 10; AC is 0.9x)")
    ap.add_argument("--seed", default="7", help="cloud process seed (default 7)")
    args = ap.parse_args(argv)
    try:
        day = synth._date("--date", args.date)
        kwp = synth._number("--kwp", args.kwp, 0.1, 1000.0, "0.1 .. 1000 kWp")
        seed = synth._integer("--seed", args.seed, 0, synth.MAX_SEED, "a 32-bit integer")
    except UserError as e:
        ap.error(str(e))
    spec = synth.zhongshan_spec(day, kwp, seed)
    try:
        # a new file or this script's own earlier log (source=tools/make_zhongshan_day.py)
        synth.check_out(args.out, "OUT.csv", spec.source)
        stats = synth.write_log(spec, args.out, option="OUT.csv")
    except UserError as e:
        print(f"make_zhongshan_day.py: error: {e}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"make_zhongshan_day.py: error: cannot write {args.out}: {exc}", file=sys.stderr)
        return 1
    info = stats.days[0]
    print(
        f"wrote {args.out}: {stats.rows} rows, {stats.kwh:.2f} kWh, peak {stats.peak_w:.1f} W, "
        f"{info.clouds} clouds ({info.episodes} shading episodes), Linke {info.linke:.2f}, "
        f"{info.clip_samples} samples at the {info.pac_nom:.0f} W AC limit"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
