"""A log fitted into a board's sensor limits, for the golden frames (make_golden.py) and the
tests that replay the bundled 10 kWp days on the small power boards. Replay books what the unit would: the rows go through the profile's
health, and esp32-epd29's INA226 caps readings at 800 W (and a step at 400 W), the INA219 of
esp32-ws2812-ina219 at 100 W, so the bundled day as it is would be almost all "out of range"
there. Fitted, the powers are scaled so that the peak and the largest step from one row to the
next are at most headroom x the health's max_w and max_step_w."""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def board_health(board):
    """The health section of the board's pv sensor ({} if none)."""
    profile = json.loads((ROOT / "boards" / (board + ".json")).read_text())
    for s in profile["sensors"]:
        if s["role"] in ("pv_power", "pv_energy"):
            return s.get("health") or {}
    return {}


def _powers(src):
    return [
        float(ln.split(",")[1]) for ln in src.read_text().splitlines() if ln and ln[0].isdigit()
    ]


def fit_factor(src, board, headroom=0.9):
    """What every power of src is multiplied by (1 if it fits the board as it is)."""
    h = board_health(board)
    p = _powers(src)
    k = 1.0
    peak = max(p)
    if h.get("max_w") and peak > h["max_w"]:
        k = headroom * h["max_w"] / peak
    step = max(abs(b - a) for a, b in zip(p, p[1:], strict=False))
    if h.get("max_step_w") and step * k > h["max_step_w"]:
        k = headroom * h["max_step_w"] / step
    return k


def fit_log(src, dst, board, headroom=0.9):
    """Write src to dst with its power scaled into the board's limits; returns dst."""
    k = fit_factor(src, board, headroom)
    out = []
    for ln in src.read_text().splitlines(keepends=True):
        if ln and ln[0].isdigit() and k != 1.0:
            fields = ln.rstrip("\n").split(",")
            fields[1] = "%.3f" % (float(fields[1]) * k)
            ln = ",".join(fields) + "\n"
        out.append(ln)
    dst.write_text("".join(out))
    return dst
