#!/usr/bin/env python3
"""Plot a sunprint sample log (format version 1): AC power and cumulative kWh vs local time.

For eyeballing a log, not for publication. The local time zone comes from the
``tz=+HH:MM`` key of a ``#`` comment line (UTC if there is none).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
import tempfile
from typing import NoReturn

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

MAGIC = "# sunprint samplelog 1"
HEADER = "timestamp,power_w"


class LogError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def read_log(path: str) -> tuple[dict[str, str], np.ndarray, np.ndarray]:
    """Return (comment keys, timestamps [int64 s], power [W]); raise LogError if malformed."""
    meta: dict[str, str] = {}
    ts: list[int] = []
    pw: list[float] = []
    with open(path, encoding="ascii", newline="") as fh:
        lines = fh.read().split("\n")
    if not lines or lines[0] != MAGIC:
        raise LogError(f"{path}: line 1 is not {MAGIC!r}")
    if lines[-1] != "":
        raise LogError(f"{path}: no final newline")
    lines.pop()
    i = 1
    while i < len(lines) and lines[i].startswith("#"):
        for tok in lines[i][1:].split():
            key, sep, value = tok.partition("=")
            if sep:
                meta[key] = value
        i += 1
    if i >= len(lines) or lines[i] != HEADER:
        raise LogError(f"{path}: line {i + 1}: expected header {HEADER!r}")
    for n, line in enumerate(lines[i + 1 :], start=i + 2):
        m = re.fullmatch(r"(\d+),(-?\d+\.\d)", line)
        if not m:
            raise LogError(f"{path}: line {n}: bad row {line!r}")
        ts.append(int(m.group(1)))
        pw.append(float(m.group(2)))
    if len(ts) < 2:
        raise LogError(f"{path}: fewer than two rows")
    t = np.asarray(ts, dtype=np.int64)
    if np.any(np.diff(t) <= 0):
        raise LogError(f"{path}: timestamps are not strictly increasing")
    return meta, t, np.asarray(pw, dtype=float)


def _tz(meta: dict[str, str]) -> dt.timezone:
    m = re.fullmatch(r"([+-])(\d{2}):(\d{2})", meta.get("tz", "+00:00"))
    if not m:
        return dt.UTC
    sign = 1 if m.group(1) == "+" else -1
    return dt.timezone(sign * dt.timedelta(hours=int(m.group(2)), minutes=int(m.group(3))))


def plot(meta: dict[str, str], t: np.ndarray, p: np.ndarray, out: str) -> str:
    tz = _tz(meta)
    start = dt.datetime.fromtimestamp(int(t[0]), tz)
    midnight = start.replace(hour=0, minute=0, second=0)
    hours = (t - int(midnight.timestamp())) / 3600.0
    cum_kwh = np.concatenate(([0.0], np.cumsum((p[1:] + p[:-1]) * np.diff(t) / 2.0))) / 3.6e6
    i_peak = int(np.argmax(p))
    peak_at = dt.datetime.fromtimestamp(int(t[i_peak]), tz).strftime("%H:%M:%S")
    summary = (
        f"{cum_kwh[-1]:.2f} kWh, peak {p[i_peak] / 1000:.2f} kW at {peak_at} "
        f"(UTC{tz.tzname(None)[3:] or '+00:00'})"
    )

    fig, ax = plt.subplots(figsize=(11, 5), dpi=110)
    ax.plot(hours, p / 1000.0, lw=0.7, color="tab:orange", label="AC power")
    ax.set_xlabel(f"local time, h (UTC{tz.tzname(None)[3:] or '+00:00'})")
    ax.set_ylabel("AC power, kW")
    ax.set_xlim(hours[0], hours[-1] + (hours[1] - hours[0]))
    ax.set_xticks(np.arange(np.floor(hours[0]), np.ceil(hours[-1]) + 1, 2))
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax2 = ax.twinx()
    ax2.plot(hours, cum_kwh, lw=1.2, color="tab:blue", label="cumulative energy")
    ax2.set_ylabel("cumulative energy, kWh")
    ax2.set_ylim(bottom=0)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="upper left")
    site = meta.get("site", "?")
    kwp = meta.get("kwp", "?")
    ax.set_title(f"{site} {start.date().isoformat()}, {kwp} kWp: {summary}")
    fig.tight_layout()

    directory = os.path.dirname(os.path.abspath(out))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".png", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fig.savefig(fh, format="png")
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    finally:
        plt.close(fig)
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = _Parser(
        prog="plot_log.py",
        description="Plot AC power and cumulative kWh vs local time for a sunprint sample log.",
    )
    ap.add_argument("log", metavar="LOG.csv", help="sunprint sample log (format version 1)")
    ap.add_argument("out", metavar="OUT.png", help="PNG to write")
    args = ap.parse_args(argv)
    if not os.path.isfile(args.log):
        ap.error(f"no such log file: {args.log}")
    if not os.path.isdir(os.path.dirname(os.path.abspath(args.out))):
        ap.error(f"output directory does not exist: {os.path.dirname(os.path.abspath(args.out))}")
    try:
        meta, t, p = read_log(args.log)
    except (LogError, UnicodeDecodeError) as exc:
        ap.error(str(exc))
    summary = plot(meta, t, p, args.out)
    print(f"wrote {args.out}: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
