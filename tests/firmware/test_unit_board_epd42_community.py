# The whole community unit on esp32-epd42-community: firmware/main.py boots the profile on the
# fake machine module, with the SSD1683 model as the 4.2" panel and the five homes' DL/T 645-2007
# meter models on one simulated RS-485 line (host_tools.sim.chips.dlt645_bus.BusSerial, DE on pin 4),
# and runs 11:00 to 11:40 of the bundled community day (assets/logs/community-zhongshan-
# 2024-10-15.csv: each home's power, minute by minute) through the real Runner on a virtual
# clock, home 3 silent 11:10 to 11:25. CPython and MicroPython.
# micropython-heap: 110000 (an ESP32 without PSRAM: the panel and meter models and the flash
# run on the host, host_tools/sim/board/modellink.py)
# micropython-vm: app (the deployed form: the app frozen into the 32-bit binary)
import json

from community_day import FIRST, MINUTES, powers
from repo import ROOT
from unit_boot import boot, run_until

from sunprint.core.ledger import LIFETIME, TODAY

DAY_START = 782236800  # 2024-10-15 00:00 local (UTC+8), firmware seconds
BOARD = ROOT + "/boards/esp32-epd42-community.json"
SILENT = ("000000000003", 10, 25)  # the home silent from minute 10 to minute 25


def _counts(meters):
    # each register as the meter shows it: XXXXXX.XX kWh, whole 10 Wh counts
    return [int(m.energy_kwh * 100 + 1e-6) for m in meters]


def test_community_unit_books_every_home_and_lists_them():
    run_day(BOARD)


def run_day(board, local_share=None):
    # local_share: a local string beside the bus, producing this share of home 1's power
    local_w = None
    start = DAY_START + FIRST * 60
    runner, clock, rig, wdt = boot(board, start)
    bus = rig.models["bus"]
    # every meter answers at the earliest DL/T 645-2007 allows (20 ms after the request): the
    # DE pin must have dropped by then, so the runner passes often enough during a round
    bus.latency_us = 20000
    meters = rig.models["meters"]
    n = len(json.load(open(BOARD))["community"]["meters"])
    zero = [0] * n
    # a first minute with no production: the first round's readings are the baselines
    bus.set_powers(zero)
    if local_share is not None:
        rig.set_power(0.0)
    run_until(runner, clock, start + 60, model=bus)
    want_local = 0.0
    first = _counts(meters)
    rows = powers(FIRST + 1, MINUTES)
    t = start + 60
    low = n
    for k in range(len(rows)):
        if k == SILENT[1]:
            bus.set_fault(SILENT[0], "silent")
        if k == SILENT[2]:
            bus.clear_fault(SILENT[0])
        bus.set_powers(rows[k])
        if local_share is not None:
            local_w = rows[k][0] * local_share
            rig.set_power(local_w)  # the string's readings are integrated from now on
            want_local += local_w / 60
        t += 60
        run_until(runner, clock, t, model=bus)
        r = runner.unit.source.reporting()
        if r < low:
            low = r
    # the sun goes: two more rounds read the registers where they stopped
    bus.set_powers(zero)
    if local_share is not None:
        rig.set_power(0.0)
    t += 90
    run_until(runner, clock, t, model=bus)
    rows = zero = None  # the day's rows leave the test VM's heap before the checks build theirs
    last = _counts(meters)
    truth_wh = sum(last[i] - first[i] for i in range(n)) * 10
    app = runner.unit.app
    src = runner.unit.source
    assert truth_wh > 5000, truth_wh
    local_wh = 0
    if local_share is not None:  # in whole 10 Wh counts of the string's own register
        local_wh = src.meters.booked[n] * src.meters.wh_per_count
        # its readings every 30 s, each times the interval before it: a minute's power change
        # lands up to 30 s late, the last count's remainder is not booked
        assert abs(local_wh - want_local) <= 0.03 * want_local + 10, (local_wh, want_local)
        truth_wh += local_wh
    assert src.meters.total_wh == truth_wh, (src.meters.total_wh, truth_wh)
    assert app.ledger.mwh(LIFETIME) == truth_wh * 1000
    assert app.ledger.mwh(TODAY) == truth_wh * 1000
    assert low == n - 1 and src.reporting() == n, (low, src.reporting())
    assert src.late_rounds == 0
    # the status JSON lists every meter with its state
    import gc

    from sunprint import status

    first = last = None
    gc.collect()
    # the dict status.json() dumps (the JSON text itself is one block of some 2 KB: after
    # this run the test VM's heap, the link's buffers in it, has no free block that large)
    st = status.status(app, "c1", clock.now())
    json.dumps(st["meters"])
    listed = st["meters"]
    extra = ["local"] if local_share is not None else []
    assert [m["address"] for m in listed] == ["%012d" % (i + 1) for i in range(n)] + extra
    assert [m["state"] for m in listed] == ["ok"] * len(listed)
    assert listed[2]["silent"] > 0 and listed[0]["silent"] == 0
    assert sum(m["booked_wh"] for m in listed) == truth_wh
    assert st["sensor"]["flag"] == "ok"
    assert runner.tick_failures == 0 and not runner.starving
    assert not app.faults, app.faults
    assert wdt.resets == 0 and not wdt.check()
    line = rig.models["uart"]
    assert line.lost_tx == 0 and line.lost_rx == 0, (line.lost_tx, line.lost_rx)
    assert sum(m["wrong"] for m in listed if "wrong" in m) == 0
    print("community unit: booked", truth_wh, "Wh (local", local_wh, "Wh); fewest reporting", low)
