# INA219 / INA226 drivers against the register models behind the fake I2C bus
# (host_tools/sim/chips/i2c.py), and the bus and models on their own. Plain test_* functions with
# bare asserts: runs under pytest and inside MicroPython.
import gc

from host_tools.sim.chips.i2c import ENODEV, ETIMEDOUT, FakeI2C, INA219Model, INA226Model
from sunprint.drivers.ina2xx import INA219, INA226
from sunprint.quality import DEVICE_ERROR, NO_ANSWER, NOT_READY, OK, OUT_OF_RANGE

ADDR = 0x40
FLAGS = (OK, NO_ANSWER, NOT_READY, OUT_OF_RANGE, DEVICE_ERROR)


def _rig226(shunt_ohm=0.002, max_current_a=20, always_ready=False, **kw):
    bus = FakeI2C()
    m = bus.attach(ADDR, INA226Model(shunt_ohm=shunt_ohm, always_ready=always_ready))
    d = INA226(bus, shunt_ohm=shunt_ohm, max_current_a=max_current_a, **kw)
    return bus, m, d


def _rig219(shunt_ohm=0.1, max_current_a=3.2, always_ready=False, **kw):
    bus = FakeI2C()
    m = bus.attach(ADDR, INA219Model(shunt_ohm=shunt_ohm, always_ready=always_ready))
    d = INA219(bus, shunt_ohm=shunt_ohm, max_current_a=max_current_a, **kw)
    return bus, m, d


def _up(m, d, current_a=1.0, bus_v=12.0):
    """First poll configures the chip (NOT_READY); after one conversion the next is OK."""
    assert d.poll() == NOT_READY
    m.set(current_a, bus_v)
    assert d.poll() == OK


def _values(d):
    return (d.bus_mv, d.shunt_uv, d.current_ma, d.power_mw)


# --- the datasheets' worked examples, bit for bit ---


def test_ina226_datasheet_example_table_1():
    # INA226 datasheet SBOS547 (June 2011), Table 1 "Configure/Measure/Calculate Example":
    # load 10 A, VCM 12 V, RSHUNT 2 mOhm, VBUS 11.98 V, Current_LSB 1 mA ->
    # config 4127h, shunt 1F40h, bus 2570h, calibration 0A00h, current 2710h, power 12B8h.
    bus, m, d = _rig226(averaging=1, conversion_us=1100, current_lsb_ua=1000)
    assert d.config == 0x4127 and d.cal == 0x0A00 and d.power_lsb_uw == 25000
    _up(m, d, 10.0, 11.98)
    assert m.regs == {0: 0x4127, 1: 0x1F40, 2: 0x2570, 3: 0x12B8, 4: 0x2710, 5: 0x0A00}
    assert _values(d) == (11980, 20000, 10000, 119800)  # 4792 x 25 mW = 119.8 W


def test_ina219_datasheet_example_table_3():
    # INA219 datasheet SBOS448F (Sept 2011), Table 3 "Configure/Measure/Calculate Example":
    # load 10 A, VCM 12 V, RSHUNT 2 mOhm, VSHUNT FSR 40 mV, VBUS range 16 V, Current_LSB 1 mA
    # -> config 019Fh, shunt 07D0h, bus 5D98h, calibration 5000h, current 2710h, power 1766h.
    bus, m, d = _rig219(
        shunt_ohm=0.002,
        max_current_a=20,
        bus_range_v=16,
        shunt_range_mv=40,
        averaging=1,
        current_lsb_ua=1000,
    )
    assert d.config == 0x019F and d.cal == 0x5000 and d.power_lsb_uw == 20000
    _up(m, d, 10.0, 11.98)
    # bus 5D98h: CNVR (bit 1) is clear again because the driver read the power register
    assert m.regs == {0: 0x019F, 1: 0x07D0, 2: 0x5D98, 3: 0x1766, 4: 0x2710, 5: 0x5000}
    assert _values(d) == (11980, 20000, 10000, 119800)  # 5990 x 20 mW = 119.8 W


def test_calibration_for_the_example_shunts():
    # INA226, 2 mOhm, 20 A: Current_LSB = 20 / 2**15 = 610351.5625 nA -> 610352 nA (rounded up
    # to whole nA); Cal = trunc(0.00512 / (610352e-9 x 0.002)) = trunc(4194.30) = 4194
    # (SBOS547B eq. 1 and 2). Power_LSB = 25 x Current_LSB = 15.26 mW.
    d = INA226(FakeI2C(), shunt_ohm=0.002, max_current_a=20)
    assert (d.current_lsb_na, d.cal, d.power_lsb_uw) == (610352, 4194, 15258)
    assert d.config == 0x4527  # AVG 16 (010), VBUSCT = VSHCT = 1.1 ms (100), continuous
    assert d.conversion_us == 16 * 2 * 1100
    # INA219, 0.1 Ohm, 3.2 A: Current_LSB = 3.2 / 2**15 = 97656.25 nA -> 97657 nA;
    # Cal = trunc(0.04096 / (97657e-9 x 0.1)) = trunc(4194.27) = 4194 (even: FS0 is void)
    # (SBOS448G eq. 1 and 2). 3.2 A x 0.1 Ohm = 320 mV: PGA /8. Power_LSB = 20 x = 1.95 mW.
    d = INA219(FakeI2C(), shunt_ohm=0.1, max_current_a=3.2)
    assert (d.current_lsb_na, d.cal, d.power_lsb_uw) == (97657, 4194, 1953)
    assert d.shunt_range_mv == 320
    assert d.config == 0x3E67  # BRNG 32 V, PG /8, BADC = SADC = 16 samples (1100), mode 111
    # Auto PGA: the smallest range holding max_current x shunt.
    assert INA219(FakeI2C(), shunt_ohm=0.1, max_current_a=0.4).shunt_range_mv == 40
    assert INA219(FakeI2C(), shunt_ohm=0.1, max_current_a=0.41).shunt_range_mv == 80
    assert INA219(FakeI2C(), shunt_ohm=0.1, max_current_a=1.0).shunt_range_mv == 160


def test_init_writes_configuration_and_calibration():
    bus, m, d = _rig226(averaging=64, conversion_us=588)
    assert m.regs[0] == 0x4127 and m.regs[5] == 0  # power-on values
    assert d.poll() == NOT_READY
    assert m.regs[0] == d.config == 0x4000 | (3 << 9) | (3 << 6) | (3 << 3) | 7
    assert m.regs[5] == d.cal
    assert m.violations == []


# --- readings against the truth ---


def _check_reading(d, true_i, true_v, shunt_lsb_uv, bus_lsb_mv):
    # The chip's quantisation: the ADC's nearest code (half a shunt LSB, seen through the
    # shunt), the current register's truncation (< 1 current LSB), the driver's rounding to
    # whole mA / mW (0.5) and its 14-bit fixed point (< 2.5 mW over the power register).
    r_ohm = d.shunt_nohm / 1e9
    lsb_ma = (d._i_whole + d._i_frac / 16384) / 1000
    plsb_mw = d._p_whole + d._p_frac / 16384
    i_tol = shunt_lsb_uv / 2 / r_ohm / 1000 + lsb_ma + 0.5 + 0.01
    p_tol = abs(true_v) * i_tol + abs(true_i) * bus_lsb_mv / 2 + plsb_mw + 0.5 + 2.5
    true_ma = true_i * 1000
    true_mw = true_i * true_v * 1000
    msg = "I=%r V=%r -> %r" % (true_i, true_v, _values(d))
    assert abs(d.current_ma - true_ma) <= i_tol, msg
    assert abs(d.power_mw - true_mw) <= p_tol, msg
    assert abs(d.bus_mv - true_v * 1000) <= bus_lsb_mv / 2 + 0.5, msg
    assert abs(d.shunt_uv - true_i * r_ohm * 1e6) <= shunt_lsb_uv / 2 + 0.5, msg
    if true_ma <= -i_tol:
        assert d.current_ma < 0 and d.power_mw <= 0, msg


def test_ina226_sweep_within_quantisation_including_negative_current():
    bus, m, d = _rig226()
    _up(m, d)
    i = -19.9
    n = 0
    while i < 19.95:
        v = 2.0 + (n % 9) * 4.1  # 2 .. 34.8 V
        m.set(i, v)
        assert d.poll() == OK, (i, v, d.quality)
        _check_reading(d, i, v, 2.5, 1.25)
        i += 0.37
        n += 1
    for i in (0.0, 0.0004, -0.0004, 0.001, -0.001, 0.02, -0.02):  # around zero
        m.set(i, 24.0)
        assert d.poll() == OK
        _check_reading(d, i, 24.0, 2.5, 1.25)
    assert m.violations == []


def test_ina219_sweep_within_quantisation_including_negative_current():
    bus, m, d = _rig219()
    _up(m, d)
    i = -3.15
    n = 0
    while i < 3.16:
        v = 1.0 + (n % 7) * 4.6  # 1 .. 28.6 V
        m.set(i, v)
        assert d.poll() == OK, (i, v, d.quality)
        _check_reading(d, i, v, 10, 4)
        i += 0.0625
        n += 1
    # a small current on a 40 mV range: finer LSBs, same rules
    bus, m, d = _rig219(max_current_a=0.35, averaging=1)
    assert d.shunt_range_mv == 40
    _up(m, d, 0.1, 5.0)
    for i in (-0.349, -0.2, -0.0123, 0.0, 0.0077, 0.1, 0.349):
        m.set(i, 5.0)
        assert d.poll() == OK
        _check_reading(d, i, 5.0, 10, 4)


def test_bus_voltage_limits():
    bus, m, d = _rig226()
    _up(m, d)
    m.set(1.0, -0.5)  # the INA226 bus register is positive only
    assert d.poll() == OK and d.bus_mv == 0 and d.power_mw == 0
    m.set(1.0, 40.96)
    assert d.poll() == OK and d.bus_mv == 40959  # 7FFFh x 1.25 mV, rounded
    bus, m, d = _rig219(bus_range_v=16)
    _up(m, d)
    m.set(1.0, 20.0)
    assert d.poll() == OK and d.bus_mv == 4095 * 4  # 16 V range: BD12 is 0


# --- faults ---


def test_nack_gives_no_answer_keeps_last_values_and_recovers():
    bus, m, d = _rig226()
    _up(m, d, 5.0, 24.0)
    good = _values(d)
    bus.nack.add(ADDR)
    m.set(7.0, 30.0)
    assert d.poll() == NO_ANSWER and d.quality == NO_ANSWER
    assert _values(d) == good
    try:
        d.read_mw()
    except OSError:
        pass
    else:
        raise AssertionError("read_mw() must raise while the chip does not answer")
    bus.nack.discard(ADDR)
    assert d.poll() == OK  # the conversion made during the outage is still flagged ready
    _check_reading(d, 7.0, 30.0, 2.5, 1.25)
    m.set(-2.0, 30.0)
    assert d.read_mw() == d.power_mw < 0  # read_mw() polls; the app clamps night draw to 0


def test_stuck_bus_gives_no_answer_and_recovers():
    bus, m, d = _rig219()
    _up(m, d, 1.5, 12.0)
    good = _values(d)
    bus.stuck = True
    for _ in range(5):
        m.set(2.0, 13.0)
        assert d.poll() == NO_ANSWER
    assert _values(d) == good and d.resets == 0
    bus.stuck = False
    assert d.poll() == OK
    _check_reading(d, 2.0, 13.0, 10, 4)


def test_absent_chip_at_power_up_then_plugged_in():
    bus = FakeI2C()
    d = INA226(bus, shunt_ohm=0.002, max_current_a=20)  # the constructor touches no bus
    assert d.quality == NOT_READY
    assert d.poll() == NO_ANSWER
    m = bus.attach(ADDR, INA226Model(shunt_ohm=0.002))
    _up(m, d, 3.0, 24.0)
    _check_reading(d, 3.0, 24.0, 2.5, 1.25)


def _reset_and_recover(bus, m, d, true_i, true_v, shunt_lsb_uv, bus_lsb_mv, config_reset):
    _up(m, d, true_i, true_v)
    good = _values(d)
    bus.reset()  # brownout: the chip is back at its power-on registers
    assert m.regs[5] == 0 and m.regs[0] == config_reset
    m.set(true_i * 2, true_v)  # the chip keeps converting, with Cal = 0: current 0
    assert m.regs[4] == 0 and m.regs[3] == 0
    assert d.poll() == NOT_READY  # the data read are thrown away, the chip set up again
    assert _values(d) == good and d.resets == 1
    assert m.regs[5] == d.cal and m.regs[0] == d.config
    m.convert()
    assert d.poll() == OK
    _check_reading(d, true_i * 2, true_v, shunt_lsb_uv, bus_lsb_mv)
    assert d.resets == 1


def test_ina226_chip_reset_detected_and_recovered():
    bus, m, d = _rig226()
    _reset_and_recover(bus, m, d, 4.0, 24.0, 2.5, 1.25, 0x4127)


def test_ina219_chip_reset_detected_and_recovered():
    bus, m, d = _rig219()
    _reset_and_recover(bus, m, d, 1.2, 12.0, 10, 4, 0x399F)


def test_reset_by_the_rst_bit_is_recovered_too():
    bus, m, d = _rig226()
    _up(m, d)
    bus.writeto_mem(ADDR, 0x00, b"\x80\x00")  # RST: same as power-on reset
    assert m.regs[5] == 0
    m.convert()
    assert d.poll() == NOT_READY and d.resets == 1
    m.convert()
    assert d.poll() == OK


def test_not_ready_until_a_new_conversion():
    bus, m, d = _rig226()
    assert d.poll() == NOT_READY  # configured just now
    assert d.poll() == NOT_READY  # still no conversion
    m.set(2.0, 12.0)
    assert d.poll() == OK
    good = _values(d)
    assert d.poll() == NOT_READY  # polled faster than the chip converts
    assert _values(d) == good
    m.convert()
    assert d.poll() == OK
    bus, m, d = _rig219()
    _up(m, d)
    assert d.poll() == NOT_READY  # reading the power register cleared CNVR


def test_ina226_overflow_and_shunt_saturation_are_out_of_range():
    bus, m, d = _rig226()
    _up(m, d, 10.0, 24.0)
    good = _values(d)
    m.set(30.0, 24.0)  # 60 mV fits the ADC, but 30 A overflows the current register: OVF
    assert m.overflow
    assert d.poll() == OUT_OF_RANGE and _values(d) == good
    m.set(50.0, 24.0)  # 100 mV: the shunt ADC clips at 81.92 mV
    assert m.regs[1] == 0x7FFF
    assert d.poll() == OUT_OF_RANGE and _values(d) == good
    m.set(-50.0, 24.0)
    assert m.regs[1] == 0x8000
    assert d.poll() == OUT_OF_RANGE and _values(d) == good
    m.set(10.0, 24.0)
    assert d.poll() == OK


def test_ina219_overflow_and_shunt_saturation_are_out_of_range():
    bus, m, d = _rig219(max_current_a=1.0)  # 100 mV -> PGA /4 (160 mV)
    _up(m, d, 0.5, 12.0)
    good = _values(d)
    m.set(1.5, 12.0)  # 150 mV fits the range, the current register overflows: OVF
    assert m.regs[2] & 1
    assert d.poll() == OUT_OF_RANGE and _values(d) == good
    m.set(0.5, 12.0)
    assert d.poll() == OK
    # saturation without overflow: 40 mV range, 0.5 A x 0.1 Ohm = 50 mV clips at 4000 codes
    bus, m, d = _rig219(max_current_a=0.4)
    _up(m, d, 0.2, 5.0)
    m.set(0.5, 5.0)
    assert m.regs[1] == 4000 and not m.regs[2] & 1
    assert d.poll() == OUT_OF_RANGE
    m.set(-0.5, 5.0)
    assert m.regs[1] == 0x10000 - 4000
    assert d.poll() == OUT_OF_RANGE
    _check_reading(d, 0.2, 5.0, 10, 4)  # still the last good reading


def test_wrong_chip_is_a_device_error():
    bus = FakeI2C()
    m = bus.attach(ADDR, INA219Model(shunt_ohm=0.002))  # an INA219 where an INA226 should be
    d = INA226(bus, shunt_ohm=0.002, max_current_a=20)
    assert d.poll() == DEVICE_ERROR
    assert m.regs[5] == 0  # nothing written to a chip that is not the INA226
    try:
        d.read_mw()
    except OSError:
        pass
    else:
        raise AssertionError("read_mw() must raise on a device error")


def test_no_exception_escapes_poll_under_random_faults():
    for make, shunt_lsb_uv, bus_lsb_mv, top in ((_rig226, 2.5, 1.25, 19.0), (_rig219, 10, 4, 3.0)):
        bus, m, d = make()
        bus.seed(2024)
        bus.nack_rate = 0.3
        seen = {}
        n = 0
        while n < 500:
            i = top * (((n * 37) % 201) - 100) / 100
            v = 5.0 + (n % 11) * 2.0
            if n % 97 == 50:
                bus.reset()
            bus.stuck = n % 131 == 7
            m.set(i, v)
            q = d.poll()
            assert q in FLAGS and q == d.quality
            seen[q] = seen.get(q, 0) + 1
            if q == OK:
                _check_reading(d, i, v, shunt_lsb_uv, bus_lsb_mv)
            n += 1
        # ~6 transfers a poll: 0.7**6 = 12 % of the polls see no NACK at all
        assert seen.get(OK, 0) > 30 and seen.get(NO_ANSWER, 0) > 300, seen
        assert d.resets >= 1, d.resets
        assert m.violations == []


def test_poll_allocates_nothing():
    if not hasattr(gc, "mem_alloc"):
        return  # CPython has no allocation counter; the MicroPython run measures
    for make in (_rig226, _rig219):
        bus, m, d = make(always_ready=True)
        _up(m, d, 3.0, 24.0)
        assert _alloc_of_polls(d, 50) == 0
        assert d.quality == OK
        m.set(-1.0, 24.0)
        assert _alloc_of_polls(d, 50) == 0
        assert d.current_ma < 0 and d.power_mw < 0
        # the other flags that come without an exception allocate nothing either
        m.always_ready = False
        d.poll()
        assert _alloc_of_polls(d, 20) == 0 and d.quality == NOT_READY
        m.always_ready = True
        m.set(100.0, 24.0)
        assert _alloc_of_polls(d, 20) == 0 and d.quality == OUT_OF_RANGE


def _alloc_of_polls(d, n):
    # Locals only: a new global name would grow the globals dict and count as allocation.
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()  # type: ignore[attr-defined]
        i = 0
        while i < n:
            d.poll()
            i += 1
        return gc.mem_alloc() - before  # type: ignore[attr-defined]
    finally:
        gc.enable()


def test_integer_math_stays_within_esp32_small_ints():
    # An ESP32 small int has 31 bits: every product in poll() must stay below 2**30.
    configs = (
        (INA226, 0.002, 20),
        (INA226, 0.0001, 500),  # the largest current the conversion accepts on 0.1 mOhm
        (INA226, 0.1, 0.1),
        (INA219, 0.1, 3.2),
        (INA219, 0.001, 320),
        (INA219, 10.0, 0.004),
    )
    for cls, r, a in configs:
        d = cls(FakeI2C(), shunt_ohm=r, max_current_a=a)
        cur = 32768 * d._i_whole + ((32768 * d._i_frac + 8192) >> 14)
        pwr = 65535 * d._p_whole + ((65535 * d._p_frac + 8192) >> 14)
        assert 32768 * d._i_frac + 8192 < 2**30 and 65535 * d._p_frac + 8192 < 2**30
        assert cur + 500 < 2**30 and pwr < 2**30, (cls.NAME, r, a)
    for bad in ((0.0001, 800),):  # 24 mA LSB: the conversion would leave small ints
        try:
            INA226(FakeI2C(), shunt_ohm=bad[0], max_current_a=bad[1])
        except ValueError:
            continue
        raise AssertionError(bad)


def test_constructor_rejects_bad_configuration():
    bad = (
        (INA226, {"shunt_ohm": 0, "max_current_a": 1}),
        (INA226, {"shunt_ohm": 0.002, "max_current_a": 0}),
        (INA226, {"shunt_ohm": 0.002, "max_current_a": 50}),  # 100 mV > 81.92 mV
        (INA226, {"shunt_ohm": 0.002, "max_current_a": 20, "averaging": 8}),
        (INA226, {"shunt_ohm": 0.002, "max_current_a": 20, "conversion_us": 1000}),
        (INA226, {"shunt_ohm": 0.002, "max_current_a": 20, "current_lsb_ua": 100}),
        (INA226, {"shunt_ohm": 0.5, "max_current_a": 0.16, "current_lsb_ua": 100000}),  # Cal 0
        (INA226, {"shunt_ohm": 0.5, "max_current_a": 0.001}),  # Cal 330322 > 7FFFh
        (INA219, {"shunt_ohm": 0.1, "max_current_a": 3.3}),  # 330 mV > 320 mV
        (INA219, {"shunt_ohm": 0.1, "max_current_a": 1, "shunt_range_mv": 40}),
        (INA219, {"shunt_ohm": 0.1, "max_current_a": 1, "shunt_range_mv": 50}),
        (INA219, {"shunt_ohm": 0.1, "max_current_a": 1, "bus_range_v": 24}),
        (INA219, {"shunt_ohm": 0.1, "max_current_a": 1, "averaging": 3}),
        (INA219, {"shunt_ohm": 0.1, "max_current_a": 0.0001}),  # Cal > FFFEh
        # below a nOhm / a uA the integer units round to 0 (once a ZeroDivisionError)
        (INA226, {"shunt_ohm": 1e-300, "max_current_a": 20}),
        (INA226, {"shunt_ohm": 0.002, "max_current_a": 1e-300}),
        (INA219, {"shunt_ohm": 1e-300, "max_current_a": 1}),
        (INA226, {"shunt_ohm": float("inf"), "max_current_a": 20}),  # once an OverflowError
        (INA226, {"shunt_ohm": 0.002, "max_current_a": float("inf")}),
        (INA226, {"shunt_ohm": float("nan"), "max_current_a": 20}),
    )
    for cls, kw in bad:
        try:
            cls(FakeI2C(), **kw)
        except ValueError:
            continue
        except Exception as e:  # noqa: BLE001 - any other exception is the failure
            raise AssertionError("%s %r: %r" % (cls.NAME, kw, e))
        raise AssertionError("%s accepted %r" % (cls.NAME, kw))


# --- the fake bus and the models on their own ---


def test_fake_i2c_errors_are_the_esp32_ones():
    bus = FakeI2C()
    bus.attach(0x40, INA226Model(shunt_ohm=0.002))
    bus.attach(0x45, INA219Model(shunt_ohm=0.1))
    assert bus.scan() == [0x40, 0x45]
    buf = bytearray(2)
    try:
        bus.readfrom_mem_into(0x41, 0, buf)
    except OSError as e:
        assert e.args[0] == ENODEV == 19
    else:
        raise AssertionError("no device at 0x41")
    bus.nack.add(0x45)
    assert bus.scan() == [0x40]
    try:
        bus.writeto_mem(0x45, 5, b"\x00\x10")
    except OSError as e:
        assert e.args[0] == ENODEV
    else:
        raise AssertionError("0x45 NACKs")
    bus.stuck = True
    assert bus.scan() == []
    try:
        bus.readfrom_mem_into(0x40, 0, buf)
    except OSError as e:
        assert e.args[0] == ETIMEDOUT == 116
    else:
        raise AssertionError("stuck bus")
    # scans probe 0x08..0x77 (112): 110 + 111 + 112 misses, and the three failed transfers
    assert bus.failures == 110 + 1 + 111 + 1 + 112 + 1


def test_fake_i2c_nack_rate_is_seeded_and_portable():
    bus = FakeI2C(seed=1)
    # The ANSI C LCG, high 15 bits: the same numbers under CPython and MicroPython.
    assert [bus.draw() for _ in range(5)] == [16838, 5758, 10113, 17515, 31051]
    bus = FakeI2C(seed=7)
    bus.attach(ADDR, INA226Model(shunt_ohm=0.002))
    bus.nack_rate = 0.3
    buf = bytearray(2)
    fails = 0
    for _ in range(2000):
        try:
            bus.readfrom_mem_into(ADDR, 0xFE, buf)
        except OSError:
            fails += 1
    assert 500 < fails < 700, fails
    bus.nack_rate = 0
    bus.readfrom_mem_into(ADDR, 0xFE, buf)
    assert buf == b"\x54\x49"


def test_models_power_on_registers_and_pointer():
    bus = FakeI2C()
    ina226 = bus.attach(0x40, INA226Model(shunt_ohm=0.002))
    ina219 = bus.attach(0x41, INA219Model(shunt_ohm=0.1))
    assert bus.readfrom_mem(0x40, 0x00, 2) == b"\x41\x27"
    assert bus.readfrom_mem(0x40, 0xFE, 2) == b"\x54\x49"  # "TI"
    assert bus.readfrom_mem(0x40, 0xFF, 2) == b"\x22\x60"
    assert bus.readfrom_mem(0x41, 0x00, 2) == b"\x39\x9f"
    assert bus.readfrom_mem(0x41, 0x05, 2) == b"\x00\x00"
    # the pointer stays where the last write left it
    assert bus.writeto(0x40, b"\xff") == 1
    assert bus.readfrom(0x40, 2) == b"\x22\x60"
    assert bus.readfrom(0x40, 2) == b"\x22\x60"
    assert bus.writeto(0x40, b"\x05\x12\x34") == 3
    assert bus.readfrom(0x40, 2) == b"\x12\x34"  # pointer now 05h
    # reserved / void calibration bits read 0
    bus.writeto_mem(0x40, 0x05, b"\xff\xff")
    assert bus.readfrom_mem(0x40, 0x05, 2) == b"\x7f\xff"
    bus.writeto_mem(0x41, 0x05, b"\x12\x35")
    assert bus.readfrom_mem(0x41, 0x05, 2) == b"\x12\x34"
    bus.reset()
    assert ina226.regs[5] == 0 and ina219.regs[5] == 0
    ina226.set(1.0, 12.0)
    assert ina226.regs[1] == 800 and ina226.regs[4] == 0 and ina226.regs[3] == 0
    # an incomplete write is ignored and recorded
    bus.writeto_mem(0x40, 0x05, b"\x01")
    assert ina226.regs[5] == 0 and len(ina226.violations) == 1
    bus.readfrom_mem(0x41, 0x06, 2)  # the INA219 has no 06h
    assert len(ina219.violations) == 1


def test_model_conversion_ready_flags():
    bus = FakeI2C()
    m = bus.attach(ADDR, INA226Model(shunt_ohm=0.002))
    m.set(1.0, 12.0)
    assert bus.readfrom_mem(ADDR, 0x06, 2) == b"\x00\x08"  # CVRF
    assert bus.readfrom_mem(ADDR, 0x06, 2) == b"\x00\x00"  # cleared by the read
    m.convert()
    bus.writeto_mem(ADDR, 0x00, b"\x41\x27")  # writing the configuration clears it too
    assert bus.readfrom_mem(ADDR, 0x06, 2) == b"\x00\x00"
    bus.writeto_mem(ADDR, 0x00, b"\x41\x20")  # power-down: no conversion
    n = m.conversions
    m.set(2.0, 12.0)
    assert m.conversions == n
    bus.writeto_mem(ADDR, 0x00, b"\x41\x23")  # shunt and bus, triggered: one conversion
    m.convert()
    m.convert()
    assert m.conversions == n + 1
    m219 = bus.attach(0x41, INA219Model(shunt_ohm=0.1))
    m219.set(1.0, 12.0)
    assert bus.readfrom_mem(0x41, 0x02, 2)[1] & 0x02  # CNVR
    bus.readfrom_mem(0x41, 0x03, 2)  # reading power clears it
    assert not bus.readfrom_mem(0x41, 0x02, 2)[1] & 0x02
