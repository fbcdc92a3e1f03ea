"""`make bench`: one line per figure, in the format of shared/DESIGN.md.

    bench <name>: <value> <unit> (goal <op> <number>) [peer <name>: <value> <unit>]

Every peer is measured in this run, on this machine, never copied from an earlier one. The
firmware's MicroPython figures (heap, allocation, speed: names ending in _32bit) come from the
32-bit unix port that `make setup` builds (tests/mp32.py), as the ESP32's VM is 32-bit; the host
tools' own (replay --micropython, the virtual board) from the 64-bit pip port they run on.
make_bench_seconds, printed last, is the wall time of this whole run.
"""

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import mp32  # noqa: E402
from timing import best_of, line  # noqa: E402 - tests/bench/timing.py

from host_tools.paths import LOGS, use_firmware  # noqa: E402

DAY = LOGS / "zhongshan-2024-10-15.csv"
T_START = time.perf_counter()


def bench_replay_day():
    use_firmware()
    from host_tools.replay import replay
    from sunprint.samplelog import read_samples

    def parse_only():
        with open(DAY, encoding="utf-8", newline="") as f:
            return sum(1 for _ in read_samples(f, str(DAY)))

    parse_s, n = best_of(3, parse_only)
    # The 10 kWp day fitted into the 2.9" board's 800 W sensor: replay applies its health.
    sys.path.insert(0, str(ROOT / "tools"))
    from fit_log import fit_log

    fitted = tempfile.TemporaryDirectory()
    day = fit_log(DAY, Path(fitted.name) / "day.csv", "esp32-epd29")
    with tempfile.TemporaryDirectory() as tmp:
        run_s, summary = best_of(
            3, lambda: replay(day, "esp32-epd29", Path(tmp) / "out", progress=False, pictures=False)
        )
    frames = summary["display"]["refreshes"]
    line(
        "replay_day_samples_per_s",
        "%.0f" % (n / run_s),
        "samples/s",
        None,
        ("csv_parse_only", "%.0f" % (n / parse_s), "samples/s"),
    )
    # A minute's update: one screen, one language, a refresh a minute: only the numbers change.
    import json

    from host_tools.boards import load_board

    board = load_board("esp32-epd29")
    board["layout"] = dict(board["layout"], language="en", screens=["main"], screen_period_s=60)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "minute.json"
        path.write_text(json.dumps(board))
        minute_s, minute = best_of(
            1, lambda: replay(day, str(path), Path(tmp) / "o", progress=False, pictures=False)
        )
    fitted.cleanup()
    by_kind = {"full": [], "partial": []}
    for f in minute["display"]["frames"][1:]:  # the first one also wakes and inits the panel
        by_kind[f["kind"]].append(f["bytes_sent"])
    full = sum(by_kind["full"]) / max(1, len(by_kind["full"]))
    part = sum(by_kind["partial"]) / max(1, len(by_kind["partial"]))
    line(
        "panel_bytes_minute_update_vs_full",
        "%.1f" % (100 * part / full),
        "%",
        "<= 25",
        ("full_refresh_bytes", "%.0f" % full, "B"),
    )
    line(
        "replay_day_frame_each_minute_wall",
        "%.2f" % minute_s,
        "s",
        "<= 10",
        ("frames", minute["display"]["refreshes"], "frames"),
    )
    line(
        "replay_day_frames_per_s",
        "%.1f" % (frames / run_s),
        "frames/s",
        None,
        ("frames_in_day", frames, "frames"),
    )
    line("replay_day_wall", "%.2f" % run_s, "s", "<= 10")


# n ledger ticks of 10 s at about 2 kW: the loop the ledger's allocation and speed benches run,
# in MicroPython (inside their scripts) and in CPython (bench_ledger_speed execs it).
_LEDGER_TICKS = """
from sunprint.core.ledger import Ledger


def ticks(led, t, n):
    i = 0
    while i < n:
        t += 10
        led.add_power(t, 2000000 + (i & 1023))
        i += 1
    return t

"""

_LEDGER_ALLOC = (
    mp32.ALLOC_OF
    + _LEDGER_TICKS
    + """
led = Ledger()
t = ticks(led, 782150400, 10)  # the first day's periods
print(alloc_of(lambda n: ticks(led, t + 100, n), 10000))
"""
)


def _firmware_tree(tmp, *host_files):
    tree = Path(tmp) / "lib"
    mp32.compile_files(mp32.firmware_and(*host_files), tree)
    return tree


def bench_ledger_alloc():
    with tempfile.TemporaryDirectory() as tmp:
        used = float(mp32.run(_LEDGER_ALLOC, _firmware_tree(tmp), tmp))
    line("ledger_tick_alloc_32bit", "%g" % used, "B/tick", "== 0")


_GLYPH_BLIT = """
import framebuf, time
screen = framebuf.FrameBuffer(bytearray(296 * 16), 296, 128, framebuf.MONO_VLSB)
glyph = framebuf.FrameBuffer(bytearray(b"\\x5a" * 96), 24, 32, framebuf.MONO_HLSB)
t0 = time.ticks_us()
for i in range(2000):
    screen.blit(glyph, 101, 37, 0)
print(time.ticks_diff(time.ticks_us(), t0) / 2000)
"""


def bench_framebuf_blit():
    use_firmware()
    from host_tools.sim.platform import framebuf

    screen = framebuf.FrameBuffer(bytearray(296 * 16), 296, 128, framebuf.MONO_VLSB)
    glyph = framebuf.FrameBuffer(bytearray(b"\x5a" * 96), 24, 32, framebuf.MONO_HLSB)
    secs, _ = best_of(3, lambda: [screen.blit(glyph, 101, 37, 0) for _ in range(2000)])
    with tempfile.TemporaryDirectory() as tmp:
        us = float(mp32.run(_GLYPH_BLIT, tmp, tmp))
    line(
        "framebuf_standin_glyph_blit",
        "%.1f" % (secs / 2000 * 1e6),
        "us",
        "<= 300",
        ("micropython_c_framebuf_32bit", "%.1f" % us, "us"),
    )


_LEDGER_SPEED = (
    "import time\n"
    + _LEDGER_TICKS
    + """
led = Ledger()
t0 = time.ticks_ms()
ticks(led, 782150400, 100000)
print(time.ticks_diff(time.ticks_ms(), t0))
"""
)


def bench_ledger_speed():
    use_firmware()
    loop = {}
    exec(_LEDGER_TICKS, loop)  # the same loop the MicroPython script runs
    ticks, ledger = loop["ticks"], loop["Ledger"]
    secs, _ = best_of(3, lambda: ticks(ledger(), 782150400, 100000))
    with tempfile.TemporaryDirectory() as tmp:
        mp_ms = int(mp32.run(_LEDGER_SPEED, _firmware_tree(tmp), tmp))
    line(
        "ledger_ticks_per_s_32bit",
        "%.0f" % (100000 / (mp_ms / 1000)),
        "ticks/s",
        None,
        ("ledger_ticks_per_s_cpython", "%.0f" % (100000 / secs), "ticks/s"),
    )


def main():
    from bench_config import bench_config
    from bench_dlt645 import bench_dlt645
    from bench_fonts import bench_fonts
    from bench_health import bench_health
    from bench_ina import bench_ina
    from bench_modbus import bench_modbus
    from bench_mqtt import bench_mqtt
    from bench_refresh import bench_refresh
    from bench_store import bench_store
    from bench_unit import bench_unit

    bench_ledger_alloc()
    bench_ledger_speed()
    bench_store()
    bench_config()
    bench_ina()
    bench_dlt645()
    bench_health()
    bench_modbus()
    bench_refresh()
    bench_fonts()
    bench_unit()
    bench_mqtt()
    bench_framebuf_blit()
    bench_replay_day()
    # The field tools' and replay's benchmarks, each in its own module.
    import importlib

    for module, function in (
        ("bench_replay", "bench_replay"),
        ("bench_flash", "bench_flash"),
        ("bench_vboard", "bench_vboard"),
        ("bench_deploy", "bench_deploy"),
        ("bench_parts", "bench_parts"),
        ("bench_clock", "bench_clock"),
        ("bench_fleet", "bench_fleet"),
        ("bench_community", "bench_community"),
    ):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name != module:
                raise
            continue
        getattr(mod, function)()
    # The whole run, printed last: make bench must stay a thing one runs (<= 10 minutes).
    line("make_bench_seconds", "%.0f" % (time.perf_counter() - T_START), "s", "<= 600")


if __name__ == "__main__":
    main()
