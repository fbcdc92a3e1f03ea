# A filesystem and an esp32.NVS in memory that lose power on command: what stands in for the
# device's flash when the store's power-loss safety is proven.
#
# Portable Python: runs under CPython and inside the MicroPython unix port (no typing, no
# pathlib, no dataclasses), so tests/firmware can cut power in both interpreters.
#
#     fs = FaultFS(cut_at=7, cut_mode=AFTER, torn=5)
#     ...  the code under test raises PowerCut at the 8th mutating operation
#     fs = fs.reboot()          # only what survived: flushed and closed data
#
# FaultFS implements the interface of sunprint.store.FileBackend: open(path, "rb"/"wb"),
# rename(src, dst), remove(path), exists(path); files have read/write/flush/close.
#
# What survives a cut (the durable state):
# - open(path, "wb") creates or truncates the file at once (pessimistic: LittleFS keeps the old
#   content until the first sync, which is one of the states modelled here anyway);
# - written bytes are durable once flush() or close() returns; bytes written and not flushed are
#   lost, except a prefix of `torn` bytes per open file, the torn write of the injected fault;
# - rename and remove are atomic: before or after, never half (LittleFS). With
#   atomic_rename=False a rename over an existing file is two operations, remove then rename
#   (MicroPython's FAT VFS), so a cut can fall in between.
#
# Operations counted, from 0: open for writing, write, flush, close (of a written file),
# rename, remove. With cut_at=N the power goes at operation N: BEFORE it takes effect or AFTER
# it took effect (the caller never sees it return). From then on every call raises PowerCut,
# reads included. `ops` is how many operations were started: run once without a cut to learn
# how many cut points a scenario has.
#
# PowerCut derives from BaseException (as KeyboardInterrupt does), in CPython and MicroPython:
# the code under test may catch OSError or Exception for real faults, and a power cut must
# still fly through it, as it would stop a real CPU.
#
# A wear model (optional, FaultFS(wear=lfswear.LfsWear(...))) counts the flash erases these
# operations would cost on LittleFS v2 as MicroPython mounts it on the ESP32, per block: see
# host_tools/sim/platform/lfswear.py. FaultFS calls its open_write, write, sync, close, rename, remove,
# mkdir and mount. (A module of its own: firmware tests load faultfs into a small heap.)
#
# FakeNVS, the esp32.NVS that loses power the same way, is in host_tools/sim/platform/fakenvs.py.

BEFORE = "before"
AFTER = "after"

_ENOENT = 2
_EINVAL = 22


class PowerCut(BaseException):
    pass


class _Power:
    # Counts operations and cuts the power at operation cut_at.
    def __init__(self, cut_at, cut_mode):
        if cut_mode not in (BEFORE, AFTER):
            raise ValueError("cut_mode is 'before' or 'after'")
        self.cut_at = cut_at
        self.cut_mode = cut_mode
        self.ops = 0
        self.dead = False

    def alive(self):
        if self.dead:
            raise PowerCut("power is off")

    def begin(self):
        # Before a mutating operation: raises PowerCut if the cut falls before it.
        self.alive()
        n = self.ops
        self.ops = n + 1
        if n == self.cut_at and self.cut_mode == BEFORE:
            self._cut()

    def end(self):
        # After the operation took effect.
        if self.ops - 1 == self.cut_at and self.cut_mode == AFTER:
            self._cut()

    def _cut(self):
        self._freeze()
        self.dead = True
        raise PowerCut("power cut at operation %d (%s)" % (self.cut_at, self.cut_mode))

    def _freeze(self):
        pass


class _Node:
    # One file's bytes: durable (flushed) data. Handles point at the node, so a rename moves it.
    # A bytearray, extended in place: a log appended a row at a time must not be rebuilt (and
    # reallocated whole) at every flush.
    def __init__(self, data=b""):
        self.data = bytearray(data)
        self.readers = 0  # open _ReadFiles: while any, a truncation takes a new node


class _ReadFile:
    # Reads the node's bytes in place, up to the length they had when the file was opened.
    def __init__(self, fs, node):
        self._fs = fs
        self._node = node
        self._data = node.data
        self._len = len(node.data)
        self._pos = 0
        node.readers += 1

    def read(self, n=-1):
        self._fs.alive()
        size = self._len
        end = size if n is None or n < 0 else min(size, self._pos + n)
        out = bytes(self._data[self._pos : end])
        self._pos = end
        return out

    def close(self):
        self._fs.alive()
        node = self._node
        if node is not None:
            self._node = None
            node.readers -= 1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _WriteFile:
    def __init__(self, fs, node):
        self._fs = fs
        self._node = node
        self.pending = bytearray()  # written, not yet durable
        self.closed = False
        self.wear = None  # the wear model's handle

    def write(self, data):
        fs = self._fs
        if self.closed:
            raise ValueError("write to a closed file")
        fs.begin()
        self.pending.extend(data)
        if self.wear is not None:
            fs.wear.write(self.wear, len(data))
        fs.end()
        return len(data)

    def flush(self):
        fs = self._fs
        if self.closed:
            raise ValueError("flush of a closed file")
        fs.begin()
        self._sync()
        if self.wear is not None:
            fs.wear.sync(self.wear)
        fs.end()

    def close(self):
        fs = self._fs
        if self.closed:
            fs.alive()
            return
        fs.begin()
        self._sync()
        if self.wear is not None:
            fs.wear.close(self.wear)
        self.closed = True
        fs._open.remove(self)
        fs.end()

    def _sync(self):
        if self.pending:
            self._node.data.extend(self.pending)
            self.pending[:] = b""  # emptied in place: a log flushed often must not churn the heap

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class FaultFS(_Power):
    def __init__(
        self, files=None, cut_at=None, cut_mode=BEFORE, torn=0, atomic_rename=True, wear=None
    ):
        _Power.__init__(self, cut_at, cut_mode)
        self.torn = torn
        self.atomic_rename = atomic_rename
        self.wear = wear  # a lfswear.LfsWear, or None
        self._files = {}
        if files:
            for path in files:
                self._files[path] = _Node(bytes(files[path]))
        self._open = []  # files open for writing
        self._durable = None  # frozen at the cut: path -> bytes
        self.written = {}  # path -> times opened for writing (kept across reboot())

    # -- the filesystem interface --

    def open(self, path, mode):
        if mode == "rb":
            self.alive()
            node = self._files.get(path)
            if node is None:
                raise OSError(_ENOENT, "no such file")
            return _ReadFile(self, node)
        if mode != "wb":
            raise ValueError("mode is 'rb' or 'wb'")
        self.written[path] = self.written.get(path, 0) + 1
        self.begin()
        node = self._files.get(path)
        if node is None or node.readers:
            node = _Node()
            self._files[path] = node  # created or truncated at once
        else:
            node.data[:] = b""  # truncated at once, in place: a file rewritten often allocates
            # nothing new (the journal's slots are rewritten a thousand times a day)
        f = _WriteFile(self, node)
        if self.wear is not None:
            f.wear = self.wear.open_write(path)
        self._open.append(f)
        self.end()
        return f

    def rename(self, src, dst):
        self.alive()
        if src not in self._files:
            raise OSError(_ENOENT, "no such file")
        if not self.atomic_rename and dst in self._files and dst != src:
            self.begin()
            del self._files[dst]
            if self.wear is not None:
                self.wear.remove(dst)
            self.end()
        self.begin()
        node = self._files.pop(src)
        self._files[dst] = node
        if self.wear is not None:
            self.wear.rename(src, dst)
        self.end()

    def remove(self, path):
        self.alive()
        if path not in self._files:
            raise OSError(_ENOENT, "no such file")
        self.begin()
        del self._files[path]
        if self.wear is not None:
            self.wear.remove(path)
        self.end()

    def exists(self, path):
        self.alive()
        return path in self._files

    def size(self, path):
        self.alive()
        node = self._files.get(path)
        if node is None:
            raise OSError(_ENOENT, "no such file")
        return len(node.data)

    def mkdir(self, directory):
        # a flat namespace: a directory exists as soon as a path names it
        if self.wear is not None:
            self.wear.mkdir(directory)

    def listdir(self, directory=None):
        """The names in `directory`; with no directory (for tests), every path."""
        self.alive()
        if directory is None:
            return sorted(self._files)
        prefix = directory.rstrip("/") + "/"
        return sorted(p[len(prefix) :] for p in self._files if p.startswith(prefix))

    def durable(self):
        """path -> bytes that would survive a power cut now (or did survive the cut)."""
        if self._durable is not None:
            return self._durable
        torn = self.torn
        out = {}
        for path in self._files:
            out[path] = bytes(self._files[path].data)  # a snapshot: the node keeps growing
        for f in self._open:
            if torn > 0 and f.pending:
                # The torn write: a prefix of the unflushed bytes reached the flash.
                for path in out:
                    if self._files[path] is f._node:
                        out[path] = out[path] + bytes(f.pending[:torn])
        return out

    def _freeze(self):
        self._durable = self.durable()

    def reboot(self, cut_at=None, cut_mode=BEFORE, torn=0, atomic_rename=None):
        """A new FaultFS holding only the durable state (what a cut now would leave); the
        wear model, if any, goes along (the flash keeps its wear) and is mounted again."""
        if atomic_rename is None:
            atomic_rename = self.atomic_rename
        wear = self.wear
        if wear is not None:
            wear.mount()
        fs = FaultFS(self.durable(), cut_at, cut_mode, torn, atomic_rename, wear)
        fs.written = self.written
        return fs

    def poke(self, path, data):
        """Set a file's durable bytes directly (corruption tests): no operation is counted."""
        self._files[path] = _Node(bytes(data))

    def peek(self, path):
        node = self._files.get(path)
        return None if node is None else bytes(node.data)
