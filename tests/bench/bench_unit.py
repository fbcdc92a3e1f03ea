"""The whole unit in the 32-bit MicroPython VM, per board and per form: peak heap, bytes per
steady-state tick and per screen update, boot time.

How a unit ships its code decides most of its heap. The three forms, each on MicroPython's unix
port built as a 32-bit binary like the ESP32's (tests/mp32.py, `make setup`):
- frozen: the app frozen into the image (micropython32-app, manifests/app.py): bytecode,
  constants and qstrs stay in flash; nothing is imported from files (the script checks);
- romfs: the stock image (micropython32) with the app in a ROMFS image built by mpremote's own
  builder from .mpy files of the matching mpy-cross and mounted with vfs.VfsRom: bytecode and
  constants run in place, the qstrs and the modules' tables go on the heap. The image bytes
  themselves sit on the heap here (the unix port has no flash to map) and are left out;
- mpy: the stock image with the app as .mpy files on the filesystem (what a stock image can
  run): everything is copied onto the heap.

Peak (unit_heap_<board>_<form>_32bit, kB = 1000 B): the largest live heap (gc.collect() then
gc.mem_alloc()) after every runner step, from just before `import main` through the boot and
an hour of simulated time, less the baseline. The PV power is 40 % of what the profile's health
check takes as plausible, moving a little from step to step (a constant reading is a stuck
sensor); the profile's screens change as on a unit. The chip and panel models, the fake machine,
the clock and the ROMFS image are made before the baseline; a unit module that a model imported
from the unit's own tables (the Modbus map) is dropped before it, so the unit's import counts.
The unit's flash is a real folder (log and ledger records live on disk, not on the heap). An
e-paper model's record of refreshes and commands (the simulator's, ~0.5 kB an hour) is dropped
after every step once the first frame is shown, so that it is not counted as the unit's.

Boot (unit_boot_heap_<board>_<form>_32bit): the live heap at the end of the boot, the unit
built and the modules only the boot needs still loaded (main lets them leave just before the
runner starts): what the heap must hold once, at boot. (Transients inside the build, a JSON
parse, are not sampled.)

Then, in the frozen form, a second hour counts what each step allocates with the collector off
(collected before every step), the models' and the clock's own allocation inside the step left
out: their methods are metered (the clock's nanoseconds and a UART model's byte times are big
ints on a 32-bit VM; a unit's ticks are not). Per kind of step: a sampling tick (goal 0), a
screen update, a journal append (a file write: open() makes a file object, and on a unit
LittleFS its cache; counted apart from the sampling ticks as the sample log's flushes are).

    .venv/bin/python tests/bench/bench_unit.py        # BENCH_VERBOSE=1: the phases' figures
    BENCH_BOARDS=esp32-epd29-ina226,esp32-max7219-s0 .venv/bin/python tests/bench/bench_unit.py
"""

import concurrent.futures
import contextlib
import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

import mp32  # noqa: E402

from host_tools.mpycompile import compile_mpy, tree_jobs  # noqa: E402

# Simulated seconds of each phase; BENCH_QUICK (make test checks that every benchmark runs):
# less, and two boards.
SPAN_S = 600 if os.environ.get("BENCH_QUICK") else 3600
# (board, {form: goal in bytes}); a form without a goal is reported only.
BOARDS = (
    ("esp32-epd29-ina226", {"frozen": 40000, "romfs": 72000}),
    ("esp32-max7219-s0", {"frozen": 40000, "romfs": 72000}),
    ("esp32-ws2812-ina219", {"frozen": 40000, "romfs": 72000}),
    ("esp32-epd29", {"frozen": 40000, "romfs": 72000}),  # the 2.9" board's plain profile
    ("esp32-epd42-dlt645", {}),
    ("esp32-epd75-ddsu666", {}),  # WROVER: its two 48 KB picture buffers live in PSRAM
)
FORMS = ("frozen", "romfs", "mpy")
HEAPSIZE = 640000  # the models share the VM with the unit: room for both (gc.mem_alloc()
# scans the whole heap after every step: a larger heap is slower to measure)

_SCRIPT = """
import gc, sys, time, json
IMAGE, FORM, BOARD, FLASH, FONTS, CONFIG, SPAN_S, STEADY = sys.argv[1:9]
SPAN_S = int(SPAN_S)
if FORM == "romfs":
    import vfs
    with open(IMAGE, "rb") as f:
        img = f.read()
    vfs.mount(vfs.VfsRom(img), "/rom")  # the image bytes are on the heap, before the baseline
    sys.path.insert(0, "/rom")
elif FORM == "mpy":
    sys.path.insert(0, IMAGE)
from host_tools.sim.platform import machine as fake
from host_tools.sim import rig as rigmod
sys.modules["machine"] = fake
with open(BOARD) as f:
    profile = json.load(f)
START = 782265600  # 2024-10-15 08:00 local (UTC+8), firmware seconds
clock = rigmod.Clock(START)
rig = rigmod.wire(profile, clock)
wdt = fake.WDT(timeout=30000)
def no_wait(ms):
    pass
def shown():
    model = rig.models.get("display")  # a WS2812 strip's model exists once the driver made it
    return (len(getattr(model, "refreshes", ())) or getattr(model, "writes", 0)
            or getattr(model, "digit_frames", 0))
# The PV power: 40 % of what the profile's health check takes as plausible (3 kW without one),
# moving a little from step to step as a real string's does (a reading repeated 30 times is a
# stuck sensor, and an out-of-range or stuck reading is a fault the ledger does not book).
P0 = 3000.0
for s in profile["sensors"]:
    if s["role"] in ("pv_power", "pv_energy") and "max_w" in s.get("health", {}):
        P0 = 0.4 * s["health"]["max_w"]
def vary(i):
    rig.set_power(P0 * (0.95 + (i % 7) * 0.015))
def unit_modules():
    return [n for n in sys.modules if n == "main" or n == "sunprint" or n.startswith("sunprint.")]
# The models' and the clock's allocation inside a step is the simulator's, not the unit's (the
# clock's nanoseconds and a UART model's byte times are big ints on a 32-bit VM; the unit's
# ticks are small ints). Their methods are wrapped on their classes before the unit is built,
# so the bound methods a driver keeps (a UART's flush, the clock's ticks_ms) are wrapped too;
# a wrapper measures only while METER[0] is on (the steady phase), and a model calling another
# (a UART write driving a pin) is counted once. Counted with micropython.mem_current() (the unix
# port's count of bytes requested from the heap less those freed; allocation only, as the
# collector is off): constant time, where gc.mem_alloc() scans the whole heap, and a step calls
# the models a few hundred times. The heap rounds each request up to 16-byte blocks.
from micropython import mem_current
METER = [False]
INSIDE = [0]
DEPTH = [0]
_N = object()
def _call(f, s, a, b, c, d):
    if a is _N:
        return f(s)
    if b is _N:
        return f(s, a)
    if c is _N:
        return f(s, a, b)
    if d is _N:
        return f(s, a, b, c)
    return f(s, a, b, c, d)
def _metered(f):
    def w(self, a=_N, b=_N, c=_N, d=_N):
        if not METER[0] or DEPTH[0]:
            return _call(f, self, a, b, c, d)
        DEPTH[0] = 1
        m0 = mem_current()
        try:
            r = _call(f, self, a, b, c, d)
        finally:
            DEPTH[0] = 0
            INSIDE[0] += mem_current() - m0
        return r
    return w
_NAMES = ("write", "read", "readinto", "any", "readfrom_mem_into", "writeto_mem", "readfrom_into",
          "writeto", "value", "flush", "write_readinto", "feed", "check", "now", "wall",
          "ticks_ms", "ticks_us", "block_ms", "sleep_us")
_objs = list(fake._SPI.values()) + list(fake._I2C.values()) + list(fake._UART.values())
_objs += list(fake._PINS.values()) + list(rig.models.values()) + [clock, wdt, rig.edge_clock]
if profile["display"]["type"] == "ws2812":
    # The rig makes the strip's model when the unit asks: its module is imported here, before
    # the baseline, so that it is not counted as the unit's.
    from host_tools.sim.chips.neopixel import NeoPixel
    _objs.append(NeoPixel)
_seen = []
for o in _objs:
    cls = o if isinstance(o, type) else type(o)
    if o is None or cls in _seen:
        continue
    _seen.append(cls)
    for name in _NAMES:
        f = getattr(cls, name, None)
        if f is not None and callable(f):
            try:
                setattr(cls, name, _metered(f))
            except (AttributeError, TypeError):
                pass
# A model built from the unit's own tables (the Modbus meter's map) imported a unit module:
# the unit imports it again after the baseline, so its module and tables count as the unit's.
for name in unit_modules():
    print("PRELOADED", name)
    del sys.modules[name]
# An e-paper model keeps a record of every refresh (kind, waveform, update value, window) and of
# its recent command bytes (up to 512): the simulator's notes, not the unit's memory, and they
# grow through the hour (about 0.5 kB). Once the first frame is on the glass (shown() counts the
# refreshes) they are dropped after every step (`history`: the most dropped at once, shown
# with BENCH_VERBOSE).
HISTORY = ("refreshes", "updates", "areas", "waveforms")
def history_bytes():
    model = rig.models.get("display")
    if model is None:
        return 0
    gc.collect()
    a = gc.mem_alloc()
    for name in HISTORY:
        if isinstance(getattr(model, name, None), list):
            setattr(model, name, [])
    if isinstance(getattr(model, "commands", None), bytearray):
        model.commands = bytearray()
    gc.collect()
    return a - gc.mem_alloc()
# The script's own names after the baseline, made now: its globals dict must not grow (and
# be reallocated) while the unit's heap is measured.
t0 = imported = built = peak = first = n = boot_ms = end = history = h = used = None
main = runner = OsFs = None
# The virtual clock the unit's bus driver waits on (main.main(ticks_ms=, bus_sleep_ms=)): bound
# methods of the harness, made before the baseline (on a unit the drivers hold the port's own
# functions, no object of their own).
TICKS_MS, BLOCK_MS = clock.ticks_ms, clock.block_ms
BASE = 0
# The boot's own high-water mark: the unit built, the boot-only modules not yet gone (main
# lets them leave just before the runner starts, main._leave, which this wraps during the
# boot). Made before the baseline: the harness's objects are not the unit's.
BOOT = [0]
LEAVE = [None]
def measured_leave(names):
    gc.collect()
    BOOT[0] = gc.mem_alloc() - BASE
    LEAVE[0](names)
gc.collect()
BASE = gc.mem_alloc()
t0 = time.ticks_ms()
import main
gc.collect()
imported = gc.mem_alloc() - BASE
LEAVE[0] = main._leave
main._leave = measured_leave
from sunprint.store import OsFs
runner = main.main(fake, fs=OsFs(FLASH), board_path=BOARD, config_path=CONFIG,
                   fonts_dir=FONTS, clock=clock, wdt=wdt, neopixel=rig.neopixel,
                   esp32=rig.esp32, sleep_ms=no_wait, ticks_ms=TICKS_MS,
                   bus_sleep_ms=BLOCK_MS, run=False)
main._leave = LEAVE[0]
LEAVE[0] = None
vary(0)
gc.collect()
built = gc.mem_alloc() - BASE
peak = built if built > imported else imported
first = shown()
n = 0
while shown() == first and n < 10000:  # boot to the first frame on the panel
    clock.advance_ms(runner.step())
    n += 1
    vary(n)
    gc.collect()
    used = gc.mem_alloc() - BASE
    if used > peak:
        peak = used
boot_ms = time.ticks_diff(time.ticks_ms(), t0)
print("FIRST", n, first, shown(), clock.now() - START)
history = history_bytes()
end = clock.now() + SPAN_S
while clock.now() < end:
    clock.advance_ms(runner.step())
    n += 1
    vary(n)
    h = history_bytes()
    if h > history:
        history = h
    gc.collect()
    used = gc.mem_alloc() - BASE
    if used > peak:
        peak = used
print("PARTS", imported, built, "base", BASE, "model history", history)
# Where the unit's modules came from: the form must be what it says.
for name in unit_modules():
    path = getattr(sys.modules[name], "__file__", "")
    ok = ((FORM == "frozen" and not path.startswith("/"))
          or (FORM == "romfs" and path.startswith("/rom/"))
          or (FORM == "mpy" and path.startswith(IMAGE)))
    if not ok:
        raise SystemExit("FORM %s: %s came from %r" % (FORM, name, path))


def steady():
    app = runner.app
    log = app.samplelog
    # What each step did decides its kind: a screen update, a ledger save, a journal append or a
    # sample-log flush (file writes: MicroPython's open() makes a file object, on a unit with
    # LittleFS's cache buffer), or a plain sampling tick; bytes and counts per kind. A journal
    # append comes when the unsaved energy reaches persist_wh (10 Wh): every tick at 3.6 kW
    # and more, 1 tick in 12 at 320 W.
    kinds = {"tick": [0, 0], "screen": [0, 0], "persist": [0, 0], "journal": [0, 0],
             "log_flush": [0, 0]}
    limit = clock.now() + SPAN_S
    i = 0
    while clock.now() < limit:
        screen_at = app._next_screen
        writes = app.store.writes if app.store is not None else 0
        appends = app.store.appends if app.store is not None else 0
        flushes = log.flushes if log is not None else 0
        INSIDE[0] = 0
        gc.collect()  # a step's garbage (and the models') never piles up into a MemoryError
        gc.disable()
        METER[0] = True
        a0 = mem_current()
        wait = runner.step()  # the unit's own step, not the models' updates between steps
        used = mem_current() - a0 - INSIDE[0]
        METER[0] = False
        gc.enable()
        if app._next_screen != screen_at or app.session.refreshing:
            kind = "screen"
        elif app.store is not None and app.store.writes != writes:
            kind = "persist"
        elif app.store is not None and app.store.appends != appends:
            kind = "journal"
        elif log is not None and log.flushes != flushes:  # a file write (once per file: a new one)
            kind = "log_flush"
        else:
            kind = "tick"
        k = kinds[kind]
        k[0] += used
        k[1] += 1
        if kind == "tick" and used and k[0] == used:  # the first sampling tick that allocates
            print("TICK_ALLOC", used, "at", clock.now() - START, "s")
        clock.advance_ms(wait)
        i += 1
        vary(i)
    print("KINDS", json.dumps(kinds))
    return kinds


kinds = steady() if STEADY == "1" else {"tick": [0, 0], "screen": [0, 0], "journal": [0, 0]}
if runner.app.faults:
    print("FAULTS", runner.app.faults, runner.app.last_fault)
print("RESULT", peak, boot_ms, kinds["tick"][0], kinds["tick"][1], kinds["screen"][0],
      kinds["screen"][1], BOOT[0], kinds["journal"][0], kinds["journal"][1])
"""


def _sim_tree(tree):
    # The portable models only: host_tools/sim (and the package's __init__).
    sim = sorted((ROOT / "host_tools" / "sim").rglob("*.py"))
    sources = [(ROOT, ROOT / "host_tools" / "__init__.py"), *((ROOT, p) for p in sim)]
    # Host-only modules (the virtual board's agent, ...) may use what mpy-cross rejects.
    compile_mpy(tree_jobs(sources, tree), keep_going=True)


def _firmware_mpy(dest):
    fw = ROOT / "firmware"
    sources = [(fw, p) for p in sorted(fw.rglob("*.py")) if "__pycache__" not in p.parts]
    mp32.compile_files(sources, dest)


def _romfs_image(mpy_dir, dest):
    """An image of the .mpy tree, built by mpremote's builder (no .py in it: nothing for it
    to compile with another mpy-cross)."""
    from mpremote.romfs import make_romfs

    with contextlib.redirect_stdout(io.StringIO()):  # it lists every file it adds
        image = make_romfs(str(mpy_dir), mpy_cross=False)
    dest.write_bytes(image)
    return len(image)


def _boards():
    """The boards to run: BENCH_BOARDS (names, comma-separated) picks some; BENCH_QUICK: two."""
    pick = os.environ.get("BENCH_BOARDS")
    if pick:
        names = pick.split(",")
        return tuple(b for b in BOARDS if b[0] in names)
    return BOARDS[:2] if os.environ.get("BENCH_QUICK") else BOARDS


def _app_binary():
    """micropython32-app with this tree's firmware frozen in: tools/micropython.py rebuilds
    it when firmware/ or manifests/ changed (as `make setup` does), else does nothing."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "micropython.py")], capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise RuntimeError("tools/micropython.py: %s" % (proc.stderr or proc.stdout).strip())
    return mp32.MICROPYTHON32_APP


def _run(tmp, tree, form, image, board, span_s=None):
    flash = tmp / ("flash-%s-%s" % (form, board))
    flash.mkdir()
    script = tmp / "unit.py"
    args = [
        str(image),
        form,
        str(ROOT / "boards" / (board + ".json")),
        str(flash),
        str(ROOT / "assets" / "fonts"),
        str(tmp / "no-config.json"),
        str(SPAN_S if span_s is None else span_s),
        "1" if form == "frozen" and span_s is None else "0",
    ]
    binary = mp32.MICROPYTHON32_APP if form == "frozen" else mp32.MICROPYTHON32
    env = dict(os.environ, MICROPYPATH=os.pathsep.join([str(tree), ".frozen"]))
    cmd = [str(binary), "-X", "heapsize=%d" % HEAPSIZE, str(script), *args]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp)
    if os.environ.get("BENCH_VERBOSE"):
        print(board, form, "%.1f s wall" % (time.perf_counter() - t0), flush=True)
    for text in proc.stdout.splitlines():
        if text.startswith(
            ("PARTS ", "KINDS ", "FIRST ", "PRELOADED ", "FAULTS ", "TICK_ALLOC ")
        ) and (os.environ.get("BENCH_VERBOSE")):
            print(board, form, text)
        if text.startswith("RESULT ") and proc.returncode == 0:
            return tuple(int(x) for x in text.split()[1:])
    raise RuntimeError("%s %s: %s" % (board, form, (proc.stderr or proc.stdout).strip()[-400:]))


def measure(boards=None, forms=FORMS, span_s=None):
    """{(board, form): (peak, boot_ms, tick_bytes, ticks, screen_bytes, screens, boot_peak,
    journal_bytes, journal_appends)}
    and the ROMFS image's size. boards, forms, span_s: a part of the benchmark
    (tools/unit_heap.py), peaks only."""
    mp32.check()
    _app_binary()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "unit.py").write_text(_SCRIPT)
        tree = tmp / "host-mpy"
        _sim_tree(tree)
        mpy = tmp / "firmware-mpy"
        _firmware_mpy(mpy)
        image = tmp / "firmware.romfs"
        size = _romfs_image(mpy, image)
        images = {"frozen": tmp / "none", "romfs": image, "mpy": mpy}
        boards = [b for b, _ in _boards()] if boards is None else boards
        jobs = [(board, form) for board in boards for form in forms]
        # One VM per core: each run is one single-threaded process.
        workers = max(1, min(len(jobs), os.cpu_count() or 1))
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            futures = {
                job: pool.submit(_run, tmp, tree, job[1], images[job[1]], job[0], span_s)
                for job in jobs
            }
            results = {job: f.result() for job, f in futures.items()}
        return results, size


def _name(board):
    return board.replace("esp32-", "").replace("-", "_")


def bench_unit():
    try:
        results, size = measure()
    except (RuntimeError, mp32.MissingVM) as e:
        print("bench unit_heap_32bit: failed (%s)" % e, flush=True)
        return
    print("bench firmware_romfs_image: %.1f kB" % (size / 1000), flush=True)
    for board, goals in _boards():
        name = _name(board)
        for form in FORMS:
            peak = results[board, form][0]
            goal = goals.get(form)
            print(
                "bench unit_heap_%s_%s_32bit: %.1f kB%s"
                % (name, form, peak / 1000, " (goal <= %d)" % (goal // 1000) if goal else ""),
                flush=True,
            )
    for board, _goals in _boards():
        name = _name(board)
        for form in FORMS:
            print(
                "bench unit_boot_heap_%s_%s_32bit: %.1f kB"
                % (name, form, results[board, form][6] / 1000),
                flush=True,
            )
    for board, _goals in _boards():
        name = _name(board)
        _peak, boot_ms, alloc, ticks, screen_bytes, screens, _boot, jbytes, appends = results[
            board, "frozen"
        ]
        print(
            "bench unit_alloc_per_sampling_tick_%s_32bit: %.1f B (goal <= 0)"
            % (name, alloc / max(1, ticks)),
            flush=True,
        )
        print(
            "bench unit_alloc_per_screen_update_%s_32bit: %.0f B"
            % (name, screen_bytes / max(1, screens)),
            flush=True,
        )
        if appends:
            print(
                "bench unit_alloc_per_journal_append_%s_32bit: %.0f B" % (name, jbytes / appends),
                flush=True,
            )
        print("bench unit_boot_to_first_frame_%s_32bit: %d ms" % (name, boot_ms), flush=True)


if __name__ == "__main__":
    bench_unit()
