"""Measure the unit's peak heap per board and form and write assets/unit_heap.json, the figures
`sunprint deploy` weighs a stock image against (is the app as .mpy files within the heap the
board's ESP32 can give it?).

    python tools/unit_heap.py              # every profile in boards/, 3 forms
    python tools/unit_heap.py --span 600   # simulated seconds after the first frame

How: tests/bench/bench_unit.py's run (the 32-bit MicroPython unix port from Debian's 1.26.1
source, as the ESP32's VM: small ints of 31 bits; the chip and panel models in the same VM,
left out of the count), the peak live heap (gc.collect() then gc.mem_alloc()) from just before
`import main` through the boot and `--span` seconds of simulated time. The budget beside the
figures: an ESP32 without PSRAM gives MicroPython about 110 KB once its split heap has grown
(64 KB at start; FIELD-NOTES), one with PSRAM about 4 MB; 38 KB stay free for ESP-IDF and Wi-Fi
(issue 13: an app within 72 KB of a 110 KB heap).
"""

import argparse
import datetime
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

OUT = ROOT / "assets" / "unit_heap.json"
HEAP_BYTES = {"esp32": 110000, "psram": 4000000}
RESERVE_BYTES = 38000


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--span", type=int, default=3600, help="simulated seconds (default 3600)")
    ap.add_argument("--out", type=Path, default=OUT, help="the JSON file to write")
    args = ap.parse_args(argv)
    import bench_unit
    import mp32

    sys.path.insert(0, str(ROOT))
    from host_tools.boards import board_names

    boards = board_names()  # every profile in boards/: deploy weighs any of them
    try:
        results, _size = bench_unit.measure(boards, bench_unit.FORMS, args.span)
    except (RuntimeError, mp32.MissingVM) as e:
        print("unit_heap: %s" % e, file=sys.stderr)
        return 1
    peaks = {b: {f: results[b, f][0] for f in bench_unit.FORMS} for b in boards}
    figures = {
        "source": "tools/unit_heap.py, %s: peak live heap, 32-bit MicroPython %s unix port, "
        "boot and %d s simulated" % (datetime.date.today().isoformat(), mp32_version(), args.span),
        "heap_bytes": HEAP_BYTES,
        "reserve_bytes": RESERVE_BYTES,
        "peak_bytes": peaks,
    }
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(figures, indent=1, sort_keys=True) + "\n")
    tmp.replace(args.out)
    for b in boards:
        print(b, " ".join("%s %.1f kB" % (f, peaks[b][f] / 1000) for f in bench_unit.FORMS))
    return 0


def mp32_version():
    import importlib.util

    spec = importlib.util.spec_from_file_location("mpbuild", ROOT / "tools" / "micropython.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.VERSION


if __name__ == "__main__":
    sys.exit(main())
