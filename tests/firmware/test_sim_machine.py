# The fake machine module: the firmware builds its buses with the ESP32 constructors and
# reaches the wired models; the fake watchdog bites when feeds are too far apart.
# micropython-fresh-vm: each (the SSD1680 model's RAM planes, ~24 KB, sit beside the fake
# machine in this VM, as here the models themselves are under test: in one VM for all tests
# the INA226 model and the planes would pile up)
from host_tools.sim.chips.i2c import FakeI2C, INA226Model
from host_tools.sim.chips.ssd1680 import SSD1680Model
from host_tools.sim.chips.uart import VirtualClock
from host_tools.sim.platform import machine
from sunprint.drivers.ina2xx import INA226
from sunprint.drivers.ssd1680 import SSD1680


def _no_wait(ms):
    pass


def test_spi_and_pins_reach_the_panel_model():
    machine.unwire()
    model = SSD1680Model()
    for n, pin in ((26, model.cs), (27, model.dc), (25, model.rst), (32, model.busy)):
        machine.wire_pin(n, pin)
    machine.wire_spi(2, model.spi)
    spi = machine.SPI(2, baudrate=4000000, sck=machine.Pin(18), mosi=machine.Pin(23))
    panel = SSD1680(
        spi,
        cs=machine.Pin(26, machine.Pin.OUT),
        dc=machine.Pin(27, machine.Pin.OUT),
        rst=machine.Pin(25, machine.Pin.OUT),
        busy=machine.Pin(32, machine.Pin.IN),
        sleep=_no_wait,
    )
    buf = bytearray(panel.BUFFER_SIZE)
    buf[0] = 0x01  # landscape pixel (0, 0)
    panel.show(buf)
    assert model.refreshes == ["full"]
    assert model.landscape_pixel(0, 0) == 1 and model.landscape_pixel(1, 0) == 0


def test_i2c_reaches_the_chip_and_an_unwired_bus_is_an_oserror():
    machine.unwire()
    bus = FakeI2C()
    chip = bus.attach(0x40, INA226Model(shunt_ohm=0.002))
    machine.wire_i2c(0, bus)
    drv = INA226(
        machine.I2C(0, scl=machine.Pin(22), sda=machine.Pin(21)), shunt_ohm=0.002, max_current_a=20
    )
    drv.poll()
    chip.set(5.0, 24.0)
    assert drv.poll() == 0 and drv.power_mw > 119000
    try:
        machine.I2C(1)
    except OSError:
        pass
    else:
        raise AssertionError("an unwired bus answered")


def test_watchdog_bites_when_a_step_hangs():
    clock = VirtualClock(0)
    machine.set_clock(clock)
    wdt = machine.WDT(timeout=5000)
    for _ in range(10):
        clock.sleep_ms(1000)
        wdt.feed()
    assert wdt.resets == 0 and not wdt.check()
    clock.sleep_ms(6000)  # a step that hangs for 6 s
    assert wdt.check()
    wdt.feed()
    assert wdt.resets == 1


class _UnwrappedClock:
    # What the whole-unit tests' own clocks did: ticks_ms() as milliseconds since 2000, about
    # 782e9 in 2024. No MicroPython returns that: its ticks wrap at 2**30 on the ESP32, and on
    # a 32-bit VM such a value is a big int that time.ticks_diff() misreads.
    def __init__(self, start_s):
        self.ms = start_s * 1000

    def ticks_ms(self):
        return self.ms


def test_watchdog_refuses_a_clock_whose_ticks_no_micropython_returns():
    machine.set_clock(_UnwrappedClock(782236800))
    try:
        machine.WDT(timeout=5000)
    except ValueError as e:
        assert "ticks period" in str(e), e
    else:
        raise AssertionError("a clock beyond the ticks period was taken")
    machine.set_clock(VirtualClock(0))
