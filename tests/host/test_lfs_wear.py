"""The LittleFS erase-count model behind FaultFS (host_tools/sim/platform/lfswear.py LfsWear): each
figure here is worked out by hand from littlefs's documented behaviour (DESIGN.md, SPEC.md):
commits appended to a metadata pair, a block erased at each compaction, a CTZ file's block
copied at every sync, relocation every (block_cycles + 1) | 1 compactions."""

import pytest

from host_tools.sim.platform.faultfs import BEFORE, FaultFS, PowerCut
from host_tools.sim.platform.lfswear import LfsWear


def _rewrite(fs, path, size):
    f = fs.open(path, "wb")
    f.write(b"x" * size)
    f.close()


def test_an_inline_file_rewritten_costs_commits_not_erases():
    wear = LfsWear(block_count=64, static_blocks=0, root_bytes=0)
    fs = FaultFS(wear=wear)
    _rewrite(fs, "a.j0", 73)
    assert wear.total() == 0  # created and written: two commits in the root's log
    assert wear.commits == 2
    # The root block: revision 4 + superblock 40 + CRC end 20 -> 64 bytes; the create commit
    # (create, name, struct tags: 16 bytes + 20) -> 64; a 73-byte inline file's commit (struct
    # tag 4 + 73, mtime 12, CRC end 20 = 109) -> 128. So (4096 - 64 - 64 - 128) // 128 = 30
    # more rewrites fit in the block before a compaction erases the other one.
    for _ in range(30):
        _rewrite(fs, "a.j0", 73)
    assert wear.total() == 0 and wear.compactions == 0
    _rewrite(fs, "a.j0", 73)
    assert wear.compactions == 1 and wear.erases[1] == 1  # the other block of the pair


def test_a_file_over_inline_max_takes_a_block_each_time():
    wear = LfsWear(block_count=64, static_blocks=0, root_bytes=0)
    fs = FaultFS(wear=wear)
    for _ in range(10):
        _rewrite(fs, "rec.tmp", 441)  # a full record: 441 bytes > 128
        fs.rename("rec.tmp", "rec.0")
    assert wear.total() == 10  # one data block a save (the old one freed by the rename)
    assert sum(wear._used) == 2 + 1  # the superblock pair and the one live record


def test_every_sync_of_a_growing_file_copies_its_last_block():
    wear = LfsWear(block_count=64, static_blocks=0, root_bytes=0)
    fs = FaultFS(wear=wear)
    f = fs.open("log/1.csv", "wb")  # the directory's pair: two blocks allocated
    base = wear.total()
    assert base == 2
    f.write(b"h" * 200)
    f.flush()  # 200 bytes > 128: the data goes to a block of its own
    assert wear.total() == base + 1
    for i in range(5):
        f.write(b"r" * 100)
        f.flush()  # copy-on-write of the partial last block: one erase a flush
        assert wear.total() == base + 2 + i
    f.close()  # nothing new to sync
    assert wear.total() == base + 6


def test_a_busy_pair_is_relocated_every_block_cycles():
    wear = LfsWear(block_count=512, static_blocks=0, root_bytes=0, block_cycles=100)
    fs = FaultFS(wear=wear)
    fs.mkdir("/d")
    first = list(wear._dirs["d"].pair)
    n = 0
    while wear._dirs["d"].rev < 101:
        _rewrite(fs, "d/j", 73)
        n += 1
    pair = wear._dirs["d"].pair
    assert wear.relocations >= 1
    assert set(pair) != set(first)  # one block of the pair swapped for a fresh one
    # 101 compactions alternate over the pair: no block of it was erased more than 51 times
    assert max(wear.erases) <= 51, max(wear.erases)


def test_the_superblock_pair_hands_the_root_over_once_tired():
    wear = LfsWear(block_count=512, static_blocks=0, root_bytes=200, block_cycles=100)
    fs = FaultFS(wear=wear)
    for _ in range(30 * 200):
        _rewrite(fs, "ledger.j0", 73)
    assert wear.expanded
    sb = wear.erases[0] + wear.erases[1]
    for _ in range(30 * 200):
        _rewrite(fs, "ledger.j0", 73)
    assert wear.erases[0] + wear.erases[1] == sb  # the root's commits go elsewhere now
    assert sb <= 102


def test_wear_survives_reboots_and_a_cut_frees_what_was_not_committed():
    wear = LfsWear(block_count=64, static_blocks=0, root_bytes=0)
    fs = FaultFS(wear=wear, cut_at=2, cut_mode=BEFORE)
    f = fs.open("big", "wb")  # op 0
    f.write(b"x" * 300)  # op 1: a block allocated (and erased)
    with pytest.raises(PowerCut):
        f.flush()  # op 2: the cut comes first, nothing committed
    assert wear.total() == 1
    fs = fs.reboot()
    assert fs.wear is wear and wear.total() == 1
    assert sum(wear._used) == 2  # the block of the lost write is free again
    _rewrite(fs, "big", 300)
    assert wear.total() == 2


def test_a_replayed_trace_wears_as_the_operations_did():
    def day(fs):
        for i in range(40):
            _rewrite(fs, "ledger.j%d" % (i % 2), 73)
            if i % 10 == 9:
                _rewrite(fs, "ledger.tmp", 441)
                fs.rename("ledger.tmp", "ledger.%d" % (i // 10 % 2))

    recorded = LfsWear(block_count=128, static_blocks=10, record=True)
    day(FaultFS(wear=recorded))
    trace = list(recorded.trace)
    recorded.replay(trace, 9)
    direct = LfsWear(block_count=128, static_blocks=10)
    fs = FaultFS(wear=direct)
    for _ in range(10):
        day(fs)
    assert recorded.erases == direct.erases
    assert recorded.commits == direct.commits and recorded.total() > 0
