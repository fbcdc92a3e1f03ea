"""`make firmware BOARD=<profile>`: the unit's MicroPython image for a board profile, built with
ESP-IDF from Debian's MicroPython 1.26.1 source: the app frozen in (manifests/esp32.py, the
manifest the tests' 32-bit unix port freezes too), ROMFS on, and a romfs partition that
`sunprint deploy` writes app updates into (port/esp32/SUNPRINT). docs/firmware.md has the steps.

    python tools/firmware.py --board esp32-epd29-ina226 [--mpy-lib DIR]

Writes build/firmware/<profile>/firmware.bin (bootloader, partition table and app in one file,
for 0x1000: `sunprint flash` writes it) and its build folder beside it. A profile with
"psram": true gets the SPIRAM variant (the GC heap in PSRAM). What is missing (ESP-IDF, the
micropython-lib checkout that require("neopixel") reads) is one line on stderr, exit 2.
"""

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from host_tools import appid  # noqa: E402

BOARD_DIR = ROOT / "port" / "esp32" / "SUNPRINT"
MANIFEST = ROOT / "manifests" / "esp32.py"
OUT = ROOT / "build" / "firmware"
IDF_VERSIONS = "v5.2, v5.2.2, v5.3, v5.4, v5.4.1 or v5.4.2 (recommended)"  # ports/esp32/README.md


class Missing(Exception):
    """Something the build needs is not on this machine: exit 2 with one line."""


def _mpbuild():
    spec = importlib.util.spec_from_file_location("mpbuild", ROOT / "tools" / "micropython.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def profile_of(name):
    sys.path.insert(0, str(ROOT))
    from host_tools import boards
    from host_tools.errors import UserError

    if not name:
        raise Missing("BOARD=<profile> is needed: one of %s" % ", ".join(boards.board_names()))
    if name not in boards.board_names():
        raise Missing(
            "BOARD=%s: no such profile in boards/ (%s)" % (name, ", ".join(boards.board_names()))
        )
    try:
        profile = boards.load_board(name)
    except UserError as e:
        raise Missing(str(e)) from None
    if profile.get("chip", "ESP32") != "ESP32":
        raise Missing("BOARD=%s: chip %s, the firmware is for the ESP32" % (name, profile["chip"]))
    return profile


def check_idf():
    """ESP-IDF as its export.sh leaves the shell: IDF_PATH set, idf.py on PATH."""
    idf = os.environ.get("IDF_PATH")
    if not idf or not (Path(idf) / "tools" / "idf.py").is_file():
        raise Missing(
            "ESP-IDF not found (%s): install ESP-IDF %s and run `. $IDF_PATH/export.sh` in "
            "this shell first (docs/firmware.md); without it `make setup` builds the same "
            "manifest into the 32-bit unix port only"
            % ("IDF_PATH is not set" if not idf else "no tools/idf.py in IDF_PATH", IDF_VERSIONS)
        )
    if shutil.which("idf.py") is None:
        raise Missing("idf.py is not on PATH: run `. $IDF_PATH/export.sh` in this shell first")


def check_mpy_lib(path):
    """micropython-lib (Debian's +ds source leaves it out): the manifest requires neopixel."""
    if not path:
        raise Missing(
            "micropython-lib not given: clone https://github.com/micropython/micropython-lib "
            "at the commit MicroPython v1.26.1 pins (its lib/micropython-lib submodule) and "
            "pass MPY_LIB=<dir> (docs/firmware.md)"
        )
    lib = Path(path).resolve()
    if not (lib / "micropython" / "drivers" / "led" / "neopixel" / "manifest.py").is_file():
        raise Missing("MPY_LIB=%s: not a micropython-lib checkout (no neopixel driver)" % path)
    return lib


MP = _mpbuild()


def build(profile, mpy_lib):
    mp = MP
    subset = (*mp.SUBSET, "ports/esp32", "lib/berkeley-db-1.xx")
    src = mp.WORK / "src-esp32"
    mp.fetch_source(src, subset)
    if not (src / "mpy-cross" / "build" / "mpy-cross").exists():
        mp._make(["-C", str(src / "mpy-cross")], "make mpy-cross")
    port = src / "ports" / "esp32"
    out = OUT / profile["name"]
    build_dir = out / "build"
    variant = ["-D", "MICROPY_BOARD_VARIANT=SPIRAM"] if profile.get("psram") else []
    idf = [
        "idf.py",
        "-D",
        "MICROPY_BOARD=SUNPRINT",
        "-D",
        "MICROPY_BOARD_DIR=%s" % BOARD_DIR,
        "-D",
        "MICROPY_FROZEN_MANIFEST=%s" % MANIFEST,
        "-D",
        "MICROPY_LIB_DIR=%s" % mpy_lib,
        *variant,
        "-B",
        str(build_dir),
        "build",
    ]
    print("firmware: building %s (%s)" % (profile["name"], " ".join(idf)), flush=True)
    # the app's identity, frozen beside it (manifests/app.py, host_tools/appid.py)
    env = dict(os.environ)
    env[appid.ENV] = str(appid.write_module(ROOT / "firmware", out / "appid").parent)
    subprocess.run(idf, cwd=port, check=True, env=env)
    # ports/esp32/Makefile's last step: bootloader, table and app in one image for 0x1000
    parts = ("bootloader/bootloader.bin", "partition_table/partition-table.bin", "micropython.bin")
    subprocess.run(
        [
            sys.executable,
            "makeimg.py",
            str(build_dir / "sdkconfig"),
            *(str(build_dir / p) for p in parts),
            str(out / "firmware.bin"),
            str(out / "micropython.uf2"),
        ],
        cwd=port,
        check=True,
    )
    return out / "firmware.bin"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--board", default="", help="board profile in boards/ (BOARD=)")
    ap.add_argument(
        "--mpy-lib",
        default=os.environ.get("MPY_LIB", ""),
        help="a micropython-lib checkout (MPY_LIB=)",
    )
    args = ap.parse_args(argv)
    try:
        profile = profile_of(args.board)
        check_idf()
        mpy_lib = check_mpy_lib(args.mpy_lib)
    except Missing as e:
        print("make firmware: %s" % e, file=sys.stderr)
        return 2
    try:
        image = build(profile, mpy_lib)
    except subprocess.CalledProcessError as e:
        print("make firmware: %s failed (exit %d)" % (e.cmd[0], e.returncode), file=sys.stderr)
        return 1
    except MP.BuildError as e:
        print("make firmware: %s" % e, file=sys.stderr)
        return 1
    print("firmware: %s (%d bytes): sunprint flash writes it" % (image, image.stat().st_size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
