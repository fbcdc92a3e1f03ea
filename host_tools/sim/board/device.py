"""An emulated ESP32 DevKitC on ONE serial line: the ROM loader, or the app it boots.

Download mode runs `Esp32Rom` (the real esptool flashes it). When the unit leaves the loader it
boots what is in flash, as the ESP32's first-stage ROM does: a valid image at 0x1000 (where
MicroPython's ESP32 firmware .bin goes, its second-stage bootloader first) hands the line to a
`VirtualBoard` (host_tools/sim/board/vboard.py: the MicroPython REPL); anything else gives the ROM's
boot loop, `invalid header: 0xffffffff` over and over, and the unit stays there.

How a unit leaves the loader, and how it gets back in. On a DevKitC, esptool moves EN and IO0
through DTR/RTS: `--before default-reset` pulls IO0 low across a reset (download mode) and
`--after hard-reset` pulses EN (the app boots). A pty and a socket:// port carry no modem lines:
esptool 5.6 warns "Setting RTS/DTR lines is not supported" on a pty and skips the reset on
socket://, so neither reset can reach the unit. What can:
- the ROM's "run user code" (FLASH_END or FLASH_DEFL_END with flag 1: `esptool --no-stub --after
  soft-reset`, or `sunprint flash`, which ends that way) boots the app, as on the chip;
- the stub's reboot (FLASH_END flag 0: esptool's `--after no-reset`) is a software reset, which
  comes back in the boot mode latched at the last chip reset: download mode, as esptool says;
- `reset()` is the EN button or a power cycle: the app boots (IO0 released);
- a SYNC frame arriving while the app or the boot loop has the line stands in for
  esptool's DTR/RTS reset into download mode (the auto-reset circuit), unless `auto_reset=False`
  (a board without one, or with a broken one: it never answers esptool).

`repl=False`: the image is firmware without a MicroPython REPL (a factory test image, a bare
binary): it boots, prints its banner and ignores the line (state "app", no `app` object).
"""

import shutil
import struct
import sys
import threading
from pathlib import Path

from host_tools.sim.board.esp32rom import DEFAULT_MAC, MB, Esp32Rom
from host_tools.sim.board.lineserver import LineServer

BOOTLOADER_OFFSET = 0x1000
IMAGE_MAGIC = 0xE9
# esptool's SYNC command as it appears on the wire: the start of a frame, op 0x08, 36 bytes.
SYNC_ON_WIRE = b"\xc0\x00\x08\x24\x00\x00\x00\x00\x00\x07\x07\x12\x20"
BOOT_BANNER = (
    b"ets Jun  8 2016 00:22:57\r\n\r\n"
    b"rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\r\n"
    b"configsip: 0, SPIWP:0xee\r\n"
    b"clk_drv:0x00,q_drv:0x00,d_drv:0x00,cs0_drv:0x00,hd_drv:0x00,wp_drv:0x00\r\n"
    b"mode:DIO, clock div:2\r\n"
)
DOWNLOAD_BANNER = (
    b"ets Jun  8 2016 00:22:57\r\n\r\n"
    b"rst:0x1 (POWERON_RESET),boot:0x3 (DOWNLOAD_BOOT(UART0/UART1/SDIO_REI_REO_V2))\r\n"
    b"waiting for download\r\n"
)
BOOT_LOOP_PERIOD_S = 0.5


def check_boot_image(flash_bytes):
    """None if the ROM would boot the image at 0x1000, else what the ROM prints instead."""
    from esptool.bin_image import LoadFirmwareImage
    from esptool.util import FatalError

    head = flash_bytes[BOOTLOADER_OFFSET : BOOTLOADER_OFFSET + 4]
    if len(head) < 4 or head[0] != IMAGE_MAGIC:
        return "invalid header: 0x%08x" % struct.unpack("<I", head.ljust(4, b"\xff"))[0]
    try:
        image = LoadFirmwareImage("esp32", bytes(flash_bytes[BOOTLOADER_OFFSET:]))
    except (FatalError, struct.error, ValueError) as e:
        return "invalid header: %s" % e
    calculated = image.calculate_checksum()
    if calculated != image.checksum:
        return "Checksum failure. Calculated 0x%02x stored 0x%02x" % (calculated, image.checksum)
    if image.append_digest and image.stored_digest != image.calc_digest:
        return "SHA-256 comparison failed"
    return None


def make_app_image(code=b"sunprint test app", *, entry=0x40080400, flash_size_id=0x20):
    """A small, valid ESP32 application image: header, extended header, two segments,
    checksum and SHA-256 digest, in esptool's image format (check it with `esptool image-info`).

    `code` fills an IRAM segment (it is never executed: the emulated unit runs MicroPython on
    the host), a DRAM segment holds its length; the size/frequency byte says 4 MB, 40 MHz.
    """
    import hashlib

    def padded(data):
        return data + b"\x00" * (-len(data) % 4)

    segments = [
        (0x3FFB0000, padded(struct.pack("<I", len(code)) + b"sunprint")),
        (0x40080400, padded(code)),
    ]
    header = struct.pack("<BBBBI", IMAGE_MAGIC, len(segments), 2, flash_size_id, entry)
    # wp pin, drive settings, chip id 0 (ESP32), min rev, min/max full rev, reserved, hash flag
    extended = struct.pack("<BBBBHBHH4sB", 0xEE, 0, 0, 0, 0, 0, 0, 399, b"\0" * 4, 1)
    body = bytearray(header + extended)
    check = 0xEF
    for addr, data in segments:
        body += struct.pack("<II", addr, len(data)) + data
        for b in data:
            check ^= b
    body += b"\x00" * (15 - len(body) % 16)  # the checksum byte ends a 16-byte line
    body.append(check)
    body += hashlib.sha256(body).digest()
    return bytes(body)


class Device:
    """An ESP32 DevKitC: ROM loader and app on one line, with the ROM's fault knobs."""

    def __init__(
        self,
        flash_path,
        *,
        fs_dir=None,
        board=None,
        heap=110000,
        mac=DEFAULT_MAC,
        flash_size=4 * MB,
        mode="run",
        auto_reset=True,
        repl=True,
        firmware="stock",
        mqtt=None,
        on_note=None,
        **rom_faults,
    ):
        self.flash_path = Path(flash_path)
        self.fs_dir = (
            Path(fs_dir) if fs_dir else self.flash_path.with_name(self.flash_path.name + ".fs")
        )
        # FLASH.fs is the simulator's own (named after the flash image); a folder the user named
        # with --fs is the simulator's only if it was new or empty: a full erase wipes only that.
        self._fs_owned = not fs_dir or not self.fs_dir.is_dir() or not any(self.fs_dir.iterdir())
        self.fs_dir.mkdir(parents=True, exist_ok=True)
        self.board = board
        self.heap = heap
        self.auto_reset = auto_reset
        self.repl = repl
        self.firmware = firmware  # the image's kind when it boots (vboard.FIRMWARE_KINDS)
        self.mqtt = mqtt  # --mqtt: the real broker behind the simulated site (vboard_site.py)
        self.on_note = on_note
        self.rom = Esp32Rom(
            flash_path,
            mac=mac,
            flash_size=flash_size,
            on_leave=self._rom_leaves,
            on_erase=self._erased,
            **rom_faults,
        )
        self.rom.on_brownout = self._boot  # power dipped mid-write: the chip boots again
        self.write_output = None
        self.app = None
        self.state = "off"
        self.boot_message = None  # what the ROM printed when the image did not boot
        self.boots = 0
        self._tail = b""
        self._generation = 0
        self._lock = threading.RLock()
        self._server = None
        self._initial_mode = mode
        self._started = False

    # --- the transport-agnostic core -------------------------------------------------------

    def attach(self, write_output):
        self.write_output = write_output
        self.rom.attach(self._emitter("download"))
        if not self._started:
            self._started = True
            self.reset(download=self._initial_mode == "download")

    def _emitter(self, owner):
        """write_output for one occupant of the line, muted once another has taken over."""
        generation = self._generation

        def emit(data):
            if self.write_output is not None and self._generation == generation:
                self.write_output(data)

        return emit

    def feed(self, data):
        with self._lock:
            if self.state == "download":
                self.rom.feed(data)
                return
            seen = self._tail + data
            at = seen.find(SYNC_ON_WIRE) if self.auto_reset else -1
            if at >= 0:
                # esptool's reset into download mode (see the module docstring).
                self._enter_download(banner=False)
                self.rom.feed(seen[at:])
                self._tail = b""
                return
            self._tail = seen[-(len(SYNC_ON_WIRE) - 1) :]
            if self.state == "app" and self.app is not None:
                self.app.feed(data)

    def reset(self, hard=True, download=False):
        """EN pressed (or power cycled): boot the app, or with IO0 held low, the loader."""
        with self._lock:
            if download:
                self._enter_download(banner=True)
            else:
                self._boot()

    def close(self):
        with self._lock:
            self._stop_occupant()
            self.state = "off"
        if self._server is not None:
            self._server.close()
            self._server = None
        self.rom.close()

    # --- states -------------------------------------------------------------------------------

    def _stop_occupant(self):
        self._generation += 1  # mutes whatever the previous occupant still prints
        if self.app is not None:
            app, self.app = self.app, None
            app.close()

    def _enter_download(self, banner):
        self._stop_occupant()
        self.rom.reset()
        self.rom.attach(self._emitter("download"))
        self.state = "download"
        if banner and self.write_output is not None:
            self.write_output(DOWNLOAD_BANNER)

    def _rom_leaves(self, how):
        # Called by the ROM from inside feed(): the app takes the line after the ROM's reply.
        self._boot()

    def _boot(self):
        self._stop_occupant()
        self.boots += 1
        emit = self._emitter("app")
        emit(BOOT_BANNER)
        problem = check_boot_image(self.rom.flash.data)
        self.boot_message = problem
        if problem is not None:
            self.state = "boot_loop"
            self._start_boot_loop(problem, self._generation)
            return
        from host_tools.sim.board.vboard import VirtualBoard

        self.state = "app"
        if not self.repl:
            return  # firmware that is not MicroPython: nothing answers on the line
        self.app = VirtualBoard(
            str(self.fs_dir),
            board=self.board,
            heap=self.heap,
            firmware=self.firmware,
            mqtt=self.mqtt,
            mac=self.rom.mac,
            on_note=self.on_note,
        )
        self.app.attach(emit)
        self.app.reset(hard=True)

    def _start_boot_loop(self, message, generation):
        line = message.encode() + b"\r\n"

        def loop():
            stop = threading.Event()
            while self._generation == generation and self.state == "boot_loop":
                if self.write_output is not None:
                    self.write_output(line)
                stop.wait(BOOT_LOOP_PERIOD_S)

        threading.Thread(target=loop, daemon=True).start()

    def _erased(self, offset, size):
        # The MicroPython filesystem lives in flash: a whole-chip erase wipes it too.
        if offset == 0 and size >= self.rom.flash.size:
            if not self._fs_owned:
                print(
                    "sim unit: --fs %s held files before the simulator started: a full erase "
                    "leaves them" % self.fs_dir,
                    file=sys.stderr,
                )
                return
            shutil.rmtree(self.fs_dir, ignore_errors=True)
            self.fs_dir.mkdir(parents=True, exist_ok=True)

    # --- transports -------------------------------------------------------------------------------

    def serve_pty(self):
        self._server = LineServer(self)
        self.rom.hangup = self._server.hangup
        return self._server.serve_pty()

    def serve_tcp(self, port=0):
        self._server = LineServer(self)
        self.rom.hangup = self._server.hangup
        return self._server.serve_tcp(port)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
