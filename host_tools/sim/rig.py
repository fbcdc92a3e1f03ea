# The one place that wires a board profile's chips and panel models onto the fake machine.
#
# Portable Python: runs under CPython and inside the MicroPython unix port (from .mpy). Only the
# models the profile needs are imported.
#
#     from host_tools.sim import machine as fake
#     from host_tools.sim import rig as rigmod
#     clock = rigmod.Clock(start_s)
#     rig = rigmod.wire(profile, clock)           # models on fake's pins and buses
#     unit = board.build(profile, fake, neopixel=rig.neopixel, esp32=rig.esp32, ...)
#         (or main.main(fake, neopixel=rig.neopixel, esp32=rig.esp32, ...))
#     rig.set_power(1234.5)                       # the PV power the sensor measures now
#     ... advance the clock, rig.update() (or set_power) as it moves, runner.step() ...
#     rig.picture()  -> (width, height, bytes)
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
#   host_tools.sim.modbus_maps) sees the PV output as export: negative power;
# - S0: the pulse rate for that power at the profile's imp_per_kwh; update() drives the pin's
#   edges (a 50 ms pulse) at their times up to the clock's now.
# Clocks: the Clock here has what every model and driver needs (ns, us, ticks_ms, ticks_us,
# now, wall, sleep_ms as a coroutine for the Runner, block_ms for the drivers). Another clock
# works if it has the attributes the profile's models read (us for UART meters, ns for S0).

from host_tools.sim.clock import Clock  # noqa: F401 - rig.Clock, as before

_NS_PER_MS = 1000000
_NS_PER_S = 1000000000
_PJ_PER_KWH = 3600000000000000000  # mW * ns per kWh
# S0 (EN 62053-31, formerly DIN 43864): a pulse lasts at least 30 ms; meters send 30-100 ms
# (Chint's DTSU666: 80 +- 16 ms). 50 ms here.
_S0_PULSE_MS = 50
_DEFAULT_BUS_V = {"ina226": 30.0, "ina219": 17.5}

# The sim registry: a profile's sensor type -> the family of model the rig wires for it (the
# rig's own table; a Modbus meter's register map comes from host_tools.sim.modbus_maps, never
# from the firmware). A type missing here has no model: wire() says so.
_I2C = "i2c"
_S0 = "s0"
_DLT645 = "dlt645"
_MODBUS = "modbus"
SENSOR_MODELS = {
    "ina226": _I2C,
    "ina219": _I2C,
    "s0": _S0,
    "dlt645": _DLT645,
    "ddsu666": _MODBUS,
    "dtsu666": _MODBUS,
    "sdm120": _MODBUS,
    "sdm630": _MODBUS,
}


def _now_ns(clock):
    ns = getattr(clock, "ns", None)
    if ns is not None:
        return ns
    us = getattr(clock, "us", None)
    if us is not None:
        return us * 1000
    return clock.ticks_ms() * _NS_PER_MS


class _EdgeClock:
    """The S0 pin's clock: the rig's clock, or the time of the edge being driven."""

    def __init__(self, clock):
        self.clock = clock
        self.at = -1

    @property
    def ns(self):
        return self.at if self.at >= 0 else _now_ns(self.clock)

    def ticks_ms(self):
        return self.ns // _NS_PER_MS

    def ticks_us(self):
        return self.ns // 1000


class _Namespace:
    pass


class Rig:
    def __init__(self, profile, clock):
        self.profile = profile
        self.clock = clock
        self.models = {}
        self.esp32 = None
        self.neopixel = None
        self.kind = "epaper"
        self.power_w = 0.0
        self.width = profile["display"]["width"]
        self.height = profile["display"]["height"]
        self._sensor_type = None
        self._family = None
        self._flow = 1  # -1: the meter sees the PV output as export (its "energy" option)
        self._bus_v = 0.0
        self._seen_ns = _now_ns(clock)
        self._leds = None
        # S0
        self._pulse_pj = 0  # energy of one pulse, mW * ns
        self._acc_pj = 0  # energy since the last pulse
        self._release_ns = -1  # when the pulse now on the line ends
        self._active = 0
        self.pulses = 0
        self.edge_clock = None

    # --- the truth ---

    def set_power(self, watts):
        """The PV power the sensor measures from now on."""
        self.update()
        self.power_w = watts
        family = self._family
        model = self.models.get("sensor")
        if family == _I2C:
            v = self._bus_v
            model.set(watts / v, v)
        elif family == _DLT645:
            model.power_w = watts
        elif family == _MODBUS:
            model.set(power_w=watts * self._flow)

    def update(self):
        """Bring the energy register / the pulse line up to the clock's now."""
        now = _now_ns(self.clock)
        dt = now - self._seen_ns
        if dt <= 0:
            return
        family = self._family
        if family == _S0:
            self._pulses_to(now)
        elif family == _DLT645 or family == _MODBUS:
            self.models["sensor"].advance(dt / _NS_PER_S)
        elif family == _I2C:
            self.models["sensor"].convert()  # continuous mode: a fresh conversion by now
        self._seen_ns = now

    def _drive(self, level, t_ns):
        ec = self.edge_clock
        ec.at = t_ns
        try:
            self.models["sensor"].drive(level)
        finally:
            ec.at = -1

    def _pulses_to(self, now):
        t = self._seen_ns
        mw = int(self.power_w * 1000)
        idle = 1 - self._active
        while True:
            if self._release_ns >= 0:  # a pulse is on the line
                if self._release_ns > now:
                    break
                self._drive(idle, self._release_ns)
                self._release_ns = -1
            if mw <= 0:
                break
            need = self._pulse_pj - self._acc_pj
            dt = (need + mw - 1) // mw  # ns until the next pulse is due
            if t + dt > now:
                self._acc_pj += mw * (now - t)
                break
            t += dt
            self._acc_pj = 0
            self._drive(self._active, t)
            self.pulses += 1
            self._release_ns = t + _S0_PULSE_MS * _NS_PER_MS

    def model_type(self, role):
        """The class name of models[role] ("SSD1680Model", "INA226Model", ...): asked of the rig,
        so that a unit's VM whose models run on a model host can ask too."""
        return type(self.models[role]).__name__

    @property
    def sensor_type(self):
        """The PV sensor's type in the profile ("ina226", "dlt645", "sdm120", "s0", ...)."""
        return self._sensor_type

    def break_bus(self, broken=True):
        """Make every transfer on the sensor's bus fail as a bus fails (broken=False mends
        it): an I2C NACK, a DL/T 645 reply with a bad checksum, a Modbus reply with a bad
        CRC. False for an S0 input, which has no bus."""
        family = self._family
        if family == _I2C:
            nack = self.models["i2c"].nack
            if broken:
                nack.add(self._i2c_addr)
            else:
                nack.discard(self._i2c_addr)
        elif family == _DLT645:
            from host_tools.sim import dlt645_meter

            line = self.models["uart"]
            line.clear_faults()
            if broken:
                line.inject(dlt645_meter.BAD_CS, 1 << 30)
        elif family == _MODBUS:
            from host_tools.sim import uart

            self.models["uart"].fault = uart.CRC if broken else uart.NONE
        else:
            return False
        return True

    # --- what the display shows ---

    def _led_matrix(self):
        if self._leds is None:
            from host_tools.sim.neopixel import LedMatrix

            strip = self.models.get("display")
            if strip is None:
                return None
            opts = self.profile["display"].get("options", {})
            self._leds = LedMatrix(
                strip,
                self.width,
                self.height,
                origin=opts.get("origin", "top-left"),
                column_major=opts.get("column_major", True),
                serpentine=opts.get("serpentine", True),
            )
        return self._leds

    def picture(self):
        """(width, height, MONO_HLSB bytes, 1 = ink: black on e-paper, lit on LED)."""
        w, h = self.width, self.height
        dtype = self.profile["display"]["type"]
        model = self.models.get("display")
        if dtype == "ws2812":
            leds = self._led_matrix()
            if leds is None:
                return w, h, bytearray(((w + 7) >> 3) * h)
            return w, h, leds.image_mono_hlsb()
        if dtype == "max7219":
            return w, h, model.image_mono_hlsb()
        data = model.landscape_mono_hlsb()  # 1 = white
        for i in range(len(data)):
            data[i] ^= 0xFF
        return w, h, data

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
        if self.profile["display"]["type"] != "ws2812":
            return None
        leds = self._led_matrix()
        if leds is None:
            return None
        return self.width, self.height, leds.image_rgb()


def _wire_display(rig, d, machine):
    kind = d["type"]
    if kind == "ws2812":
        rig.kind = "led"
        ns = _Namespace()

        def make(pin, n, bpp=3, timing=1):
            from host_tools.sim.neopixel import NeoPixel

            strip = NeoPixel(pin, n, bpp, timing)
            rig.models["display"] = strip
            rig._leds = None
            return strip

        ns.NeoPixel = make
        rig.neopixel = ns
        return
    pins = d["pins"]
    if kind == "max7219":
        from host_tools.sim.max7219 import MAX7219Chain

        rig.kind = "led"
        o = d.get("options", {})
        model = MAX7219Chain(
            modules=o["modules"],
            rows=o.get("rows", 1),
            rotation=o.get("rotation", 0),
            flip=o.get("flip", False),
            serpentine=o.get("serpentine", False),
        )
        machine.wire_pin(pins["cs"], model.cs)
        machine.wire_spi(d["spi"]["id"], model.spi)
        rig.models["display"] = model
        return
    if kind == "ssd1680":
        from host_tools.sim.ssd1680 import SSD1680Model

        model = SSD1680Model()
    elif kind == "ssd1683":
        from host_tools.sim.ssd1683 import SSD1683Model

        model = SSD1683Model(d["width"], d["height"])
    elif kind == "uc8179":
        from host_tools.sim.uc8179 import UC8179Model

        revision = d.get("options", {}).get("revision", "2023")  # the glass fitted
        model = UC8179Model(d["width"], d["height"], revision=revision)
    else:
        raise ValueError("no model for display type %r" % kind)
    for name in ("cs", "dc", "rst", "busy"):
        machine.wire_pin(pins[name], getattr(model, name))
    machine.wire_spi(d["spi"]["id"], model.spi)
    rig.models["display"] = model


def _wire_sensor(rig, s, machine, clock):
    kind = s["type"]
    opts = s.get("options", {})
    family = SENSOR_MODELS.get(kind)
    if family is None:
        raise ValueError("no model for sensor type %r" % kind)
    rig._sensor_type = kind
    rig._family = family
    if family == _I2C:
        from host_tools.sim.i2c import FakeI2C, INA219Model, INA226Model

        cls = INA226Model if kind == "ina226" else INA219Model
        bus = FakeI2C()
        rig._i2c_addr = opts.get("address", 0x40)
        chip = bus.attach(rig._i2c_addr, cls(opts["shunt_ohm"], always_ready=True))
        machine.wire_i2c(s["i2c"]["id"], bus)
        rig._bus_v = opts.get("sim_bus_v", _DEFAULT_BUS_V[kind])
        rig.models["sensor"] = chip
        rig.models["i2c"] = bus
        return
    if family == _S0:
        from host_tools.sim.pulses import FakePCNT, FakePin

        active_low = opts.get("active_low", True)
        rig._active = 0 if active_low else 1
        rig.edge_clock = _EdgeClock(clock)
        pin = FakePin(rig.edge_clock, level=1 - rig._active)
        machine.wire_pin(s["pin"], pin)
        rig._pulse_pj = _PJ_PER_KWH // opts["imp_per_kwh"]

        class PCNT(FakePCNT):
            # esp32.PCNT on the fake machine: counts the FakePin behind machine.Pin(n).
            def init(self, **kw):
                p = kw.get("pin")
                if p is not None and hasattr(p, "_target"):
                    kw["pin"] = p._target
                FakePCNT.init(self, **kw)

        esp32 = _Namespace()
        esp32.PCNT = PCNT
        rig.esp32 = esp32
        rig.models["sensor"] = pin
        rig.models["pcnt"] = PCNT
        return
    uart_spec = s["uart"]
    baud = uart_spec["baudrate"]
    if family == _DLT645:
        from host_tools.sim import dlt645_meter as dm

        meter = dm.DLT645MeterModel(opts.get("address") or "000000000001")
        de = dm.FakePin(clock) if "de" in s else None
        line = dm.FakeSerial(meter, clock, baudrate=baud, de=de)
    else:
        from host_tools.sim.modbus_maps import energy_register
        from host_tools.sim.modbus_meter import ModbusMeterModel
        from host_tools.sim.uart import FakePin, FakeUART

        # A profile whose "energy" option names the meter's export register (in the model's
        # own table) has the PV output flowing out through the meter: its power reads
        # negative and export counts up.
        if energy_register(kind, opts.get("energy"))[1] == "energy_export":
            rig._flow = -1
        meter = ModbusMeterModel(opts.get("unit", 1), kind)
        de = FakePin(clock) if "de" in s else None
        line = FakeUART(clock, meter, baudrate=baud, de=de)
    if de is not None:
        machine.wire_pin(s["de"], de)
        rig.models["de"] = de
    machine.wire_uart(uart_spec["id"], line)
    rig.models["sensor"] = meter
    rig.models["uart"] = line


def wire(profile, clock=None, machine=None):
    """The profile's display and PV sensor models, wired onto the fake machine (its earlier
    wiring is cleared) with `clock` as its clock. Returns the Rig."""
    if machine is None:
        from host_tools.sim import machine
    if clock is None:
        clock = Clock()
    machine.unwire()
    machine.set_clock(clock)
    rig = Rig(profile, clock)
    _wire_display(rig, profile["display"], machine)
    for s in profile["sensors"]:
        if s["role"] in ("pv_power", "pv_energy"):
            _wire_sensor(rig, s, machine, clock)
            break
    _wire_clock(rig, profile, clock)
    return rig


def _wire_clock(rig, profile, clock):
    """The time sources the profile's "clock" section names: an RTC module model on the I2C
    sensor's bus, the meter model's clock; each set as at installation, to the clock's wall
    time (UTC; a DL/T 645 meter keeps Beijing time, UTC+8), and running on the clock."""
    import time

    sources = (profile.get("clock") or {}).get("sources") or ()
    if not sources:
        return
    g = time.gmtime(clock.wall() + 946684800)  # the host's gmtime: a 1970 epoch
    bus = rig.models.get("i2c")
    for name in sources:
        if name in ("ds3231", "pcf8563") and bus is not None:
            from host_tools.sim.rtcchips import DS3231Model, PCF8563Model

            cls, addr = (DS3231Model, 0x68) if name == "ds3231" else (PCF8563Model, 0x51)
            chip = bus.attach(addr, cls(lambda: clock.ns // 1000000))
            weekday = g[6] if name == "ds3231" else (g[6] + 1) % 7  # PCF8563: Sunday = 0
            chip.set_time(g[0], g[1], g[2], g[3], g[4], g[5], weekday)
            rig.models[name] = chip
        elif name == "meter" and rig._family == _DLT645:
            b = time.gmtime(clock.wall() + 946684800 + 8 * 3600)
            rig.models["sensor"].set_clock(b[0], b[1], b[2], b[3], b[4], b[5], (b[6] + 1) % 7)
