"""`sunprint flash`: put the MicroPython firmware onto units, check it, record what went where.

    sunprint flash --port P --board NAME --firmware FILE [--registry CSV] [--no-deploy]
    sunprint flash --ports P1,P2,... | --ports auto  ...

For each unit, with the real esptool underneath (its Python API, in-process):
1. the image is checked before any port is touched: ESP32 image magic 0xE9, a sane segment
   count, the chip it was built for, its checksum and SHA-256 digest (esptool's image parser);
2. esptool connects and detects the chip; a chip other than the board profile's `chip` is
   refused (nothing written); the MAC is read; the flasher stub is started;
3. the image must fit the flash size the chip reports (JEDEC ID), at 0x1000 as MicroPython's
   ESP32 firmware .bin is laid out (bootloader, partition table, app);
4. erase the chip, write compressed, verify by reading back the MD5 of the region;
5. reboot into the app: the stub's reboot brings the ROM loader back, which enables the SPI
   flash only on SPI_ATTACH (as esptool's `run` does, the flash is attached first), then its
   "run user code" starts the app. This needs no DTR/RTS, so it works on boards without the
   auto-reset circuit, on pty and socket:// ports alike; if the ROM does not come back (a chip
   that reboots straight into the app), the app is already running;
6. wait for the app's REPL, then hand over to host_tools.deploy (app, board profile, status);
   with --no-deploy the job ends after the reboot (a bare image: no REPL to wait for);
7. append a row to the unit registry (host_tools/registry.py).
A unit that fails gets a one-line reason and a registry row; the others carry on. A loader that
refuses a command is said to (which command, its status and what it means), not taken for a
lost link.
Exit status: 0 every unit ok, 1 any failed, 2 bad input (board, firmware, ports).
"""

import concurrent.futures
import datetime
import errno
import hashlib
import os
import re
import socket
import struct
import sys
import threading
import time
from pathlib import Path

from host_tools import registry
from host_tools.errors import UserError

FIRMWARE_OFFSET = 0x1000  # MicroPython's ESP32 firmware .bin starts with the bootloader here
DEFAULT_REGISTRY = "sunprint-units.csv"
DEFAULT_BAUD = 460800
ROM_BAUD = 115200
REPL_TIMEOUT_S = 15.0
# USB serial adapters found on ESP32 boards (serial.tools.list_ports VID:PID).
USB_IDS = {
    (0x10C4, 0xEA60): "CP210x",
    (0x1A86, 0x7523): "CH340",
    (0x1A86, 0x55D4): "CH343",
    (0x0403, 0x6001): "FTDI FT232R",
    (0x0403, 0x6015): "FTDI FT231X",
    (0x303A, 0x1001): "ESP32-S3 USB",
}
# Image chip IDs (extended header) of the chips a board profile may name.
IMAGE_CHIP_IDS = {"ESP32": 0, "ESP32-S2": 2, "ESP32-C3": 5, "ESP32-S3": 9}
MAX_SEGMENTS = 16
UNBOOTABLE = "the unit may be unbootable: flash it again"


class FlashFailed(Exception):
    """One unit could not be flashed; str() is the one-line reason."""


# --- the image --------------------------------------------------------------------------------


def check_image(path, chip="ESP32"):
    """The firmware's bytes, if it is an image for `chip`; else UserError naming the file."""
    from esptool.bin_image import LoadFirmwareImage
    from esptool.util import FatalError

    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise UserError("%s: cannot read the firmware (%s)" % (path, e.strerror)) from None
    if len(data) < 24 or data[0] != 0xE9:
        first = "empty file" if not data else "first byte 0x%02x" % data[0]
        raise UserError("%s is not an ESP32 image (%s, expected 0xE9)" % (path, first))
    if not 1 <= data[1] <= MAX_SEGMENTS:
        raise UserError(
            "%s: %d segments in the image header (1..%d expected): not a valid ESP32 image"
            % (path, data[1], MAX_SEGMENTS)
        )
    chip_id = struct.unpack("<H", data[12:14])[0]
    wanted = IMAGE_CHIP_IDS.get(chip.upper())
    if wanted is not None and chip_id != wanted:
        names = {v: k for k, v in IMAGE_CHIP_IDS.items()}
        raise UserError(
            "%s is built for %s (image chip id %d), the board needs %s"
            % (path, names.get(chip_id, "another chip"), chip_id, chip)
        )
    try:
        image = LoadFirmwareImage("esp32", data)
    except (FatalError, struct.error) as e:
        raise UserError("%s: not a valid ESP32 image (%s)" % (path, e)) from None
    if image.calculate_checksum() != image.checksum:
        raise UserError("%s: the image checksum does not match: a damaged file" % path)
    if image.append_digest and image.stored_digest != image.calc_digest:
        raise UserError("%s: the image's SHA-256 digest does not match: a damaged file" % path)
    return data


# --- esptool's log, routed to the unit each thread flashes -----------------------------------


def _unit_log_class():
    from esp_pylib.logger import EspLogBase

    class UnitLog(EspLogBase):
        """esptool logs through one global object; threads flash different units, so each
        thread's lines and progress go to that unit's sink (kept for error messages)."""

        def __init__(self):
            self.local = threading.local()

        def _sink(self):
            return getattr(self.local, "sink", None)

        def _text(self, *args, **kwargs):
            sink = self._sink()
            if sink is not None:
                sink.text(" ".join(str(a) for a in args))

        print = note = hint = debug = _text

        def warn(self, *args, suggestion=None):
            self._text(*args)

        def err(self, *args, suggestion=None):
            self._text(*args)

        warning = warn
        error = err

        def set_verbosity(self, mode):
            pass

        def stage(self, finish=False):
            pass

        def progress_bar(self, cur_iter, total_iters, prefix="", suffix="", bar_length=30):
            sink = self._sink()
            if sink is not None and total_iters:
                sink.fraction(cur_iter / total_iters)

    return UnitLog


class _Sink:
    """What one unit's esptool run says: its lines, and progress within the current stage."""

    def __init__(self, report):
        self.report = report
        self.lines = []
        self.stage = ""

    def text(self, line):
        self.lines.append(line)
        del self.lines[:-200]

    def fraction(self, value):
        self.report(self.stage, value)


_LOG_LOCK = threading.Lock()
_LOG_USERS = [0, None, None]  # users, our logger, the logger it replaced


def _esptool_log(sink):
    """Context: esptool's log for the calling thread goes to `sink`."""
    from esp_pylib.logger import EspLog

    class Scope:
        def __enter__(self):
            with _LOG_LOCK:
                if _LOG_USERS[0] == 0:
                    _LOG_USERS[1] = _unit_log_class()()
                    _LOG_USERS[2] = EspLog.instance
                    EspLog.instance = _LOG_USERS[1]
                _LOG_USERS[0] += 1
            _LOG_USERS[1].local.sink = sink

        def __exit__(self, *exc):
            _LOG_USERS[1].local.sink = None
            with _LOG_LOCK:
                _LOG_USERS[0] -= 1
                if _LOG_USERS[0] == 0:
                    EspLog.instance = _LOG_USERS[2]

    return Scope()


class _NoHexDump:
    """Stands in for esptool's HexFormatter, which sunprint never shows (it never traces)."""

    def __init__(self, *args, **kwargs):
        pass

    def __format__(self, spec):
        return ""

    __str__ = __repr__ = lambda self: ""


def _skip_hex_dumps():
    """esptool 5.6 formats a hex dump of every packet it writes and reads (f-strings around
    HexFormatter in loader.py) also when tracing is off, and then drops it: 1.2 s of CPU per MB
    flashed, nine tenths of the flashing process's work, and under the GIL it made 8 units
    flashed in parallel take as long as one after another. Nothing sunprint runs turns
    esptool's trace on, so the dump is made empty."""
    import esptool.loader

    esptool.loader.HexFormatter = _NoHexDump


# --- one unit -----------------------------------------------------------------------------------


def _causes(error):
    """The error and the exceptions it was raised from, outermost first."""
    seen = []
    while error is not None and error not in seen:
        seen.append(error)
        error = error.__cause__ or error.__context__
    return seen


# What opening a port failed with, by errno (pyserial and esptool keep it in the chain of
# causes; its text is no guide: "[Errno 111] Connection refused" holds "Errno 11").
_OPEN_ERRORS = {
    errno.ENOENT: "port %s does not exist (is the unit plugged in?)",
    errno.EAGAIN: "port %s is busy: another program has it open",
    errno.EBUSY: "port %s is busy: another program has it open",
    errno.EACCES: "port %s: permission denied (may this user open serial ports?)",
    errno.ECONNREFUSED: "port %s: connection refused (nothing listens there)",
    errno.ETIMEDOUT: "port %s: the connection timed out",
    errno.EHOSTUNREACH: "port %s: no route to the host",
    errno.ENETUNREACH: "port %s: the network is unreachable",
}


def _open_error(port, error):
    """Why a port did not open, from the errno in the error's causes (None: not an open)."""
    for cause in _causes(error):
        if isinstance(cause, socket.gaierror):
            return "port %s: unknown host (%s)" % (port, cause.strerror)
        code = getattr(cause, "errno", None)
        if isinstance(cause, OSError) and isinstance(code, int) and code > 0:
            if code in _OPEN_ERRORS:
                return _OPEN_ERRORS[code] % port
            return "cannot open port %s (%s)" % (port, os.strerror(code))
        if isinstance(cause, ValueError):  # pyserial's check of a URL, e.g. its port number
            return "cannot open port %s (%s)" % (port, cause)
    return None


def _connect_error(port, error):
    text = str(error)
    if "Could not open" in text:
        reason = _open_error(port, error)
        if reason is not None:
            return reason
        return "cannot open port %s (%s)" % (port, text.splitlines()[-1].strip("() "))
    if "Failed to connect" in text or "No serial data" in text:
        return (
            "no answer from a bootloader on %s: is it an ESP32 in download mode "
            "(hold BOOT, press EN)?" % port
        )
    return "%s: %s" % (port, text.splitlines()[0])


def _connect_mode(port):
    """esptool's DTR/RTS reset into download mode, where the port has modem lines: a pty has
    none (esptool would only warn), socket:// neither (esptool skips it by itself)."""
    return "no-reset" if str(port).startswith("/dev/pts/") else "default-reset"


def _mac_text(esp):
    try:
        mac = esp.read_mac()
    except Exception:  # an unexpected chip may not have the eFuse layout we read
        return ""
    return ":".join("%02x" % b for b in mac) if mac else ""


def _verify(esp, data):
    return esp.flash_md5sum(FIRMWARE_OFFSET, len(data)) == hashlib.md5(data).hexdigest()


def _assess_after_cut(port, data, baud):
    """After a write that broke off: reconnect once and say what the flash now holds."""
    from esptool.cmds import detect_chip

    try:
        esp = detect_chip(port, ROM_BAUD, _connect_mode(port), connect_attempts=2)
    except Exception:
        return "the unit did not answer afterwards, %s" % UNBOOTABLE
    try:
        esp = esp.run_stub()
        from esptool.cmds import attach_flash

        attach_flash(esp)
        if _verify(esp, data):
            return "verify afterwards: the flash holds the whole image"
        return "verify afterwards: the flash does not match the image, %s" % UNBOOTABLE
    except Exception:
        return "the unit stopped answering during verify, %s" % UNBOOTABLE
    finally:
        try:
            esp._port.close()
        except Exception:
            pass


def _boot_app(esp):
    """Stub reboot -> ROM loader -> "run user code": the app starts without DTR/RTS. Its
    FLASH_BEGIN needs the flash the ROM enables only on SPI_ATTACH (else status 0x0106)."""
    from esptool.cmds import attach_flash
    from esptool.targets.esp32 import ESP32ROM
    from esptool.util import FatalError

    port = esp._port
    esp.flash_finish(reboot=True)
    rom = ESP32ROM(port, ROM_BAUD)
    try:
        rom.connect("no-reset", attempts=2, warnings=False)
    except FatalError:
        return "rebooted"  # no loader after the reboot: the chip went straight to the app
    attach_flash(rom)
    rom.run()
    return "run"


# The command behind each of esptool's "Failed to <what>" (esptool/loader.py check_command).
_LOADER_COMMANDS = (
    ("enter flash download mode", "FLASH_BEGIN"),
    ("leave flash download mode", "FLASH_END"),
    ("write to target flash", "FLASH_DATA"),
    ("write encrypted to target flash", "FLASH_DATA"),
    ("enter compressed flash mode", "FLASH_DEFL_BEGIN"),
    ("write compressed data to flash", "FLASH_DEFL_DATA"),
    ("leave compressed flash mode", "FLASH_DEFL_END"),
    ("calculate md5sum", "SPI_FLASH_MD5"),
    ("configure SPI flash pins", "SPI_ATTACH"),
    ("set SPI params", "SPI_SET_PARAMS"),
    ("read flash block", "READ_FLASH_SLOW"),
    ("read flash", "READ_FLASH"),
    ("erase flash", "ERASE_FLASH"),
    ("erase region", "ERASE_REGION"),
    ("enter RAM download mode", "MEM_BEGIN"),
    ("write to target RAM", "MEM_DATA"),
    ("leave RAM download mode", "MEM_END"),
    ("read target memory", "READ_REG"),
    ("write target memory", "WRITE_REG"),
)
# Status codes: the ROM answers 1 and a code (Espressif's serial protocol), the stub a code.
_ROM_STATUS = {
    0x05: "the message was invalid",
    0x06: "the ROM failed to act on it",
    0x07: "bad checksum",
    0x08: "flash write error",
    0x09: "flash read error",
    0x0A: "flash read length error",
    0x0B: "deflate error",
}
_STUB_STATUS = {
    0xC0: "bad data length",
    0xC1: "bad data checksum",
    0xC2: "bad block size",
    0xC3: "invalid command",
    0xC4: "failed SPI operation",
    0xC5: "failed SPI unlock",
    0xC6: "not in flash mode",
    0xC7: "inflate error",
    0xC8: "not enough data",
    0xC9: "too much data",
    0xFF: "command not implemented",
}
_NEEDS_FLASH = ("FLASH_BEGIN", "FLASH_DATA", "FLASH_DEFL_BEGIN", "FLASH_DEFL_DATA",
                "SPI_FLASH_MD5", "READ_FLASH_SLOW")  # fmt: skip


def _loader_refusal(error):
    """ "the ROM refused FLASH_BEGIN: status 0x0106 (...)" for an esptool error that carries a
    loader's status (its "result was XXXX"), else None: the command reached the chip, which
    answered it, so the link is not what failed."""
    text = str(error)
    m = re.search(r"Failed to (.+?) \(result was ([0-9a-fA-F]{4})", text)
    if m is None:
        return None
    what, status = m.group(1), int(m.group(2), 16)
    command = next((c for prefix, c in _LOADER_COMMANDS if what.startswith(prefix)), what)
    first, second = status >> 8, status & 0xFF
    if first == 0x01:  # the ROM: 1, then the error code
        meaning = _ROM_STATUS.get(second, "unknown error")
        if second == 0x06 and command in _NEEDS_FLASH:
            meaning += ": flash not attached (SPI_ATTACH), or the region is beyond it"
        return "the ROM refused %s: status 0x%04x (%s)" % (command, status, meaning)
    meaning = _STUB_STATUS.get(first, "unknown error")
    return "the flasher stub refused %s: status 0x%04x (%s)" % (command, status, meaning)


def _wait_for_repl(port, timeout=REPL_TIMEOUT_S):
    """True once the app's MicroPython REPL shows its prompt (after a Ctrl-C)."""
    import serial

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            link = serial.serial_for_url(port, baudrate=ROM_BAUD, timeout=0.3, exclusive=True)
        except serial.SerialException:
            time.sleep(0.2)
            continue
        try:
            seen = b""
            while time.monotonic() < end:
                link.write(b"\r\x03")
                seen = (seen + link.read(4096))[-4096:]
                if b">>> " in seen:
                    return True
        except serial.SerialException:
            time.sleep(0.2)
        finally:
            link.close()
    return False


def _deploy_hook():
    """host_tools.deploy.deploy(port, board_name, progress=None) -> dict, if it exists."""
    try:
        from host_tools.deploy import deploy
    except ModuleNotFoundError as e:
        if e.name != "host_tools.deploy":
            raise
        return None
    return deploy


def flash_unit(
    port, board, data, *, baud=DEFAULT_BAUD, connect_attempts=3, deploy=True, report=None,
    check_app=True, unit_config=None,
):  # fmt: skip
    """Flash one unit; returns its registry row (result "ok" or "failed", and why).

    deploy=False (--no-deploy) or check_app=False stops after the verify and the reboot: no REPL
    is waited for (a bare image, or a factory programming only the binary), nothing deployed."""
    report = report or (lambda stage, fraction: None)
    row = {
        "port": port,
        "board": board["name"],
        "firmware_sha256": hashlib.sha256(data).hexdigest(),
    }
    sink = _Sink(report)
    with _esptool_log(sink):
        try:
            row["message"] = _flash_unit(
                port,
                board,
                data,
                baud,
                connect_attempts,
                deploy,
                row,
                sink,
                check_app,
                unit_config,
            )
            row["result"] = "ok"
        except FlashFailed as e:
            row["result"] = "failed"
            row["message"] = str(e)
    row["time"] = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    report("done" if row["result"] == "ok" else "failed", 1.0)
    return row


def _flash_unit(
    port, board, data, baud, connect_attempts, deploy, row, sink, check_app, unit_config=None
):
    import serial

    _skip_hex_dumps()
    from esptool.cmds import attach_flash, detect_chip, detect_flash_size, erase_flash, write_flash
    from esptool.util import FatalError, flash_size_bytes

    def stage(name):
        sink.stage = name
        sink.report(name, 0.0)

    stage("connect")
    try:
        esp = detect_chip(port, ROM_BAUD, _connect_mode(port), connect_attempts=connect_attempts)
    except (FatalError, serial.SerialException, OSError) as e:
        raise FlashFailed(_connect_error(port, e)) from None
    written = False
    try:
        row["chip"] = esp.CHIP_NAME
        row["mac"] = _mac_text(esp)
        wanted = board.get("chip", "ESP32").upper()
        if esp.CHIP_NAME.upper() != wanted:
            raise FlashFailed(
                "the unit is an %s, board %s needs an %s: nothing written"
                % (esp.CHIP_NAME, board["name"], wanted)
            )
        esp = esp.run_stub()
        if baud != ROM_BAUD:
            esp.change_baud(baud)
        attach_flash(esp)
        size_name = detect_flash_size(esp)
        if size_name is None:
            raise FlashFailed("the unit's flash chip reports an unknown size: nothing written")
        flash_size = flash_size_bytes(size_name)
        esp.flash_set_parameters(flash_size)
        if FIRMWARE_OFFSET + len(data) > flash_size:
            raise FlashFailed(
                "the image (%d bytes at 0x%x) does not fit the unit's %s flash: nothing written"
                % (len(data), FIRMWARE_OFFSET, size_name)
            )
        stage("erase")
        erase_flash(esp)
        written = True
        stage("write")
        write_flash(esp, [(FIRMWARE_OFFSET, data)], flash_size="keep", compress=True)
        stage("verify")
        if not _verify(esp, data):
            raise FlashFailed("verify: the flash does not match the image, %s" % UNBOOTABLE)
        stage("reboot")
        booted = _boot_app(esp)
    except FlashFailed:
        raise
    except (FatalError, serial.SerialException, OSError, StopIteration) as e:
        refusal = _loader_refusal(e)
        what = refusal or (str(e).splitlines()[0] if str(e) else type(e).__name__)
        if not written:
            raise FlashFailed("%s: %s (nothing written)" % (port, what)) from None
        try:
            esp._port.close()
        except Exception:
            pass
        if sink.stage == "reboot":  # the image is in place and verified: only the start failed
            if refusal is None:
                what = "the link was lost (%s)" % what
            raise FlashFailed(
                "flashed and verified, but the app was not started: " + what
            ) from None
        doing = {"erase": "erasing", "write": "writing", "verify": "verifying"}
        doing = doing.get(sink.stage, sink.stage)
        if refusal is not None:
            failed = "%s while %s" % (refusal, doing)
        else:
            failed = "link lost while %s (%s)" % (doing, what)
        raise FlashFailed("%s; %s" % (failed, _assess_after_cut(port, data, baud))) from None
    finally:
        try:
            esp._port.close()
        except Exception:
            pass
    started = "app started" if booted == "run" else "rebooted"
    if not deploy or not check_app:
        return "flashed %d bytes, verified; %s; not deployed (--no-deploy)" % (len(data), started)
    stage("repl")
    if not _wait_for_repl(port):
        raise FlashFailed(
            "flashed and verified, but the app's REPL did not answer within %d s of the reboot"
            % REPL_TIMEOUT_S
        )
    message = "flashed %d bytes, verified; the REPL answers" % len(data)
    hook = _deploy_hook()
    if hook is None:
        return message + "; deploy skipped: host_tools.deploy is not available"
    stage("deploy")
    try:
        result = hook(port, board["name"], progress=None)
    except Exception as e:  # the deploy step reports its own one-line reasons
        raise FlashFailed("flashed and verified; deploy failed: %s" % e) from None
    # deploy reports the firmware version and the app folder's content hash; a config hash
    # when it writes the unit config (empty until it does).
    version = str(result.get("app_version") or result.get("firmware") or "")
    if result.get("app"):
        version = "%s+%s" % (version, result["app"]) if version else str(result["app"])
    row["app_version"] = version
    row["config_hash"] = str(result.get("config_hash") or "")
    if result.get("rtc_offset_s") is not None:  # deploy set the unit's clock from this computer
        row["rtc_offset_s"] = str(result["rtc_offset_s"])
    message += "; app deployed"
    if unit_config is None:
        return message
    stage("config")
    return message + _write_unit_config(port, unit_config, row)


# --- many units ---------------------------------------------------------------------------------


def auto_ports():
    """Serial ports of USB adapters that ESP32 boards carry (by VID:PID)."""
    from serial.tools import list_ports

    return [p.device for p in list_ports.comports() if (p.vid, p.pid) in USB_IDS]


def parse_ports(port, ports):
    if port and ports:
        raise UserError("give --port or --ports, not both")
    if port:
        return [port]
    if not ports:
        raise UserError("no port: give --port P, --ports P1,P2,... or --ports auto")
    if ports.strip() == "auto":
        found = auto_ports()
        if not found:
            names = ", ".join(sorted(set(USB_IDS.values())))
            raise UserError(
                "--ports auto: no USB serial adapter of an ESP32 board found (%s)" % names
            )
        return found
    listed = [p.strip() for p in ports.split(",") if p.strip()]
    if len(set(listed)) != len(listed):
        raise UserError("--ports lists a port twice: %s" % ports)
    return listed


class _Display:
    """One progress line per unit (tqdm bars on a terminal, stage lines otherwise)."""

    def __init__(self, ports, stream=None):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.lock = threading.Lock()
        self.last = {}
        self.bars = {}
        if self.tty:
            from tqdm import tqdm

            width = max(len(p) for p in ports)
            for i, port in enumerate(ports):
                self.bars[port] = tqdm(
                    total=100,
                    position=i,
                    desc=port.ljust(width),
                    file=self.stream,
                    bar_format="{desc} {postfix:<8} {bar} {percentage:3.0f}%",
                    leave=True,
                )

    def reporter(self, port):
        def report(stage, fraction):
            with self.lock:
                if self.tty:
                    bar = self.bars[port]
                    bar.set_postfix_str(stage, refresh=False)
                    bar.n = int(100 * _overall(stage, fraction))
                    bar.refresh()
                elif self.last.get(port) != stage:
                    self.last[port] = stage
                    print("%s: %s" % (port, stage), file=self.stream, flush=True)

        return report

    def close(self):
        for bar in self.bars.values():
            bar.close()


_STAGES = {"connect": (0, 5), "erase": (5, 10), "write": (10, 85), "verify": (85, 88),
           "reboot": (88, 90), "repl": (90, 93), "deploy": (93, 100)}  # fmt: skip


def _overall(stage, fraction):
    if stage in ("done", "failed"):
        return 1.0
    lo, hi = _STAGES.get(stage, (0, 0))
    return (lo + (hi - lo) * max(0.0, min(1.0, fraction))) / 100


def flash_units(ports, board_name, firmware, *, registry_path=DEFAULT_REGISTRY, baud=DEFAULT_BAUD,
                connect_attempts=3, deploy=True, display=None, unit_config=None):  # fmt: skip
    """Flash every port in parallel; returns their registry rows (also appended to the CSV)."""
    from host_tools.boards import load_board

    registry.check(registry_path)  # a CSV that is not a registry: refused before any unit

    board = dict(load_board(board_name), name=board_name)
    try:
        data = check_image(firmware, board.get("chip", "ESP32"))
    except UserError as e:
        stamp = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
        for port in ports:
            registry.append(registry_path, {
                "time": stamp, "port": port, "board": board_name, "result": "refused",
                "message": str(e),
            })  # fmt: skip
        raise
    report_for = display.reporter if display else (lambda port: None)

    def one(port):
        row = flash_unit(port, board, data, baud=baud, connect_attempts=connect_attempts,
                         deploy=deploy, report=report_for(port),
                         unit_config=unit_config)  # fmt: skip
        registry.append(registry_path, row)
        return row

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(ports))) as pool:
        return list(pool.map(one, ports))


def summary_table(rows):
    headers = ("port", "mac", "chip", "result", "message")
    table = [headers] + [tuple(r.get(h, "") or "-" for h in headers) for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(headers) - 1)]
    out = []
    for line in table:
        cells = [line[i].ljust(widths[i]) for i in range(len(widths))] + [line[-1]]
        out.append("  ".join(cells))
    return "\n".join(out)


def _write_unit_config(port, options, row):
    """Write the unit's /config.json (unit id from the MAC unless given) and check the status
    the unit reports with it; the registry row gets the config's hash."""
    from host_tools import unitconfig

    options = dict(options)
    if not options.get("unit_id"):
        options["unit_id"] = unitconfig.unit_id_for(row.get("mac", ""))
    text, digest = unitconfig.make_config(**options)
    try:
        status = unitconfig.write_config(port, text)
    except Exception as e:  # noqa: BLE001 - LinkLost, DeviceError, a garbled reply
        raise FlashFailed(
            "flashed, verified and deployed; writing the unit config failed: %s" % e
        ) from None
    problem = unitconfig.check_status(status, text)
    if problem is not None:
        raise FlashFailed(
            "flashed, verified and deployed; the unit config did not take: " + problem
        )
    row["config_hash"] = digest
    return "; config written (unit %s, %s)" % (status["unit_id"], status["carbon_source"])


def _unit_config_options(args, ports):
    """The --unit-id/--site/--carbon-region/--carbon-year/--tz options, checked before any unit
    is touched (None with --no-deploy: no app to configure)."""
    from host_tools import unitconfig

    if not args.deploy:
        return None
    if args.unit_id and len(ports) > 1:
        raise UserError("--unit-id names one unit: with several ports each takes sp-<MAC>")
    options = {
        "unit_id": args.unit_id,
        "site": args.site,
        "carbon_region": args.carbon_region,
        "carbon_year": args.carbon_year,
        "tz": args.tz,
    }
    unitconfig.make_config(**dict(options, unit_id=args.unit_id or "sp-000000"))
    return options


def cmd_flash(args):
    ports = parse_ports(args.port, args.ports)
    if not Path(args.firmware).is_file():
        raise UserError("--firmware %s: no such file" % args.firmware)
    unit_config = _unit_config_options(args, ports)
    display = _Display(ports) if args.progress else None
    try:
        rows = flash_units(
            ports,
            args.board,
            args.firmware,
            registry_path=args.registry,
            baud=args.baud,
            connect_attempts=args.connect_attempts,
            deploy=args.deploy,
            display=display,
            unit_config=unit_config,
        )
    finally:
        if display is not None:
            display.close()
    print(summary_table(rows))
    failed = [r for r in rows if r["result"] != "ok"]
    print("%d of %d unit(s) ok; registry: %s" % (len(rows) - len(failed), len(rows), args.registry))
    for row in failed:
        print("sunprint flash: %s: %s" % (row["port"], row["message"]), file=sys.stderr)
    return 1 if failed else 0


def add_cli(sub):
    p = sub.add_parser(
        "flash",
        help="flash MicroPython onto units, verify, deploy the app, record each unit",
        description="Check the firmware image, then for each port: detect the chip (refuse "
        "one the board does not use), erase, write compressed, verify by MD5, reboot into "
        "the app, deploy, and append a row to the unit registry. Several ports are flashed "
        "in parallel; a failing unit does not stop the others.",
    )
    p.add_argument("--port", help="serial port of one unit (/dev/ttyUSB0, socket://host:port)")
    p.add_argument(
        "--ports", help="comma-separated ports, or 'auto' (CP210x, CH340/CH343, FTDI, ESP32-S3 USB)"
    )
    p.add_argument("--board", required=True, help="board profile name in boards/")
    p.add_argument("--firmware", required=True, help="MicroPython ESP32 firmware .bin (at 0x1000)")
    p.add_argument("--registry", default=DEFAULT_REGISTRY, help="unit registry CSV (appended)")
    p.add_argument("--baud", type=int, default=DEFAULT_BAUD, help="baud rate while flashing")
    p.add_argument("--connect-attempts", type=int, default=3, help="esptool connection attempts")
    p.add_argument(
        "--no-deploy",
        dest="deploy",
        action="store_false",
        help="firmware only: done after the verify and the reboot (no REPL is waited for)",
    )
    p.add_argument("--unit-id", help="the unit's name (default: sp- and the MAC's last 6 digits)")
    p.add_argument("--site", default="", help="where the sign stands, free text")
    p.add_argument("--carbon-region", default="CN", help="grid region of the emission factor")
    p.add_argument("--carbon-year", type=int, help="year of the factor (default: the newest)")
    p.add_argument("--tz", default="+08:00", help="local time minus UTC, +HH:MM (default +08:00)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress")
    p.set_defaults(func=cmd_flash)
