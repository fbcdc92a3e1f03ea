# sunprint.board.build() over every profile in boards/, with a fake machine written here that
# records how each Pin, SPI, I2C and UART was made. CPython and MicroPython.
# micropython-heap: 300000 (the 7.5" profile's two 48 KB picture buffers: that unit needs PSRAM;
# the others are checked below to build in under 100 KB)
import gc
import json

from null_bus import HeldPin, NoDeviceI2C, SilentUART
from repo import ROOT  # noqa: E402

from sunprint.board import build
from sunprint.viewport import Viewport

BOARDS = ROOT + "/boards/"
FONTS = ROOT + "/assets/fonts"


class Pin(HeldPin):
    OUT = 1
    IN = 0
    PULL_UP = 2
    IRQ_FALLING = 4
    IRQ_RISING = 8

    def __init__(self, n, mode=-1, pull=-1):
        HeldPin.__init__(self)
        self.n = n
        self.mode = mode
        self.pull = pull


class SPI:
    def __init__(self, id, baudrate=0, sck=None, mosi=None, miso=None):
        self.args = (id, baudrate, sck.n, mosi.n, None if miso is None else miso.n)
        self.sent = 0

    def write(self, buf):
        self.sent += len(buf)


class I2C(NoDeviceI2C):
    def __init__(self, id, scl=None, sda=None, freq=0):
        self.args = (id, scl.n, sda.n, freq)


class UART(SilentUART):
    def __init__(self, id, baudrate=0, bits=0, parity=-1, stop=0, tx=-1, rx=-1):
        self.args = (id, baudrate, bits, parity, stop, tx, rx)


class Machine:
    pass


Machine.Pin = Pin
Machine.SPI = SPI
Machine.I2C = I2C
Machine.UART = UART


class Strip:
    ORDER = (1, 0, 2, 3)
    bpp = 3

    def __init__(self, pin, n):
        self.pin = pin
        self.n = n
        self.buf = bytearray(3 * n)
        self.writes = 0

    def write(self):
        self.writes += 1


class NeoPixelModule:
    NeoPixel = Strip


class PCNT:
    IRQ_MAX = 1
    INCREMENT = 1
    IGNORE = 0
    made = []

    def __init__(self, unit, min=0, max=0):
        self.unit = unit
        self.config = None
        PCNT.made.append(self)

    def init(self, **kw):
        self.config = kw

    def irq(self, handler=None, trigger=0):
        pass

    def start(self):
        pass

    def value(self):
        return 0


class Esp32Module:
    PCNT = PCNT


def _no_wait(ms):
    pass


def _build(name, **kw):
    with open(BOARDS + name + ".json") as f:
        profile = json.load(f)
    return build(profile, Machine, fonts_dir=FONTS, sleep_ms=_no_wait, **kw)


def _run(unit, seconds=20):
    t = 800000000
    end = t + seconds
    while t < end:
        wake = unit.app.tick(t)
        n = 0
        while wake <= t and n < 1000:
            wake = unit.app.tick(t)
            n += 1
        t += 1


def test_epd29_ina226():
    from sunprint.drivers.ina2xx import INA226
    from sunprint.drivers.ssd1680 import SSD1680
    from sunprint.sources import PowerSource

    u = _build("esp32-epd29-ina226")
    try:
        assert isinstance(u.panel, SSD1680) and u.display is u.panel
        assert u.buses["spi2"].args == (2, 4000000, 18, 23, None)
        assert u.buses["i2c0"].args == (0, 22, 21, 400000)
        pins = u.pins
        assert pins["display.pins.cs"].n == 26 and pins["display.pins.cs"].mode == Pin.OUT
        assert pins["display.pins.dc"].n == 27 and pins["display.pins.rst"].n == 25
        assert pins["display.pins.busy"].n == 32 and pins["display.pins.busy"].mode == Pin.IN
        assert isinstance(u.driver, INA226) and type(u.source) is PowerSource
        assert u.source.health is not None and u.source.calib is None
        assert u.source.health.max_value == 800000
        assert (u.renderer.width, u.renderer.height) == (296, 128)
        assert len(u.buffer) == 296 * 128 // 8
        assert u.rotation.names == ("main", "total", "carbon")
        assert u.app.sample_period_s == 10 and u.app.screen_period_s == 300
        assert u.ledger.tz_offset_s == 8 * 3600
        _run(u)  # the INA226 is absent (OSError): a fault, never an exception
        assert u.app.faults.get("sensor", 0) >= 1
    finally:
        u.close()


def test_epd42_dlt645():
    from sunprint.drivers.dlt645 import ENERGY_FORWARD, Meter
    from sunprint.drivers.ssd1683 import SSD1683
    from sunprint.sources import MeterSource

    u = _build("esp32-epd42-dlt645")
    try:
        assert isinstance(u.panel, SSD1683)
        assert u.buses["uart2"].args == (2, 2400, 8, 0, 1, 17, 16)  # 8E1: parity 0 is even
        assert u.pins["sensor.de"].n == 4 and u.pins["sensor.de"].mode == Pin.OUT
        assert u.pins["display.pins.busy"].n == 35
        assert isinstance(u.driver, Meter) and u.driver.energy_di == ENERGY_FORWARD
        assert u.driver.dlt.has_address
        assert type(u.source) is MeterSource
        assert u.ledger.counter_per_kwh == 100 and u.ledger.counter_survives_reboot
        assert (u.renderer.width, u.renderer.height) == (400, 300)
    finally:
        u.close()


def test_epd75_ddsu666():
    from sunprint.drivers.modbus import Meter
    from sunprint.drivers.uc8179 import UC8179
    from sunprint.quality import OK
    from sunprint.sources import MeterSource

    clock = _VirtualMs()
    u = _build("esp32-epd75-ddsu666", ticks_ms=clock.ticks_ms, bus_sleep_ms=clock.sleep_ms)
    try:
        # The fake UART never answers: the poll waits its timeouts on the clock handed in.
        assert u.driver.poll() != OK and clock.slept >= 200
        assert isinstance(u.panel, UC8179) and len(u.buffer) == 48000
        assert u.buses["uart2"].args == (2, 9600, 8, None, 1, 4, 36)
        assert u.pins["sensor.de"].n == 33
        assert isinstance(u.driver, Meter) and u.driver.unit == 1
        assert type(u.source) is MeterSource
        assert u.ledger.counter_per_kwh == 1000 and u.ledger.counter_survives_reboot
    finally:
        u.close()
    gc.collect()


def _always_full(plan, tz_offset_s):
    # an LED unit's refresh plan is refresh.always_full(): every change at once, in full
    from sunprint.ui.refresh import always_full

    want = always_full(tz_offset_s)
    for k in ("partials_before_full", "min_interval_s", "full_every_s", "full_wait_s"):
        assert getattr(plan, k) == getattr(want, k), k
    assert plan.tz_offset_s == tz_offset_s and plan._quiet_len == want._quiet_len == 0
    return True


def test_max7219_s0_irq_and_pcnt():
    from sunprint.drivers.max7219 import MAX7219
    from sunprint.drivers.s0 import IrqS0, PcntS0
    from sunprint.sources import PulseSource

    u = _build("esp32-max7219-s0")
    assert isinstance(u.panel, MAX7219) and u.panel.devices == 16
    assert (u.panel.width, u.panel.height) == (128, 8)
    assert isinstance(u.display, Viewport) and (u.display.width, u.display.height) == (64, 8)
    assert u.buses["spi2"].args == (2, 1000000, 18, 23, None)
    assert u.pins["display.pins.cs"].n == 26
    s0 = u.pins["sensor.pin"]
    assert s0.n == 39 and s0.mode == Pin.IN and s0.pull == -1  # external pull-up
    assert isinstance(u.driver, IrqS0) and s0.handler is not None
    assert type(u.source) is PulseSource
    assert u.ledger.counter_per_kwh == 1000 and not u.ledger.counter_survives_reboot
    assert u.fonts == {} and u.rotation.names[0] == "power"
    assert _always_full(u.plan, u.ledger.tz_offset_s)
    _run(u, 12)  # the 64x8 picture lands in the middle of the 128x8 chain
    assert u.app.refreshes >= 1 and u.panel.bytes_sent > 0
    full = u.display.full_buffer
    for y in range(8):
        assert full[y * 16 : y * 16 + 4] == bytes(4)  # left quarter dark
        assert full[y * 16 + 12 : y * 16 + 16] == bytes(4)  # right quarter dark
        assert full[y * 16 + 4 : y * 16 + 12] == u.buffer[y * 8 : y * 8 + 8]
    assert any(u.buffer)

    PCNT.made = []
    u = _build("esp32-max7219-s0", esp32=Esp32Module)
    assert isinstance(u.driver, PcntS0)
    assert PCNT.made[0].config["pin"] is u.pins["sensor.pin"]


def test_ws2812_ina219():
    from sunprint.drivers.ina2xx import INA219
    from sunprint.drivers.ws2812 import WS2812Matrix

    u = _build("esp32-ws2812-ina219", neopixel=NeoPixelModule)
    assert isinstance(u.panel, WS2812Matrix) and u.display is u.panel
    strip = u.panel.np
    assert strip.n == 256 and strip.pin.n == 13 and strip.pin.mode == Pin.OUT
    assert u.panel.color == (0, 255, 60) and u.panel.max_ma == 1500
    assert isinstance(u.driver, INA219)
    assert u.source.calib is not None and u.source.calib.apply(12345) == 12345
    assert _always_full(u.plan, u.ledger.tz_offset_s)
    _run(u, 12)
    assert strip.writes >= 1


def test_ws2812_needs_the_neopixel_module():
    try:
        _build("esp32-ws2812-ina219")
    except ValueError as e:
        assert "neopixel" in str(e)
    else:
        raise AssertionError("built a ws2812 unit without neopixel")


def test_small_profiles_fit_an_esp32_heap():
    if not hasattr(gc, "mem_alloc"):
        return  # MicroPython only: CPython has no GC heap to measure
    for name in ("esp32-epd29-ina226", "esp32-epd42-dlt645", "esp32-max7219-s0"):
        gc.collect()
        before = gc.mem_alloc()
        u = _build(name)
        gc.collect()
        used = gc.mem_alloc() - before
        u.close()
        u = None
        assert used < 100000, (name, used)


class _VirtualMs:
    """A bus driver's clock: ticks and a blocking sleep that advances it (no real waiting)."""

    def __init__(self):
        self.ms = 0
        self.slept = 0

    def ticks_ms(self):
        return self.ms

    def sleep_ms(self, ms):
        self.ms += ms
        self.slept += ms


def _times_out_on_the_virtual_clock(name):
    # The UART above never answers: every poll waits its whole timeout and its retries.
    # With the clock handed to build() that wait passes in virtual time.
    from sunprint.quality import OK

    clock = _VirtualMs()
    u = _build(name, ticks_ms=clock.ticks_ms, bus_sleep_ms=clock.sleep_ms)
    try:
        assert u.driver.poll() != OK
        assert clock.slept >= 200, (name, clock.slept)  # at least one timeout_ms, virtual
    finally:
        u.close()


def test_a_silent_dlt645_meter_times_out_on_the_clock_build_hands_in():
    _times_out_on_the_virtual_clock("esp32-epd42-dlt645")


def test_the_s0_input_counts_time_on_the_clock_build_hands_in():
    clock = _VirtualMs()
    clock.ms = 123456
    u = _build("esp32-max7219-s0", esp32=Esp32Module, ticks_ms=clock.ticks_ms)
    try:
        assert u.driver._ticks() == 123456
    finally:
        u.close()
