"""The classic ESP32 serial bootloader (ROM and esptool's flasher stub), for the real esptool.

`Esp32Rom` speaks what esptool 5.6 sends an ESP32 in download mode: SLIP frames, SYNC, register
reads (chip magic, eFuses, the SPI controller's user commands for the flash ID), SPI_ATTACH,
SPI_SET_PARAMS, FLASH_BEGIN/DATA/END, FLASH_DEFL_*, SPI_FLASH_MD5, READ_FLASH_SLOW, and, once
esptool has uploaded its stub (MEM_BEGIN/DATA/END), the stub's dialect: an unsolicited OHAI,
2 status bytes, ERASE_FLASH, ERASE_REGION, READ_FLASH. The flash lives in a file and behaves like
NOR flash: a write ANDs into what is there, only an erase sets bytes back to 0xFF.

The ROM loader does not enable the SPI flash until SPI_ATTACH ("For commands which need to use
the flash, the ESP32 ROM loader requires ... SPI_ATTACH", Espressif's serial protocol; esptool's
attach_flash: "ROM loader doesn't enable flash unless we explicitly do it"): until then the
commands that use the flash (ROM_FLASH_COMMANDS) fail with status 0x01 0x06, as an ESP32 answers
FLASH_BEGIN. A reset (also the stub's reboot) detaches it again. The stub attaches the flash
itself when it starts.

The core is transport-agnostic (`attach(write_output)`, `feed(bytes)`, `reset()`, `close()`);
`serve_pty()` and `serve_tcp()` put it on a pseudo-terminal or a 127.0.0.1 port, the same shape
as the virtual board (host_tools/sim/board/vboard.py). Fault knobs for tests: `cut_after` (the link dies
after N bytes of flash data), `chip` (answer as another chip), `answer=False` (a dead line),
`refuse={op: code}` (the ROM answers those commands with that error code).
"""

import collections
import hashlib
import os
import struct
import threading
import zlib

from host_tools.sim.board.lineserver import LineServer

MB = 1024 * 1024
SECTOR = 0x1000

# Commands (esptool's ESPLoader.ESP_CMDS).
FLASH_BEGIN, FLASH_DATA, FLASH_END = 0x02, 0x03, 0x04
MEM_BEGIN, MEM_END, MEM_DATA = 0x05, 0x06, 0x07
SYNC, WRITE_REG, READ_REG = 0x08, 0x09, 0x0A
SPI_SET_PARAMS, SPI_ATTACH, READ_FLASH_SLOW, CHANGE_BAUDRATE = 0x0B, 0x0D, 0x0E, 0x0F
FLASH_DEFL_BEGIN, FLASH_DEFL_DATA, FLASH_DEFL_END, SPI_FLASH_MD5 = 0x10, 0x11, 0x12, 0x13
GET_SECURITY_INFO = 0x14
ERASE_FLASH, ERASE_REGION, READ_FLASH, RUN_USER_CODE = 0xD0, 0xD1, 0xD2, 0xD3
# What the ROM refuses until SPI_ATTACH: the commands that read or write the flash (FLASH_END
# only leaves the loader; registers, the SPI controller's among them, work without it).
ROM_FLASH_COMMANDS = frozenset(
    (FLASH_BEGIN, FLASH_DATA, FLASH_DEFL_BEGIN, FLASH_DEFL_DATA, SPI_FLASH_MD5, READ_FLASH_SLOW)
)

SYNC_PAYLOAD = b"\x07\x07\x12\x20" + 32 * b"\x55"
CHECKSUM_SEED = 0xEF

# ROM error codes (second status byte after a 1) and stub error codes (first status byte).
ROM_INVALID_MESSAGE, ROM_FAILED, ROM_BAD_CHECKSUM = 0x05, 0x06, 0x07
ROM_FLASH_WRITE_ERR, ROM_FLASH_READ_ERR, ROM_READ_LENGTH_ERR, ROM_DEFLATE_ERR = 8, 9, 0x0A, 0x0B
STUB_BAD_DATA_LEN, STUB_BAD_CHECKSUM, STUB_INVALID_COMMAND = 0xC0, 0xC1, 0xC3
STUB_FAILED_SPI_OP, STUB_NOT_IN_FLASH_MODE, STUB_INFLATE_ERROR = 0xC4, 0xC6, 0xC7

# Registers esptool reads from a classic ESP32.
CHIP_MAGIC_REG = 0x40001000
EFUSE_BASE = 0x3FF5A000
APB_CTL_DATE = 0x3FF6607C
UART_CLKDIV = 0x3FF40014
RTCCALICFG1 = 0x3FF5F06C
GPIO_STRAP = 0x3FF44038
SPI_BASE = 0x3FF42000
SPI_CMD, SPI_USR2, SPI_W0 = SPI_BASE + 0x00, SPI_BASE + 0x24, SPI_BASE + 0x80
SPI_CMD_USR = 1 << 18

# What each chip answers to chip detection: the magic word at 0x40001000, or (chips that have
# GET_SECURITY_INFO) a chip ID. Values from esptool's targets/.
CHIPS = {
    "ESP32": {"magic": 0x00F01D83, "chip_id": None},
    "ESP8266": {"magic": 0xFFF0C101, "chip_id": None},
    "ESP32-S2": {"magic": 0x000007C6, "chip_id": None},
    "ESP32-S3": {"magic": 0x00000009, "chip_id": 9},
    "ESP32-C3": {"magic": 0x1B31506F, "chip_id": 5},
}

# JEDEC capacity byte of a Winbond W25Q-series flash for each size.
FLASH_CAPACITY_ID = {1 * MB: 0x14, 2 * MB: 0x15, 4 * MB: 0x16, 8 * MB: 0x17, 16 * MB: 0x18}
DEFAULT_MAC = "24:0a:c4:12:34:56"
ROM_ASSUMED_FLASH = 2 * MB  # until SPI_SET_PARAMS, as the ESP32 ROM does
# What a link cut does: "silent" the line goes dead until reset(); "close" the connection drops
# (TCP: the unit resets and the next client gets it; pty: the pty goes away, a USB adapter
# pulled out); "brownout" the unit resets mid-write (its power dipped): the command gets no
# answer and the unit comes back up as after a reset (`on_brownout`, else a fresh loader).
CUT_MODES = ("silent", "close", "brownout")


def slip_frame(payload):
    return b"\xc0" + payload.replace(b"\xdb", b"\xdb\xdd").replace(b"\xc0", b"\xdb\xdc") + b"\xc0"


def slip_unescape(body):
    return body.replace(b"\xdb\xdc", b"\xc0").replace(b"\xdb\xdd", b"\xdb")


def checksum(data):
    state = CHECKSUM_SEED
    for b in data:
        state ^= b
    return state


def parse_mac(text):
    parts = text.replace("-", ":").split(":")
    if len(parts) != 6:
        raise ValueError("MAC %r: expected six hex bytes like 24:0a:c4:12:34:56" % text)
    return bytes(int(p, 16) for p in parts)


class FlashFile:
    """NOR flash kept in a file: writes AND, erases set 0xFF, every change written through."""

    def __init__(self, path, size):
        self.path = str(path)
        self.size = size
        exists = os.path.exists(self.path)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        current = os.fstat(self.fd).st_size
        if not exists or current == 0:
            os.ftruncate(self.fd, 0)
            os.pwrite(self.fd, b"\xff" * size, 0)
        elif current != size:
            os.close(self.fd)
            raise ValueError("%s holds %d bytes, not a %d-byte flash" % (self.path, current, size))
        self.data = bytearray(os.pread(self.fd, size, 0))

    def read(self, offset, length):
        return bytes(self.data[offset : offset + length])

    def write(self, offset, chunk):
        end = offset + len(chunk)
        old = int.from_bytes(self.data[offset:end], "little")
        anded = (old & int.from_bytes(chunk, "little")).to_bytes(len(chunk), "little")
        self.data[offset:end] = anded
        os.pwrite(self.fd, anded, offset)

    def erase(self, offset, length):
        self.data[offset : offset + length] = b"\xff" * length
        os.pwrite(self.fd, b"\xff" * length, offset)

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class Esp32Rom:
    """An ESP32 in UART download mode, as the real esptool sees it over one serial line."""

    def __init__(
        self,
        flash_path,
        *,
        flash_size=4 * MB,
        mac=DEFAULT_MAC,
        chip="ESP32",
        answer=True,
        cut_after=None,
        cut_mode="silent",
        on_leave=None,
        on_erase=None,
        refuse=None,
    ):
        if flash_size not in FLASH_CAPACITY_ID:
            raise ValueError("flash size %d: one of %s" % (flash_size, sorted(FLASH_CAPACITY_ID)))
        if chip not in CHIPS:
            raise ValueError("chip %r: one of %s" % (chip, ", ".join(CHIPS)))
        if cut_mode not in CUT_MODES:
            raise ValueError("cut_mode %r: one of %s" % (cut_mode, ", ".join(CUT_MODES)))
        self.flash = FlashFile(flash_path, flash_size)
        self.mac = parse_mac(mac) if isinstance(mac, str) else bytes(mac)
        self.chip = chip
        self.answer = answer
        self.cut_after = cut_after
        self.cut_mode = cut_mode
        self.on_leave = on_leave  # called with "run" when the ROM jumps to the app
        self.on_erase = on_erase  # called with (offset, size) after ERASE_FLASH / ERASE_REGION
        self.refuse = dict(refuse or {})  # {op: ROM error code}: what this ROM refuses
        self.on_brownout = None  # what a "brownout" cut does instead of a fresh loader
        self.write_output = None
        self.hangup = None  # set by a transport: drops the connection (cut_mode "close")
        self.flash_bytes_received = 0
        self.cut = False
        self.commands = collections.deque(maxlen=4096)  # (stub?, op): what esptool sent
        self._lock = threading.RLock()
        self.reset()

    # --- the transport-agnostic core -------------------------------------------------------

    def attach(self, write_output):
        self.write_output = write_output

    def reset(self, hard=True):
        """Power-on reset into download mode: the ROM loader, no stub, no flash session."""
        with self._lock:
            self.stub = False
            self.rx = bytearray()
            self.in_frame = False
            self.regs = {}
            self.flash_limit = ROM_ASSUMED_FLASH
            self.attached = False  # SPI_ATTACH: the ROM enables the flash only then
            self.session = None  # the open FLASH_BEGIN / FLASH_DEFL_BEGIN
            self.mem_session = None
            self.reading = None  # the stub's READ_FLASH stream in progress
            self.cut = False

    def close(self):
        self.flash.close()

    def feed(self, data):
        """Bytes from the host: run every complete SLIP frame."""
        with self._lock:
            if not self.answer or self.cut:
                return
            self.rx += data
            while True:
                start = self.rx.find(b"\xc0")
                if start < 0:
                    self.rx.clear()  # bytes outside a frame: the ROM ignores them
                    return
                end = self.rx.find(b"\xc0", start + 1)
                if end < 0:
                    del self.rx[:start]
                    return
                body = bytes(self.rx[start + 1 : end])
                del self.rx[:end]  # keep the closing 0xC0: it may open the next frame
                if body:
                    self._frame(slip_unescape(body))
                    if self.cut:
                        self.rx.clear()
                        self._after_cut()
                        return

    # --- framing and replies ---------------------------------------------------------------

    def _send(self, payload):
        if self.write_output is not None and not self.cut:
            self.write_output(slip_frame(payload))

    def _reply(self, op, value=0, data=b"", error=0):
        """A response: direction 1, op, length, value, data, then the status bytes."""
        if self.stub:
            status = bytes([error, 0]) if error else b"\x00\x00"
        else:
            status = bytes([1, error, 0, 0]) if error else b"\x00\x00\x00\x00"
        body = data + status
        self._send(struct.pack("<BBHI", 1, op, len(body), value) + body)

    def _fail(self, op, rom_error, stub_error):
        self._reply(op, error=stub_error if self.stub else rom_error)

    def _frame(self, packet):
        if self.reading is not None and len(packet) == 4:
            self._read_ack(packet)
            return
        if len(packet) < 8 or packet[0] != 0:
            return
        _, op, length, chk = struct.unpack("<BBHI", packet[:8])
        data = packet[8 : 8 + length]
        self.commands.append((self.stub, op))
        handler = self._HANDLERS.get(op)
        if handler is None or (op >= ERASE_FLASH and not self.stub):
            self._fail(op, ROM_INVALID_MESSAGE, STUB_INVALID_COMMAND)
            return
        if not self.stub and op in self.refuse:
            self._reply(op, error=self.refuse[op])
            return
        if not self.stub and not self.attached and op in ROM_FLASH_COMMANDS:
            self._fail(op, ROM_FAILED, STUB_FAILED_SPI_OP)  # the flash is not enabled yet
            return
        handler(self, op, data, chk)

    # --- commands ---------------------------------------------------------------------------

    def _sync(self, op, data, chk):
        if data != SYNC_PAYLOAD:
            self._fail(op, ROM_INVALID_MESSAGE, STUB_BAD_DATA_LEN)
            return
        # The ROM answers a SYNC eight times (esptool reads seven extra replies); a non-zero
        # value says "ROM", zero would say "the stub is already running".
        for _ in range(8):
            self._reply(op, value=0 if self.stub else 0x20120707)

    def _read_reg(self, op, data, chk):
        if len(data) < 4:
            self._fail(op, ROM_INVALID_MESSAGE, STUB_BAD_DATA_LEN)
            return
        (addr,) = struct.unpack("<I", data[:4])
        self._reply(op, value=self.register(addr))

    def _write_reg(self, op, data, chk):
        if len(data) < 16 or len(data) % 16:
            self._fail(op, ROM_INVALID_MESSAGE, STUB_BAD_DATA_LEN)
            return
        for i in range(0, len(data), 16):
            addr, value, mask, _delay = struct.unpack("<IIII", data[i : i + 16])
            old = self.register(addr)
            self.regs[addr] = (old & ~mask & 0xFFFFFFFF) | (value & mask)
            if addr == SPI_CMD and value & SPI_CMD_USR:
                self._spi_user_command()
        self._reply(op)

    def register(self, addr):
        if addr in self.regs:
            return self.regs[addr]
        if addr == CHIP_MAGIC_REG:
            return CHIPS[self.chip]["magic"]
        if EFUSE_BASE <= addr < EFUSE_BASE + 0x80:
            return self._efuse_word((addr - EFUSE_BASE) // 4)
        if addr == APB_CTL_DATE:
            return 1 << 31  # with the eFuse bits below: chip revision v3
        if addr == UART_CLKDIV:
            return 347  # 40 MHz crystal at 115200 baud
        if addr == RTCCALICFG1:
            return 1969 << 7  # the ROM's 8 MHz calibration: a 40 MHz crystal
        if addr == GPIO_STRAP:
            return 0x13  # strapping: UART download boot, VDD_SDIO 3.3 V
        return 0

    def _efuse_word(self, n):
        mac = self.mac
        if n == 1:
            return int.from_bytes(mac[2:6], "big")
        if n == 2:
            return int.from_bytes(mac[0:2], "big")
        if n == 3:
            return (1 << 9) | (1 << 15)  # package ESP32-D0WD, revision bit 0
        if n == 4:
            return 0x34  # 8 MHz oscillator calibration (esptool's crystal estimate)
        if n == 5:
            return 1 << 20  # revision bit 1
        return 0

    def _spi_user_command(self):
        """Run the SPI user command esptool staged (USR2 holds the command byte)."""
        command = self.regs.get(SPI_USR2, 0) & 0xFF
        if command == 0x9F:  # RDID: manufacturer, memory type, capacity
            result = 0xEF | (0x40 << 8) | (FLASH_CAPACITY_ID[self.flash.size] << 16)
        elif command == 0x5A:  # SFDP: this flash has no SFDP table to offer
            result = 0xFFFFFFFF
        else:  # status registers and write-enable: all clear
            result = 0
        self.regs[SPI_W0] = result
        self.regs[SPI_CMD] = self.regs.get(SPI_CMD, 0) & ~SPI_CMD_USR

    def _security_info(self, op, data, chk):
        chip_id = CHIPS[self.chip]["chip_id"]
        if chip_id is None:  # the classic ESP32 ROM has no such command
            self._fail(op, ROM_INVALID_MESSAGE, STUB_INVALID_COMMAND)
            return
        info = struct.pack("<IBBBBBBBBII", 0, 0, 0, 0, 0, 0, 0, 0, 0, chip_id, 0)
        self._reply(op, data=info)

    def _spi_attach(self, op, data, chk):
        if len(data) != (4 if self.stub else 8):
            self._fail(op, ROM_INVALID_MESSAGE, STUB_BAD_DATA_LEN)
            return
        self.attached = True
        self._reply(op)

    def _spi_set_params(self, op, data, chk):
        if len(data) != 24:
            self._fail(op, ROM_INVALID_MESSAGE, STUB_BAD_DATA_LEN)
            return
        total = struct.unpack("<6I", data)[1]
        self.flash_limit = min(total, self.flash.size)
        self._reply(op)

    def _change_baudrate(self, op, data, chk):
        self._reply(op)  # a pty or a socket has no baud rate to change

    def _begin(self, op, data, chk):
        compressed = op == FLASH_DEFL_BEGIN
        if len(data) not in (16, 20):  # the ESP32 ROM takes 16 bytes, the stub 20
            self._fail(op, ROM_INVALID_MESSAGE, STUB_BAD_DATA_LEN)
            return
        size, blocks, block_size, offset = struct.unpack("<IIII", data[:16])
        if not self.stub and offset % SECTOR:  # the ROM erases whole sectors only
            self._fail(op, ROM_FAILED, STUB_FAILED_SPI_OP)
            return
        if offset + size > self.flash_limit:
            self._fail(op, ROM_FAILED, STUB_FAILED_SPI_OP)
            return
        self.session = {
            "compressed": compressed,
            "offset": offset,
            "write_at": offset,
            "size": size,
            "block_size": block_size,
            "seq": 0,
            "inflate": zlib.decompressobj() if compressed else None,
            "erased_to": offset - offset % SECTOR,
        }
        if not self.stub and size:
            # The ROM erases the whole region before any data arrives; the stub erases as
            # it writes (so a cut write leaves the tail as it was).
            self._erase_to(offset + size)
        self._reply(op)

    def _erase_to(self, end):
        session = self.session
        end = min(-(-end // SECTOR) * SECTOR, self.flash.size)
        if end > session["erased_to"]:
            self.flash.erase(session["erased_to"], end - session["erased_to"])
            session["erased_to"] = end

    def _data(self, op, data, chk):
        session = self.session
        if session is None or session["compressed"] != (op == FLASH_DEFL_DATA):
            self._fail(op, ROM_FAILED, STUB_NOT_IN_FLASH_MODE)
            return
        if len(data) < 16:
            self._fail(op, ROM_INVALID_MESSAGE, STUB_BAD_DATA_LEN)
            return
        length, seq = struct.unpack("<II", data[:8])
        block = data[16:]
        if length != len(block):
            self._fail(op, ROM_INVALID_MESSAGE, STUB_BAD_DATA_LEN)
            return
        if checksum(block) != chk:
            self._fail(op, ROM_BAD_CHECKSUM, STUB_BAD_CHECKSUM)
            return
        if self._cut_now(len(block)):
            return
        if session["compressed"]:
            try:
                out = session["inflate"].decompress(block)
            except zlib.error:
                self._fail(op, ROM_DEFLATE_ERR, STUB_INFLATE_ERROR)
                return
        else:
            out = block
        at = session["write_at"]
        if at + len(out) > self.flash_limit:
            self._fail(op, ROM_FLASH_WRITE_ERR, STUB_FAILED_SPI_OP)
            return
        if self.stub:
            self._erase_to(at + len(out))
        self.flash.write(at, out)
        session["write_at"] = at + len(out)
        session["seq"] = seq + 1
        self._reply(op)

    def _cut_now(self, nbytes):
        """The link-cut fault: True (and the line is dead) once `cut_after` bytes have come."""
        self.flash_bytes_received += nbytes
        if self.cut_after is None or self.flash_bytes_received <= self.cut_after:
            return False
        self.cut = True
        self.cut_after = None  # one cut per run; a reset brings the unit back
        return True

    def _after_cut(self):
        if self.cut_mode == "close" and self.hangup is not None:
            self.hangup()
        elif self.cut_mode == "brownout":
            if self.on_brownout is not None:
                self.on_brownout()
            else:
                self.reset()

    def _end(self, op, data, chk):
        run_user_code = len(data) >= 4 and struct.unpack("<I", data[:4])[0] == 1
        if self.session is None and not self.stub and op == FLASH_DEFL_END:
            self._fail(op, ROM_FAILED, STUB_NOT_IN_FLASH_MODE)
            return
        self.session = None
        self._reply(op)
        if self.stub:
            if not run_user_code:
                # The stub's reboot: a software reset, which comes back up in the mode the
                # strapping pins were latched in at the last chip reset: download mode.
                self.reset()
            return
        if run_user_code:
            # The ROM leaves the loader and jumps to the application.
            if self.on_leave is not None:
                self.on_leave("run")
        else:
            self.reset()

    def _md5(self, op, data, chk):
        if len(data) < 8:
            self._fail(op, ROM_INVALID_MESSAGE, STUB_BAD_DATA_LEN)
            return
        addr, size = struct.unpack("<II", data[:8])
        if addr + size > self.flash.size:
            self._fail(op, ROM_FLASH_READ_ERR, STUB_FAILED_SPI_OP)
            return
        digest = hashlib.md5(self.flash.data[addr : addr + size])
        # The ROM answers in hex text, the stub in raw bytes.
        self._reply(op, data=digest.digest() if self.stub else digest.hexdigest().encode())

    def _read_slow(self, op, data, chk):
        if len(data) != 8:
            self._fail(op, ROM_INVALID_MESSAGE, STUB_BAD_DATA_LEN)
            return
        addr, length = struct.unpack("<II", data)
        if length > 64 or addr + length > self.flash.size:
            self._fail(op, ROM_READ_LENGTH_ERR, STUB_BAD_DATA_LEN)
            return
        self._reply(op, data=self.flash.read(addr, length).ljust(64, b"\xff"))

    def _read_flash(self, op, data, chk):
        if len(data) != 16:
            self._fail(op, ROM_INVALID_MESSAGE, STUB_BAD_DATA_LEN)
            return
        addr, length, block, inflight = struct.unpack("<IIII", data)
        if addr + length > self.flash.size or block == 0 or inflight == 0:
            self._fail(op, ROM_INVALID_MESSAGE, STUB_BAD_DATA_LEN)
            return
        self._reply(op)
        self.reading = {
            "addr": addr,
            "end": addr + length,
            "block": block,
            "inflight": inflight,
            "sent": 0,
            "acked": 0,
            "md5": hashlib.md5(),
        }
        self._read_pump()

    def _read_pump(self):
        """Send blocks while fewer than `inflight` are unacknowledged, as the stub does."""
        r = self.reading
        while r["addr"] + r["sent"] < r["end"]:
            in_flight = (r["sent"] - r["acked"] + r["block"] - 1) // r["block"]
            if in_flight >= r["inflight"]:
                return
            at = r["addr"] + r["sent"]
            chunk = self.flash.read(at, min(r["block"], r["end"] - at))
            r["md5"].update(chunk)
            r["sent"] += len(chunk)
            self._send(chunk)

    def _read_ack(self, packet):
        r = self.reading
        r["acked"] = struct.unpack("<I", packet)[0]
        if r["acked"] >= r["end"] - r["addr"]:
            self.reading = None
            self._send(r["md5"].digest())
        else:
            self._read_pump()

    def _erase_flash(self, op, data, chk):
        self.flash.erase(0, self.flash.size)
        if self.on_erase is not None:
            self.on_erase(0, self.flash.size)
        self._reply(op)

    def _erase_region(self, op, data, chk):
        if len(data) != 8:
            self._fail(op, ROM_INVALID_MESSAGE, STUB_BAD_DATA_LEN)
            return
        addr, size = struct.unpack("<II", data)
        if addr % SECTOR or size % SECTOR or addr + size > self.flash.size:
            self._fail(op, ROM_INVALID_MESSAGE, STUB_BAD_DATA_LEN)
            return
        self.flash.erase(addr, size)
        if self.on_erase is not None:
            self.on_erase(addr, size)
        self._reply(op)

    def _mem_begin(self, op, data, chk):
        if len(data) != 16:
            self._fail(op, ROM_INVALID_MESSAGE, STUB_BAD_DATA_LEN)
            return
        size, blocks, block_size, offset = struct.unpack("<IIII", data)
        self.mem_session = {"size": size, "received": 0}
        self._reply(op)

    def _mem_data(self, op, data, chk):
        if self.mem_session is None:
            self._fail(op, ROM_FAILED, STUB_NOT_IN_FLASH_MODE)
            return
        block = data[16:]
        if len(data) < 16 or struct.unpack("<I", data[:4])[0] != len(block):
            self._fail(op, ROM_INVALID_MESSAGE, STUB_BAD_DATA_LEN)
            return
        if checksum(block) != chk:
            self._fail(op, ROM_BAD_CHECKSUM, STUB_BAD_CHECKSUM)
            return
        self.mem_session["received"] += len(block)
        self._reply(op)

    def _mem_end(self, op, data, chk):
        if len(data) != 8:
            self._fail(op, ROM_INVALID_MESSAGE, STUB_BAD_DATA_LEN)
            return
        no_entry, entry = struct.unpack("<II", data)
        self._reply(op)
        self.mem_session = None
        if not no_entry and entry:
            # esptool uploaded its flasher stub and jumps to it: the stub greets with OHAI
            # and speaks its own dialect from now on.
            self.stub = True
            self._send(b"OHAI")

    def _run_user_code(self, op, data, chk):
        if self.on_leave is not None:
            self.on_leave("run")  # no response: the stub jumps to the app

    _HANDLERS = {
        SYNC: _sync,
        READ_REG: _read_reg,
        WRITE_REG: _write_reg,
        GET_SECURITY_INFO: _security_info,
        SPI_ATTACH: _spi_attach,
        SPI_SET_PARAMS: _spi_set_params,
        CHANGE_BAUDRATE: _change_baudrate,
        FLASH_BEGIN: _begin,
        FLASH_DATA: _data,
        FLASH_END: _end,
        FLASH_DEFL_BEGIN: _begin,
        FLASH_DEFL_DATA: _data,
        FLASH_DEFL_END: _end,
        SPI_FLASH_MD5: _md5,
        READ_FLASH_SLOW: _read_slow,
        READ_FLASH: _read_flash,
        ERASE_FLASH: _erase_flash,
        ERASE_REGION: _erase_region,
        MEM_BEGIN: _mem_begin,
        MEM_DATA: _mem_data,
        MEM_END: _mem_end,
        RUN_USER_CODE: _run_user_code,
    }

    # --- ready-made transports ---------------------------------------------------------------

    def serve_pty(self):
        self._server = LineServer(self)
        self.hangup = self._server.hangup
        return self._server.serve_pty()

    def serve_tcp(self, port=0):
        self._server = LineServer(self)
        self.hangup = self._server.hangup
        return self._server.serve_tcp(port)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        server = getattr(self, "_server", None)
        if server is not None:
            server.close()
        self.close()
