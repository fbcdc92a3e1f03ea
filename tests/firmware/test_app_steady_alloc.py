# The steady-state loop allocates nothing: App.tick with its ledger and store through sampling
# ticks that each append a journal entry (the unsaved energy passes persist_wh every tick).
# CPython and MicroPython.
# micropython-vm: app (the deployed form: the app frozen into the 32-bit binary, where the
# freezer makes an int constant of a tuple beyond 14 bits a long-int object: the journal's CRC
# table was one, and every append allocated some 6 kB there and 0 B from source)
import gc

from app_rig import Panel, Renderer, power_source
from quiet_backend import QuietBackend

from sunprint.app import App
from sunprint.core.ledger import Ledger
from sunprint.store import PersistPolicy, Store
from sunprint.ui.refresh import always_full

START = 782179200 - 8 * 3600 + 11 * 3600  # 2024-10-15 11:00 local, firmware seconds


def test_sampling_ticks_with_journal_appends_allocate_nothing():
    store = Store(QuietBackend())
    app = App(
        source=power_source(5000000),  # 5 kW: 13.9 Wh a 10 s tick, a journal entry every tick
        panel=Panel(),
        renderer=Renderer(),
        ledger=Ledger(tz_offset_s=8 * 3600),
        carbon_row=("CN", 2023, 5306, "test"),
        store=store,
        policy=PersistPolicy(persist_interval_s=600, persist_wh=10),
        plan=always_full(),
        screen_period_s=1 << 29,  # no screen update in the measured ticks
    )
    app.restore()
    t = START
    for _ in range(62):  # boot, first screen, the first full record and some appends
        app.tick(t)
        t += 10
    writes, appends = store.writes, store.appends
    gc.collect()
    measure = hasattr(gc, "mem_alloc")
    if measure:
        gc.disable()
    try:
        before = gc.mem_alloc() if measure else 0  # type: ignore[attr-defined]
        for _ in range(40):  # 400 s: within the 600 s between full records
            app.tick(t)
            t += 10
        used = gc.mem_alloc() - before if measure else 0  # type: ignore[attr-defined]
    finally:
        gc.enable()
    assert store.writes == writes, "a full record in the measured ticks"
    assert store.appends - appends == 40, store.appends - appends
    assert not app.faults, app.faults
    assert used == 0, used
