"""`make firmware BOARD=<profile>` (tools/firmware.py) and the unit firmware's manifest.

Without ESP-IDF the build says what is needed in one line and exits 2; the same manifest
(manifests/esp32.py, included by manifests/unix.py) is what the 32-bit unix port the tests run
freezes; the board's partition table has a romfs partition where deploy expects it.
"""

import csv
import os
import subprocess
import sys

from host_tools.paths import FIRMWARE, ROOT
from host_tools.sim.board.vboard import ROMFS_BYTES

sys.path.insert(0, str(ROOT / "tests"))

import mp32  # noqa: E402


def make_firmware(*args, env=None):
    return subprocess.run(
        [sys.executable, str(ROOT / "tools" / "firmware.py"), *args],
        capture_output=True,
        text=True,
        env=dict(os.environ) if env is None else env,
    )


def test_without_esp_idf_it_says_what_is_needed_and_exits_2():
    env = {k: v for k, v in os.environ.items() if k != "IDF_PATH"}
    proc = make_firmware("--board", "esp32-epd29-ina226", env=env)
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "ESP-IDF not found" in lines[0] and "IDF_PATH" in lines[0]
    assert "docs/firmware.md" in lines[0]


def test_an_esp_idf_path_without_idf_py_is_named(tmp_path):
    env = dict(os.environ, IDF_PATH=str(tmp_path))
    proc = make_firmware("--board", "esp32-epd29-ina226", env=env)
    assert proc.returncode == 2 and "no tools/idf.py in IDF_PATH" in proc.stderr


def test_a_board_that_is_not_a_profile_is_refused_before_anything_else():
    for args in (["--board", "nope"], ["--board", "../boards/esp32-epd29"], []):
        proc = make_firmware(*args)
        assert proc.returncode == 2, args
        assert len(proc.stderr.strip().splitlines()) == 1
        assert "esp32-epd29-ina226" in proc.stderr  # the profiles there are, listed


def test_micropython_lib_is_checked_once_esp_idf_is_there(tmp_path):
    idf = tmp_path / "idf"
    (idf / "tools").mkdir(parents=True)
    (idf / "tools" / "idf.py").write_text("")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "idf.py").write_text("#!/bin/sh\nexit 1\n")
    (bin_dir / "idf.py").chmod(0o755)
    env = dict(os.environ, IDF_PATH=str(idf), PATH=str(bin_dir) + os.pathsep + os.environ["PATH"])
    env.pop("MPY_LIB", None)
    proc = make_firmware("--board", "esp32-epd29-ina226", env=env)
    assert proc.returncode == 2 and "micropython-lib not given" in proc.stderr
    proc = make_firmware("--board", "esp32-epd29-ina226", "--mpy-lib", str(tmp_path), env=env)
    assert proc.returncode == 2 and "not a micropython-lib checkout" in proc.stderr


def test_the_unix_port_freezes_the_unit_firmwares_manifest():
    unix = (ROOT / "manifests" / "unix.py").read_text()
    assert 'include("esp32.py", port="unix")' in unix
    esp32 = (ROOT / "manifests" / "esp32.py").read_text()
    assert 'include("app.py")' in esp32 and "asyncio" in esp32
    # micropython32-app was built from it: the app is among its frozen modules
    subprocess.run([sys.executable, str(ROOT / "tools" / "micropython.py")], check=True)
    code = "import sys\nsys.path[:] = ['.frozen']\nimport sunprint, main\nprint(sunprint.VERSION)"
    out = subprocess.run(
        [str(mp32.MICROPYTHON32_APP), "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    version = (FIRMWARE / "sunprint" / "__init__.py").read_text().split('VERSION = "')[1]
    assert out == [version.split('"')[0]]
    stock = subprocess.run([str(mp32.MICROPYTHON32), "-c", code], capture_output=True, text=True)
    assert stock.returncode != 0 and "ImportError" in stock.stdout + stock.stderr


def test_the_partition_table_has_the_romfs_partition_deploy_and_the_vboard_use():
    path = ROOT / "port" / "esp32" / "SUNPRINT" / "partitions-4MiB-romfs.csv"
    rows = [
        [c.strip() for c in r]
        for r in csv.reader(path.read_text().splitlines())
        if r and not r[0].startswith("#")
    ]
    parts = {r[0]: (r[1], r[2], int(r[3], 16), int(r[4], 16)) for r in rows}
    assert parts["romfs"] == ("data", "0x8f", 0x1C0000, ROMFS_BYTES)
    assert parts["factory"][0] == "app" and parts["factory"][2] % 0x10000 == 0
    spans = sorted((off, off + size) for _, _, off, size in parts.values())
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))  # no overlap
    assert spans[-1][1] == 0x200000  # the file system ("vfs") takes the rest of 4 MiB
    header = (ROOT / "port" / "esp32" / "SUNPRINT" / "mpconfigboard.h").read_text()
    assert "#define MICROPY_VFS_ROM (1)" in header
