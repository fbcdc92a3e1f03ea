"""Flashing benchmarks, against ESP32 ROM emulators served by a separate process.

- flash_1mb_vs_esptool: `sunprint flash`'s esptool part (connect, chip check, stub, erase,
  compressed write, MD5 verify, reboot into the app) for a 1 MB image, over bare
  `esptool write-flash` of the same image on the same emulator (its connect, stub, compressed
  write and MD5 verify), both in this process through esptool's Python API, alternated, best of 4.
  Goal <= 1.1x. The extra: sunprint's whole-chip erase, its own MD5 and the reboot. Both run
  without esptool's per-packet hex dumps (sunprint turns them off: host_tools/flash.py
  _skip_hex_dumps; once it has flashed, the process's esptool has them off too);
  esptool_as_shipped_1mb is bare esptool with them, as `esptool write-flash` runs.
- flash_8_parallel_vs_serial: 8 units flashed in parallel (threads) over the same 8 units one
  after another. On a 2-core machine the emulators and the flashing threads share the CPUs.

    .venv/bin/python tests/bench/bench_flash.py
"""

import contextlib
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from timing import best_of  # noqa: E402 - tests/bench/timing.py
from timing import line as _line  # noqa: E402

SERVE_UNITS = """
import sys
sys.path.insert(0, %r)
from host_tools.sim.board.esp32rom import Esp32Rom
rom = Esp32Rom("%%s/u%%s.bin" %% (sys.argv[1], sys.argv[2]))
print(rom.serve_pty(), flush=True)
sys.stdin.read()
""" % str(ROOT)


@contextlib.contextmanager
def emulated_units(count, folder):
    """`count` ROM emulators on ptys, one process each (as units are separate hardware, and
    so their CPU is not the flashing process's)."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SERVE_UNITS, str(folder), str(i)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(count)
    ]
    try:
        yield [proc.stdout.readline().strip() for proc in procs]
    finally:
        for proc in procs:
            proc.stdin.close()
            proc.wait(timeout=10)


def firmware_image(size):
    """A valid ESP32 image of `size` bytes whose payload compresses like firmware does."""
    from host_tools.sim.board.device import make_app_image

    rnd = random.Random(8)
    code = bytearray()
    while len(code) < size - 200:
        code += bytes(rnd.randrange(4, 64)) if rnd.random() < 0.3 else rnd.randbytes(96)
    return make_app_image(bytes(code[: size - 200]))


def bench_flash():
    import esptool
    import esptool.loader

    from host_tools.boards import load_board
    from host_tools.flash import flash_unit

    board = dict(load_board("esp32-epd29"), name="esp32-epd29")
    # BENCH_QUICK (make test checks that every benchmark runs): a smaller image, fewer rounds
    quick = bool(os.environ.get("BENCH_QUICK"))
    data = firmware_image(128 * 1024 if quick else 1024 * 1024)
    with tempfile.TemporaryDirectory() as tmp:
        image = Path(tmp) / "firmware.bin"
        image.write_bytes(data)
        with emulated_units(2 if quick else 8, tmp) as ports:

            def sunprint_one(port=ports[0]):
                row = flash_unit(port, board, data, deploy=False, check_app=False)
                assert row["result"] == "ok", row["message"]

            def esptool_one(port=ports[0]):
                with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
                    esptool.main(
                        ["--port", port, "--baud", "460800", "--before", "no-reset",
                         "--after", "no-reset", "write-flash", "0x1000", str(image)]
                    )  # fmt: skip

            # Warm both up (imports, stub files), then alternate, best of 4 each: the
            # machine is shared, so interleaving keeps load changes from favouring one side.
            shipped_dump = esptool.loader.HexFormatter
            sunprint_one()  # from here on the process's esptool makes no hex dumps
            esptool_one()
            ours = bare = None
            for _ in range(1 if quick else 4):
                t, _ = best_of(1, sunprint_one)
                ours = t if ours is None else min(ours, t)
                t, _ = best_of(1, esptool_one)
                bare = t if bare is None else min(bare, t)
            _line(
                "flash_1mb_vs_esptool",
                "%.2f" % (ours / bare),
                "x",
                "<= 1.1",
                ("esptool_write_flash_1mb", "%.2f" % bare, "s"),
            )
            _line("flash_1mb_sunprint", "%.2f" % ours, "s")
            quiet_dump = esptool.loader.HexFormatter
            esptool.loader.HexFormatter = shipped_dump
            try:
                shipped, _ = best_of(1 if quick else 2, esptool_one)
            finally:
                esptool.loader.HexFormatter = quiet_dump
            _line("esptool_as_shipped_1mb", "%.2f" % shipped, "s")

            from concurrent.futures import ThreadPoolExecutor

            t0 = time.perf_counter()
            for port in ports:
                sunprint_one(port)
            serial_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            with ThreadPoolExecutor(max_workers=len(ports)) as pool:
                list(pool.map(sunprint_one, ports))
            parallel_s = time.perf_counter() - t0
            _line(
                "flash_8_parallel_s",
                "%.2f" % parallel_s,
                "s",
                "<= %.2f" % (serial_s * 0.75),
                ("flash_8_serial", "%.2f" % serial_s, "s"),
            )


if __name__ == "__main__":
    bench_flash()
