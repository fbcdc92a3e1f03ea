"""The community unit's runner passes often enough for its bus (firmware/main.py): with a DE
pin, DE must drop before a meter may answer, 20 ms after the request (DL/T 645-2007), so while
a round is under way the Runner comes back every 10 ms, not the 50 ms a single-sensor unit
needs. At 9600 baud a request is on the wire for 23 ms: a pass 50 ms after it began leaves DE
up for 27 ms, past the earliest reply (the same test failed so on the old main.py: replies read
as bad frames)."""

import json

from host_tools.paths import BOARDS, FONTS, ROOT, use_firmware


def test_a_9600_baud_bus_with_meters_answering_at_20_ms_loses_nothing(tmp_path):
    use_firmware()
    from host_tools.sim import rig as rigmod
    from host_tools.sim.platform import machine as fake
    from host_tools.sim.platform.faultfs import FaultFS

    profile = json.loads((BOARDS / "esp32-epd42-community.json").read_text())
    profile["community"]["uart"]["baudrate"] = 9600
    path = tmp_path / "board.json"
    path.write_text(json.dumps(profile))
    start = 782236800 + 11 * 3600  # 2024-10-15 11:00 local
    clock = rigmod.Clock(start)
    rig = rigmod.wire(profile, clock, fake)
    bus = rig.models["bus"]
    bus.latency_us = 20000  # every meter answers at the earliest the standard allows
    import main

    runner = main.main(
        fake,
        fs=FaultFS(),
        board_path=str(path),
        config_path=str(ROOT / "no-config.json"),
        fonts_dir=str(FONTS),
        clock=clock,
        wdt=fake.WDT(timeout=30000),
        sleep_ms=lambda ms: None,
        ticks_ms=clock.ticks_ms,  # the bus drivers on the virtual clock
        bus_sleep_ms=clock.block_ms,
        run=False,
    )
    bus.set_powers([1000.0] * 5)
    seen = clock.us
    end = start + 300
    while clock.now() < end:
        clock.us = min(clock.us + runner.step() * 1000, end * 1000000)
        bus.advance((clock.us - seen) / 1000000)
        seen = clock.us
    src = runner.unit.source
    assert src.rounds_booked >= 9
    assert sum(src.poller.wrong) == 0, list(src.poller.wrong)
    assert bus.lost_rx == 0 and bus.lost_tx == 0, (bus.lost_rx, bus.lost_tx)
    assert src.reporting() == 5
