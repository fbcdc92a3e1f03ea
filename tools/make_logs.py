#!/usr/bin/env python3
"""Make every bundled sample log in assets/logs/ (what `make log` runs).

    .venv/bin/python tools/make_logs.py [--out assets/logs]

Each log comes from the one model in host_tools/synth.py and is byte-for-byte reproducible:
- zhongshan-2024-10-15.csv: tools/make_zhongshan_day.py (the clear day with passing cumulus);
- the others: the very `sunprint synth` command lines in LOGS below;
- the week's clock-lost variant: a replay scenario (SCENARIOS below).
assets/logs/README.md describes them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

import make_zhongshan_day  # noqa: E402

from host_tools import cli, community, synth  # noqa: E402
from host_tools.errors import UserError  # noqa: E402

ZHONGSHAN = ["--lat", "22.5", "--lon", "113.4", "--tz", "+08:00", "--altitude", "10"]
ZHONGSHAN += ["--site", "Zhongshan", "--kwp", "10"]
LOGS = {
    # June, the rainy season: heavy broken clouds all day, deep clouds darken the sky.
    "zhongshan-2024-06-15-monsoon.csv": [
        *ZHONGSHAN,
        *("--start", "2024-06-15", "--weather", "monsoon", "--seed", "3"),
    ],
    # A week of pre-monsoon May weather (cloudiness per day from the seeded weather chain)
    # at 60 s rows, with a 4.5 h power outage on the fourth morning: no rows 09:40..14:10.
    "zhongshan-2024-05-06-week-outage.csv": [
        *ZHONGSHAN,
        *("--start", "2024-05-06", "--days", "7", "--weather", "mixed", "--seed", "3"),
        *("--interval", "60", "--outage", "2024-05-09T09:40/2024-05-09T14:10"),
    ],
}
ZHONGSHAN_DAY = "zhongshan-2024-10-15.csv"
# The community day (issue 18, docs/community.md): five homes' meters on one bus, a community
# log written by host_tools/community.py.
COMMUNITY_DAY = "community-zhongshan-2024-10-15.csv"
COMMUNITY_OPTIONS = ("synth", "--homes", "5")
# The week's clock-lost variant (issue 16): a replay scenario (`sunprint replay --scenario`) in
# which the outage of the fourth morning also loses the unit's time: its RTC restarts at
# 2000-01-01 when the power comes back, and the time returns only from a source the board has.
SCENARIOS = {
    "zhongshan-2024-05-06-week-outage-clock-lost.json": (
        '[\n  {"at": "81:40", "until": "86:10", "kind": "rtc_lost"}\n]\n'
    ),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="make_logs.py", description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(ROOT / "assets" / "logs"), help="folder to write into")
    args = ap.parse_args(argv)
    out = Path(args.out)
    # Every log first: a file of a log's name that is not an earlier log of the same writer
    # (its header's source=) stops the run before anything is simulated or written.
    try:
        synth.check_out(str(out / ZHONGSHAN_DAY), "--out", make_zhongshan_day.SOURCE)
        community.check_out(str(out / COMMUNITY_DAY))
        for name in LOGS:
            synth.check_out(str(out / name))
        for name, text in SCENARIOS.items():
            path = out / name
            if path.exists() and path.read_text(encoding="utf-8") != text:
                raise UserError("%s: exists and is not this script's scenario; move it away" % path)
    except UserError as e:
        print("make_logs.py: error: %s" % e, file=sys.stderr)
        return 2
    status = make_zhongshan_day.main([str(out / ZHONGSHAN_DAY)])
    if not status:
        command = [*COMMUNITY_OPTIONS, "--out", str(out / COMMUNITY_DAY)]
        print("python -m host_tools.community " + " ".join(command), flush=True)
        status = community.main(command)
    for name, options in LOGS.items():
        if status:
            return status
        command = ["synth", *options, "--out", str(out / name)]
        print("sunprint " + " ".join(command), flush=True)
        status = cli.main(command)
    if not status:
        for name, text in SCENARIOS.items():
            (out / name).write_text(text, encoding="utf-8")
            print("scenario %s" % (out / name), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
