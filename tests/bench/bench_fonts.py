"""Font and rendering benchmarks, measured inside the 32-bit MicroPython unix port (ESP32-sized
heap; tests/mp32.py).

- cjk_font_ram_32bit: heap taken by one open BitmapFont on the committed CJK font
  (assets/fonts/cjk16.bin), the file object included; peer: the heap taken by importing the
  same glyphs made by Peter Hinch's font_to_py (a Python module of bytes, compiled to .mpy);
- cjk_font_file: bytes of cjk16.bin; peer: the .mpy of font_to_py's module for the same
  characters at the same cell height (what a unit would store), both measured in this run;
- ui_heap_32bit_<panel>: heap in use (after a collection) with the UI modules, the
  panel's fonts open, its frame buffer, after drawing each of its screens: the most of those.
  every panel in the ESP32-sized heap (800x480's 48 kB frame did not fit on the 64-bit port);
- render_alloc_32bit_per_char: heap allocated per character drawn by Renderer.render()
  after the first frame, over every screen of every panel size in each of its languages;
  render_alloc_32bit_per_frame: the most any one of those frames allocated.

    .venv/bin/python tests/bench/bench_fonts.py
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for _p in (str(ROOT), str(ROOT / "tests")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import mp32  # noqa: E402

from host_tools.paths import FIRMWARE, FONTS  # noqa: E402

BIN = Path(sys.executable).parent
MICROPYTHON = mp32.MICROPYTHON32
MPY_CROSS = mp32.MPY_CROSS32
HEAPSIZE = mp32.HEAPSIZE
CJK = "cjk16.bin"


from timing import line as _line  # noqa: E402 - tests/bench/timing.py


def _compile_tree(dest, sources):
    """.mpy of every .py under each (base, folder) into dest, as a unit deploys them."""
    for base, folder in sources:
        for path in sorted(Path(folder).rglob("*.py")):
            out = Path(dest) / path.relative_to(base).with_suffix(".mpy")
            out.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                [str(MPY_CROSS), "-o", str(out), str(path)],
                check=True,
                capture_output=True,
            )


def _micropython(script, tree, cwd, heapsize=HEAPSIZE, binary=MICROPYTHON):
    """Run `script` (compiled to .mpy first, as a unit would) in MicroPython; its stdout. The
    modules come from `tree` (.mpy files), then from what `binary` has frozen."""
    path = Path(cwd) / "bench_script.py"
    path.write_text(script, encoding="utf-8")
    subprocess.run(
        [str(MPY_CROSS), "-o", str(tree / "bench_script.mpy"), str(path)],
        check=True,
        capture_output=True,
    )
    env = dict(os.environ, MICROPYPATH=os.pathsep.join([str(tree), ".frozen"]))
    proc = subprocess.run(
        [str(binary), "-X", "heapsize=%d" % heapsize, "-m", "bench_script"],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=600,
    )
    if proc.returncode != 0:
        raise RuntimeError("micropython failed:\n%s\n%s" % (proc.stdout, proc.stderr))
    return proc.stdout


_FONT_RAM = """
import gc
from sunprint.ui.font import BitmapFont

path = %r
font = None
before = 0
gc.collect()
before = gc.mem_alloc()
font = BitmapFont(path)
gc.collect()
print(gc.mem_alloc() - before)
font.close()
"""

_IMPORT_RAM = """
import gc

mod = None
before = 0
gc.collect()
before = gc.mem_alloc()
import ftp_cjk16 as mod
gc.collect()
print(gc.mem_alloc() - before)
"""

_RENDER_ALLOC = """
import gc

CASE = %r
BIG = bytearray((CASE[0] + 7) // 8 * CASE[1])  # first, as a unit does at boot
import framebuf
from sunprint.ui.font import BitmapFont
from sunprint.ui.layout import LABELS, fonts_for, screen_for, screen_names
from sunprint.ui.render import Renderer

FONTS = %r
VALUES = %r


def chars_drawn(screen, values, lang):
    n = 0
    for kind, x, y, role, align, arg in screen:
        if kind in ("label", "field"):
            v = LABELS[arg] if kind == "label" else values[arg]
            if type(v) is not tuple:
                n += len(v)
            elif lang == "en":
                n += len(v[0])
            elif lang == "zh":
                n += len(v[1])
            else:
                n += len(v[0]) + len(v[1])
        elif kind == "text":
            n += len(arg)
        elif kind in ("value", "number", "unit"):
            n += len(values[arg][0]) + len(values[arg][1])
    return n


def measure(r, values):
    r.render(values)
    gc.collect()
    gc.disable()
    a = gc.mem_alloc()
    r.render(values)
    b = gc.mem_alloc()
    gc.enable()
    return b - a


total = 0
chars = 0
worst = 0
frames = 0
peak = 0
for width, height, langs in (CASE,):
    fonts = {}
    for role, name in fonts_for(width, height).items():
        fonts[role] = BitmapFont(FONTS + "/" + name)
    buf = BIG
    fb = framebuf.FrameBuffer(buf, width, height, framebuf.MONO_HLSB)
    r = Renderer(fb, buf, width, height, fonts, None)
    for name in screen_names(width, height):
        for lang in langs:
            r.show(name, lang)
            r.render(VALUES)  # the first frame fills the font caches
            used = measure(r, VALUES)
            total += used
            worst = max(worst, used)
            chars += chars_drawn(r.screen, VALUES, lang)
            frames += 1
            gc.collect()
            peak = max(peak, gc.mem_alloc())
    for f in fonts.values():
        f.close()
    fonts = None
    r = None
    fb = None
    buf = None
    gc.collect()
print(total, chars, worst, frames, peak)
"""


def bench_fonts():
    from host_tools.screens import SAMPLE, languages, panels

    sys.path.insert(0, str(ROOT / "tools"))
    import make_fonts

    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "mpy"
        _compile_tree(tree, [(FIRMWARE, FIRMWARE)])
        work = Path(tmp) / "work"
        work.mkdir()

        # font_to_py, the same characters at the cell height of cjk16.bin
        chars = make_fonts.FONTS["cjk16"][2]
        (work / "chars.txt").write_text(chars, encoding="utf-8")
        ttf = make_fonts.ttf_path(make_fonts.NOTO_SC)
        height = (FONTS / CJK).read_bytes()[5]
        subprocess.run(
            [str(BIN / "font_to_py"), "-x", "-k", "chars.txt", str(ttf), str(height)]
            + ["ftp_cjk16.py"],
            cwd=work,
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [str(MPY_CROSS), "-o", str(tree / "ftp_cjk16.mpy"), "ftp_cjk16.py"],
            cwd=work,
            check=True,
            capture_output=True,
        )
        peer_file = (tree / "ftp_cjk16.mpy").stat().st_size

        ram = int(_micropython(_FONT_RAM % str(FONTS / CJK), tree, work).strip())
        peer_ram = int(_micropython(_IMPORT_RAM, tree, work).strip())
        _line(
            "cjk_font_ram_32bit",
            ram,
            "B",
            "<= 2048",
            ("font_to_py_import", peer_ram, "B"),
        )
        _line(
            "cjk_font_file",
            (FONTS / CJK).stat().st_size,
            "B",
            None,
            ("font_to_py", peer_file, "B"),
        )

        total = nchars = worst = frames = 0
        heap = {}
        # The screens are drawn by the app as the unit image holds it: frozen (issue 13; the
        # 7.5" unit fits only that way). From .mpy files the 800x480 case, with every screen's
        # module and its 48 kB frame, no longer fits an ESP32 heap once the community screens
        # joined; the unit never loads them so.
        script_dir = Path(tmp) / "script"
        script_dir.mkdir()
        for w, h in panels():  # one process per panel size, as one unit has one panel
            case = (w, h, languages(w, h))
            script = _RENDER_ALLOC % (case, str(FONTS), SAMPLE)
            # Every panel in the ESP32-sized heap, 800x480's 48 kB frame too (on the 64-bit
            # port, with larger objects, it did not fit).
            out = _micropython(script, script_dir, work, binary=mp32.MICROPYTHON32_APP)
            t, c, m, f, p = (int(v) for v in out.split())
            total, nchars, worst, frames = total + t, nchars + c, max(worst, m), frames + f
            heap["%dx%d" % (w, h)] = p
        for panel, used in heap.items():
            _line("ui_heap_32bit_%s" % panel, used, "B", "<= %d" % HEAPSIZE)
        _line(
            "render_alloc_32bit_per_char",
            "%g" % (total / nchars),
            "B/char",
            "== 0",
        )
        _line("render_alloc_32bit_per_frame", worst, "B", "== 0")
        return {"chars": nchars, "frames": frames}


if __name__ == "__main__":
    counts = bench_fonts()
    print("(%(chars)d characters drawn in %(frames)d frames)" % counts)
