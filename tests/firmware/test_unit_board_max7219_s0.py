# The whole unit on esp32-max7219-s0: firmware/main.py boots the profile on the fake machine
# module, with a 16-device MAX7219 chain model on the SPI bus and an S0 pulse train from the
# PV meter on pin 39, counted by the PCNT model (host_tools.sim.pulses) handed in as esp32,
# and runs through the real Runner on a virtual clock. CPython and MicroPython.
# micropython-heap: 400000 (the chain model, the in-memory flash and the fonts share the VM
# with the unit; 250000 is the least that passes)
import framebuf
from repo import ROOT

from host_tools.sim import machine as fake
from host_tools.sim.faultfs import FaultFS
from host_tools.sim.max7219 import MAX7219Chain
from host_tools.sim.pulses import FakePCNT, FakePin, PulseTrain
from host_tools.sim.rig import Clock  # ticks_ms() wraps as a unit's, a small int
from sunprint.core.ledger import LIFETIME

DAY_START = 782236800  # 2024-10-15 00:00 local (UTC+8), firmware seconds
# (minutes, W) of the PV meter: 1000 imp/kWh, a pulse every 1.2..3.6 s
PROFILE = ((15, 1000.0), (20, 2500.0), (10, 3000.0), (15, 1800.0), (10, 2200.0))
NS_PER_MS = 1000000


class PCNT(FakePCNT):
    """esp32.PCNT on the fake machine: counts the pulses.FakePin behind machine.Pin(39)."""

    def init(self, **kw):
        pin = kw.get("pin")
        if pin is not None and hasattr(pin, "_target"):
            kw["pin"] = pin._target
        FakePCNT.init(self, **kw)


class FakeEsp32:
    PCNT = PCNT


def _no_wait(ms):
    pass


def boot(start_s):
    from sunprint import status

    status.register(None, "")  # let an earlier test's unit go
    fake.unwire()
    chain = MAX7219Chain(modules=16, rows=1, rotation=0, flip=False)
    fake.wire_pin(26, chain.cs)
    fake.wire_spi(2, chain.spi)
    clock = Clock(start_s)
    s0 = FakePin(clock, level=1)  # idle high: the meter's transistor pulls it low
    fake.wire_pin(39, s0)
    fake.set_clock(clock)
    wdt = fake.WDT(timeout=30000)
    import main

    runner = main.main(
        fake,
        fs=FaultFS(),
        board_path=ROOT + "/boards/esp32-max7219-s0.json",
        config_path=ROOT + "/no-config.json",
        fonts_dir=ROOT + "/assets/fonts",
        clock=clock,
        wdt=wdt,
        neopixel=None,
        esp32=FakeEsp32,
        sleep_ms=_no_wait,
        run=False,
    )
    # The drivers take compat's ticks_ms when built: put the S0 driver on the virtual clock.
    runner.unit.driver._ticks = clock.ticks_ms
    return runner, clock, chain, s0, wdt


def _run_to(runner, clock, t_ns):
    while clock.ns < t_ns:
        ns = clock.ns + runner.step() * NS_PER_MS
        clock.ns = ns if ns < t_ns else t_ns


def test_max7219_s0_unit_counts_every_pulse_and_shows_the_render():
    start = DAY_START + 10 * 3600
    runner, clock, chain, s0, wdt = boot(start)
    unit = runner.unit
    segments = [(m * 60000, int(w * 1000)) for m, w in PROFILE]
    train = PulseTrain(segments, counts_per_kwh=1000, start_ms=start * 1000)
    for t_ns, level in train.edges():
        _run_to(runner, clock, t_ns)
        s0.drive(level)
    _run_to(runner, clock, train.end_ns + 30000 * NS_PER_MS)  # the last pulse's sample
    truth = train.energy_mwh()
    app = unit.app
    got = app.ledger.mwh(LIFETIME)
    assert train.pulses > 2000, train.pulses
    # every pulse, 1 Wh each, and only the part of a pulse not yet complete is missing
    assert got == train.pulses * 1000, (got, train.pulses)
    assert 0 <= truth - got < 1000, (got, truth)
    # the chain shows the renderer's 64x8 picture centred on its 128x8, LED for LED
    fb = framebuf.FrameBuffer(unit.buffer, 64, 8, unit.display.BUFFER_FORMAT)
    lit = 0
    for y in range(8):
        for x in range(128):
            want = fb.pixel(x - 32, y) if 32 <= x < 96 else 0
            assert chain.pixel(x, y) == want, (x, y)
            lit += want
    assert lit > 10
    assert chain.violations == [] and chain.unknown == [], (chain.violations, chain.unknown)
    assert runner.tick_failures == 0 and not runner.starving
    assert not app.faults, app.faults
    assert wdt.resets == 0 and not wdt.check() and wdt.feeds > 100
    print("max7219-s0: booked", got, "mWh of", int(truth), "mWh;", chain.frames, "frames")
