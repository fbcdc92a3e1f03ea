# The MicroPython side of the virtual board (host_tools/sim/board/vboard.py): runs inside the
# child (micropython32 or micropython32-app, the unit's 1.26.1 VM built 32-bit), whose
# working directory is the board's flash folder.
#
# Portable MicroPython, loaded from .mpy. The bridge starts it with
#     micropython32 -X heapsize=N -c "import vboard_agent; vboard_agent.main(...)"
# and talks to it on three pipes:
# - control (an extra fd), bridge -> agent: frames `kind (1 byte) + length (4 bytes LE) +
#   payload`: E code to exec (a raw REPL block: file input), S a friendly REPL line (single
#   input: an expression's value is printed), F a file to run if it exists (boot.py, main.py);
#   and after each run one ACK byte, the run's sequence number.
# - stdin: only the host's own bytes, forwarded while code runs (input(), mpremote mount).
# - stdout, agent -> bridge: what the code prints, and markers `MARK + kind + ":" + hex + END`
#   (MARK holds a per-child nonce, so no program output fakes one): READY, RUN (the code has
#   started: only now may the bridge interrupt it), DONE, ERR (traceback text), EXIT
#   (SystemExit: a soft reboot, as on a board), LEFT (what the code left unread on stdin),
#   KBD (a kbd_intr value). RUN/DONE/ERR/EXIT/LEFT start with the run's sequence number.
#
# Ctrl-C is a signal that schedules KeyboardInterrupt (vboard_launch.py), which the VM raises
# at its next check, as on a board. One can land after the code ended, before the bridge read
# DONE. So after DONE the agent waits for the bridge's ACK (the bridge sends no interrupt after
# it: a stray one is already pending by the time the ACK is read), lets any pending
# KeyboardInterrupt fire and ignores it, and only then reads stdin's leftovers. Every step keeps its state outside the stack (_Step) and can be
# re-entered after an interrupt; the bridge ignores a marker repeated with the same number.
import gc
import io
import os
import select
import sys
import time
from binascii import hexlify

# Imported here, never later: once code made a mounted folder (mpremote mount) the cwd, an
# import by the agent between runs would look for a file there, talking to nobody.

SIM = "/.sunprint-sim"  # hidden path to the host's sim modules (outside the flash folder)
# The firmware kinds beyond a stock image (vboard.py FIRMWARE): the app frozen into the image
# (its bytecode, read-only, at FROZEN: the unix port cannot freeze code at run time) and a romfs
# partition (its bytes in the flash folder's ROMFS_FILE, which the board never sees).
FROZEN = "/.frozen"
ROMFS_FILE = ".romfs-partition"
ROMFS_BLOCK = 4096  # the ESP32 port's NATIVE_BLOCK_SIZE_BYTES (esp32_partition.c)
_AGENT_FILE = "vboard_agent.py"

_out = sys.stdout.buffer
_in = sys.stdin.buffer
_ctl = None  # the control pipe
_mark = b""
_globals = {"__name__": "__main__"}
_kbd = [3]


def _send(kind, payload=b""):
    # One write call per marker: an interrupt lands before or after it, never inside.
    _out.write(_mark + kind + b":" + hexlify(payload) + b"\x00\x02")


def _send_safely(kind, payload=b""):
    while True:
        try:
            _send(kind, payload)
            return
        except KeyboardInterrupt:
            pass


def _read_exact(n):
    buf = bytearray(n)
    mv = memoryview(buf)
    got = 0
    while got < n:
        r = _ctl.readinto(mv[got:])
        if not r:
            raise SystemExit(0)  # the bridge has gone
        got += r
    return buf


def _read_frame():
    head = _read_exact(5)
    n = head[1] | head[2] << 8 | head[3] << 16 | head[4] << 24
    return head[0], _read_exact(n)


# --- the flash folder, as the board's root filesystem ---


class _Interrupted:
    """The mode of a stat answered to an import that a Ctrl-C interrupted (see stat)."""

    def __int__(self):
        raise KeyboardInterrupt


_INTERRUPTED_STAT = (_Interrupted(), 0, 0, 0, 0, 0, 0, 0, 0, 0)
_importing = [0]  # imports in progress (board_import): stat's callers

_EROFS, _ENOENT = 30, 2
_WRITE_MODES = "wax+"


def flash_fs(root, sim_root, size_bytes, frozen_root=None):
    """The flash folder as `/`: wraps a VfsPosix (a subclass would let its C hooks act on the
    host's root), keeps its own cwd, clamps `..` at the flash root, lists 4-tuples with sizes
    and answers statvfs as a board's LittleFS partition would. SIM (the compiled sim modules
    every virtual board imports) shows only its host_tools package, read-only.

    The host handles live in this closure, not in attributes: board code that finds the
    object (vfs.mount() lists it) cannot reach a VfsPosix through it."""
    flash = os.VfsPosix(root)
    sim = os.VfsPosix(sim_root) if sim_root else None
    frozen = os.VfsPosix(frozen_root) if frozen_root else None
    # VfsPosix(root).rename builds both paths in one shared buffer: ENOENT, a silent no-op or
    # a file moved to the host's / depending on their lengths. A root-less VfsPosix renames
    # host paths, which this class builds itself (inside the flash folder only).
    host = os.VfsPosix()
    flash_root = root.rstrip("/")

    def resolve(path, cwd):
        """(vfs, absolute path inside it); sim paths refuse writes (EROFS)."""
        if not path.startswith("/"):
            path = cwd + "/" + path
        parts = []
        for p in path.split("/"):
            if p == "" or p == ".":
                continue
            if p == "..":
                if parts:
                    parts.pop()  # at the root `..` stays at the root, as on a board
            else:
                parts.append(p)
        full = "/" + "/".join(parts)
        if full == "/" + ROMFS_FILE:
            raise OSError(_ENOENT)  # the romfs partition is not in the file system
        if frozen is not None and (full == FROZEN or full.startswith(FROZEN + "/")):
            return frozen, full[len(FROZEN) :] or "/"
        if sim is not None and (full == SIM or full.startswith(SIM + "/")):
            rel = full[len(SIM) :] or "/"
            if rel != "/" and rel != "/host_tools" and not rel.startswith("/host_tools/"):
                raise OSError(_ENOENT)  # the agent itself is not for the board
            return sim, rel
        return flash, full

    def writable(path, cwd):
        vfs, p = resolve(path, cwd)
        if vfs is not flash:
            raise OSError(_EROFS)  # the sim modules are read-only to the board
        return p

    def used(p):
        total = 0
        base = p if p.endswith("/") else p + "/"
        for entry in flash.ilistdir(p):
            if entry[0] == ROMFS_FILE:
                continue
            if entry[1] == 0x4000:
                total += 4096 + used(base + entry[0])
            else:
                try:
                    total += (flash.stat(base + entry[0])[6] + 4095) // 4096 * 4096
                except OSError:
                    pass
        return total

    class Flash:
        def __init__(self):
            self._cwd = "/"

        def __str__(self):
            return "<Flash>"

        def mount(self, readonly, mkfs):
            pass

        def umount(self):
            pass

        def open(self, path, mode):
            for c in mode:
                if c in _WRITE_MODES:
                    return flash.open(writable(path, self._cwd), mode)
            vfs, p = resolve(path, self._cwd)
            return vfs.open(p, mode)

        def chdir(self, path):
            vfs, p = resolve(path, self._cwd)
            if vfs is not flash:
                raise OSError(_ENOENT)  # the sim folder is not part of the board
            if not vfs.stat(p)[0] & 0x4000:
                raise OSError(20)  # ENOTDIR
            self._cwd = p

        def getcwd(self):
            return self._cwd

        def ilistdir(self, path):
            vfs, p = resolve(path, self._cwd)
            base = p if p.endswith("/") else p + "/"
            for entry in vfs.ilistdir(p):
                name = entry[0]
                if vfs is sim and p == "/" and name != "host_tools":
                    continue
                if vfs is flash and p == "/" and name == ROMFS_FILE:
                    continue
                size = 0
                if entry[1] != 0x4000:
                    try:
                        size = vfs.stat(base + name)[6]
                    except OSError:
                        pass
                yield (name, entry[1], entry[2], size)

        def mkdir(self, path):
            flash.mkdir(writable(path, self._cwd))

        def rmdir(self, path):
            p = writable(path, self._cwd)
            if p == "/":
                raise OSError(1)  # EPERM: the root stays
            flash.rmdir(p)

        def remove(self, path):
            flash.remove(writable(path, self._cwd))

        def rename(self, old, new):
            p = writable(old, self._cwd)
            q = writable(new, self._cwd)
            host.rename(flash_root + p, flash_root + q)

        def stat(self, path):
            # MicroPython's import asks stat() whether a file is there and takes any exception
            # for "no" (extmod/vfs.c mp_vfs_import_stat): a Ctrl-C raised in here (Python code;
            # a board's file system is C, with no check for one) was lost, and the import
            # went on as if the file were missing. Two handlers: a Ctrl-C that came during
            # the stat syscall is raised at the first check after it, which for a missing
            # file is while the inner handler matches the OSError. During an import the
            # answer's mode is a value whose int() raises the Ctrl-C in the importer, outside
            # the import's catch-all; elsewhere it is raised as it came.
            try:
                try:
                    vfs, p = resolve(path, self._cwd)
                    return vfs.stat(p)
                except KeyboardInterrupt:
                    pass
            except KeyboardInterrupt:
                pass
            if _importing[0]:
                return _INTERRUPTED_STAT
            raise KeyboardInterrupt

        def statvfs(self, path):
            # LittleFS on a board: 4 KB blocks; what the files take is used.
            blocks = size_bytes // 4096
            free = blocks - used("/") // 4096
            if free < 0:
                free = 0
            return (4096, 4096, blocks, free, free, 0, 0, 0, 0, 255)

    return Flash()


# --- what the board has instead of the unix port's modules ---


# What the unix port has and a board does not: each of these reaches the host (its files, its
# shell, its environment, its terminal). Board code sees `os` and `vfs` without them (as
# instances: the port cannot make module objects) and cannot import the modules.
_HOST_ONLY = {"os": ("VfsPosix", "system", "getenv", "putenv", "unsetenv"), "vfs": ("VfsPosix",)}
_HOST_MODULES = ("termios", "utermios", "vboardsig")


class _BoardModule:
    """A built-in module as a board has it: `real`'s names but the host-only ones, and the
    board's own (`extra`)."""

    def __init__(self, name, real, host_only, extra=None):
        for n in dir(real):
            if not n.startswith("__") and n not in host_only:
                setattr(self, n, getattr(real, n))
        for n, v in (extra or {}).items():
            setattr(self, n, v)
        self.__name__ = name

    def __repr__(self):
        return "<module '%s'>" % self.__name__


def _board_modules(vfs_rom, rom_ioctl):
    """Replace the unix port's host-only modules and names for the board's code, and hide the
    agent (its module is the bridge's, not the board's). vfs_rom: the image has VfsRom (a stock
    ESP32 image has not: MICROPY_VFS_ROM is off); rom_ioctl: its vfs.rom_ioctl, or None."""
    import builtins

    for name, host_only in _HOST_ONLY.items():
        extra = None
        if name == "vfs":
            host_only = host_only if vfs_rom else host_only + ("VfsRom",)
            extra = {"rom_ioctl": rom_ioctl} if rom_ioctl is not None else None
        board = _BoardModule(name, __import__(name), host_only, extra)
        sys.modules[name] = sys.modules["u" + name] = board
    sys.modules["time"] = sys.modules["utime"] = _BoardTime(time)
    sys.modules["umachine"] = sys.modules["machine"]
    sys.modules["umicropython"] = sys.modules["micropython"]
    real_import = builtins.__import__

    def board_import(name, *args):
        if name in _HOST_MODULES:
            raise ImportError("no module named '%s'" % name)
        if args[3] > 0:  # args: (globals, locals, fromlist, level), all five from vboardsig
            name, args = _absolute(name, args)
        depth = _importing[0]
        try:
            _importing[0] = depth + 1
            return real_import(name, *args)
        finally:
            _importing[0] = depth

    import vboardsig  # hides from the board's code once board_import is in place

    builtins.__import__ = vboardsig.hook_imports(board_import)  # with the importer's globals
    sys.modules.pop("vboard_agent", None)
    del globals()["os"]  # the real one: nothing here needs it once the flash is mounted


class _BoardTime(_BoardModule):
    """`time` as the ESP32 port has it: seconds since 2000-01-01 from the board's RTC
    (machine.RTC, which starts at 2000-01-01 at every power-on), not the host's clock;
    gmtime/localtime/mktime in that epoch (no time zone: localtime is gmtime)."""

    def __init__(self, real):
        # the names below are this class's: copied from `real`, they would hide them
        super().__init__("time", real, ("time", "time_ns", "gmtime", "localtime", "mktime"))
        self._real = real

    def time(self):
        from host_tools.sim.platform import machine

        return machine.board_time_ns() // 1000000000

    def time_ns(self):
        from host_tools.sim.platform import machine

        return machine.board_time_ns()

    def gmtime(self, secs=None):
        t = self.time() if secs is None else int(secs)
        return self._real.gmtime(t + 946684800)

    def localtime(self, secs=None):
        return self.gmtime(secs)

    def mktime(self, t):
        from host_tools.sim.platform import machine

        return machine.board_seconds(t)


def _absolute(name, args):
    """A relative import made absolute: MicroPython (1.26) resolves `from .x import y` against
    the globals current when __import__ runs - in this hook, the agent's - so the hook
    resolves it against the importer's (`args[0]`, from vboardsig), as the VM would."""
    g, loc, fromlist, level = args
    here = g.get("__name__", "")
    package = here if "__path__" in g else here.rpartition(".")[0]
    for _ in range(level - 1):
        package = package.rpartition(".")[0]
    if not package:
        raise ImportError("can't perform relative import")
    return (package + "." + name if name else package), (g, loc, fromlist, 0)


class _Micropython:
    """The `micropython` module with kbd_intr told to the bridge, which then passes 0x03 on as
    data (mpremote mount) instead of interrupting."""

    def __init__(self, real):
        for name in dir(real):
            if not name.startswith("__") and name != "kbd_intr":
                setattr(self, name, getattr(real, name))

    def kbd_intr(self, c):
        _kbd[0] = c
        _send_safely(b"KBD", str(c).encode())


class RealClock:
    """The models' clock on a board that runs in real time (rig.Clock's interface), in
    nanoseconds since the board started: plain ints that never wrap (the port's ticks wrap
    after 18 minutes in microseconds). Reading ticks_ms() brings the rig up to now (the
    meter's energy register, the S0 line), at most every 100 ms: the fake watchdog reads it
    after every tick of the unit."""

    def __init__(self):
        self._time = time
        self._t0 = time.time_ns()
        self.rig = None
        self._updated = -1000
        self._updating = False

    @property
    def ns(self):
        return self._time.time_ns() - self._t0

    @property
    def us(self):
        return self.ns // 1000

    def ticks_ms(self):
        t = self.ns // 1000000
        rig = self.rig
        if rig is not None and not self._updating and t - self._updated >= 100:
            self._updating = True
            try:
                rig.update()
            finally:
                self._updating = False
            self._updated = t
        return t

    def ticks_us(self):
        return self.ns // 1000

    def ticks_diff(self, a, b):
        return a - b

    def now(self):
        return self._time.time() - 946684800  # firmware seconds since 2000

    def wall(self):
        return self.now()

    def block_ms(self, ms):
        self._time.sleep_ms(ms)

    def sleep_us(self, us):
        self._time.sleep_us(us)

    async def sleep_ms(self, ms):
        import asyncio

        await asyncio.sleep_ms(ms)


def _wire_board(profile, power_w):
    from host_tools.sim.board import modellink

    clock = RealClock()
    # on the bridge's side of the model link (outside this VM) where it gave one, else here
    rig = modellink.wire(profile, clock)
    if power_w:
        rig.set_power(power_w)
    clock.rig = rig
    if rig.esp32 is not None:
        sys.modules["esp32"] = rig.esp32
    if rig.neopixel is not None:
        sys.modules["neopixel"] = rig.neopixel
    _globals["__rig__"] = rig  # for a test at the REPL: the models behind the pins
    return rig


def _site_network(site):
    # `sim --mqtt`: the site's Wi-Fi and name service (host_tools/sim/platform/sitenet.py) as the
    # board's `network` module and socket.getaddrinfo; the sockets themselves are the host's.
    import socket

    from host_tools.sim.platform import sitenet

    sitenet.configure(*site)
    sys.modules["network"] = sitenet
    extra = {"getaddrinfo": sitenet.getaddrinfo_on_site(socket.getaddrinfo)}
    sys.modules["socket"] = sys.modules["usocket"] = _BoardModule("socket", socket, (), extra)


# --- the romfs partition ---


def _romfs_partition(path, size):
    """The romfs partition as the ESP32 port's vfs.rom_ioctl(2, 0) gives it: an esp32.Partition
    whose buffer is the partition's bytes (VfsRom reads them in place; mpremote reads them with
    memoryview), ioctl 4/5 (block count and size) and 6 (erase a block), readblocks, and
    writeblocks as ports/esp32/esp32_partition.c has it (erase then write whole sectors, or
    with a byte offset a write into erased flash). NOR flash: a write can only clear bits, an
    erase sets 0xFF. Every change goes through to the host file (the flash chip), whose
    handle stays in here."""
    try:
        f = open(path, "r+b")
    except OSError:
        f = open(path, "w+b")  # a new chip: erased
        f.write(b"\xff" * size)
    f.seek(0)

    def store(pos, n):
        f.seek(pos)
        f.write(memoryview(part)[pos : pos + n])
        f.flush()

    class Partition(bytearray):
        def __repr__(self):
            return "<Partition type=1, subtype=143, address=1835008, size=%d, label=romfs>" % size

        def info(self):
            return (1, 0x8F, 0x1C0000, size, "romfs", False)

        def ioctl(self, op, arg):
            if op == 4:  # MP_BLOCKDEV_IOCTL_BLOCK_COUNT
                return size // ROMFS_BLOCK
            if op == 5:  # MP_BLOCKDEV_IOCTL_BLOCK_SIZE
                return ROMFS_BLOCK
            if op == 6:  # MP_BLOCKDEV_IOCTL_BLOCK_ERASE
                pos = arg * ROMFS_BLOCK
                if not 0 <= pos < size:
                    return -22
                self[pos : pos + ROMFS_BLOCK] = b"\xff" * ROMFS_BLOCK
                store(pos, ROMFS_BLOCK)
                return 0
            return None  # sync and the rest: nothing to do

        def readblocks(self, block, buf, offset=0):
            pos = block * ROMFS_BLOCK + offset
            if pos < 0 or pos + len(buf) > size:
                raise OSError(22)
            buf[:] = memoryview(self)[pos : pos + len(buf)]

        def writeblocks(self, block, buf, offset=None):
            # Without an offset a simple write: the ESP32 port erases the range first, which
            # ESP-IDF allows only in whole 4 KB sectors; with one, the range must be erased.
            pos = block * ROMFS_BLOCK + (offset or 0)
            if pos < 0 or pos + len(buf) > size:
                raise OSError(22)
            if offset is None:
                if len(buf) % ROMFS_BLOCK:
                    raise OSError(22)  # ESP_ERR_INVALID_SIZE from esp_partition_erase_range
                self[pos : pos + len(buf)] = b"\xff" * len(buf)
            for i in range(len(buf)):
                self[pos + i] &= buf[i]
            store(pos, len(buf))

    part = Partition(size)
    got = f.readinto(part)
    if got < size:  # a short file: the rest was never written
        part[got:] = b"\xff" * (size - got)
    return part


def _mount_romfs(part):
    """What the firmware does at start (extmod/vfs.c, mp_vfs_mount_romfs_protected): mount
    the partition's image at /rom and append /rom and /rom/lib to sys.path, if it is one."""
    import vfs

    try:
        vfs.mount(vfs.VfsRom(part), "/rom")
    except OSError:
        return  # not a ROMFS image (erased, or half written): nothing is mounted
    sys.path.append("/rom")
    sys.path.append("/rom/lib")


# --- running code ---


def _error_text(e):
    buf = io.StringIO()
    sys.print_exception(e, buf)
    lines = buf.getvalue().split("\n")
    keep = [line for line in lines if ('"' + _AGENT_FILE + '"') not in line]
    return "\n".join(keep).encode()


def _run(kind, payload, seq):
    """Run one block; returns the marker to report (kind, payload)."""
    g = _globals
    try:
        if kind == 0x46:  # F: a file of the flash, if it exists
            name = str(payload, "utf-8")
            try:
                with open(name) as f:
                    src = f.read()
            except OSError:
                return b"DONE", b""  # nothing to run (not even to interrupt)
            g["__file__"] = name
            code = compile(src, name, "exec")
        elif kind == 0x53:  # S: a friendly REPL line
            code = compile(str(payload, "utf-8"), "<stdin>", "single")
        else:
            g["__file__"] = "<stdin>"
            code = compile(str(payload, "utf-8"), "<stdin>", "exec")
        src = payload = None
        # Only now may the bridge interrupt, and nothing here checks for it before exec:
        # a Ctrl-C is raised at the first check inside the code, as on a board.
        _send(b"RUN", bytes([seq]))
        exec(code, g)
    except SystemExit as e:
        # machine.reset() of the fake machine: a hard reset, not a soft reboot
        reset = e.args and e.args[0] == "machine.reset()"
        return b"EXIT", b"reset" if reset else b""
    except BaseException as e:  # noqa: BLE001 - the board prints every error
        return b"ERR", _error_text(e)
    return b"DONE", b""


class _Step:
    # Where the serve loop is, kept outside the stack: a stray KeyboardInterrupt caught by
    # _serve re-enters the same stage, and no stage does harm when done twice.
    def __init__(self):
        self.stage = 0
        self.seq = 0  # 1..255, never 0: the ACK byte that ends each run
        self.kind = 0
        self.payload = None
        self.result = None
        self.ack = bytearray(1)
        self.buf = bytearray(256)


def _drain_stdin(buf):
    """What the host sent while the code ran and the code did not read."""
    poller = select.poll()
    poller.register(_in, select.POLLIN)
    left = bytearray()
    one = memoryview(buf)[:1]  # readinto fills its whole buffer: one byte at a time
    while poller.poll(0):
        if not _in.readinto(one):
            break  # end of file: the bridge has gone
        left.append(buf[0])
    return bytes(left)


def _step(st):
    stage = st.stage
    if stage == 0:  # idle: the bridge sends no Ctrl-C now
        st.kind, st.payload = _read_frame()
        st.seq = st.seq % 255 + 1
        st.result = (b"DONE", b"")  # if a Ctrl-C escapes _run, the code did finish
        st.stage = 1
    elif stage == 1:
        st.stage = 2
        st.result = _run(st.kind, st.payload, st.seq)
    elif stage == 2:
        st.payload = None
        _send(st.result[0], bytes([st.seq]) + st.result[1])
        st.stage = 3
    elif stage == 3:  # wait for the bridge's ACK: no Ctrl-C comes after it
        if st.ack[0] != st.seq:
            _ctl.readinto(st.ack)  # the byte lands in st.ack even if a raise follows
        if st.ack[0] == st.seq:
            st.stage = 4
    elif stage == 4:
        for _ in range(2):  # a KeyboardInterrupt still pending is raised (and ignored) here
            pass
        st.stage = 5
    else:  # from here on nothing interrupts
        _send(b"LEFT", bytes([st.seq]) + _drain_stdin(st.buf))
        _kbd[0] = 3  # a board turns Ctrl-C back on at the prompt (the bridge does too)
        st.stage = 0
        gc.collect()


def _serve():
    st = _Step()
    while True:
        try:
            while True:
                _step(st)
        except KeyboardInterrupt:
            pass


def _pin_heap(heap):
    """Leave `heap` bytes free for the board's code: the child's heap was made larger by
    what the agent and the chip models take (on a board those are the firmware and silicon,
    not the GC heap), and one ballast block holds the rest."""
    global _ballast
    gc.collect()
    extra = gc.mem_free() - heap
    if extra > 256:
        _ballast = bytearray(extra - 32)  # its allocation header and rounding take the rest
    gc.collect()
    # The board's gc counts its own heap: what is in use now (the agent, the models, the
    # ballast) is not the board's, so gc.mem_alloc() + gc.mem_free() is `heap`, as a board's
    # gc reports its heap (sunprint deploy weighs the app against it).
    base = gc.mem_alloc() + gc.mem_free() - heap
    board_gc = _BoardModule("gc", gc, ("mem_alloc",))
    board_gc.mem_alloc = lambda: gc.mem_alloc() - base
    sys.modules["gc"] = board_gc


_ballast = None


def main(
    nonce,
    ctl_fd,
    flash_root,
    sim_root,
    reset_cause,
    flash_size,
    profile_path=None,
    power_w=0,
    heap=0,
    frozen_root=None,
    romfs_size=-1,
    rtc_epoch_ns=None,
    site=None,
):
    global _mark, _ctl
    import vboardsig  # the launcher's Ctrl-C signal (sim/board/vboard_launch.py), SIGUSR1 = 10

    vboardsig.route_interrupts(10)
    _mark = b"\x00\x01VB" + nonce.encode() + b":"
    _ctl = open(ctl_fd, "rb")  # before the flash becomes `/`: an fd, not a path
    from host_tools.sim.board import modellink

    modellink.link()  # the model link's pipes, where the bridge gave them: fds too
    import micropython

    from host_tools.sim.platform import machine

    machine._STATE["reset_cause"] = reset_cause
    machine._STATE["rtc_epoch_ns"] = rtc_epoch_ns  # the board's RTC, kept by the bridge
    machine._STATE["rtc_told"] = lambda ns: _send_safely(b"RTC", str(ns).encode())
    sys.modules["machine"] = machine
    sys.modules["micropython"] = _Micropython(micropython)
    profile = None
    if profile_path:  # a host path: read before the flash becomes `/`
        import json

        with open(profile_path) as f:
            profile = json.load(f)
    import vfs

    # romfs_size: -1 a stock image (no VfsRom), 0 an image with ROMFS but no romfs partition
    part = None
    if romfs_size > 0:  # the host file, opened before the flash becomes `/`
        part = _romfs_partition(flash_root + "/" + ROMFS_FILE, romfs_size)
    vfs.umount("/")
    vfs.mount(flash_fs(flash_root, sim_root, flash_size, frozen_root), "/")
    os.chdir("/")
    sys.path[:] = ["", ".frozen", "/lib", SIM]
    if frozen_root:
        sys.path.insert(2, FROZEN)  # as the frozen modules of the image
    if part is not None:
        _mount_romfs(part)

    def rom_ioctl(op, *args):  # ports/esp32/esp32_partition.c: segments 1 and 2 only
        if op == 1:
            return 0 if part is None else 1
        if op == 2 and part is not None and args and args[0] == 0:
            return part
        return -22  # -MP_EINVAL

    # Packages imported before the flash became `/` look for their submodules by __path__:
    # from now on that is the sim folder's path under the new root.
    for name in list(sys.modules):
        mod = sys.modules[name]
        if name.startswith("host_tools") and hasattr(mod, "__path__"):
            mod.__path__ = SIM + "/" + name.replace(".", "/")
    if profile is not None:
        try:
            _wire_board(profile, power_w)
        except Exception as e:  # noqa: BLE001 - a bare board still answers
            _out.write(b"vboard: board models not wired: " + _error_text(e) + b"\n")
    _board_modules(romfs_size >= 0, rom_ioctl if romfs_size >= 0 else None)
    if site is not None:
        _site_network(site)
    if heap:
        _pin_heap(heap)
    v = sys.implementation.version
    _send(b"READY", ("%d.%d.%d" % (v[0], v[1], v[2])).encode())
    _serve()
