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
# FakeNVS models esp32.NVS: set_blob, get_blob(key, buf) -> length, commit, erase_key. Changes
# are pending until commit(), which applies them all atomically (ESP-IDF: uncommitted changes
# are lost at a reset). Counted operations: set_blob, erase_key, commit. Errors are raised as
# MicroPython's esp32 port raises them: OSError(-esp_err, name), e.g. -0x1102
# ESP_ERR_NVS_NOT_FOUND for a missing key (missing_errno=2 makes it ENOENT instead).

BEFORE = "before"
AFTER = "after"

_ENOENT = 2
_EINVAL = 22
_NVS_NOT_FOUND = -0x1102
_NVS_INVALID_LENGTH = -0x110C
_NVS_KEY_TOO_LONG = -0x1109


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


class _ReadFile:
    # Reads the node's bytes in place, up to the length they had when the file was opened.
    def __init__(self, fs, data):
        self._fs = fs
        self._data = data
        self._len = len(data)
        self._pos = 0

    def read(self, n=-1):
        self._fs.alive()
        size = self._len
        end = size if n is None or n < 0 else min(size, self._pos + n)
        out = bytes(self._data[self._pos : end])
        self._pos = end
        return out

    def close(self):
        self._fs.alive()

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

    def write(self, data):
        fs = self._fs
        if self.closed:
            raise ValueError("write to a closed file")
        fs.begin()
        self.pending.extend(data)
        fs.end()
        return len(data)

    def flush(self):
        fs = self._fs
        if self.closed:
            raise ValueError("flush of a closed file")
        fs.begin()
        self._sync()
        fs.end()

    def close(self):
        fs = self._fs
        if self.closed:
            fs.alive()
            return
        fs.begin()
        self._sync()
        self.closed = True
        fs._open.remove(self)
        fs.end()

    def _sync(self):
        if self.pending:
            self._node.data.extend(self.pending)
            self.pending = bytearray()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class FaultFS(_Power):
    def __init__(self, files=None, cut_at=None, cut_mode=BEFORE, torn=0, atomic_rename=True):
        _Power.__init__(self, cut_at, cut_mode)
        self.torn = torn
        self.atomic_rename = atomic_rename
        self._files = {}
        if files:
            for path in files:
                self._files[path] = _Node(bytes(files[path]))
        self._open = []  # files open for writing
        self._durable = None  # frozen at the cut: path -> bytes

    # -- the filesystem interface --

    def open(self, path, mode):
        if mode == "rb":
            self.alive()
            node = self._files.get(path)
            if node is None:
                raise OSError(_ENOENT, "no such file")
            return _ReadFile(self, node.data)
        if mode != "wb":
            raise ValueError("mode is 'rb' or 'wb'")
        self.begin()
        node = _Node()
        self._files[path] = node  # created or truncated at once
        f = _WriteFile(self, node)
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
            self.end()
        self.begin()
        node = self._files.pop(src)
        self._files[dst] = node
        self.end()

    def remove(self, path):
        self.alive()
        if path not in self._files:
            raise OSError(_ENOENT, "no such file")
        self.begin()
        del self._files[path]
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
        pass  # a flat namespace: a directory exists as soon as a path names it

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
        """A new FaultFS holding only the durable state (what a cut now would leave)."""
        if atomic_rename is None:
            atomic_rename = self.atomic_rename
        return FaultFS(self.durable(), cut_at, cut_mode, torn, atomic_rename)

    def poke(self, path, data):
        """Set a file's durable bytes directly (corruption tests): no operation is counted."""
        self._files[path] = _Node(bytes(data))

    def peek(self, path):
        node = self._files.get(path)
        return None if node is None else bytes(node.data)


class FakeNVS(_Power):
    def __init__(self, committed=None, cut_at=None, cut_mode=BEFORE, missing_errno=_NVS_NOT_FOUND):
        _Power.__init__(self, cut_at, cut_mode)
        self.missing_errno = missing_errno
        self._committed = dict(committed) if committed else {}
        self._pending = {}  # key -> bytes, or None for an erase
        self.commits = 0

    def _value(self, key):
        if key in self._pending:
            return self._pending[key]
        return self._committed.get(key)

    def _missing(self):
        if self.missing_errno == _ENOENT:
            return OSError(_ENOENT, "ENOENT")
        return OSError(self.missing_errno, "ESP_ERR_NVS_NOT_FOUND")

    def set_blob(self, key, value):
        if len(key) > 15:
            raise OSError(_NVS_KEY_TOO_LONG, "ESP_ERR_NVS_KEY_TOO_LONG")
        self.begin()
        self._pending[key] = bytes(value)
        self.end()

    def get_blob(self, key, buf):
        self.alive()
        data = self._value(key)
        if data is None:
            raise self._missing()
        if not isinstance(buf, bytearray):
            raise TypeError("buffer must be a bytearray")
        if len(buf) < len(data):
            raise OSError(_NVS_INVALID_LENGTH, "ESP_ERR_NVS_INVALID_LENGTH")
        buf[: len(data)] = data
        return len(data)

    def erase_key(self, key):
        self.alive()
        if self._value(key) is None:
            raise self._missing()
        self.begin()
        self._pending[key] = None
        self.end()

    def commit(self):
        self.begin()
        for key in self._pending:
            value = self._pending[key]
            if value is None:
                self._committed.pop(key, None)
            else:
                self._committed[key] = value
        self._pending = {}
        self.commits += 1
        self.end()

    def durable(self):
        """key -> bytes that survive a reset: the committed state."""
        return dict(self._committed)

    def reboot(self, cut_at=None, cut_mode=BEFORE):
        return FakeNVS(self._committed, cut_at, cut_mode, self.missing_errno)

    def poke(self, key, data):
        """Set a committed value directly (corruption tests): no operation is counted."""
        self._committed[key] = bytes(data)

    def peek(self, key):
        return self._committed.get(key)
