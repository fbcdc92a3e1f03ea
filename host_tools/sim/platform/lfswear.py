# An erase-count model of LittleFS v2 under the operations the fault-injecting flash sees
# (host_tools/sim/platform/faultfs.py FaultFS(wear=LfsWear(...))): per 4 KB block, so the years before
# any sector reaches its rated erase cycles can be computed (tests/bench/bench_store.py).
#
# Portable Python, like faultfs.py: it runs under CPython and inside the MicroPython unix port.

_TAG = 4  # every LittleFS metadata tag
_CRC = 20  # a commit's end: FCRC tag + fcrc (12) and CCRC tag + crc (8), littlefs >= 2.6
_SUPERBLOCK = 4 + 8 + 4 + 24  # "littlefs" name tag and name, inline superblock struct
_TAIL = 4 + 8  # a tail pointer to the next metadata pair
_CTZ = 4 + 8  # CTZ struct tag: head block and size
_MTIME = 4 + 8  # MicroPython's mtime user attribute ("t", 8 bytes), written at every sync


def _split(path):
    path = path.strip("/")
    i = path.rfind("/")
    if i < 0:
        return "", path
    return path[:i], path[i + 1 :]


def _align(n, a):
    return (n + a - 1) // a * a


class _Mdir:
    # A metadata pair: two blocks, the commits appended to the active one (off bytes used).
    def __init__(self, pair, fixed):
        self.pair = pair  # [active block, the other one]
        self.fixed = fixed  # live bytes besides the entries (superblock, tail)
        self.entries = {}  # name -> live bytes of its tags (name, struct, attributes)
        self.rev = 0
        self.off = 0


class _File:
    def __init__(self):
        self.inline = True
        self.size = 0
        self.blocks = []  # data blocks (CTZ skip-list), committed


class _Handle:
    def __init__(self, path, file):
        self.path = path
        self.file = file
        self.inline = True  # "wb": truncated, inline until it outgrows inline_max
        self.size = 0
        self.blocks = []
        self.off = 0  # bytes used in the last block
        self.writing = False  # littlefs LFS_F_WRITING: the last block is this handle's own
        self.dirty = False


class LfsWear:
    """Erase counts per 4 KB block of LittleFS v2 (2.11, as MicroPython's VfsLfs2 mounts it on
    the ESP32: read_size = prog_size = 32, cache_size 128, block_cycles 100, mtime on) under the
    file operations FaultFS sees. From littlefs's DESIGN.md and SPEC.md and lfs.c:

    - Metadata pairs: a directory is two blocks; each change is a commit appended to the active
      block: its tags (4 bytes each, with their data) and a CRC end (20 bytes), padded to
      prog_size. Creating a file commits its name; closing (syncing) a written file commits its
      struct (an inline file: its whole content; a CTZ file: head and size) and mtime; a rename
      moves the entry in one commit; a remove commits a delete tag.
    - When a commit does not fit, the pair is compacted: the other block is erased (one erase)
      and the live entries written to it. Every ((block_cycles + 1) | 1)-th compaction the block
      is swapped for a new one from the allocator (relocation: wear spreads over free space);
      the superblock pair {0, 1} is never relocated: the first time it is due, the root's
      entries move to a new pair ("superblock expansion", lfs >= 2.6, if under 7/8 full).
    - Files up to inline_max = min(cache_size, block_size / 8) = 128 bytes are inline: no data
      block. A bigger file's data is in blocks of its own (CTZ skip-list, ~8 bytes of pointers
      a block): writing after a sync (or a fresh file) allocates a new block and copies the
      last, partial one into it (copy-on-write), so every sync of a growing file costs an erase.
    - The allocator hands out free blocks in a circle, from a random place at each mount; every
      block allocated is erased before it is programmed.

    Not modelled: metadata splits (a directory over half a block: this model raises instead),
    bad blocks, lookahead refills, moves between directories' gstate beyond one commit each.

    Other files of the unit (app, fonts, config) are `static_blocks` that never change, and
    `root_bytes` of live root entries. record=True keeps a trace of the operations, which
    replay() runs again: days of wear from one day of the store's real operations.
    """

    def __init__(
        self,
        block_count=240,
        block_size=4096,
        prog_size=32,
        cache_size=128,
        block_cycles=100,
        mtime=True,
        static_blocks=48,
        root_bytes=320,
        record=False,
    ):
        if static_blocks + 4 > block_count:
            raise ValueError("static_blocks leave no room")
        self.block_count = block_count
        self.block_size = block_size
        self.prog_size = prog_size
        self.inline_max = min(cache_size, block_size // 8)
        self.cycle = (block_cycles + 1) | 1
        self.mtime = _MTIME if mtime else 0
        self.payload = block_size - 8  # data a CTZ block holds, its pointers taken off
        self.erases = [0] * block_count
        self._used = bytearray(block_count)
        self._used[0] = self._used[1] = 1  # the superblock pair
        for b in range(2, 2 + static_blocks):
            self._used[b] = 1
        self._next = 2 + static_blocks
        self.commits = 0
        self.compactions = 0
        self.relocations = 0
        self.expanded = False
        self._sb = _Mdir([0, 1], _SUPERBLOCK)
        self._sb.entries[""] = root_bytes  # the unit's other root entries
        self._sb.off = self._compacted_size(self._sb)
        self._root = self._sb  # where root entries live (a new pair after expansion)
        self._dirs = {}
        self._files = {}
        self._handles = []
        self.trace = [] if record else None
        self._ids = {}  # recorded handle -> id

    # -- what FaultFS calls --

    def open_write(self, path):
        at = -1
        if self.trace is not None:
            at = len(self.trace)
            self.trace.append(("o", path))
        d, name = self._dir_of(path)
        f = self._files.get(path)
        if f is None:
            f = _File()
            self._files[path] = f
            d.entries[name] = _TAG + len(name) + _TAG  # name, empty inline struct
            self._commit(d, _TAG + _TAG + len(name) + _TAG)  # create, name, struct
        h = _Handle(path, f)
        h.dirty = True  # O_TRUNC
        self._handles.append(h)
        if at >= 0:
            self._ids[id(h)] = at
        return h

    def write(self, h, n):
        if self.trace is not None:
            self.trace.append(("w", self._ids.get(id(h), -1), n))
        new = h.size + n
        h.dirty = True
        if h.inline:
            if new <= self.inline_max:
                h.size = new
                return
            h.inline = False  # outlined: the inline data goes into a block of its own
            h.blocks.append(self._alloc())
            h.off = h.size
            h.writing = True
        if not h.writing:
            # After a sync littlefs copies the last, partial block before appending to it.
            if h.blocks and h.off < self.payload:
                h.blocks.pop()
            h.blocks.append(self._alloc())
            if h.off >= self.payload:
                h.off = 0
            h.writing = True
        rest = n
        while rest > 0:
            room = self.payload - h.off
            if room <= 0:
                h.blocks.append(self._alloc())
                h.off = 0
                continue
            take = room if room < rest else rest
            h.off += take
            rest -= take
        h.size = new

    def sync(self, h):
        if self.trace is not None:
            self.trace.append(("s", self._ids.get(id(h), -1)))
        if not h.dirty:
            return
        f = h.file
        if self._files.get(h.path) is not f:
            return  # removed or renamed away while open
        d, name = self._dir_of(h.path)
        struct = _TAG + h.size if h.inline else _CTZ
        d.entries[name] = _TAG + len(name) + struct + self.mtime
        kept = h.blocks
        for b in f.blocks:
            if b not in kept:
                self._used[b] = 0  # copy-on-write: the blocks this commit replaces are free
        f.blocks = list(kept)
        f.inline = h.inline
        f.size = h.size
        self._commit(d, struct + self.mtime)
        h.dirty = False
        h.writing = False

    def close(self, h):
        self.sync(h)
        if self.trace is not None:
            self.trace.append(("c", self._ids.pop(id(h), -1)))
        if h in self._handles:
            self._handles.remove(h)

    def rename(self, src, dst):
        if self.trace is not None:
            self.trace.append(("r", src, dst))
        f = self._files.pop(src, None)
        if f is None:
            return
        sd, sname = self._dir_of(src)
        dd, dname = self._dir_of(dst)
        moved = sd.entries.pop(sname) - _TAG - len(sname)  # its struct and attributes
        attrs = _TAG + _TAG + len(dname) + moved  # create, name, the moved tags
        old = self._files.pop(dst, None)
        if old is not None:
            self._free(old)
            attrs += _TAG  # delete the old dst
        dd.entries[dname] = _TAG + len(dname) + moved
        self._files[dst] = f
        if dd is sd:
            self._commit(dd, attrs + _TAG)  # and delete src, in the same commit
        else:
            self._commit(dd, attrs + 16)  # the move's gstate
            self._commit(sd, _TAG + 16)

    def remove(self, path):
        if self.trace is not None:
            self.trace.append(("x", path))
        f = self._files.pop(path, None)
        if f is None:
            return
        d, name = self._dir_of(path)
        d.entries.pop(name, None)
        self._free(f)
        self._commit(d, _TAG)

    def mkdir(self, directory):
        if self.trace is not None:
            self.trace.append(("m", directory))
        self._mkdir(directory)

    def _mkdir(self, directory):
        key = directory.strip("/")
        if key in self._dirs:
            return
        parent, name = self._dir_of(key)
        d = _Mdir([self._alloc(), self._alloc()], 0)
        d.off = self._compacted_size(d)
        self._dirs[key] = d
        parent.entries[name] = _TAG + len(name) + _TAG + 8  # name, dir struct (a pair)
        self._commit(parent, _TAG + _TAG + len(name) + _TAG + 8)

    def mount(self):
        """A reboot: writes in flight are lost (their new blocks are free again), and the
        allocator starts somewhere else, as littlefs seeds it from the metadata's CRCs."""
        if self.trace is not None:
            self.trace.append(("M",))
        for h in self._handles:
            for b in h.blocks:
                if b not in h.file.blocks:
                    self._used[b] = 0
        self._handles = []
        self._ids = {}
        self._next = (self._next * 1103515245 + 12345 + self.total()) % self.block_count

    # -- figures --

    def total(self):
        return sum(self.erases)

    def worst(self):
        """(block, erases) of the most erased block."""
        best = 0
        for b in range(self.block_count):
            if self.erases[b] > self.erases[best]:
                best = b
        return best, self.erases[best]

    def replay(self, trace, times=1):
        """Run a recorded trace again `times` times (the operations, not the data)."""
        saved = self.trace
        self.trace = None
        try:
            for _ in range(times):
                handles = {}  # trace index of the open -> handle
                i = 0
                for op in trace:
                    kind = op[0]
                    if kind == "o":
                        handles[i] = self.open_write(op[1])
                    elif kind == "w":
                        self.write(handles[op[1]], op[2])
                    elif kind == "s":
                        self.sync(handles[op[1]])
                    elif kind == "c":
                        self.close(handles.pop(op[1]))
                    elif kind == "r":
                        self.rename(op[1], op[2])
                    elif kind == "x":
                        self.remove(op[1])
                    elif kind == "m":
                        self.mkdir(op[1])
                    else:
                        self.mount()
                    i += 1
        finally:
            self.trace = saved

    # -- internals --

    def _dir_of(self, path):
        d, name = _split(path)
        if d == "":
            return self._root, name
        md = self._dirs.get(d)
        if md is None:
            self._mkdir(d)  # FaultFS's flat namespace: a path names its directory
            md = self._dirs[d]
        return md, name

    def _alloc(self):
        n = self.block_count
        used = self._used
        b = self._next
        try:
            found = used.find(b"\x00", b)  # the next free block, circling (C speed)
            if found < 0:
                found = used.find(b"\x00", 0, b)
        except AttributeError:  # a bytearray without find(): walk
            found = -1
            for _ in range(n):
                if not used[b]:
                    found = b
                    break
                b = b + 1 if b + 1 < n else 0
        if found < 0:
            raise OSError(28, "ENOSPC (wear model)")
        used[found] = 1
        self._next = found + 1 if found + 1 < n else 0
        self.erases[found] += 1  # littlefs erases every block it allocates
        return found

    def _free(self, f):
        for b in f.blocks:
            self._used[b] = 0
        f.blocks = []

    def _compacted_size(self, d):
        live = d.fixed
        for name in d.entries:
            live += d.entries[name]
        size = _align(4 + live + _CRC, self.prog_size)  # revision count, entries, CRC end
        if size > self.block_size // 2:
            raise ValueError("wear model: a directory over half a block would split")
        return size

    def _commit(self, d, attrs):
        self.commits += 1
        size = _align(attrs + _CRC, self.prog_size)
        if d.off + size <= self.block_size:
            d.off += size
            return
        self._compact(d)

    def _compact(self, d):
        # The live entries (with the change being committed) go to the other block.
        self.compactions += 1
        tired = (d.rev + 1) % self.cycle == 0
        d.rev += 1
        if tired and d is self._sb and not self.expanded:
            used = 0
            for u in self._used:
                used += u
            if self.block_count - used > self.block_count // 8:
                # Superblock expansion: the root's entries go to a new pair, the superblock
                # pair keeps the superblock and a tail, and is rarely written again.
                self.expanded = True
                root = _Mdir([self._alloc(), self._alloc()], 0)
                root.entries = d.entries
                root.off = self._compacted_size(root)
                d.entries = {}
                d.fixed = _SUPERBLOCK + _TAIL
                self._root = root
                self.relocations += 1
        elif tired and d is not self._sb:
            old = d.pair[1]
            d.pair[1] = self._alloc()  # erased by the allocation
            self._used[old] = 0
            self.relocations += 1
            d.pair = [d.pair[1], d.pair[0]]
            d.off = self._compacted_size(d)
            return
        self.erases[d.pair[1]] += 1
        d.pair = [d.pair[1], d.pair[0]]
        d.off = self._compacted_size(d)
