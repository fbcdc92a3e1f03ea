"""The 32-bit MicroPython VM the firmware tests and the benchmarks run on, and what they share.

`make setup` (tools/micropython.py) builds MicroPython's unix port as a 32-bit binary like the
ESP32's, from the pinned source: small ints are 31-bit there, so an integer at or above 2**30
is a heap object, as on the unit. Two images and the cross-compiler of the same version:

  MICROPYTHON32      stock image: asyncio frozen, the app loaded from .mpy files or ROMFS
  MICROPYTHON32_APP  the same with the app frozen (manifests/app.py): `import main` and
                     `import sunprint` come from the image
  MPY_CROSS32        mpy-cross of the same version, for the .mpy files both load

The 64-bit pip port (`micropython` beside the venv's python) stays where the 32-bit build adds
nothing: replay --micropython and the speed peers. The virtual board runs these two (vboard.py).
"""

import os
import subprocess
from pathlib import Path

from host_tools.paths import MICROPYTHON32, MICROPYTHON32_APP, MPY_CROSS32

ROOT = Path(__file__).resolve().parents[1]
HEAPSIZE = 110000  # bytes of GC heap: about what an ESP32 without PSRAM gives MicroPython

_VERSION = None


class MissingVM(RuntimeError):
    pass


def check():
    """Raise MissingVM naming what is missing and how to build it."""
    for path in (MICROPYTHON32, MICROPYTHON32_APP, MPY_CROSS32):
        if not path.exists():
            raise MissingVM("%s is missing: run `make setup` (tools/micropython.py)" % path)


def version():
    """e.g. 'MicroPython 1.26.1, 32-bit unix port': asked of the binary itself, once."""
    global _VERSION
    if _VERSION is None:
        check()
        code = "import sys;print('%d.%d.%d' % sys.implementation.version[:3], sys.maxsize)"
        out = subprocess.run(
            [str(MICROPYTHON32), "-c", code], capture_output=True, text=True, check=True
        ).stdout.split()
        bits = 32 if int(out[1]) == 2**31 - 1 else 64
        _VERSION = "MicroPython %s, %d-bit unix port" % (out[0], bits)
    return _VERSION


def compile_files(sources, dest, strip_paths=True):
    """(base, path) pairs compiled to dest/<path relative to base>.mpy with MPY_CROSS32.

    Raises RuntimeError with mpy-cross's message for a file it rejects.
    """
    from host_tools.mpycompile import compile_mpy, tree_jobs

    compile_mpy(tree_jobs(sources, dest, strip_paths))


def firmware_and(*host_files):
    """firmware/**/*.py and the named host_tools files (paths from the repository root), as
    (base, path) pairs for compile_files: the import tree a bench script runs against."""
    fw = ROOT / "firmware"
    sources = [(fw, p) for p in sorted(fw.rglob("*.py")) if "__pycache__" not in p.parts]
    names = ["host_tools/__init__.py"]
    for f in host_files:  # each package's __init__ on the way down to the file
        parts = f.split("/")[:-1]
        for i in range(2, len(parts) + 1):
            init = "/".join(parts[:i]) + "/__init__.py"
            if init not in names:
                names.append(init)
    names += [f for f in host_files if f not in names]
    sources += [(ROOT, ROOT / f) for f in names]
    return sources


def run(script, tree, cwd, heapsize=HEAPSIZE, binary=None, args=(), timeout=600):
    """Run a script (its text) in the 32-bit VM with `tree` (.mpy files) on its path; its
    stdout. Raises RuntimeError with the VM's traceback when it fails."""
    check()
    path = Path(cwd) / "bench_script.py"
    path.write_text(script)
    env = dict(os.environ, MICROPYPATH=os.pathsep.join([str(tree), ".frozen"]))
    proc = subprocess.run(
        [str(binary or MICROPYTHON32), "-X", "heapsize=%d" % heapsize, str(path), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            "micropython32 failed (exit %d):\n%s\n%s"
            % (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
        )
    return proc.stdout


# "What a loop allocates", for every allocation bench and test that runs a script in the VM:
# pasted at the top of the script. alloc_of(loop, n) runs loop(warm) first (first-call caches,
# lazily made buffers), then loop(n) with the collector off, and returns the bytes of heap
# blocks (gc.mem_alloc(), as on the ESP32) that it allocated per operation. loop keeps its
# counters in locals: a new global bound while measuring would grow the globals dict and count.
ALLOC_OF = """
import gc


def alloc_of(loop, n, warm=10):
    loop(warm)
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    loop(n)
    used = gc.mem_alloc() - before
    gc.enable()
    return used / n
"""
