"""The parts registry's heap cost at boot, on the unit's VM (tests/mp32.py: MicroPython 1.26.1,
the 32-bit unix port, as the ESP32's) from .mpy files compiled as `sunprint deploy` compiles
them (mpy-cross of that version, source names inside the tree).

board.build imports sunprint.parts, checks the profile and unloads the module again. Measured
per bundled profile with gc.mem_alloc(): the transient while it is loaded and checking (gc
disabled from before the import to the end of the check, so the check's garbage counts too),
and what stays after unload() and a collection: the qstrs only parts.py interns (they live as
long as the interpreter). The modules the unit imports anyway at boot (main, board, app, the
screens, ui/panels for the fonts and the rotation, the board's drivers) are imported before the
baseline, so what they share with parts.py is theirs. The peer: the qstr pool's growth in bytes
(micropython.qstr_info).

    .venv/bin/python tests/bench/bench_parts.py
"""

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

import mp32  # noqa: E402

BOARDS = ("esp32-epd29-ina226", "esp32-epd42-dlt645", "esp32-ws2812-ina219")

# ui/panels: board.build opens the profile's fonts (layout.fonts_for) and makes the rotation
# (layout.Rotation) from it whatever parts.py does; main.py drops it with the boot (BOOT_ONLY).
_SCRIPT = """
import gc, json, sys, micropython
with open(sys.argv[1]) as f:
    profile = json.load(f)
# the unit's own modules, imported anyway at boot
import main, sunprint.board, sunprint.app, sunprint.sources, sunprint.ui.render
import sunprint.ui.refresh, sunprint.ui.panels
import sunprint.core.ledger, sunprint.core.health, sunprint.core.calib
for m in sys.argv[2:]:
    __import__(m)
gc.collect()
micropython.qstr_info()
base = gc.mem_alloc()
gc.disable()
from sunprint import parts
loaded = gc.mem_alloc() - base
parts.check(profile)
checked = gc.mem_alloc() - base
gc.enable()
parts.unload()
parts = None
gc.collect()
micropython.qstr_info()
print("PARTS", loaded, checked, gc.mem_alloc() - base)
"""
_DRIVERS = {
    "esp32-epd29-ina226": ("sunprint.drivers.ssd1680", "sunprint.drivers.ina2xx"),
    "esp32-epd42-dlt645": ("sunprint.drivers.ssd1683", "sunprint.drivers.dlt645"),
    "esp32-ws2812-ina219": ("sunprint.drivers.ws2812", "sunprint.drivers.ina2xx"),
}


def measure(board, tree, tmp):
    args = (str(ROOT / "boards" / (board + ".json")),) + _DRIVERS[board]
    out = mp32.run(_SCRIPT, tree, tmp, heapsize=400000, args=args)
    pool = [int(t.split("n_total_bytes=")[1]) for t in out.splitlines() if "n_total_bytes=" in t]
    for text in out.splitlines():
        if text.startswith("PARTS ") and len(pool) == 2:
            return tuple(int(x) for x in text.split()[1:]) + (pool[1] - pool[0],)
    raise RuntimeError("%s: %s" % (board, out.strip()[-300:]))


def bench_parts():
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "firmware"
        try:
            mp32.compile_files(mp32.firmware_and(), tree)
        except (RuntimeError, mp32.MissingVM) as e:
            print("bench parts_check_heap: failed (%s)" % e, flush=True)
            return
        for board in BOARDS:
            try:
                loaded, checked, kept, qstrs = measure(board, tree, tmp)
            except (RuntimeError, mp32.MissingVM) as e:
                print("bench parts_check_heap: failed (%s)" % str(e)[-300:], flush=True)
                return
            name = board.replace("esp32-", "").replace("-", "_")
            print(
                "bench parts_check_heap_%s: %d B peer module_loaded: %d B"
                % (name, checked, loaded),
                flush=True,
            )
            print(
                "bench parts_kept_heap_%s: %d B (goal <= 2048) peer qstr_pool_growth: %d B"
                % (name, kept, qstrs),
                flush=True,
            )


if __name__ == "__main__":
    bench_parts()
