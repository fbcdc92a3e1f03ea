# The sim parts registry: one model class per part a board profile may name, with one
# interface, so that the rig (host_tools/sim/rig.py) loops over parts instead of switching on
# families. The sim's counterpart of the firmware's sunprint/parts.py (the drivers' registry),
# written from the datasheets, never from the firmware's tables (tests/host/test_sim_registry.py).
#
#     part = SENSORS[spec["type"]](spec, clock)   or DISPLAYS[...], CLOCK_CHIPS[...]
#     part.wire(machine, models)     onto the unit's pins and buses; its models into `models`
#     part.set_quantity(value)       the physical quantity it measures (a PV sensor: watts)
#     part.advance(then_ns, now_ns)  the model's time, from the rig's last look to now
#     part.break_bus(broken)         make every transfer fail as its bus fails (False: no bus)
#     part.picture()                 a display's picture (width, height, MONO_HLSB, 1 = ink)
#     part.state()                   what the model holds now, for a test or a log
#
# Portable Python: runs under CPython and inside the MicroPython unix port. A part imports its
# chip model only when it is made, so a unit's VM holds only the models its profile needs.

_NS_PER_MS = 1000000
_NS_PER_S = 1000000000
_PJ_PER_KWH = 3600000000000000000  # mW * ns per kWh
# S0 (EN 62053-31, formerly DIN 43864): a pulse lasts at least 30 ms; meters send 30-100 ms
# (Chint's DTSU666: 80 +- 16 ms). 50 ms here.
_S0_PULSE_MS = 50
_EPOCH_2000 = 946684800  # the clock's wall time counts from 2000; the host's gmtime from 1970

# Model families (what the rig and the unit's model link tell apart)
I2C = "i2c"
S0 = "s0"
DLT645 = "dlt645"
MODBUS = "modbus"
EPAPER = "epaper"
LED = "led"
COMMUNITY = "community"  # many meters on one line (a community sign)


def now_ns(clock):
    """The clock's now in ns, from the finest unit it has."""
    ns = getattr(clock, "ns", None)
    if ns is not None:
        return ns
    us = getattr(clock, "us", None)
    if us is not None:
        return us * 1000
    return clock.ticks_ms() * _NS_PER_MS


class _Namespace:
    pass


class Part:
    """One part's model. ROLE: where the rig keeps it ("display", "sensor", "clock");
    FAMILY: the kind of model (a sensor's family, a display's EPAPER or LED)."""

    ROLE = ""
    FAMILY = ""

    def __init__(self, spec, clock):
        self.spec = spec
        self.clock = clock
        self.model = None

    def wire(self, machine, models):
        raise NotImplementedError

    def set_quantity(self, value):
        pass

    def advance(self, then_ns, now_ns):
        pass

    def break_bus(self, broken=True):
        return False

    def picture(self):
        return None

    def state(self):
        return {"type": self.spec.get("type"), "model": type(self.model).__name__}


# --- PV sensors: set_quantity(watts) ---


class INA2xxPart(Part):
    """An INA226 / INA219 on I2C: the bus voltage (the profile's "sim_bus_v", else a PV
    string's 30 V / 17.5 V) and the current watts / bus_v."""

    ROLE = "sensor"
    FAMILY = I2C
    DEFAULT_BUS_V = {"ina226": 30.0, "ina219": 17.5}

    def wire(self, machine, models):
        from host_tools.sim.chips.i2c import FakeI2C, INA219Model, INA226Model

        s = self.spec
        kind = s["type"]
        opts = s.get("options", {})
        cls = INA226Model if kind == "ina226" else INA219Model
        self.bus = FakeI2C()
        self.address = opts.get("address", 0x40)
        self.model = self.bus.attach(self.address, cls(opts["shunt_ohm"], always_ready=True))
        self.bus_v = opts.get("sim_bus_v", self.DEFAULT_BUS_V[kind])
        machine.wire_i2c(s["i2c"]["id"], self.bus)
        models["sensor"] = self.model
        models["i2c"] = self.bus

    def set_quantity(self, watts):
        self.model.set(watts / self.bus_v, self.bus_v)

    def advance(self, then_ns, now_ns):
        self.model.convert()  # continuous mode: a fresh conversion by now

    def break_bus(self, broken=True):
        nack = self.bus.nack
        if broken:
            nack.add(self.address)
        else:
            nack.discard(self.address)
        return True


class _EdgeClock:
    """The S0 pin's clock: the rig's clock, or the time of the edge being driven."""

    def __init__(self, clock):
        self.clock = clock
        self.at = -1

    @property
    def ns(self):
        return self.at if self.at >= 0 else now_ns(self.clock)

    def ticks_ms(self):
        return self.ns // _NS_PER_MS

    def ticks_us(self):
        return self.ns // 1000


class S0Part(Part):
    """An S0 pulse output: the pulse rate for the power at the profile's imp_per_kwh; advance()
    drives the pin's edges (a 50 ms pulse) at their times. The unit counts them with esp32.PCNT
    (`esp32`, the fake module this part gives the unit)."""

    ROLE = "sensor"
    FAMILY = S0

    def __init__(self, spec, clock):
        Part.__init__(self, spec, clock)
        self.power_w = 0.0
        self.pulses = 0
        self._pulse_pj = 0  # energy of one pulse, mW * ns
        self._acc_pj = 0  # energy since the last pulse
        self._release_ns = -1  # when the pulse now on the line ends
        self._active = 0
        self.edge_clock = None
        self.esp32 = None

    def wire(self, machine, models):
        from host_tools.sim.chips.pulses import FakePCNT, FakePin

        s = self.spec
        opts = s.get("options", {})
        self._active = 0 if opts.get("active_low", True) else 1
        self.edge_clock = _EdgeClock(self.clock)
        pin = FakePin(self.edge_clock, level=1 - self._active)
        machine.wire_pin(s["pin"], pin)
        self._pulse_pj = _PJ_PER_KWH // opts["imp_per_kwh"]

        class PCNT(FakePCNT):
            # esp32.PCNT on the fake machine: counts the FakePin behind machine.Pin(n).
            def init(self, **kw):
                p = kw.get("pin")
                if p is not None and hasattr(p, "_target"):
                    kw["pin"] = p._target
                FakePCNT.init(self, **kw)

        self.esp32 = _Namespace()
        self.esp32.PCNT = PCNT
        self.model = pin
        models["sensor"] = pin
        models["pcnt"] = PCNT

    def set_quantity(self, watts):
        self.power_w = watts

    def _drive(self, level, t_ns):
        ec = self.edge_clock
        ec.at = t_ns
        try:
            self.model.drive(level)
        finally:
            ec.at = -1

    def advance(self, then_ns, now_ns):
        t = then_ns
        mw = int(self.power_w * 1000)
        idle = 1 - self._active
        while True:
            if self._release_ns >= 0:  # a pulse is on the line
                if self._release_ns > now_ns:
                    # the meter counts on while its output pulses: the energy up to now waits
                    # for the next pulse (it was dropped here, so a unit whose ticks fell inside
                    # pulses saw fewer pulses than the power made)
                    if mw > 0:
                        self._acc_pj += mw * (now_ns - t)
                    break
                self._drive(idle, self._release_ns)
                self._release_ns = -1
            if mw <= 0:
                break
            need = self._pulse_pj - self._acc_pj
            if need < 0:
                need = 0  # a whole Wh came while the last pulse was on the line: due now
            dt = (need + mw - 1) // mw  # ns until the next pulse is due
            if t + dt > now_ns:
                self._acc_pj += mw * (now_ns - t)
                break
            t += dt
            self._acc_pj = 0
            self._drive(self._active, t)
            self.pulses += 1
            self._release_ns = t + _S0_PULSE_MS * _NS_PER_MS


class _MeterPart(Part):
    """A meter on a UART line (RS-485 with its DE pin where the profile has one): its power,
    and its energy registers count on at the previous power up to now."""

    ROLE = "sensor"

    def wire(self, machine, models):
        s = self.spec
        uart_spec = s["uart"]
        meter, line, de = self._line(s, uart_spec["baudrate"], "de" in s)
        if de is not None:
            machine.wire_pin(s["de"], de)
            models["de"] = de
        machine.wire_uart(uart_spec["id"], line)
        self.model = meter
        self.line = line
        models["sensor"] = meter
        models["uart"] = line

    def advance(self, then_ns, now_ns):
        self.model.advance((now_ns - then_ns) / _NS_PER_S)


class DLT645Part(_MeterPart):
    """A DL/T 645-2007 meter (host_tools/sim/chips/dlt645_meter.py); it keeps its own clock
    (Beijing time), which a profile may name as a time source."""

    FAMILY = DLT645

    def _line(self, s, baud, has_de):
        from host_tools.sim.chips import dlt645_meter as dm

        opts = s.get("options", {})
        meter = dm.DLT645MeterModel(opts.get("address") or "000000000001")
        de = dm.FakePin(self.clock) if has_de else None
        return meter, dm.FakeSerial(meter, self.clock, baudrate=baud, de=de), de

    def set_quantity(self, watts):
        self.model.power_w = watts

    def break_bus(self, broken=True):
        from host_tools.sim.chips import dlt645_meter

        self.line.clear_faults()
        if broken:
            self.line.inject(dlt645_meter.BAD_CS, 1 << 30)
        return True

    def set_time(self, wall_s):
        """Set as at installation: the clock's wall time (UTC) in Beijing time (UTC+8)."""
        import time

        b = time.gmtime(wall_s + _EPOCH_2000 + 8 * 3600)
        self.model.set_clock(b[0], b[1], b[2], b[3], b[4], b[5], (b[6] + 1) % 7)


class ModbusPart(_MeterPart):
    """A Modbus RTU meter, its register map from its own datasheet table
    (host_tools/sim/chips/modbus_maps.py). A profile whose "energy" option names the meter's
    export register has the PV output flowing out through the meter: its power reads negative
    and export counts up."""

    FAMILY = MODBUS

    def _line(self, s, baud, has_de):
        from host_tools.sim.chips.modbus_maps import energy_register
        from host_tools.sim.chips.modbus_meter import ModbusMeterModel
        from host_tools.sim.chips.uart import FakePin, FakeUART

        kind = s["type"]
        opts = s.get("options", {})
        export = energy_register(kind, opts.get("energy"))[1] == "energy_export"
        self.flow = -1 if export else 1
        meter = ModbusMeterModel(opts.get("unit", 1), kind)
        de = FakePin(self.clock) if has_de else None
        return meter, FakeUART(self.clock, meter, baudrate=baud, de=de), de

    def set_quantity(self, watts):
        self.model.set(power_w=watts * self.flow)

    def break_bus(self, broken=True):
        from host_tools.sim.chips import uart

        self.line.fault = uart.CRC if broken else uart.NONE
        return True


# --- displays: picture() ---


class _EPaperPart(Part):
    """An e-paper controller on SPI with CS, DC, RST and BUSY."""

    ROLE = "display"
    FAMILY = EPAPER

    def wire(self, machine, models):
        d = self.spec
        pins = d["pins"]
        model = self.model = self._model(d)
        for name in ("cs", "dc", "rst", "busy"):
            machine.wire_pin(pins[name], getattr(model, name))
        machine.wire_spi(d["spi"]["id"], model.spi)
        models["display"] = model

    def picture(self):
        data = self.model.landscape_mono_hlsb()  # 1 = white
        for i in range(len(data)):
            data[i] ^= 0xFF
        return self.spec["width"], self.spec["height"], data


class SSD1680Part(_EPaperPart):
    def _model(self, d):
        from host_tools.sim.chips.ssd1680 import SSD1680Model

        return SSD1680Model()


class SSD1683Part(_EPaperPart):
    def _model(self, d):
        from host_tools.sim.chips.ssd1683 import SSD1683Model

        return SSD1683Model(d["width"], d["height"])


class UC8179Part(_EPaperPart):
    def _model(self, d):
        from host_tools.sim.chips.uc8179 import UC8179Model

        revision = d.get("options", {}).get("revision", "2023")  # the glass fitted
        return UC8179Model(d["width"], d["height"], revision=revision)


class MAX7219Part(Part):
    """A chain of MAX7219 8x8 LED modules on SPI with CS."""

    ROLE = "display"
    FAMILY = LED

    def wire(self, machine, models):
        from host_tools.sim.chips.max7219 import MAX7219Chain

        d = self.spec
        o = d.get("options", {})
        self.model = MAX7219Chain(
            modules=o["modules"],
            rows=o.get("rows", 1),
            rotation=o.get("rotation", 0),
            flip=o.get("flip", False),
            serpentine=o.get("serpentine", False),
        )
        machine.wire_pin(d["pins"]["cs"], self.model.cs)
        machine.wire_spi(d["spi"]["id"], self.model.spi)
        models["display"] = self.model

    def picture(self):
        return self.spec["width"], self.spec["height"], self.model.image_mono_hlsb()


class WS2812Part(Part):
    """A WS2812 strip folded into a matrix: the unit makes its strip through `neopixel`, the
    fake module this part gives it; the model is that strip once it exists."""

    ROLE = "display"
    FAMILY = LED

    def __init__(self, spec, clock):
        Part.__init__(self, spec, clock)
        self.neopixel = None
        self._leds = None

    def wire(self, machine, models):
        ns = _Namespace()

        def make(pin, n, bpp=3, timing=1):
            from host_tools.sim.chips.neopixel import NeoPixel

            strip = NeoPixel(pin, n, bpp, timing)
            self.model = strip
            models["display"] = strip
            self._leds = None
            return strip

        ns.NeoPixel = make
        self.neopixel = ns

    def _matrix(self):
        if self._leds is None and self.model is not None:
            from host_tools.sim.chips.neopixel import LedMatrix

            opts = self.spec.get("options", {})
            self._leds = LedMatrix(
                self.model,
                self.spec["width"],
                self.spec["height"],
                origin=opts.get("origin", "top-left"),
                column_major=opts.get("column_major", True),
                serpentine=opts.get("serpentine", True),
            )
        return self._leds

    def picture(self):
        w, h = self.spec["width"], self.spec["height"]
        leds = self._matrix()
        if leds is None:  # the unit has not made its strip yet: all dark
            return w, h, bytearray(((w + 7) >> 3) * h)
        return w, h, leds.image_mono_hlsb()

    def led_rgb(self):
        """(width, height, RGB bytes), or None before the unit made its strip."""
        leds = self._matrix()
        if leds is None:
            return None
        return self.spec["width"], self.spec["height"], leds.image_rgb()


# --- time sources: an RTC module on the I2C sensor's bus ---


class _RTCPart(Part):
    """An RTC module on the I2C bus the sensor shares (models["i2c"]), set as at installation
    to the clock's wall time (UTC) and running on the clock."""

    ROLE = "clock"

    def wire(self, machine, models):
        bus = models.get("i2c")
        if bus is None:
            return False  # no I2C bus on this board: the source stays unanswered
        cls = self._cls()
        clock = self.clock
        self.model = bus.attach(self.ADDRESS, cls(lambda: clock.ns // 1000000))
        models[self.spec["type"]] = self.model
        return True

    def set_time(self, wall_s):
        import time

        g = time.gmtime(wall_s + _EPOCH_2000)
        self.model.set_time(g[0], g[1], g[2], g[3], g[4], g[5], self._weekday(g[6]))


class DS3231Part(_RTCPart):
    ADDRESS = 0x68

    def _cls(self):
        from host_tools.sim.chips.rtcchips import DS3231Model

        return DS3231Model

    def _weekday(self, tm_wday):
        return tm_wday  # as the unit's driver counts them: Monday = 0


class PCF8563Part(_RTCPart):
    ADDRESS = 0x51

    def _cls(self):
        from host_tools.sim.chips.rtcchips import PCF8563Model

        return PCF8563Model

    def _weekday(self, tm_wday):
        return (tm_wday + 1) % 7  # PCF8563: Sunday = 0


# --- a community's meters on one line: the profile's "community" section ---


class _CommunityPart(Part):
    """A community's meters on one RS-485 line (with its DE pin where the profile has one):
    models["bus"] what sets the meters' powers and faults, models["meters"] the meter models in
    profile order, models["uart"] the line. As _MeterPart for one meter, a protocol gives only
    its _line; the registers count as the caller advances them (bus.advance(s))."""

    ROLE = "bus"
    FAMILY = COMMUNITY
    PROTOCOL = ""

    def wire(self, machine, models):
        c = self.spec
        meters, bus, line, de = self._line(c, c["uart"]["baudrate"], "de" in c)
        if de is not None:
            machine.wire_pin(c["de"], de)
            models["de"] = de
        machine.wire_uart(c["uart"]["id"], line)
        self.model = bus
        models["bus"] = bus
        models["meters"] = meters
        models["uart"] = line

    def state(self):
        return {"type": "community", "protocol": self.PROTOCOL, "meters": len(self.model.meters)}


class DLT645CommunityPart(_CommunityPart):
    """A community's DL/T 645 meters on one RS-485 line (chips/dlt645_bus.py BusSerial), each
    answering only to its own address: models["bus"] the line (set_powers, set_fault per
    address), models["meters"] the meter models in profile order. Its registers count as the
    caller advances the line (bus.advance(s): a replay feeds each meter its own log column)."""

    PROTOCOL = "dlt645"

    def _line(self, c, baud, has_de):
        from host_tools.sim.chips import dlt645_meter as dm
        from host_tools.sim.chips.dlt645_bus import BusSerial

        meters = [
            dm.DLT645MeterModel(m["address"].rjust(12, "0"), energy_kwh=1000.0 + 100.0 * i)
            for i, m in enumerate(c["meters"])
        ]
        de = dm.FakePin(self.clock) if has_de else None
        line = BusSerial(meters, self.clock, baudrate=baud, latency_ms=60, de=de)
        return meters, line, line, de


class ModbusCommunityPart(_CommunityPart):
    """A community's Modbus RTU meters on one RS-485 line (chips/modbus_bus.py ModbusBusPeer
    under chips/uart.py FakeUART), mixed models, each answering only to its own unit id with
    its own vendor's register map (chips/modbus_maps.py): models["bus"] the line's meters
    (set_powers, set_fault per unit id, registers_wh), models["meters"] the meter models in
    profile order, models["uart"] the line. Its registers count as the caller advances them
    (bus.advance(s)), as DLT645CommunityPart's."""

    PROTOCOL = "modbus"

    def _line(self, c, baud, has_de):
        from host_tools.sim.chips.modbus_bus import ModbusBusPeer
        from host_tools.sim.chips.modbus_meter import ModbusMeterModel
        from host_tools.sim.chips.uart import FakePin, FakeUART

        meters = [
            ModbusMeterModel(m["unit"], m["model"], energy_kwh=1000.0 + 100.0 * i)
            for i, m in enumerate(c["meters"])
        ]
        peer = ModbusBusPeer(meters)
        de = FakePin(self.clock) if has_de else None
        # a meter's turnaround: 20 ms (the masters' usual allowance is 100-200 ms)
        line = FakeUART(self.clock, peer, baudrate=baud, de=de, latency_ms=20)
        return meters, peer, line, de


# The registry: a profile's type name -> its part. Adding a part = one class here (its chip
# model in chips/), one row.
SENSORS = {
    "ina226": INA2xxPart,
    "ina219": INA2xxPart,
    "s0": S0Part,
    "dlt645": DLT645Part,
    "ddsu666": ModbusPart,
    "dtsu666": ModbusPart,
    "sdm120": ModbusPart,
    "sdm630": ModbusPart,
}
DISPLAYS = {
    "ssd1680": SSD1680Part,
    "ssd1683": SSD1683Part,
    "uc8179": UC8179Part,
    "max7219": MAX7219Part,
    "ws2812": WS2812Part,
}
CLOCK_CHIPS = {"ds3231": DS3231Part, "pcf8563": PCF8563Part}
# a profile's community section, by its protocol (mixed protocols on one line are refused)
COMMUNITY_BUSES = {"dlt645": DLT645CommunityPart, "modbus": ModbusCommunityPart}


def make(table, spec, clock, what, key="type"):
    cls = table.get(spec.get(key))
    if cls is None:
        raise ValueError("no model for %s %s %r" % (what, key, spec.get(key)))
    return cls(spec, clock)
