"""Store benchmarks: energy at risk at a power cut, and the flash's life under the store.

The bundled day (assets/logs/zhongshan-2024-10-15.csv, 10 s samples of a 10 kWp roof) is
replayed through the firmware's Ledger, PersistPolicy and Store (FileBackend over FaultFS), as
App does it (Store.save_ledger of the kind PersistPolicy.due asks for), with the unit's sample
log (SampleLogWriter, its defaults) writing to the same flash:

- store_writes_per_day: full records in the day (the log is exactly one local day); peer: the
  journal entries written beside them.
- store_energy_at_risk: the most a power cut between two ticks can lose: the largest energy the
  ledger booked that was not durable yet, after any tick's save. Peer: the two-slot store alone
  (PersistPolicy(journal=False): full records at most every 600 s), measured the same way.
- store_energy_in_save: what a cut inside a save costs at most: the unsaved energy before the
  tick's save, i.e. the above plus the sample being saved (at 8.3 kW, 10 s are 23 Wh). A cut a
  moment before that sample was taken loses its interval all the same: it is the sampling's
  share, not the store's.
- store_flash_life_years: years until the most-erased 4 KB sector reaches 100,000 erase
  cycles, from host_tools/sim/platform/lfswear.py LfsWear, an erase-count model of LittleFS 2.11 as
  MicroPython mounts it on the ESP32 (the unit's store is FileBackend on LittleFS): a 960 KB
  filesystem (240 blocks: the vfs partition of MicroPython's 4 MiB ESP32 layout), 48 blocks
  of files that never change (app, fonts, config). The day runs once with the real code; its
  flash operations (store and sample log) are replayed for DAYS days, and the most-erased
  block's count is extrapolated linearly (conservative: wear evens out as time goes on).
  Peer: the same, with a full record written wherever the journal wrote an entry (the two-slot
  store saving as often as it must for 10 Wh at risk).
- store_flash_life_years_community_16_meters: the same for a community unit of 16 meters,
  whose per-meter record (235 bytes) is written beside every full record, in files of its own
  (community.0 / community.1). Peer: the single-meter figure above.

    .venv/bin/python tests/bench/bench_store.py
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from host_tools.paths import LOGS, use_firmware  # noqa: E402

DAY = LOGS / "zhongshan-2024-10-15.csv"
DAYS = 120  # simulated days of wear
ENDURANCE = 100000  # erase cycles per sector (FIELD-NOTES: typical SPI NOR flash)
GEOMETRY = dict(block_count=240, static_blocks=48)


from timing import line as _line  # noqa: E402 - tests/bench/timing.py


def _samples():
    use_firmware()
    from sunprint.compat import EPOCH_2000_UNIX
    from sunprint.samplelog import read_samples

    with open(DAY, encoding="utf-8", newline="") as f:
        return [(t - EPOCH_2000_UNIX, round(w * 1000)) for t, w in read_samples(f, str(DAY))]


def replay_day(journal=True, full_only=False, wear=None, community_bytes=0):
    """The bundled day through ledger, policy and store (and the sample log, with a wear
    model). Returns a dict: writes, appends, at_risk_mwh (after each tick's save),
    in_save_mwh (before it)."""
    use_firmware()
    from host_tools.sim.platform.faultfs import FaultFS
    from sunprint.core.ledger import Ledger
    from sunprint.samplelog import SampleLogWriter
    from sunprint.store import FULL, JOURNAL, FileBackend, PersistPolicy, Store

    samples = _samples()
    fs = FaultFS(wear=wear)
    led = Ledger(tz_offset_s=28800, max_gap_s=300)
    store = Store(FileBackend(fs))
    store.restore_into(led)
    beside = None
    if community_bytes:  # a community unit: its per-meter record beside each full record
        beside = Store(FileBackend(fs, prefix="community", max_payload=community_bytes))
    policy = PersistPolicy(600, 10, journal)
    log = SampleLogWriter(fs, directory="/log") if wear is not None else None
    at_risk = in_save = 0
    day = -1
    days = set()
    for t, mw in samples:
        led.add_power(t, mw)
        if log is not None:
            log.append(t, mw, mw, 0)
        in_save = max(in_save, led.unsaved_mwh)
        d = led.day_of(t)
        days.add(d)
        day_changed = d != day
        if day_changed:
            day = d
            policy.new_day()
        kind = policy.due(t, led.unsaved_mwh, day_changed)
        if kind:
            if full_only:
                kind = FULL
            if store.save_ledger(led, None, kind) == JOURNAL:
                policy.appended(t)
            else:
                policy.saved(t)
                if beside is not None:  # as App._persist: CommunitySource.persist()
                    beside.save(bytes(community_bytes))
        at_risk = max(at_risk, led.unsaved_mwh)  # what a cut now, between ticks, loses
    assert len(days) == 1, days  # the log is one local day
    assert policy.writes_today == store.writes and policy.appends == store.appends
    return {
        "writes": store.writes,
        "appends": store.appends,
        "at_risk_mwh": at_risk,
        "in_save_mwh": in_save,
    }


def flash_life_years(full_only=False, community_bytes=0):
    """(years, day's figures, wear model) for the unit's flash under store and sample log
    (and a community unit's per-meter record of community_bytes, written with each full
    record)."""
    from host_tools.sim.platform.lfswear import LfsWear

    wear = LfsWear(record=True, **GEOMETRY)
    day = replay_day(full_only=full_only, wear=wear, community_bytes=community_bytes)
    wear.replay(wear.trace, DAYS - 1)
    _, worst = wear.worst()
    return ENDURANCE * DAYS / (worst * 365.0), day, wear


def bench_store():
    years, day, wear = flash_life_years()
    two_slot = replay_day(journal=False)
    years_full, _, _ = flash_life_years(full_only=True)
    _line(
        "store_writes_per_day",
        day["writes"],
        "writes",
        "<= 144",
        ("journal_appends", day["appends"], "appends"),
    )
    _line(
        "store_energy_at_risk",
        "%.2f" % (day["at_risk_mwh"] / 1000),
        "Wh",
        "<= 10",
        ("two_slot_store", "%.1f" % (two_slot["at_risk_mwh"] / 1000), "Wh"),
    )
    _line(
        "store_energy_in_save",
        "%.1f" % (day["in_save_mwh"] / 1000),
        "Wh",
        None,
        ("two_slot_store", "%.1f" % (two_slot["in_save_mwh"] / 1000), "Wh"),
    )
    _line(
        "store_flash_life_years",
        "%.1f" % years,
        "years",
        ">= 20",
        ("full_records_instead_of_journal", "%.1f" % years_full, "years"),
        "erase model: lfswear.LfsWear, LittleFS 2.11 as VfsLfs2 on the ESP32, %d x 4 KB blocks"
        " (%d static), store + sample log, worst block after %d days: %d erases"
        % (GEOMETRY["block_count"], GEOMETRY["static_blocks"], DAYS, wear.worst()[1]),
    )
    # a community unit of 16 meters: its 235-byte per-meter record (11 + 14 per meter) written
    # beside each full record (sunprint/community/source.py persist), in files of its own
    years_community, _, _ = flash_life_years(community_bytes=11 + 14 * 16)
    _line(
        "store_flash_life_years_community_16_meters",
        "%.1f" % years_community,
        "years",
        ">= 20",
        ("single_meter", "%.1f" % years, "years"),
    )


if __name__ == "__main__":
    bench_store()
