# The whole community unit on Modbus RTU (esp32-epd42-community-modbus): firmware/main.py boots
# the profile on the fake machine module, with the SSD1683 model as the 4.2" panel and five
# homes' Modbus meters of three models (Chint DDSU666, Eastron SDM120 and SDM630, each with its
# vendor's register map: host_tools/sim/chips/modbus_maps.py) on one simulated 9600-baud
# RS-485 line (host_tools.sim.chips.modbus_bus.ModbusBusPeer under chips/uart.py FakeUART, DE
# on pin 4), each answering only its own unit id, and runs 11:00 to 11:40 of the bundled
# community day through the real Runner on a virtual clock, the SDM630 (unit 7) silent 11:10
# to 11:25, unit 12's replies broken (a flipped byte) 11:30 to 11:35. CPython and MicroPython.
# micropython-heap: 110000 (an ESP32 without PSRAM: the panel and meter models and the flash
# run on the host, host_tools/sim/board/modellink.py)
# micropython-vm: app (the deployed form: the app frozen into the 32-bit binary)
import json

from community_day import FIRST, MINUTES, powers
from repo import ROOT
from unit_boot import boot, run_until

from sunprint.core.ledger import LIFETIME, TODAY

DAY_START = 782236800  # 2024-10-15 00:00 local (UTC+8), firmware seconds
BOARD = ROOT + "/boards/esp32-epd42-community-modbus.json"
SILENT = (7, 10, 25)  # the unit id silent from minute 10 to minute 25
NOISY = (12, 30, 35)  # the unit id whose replies come with a flipped byte (its CRC fails)


def test_modbus_community_unit_books_every_home_and_lists_them():
    with open(BOARD) as f:
        units = [m["unit"] for m in json.load(f)["community"]["meters"]]
    n = len(units)
    start = DAY_START + FIRST * 60
    runner, clock, rig, wdt = boot(BOARD, start)
    bus = rig.models["bus"]
    zero = [0] * n
    # a first minute with no production: the first round's readings are the baselines
    bus.set_powers(zero)
    run_until(runner, clock, start + 60, model=bus)
    first = bus.registers_wh()
    rows = powers(FIRST + 1, MINUTES)
    t = start + 60
    low = n
    src = runner.unit.source
    for k in range(len(rows)):
        if k == SILENT[1]:
            bus.set_fault(SILENT[0], "silent")
        if k == SILENT[2]:
            bus.clear_fault(SILENT[0])
        if k == NOISY[1]:
            bus.set_fault(NOISY[0], "bus errors")
        if k == NOISY[2]:
            bus.clear_fault(NOISY[0])
        bus.set_powers(rows[k])
        t += 60
        run_until(runner, clock, t, model=bus)
        r = src.reporting()
        if r < low:
            low = r
    # the sun goes: two more rounds read the registers where they stopped
    bus.set_powers(zero)
    t += 90
    run_until(runner, clock, t, model=bus)
    last = bus.registers_wh()
    moved = [last[i] - first[i] for i in range(n)]
    truth_wh = sum(moved)
    app = runner.unit.app
    assert truth_wh > 5000, truth_wh
    # each meter's share is what its own register moved; the community total is their sum
    assert [src.meters.booked[i] for i in range(n)] == moved, moved
    assert src.meters.total_wh == truth_wh, (src.meters.total_wh, truth_wh)
    assert app.ledger.mwh(LIFETIME) == truth_wh * 1000
    assert app.ledger.mwh(TODAY) == truth_wh * 1000
    assert low == n - 1 and src.reporting() == n, (low, src.reporting())
    assert src.late_rounds == 0
    import gc

    from sunprint import status

    gc.collect()
    st = status.status(app, "c1", clock.now())
    json.dumps(st["meters"])
    listed = st["meters"]
    # a Modbus meter's key is its unit id (in hex, the address field's form)
    assert [m["address"] for m in listed] == ["%012x" % u for u in units]
    assert [m["state"] for m in listed] == ["ok"] * n
    silent = units.index(SILENT[0])
    assert listed[silent]["silent"] > 0 and listed[0]["silent"] == 0
    # bad frames are flagged on their own meter and book nothing; its register catches up
    noisy = units.index(NOISY[0])
    assert listed[noisy]["wrong"] > 0, listed[noisy]
    assert sum(m["wrong"] for m in listed) == listed[noisy]["wrong"]
    assert sum(m["booked_wh"] for m in listed) == truth_wh
    assert st["sensor"]["flag"] == "ok"
    assert runner.tick_failures == 0 and not runner.starving
    assert not app.faults, app.faults
    assert wdt.resets == 0 and not wdt.check()
    line = rig.models["uart"]
    # DE dropped in time, t3.5 kept before every request, no reply lost
    assert line.de_violations == 0 and line.gap_violations == 0, (
        line.de_violations,
        line.gap_violations,
    )
    assert bus.collisions == 0
    print("modbus community unit: booked", truth_wh, "Wh; fewest reporting", low)
