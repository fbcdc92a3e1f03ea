# A meter register that glitches, through the board's whole meter stack (board.build: the real
# driver on the meter model, MeterSource with the profile's health, the ledger with the board's
# limits): never booked, a fault the app shows. CPython and MicroPython.
# micropython-heap: 110000 (an ESP32 without PSRAM: the meter and line models and the flash
# run on the host, host_tools/sim/board/modellink.py)
# micropython-vm: app (the deployed form: the app frozen into the 32-bit binary)
# micropython-fresh-vm: each (a unit powers on with an empty heap)
from meter_rig import MeterRig

from sunprint.core.ledger import LIFETIME, Ledger
from sunprint.sources import PulseSource

COUNT_MWH = 10000  # a DL/T 645 register count: 0.01 kWh


def _run(r, seconds, w):
    end = r.t + seconds
    while r.t < end:
        r.step(w)


def _glitch_on(board, glitch_kwh, count_mwh):
    r = MeterRig(board, energy_kwh=50.0)  # 5000 counts of 0.01 kWh
    try:
        _run(r, 300, 3600)
        r.step(3600, glitch_kwh=glitch_kwh)  # one poll reads the glitch
        _run(r, 300, 3600)
        got, truth = r.lifetime_mwh(), r.truth_mwh()
        # what the meter counted, to its resolution; before the fix +10,000 kWh
        assert truth - 2 * count_mwh <= got <= truth, (got, truth)
        assert r.app.faults.get("meter", 0) >= 1, r.app.faults
        assert r.app.ledger.counter_implausible >= 1
    finally:
        r.close()


def test_dlt645_board_one_poll_glitch_is_not_booked():
    _glitch_on("esp32-epd42-dlt645", 10050.0, COUNT_MWH)  # 5000 -> 1,005,000 -> 5001 counts


def test_modbus_board_one_poll_glitch_is_not_booked():
    _glitch_on("esp32-epd75-ddsu666", 10050.0, 1000)


def test_dlt645_board_swap_reanchors_and_fills():
    r = MeterRig("esp32-epd42-dlt645", energy_kwh=50.0)
    try:
        _run(r, 300, 3600)
        r.set_register(7.0)  # a new meter on the same address
        _run(r, 300, 3600)
        got, truth = r.lifetime_mwh(), r.truth_mwh()
        assert truth - 3 * COUNT_MWH <= got <= truth, (got, truth)
        assert r.app.ledger.counter_resets == 1
    finally:
        r.close()


class _Burst:
    """An S0 input whose count jumps by a burst of noise pulses at one poll."""

    counts_per_kwh = 1000

    def __init__(self):
        self.n = 0
        self.power_mw = 0

    def poll(self):
        return 0

    def count(self):
        return self.n


def test_s0_board_burst_is_not_booked():
    from meter_rig import accounting_profile
    from repo import ROOT

    from host_tools.sim.board import modellink
    from host_tools.sim.platform import machine as fake
    from host_tools.sim.platform.clock import Clock
    from sunprint.board import build

    profile = accounting_profile("esp32-max7219-s0")
    rig = modellink.wire(profile, Clock(0), fake)
    unit = build(profile, fake, esp32=rig.esp32, fonts_dir=ROOT + "/assets/fonts")
    try:
        driver = _Burst()
        source = PulseSource(driver)
        unit.app.source = source
        ledger = unit.ledger
        t = 782179200
        for i in range(60):
            driver.n += 10  # 10 Wh per 10 s: 3.6 kW
            if i == 30:
                driver.n += 5000000  # 5 MWh of noise in one poll
            unit.app.tick(t + 10 * i)
        assert ledger.mwh(LIFETIME) <= 590 * 10 * 1000 // 10, ledger.mwh(LIFETIME)
        assert ledger.mwh(LIFETIME) >= 560000
        assert ledger.counter_implausible >= 1 and unit.app.faults.get("meter", 0) >= 1
    finally:
        unit.close()


def test_board_build_sets_the_ledger_limits():
    from meter_rig import MeterRig  # noqa: F401 - the rig's imports, for the fake machine

    for board, limit in (("esp32-epd42-dlt645", 60000), ("esp32-epd75-ddsu666", 16000)):
        r = MeterRig(board)
        try:
            assert r.app.ledger.counter_max_power_w == limit, board
            assert r.app.ledger.max_power_w == limit
        finally:
            r.close()
    assert Ledger().max_power_w == 10000000
