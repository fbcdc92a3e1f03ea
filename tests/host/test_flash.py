"""`sunprint flash` end to end: the real esptool 5.6 (in the command) against emulated DevKitCs
(host_tools/sim/board/device.py: the ROM emulator, then a virtual MicroPython board), and its faults.

Every check reads the outcome independently of the command: the unit's flash file on disk, the
unit's state (app running, or the ROM's boot loop), its REPL, and the registry CSV.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import serial

from host_tools import registry
from host_tools.sim.board.device import Device, make_app_image
from host_tools.sim.board.esp32rom import MB

SUNPRINT = str(Path(sys.executable).parent / "sunprint")
BOARD = "esp32-epd29"


def run_flash(*args, env=None):
    cmd = [SUNPRINT, "flash", "--board", BOARD, "--no-deploy", "--no-progress", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env)
    return proc.returncode, proc.stdout, proc.stderr


def flash_at(device, offset, length):
    with open(device.rom.flash.path, "rb") as f:
        f.seek(offset)
        return f.read(length)


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "firmware.bin"
    path.write_bytes(make_app_image(os.urandom(20_000) + bytes(40_000)))
    return path


@pytest.fixture
def units(tmp_path):
    made = []

    def make(name="unit", **knobs):
        device = Device(tmp_path / (name + ".bin"), **knobs)
        device.port = device.serve_pty()
        made.append(device)
        return device

    yield make
    for device in made:
        device.close()


def repl_answers(port, timeout=10.0):
    """The unit's REPL computes 6*7 (waiting for the app to finish booting, as a person would)."""

    def read_until(link, mark, end):
        seen = b""
        while time.monotonic() < end and mark not in seen:
            seen += link.read(256)
        return mark in seen

    end = time.monotonic() + timeout
    with serial.Serial(port, timeout=0.1) as link:
        while time.monotonic() < end:
            link.write(b"\r\x03")
            if read_until(link, b">>> ", min(end, time.monotonic() + 0.5)):
                break
        link.write(b"print(6*7)\r")
        return read_until(link, b"42\r\n", end)


def test_a_blank_unit_is_flashed_boots_the_app_and_is_recorded(units, image, tmp_path):
    unit = units(mac="24:0a:c4:00:00:01")
    assert unit.state == "boot_loop" and unit.boot_message == "invalid header: 0xffffffff"
    reg = tmp_path / "units.csv"
    status, out, err = run_flash(
        "--port", unit.port, "--firmware", str(image), "--registry", str(reg)
    )
    assert status == 0, out + err
    data = image.read_bytes()
    assert flash_at(unit, 0x1000, len(data)) == data
    assert flash_at(unit, 0, 0x1000) == b"\xff" * 0x1000
    assert unit.state == "app" and repl_answers(unit.port)
    (row,) = registry.read(reg)
    assert row["result"] == "ok" and row["port"] == unit.port
    assert row["mac"] == "24:0a:c4:00:00:01" and row["chip"] == "ESP32" and row["board"] == BOARD
    import hashlib

    assert row["firmware_sha256"] == hashlib.sha256(data).hexdigest()
    assert "verified" in row["message"]
    assert "1 of 1 unit(s) ok" in out
    assert row["rtc_offset_s"] == ""  # --no-deploy: the unit's clock is not set


def test_the_app_is_started_through_a_rom_that_enables_its_flash_only_on_spi_attach(
    units, image, tmp_path
):
    """After the stub's reboot the ROM loader has the flash off again: sunprint flash attaches
    it (SPI_ATTACH) before the FLASH_BEGIN that "runs user code", as esptool's run does."""
    unit = units()
    status, out, err = run_flash(
        "--port", unit.port, "--firmware", str(image), "--registry", str(tmp_path / "r.csv")
    )
    assert status == 0, out + err
    assert unit.state == "app"
    rom_ops = [op for stub, op in unit.rom.commands if not stub]
    stub_started = rom_ops.index(0x06)  # MEM_END: the stub runs, later reboots to the ROM
    run_app = len(rom_ops) - 1 - rom_ops[::-1].index(0x02)  # the last FLASH_BEGIN: run the app
    assert 0x0D in rom_ops[stub_started:run_app]  # SPI_ATTACH sent to the ROM before it


def test_a_rom_that_refuses_is_reported_as_refusing_not_as_a_lost_link(units, image, tmp_path):
    """The ROM's status is decoded: which command, the code, what it means."""
    unit = units(refuse={0x02: 0x06})  # the ROM's FLASH_BEGIN fails, as without SPI_ATTACH
    reg = tmp_path / "units.csv"
    status, out, err = run_flash(
        "--port", unit.port, "--firmware", str(image), "--registry", str(reg)
    )
    assert status == 1
    (row,) = registry.read(reg)
    assert row["message"] == (
        "flashed and verified, but the app was not started: the ROM refused FLASH_BEGIN: "
        "status 0x0106 (the ROM failed to act on it: flash not attached (SPI_ATTACH), or the "
        "region is beyond it)"
    )
    assert flash_at(unit, 0x1000, image.stat().st_size) == image.read_bytes()


def test_loader_statuses_are_decoded():
    from esptool.util import FatalError

    from host_tools.flash import _loader_refusal

    def refusal(what, status):
        return _loader_refusal(FatalError.WithResult("Failed to " + what, status))

    assert refusal("configure SPI flash pins", b"\x01\x05") == (
        "the ROM refused SPI_ATTACH: status 0x0105 (the message was invalid)"
    )
    assert refusal("write compressed data to flash after seq 3", b"\xc1\x00") == (
        "the flasher stub refused FLASH_DEFL_DATA: status 0xc100 (bad data checksum)"
    )
    assert refusal("calculate md5sum", b"\x01\x06").endswith("or the region is beyond it)")
    assert _loader_refusal(FatalError("No serial data received.")) is None  # a lost link


def test_no_deploy_ends_after_the_verify_and_the_reboot(units, image, tmp_path):
    """A bare image gives no MicroPython REPL to wait for (here: firmware with none at all):
    --no-deploy is done once the image is verified and the unit rebooted, exit 0, and the
    registry row says nothing was deployed."""
    unit = units("bare", repl=False)
    reg = tmp_path / "units.csv"
    started = time.monotonic()
    status, out, err = run_flash(
        "--port", unit.port, "--firmware", str(image), "--registry", str(reg)
    )
    took = time.monotonic() - started
    assert status == 0, out + err
    assert took < 15  # no wait for a REPL (REPL_TIMEOUT_S)
    (row,) = registry.read(reg)
    size = image.stat().st_size
    assert row["result"] == "ok" and row["app_version"] == "" and row["config_hash"] == ""
    assert row["message"] == (
        "flashed %d bytes, verified; app started; not deployed (--no-deploy)" % size
    )
    assert unit.state == "app" and flash_at(unit, 0x1000, size) == image.read_bytes()


def test_flashing_formats_no_hex_dump_of_the_packets(units, image, monkeypatch):
    """esptool formats a hex dump of every packet even with tracing off (1.2 s of CPU per MB,
    which serialised parallel flashing under the GIL); sunprint never traces, so none is made."""
    import esptool.loader

    from host_tools.boards import load_board
    from host_tools.flash import flash_unit

    made = []

    class CountingHexFormatter(esptool.loader.HexFormatter):
        def __str__(self):
            made.append(len(self._s))
            return super().__str__()

    monkeypatch.setattr(esptool.loader, "HexFormatter", CountingHexFormatter)
    unit = units("quiet")
    board = dict(load_board(BOARD), name=BOARD)
    row = flash_unit(unit.port, board, image.read_bytes(), deploy=False, check_app=False)
    assert row["result"] == "ok", row["message"]
    assert flash_at(unit, 0x1000, image.stat().st_size) == image.read_bytes()
    assert made == []


def test_three_units_in_parallel(units, image, tmp_path):
    devices = [units("u%d" % i, mac="24:0a:c4:00:01:%02x" % i) for i in range(3)]
    reg = tmp_path / "units.csv"
    ports = ",".join(d.port for d in devices)
    status, out, err = run_flash("--ports", ports, "--firmware", str(image), "--registry", str(reg))
    assert status == 0, out + err
    rows = registry.read(reg)
    assert sorted(r["mac"] for r in rows) == ["24:0a:c4:00:01:%02x" % i for i in range(3)]
    assert all(r["result"] == "ok" for r in rows)
    data = image.read_bytes()
    for device in devices:
        assert flash_at(device, 0x1000, len(data)) == data
        assert device.state == "app"
    assert "3 of 3 unit(s) ok" in out
    for device in devices:  # the summary table has one line per unit
        assert sum(device.port in line for line in out.splitlines()) == 1


def test_a_failing_unit_does_not_stop_the_others(units, image, tmp_path):
    good = units("good")
    wrong = units("s3", chip="ESP32-S3")
    reg = tmp_path / "units.csv"
    status, out, err = run_flash(
        "--ports",
        "%s,%s" % (wrong.port, good.port),
        "--firmware",
        str(image),
        "--registry",
        str(reg),
    )
    assert status == 1
    by_port = {r["port"]: r for r in registry.read(reg)}
    assert by_port[good.port]["result"] == "ok"
    bad = by_port[wrong.port]
    assert bad["result"] == "failed" and bad["chip"] == "ESP32-S3"
    assert (
        bad["message"]
        == "the unit is an ESP32-S3, board %s needs an ESP32: nothing written" % BOARD
    )
    assert flash_at(wrong, 0, 4 * MB) == b"\xff" * 4 * MB
    assert ("%s: %s" % (wrong.port, bad["message"])) in err
    assert len(err.strip().splitlines()[-1]) < 200


def test_a_non_esp32_image_is_refused_before_any_unit_is_touched(units, tmp_path):
    unit = units()
    elf = tmp_path / "firmware.elf"
    elf.write_bytes(b"\x7fELF" + bytes(200))
    reg = tmp_path / "units.csv"
    status, out, err = run_flash(
        "--port", unit.port, "--firmware", str(elf), "--registry", str(reg)
    )
    assert status == 2
    (line,) = err.strip().splitlines()
    assert "is not an ESP32 image (first byte 0x7f, expected 0xE9)" in line
    (row,) = registry.read(reg)
    assert row["result"] == "refused" and "not an ESP32 image" in row["message"]
    assert unit.rom.commands.__len__() == 0  # esptool never spoke to the unit


def test_an_image_for_another_chip_is_refused(units, tmp_path):
    unit = units()
    data = bytearray(make_app_image())
    data[12] = 9  # the extended header's chip id: ESP32-S3
    other = tmp_path / "s3.bin"
    other.write_bytes(bytes(data))
    status, out, err = run_flash(
        "--port", unit.port, "--firmware", str(other), "--registry", str(tmp_path / "r.csv")
    )
    assert status == 2
    assert "is built for ESP32-S3 (image chip id 9), the board needs ESP32" in err


def test_an_oversize_image_is_refused_with_nothing_written(units, tmp_path):
    unit = units(flash_size=1 * MB)
    big = tmp_path / "big.bin"
    big.write_bytes(make_app_image(bytes(1 * MB)))
    reg = tmp_path / "units.csv"
    status, out, err = run_flash(
        "--port", unit.port, "--firmware", str(big), "--registry", str(reg)
    )
    assert status == 1
    (row,) = registry.read(reg)
    assert row["result"] == "failed" and row["mac"]
    assert "does not fit the unit's 1MB flash: nothing written" in row["message"]
    assert flash_at(unit, 0, 1 * MB) == b"\xff" * MB


def test_a_missing_and_a_busy_port(units, image, tmp_path):
    unit = units()
    reg = tmp_path / "units.csv"
    with serial.Serial(unit.port, exclusive=True):
        status, out, err = run_flash(
            "--ports", "/dev/nonexistent-tty,%s" % unit.port, "--firmware", str(image),
            "--registry", str(reg),
        )  # fmt: skip
    assert status == 1
    by_port = {r["port"]: r for r in registry.read(reg)}
    assert by_port["/dev/nonexistent-tty"]["message"] == (
        "port /dev/nonexistent-tty does not exist (is the unit plugged in?)"
    )
    assert (
        by_port[unit.port]["message"] == "port %s is busy: another program has it open" % unit.port
    )
    assert all(r["result"] == "failed" for r in by_port.values())


def test_a_refused_tcp_port_is_said_to_be_refused_not_busy(image, tmp_path):
    """ "[Errno 111] Connection refused" holds "Errno 11" (EAGAIN, a port another program
    locked): the errno decides, not a substring."""
    import socket

    with socket.socket() as probe:  # a port nobody listens on (free a moment ago)
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    port = "socket://127.0.0.1:%d" % free
    reg = tmp_path / "units.csv"
    status, out, err = run_flash("--port", port, "--firmware", str(image), "--registry", str(reg))
    assert status == 1
    (row,) = registry.read(reg)
    assert row["message"] == "port %s: connection refused (nothing listens there)" % port
    bad = "socket://127.0.0.1:99999"
    status, out, err = run_flash("--port", bad, "--firmware", str(image), "--registry", str(reg))
    assert status == 1
    assert (
        registry.read(reg)[-1]["message"] == "cannot open port %s (Port out of range 0-65535)" % bad
    )


def test_a_board_that_does_not_answer(units, image, tmp_path):
    unit = units(auto_reset=False)  # no auto-reset circuit: it stays in its boot loop
    reg = tmp_path / "units.csv"
    status, out, err = run_flash(
        "--port", unit.port, "--firmware", str(image), "--registry", str(reg),
        "--connect-attempts", "1",
    )  # fmt: skip
    assert status == 1
    (row,) = registry.read(reg)
    assert row["result"] == "failed"
    assert row["message"].startswith("no answer from a bootloader on %s" % unit.port)
    assert unit.state == "boot_loop"


def test_link_cut_mid_write_is_caught_by_verify_and_the_unit_said_unbootable(
    units, image, tmp_path
):
    """The unit browns out after 30 kB of flash data: the write breaks off, the unit comes
    back up in its boot loop with half an image; the command reconnects, verifies, fails."""
    unit = units(cut_after=30_000, cut_mode="brownout")
    big = tmp_path / "big.bin"
    big.write_bytes(make_app_image(os.urandom(120_000)))
    cfg = tmp_path / "esptool.cfg"  # esptool's own config: notice a dead line in 1 s, not 9
    cfg.write_text(
        "[esptool]\ntimeout = 1\nerase_write_timeout_per_mb = 1\nwrite_block_attempts = 1\n"
    )
    reg = tmp_path / "units.csv"
    status, out, err = run_flash(
        "--port", unit.port, "--firmware", str(big), "--registry", str(reg),
        env=dict(os.environ, ESPTOOL_CFGFILE=str(cfg)),
    )  # fmt: skip
    assert status == 1, out + err
    (row,) = registry.read(reg)
    assert row["result"] == "failed"
    assert row["message"].startswith("link lost while writing")
    assert "verify afterwards: the flash does not match the image" in row["message"]
    assert "the unit may be unbootable: flash it again" in row["message"]
    data = big.read_bytes()
    assert flash_at(unit, 0x1000, len(data)) != data
    unit.reset()  # power cycle: the ROM finds no bootable image and loops
    assert unit.state == "boot_loop" and unit.boot_message is not None


def test_the_unit_boots_its_app_after_esptool_soft_reset(units, image):
    """The emulated DevKitC leaves the loader on the ROM's "run user code", as the chip does."""
    unit = units(mode="download")
    cmd = [str(Path(sys.executable).parent / "esptool"), "--port", unit.port, "--before",
           "no-reset", "--after", "soft-reset", "--no-stub", "write-flash", "0x1000", str(image)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert unit.state == "app" and repl_answers(unit.port)


def test_sim_unit_command_serves_a_unit_esptool_can_read(tmp_path):
    proc = subprocess.Popen(
        [
            SUNPRINT,
            "sim",
            "unit",
            "--flash",
            str(tmp_path / "u.bin"),
            "--mac",
            "24:0a:c4:99:88:77",
            "--tcp",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        first = proc.stdout.readline()
        assert first.startswith("unit on socket://127.0.0.1:") and "(boot_loop)" in first
        assert proc.stdout.readline().strip() == "not bootable: invalid header: 0xffffffff"
        port = first.split()[2]
        esptool = str(Path(sys.executable).parent / "esptool")
        out = subprocess.run(
            [esptool, "--port", port, "read-mac"], capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 0, out.stdout + out.stderr
        assert "24:0a:c4:99:88:77" in out.stdout
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# Every bundled board whose unit is a classic ESP32 (the epd75 has PSRAM and a heap to match).
ESP32_BOARDS = [
    "esp32-epd29-ina226",
    "esp32-epd29",
    "esp32-max7219-s0",
    "esp32-ws2812-ina219",
    # The 4.2" panel's unit: its boot failed here allocating a second 15000-byte frame (the
    # app's copy of the glass) at 110000 B, the heap too fragmented by then for two such
    # blocks; the app keeps checksums of the glass's lines and columns instead (ui/sums.py).
    "esp32-epd42-dlt645",
]


@pytest.mark.parametrize("board", ESP32_BOARDS)
def test_flash_then_deploy_records_the_app_version(tmp_path, image, board):
    """With host_tools.deploy (another part of issue 8) present, the app goes on after the
    firmware and the registry row names its version: against the unit image (the app frozen
    in, a romfs partition) at the ESP32's heap, as `sunprint sim unit` serves it."""
    pytest.importorskip("host_tools.deploy")
    device = Device(tmp_path / "unit.bin", board=board, heap=110000, firmware="unit")
    try:
        port = device.serve_pty()
        reg = tmp_path / "units.csv"
        cmd = [SUNPRINT, "flash", "--board", board, "--no-progress", "--port", port,
               "--firmware", str(image), "--registry", str(reg),
               "--site", "Xiaolan Town, Zhongshan", "--carbon-region", "CN-South",
               "--tz", "+08:00"]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        (row,) = registry.read(reg)
        assert row["result"] == "ok" and "app deployed" in row["message"], row["message"]
        assert row["app_version"]
        # deploy set the unit's clock from this computer; a fresh unit read 2000-01-01
        assert int(row["rtc_offset_s"]) > 800000000, row["rtc_offset_s"]
        assert (device.fs_dir / "board.json").exists()
        # the unit config: written, its hash in the registry, and the unit's status names it
        config = (device.fs_dir / "config.json").read_bytes()
        import hashlib
        import json

        assert row["config_hash"] == hashlib.sha256(config).hexdigest()
        written = json.loads(config)
        mac_tail = row["mac"].replace(":", "")[-6:]
        assert written["unit_id"] == "sp-" + mac_tail and written["site"].startswith("Xiaolan")
        assert written["carbon_region"] == "CN-South" and written["tz_offset_min"] == 480
        assert "config written (unit sp-%s, CN-South 2023:" % mac_tail in row["message"]
        assert device.app is not None and device.app.heap == 110000
    finally:
        device.close()


@pytest.mark.parametrize(
    "option, value, words",
    [
        ("--tz", "8h", '--tz: expected "+HH:MM"'),
        ("--carbon-region", "Atlantis", "--carbon-region: "),
        ("--unit-id", "unit 7!", "--unit-id: "),
        ("--carbon-year", "1999", "--carbon-year: "),
    ],
)
def test_a_bad_unit_config_option_is_refused_before_any_unit_is_touched(
    units, image, tmp_path, option, value, words
):
    unit = units()
    cmd = [SUNPRINT, "flash", "--board", BOARD, "--no-progress", "--port", unit.port,
           "--firmware", str(image), "--registry", str(tmp_path / "r.csv"), option, value]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert words in line, line
    assert len(unit.rom.commands) == 0  # esptool never spoke to the unit


def test_a_full_erase_never_deletes_a_fs_folder_the_simulator_did_not_make(tmp_path, capsys):
    # `sim unit --fs DIR` on a folder of the user's: a full-chip erase wipes the simulated flash,
    # never the user's files (host tools delete only what they created)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("the user's own file")
    device = Device(tmp_path / "unit.bin", fs_dir=mine, repl=False)
    device._erased(0, device.rom.flash.size)
    assert (mine / "notes.txt").read_text() == "the user's own file"
    assert "--fs" in capsys.readouterr().err
    # a folder the simulator made is its own flash: the same erase empties it
    own = Device(tmp_path / "own.bin", repl=False)
    (own.fs_dir / "main.py").write_text("print(1)")
    own._erased(0, own.rom.flash.size)
    assert own.fs_dir.is_dir() and not any(own.fs_dir.iterdir())
