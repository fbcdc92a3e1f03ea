"""Build MicroPython's unix port as a 32-bit binary, like the ESP32's, from Debian's source
package: once without the app (a stock image) and once with the app frozen by manifests/.

    python tools/micropython.py            # both binaries, rebuilt only when out of date
    python tools/micropython.py --check    # exit 1 if the app binary is older than firmware/

Where MicroPython's source comes from: Debian's `micropython` source package 1.26.1+ds-1
(forky/sid), its upstream tarball `micropython_1.26.1+ds.orig.tar.xz`, checked against the
sha256 that Debian's signed .dsc lists. 1.26 is the oldest release the firmware runs on: its
fonts and icons are blitted from read-only bytes, which framebuf accepts since 1.26 (1.25
raises TypeError). If Debian's archive drops this version, take the version it carries and
the sha256 from its .dsc. The "+ds" tarball is upstream v1.26.1 with some
third-party submodules left out; the unix port needs none of them with the options below
(no FFI, no btree, no TLS), and micropython-lib is not used by our manifests, so its empty
folder only gets the README the build checks for.

What is built (under .venv/micropython/, never committed):
  mpy-cross                      the cross-compiler of the same version (freezing needs it)
  build-base/micropython         32-bit unix port, asyncio frozen (manifests/unix_base.py)
  build-app/micropython          the same with the app frozen (manifests/unix.py)
The binaries are linked to .venv/bin/micropython32 and .venv/bin/micropython32-app.
Both carry one module of the project's own, port/unix/modules/vboardsig (C), for the virtual
board's agent (host_tools/sim/board/vboard_agent.py): its Ctrl-C signal (sim/board/vboard_launch.py) and
its import hook (relative imports resolved against the importer's globals); the agent hides it
from the board's code, and it takes no heap.

Needs gcc with 32-bit support (Debian's gcc-multilib); `make setup` installs it where missing.
"""

import argparse
import hashlib
import lzma
import os
import shutil
import subprocess
import sys
import tarfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from host_tools import appid  # noqa: E402

VENV = ROOT / ".venv"
WORK = VENV / "micropython"
SRC = WORK / "src"
TARBALL = "micropython_1.26.1+ds.orig.tar.xz"
URL = "http://deb.debian.org/debian/pool/main/m/micropython/micropython_1.26.1%2Bds.orig.tar.xz"
SHA256 = "f5ad2ec89d3e921f753d448955af98b6005655f84ba26087dde6ba0e8d062f34"
VERSION = "1.26.1"
# The parts of the source tree the unix port and mpy-cross need.
SUBSET = (
    "LICENSE",
    "py",
    "extmod",
    "shared",
    "drivers",
    "tools",
    "mpy-cross",
    "ports/unix",
    "lib/littlefs",
    "lib/oofatfs",
    "lib/re1.5",
    "lib/uzlib",
    "lib/crypto-algorithms",
    "lib/libm",
    "lib/libm_dbl",
    "lib/mbedtls_errors",
)
MAKE_OPTIONS = (
    "VARIANT=standard",
    "MICROPY_FORCE_32BIT=1",
    "MICROPY_PY_FFI=0",
    "MICROPY_PY_BTREE=0",
    "MICROPY_PY_SSL=0",
    "MICROPY_SSL_MBEDTLS=0",
)
USER_MODULES = ROOT / "port" / "unix" / "modules"


class BuildError(Exception):
    pass


def fetch_source(src=SRC, subset=SUBSET):
    """The source subset in src, downloaded and checked once (tools/firmware.py takes a
    larger subset, with ports/esp32, into a folder of its own)."""
    stamp = src / ".source-sha256"
    if stamp.exists() and stamp.read_text().strip() == SHA256:
        return
    WORK.mkdir(parents=True, exist_ok=True)
    archive = WORK / TARBALL
    if not archive.exists() or _sha256(archive) != SHA256:
        print("micropython: downloading %s from Debian" % TARBALL, flush=True)
        tmp = archive.with_suffix(".part")
        try:
            with urllib.request.urlopen(URL, timeout=120) as r, open(tmp, "wb") as f:
                shutil.copyfileobj(r, f)
        except OSError as e:
            raise BuildError("cannot download %s: %s" % (URL, e)) from None
        got = _sha256(tmp)
        if got != SHA256:
            tmp.unlink()
            raise BuildError("%s: sha256 %s, expected %s" % (TARBALL, got, SHA256))
        tmp.replace(archive)
    if src.exists():
        shutil.rmtree(src)
    top = "micropython-%s/" % VERSION
    wanted = tuple(top + p for p in subset)
    with lzma.open(archive) as xz, tarfile.open(fileobj=xz) as tar:
        members = [
            m
            for m in tar.getmembers()
            if any(m.name == w or m.name.startswith(w + "/") for w in wanted)
        ]
        for m in members:
            m.name = m.name[len(top) :]
        tar.extractall(src, members=members, filter="data")
    readme = src / "lib" / "micropython-lib" / "README.md"
    readme.parent.mkdir(parents=True, exist_ok=True)
    readme.write_text(
        "Not used: the manifests in manifests/ freeze nothing from micropython-lib.\n"
    )
    stamp.write_text(SHA256 + "\n")


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _make(args, what):
    jobs = "-j%d" % max(1, os.cpu_count() or 1)
    proc = subprocess.run(["make", jobs, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise BuildError("%s failed: %s" % (what, " | ".join(tail)))


def _inputs_hash(manifest):
    """sha256 over what a frozen build depends on: the manifests and the firmware sources."""
    h = hashlib.sha256(SHA256.encode())
    files = sorted((ROOT / "manifests").glob("*.py"))
    files += sorted(p for p in USER_MODULES.rglob("*") if p.is_file())
    if manifest == "unix.py":
        files += sorted((ROOT / "firmware").rglob("*.py"))
    for p in files:
        if "__pycache__" in p.parts:
            continue
        h.update(p.relative_to(ROOT).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def build_port(name, manifest):
    """ports/unix built into build-<name> with manifests/<manifest>, when its inputs changed."""
    out = SRC / "ports" / "unix" / ("build-" + name) / "micropython"
    stamp = out.parent / ".inputs-sha256"
    want = _inputs_hash(manifest)
    if out.exists() and stamp.exists() and stamp.read_text().strip() == want:
        return out, False
    print("micropython: building the 32-bit unix port (%s)" % name, flush=True)
    if manifest == "unix.py":  # the app's identity frozen beside it (host_tools/appid.py)
        os.environ[appid.ENV] = str(
            appid.write_module(ROOT / "firmware", out.parent / "appid").parent
        )
    _make(
        [
            "-C",
            str(SRC / "ports" / "unix"),
            *MAKE_OPTIONS,
            "BUILD=build-" + name,
            "USER_C_MODULES=" + str(USER_MODULES),
            "FROZEN_MANIFEST=" + str(ROOT / "manifests" / manifest),
        ],
        "make ports/unix (%s)" % name,
    )
    stamp.write_text(want + "\n")
    return out, True


def build():
    fetch_source()
    if not (SRC / "mpy-cross" / "build" / "mpy-cross").exists():
        print("micropython: building mpy-cross %s" % VERSION, flush=True)
        _make(["-C", str(SRC / "mpy-cross")], "make mpy-cross")
    for name, manifest, link in (
        ("base", "unix_base.py", "micropython32"),
        ("app", "unix.py", "micropython32-app"),
    ):
        out, _ = build_port(name, manifest)
        target = VENV / "bin" / link
        if target.is_symlink() or target.exists():
            target.unlink()
        target.symlink_to(os.path.relpath(out, target.parent))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if a binary is out of date")
    args = ap.parse_args(argv)
    if args.check:
        for name, manifest in (("base", "unix_base.py"), ("app", "unix.py")):
            stamp = SRC / "ports" / "unix" / ("build-" + name) / ".inputs-sha256"
            if not stamp.exists() or stamp.read_text().strip() != _inputs_hash(manifest):
                print("micropython: %s binary is out of date" % name)
                return 1
        return 0
    try:
        build()
    except BuildError as e:
        print("micropython: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
