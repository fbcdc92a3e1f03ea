# MicroPython's ticks_ms() wraps (at 2**30 ms, 12.4 days, on the ESP32; at 2**62 on the
# 64-bit unix port), and host_tools.sim.rig's clock wraps with the interpreter's period: the
# meter drivers' timeouts, the S0 input's window and the watchdog go on across a wrap. A
# driver that compared ticks without ticks_diff fails here, as it would on a unit.
# CPython and MicroPython (compat.ticks_diff wraps at 2**30 on CPython too).
# micropython-heap: 110000 (an ESP32 without PSRAM: the models run on the host)
# micropython-vm: app (the deployed form: the app frozen into the 32-bit binary)
# micropython-fresh-vm: each (a unit powers on with an empty heap)
import json

from repo import ROOT

from host_tools.sim.board import modellink
from host_tools.sim.platform import machine as fake
from host_tools.sim.platform.clock import Clock
from sunprint.board import build
from sunprint.compat import TICKS_PERIOD
from sunprint.core.ledger import LIFETIME
from sunprint.quality import OK


def _no_wait(ms):
    pass


class _Guard:
    """The bus driver's blocking sleep, which fails the test (rather than hang it) if one tick
    waits more than a minute: what a timeout computed without ticks_diff does at a wrap."""

    def __init__(self, clock):
        self.clock = clock
        self.waited = 0

    def block_ms(self, ms):
        self.waited += ms
        if self.waited > 60000:
            raise SystemExit("a bus wait did not end across the ticks wrap")
        self.clock.block_ms(ms)


def _unit_across_a_wrap(board, seconds, silent_replies=0):
    with open(ROOT + "/boards/" + board + ".json") as f:
        profile = json.load(f)
    # Start 0.3 s before ticks_ms() wraps: the first poll's request takes ~0.09 s at 2400
    # baud, so its wait for the reply (0.5 s) spans the wrap. The firmware clock (seconds)
    # does not care.
    clock = Clock(782265600)  # 2024-10-15 08:00 local
    clock.ticks_offset_ms = TICKS_PERIOD - 300 - clock.ns // 1000000 % TICKS_PERIOD
    rig = modellink.wire(profile, clock, fake)
    guard = _Guard(clock)
    unit = build(
        profile,
        fake,
        fonts_dir=ROOT + "/assets/fonts",
        esp32=rig.esp32,
        neopixel=rig.neopixel,
        sleep_ms=_no_wait,
        ticks_ms=clock.ticks_ms,
        bus_sleep_ms=guard.block_ms,
    )
    if unit.driver.__class__.__name__ == "Meter" and hasattr(unit.driver, "dlt"):
        unit.driver.dlt._sleep_ms = guard.block_ms
    if silent_replies:
        from host_tools.sim.chips.dlt645_meter import NO_REPLY

        rig.models["uart"].inject(NO_REPLY, silent_replies)  # timeouts across the wrap
    rig.set_power(2400.0)
    wdt = fake.WDT(timeout=30000)
    before = clock.ticks_ms()
    flags = []
    end = clock.now() + seconds
    while clock.now() < end:
        t = clock.now()
        guard.waited = 0
        wake = unit.app.tick(t)
        while wake <= t:
            wake = unit.app.tick(t)
        flags.append(unit.app.source.flag)
        wdt.feed()
        clock.advance_ms(1000 * (wake - t))
        rig.update()
    assert clock.ticks_ms() < before, "the run did not cross a ticks wrap"
    assert wdt.resets == 0
    return unit, flags


def test_a_dlt645_meter_reads_on_across_a_ticks_wrap():
    unit, flags = _unit_across_a_wrap("esp32-epd42-dlt645", 120)
    try:
        assert flags and all(f == OK for f in flags[1:]), flags
        assert unit.ledger.mwh(LIFETIME) > 0
    finally:
        unit.close()


def test_a_silent_dlt645_meter_times_out_across_a_ticks_wrap_and_recovers():
    unit, flags = _unit_across_a_wrap("esp32-epd42-dlt645", 180, silent_replies=24)
    try:
        assert any(f != OK for f in flags), flags  # the silence was seen (timeouts)
        assert all(f == OK for f in flags[-3:]), flags  # and the meter is read again
    finally:
        unit.close()


def test_an_s0_meter_counts_on_across_a_ticks_wrap():
    unit, flags = _unit_across_a_wrap("esp32-max7219-s0", 120)
    try:
        assert unit.app.source.power_mw > 0, flags
    finally:
        unit.close()
