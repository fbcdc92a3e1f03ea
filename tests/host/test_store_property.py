"""Property test of issues 3 and 12 (item 10): the ledger survives power cuts at any store
operation or tick, and a cut loses less than persist_wh plus the sample being saved.

CPython only (hypothesis). Random sample streams (power at random cadences, with gaps) run
through the firmware's Ledger, PersistPolicy (defaults) and Store on a FileBackend over
FaultFS, saved as App saves them (Store.save_ledger of the kind the policy asks for: journal
entries between full records). The power is cut at random operations (before or after, with
torn writes) and at random ticks; after each cut the device reboots from the durable state
only: a new FaultFS, Store, Ledger and policy, the ledger restored by Store.restore_into (the
newest record, then its newest journal entry), and the stream goes on. The cuts fall inside
journal appends, inside full records, and inside the full record that folds journal entries
into a new base (the journal's compaction); each kind is counted.

After every reboot:
- the store is readable: never "corrupt" (nor "fallback": a torn temp file is never a slot),
  and the state is the last completed save or the one in flight, never older;
- the lifetime total never exceeds the truth (a ledger fed every sample, never cut) and never
  decreases from one reboot to the next;
- the cut loses less than persist_wh plus the energy of the sample being saved (a cut between
  ticks: less than persist_wh).
"""

import random
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from host_tools.paths import use_firmware

use_firmware()

from host_tools.sim.platform.faultfs import AFTER, BEFORE, FaultFS, PowerCut  # noqa: E402
from sunprint.core.ledger import JOURNAL_SIZE, Ledger  # noqa: E402
from sunprint.store import JOURNAL, FileBackend, PersistPolicy, Store  # noqa: E402

TZ = 8 * 3600
START = 782179200 - TZ + 5 * 3600  # 2024-10-15 05:00 local, firmware seconds
PERSIST_WH = 10
OPS_PER_SAVE = 7  # a full record: open, write x3, flush, close, rename (an append: 5)
SCRATCH = bytearray(JOURNAL_SIZE)

STATS = Counter()  # cut points by kind, over the whole module


def total_mwh(led):
    return led.lifetime_kwh * 1000000 + led.lifetime_mwh


def expand(segments, rng):
    """(t, mW) samples from segments (cadence_s, count, base_w, noise_w, gap_s)."""
    t = START
    out = []
    for cadence, count, base_w, noise_w, gap in segments:
        t += gap
        for _ in range(count):
            t += cadence if rng.random() > 0.05 else rng.randint(1, 3 * cadence)  # jitter
            p = base_w + rng.randint(-noise_w, noise_w)
            out.append((t, max(0, p) * 1000))
    return out


class Device:
    """One power-on of the sign: store, ledger and policy restored from the durable state."""

    def __init__(self, fs):
        self.fs = fs
        self.store = Store(FileBackend(fs))
        self.ledger = Ledger(tz_offset_s=TZ, max_gap_s=300)
        self.status = self.store.restore_into(self.ledger)
        self.ledger.resume()  # a reboot: don't bridge the outage
        self.restored = total_mwh(self.ledger)
        self.saved_mwh = self.restored
        self.policy = PersistPolicy()
        self.day = self.ledger.day  # the local day of the restored state (-1: none)
        self.inflight = None
        self.kind = None
        self.fold_cut = -1  # >= 0: cut at this operation of the next full record that folds

    def sample(self, t, mw):
        """One tick: account the sample, save if the policy says so (may raise PowerCut)."""
        led = self.ledger
        led.add_power(t, mw)
        total = total_mwh(led)
        day = led.day_of(t)
        day_changed = day != self.day
        if day_changed:
            self.day = day
            self.policy.new_day()
        kind = self.policy.due(t, led.unsaved_mwh, day_changed)
        if kind:
            if kind == JOURNAL and self.store.base and led.journal_into(SCRATCH):
                self.kind = "append"
            else:  # a full record; "fold" when it takes over journal entries
                self.kind = "fold" if self.policy._journaled else "full"
                if self.kind == "fold" and self.fold_cut >= 0:
                    self.fs.cut_at = self.fs.ops + self.fold_cut  # the cut armed for a fold
                    self.fold_cut = -1
            self.inflight = total
            written = self.store.save_ledger(led, None, kind)  # may raise PowerCut
            self.inflight = None
            self.saved_mwh = total
            if written == JOURNAL:
                self.policy.appended(t)
            else:
                self.policy.saved(t)


def run_stream(samples, rng):
    """Feed samples through a device that loses power again and again; check every reboot."""
    truth = Ledger(tz_offset_s=TZ, max_gap_s=300)
    fs = FaultFS()
    dev = Device(fs)
    assert dev.status == "empty"
    last_restored = 0
    max_mw = 0
    stats = Counter()
    i = 0
    n = len(samples)

    armed = [0]

    def arm():
        # The next cut, the kinds in turn: at a tick (between writes: the unsaved energy is
        # lost), at an operation within the next few saves (appends, mostly), or at an
        # operation of the next full record that folds journal entries into a new base (the
        # journal's compaction); before or after it, with or without a torn write. Where
        # exactly is up to the random source. Returns (op, mode, torn, tick, fold op).
        k = armed[0] % 8
        armed[0] += 1
        if k in (0, 4):
            return None, BEFORE, 0, i + rng.randint(0, 100), -1
        mode = BEFORE if k in (1, 3, 5) else AFTER
        torn = rng.randrange(1, 120) if k > 4 else 0
        if k in (3, 7):
            return None, mode, torn, n, rng.randrange(0, OPS_PER_SAVE)
        return rng.randrange(0, OPS_PER_SAVE * rng.randint(1, 4)), mode, torn, n, -1

    op, mode, torn, tick_cut, fold = arm()
    fs = fs.reboot(op, mode, torn)
    dev = Device(fs)
    dev.fold_cut = fold
    max_dt = 0  # the longest interval the ledger integrates: the tick that makes a save due
    while i < n:
        t, mw = samples[i]
        if i and t - samples[i - 1][0] <= truth.max_gap_s:
            max_dt = max(max_dt, t - samples[i - 1][0])
        truth.add_power(t, mw)
        max_mw = max(max_mw, mw)
        dev.inflight = None
        cut = False
        try:
            dev.sample(t, mw)
            cut = i >= tick_cut
            kind = "tick"
        except PowerCut:
            cut = True
            kind = "op " + mode + (" torn" if torn else "")
            stats["in " + dev.kind] += 1
        completed = dev.saved_mwh  # what the last save that returned holds
        i += 1
        if not cut:
            continue
        # The power is off: reboot from what survived.
        stats[kind] += 1
        stats["cuts"] += 1
        inflight = dev.inflight
        pre_cut = total_mwh(dev.ledger)
        op, mode, torn, tick_cut, fold = arm()
        fs = fs.reboot(op, mode, torn)
        dev = Device(fs)
        dev.fold_cut = fold
        got = dev.restored
        truth_mwh = total_mwh(truth)
        assert dev.status in ("ok", "empty"), dev.status
        assert got == completed or got == inflight, (got, completed, inflight)
        assert got <= truth_mwh, (got, truth_mwh)
        assert got >= last_restored, (got, last_restored)
        # After every tick less than persist_wh is unsaved; a cut inside a save loses that and
        # the sample being saved (its interval at most max_dt long, +1 mWh of carry).
        if kind == "tick":
            bound = PERSIST_WH * 1000 - 1
        else:
            bound = PERSIST_WH * 1000 + max_mw * max_dt // 3600 + 1
        assert pre_cut - got <= bound, (kind, pre_cut, got, bound)
        last_restored = got
    assert total_mwh(dev.ledger) <= total_mwh(truth)
    return stats


segment = st.tuples(
    st.sampled_from([1, 5, 10, 10, 10, 30, 60, 120, 290]),  # cadence, s
    st.integers(1, 300),  # samples
    st.integers(0, 20000),  # base power, W
    st.integers(0, 3000),  # noise, W
    st.sampled_from([0, 0, 0, 0, 200, 301, 1800, 7200, 90000]),  # gap before, s
)


@settings(
    max_examples=600,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# The cut points and the noise come from a Random seeded by hypothesis: st.randoms() drew
# every number through hypothesis (2 of every 3 seconds of this test went there).
@given(st.lists(segment, min_size=1, max_size=12), st.integers(0, 2**32 - 1))
def test_lifetime_survives_random_cuts(segments, seed):
    rng = random.Random(seed)
    samples = expand(segments, rng)
    STATS.update(run_stream(samples, rng))


def test_at_least_10000_cut_points():
    # Runs after the property test (file order). Hypothesis is derandomized, so the count is
    # stable; a deterministic sweep tops it up should max_examples ever be lowered.
    # The sweep also tops up the cuts inside a full record that folds journal entries (the
    # journal's compaction), rarer than cuts inside appends.
    inside = (("in append", 1000), ("in fold", 300), ("in full", 100))
    rng = random.Random(3)
    for _ in range(200):
        if STATS["cuts"] >= 10000 and all(STATS[k] >= least for k, least in inside):
            break
        segments = [(10, 300, rng.randint(0, 12000), 2000, 0) for _ in range(6)]
        STATS.update(run_stream(expand(segments, rng), rng))
    print("cut points:", dict(sorted(STATS.items())))
    assert STATS["cuts"] >= 10000
    for kind in ("tick", "op before", "op after", "op before torn", "op after torn"):
        assert STATS[kind] >= 500, (kind, STATS)
    for kind, least in inside:
        assert STATS[kind] >= least, (kind, STATS)


def test_a_resumed_ledger_does_not_bridge_the_outage():
    # Saved at 10 kW; the power drops to 0 W (that sample is lost in the cut), then 10 kW again.
    truth = Ledger(tz_offset_s=TZ, max_gap_s=300)
    dev = Ledger(tz_offset_s=TZ, max_gap_s=300)
    for led in (truth, dev):
        led.add_power(START, 10000000)
    saved = dev.pack()
    for t, mw in ((START + 100, 0), (START + 200, 10000000)):
        truth.add_power(t, mw)
    dev = Ledger(tz_offset_s=TZ, max_gap_s=300)
    dev.unpack(saved)
    dev.resume()  # without it, 200 s at 10 kW would be bridged: 555 Wh, the truth is 277 Wh
    dev.add_power(START + 200, 10000000)
    assert total_mwh(dev) <= total_mwh(truth), (total_mwh(dev), total_mwh(truth))
