# The one place that wires a board profile's chips and panel models onto the fake machine.
#
# Portable Python: runs under CPython and inside the MicroPython unix port (from .mpy). Only the
# models the profile needs are imported.
#
#     from host_tools.sim.platform import machine as fake
#     from host_tools.sim import rig as rigmod
#     clock = rigmod.Clock(start_s)
#     rig = rigmod.wire(profile, clock)           # models on fake's pins and buses
#     unit = board.boot(settings, profile, board.Platform(fake, neopixel=rig.neopixel, ...))
#         (or main.main(fake, neopixel=rig.neopixel, esp32=rig.esp32, ...))
#     rig.set_power(1234.5)                       # the PV power the sensor measures now
#     ... advance the clock, rig.update() (or set_power) as it moves, runner.step() ...
#     rig.picture()  -> (width, height, bytes)
#
# The parts come from the sim parts registry (host_tools/sim/parts.py: one model class per part,
# one interface); the rig loops over them and knows no part by name.
#
# rig.models: "display" (SSD1680Model, SSD1683Model, UC8179Model, MAX7219Chain or, for a
# WS2812 strip, the sim NeoPixel once the driver made it), "sensor" (the INA2xx chip model, the
# Modbus or DL/T 645 meter model, or the S0 FakePin), and where they exist "i2c" (FakeI2C),
# "uart" (FakeUART / FakeSerial), "de" (the RS-485 direction pin), "pcnt" (the FakePCNT class).
# rig.esp32: a fake esp32 module with PCNT for S0 boards, else None. rig.neopixel: a fake
# neopixel module for WS2812 boards, else None. rig.kind: "epaper" or "led".
#
# rig.picture(): what the display shows, (width, height, data), data packed MONO_HLSB (rows
# of ceil(width / 8) bytes, bit 7 = leftmost pixel) with 1 = ink: a black pixel on e-paper, a
# lit LED on an LED panel. It covers the whole panel (a MAX7219 chain of 128x8 showing a
# centred 64x8 picture gives 128x8). rig.led_rgb(): for a WS2812 strip the colours,
# (width, height, RGB bytes), else None.
#
# set_power(watts) drives the sensor model:
# - INA226 / INA219: bus voltage bus_v (30 V / 17.5 V, or the profile's sensor
#   options "sim_bus_v") and the current watts / bus_v;
# - Modbus / DL/T 645 meter: its power, and its energy registers count on at the previous power
#   up to the clock's now (update() does that too: call it as virtual time passes). A Modbus
#   profile whose "energy" option names the meter's export register (by the model's own table,
#   host_tools.sim.chips.modbus_maps) sees the PV output as export: negative power;
# - S0: the pulse rate for that power at the profile's imp_per_kwh; update() drives the pin's
#   edges (a 50 ms pulse) at their times up to the clock's now.
# Clocks: the Clock here has what every model and driver needs (ns, us, ticks_ms, ticks_us,
# now, wall, sleep_ms as a coroutine for the Runner, block_ms for the drivers). Another clock
# works if it has the attributes the profile's models read (us for UART meters, ns for S0).

from host_tools.sim import parts
from host_tools.sim.platform.clock import Clock  # noqa: F401 - rig.Clock, as before


class Rig:
    def __init__(self, profile, clock):
        self.profile = profile
        self.clock = clock
        self.models = {}
        self.parts = []  # the parts wired, display first
        self.display = None  # its part
        self.sensor = None  # the PV sensor's part
        self.esp32 = None
        self.neopixel = None
        self.kind = parts.EPAPER
        self.power_w = 0.0
        self.width = profile["display"]["width"]
        self.height = profile["display"]["height"]
        self._family = None  # the PV sensor's model family (parts.I2C, ...)
        self._seen_ns = parts.now_ns(clock)

    # --- the truth ---

    def set_power(self, watts):
        """The PV power the sensor measures from now on."""
        self.update()
        self.power_w = watts
        if self.sensor is not None:
            self.sensor.set_quantity(watts)

    def update(self):
        """Bring the parts (energy registers, the pulse line, a conversion) up to the clock's
        now."""
        now = parts.now_ns(self.clock)
        then = self._seen_ns
        if now - then <= 0:
            return
        for part in self.parts:
            part.advance(then, now)
        self._seen_ns = now

    @property
    def pulses(self):
        """S0 pulses sent so far (0 for another sensor)."""
        return getattr(self.sensor, "pulses", 0)

    @property
    def edge_clock(self):
        """The S0 pin's clock (None for another sensor)."""
        return getattr(self.sensor, "edge_clock", None)

    def model_type(self, role):
        """The class name of models[role] ("SSD1680Model", "INA226Model", ...): asked of the rig,
        so that a unit's VM whose models run on a model host can ask too."""
        return type(self.models[role]).__name__

    @property
    def sensor_type(self):
        """The PV sensor's type in the profile ("ina226", "dlt645", "sdm120", "s0", ...)."""
        return None if self.sensor is None else self.sensor.spec["type"]

    def break_bus(self, broken=True):
        """Make every transfer on the sensor's bus fail as a bus fails (broken=False mends
        it): an I2C NACK, a DL/T 645 reply with a bad checksum, a Modbus reply with a bad
        CRC. False for an S0 input, which has no bus."""
        return self.sensor is not None and self.sensor.break_bus(broken)

    # --- what the display shows ---

    def picture(self):
        """(width, height, MONO_HLSB bytes, 1 = ink: black on e-paper, lit on LED)."""
        return self.display.picture()

    def glass_differs(self, buf, fmt):
        """How many pixels the panel shows otherwise than `buf` has them: a picture of the
        panel's size in framebuf format `fmt`, 1 = ink (the unit's own buffer, on a panel
        that shows it whole). 0: the glass is the render."""
        import framebuf

        w, h, ink = self.picture()
        fb = framebuf.FrameBuffer(bytearray(buf), w, h, fmt)
        row = (w + 7) >> 3
        n = 0
        for y in range(h):
            for x in range(w):
                if (ink[y * row + (x >> 3)] >> (7 - (x & 7)) & 1) != fb.pixel(x, y):
                    n += 1
        return n

    def led_rgb(self):
        """(width, height, RGB bytes) of a WS2812 strip, else None."""
        led_rgb = getattr(self.display, "led_rgb", None)
        return None if led_rgb is None else led_rgb()


def _add(rig, part, machine):
    part.wire(machine, rig.models)
    rig.parts.append(part)
    return part


def wire(profile, clock=None, machine=None):
    """The profile's display and PV sensor models, wired onto the fake machine (its earlier
    wiring is cleared) with `clock` as its clock. Returns the Rig."""
    if machine is None:
        from host_tools.sim.platform import machine
    if clock is None:
        clock = Clock()
    machine.unwire()
    machine.set_clock(clock)
    rig = Rig(profile, clock)
    display = _add(rig, parts.make(parts.DISPLAYS, profile["display"], clock, "display"), machine)
    rig.display = display
    rig.kind = display.FAMILY
    rig.neopixel = getattr(display, "neopixel", None)
    for s in profile["sensors"]:
        if s["role"] in ("pv_power", "pv_energy"):
            sensor = _add(rig, parts.make(parts.SENSORS, s, clock, "sensor"), machine)
            rig.sensor = sensor
            rig._family = sensor.FAMILY
            rig.esp32 = getattr(sensor, "esp32", None)
            break
    if "community" in profile:
        bus = _add(
            rig,
            parts.make(parts.COMMUNITY_BUSES, profile["community"], clock, "community", "protocol"),
            machine,
        )
        if rig.sensor is None:  # else a local string's model (INA2xx) keeps set_power()
            rig._family = bus.FAMILY
    _wire_clock(rig, profile, clock, machine)
    return rig


def _wire_clock(rig, profile, clock, machine):
    """The time sources the profile's "clock" section names: an RTC module model on the I2C
    sensor's bus, the meter model's clock; each set as at installation, to the clock's wall
    time (UTC; a DL/T 645 meter keeps Beijing time, UTC+8), and running on the clock."""
    sources = (profile.get("clock") or {}).get("sources") or ()
    for name in sources:
        cls = parts.CLOCK_CHIPS.get(name)
        if cls is not None:
            chip = cls({"type": name}, clock)
            if chip.wire(machine, rig.models):
                chip.set_time(clock.wall())
                rig.parts.append(chip)
        elif name == "meter" and hasattr(rig.sensor, "set_time"):
            rig.sensor.set_time(clock.wall())
