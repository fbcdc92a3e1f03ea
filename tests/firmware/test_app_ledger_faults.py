# What the ledger refuses, and a store that fails in any way, are faults the app shows; nothing
# escapes the tick. CPython and MicroPython.
import struct

from app_rig import START, Panel, Renderer, power_source

from sunprint.app import App
from sunprint.core.ledger import LIFETIME, Ledger
from sunprint.store import PersistPolicy
from sunprint.ui.refresh import always_full


class FailingStore:
    """A store whose save raises `error` (not OSError: a bug, a full heap, a bad value)."""

    def __init__(self, error):
        self.error = error
        self.writes = 0
        self.tries = 0

    def save_ledger(self, ledger, plan=None, kind=0):
        self.tries += 1
        if self.error is not None:
            raise self.error
        self.writes += 1
        ledger.mark_saved()
        return kind

    note = None

    def restore_into(self, ledger, plan=None):
        return "empty"


def _app(source, store):
    return App(
        source=source,
        panel=Panel(),
        renderer=Renderer(),
        ledger=Ledger(),
        carbon_row=("CN", 2023, 5306, "test"),
        store=store,
        policy=PersistPolicy(persist_interval_s=60, persist_wh=0),
        plan=always_full(),
    )


def _run(app, t, seconds):
    end = t + seconds
    while t < end:
        app.tick(t)
        t += 10
    return t


def _struct_error():
    # What pack() raised before the fix for a NaN in the state: struct.error on CPython, a
    # TypeError on MicroPython.
    try:
        struct.pack("<q", float("nan"))
    except Exception as e:  # noqa: BLE001
        return e
    raise AssertionError("packed a NaN into an int64")


def test_a_persist_failure_of_any_kind_is_a_fault_not_an_exception():
    for error in (
        _struct_error(),
        ValueError("bad value"),
        OverflowError("too big"),
        MemoryError(),
        TypeError("a bug"),
    ):
        store = FailingStore(error)
        app = _app(power_source(), store)
        t = _run(app, START, 600)  # every persist fails; the tick goes on
        assert store.tries >= 3, store.tries
        assert app.faults.get("store", 0) == store.tries, (error, app.faults)
        assert app.ledger.mwh(LIFETIME) > 100000
        store.error = None  # the store mends: the unsaved energy is saved then
        _run(app, t, 120)
        assert store.writes >= 1 and app.ledger.unsaved_mwh < 20000


def test_refused_readings_are_a_ledger_fault_and_counting_goes_on():
    source = power_source()
    app = _app(source, None)
    t = _run(app, START, 300)
    for bad in (float("nan"), float("inf"), 1500.5, 10**33):
        source.driver.mw = bad
        t = _run(app, t, 10)
        source.driver.mw = 1000000
        t = _run(app, t, 60)
    assert app.ledger.refused == 4
    assert app.faults.get("ledger", 0) == 4, app.faults
    assert app.last_fault is not None and app.last_fault.startswith("ledger: ")
    assert 0 < app.ledger.mwh(LIFETIME) <= (t - START) * 1000000 // 3600
