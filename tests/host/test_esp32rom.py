"""The ESP32 ROM emulator driven by the real esptool 5.6 (subprocess), on a pty and over TCP.

Each check reads the result back independently of esptool where it can: from the emulator's
flash file on disk, or with a second esptool command.
"""

import hashlib
import os
import random
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from host_tools.sim.board.esp32rom import MB, Esp32Rom, FlashFile

ESPTOOL = str(Path(sys.executable).parent / "esptool")
MAC = "24:0a:c4:5e:1f:07"


def esptool(port, *args, env=None):
    """Run the real esptool against `port`; (exit status, stdout + stderr)."""
    cmd = [ESPTOOL, "--port", port, "--before", "no-reset", "--after", "no-reset", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    return proc.returncode, proc.stdout + proc.stderr


def ok(port, *args, env=None):
    status, out = esptool(port, *args, env=env)
    assert status == 0, out
    return out


def firmware_like(size, seed):
    """Bytes that compress about as well as firmware does: random words, runs of zeros."""
    rnd = random.Random(seed)
    out = bytearray()
    while len(out) < size:
        if rnd.random() < 0.3:
            out += bytes(rnd.randrange(4, 200))
        else:
            out += rnd.randbytes(rnd.randrange(4, 400))
    return bytes(out[:size])


def on_disk(rom, offset, length):
    with open(rom.flash.path, "rb") as f:
        f.seek(offset)
        return f.read(length)


@pytest.fixture(scope="module")
def rom(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rom")
    with Esp32Rom(folder / "flash.bin", mac=MAC) as unit:
        unit.port = unit.serve_pty()
        yield unit


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("images")
    made = {}
    for name, size, seed in (("a", 200_000, 1), ("b", 70_000, 2), ("c", 9_000, 3)):
        path = folder / (name + ".bin")
        path.write_bytes(firmware_like(size, seed))
        made[name] = path
    return made


def test_chip_id_and_read_mac_report_the_configured_mac(rom):
    out = ok(rom.port, "read-mac")
    assert "Detecting chip type... ESP32" in out
    assert "ESP32-D0WD-V3 (revision v3.0)" in out
    assert "MAC:                %s" % MAC in out
    out = ok(rom.port, "--no-stub", "chip-id")
    assert MAC in out


def test_flash_id_gives_the_size_of_the_flash(rom, tmp_path):
    assert "Detected flash size: 4MB" in ok(rom.port, "flash-id")
    assert "Manufacturer: ef" in ok(rom.port, "--no-stub", "flash-id")
    with Esp32Rom(tmp_path / "big.bin", flash_size=16 * MB) as big:
        assert "Detected flash size: 16MB" in ok(big.serve_pty(), "flash-id")


@pytest.mark.parametrize(
    "mode",
    [
        ("stub", "compressed"),
        ("stub", "--no-compress"),
        ("--no-stub", "--compress"),
        ("--no-stub", "--no-compress"),
    ],
)
def test_write_flash_lands_in_the_flash_file(rom, files, mode):
    stub, compress = mode
    options = ([] if stub == "stub" else ["--no-stub"]) + ["write-flash"]
    options += [] if compress == "compressed" else [compress]
    offset = 0x40000 if stub == "stub" else 0x80000
    out = ok(rom.port, *options[:1], *options[1:], hex(offset), str(files["b"]))
    assert "Hash of data verified." in out
    data = files["b"].read_bytes()
    assert on_disk(rom, offset, len(data)) == data
    # the rest of the last sector was erased, not left as it was
    assert on_disk(rom, offset + len(data), 16) == b"\xff" * 16


def test_rom_and_stub_md5_both_verify_and_both_catch_a_difference(rom, files):
    ok(rom.port, "write-flash", "0x10000", str(files["a"]))
    assert "digest matched" in ok(rom.port, "verify-flash", "0x10000", str(files["a"]))
    assert "digest matched" in ok(rom.port, "--no-stub", "verify-flash", "0x10000", str(files["a"]))
    # a file that differs in one byte
    changed = bytearray(files["a"].read_bytes())
    changed[12345] ^= 0x40
    other = files["a"].with_name("changed.bin")
    other.write_bytes(changed)
    for stub in ([], ["--no-stub"]):
        status, out = esptool(rom.port, *stub, "verify-flash", "0x10000", str(other))
        assert status != 0
        assert "Verification failed" in out or "verify failed" in out.lower(), out


def test_read_flash_is_byte_exact_through_stub_and_rom(rom, files, tmp_path):
    data = files["c"].read_bytes()
    ok(rom.port, "write-flash", "0x120000", str(files["c"]))
    back = tmp_path / "back.bin"
    ok(rom.port, "read-flash", "0x120000", str(len(data)), str(back))
    assert back.read_bytes() == data
    back_rom = tmp_path / "back-rom.bin"
    ok(rom.port, "--no-stub", "read-flash", "0x120000", "3000", str(back_rom))
    assert back_rom.read_bytes() == data[:3000]


@pytest.mark.parametrize("stub", [[], ["--no-stub"]])
def test_erase_region_erases_only_that_region(rom, files, stub):
    # The stub has ERASE_REGION; esptool 5.6 erases through the ROM with FLASH_BEGIN.
    ok(rom.port, "write-flash", "0x200000", str(files["c"]))
    before = on_disk(rom, 0x200000, 0x3000)
    assert before[0x1000:0x2000] != b"\xff" * 0x1000
    ok(rom.port, *stub, "erase-region", "0x201000", "0x1000")
    assert on_disk(rom, 0x201000, 0x1000) == b"\xff" * 0x1000
    assert on_disk(rom, 0x200000, 0x1000) == before[:0x1000]
    assert on_disk(rom, 0x202000, 0x1000) == before[0x2000:]


def test_erase_flash_via_the_stub_blanks_the_whole_chip(tmp_path, files):
    with Esp32Rom(tmp_path / "f.bin") as unit:
        port = unit.serve_pty()
        ok(port, "write-flash", "0x1000", str(files["c"]))
        assert on_disk(unit, 0x1000, 4) != b"\xff" * 4
        status, out = esptool(port, "--no-stub", "erase-flash")
        assert status != 0 and "stub" in out.lower(), out  # the ROM cannot erase the chip
        assert on_disk(unit, 0x1000, 4) != b"\xff" * 4
        ok(port, "erase-flash")
        with open(unit.flash.path, "rb") as f:
            assert hashlib.sha256(f.read()).digest() == hashlib.sha256(b"\xff" * 4 * MB).digest()


def test_nor_flash_writes_and_into_what_is_there(tmp_path):
    flash = FlashFile(tmp_path / "nor.bin", 1 * MB)
    flash.write(0x100, b"\xf0\x0f\xff")
    flash.write(0x100, b"\x3c\x3c\x00")
    assert flash.read(0x100, 3) == b"\x30\x0c\x00"
    flash.erase(0, 0x1000)
    assert flash.read(0x100, 3) == b"\xff\xff\xff"
    flash.close()
    assert FlashFile(tmp_path / "nor.bin", 1 * MB).read(0x100, 3) == b"\xff\xff\xff"


def test_a_block_with_a_bad_checksum_gets_an_error_reply(rom):
    """esptool's own loader sends FLASH_DATA with a wrong checksum: the ROM and the stub
    refuse it with their own error codes, and the flash is left untouched."""
    from esptool.cmds import attach_flash, detect_chip
    from esptool.util import FatalError

    before = on_disk(rom, 0x300000, 0x400)
    esp = detect_chip(rom.port, connect_mode="no-reset")
    try:
        for loader in (esp, None):
            if loader is None:
                loader = esp = esp.run_stub()
            attach_flash(loader)  # the ROM enables the flash only then,
            loader.flash_set_parameters(4 * MB)  # and assumes 2 MB until told
            loader.flash_begin(0x400, 0x300000)
            block = b"\x12" * 0x400
            header = struct.pack("<IIII", len(block), 0, 0, 0)
            with pytest.raises(FatalError) as err:
                loader.check_command(
                    "write", loader.ESP_CMDS["FLASH_DATA"], header + block, chk=0x00
                )
            expected = "Bad data checksum" if loader.IS_STUB else "Checksum error"
            assert expected in str(err.value)
    finally:
        esp.flash_finish(reboot=True)  # back to the ROM loader for the next test
        esp._port.close()
    assert on_disk(rom, 0x300000, 0x400) in (before, b"\xff" * 0x400)


def test_the_rom_refuses_flash_commands_until_spi_attach(tmp_path):
    """As an ESP32 ROM loader does: the flash is enabled only by SPI_ATTACH, so FLASH_BEGIN
    (also the zero-length one esptool's run() sends to "run user code"), FLASH_DEFL_BEGIN,
    SPI_FLASH_MD5 and READ_FLASH_SLOW fail with status 0x01 0x06 until then, and work after."""
    from esptool.cmds import attach_flash, detect_chip
    from esptool.util import FatalError

    with Esp32Rom(tmp_path / "attach.bin") as unit:
        port = unit.serve_pty()
        esp = detect_chip(port, connect_mode="no-reset")
        try:
            tries = {
                "FLASH_BEGIN": lambda: esp.flash_begin(0, 0),
                "FLASH_DEFL_BEGIN": lambda: esp.flash_defl_begin(0x1000, 0x100, 0x10000),
                "SPI_FLASH_MD5": lambda: esp.flash_md5sum(0x10000, 0x1000),
                "READ_FLASH_SLOW": lambda: esp.read_flash(0x10000, 64),
            }
            for name, attempt in tries.items():
                with pytest.raises(FatalError, match=r"result was 0106") as err:
                    attempt()
                assert "Message is ok, but the running result is wrong" in str(err.value), name
            assert len(unit.commands) and all(not stub for stub, _ in unit.commands)
            attach_flash(esp)
            assert esp.flash_md5sum(0x10000, 0x1000) == hashlib.md5(b"\xff" * 0x1000).hexdigest()
            assert esp.read_flash(0x10000, 64) == b"\xff" * 64
            esp.flash_begin(0x1000, 0x10000)
            unit.reset()  # a reset detaches the flash again
            esp.sync()
            with pytest.raises(FatalError, match=r"result was 0106"):
                esp.flash_begin(0, 0)
        finally:
            esp._port.close()


def test_over_tcp_socket(tmp_path, files):
    with Esp32Rom(tmp_path / "t.bin", mac=MAC) as unit:
        port = unit.serve_tcp()
        assert port.startswith("socket://127.0.0.1:")
        assert MAC in ok(port, "read-mac")
        ok(port, "write-flash", "0x1000", str(files["c"]))
        assert on_disk(unit, 0x1000, 9000) == files["c"].read_bytes()


def test_run_user_code_leaves_the_loader(tmp_path, files):
    left = []
    with Esp32Rom(tmp_path / "r.bin", on_leave=left.append) as unit:
        port = unit.serve_pty()
        cmd = [ESPTOOL, "--port", port, "--before", "no-reset", "--after", "soft-reset"]
        proc = subprocess.run(
            cmd + ["--no-stub", "write-flash", "0x1000", str(files["c"])],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert left == ["run"]


@pytest.mark.parametrize("chip", ["ESP32-S3", "ESP8266"])
def test_another_chip_is_detected_as_that_chip(tmp_path, chip):
    with Esp32Rom(tmp_path / "x.bin", chip=chip) as unit:
        port = unit.serve_pty()
        status, out = esptool(port, "--chip", "esp32", "chip-id")
        assert status != 0
        assert "This chip is %s, not ESP32" % chip in out


def test_a_unit_that_does_not_answer(tmp_path):
    with Esp32Rom(tmp_path / "dead.bin", answer=False) as unit:
        port = unit.serve_pty()
        status, out = esptool(port, "--connect-attempts", "1", "chip-id")
        assert status != 0
        assert "Failed to connect" in out and "No serial data received" in out


def short_timeouts(tmp_path):
    """esptool's documented config file: a dead line is noticed in a second, not in nine."""
    cfg = tmp_path / "esptool.cfg"
    cfg.write_text(
        "[esptool]\ntimeout = 0.5\nerase_write_timeout_per_mb = 1\nwrite_block_attempts = 1\n"
    )
    return dict(os.environ, ESPTOOL_CFGFILE=str(cfg))


def test_link_cut_mid_write_fails_the_write_and_leaves_a_partial_image(tmp_path, files):
    data = files["a"].read_bytes()
    with Esp32Rom(tmp_path / "cut.bin", cut_after=40_000) as unit:
        port = unit.serve_pty()
        status, out = esptool(
            port, "write-flash", "0x1000", str(files["a"]), env=short_timeouts(tmp_path)
        )
        assert status != 0, out
        assert "No more data to read from the serial port" in out, out
        written = on_disk(unit, 0x1000, len(data))
        assert written != data
        assert written[:1000] == data[:1000]  # the start arrived, the rest did not
        # after a reset (the unit power-cycled), the link works again and a rewrite succeeds
        unit.reset()
        ok(port, "write-flash", "0x1000", str(files["a"]))
        assert on_disk(unit, 0x1000, len(data)) == data


def test_a_tcp_link_that_drops_once_is_recovered_by_esptool(tmp_path, files):
    """cut_mode='close' on TCP: the connection drops mid-write and the unit comes back;
    esptool 5.6 reconnects by itself, reloads the stub and writes the file again."""
    data = files["a"].read_bytes()
    with Esp32Rom(tmp_path / "drop.bin", cut_after=30_000, cut_mode="close") as unit:
        port = unit.serve_tcp()
        out = ok(port, "write-flash", "0x1000", str(files["a"]))
        assert "Lost connection, retrying" in out
        assert on_disk(unit, 0x1000, len(data)) == data
