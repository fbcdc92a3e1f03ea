# The MicroPython side of the virtual board (host_tools/sim/vboard.py): runs inside the
# `micropython` child, whose working directory is the board's flash folder.
#
# Portable MicroPython, loaded from .mpy. The bridge starts it with
#     micropython -X heapsize=N -c "import vboard_agent; vboard_agent.main(...)"
# and then talks to it on two pipes:
# - stdin, bridge -> agent: frames `kind (1 byte) + length (4 bytes LE) + payload`: E code to
#   exec (a raw REPL block, file input), S a friendly REPL line (single input: the value of an
#   expression is printed), F a file to run if it exists (boot.py, main.py). While code runs,
#   the host's bytes arrive on stdin unframed (input(), mpremote mount's protocol); after each
#   run the bridge writes the sync token, and the agent hands back what the code left unread.
# - stdout, agent -> bridge: what the code prints, and markers `MARK + kind + ":" + hex + END`
#   (MARK holds a per-child nonce, so program output cannot fake one): READY, RUN (the code
#   has started: only now may the bridge send SIGINT), DONE, ERR (traceback text), EXIT
#   (SystemExit: a soft reboot, as on a board), LEFT (unread input), KBD (kbd_intr value).
#
# A KeyboardInterrupt can land outside the code (the bridge saw Ctrl-C just as the code ended):
# every agent step catches it and carries on. A SIGINT during a blocking read or write makes
# the syscall return EINTR with nothing transferred, so no byte is lost or duplicated.
import gc
import os
import sys
from binascii import hexlify

SIM = "/.sunprint-sim"  # hidden path to the host's sim modules (outside the flash folder)
_AGENT_FILE = "vboard_agent.py"

_out = sys.stdout.buffer
_in = sys.stdin.buffer
_mark = b""
_sync = b""
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
        try:
            r = _in.readinto(mv[got:])
        except KeyboardInterrupt:
            continue
        if not r:
            raise SystemExit(0)  # the bridge closed the pipe
        got += r
    return buf


def _read_frame():
    while True:
        try:
            head = _read_exact(5)
            n = head[1] | head[2] << 8 | head[3] << 16 | head[4] << 24
            return head[0], _read_exact(n)
        except KeyboardInterrupt:
            pass


# --- the flash folder, as the board's root filesystem ---


class Flash:
    """The flash folder as `/`: wraps a VfsPosix (a subclass would let its C hooks act on the
    host's root), keeps its own cwd, clamps `..` at the flash root, lists 4-tuples with sizes
    and answers statvfs as a board's LittleFS partition would."""

    def __init__(self, root, sim_root, size_bytes):
        self._vfs = os.VfsPosix(root)
        self._sim = os.VfsPosix(sim_root) if sim_root else None
        self._cwd = "/"
        self._size = size_bytes

    def __str__(self):
        return "<Flash>"

    def _resolve(self, path):
        """(vfs, absolute path inside it)."""
        if not path.startswith("/"):
            path = self._cwd + "/" + path
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
        if self._sim is not None and (full == SIM or full.startswith(SIM + "/")):
            return self._sim, full[len(SIM) :] or "/"
        return self._vfs, full

    def mount(self, readonly, mkfs):
        pass

    def umount(self):
        pass

    def open(self, path, mode):
        vfs, p = self._resolve(path)
        return vfs.open(p, mode)

    def chdir(self, path):
        vfs, p = self._resolve(path)
        if vfs is not self._vfs:
            raise OSError(2)  # ENOENT: the sim folder is not part of the board
        if not vfs.stat(p)[0] & 0x4000:
            raise OSError(20)  # ENOTDIR
        self._cwd = p

    def getcwd(self):
        return self._cwd

    def ilistdir(self, path):
        vfs, p = self._resolve(path)
        base = p if p.endswith("/") else p + "/"
        for entry in vfs.ilistdir(p):
            name = entry[0]
            size = 0
            if entry[1] != 0x4000:
                try:
                    size = vfs.stat(base + name)[6]
                except OSError:
                    pass
            yield (name, entry[1], entry[2], size)

    def mkdir(self, path):
        vfs, p = self._resolve(path)
        vfs.mkdir(p)

    def rmdir(self, path):
        vfs, p = self._resolve(path)
        if p == "/":
            raise OSError(1)  # EPERM: the root stays
        vfs.rmdir(p)

    def remove(self, path):
        vfs, p = self._resolve(path)
        vfs.remove(p)

    def rename(self, old, new):
        vfs, p = self._resolve(old)
        vfs2, q = self._resolve(new)
        if vfs is not vfs2:
            raise OSError(18)  # EXDEV
        vfs.rename(p, q)

    def stat(self, path):
        vfs, p = self._resolve(path)
        return vfs.stat(p)

    def _used(self, vfs, p):
        total = 0
        base = p if p.endswith("/") else p + "/"
        for entry in vfs.ilistdir(p):
            if entry[1] == 0x4000:
                total += 4096 + self._used(vfs, base + entry[0])
            else:
                try:
                    total += (vfs.stat(base + entry[0])[6] + 4095) // 4096 * 4096
                except OSError:
                    pass
        return total

    def statvfs(self, path):
        # LittleFS on a board: 4 KB blocks; what the files take is used.
        blocks = self._size // 4096
        free = blocks - self._used(self._vfs, "/") // 4096
        if free < 0:
            free = 0
        return (4096, 4096, blocks, free, free, 0, 0, 0, 0, 255)


# --- what the board has instead of the unix port's modules ---


class _Micropython:
    """The `micropython` module with kbd_intr told to the bridge: on the unix port the real
    kbd_intr(-1) restores the default SIGINT action, so the next Ctrl-C would kill the child."""

    def __init__(self, real):
        for name in dir(real):
            if not name.startswith("__") and name != "kbd_intr":
                setattr(self, name, getattr(real, name))

    def kbd_intr(self, c):
        _kbd[0] = c
        _send_safely(b"KBD", str(c).encode())


class RealClock:
    """The models' clock on a board that runs in real time (rig.Clock's interface). Reading
    it brings the rig up to now (the meter's energy register, the S0 line), at most every
    100 ms: the fake watchdog reads it after every tick of the unit."""

    def __init__(self):
        import time

        self._time = time
        self._t0 = time.ticks_ms()
        self.rig = None
        self._updated = 0
        self._updating = False

    @property
    def ns(self):
        return self._time.ticks_diff(self._time.ticks_us(), 0) * 1000

    @property
    def us(self):
        return self.ns // 1000

    def ticks_ms(self):
        t = self._time.ticks_ms()
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
        return self._time.ticks_us()

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
    from host_tools.sim import rig as rigmod

    clock = RealClock()
    rig = rigmod.wire(profile, clock)
    if power_w:
        rig.set_power(power_w)
    clock.rig = rig
    if rig.esp32 is not None:
        sys.modules["esp32"] = rig.esp32
    if rig.neopixel is not None:
        sys.modules["neopixel"] = rig.neopixel
    _globals["__rig__"] = rig  # for a test at the REPL: the models behind the pins
    return rig


# --- running code ---


def _error_text(e):
    import io

    buf = io.StringIO()
    sys.print_exception(e, buf)
    lines = buf.getvalue().split("\n")
    keep = [line for line in lines if ('"' + _AGENT_FILE + '"') not in line]
    return "\n".join(keep).encode()


def _run(kind, payload):
    """Run one block; returns the marker to report (kind, payload)."""
    g = _globals
    _send_safely(b"RUN")
    try:
        if kind == 0x46:  # F: a file of the flash, if it exists
            name = str(payload, "utf-8")
            try:
                with open(name) as f:
                    src = f.read()
            except OSError:
                return b"DONE", b""
            g["__file__"] = name
            code = compile(src, name, "exec")
        elif kind == 0x53:  # S: a friendly REPL line
            code = compile(str(payload, "utf-8"), "<stdin>", "single")
        else:
            g["__file__"] = "<stdin>"
            code = compile(str(payload, "utf-8"), "<stdin>", "exec")
        src = payload = None
        exec(code, g)
    except SystemExit as e:
        # machine.reset() of the fake machine: a hard reset, not a soft reboot
        reset = e.args and e.args[0] == "machine.reset()"
        return b"EXIT", b"reset" if reset else b""
    except BaseException as e:  # noqa: BLE001 - the board prints every error
        return b"ERR", _error_text(e)
    return b"DONE", b""


class _Step:
    # Where the serve loop is. Each stage does one thing and then moves on with no interrupt
    # check in between (MicroPython raises a pending KeyboardInterrupt only at jumps), so a
    # stray Ctrl-C caught by _serve resumes the same stage without doing anything twice.
    def __init__(self):
        self.stage = 0
        self.kind = 0
        self.payload = None
        self.result = None
        self.got = bytearray()
        self.left = b""


def _step(st, one):
    if st.stage == 0:  # idle: no Ctrl-C is sent now
        st.kind, st.payload = _read_frame()
        st.result = (b"DONE", b"")  # if a Ctrl-C escapes _run, the code did finish
        st.stage = 1
    elif st.stage == 1:
        st.stage = 2
        st.result = _run(st.kind, st.payload)
    elif st.stage == 2:
        st.payload = None
        _send(st.result[0], st.result[1])
        st.stage = 3
    elif st.stage == 3:  # what the code left unread, up to the bridge's sync token
        got = st.got
        n = len(_sync)
        while len(got) < n or got[-n:] != _sync:
            r = _in.readinto(one)
            if not r:
                raise SystemExit(0)  # the bridge has gone
            got.append(one[0])
        st.left = bytes(got[:-n])
        st.got = bytearray()
        st.stage = 4
    elif st.stage == 4:
        _send(b"LEFT", st.left)  # also when empty: the bridge waits for it
        st.stage = 5
    else:
        _kbd[0] = 3  # a board turns Ctrl-C back on at the prompt (the bridge does too)
        st.left = b""
        st.stage = 0
        gc.collect()


def _serve():
    st = _Step()
    one = bytearray(1)
    while True:
        try:
            while True:
                _step(st, one)
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


_ballast = None


def main(
    nonce, flash_root, sim_root, reset_cause, flash_size, profile_path=None, power_w=0, heap=0
):
    global _mark, _sync
    _mark = b"\x00\x01VB" + nonce.encode() + b":"
    _sync = b"\x00\x03SYNC" + nonce.encode()
    import micropython

    from host_tools.sim import machine

    machine._STATE["reset_cause"] = reset_cause
    sys.modules["machine"] = machine
    sys.modules["micropython"] = _Micropython(micropython)
    profile = None
    if profile_path:  # a host path: read before the flash becomes `/`
        import json

        with open(profile_path) as f:
            profile = json.load(f)
    import vfs

    vfs.umount("/")
    vfs.mount(Flash(flash_root, sim_root, flash_size), "/")
    os.chdir("/")
    sys.path[:] = ["", ".frozen", "/lib", SIM]
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
    if heap:
        _pin_heap(heap)
    v = sys.implementation.version
    _send(b"READY", ("%d.%d.%d" % (v[0], v[1], v[2])).encode())
    _serve()
