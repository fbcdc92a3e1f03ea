"""`sunprint deploy` by what the unit runs (issue 13, item 3), on the virtual board in each of
its firmware kinds: a stock image, the app frozen in, a romfs partition, and the project's
image (both). The ROMFS path is checked with the real mpremote (`mpremote romfs query` and
`deploy` against the virtual board) and by reading the partition back from the board's flash.
"""

import shutil
import subprocess
import sys

import pytest

from host_tools import deploy
from host_tools.cli import main as cli_main
from host_tools.errors import UserError
from host_tools.link import LinkLost, open_link
from host_tools.paths import ROOT
from host_tools.sim.board.vboard import ROMFS_BYTES, VirtualBoard

sys.path.insert(0, str(ROOT / "tests" / "host"))
from test_deploy import (  # noqa: E402
    BOARD,
    HEAP,
    built,
    flash_app,
    running_status,
    set_version,
    unit_info,
)

sys.path.insert(0, str(ROOT / "tests" / "bench"))
from bench_deploy import Relay, change_one_file, firmware_copy  # noqa: E402

PARTITION = ".romfs-partition"  # host_tools/sim/board/vboard_agent.py ROMFS_FILE


@pytest.fixture(scope="module")
def fw(tmp_path_factory):
    """The app to deploy: firmware/ with VERSION 2.0-test."""
    dest = firmware_copy(tmp_path_factory.mktemp("fw") / "firmware")
    set_version(dest, "2.0-test")
    return dest


@pytest.fixture(scope="module")
def old_fw(tmp_path_factory):
    """What an older image has frozen in: firmware/ with VERSION 1.0-old."""
    dest = firmware_copy(tmp_path_factory.mktemp("old") / "firmware")
    set_version(dest, "1.0-old")
    return dest


def board(tmp_path, firmware, app_dir=None, heap=HEAP):
    kw = {"app_dir": app_dir} if app_dir is not None else {}
    vb = VirtualBoard(tmp_path / "flash", board=BOARD, heap=heap, firmware=firmware, **kw)
    vb.port = vb.serve_pty()
    return vb


def probe(port):
    with open_link(port) as link:
        return deploy.unit_firmware(link)


def code_file(port):
    """Where the unit loads the app's code from after boot.py (a soft reset)."""
    with open_link(port) as link:
        return link.eval("__import__('sunprint').__file__")


def mpremote(port, *args):
    proc = subprocess.run(
        [sys.executable, "-m", "mpremote", "connect", port, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc.stdout


def app_image(fw):
    """The ROMFS image deploy builds for fw: mpremote's builder over the app's .mpy files."""
    from host_tools import boards

    files = deploy.build(boards.load_board(BOARD), deploy.mpy_cross_version(), fw)
    return deploy.romfs_image({p: b for p, b in files.items() if p.endswith(".mpy")})


# -- what the unit runs ------------------------------------------------------------------------


def test_deploy_tells_the_three_kinds_of_firmware_apart(tmp_path, old_fw):
    want = {
        "stock": (False, 0, None),
        "frozen": (True, 0, "1.0-old"),
        "romfs": (True, ROMFS_BYTES, None),
        "unit": (True, ROMFS_BYTES, "1.0-old"),
    }
    for kind, (_, romfs, frozen) in want.items():
        with board(tmp_path / kind, kind, app_dir=old_fw) as vb:
            fw_info = probe(vb.port)
        assert (fw_info["rom_ioctl"], fw_info["romfs"], fw_info["frozen"]) == want[kind], kind
        assert fw_info["heap"] >= HEAP
        text = deploy.describe(fw_info)
        assert ("romfs" in text) == bool(romfs) and ("frozen" in text) == bool(frozen), text


def test_the_probe_leaves_the_deployed_app_first(tmp_path, fw, old_fw):
    # A unit whose frozen app is older than the ROMFS one: the probe sees the frozen version,
    # and after it the unit still imports the deployed app.
    with board(tmp_path, "unit", app_dir=old_fw) as vb:
        deploy.deploy(vb.port, BOARD, firmware_dir=fw, restart=False)
        with open_link(vb.port) as link:
            assert deploy.unit_firmware(link)["frozen"] == "1.0-old"
            out = link.exec("import sunprint\nprint(sunprint.VERSION, sunprint.__file__)")
        assert out.decode().split() == ["2.0-test", "/rom/sunprint/__init__.mpy"]


# -- a stock image ------------------------------------------------------------------------------


def test_a_stock_image_that_cannot_hold_the_app_is_refused_in_one_line(tmp_path, fw, capsys):
    figures = deploy.heap_figures()
    peak = figures["peak_bytes"][BOARD]["mpy"]
    assert peak > figures["heap_bytes"]["esp32"] - figures["reserve_bytes"]  # the measured fact
    with board(tmp_path, "stock", heap=110000) as vb:
        before = sorted(p.name for p in vb.flash_dir.iterdir())
        code = cli_main(["deploy", "--port", vb.port, "--board", BOARD, "--no-progress"])
        err = capsys.readouterr().err.strip()
        assert code == 2
        assert len(err.splitlines()) == 1, err
        assert BOARD in err and "stock MicroPython image" in err
        assert "make firmware BOARD=%s" % BOARD in err and "%.1f kB" % (peak / 1000) in err
        assert sorted(p.name for p in vb.flash_dir.iterdir()) == before  # nothing written


def test_a_stock_image_with_room_gets_mpy_files(tmp_path, fw):
    # HEAP (400 KB) holds the .mpy form's measured peak with the reserve to spare.
    with board(tmp_path, "stock") as vb:
        s = deploy.deploy(vb.port, BOARD, firmware_dir=fw, restart=False)
        assert s["form"] == "mpy" and s["unit_firmware"] == "a stock MicroPython image"
        name, files = flash_app(vb.flash_dir)
        assert files == built(fw) and "main.mpy" in files
        assert code_file(vb.port) == "/app/%s/sunprint/__init__.mpy" % name


# -- the app frozen in ---------------------------------------------------------------------------


def test_a_frozen_app_of_the_same_version_gets_only_profile_and_fonts(tmp_path, fw):
    with board(tmp_path, "frozen", app_dir=fw) as vb:
        s = deploy.deploy(vb.port, BOARD, firmware_dir=fw, restart=False)
        assert s["form"] == "frozen"
        name, files = flash_app(vb.flash_dir)
        assert sorted(files) == sorted(p for p in built(fw) if not p.endswith(".mpy"))
        assert "board.json" in files and any(p.startswith("fonts/") for p in files)
        assert not list(vb.flash_dir.rglob("*.mpy"))
        assert s["payload_bytes"] < 100000  # fonts and the profile, no code
        info = unit_info(vb.port)
        assert info["firmware"] == "2.0-test" and info["app"] == "/app/" + name
        where = code_file(vb.port)
        assert not where.startswith(("/app", "/rom")), where  # the frozen modules


def test_a_frozen_app_of_the_same_version_but_another_build_is_not_taken_for_it(tmp_path, fw):
    """A VERSION does not name a build: the unit's frozen app is fw with one file changed and
    VERSION unchanged. Deploying fw puts the app into the romfs partition (not "frozen", which
    would leave the unit running the other build), and says which build the unit has."""
    from host_tools import appid

    other = firmware_copy(tmp_path / "other" / "firmware")
    set_version(other, "2.0-test")
    change_one_file(other)
    with board(tmp_path, "unit", app_dir=other) as vb:
        fw_info = probe(vb.port)
        assert fw_info["frozen"] == "2.0-test"
        assert fw_info["frozen_id"] == appid.frozen_app_id(other) != appid.frozen_app_id(fw)
        s = deploy.deploy(vb.port, BOARD, firmware_dir=fw, restart=False)
        assert s["form"] == "romfs", s
        assert "not this checkout's %s" % appid.frozen_app_id(fw) in s["unit_firmware"]


def test_a_frozen_app_of_another_version_without_romfs_is_refused(tmp_path, fw, old_fw, capsys):
    with board(tmp_path, "frozen", app_dir=old_fw, heap=110000) as vb:
        code = cli_main(["deploy", "--port", vb.port, "--board", BOARD, "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "the app v1.0-old frozen in" in err and "make firmware" in err


# -- a romfs partition ---------------------------------------------------------------------------


def test_romfs_deploy_round_trip_read_back_from_the_partition(tmp_path, fw, old_fw):
    image = app_image(fw)
    with board(tmp_path, "unit", app_dir=old_fw) as vb:
        s = deploy.deploy(vb.port, BOARD, firmware_dir=fw, restart=False)
        assert s["form"] == "romfs" and s["romfs_bytes_written"] == len(image)
        # the partition as the flash holds it (the board's host file), byte for byte
        part = (vb.flash_dir / PARTITION).read_bytes()
        assert len(part) == ROMFS_BYTES
        assert part[: len(image)] == image
        assert part[len(image) : len(image) + 4096].strip(b"\xff\x00") == b""
        # the folder: profile, fonts and the image's hash, no code
        name, files = flash_app(vb.flash_dir)
        assert "rom.sha256" in files and not any(p.endswith(".mpy") for p in files)
        assert (vb.flash_dir / "app" / name / "rom.sha256").read_text().strip() == (
            deploy.sha256(image)
        )
        # read back through the board: what mpremote sees, and where the code comes from
        out = mpremote(vb.port, "romfs", "query")
        assert "Raw contents: %s ..." % image[:12].hex(":") in out
        assert code_file(vb.port) == "/rom/sunprint/__init__.mpy"
        assert unit_info(vb.port)["firmware"] == "2.0-test"
        # the same app again: the partition already holds the image, nothing is written
        again = deploy.deploy(vb.port, BOARD, firmware_dir=fw, restart=False)
        assert again["romfs_bytes_written"] == 0 and again["app"] == s["app"]
    # a fresh boot of the same flash (power cycle) runs the app from ROMFS
    with board(tmp_path, "unit", app_dir=old_fw) as vb:
        assert code_file(vb.port) == "/rom/sunprint/__init__.mpy"


def test_a_romfs_write_cut_midway_leaves_no_image_and_the_frozen_app_runs(tmp_path, fw, old_fw):
    """The image's first block (its header) is erased first and written last: a cable pulled
    during the write leaves no ROMFS image, so the unit mounts none and boots the frozen app;
    the next deploy writes the image whole."""
    flash = tmp_path / "flash"
    with VirtualBoard(flash, board=BOARD, heap=HEAP, firmware="unit", app_dir=old_fw) as vb:
        deploy.deploy(vb.serve_pty(), BOARD, firmware_dir=fw, restart=False)
    fw3 = firmware_copy(tmp_path / "firmware3")
    set_version(fw3, "3.0-test")
    change_one_file(fw3, "sunprint/app.py")
    shutil.copytree(flash, tmp_path / "probe")
    with VirtualBoard(
        tmp_path / "probe", board=BOARD, heap=HEAP, firmware="unit", app_dir=old_fw
    ) as vb:
        relay = Relay(vb.serve_tcp())
        s = deploy.deploy(relay.url, BOARD, firmware_dir=fw3, restart=False)
        total = relay.sent
    assert s["romfs_link_bytes"] > total // 2  # the image is most of the deploy
    with VirtualBoard(flash, board=BOARD, heap=HEAP, firmware="unit", app_dir=old_fw) as vb:
        relay = Relay(vb.serve_tcp(), cut_after=total * 4 // 10)  # inside the image's write
        with pytest.raises((LinkLost, deploy.DeployError)):
            deploy.deploy(relay.url, BOARD, firmware_dir=fw3, restart=False)
        assert relay.cut
    part = (flash / PARTITION).read_bytes()
    assert part[:4096] == b"\xff" * 4096  # no header: not a ROMFS image
    image3 = app_image(fw3)
    assert part[4096:8192] == image3[4096:8192]  # the blocks after it were being written
    # Power cycle: no /rom; the pointer still names the 2.0 folder, and the frozen app runs.
    with VirtualBoard(flash, board=BOARD, heap=HEAP, firmware="unit", app_dir=old_fw) as vb:
        vb.port = vb.serve_pty()
        assert not code_file(vb.port).startswith(("/rom", "/app")), code_file(vb.port)
        assert unit_info(vb.port)["firmware"] == "1.0-old"
        status = running_status(vb)
        assert status["firmware"] == "1.0-old" and "error" not in status, status
        s = deploy.deploy(vb.port, BOARD, firmware_dir=fw3, restart=False)
        assert s["form"] == "romfs" and unit_info(vb.port)["firmware"] == "3.0-test"
    assert (flash / PARTITION).read_bytes()[: len(image3)] == image3


def test_the_app_boots_from_romfs_and_runs(tmp_path, fw):
    with board(tmp_path, "romfs") as vb:
        deploy.deploy(vb.port, BOARD, firmware_dir=fw, restart=False)
        status = running_status(vb)
    assert status["firmware"] == "2.0-test" and "error" not in status, status


def test_the_cli_says_where_the_code_went_and_a_form_above_the_heap_budget(tmp_path, capsys):
    figures = deploy.heap_figures()
    peak = figures["peak_bytes"][BOARD]["romfs"]
    budget = figures["heap_bytes"]["esp32"] - figures["reserve_bytes"]
    with board(tmp_path, "romfs", heap=110000) as vb:
        args = ["deploy", "--port", vb.port, "--board", BOARD, "--no-progress", "--no-restart"]
        assert cli_main(args) == 0
    out = capsys.readouterr().out
    assert "the app's code is in the romfs partition" in out
    note = "heap peak on board %s is %.1f kB, above the %.1f kB" % (
        BOARD,
        peak / 1000,
        budget / 1000,
    )
    assert (note in out) == (peak > budget), out


def test_an_image_too_big_for_the_partition_is_refused(tmp_path):
    with board(tmp_path, "romfs") as vb:
        with open_link(vb.port) as link:
            with pytest.raises(UserError, match="larger romfs partition"):
                deploy.write_romfs(link, b"\xd2\xcd\x31" + bytes(ROMFS_BYTES), ROMFS_BYTES)
        assert (vb.flash_dir / PARTITION).read_bytes() == b"\xff" * ROMFS_BYTES  # untouched


def test_the_partition_writes_as_the_esp32_ports(tmp_path):
    code = """
import vfs
d = vfs.rom_ioctl(2, 0)
try:
    d.writeblocks(1, b'x' * 100)  # a simple write erases first: whole sectors only
except OSError:
    print('partial refused')
d.writeblocks(1, b'\\x0f' * 4096)  # erase, then write
d.writeblocks(1, b'\\xf3', 0)  # into flash that is not erased: bits only clear
buf = bytearray(2)
d.readblocks(1, buf)
print(buf.hex(), d.ioctl(6, 1), bytes(memoryview(d)[4096:4098]).hex())
"""
    with board(tmp_path, "romfs") as vb:
        with open_link(vb.port) as link:
            out = link.exec(code).decode().split()
        assert out == ["partial", "refused", "030f", "0", "ffff"]
        part = (vb.flash_dir / PARTITION).read_bytes()
        assert part == b"\xff" * ROMFS_BYTES  # the erase reached the chip


# -- the real mpremote against the virtual board ---------------------------------------------------


def test_mpremote_romfs_query_and_deploy_against_the_virtual_board(tmp_path):
    src = tmp_path / "src"
    (src / "lib").mkdir(parents=True)
    (src / "hello.py").write_text("X = 42\n")
    (src / "lib" / "util.py").write_text("Y = 'from /rom/lib'\n")
    with board(tmp_path, "romfs") as vb:
        out = mpremote(vb.port, "romfs", "query")
        assert (
            "ROMFS0 partition has size %d bytes (%d blocks of 4096 bytes each)"
            % (
                ROMFS_BYTES,
                ROMFS_BYTES // 4096,
            )
            in out
            and "Not a valid ROMFS" in out
        )
        out = mpremote(vb.port, "romfs", "deploy", str(src))
        assert "ROMFS image deployed" in out
        image = (vb.flash_dir / PARTITION).read_bytes()
        assert image.startswith(b"\xd2\xcd\x31")
        out = mpremote(vb.port, "romfs", "query")
        assert "ROMFS image size:" in out and "Not a valid" not in out
        code = "import hello, util; print(hello.X, hello.__file__, util.Y)"
        out = mpremote(vb.port, "exec", code)
        assert out.split() == ["42", "/rom/hello.mpy", "from", "/rom/lib"]
        # the board never shows the partition's bytes as a file
        assert PARTITION not in mpremote(vb.port, "fs", "ls", ":/")
    with board(tmp_path / "stock", "stock") as vb:
        assert "ROMFS is not enabled on this device" in mpremote(vb.port, "romfs", "query")


def test_sim_board_takes_the_firmware_kind(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        cli_main(["sim", "board", "--flash", str(tmp_path / "f"), "--firmware", "bogus"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "--firmware" in err and "invalid choice" in err, err


# -- sunprint flash, then deploy, on an emulated ESP32 --------------------------------------------


@pytest.mark.parametrize("kind, form", [("romfs", "romfs"), ("unit", "frozen")])
def test_flash_then_deploy_puts_the_code_where_the_image_holds_it(tmp_path, kind, form):
    """`sunprint flash` erases the chip (the romfs partition too), writes the image and hands
    over to deploy, which finds what the booted image is: the ROMFS image goes into the
    partition, or (the app of this version frozen in) only the profile and fonts are sent."""
    from host_tools import registry
    from host_tools.sim.board.device import Device, make_app_image

    image = tmp_path / "firmware.bin"
    image.write_bytes(make_app_image(bytes(30_000)))
    device = Device(tmp_path / "unit.bin", board=BOARD, heap=HEAP, firmware=kind)
    try:
        port = device.serve_pty()
        reg = tmp_path / "units.csv"
        sunprint = str(ROOT / ".venv" / "bin" / "sunprint")
        cmd = [sunprint, "flash", "--board", BOARD, "--no-progress", "--port", port,
               "--firmware", str(image), "--registry", str(reg)]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        (row,) = registry.read(reg)
        assert row["result"] == "ok" and "app deployed" in row["message"], row["message"]
        assert not list(device.fs_dir.rglob("*.mpy"))  # no code on the file system
        part = (device.fs_dir / PARTITION).read_bytes()
        with open_link(port) as link:
            where = link.eval("__import__('sunprint').__file__")
        if form == "romfs":
            assert part.startswith(app_image(ROOT / "firmware"))
            assert where == "/rom/sunprint/__init__.mpy"
        else:
            assert part == b"\xff" * ROMFS_BYTES  # erased by the flash, not written since
            assert not where.startswith(("/app", "/rom")), where
    finally:
        device.close()
