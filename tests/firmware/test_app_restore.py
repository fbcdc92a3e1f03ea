# App.restore over every stored record (issue 12, item 8): the newest one the ledger can read,
# and a fault that says what was restored. The records are built from the format documented
# in store.py, not by store.py. CPython and MicroPython.
import binascii
import struct

from app_rig import power_source

from host_tools.sim.platform.faultfs import FaultFS
from sunprint.app import App
from sunprint.core.ledger import LIFETIME, Ledger
from sunprint.store import FileBackend, PersistPolicy, Store
from sunprint.ui.refresh import RefreshPlan, always_full

START = 782179200 - 8 * 3600 + 9 * 3600  # 2024-10-15 09:00 local, firmware seconds


def _record(seq, payload):
    # Record format 1 (store.py docstring): magic, version, reserved, length, seq, payload, CRC.
    body = b"SPRL" + struct.pack("<BBHI", 1, 0, len(payload), seq) + payload
    return body + struct.pack("<I", binascii.crc32(body) & 0xFFFFFFFF)


class Panel:
    def begin_show(self, buf, full):
        pass

    def begin_show_window(self, buf, x, y, w, h):
        pass

    def busy(self):
        return False

    def finish(self):
        pass


class Renderer:
    fb_buffer = bytearray(8)
    width = 8
    height = 8

    def render(self, values):
        pass


def _app(fs, plan=None, persist_wh=10, mw=1000000):
    app = App(
        source=power_source(mw),
        panel=Panel(),
        renderer=Renderer(),
        ledger=Ledger(),
        carbon_row=("CN", 2023, 5306, "test"),
        store=Store(FileBackend(fs)),
        policy=PersistPolicy(persist_interval_s=600, persist_wh=persist_wh),
        plan=plan or always_full(),
    )
    return app, app.restore()


def _ledger_state(mwh):
    # A ledger state holding `mwh` of lifetime energy, as a ledger packs it.
    led = Ledger()
    led.seed_lifetime(mwh)
    return led.pack()


def _run(app, start, seconds, step=10):
    t = start
    while t < start + seconds:
        wake = app.tick(t)
        while wake <= t:
            wake = app.tick(t)
        t += step
    return t


# -- item 8: restore tries every record, newest first, and says what it restored --


def test_newest_record_unreadable_restores_the_older_one():
    older = _ledger_state(41000000)  # 41 kWh
    for newest in (b"", b"\x03" + older[1:], older + b"\x01" * 7 + older[:3]):
        # empty payload; a newer firmware's ledger state (version 3); a foreign tail layout
        fs = FaultFS({"ledger.0": _record(41, older), "ledger.1": _record(42, newest[:40])})
        app, status = _app(fs)
        assert app.ledger.mwh(LIFETIME) == 41000000, (newest[:4], app.ledger.mwh(LIFETIME))
        assert status == "fallback", status
        assert app.faults["store"] == 1
        fault = app.last_fault
        assert "older record (seq 41)" in fault, fault
        assert "seq 42" in fault and "not a ledger state" in fault, fault
        assert "zero" not in fault, fault
        # and the next saves never overwrite the record that was restored before a newer one
        _run(app, START, 700)
        again, _ = _app(fs.reboot())
        assert again.ledger.mwh(LIFETIME) >= 41000000


def test_a_bad_plan_tail_keeps_the_ledger_and_resets_only_the_plan():
    state = _ledger_state(7000000)
    fs = FaultFS({"ledger.0": _record(5, state + b"\x09" * 16)})  # plan version 9: not a plan
    plan = RefreshPlan()
    app, status = _app(fs, plan)
    assert app.ledger.mwh(LIFETIME) == 7000000
    assert status == "ok", status
    fault = app.last_fault
    assert fault is not None and "plan" in fault, fault
    assert "zero" not in fault and "seq 5" in fault, fault
    assert plan.partials == 0 and not plan.known


def test_every_record_unreadable_counts_from_zero_and_says_why():
    fs = FaultFS({"ledger.0": _record(3, b"\x07" * 40), "ledger.1": _record(4, b"")})
    app, status = _app(fs)
    assert status == "corrupt"
    assert app.ledger.mwh(LIFETIME) == 0
    assert app.faults["store"] == 1
    assert "counting from zero" in app.last_fault, app.last_fault
    assert "not a ledger state" in app.last_fault, app.last_fault
