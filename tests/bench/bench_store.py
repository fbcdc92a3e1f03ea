"""Store benchmarks: writes per simulated day and energy at risk at a power cut.

The bundled day (assets/logs/zhongshan-2024-10-15.csv, 10 s samples of a 10 kWp roof) is
replayed through the firmware's Ledger, PersistPolicy and Store (FileBackend over FaultFS).
- store_writes_per_day: saves in the day (the log is exactly one local day);
- store_energy_at_risk: the most energy a cut could lose, i.e. the largest unsaved energy
  after any sample, before that tick's save.
Peer, measured in the same run: the same replay with a 60 s interval, the price in writes of
less energy at risk.

    .venv/bin/python tests/bench/bench_store.py
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from host_tools.paths import LOGS, use_firmware  # noqa: E402

DAY = LOGS / "zhongshan-2024-10-15.csv"


def _line(name, value, unit, goal=None, peer=None):
    text = "bench %s: %s %s" % (name, value, unit)
    if goal:
        text += " (goal %s)" % goal
    if peer:
        text += " peer %s: %s %s" % peer
    print(text, flush=True)


def replay_day(persist_interval_s=600, persist_wh=10):
    """(writes in the day, worst unsaved energy in mWh) for the bundled log."""
    use_firmware()
    from host_tools.sim.faultfs import FaultFS
    from sunprint.compat import EPOCH_2000_UNIX
    from sunprint.core.ledger import Ledger
    from sunprint.samplelog import read_samples
    from sunprint.store import FileBackend, PersistPolicy, Store

    with open(DAY, encoding="utf-8", newline="") as f:
        samples = [(t - EPOCH_2000_UNIX, round(w * 1000)) for t, w in read_samples(f, str(DAY))]
    led = Ledger(tz_offset_s=28800, max_gap_s=300)
    store = Store(FileBackend(FaultFS()))
    store.load()
    policy = PersistPolicy(persist_interval_s, persist_wh)
    saved = 0
    worst = 0
    day = -1
    days = set()
    for t, mw in samples:
        led.add_power(t, mw)
        total = led.lifetime_kwh * 1000000 + led.lifetime_mwh
        unsaved = total - saved
        worst = max(worst, unsaved)
        d = led.day_of(t)
        days.add(d)
        day_changed = d != day
        if day_changed:
            day = d
            policy.new_day()
        if policy.due(t, unsaved, day_changed):
            store.save(led.pack())
            policy.saved(t)
            saved = total
    assert len(days) == 1, days  # the log is one local day
    assert policy.writes_today == store.writes
    return store.writes, worst


def bench_store():
    writes, worst = replay_day()
    writes_iv, worst_iv = replay_day(persist_interval_s=60)
    _line(
        "store_writes_per_day",
        writes,
        "writes",
        "<= 144",
        ("interval_60s", writes_iv, "writes"),
    )
    _line(
        "store_energy_at_risk",
        "%.1f" % (worst / 1000),
        "Wh",
        "<= 10",
        ("interval_60s", "%.1f" % (worst_iv / 1000), "Wh"),
    )


if __name__ == "__main__":
    bench_store()
