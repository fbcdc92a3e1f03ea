# Many meters on one bus: the round time from the protocols' frame timings, and the named refusal
# of a profile whose meters do not fit the sample period. CPython and MicroPython.
from sunprint.community.schedule import (
    DLT645,
    MODBUS,
    char_us,
    check,
    gap_us,
    meters_per_period,
    round_us,
    slot_us,
)


def test_character_and_gap_times():
    assert char_us(2400) == 4584  # 11 bits / 2400 baud = 4583.3 us, rounded up
    assert char_us(9600) == 1146
    assert gap_us(9600) == 4011  # t3.5
    assert gap_us(2400) == 16044
    assert gap_us(38400) == 1750  # fixed above 19200 baud


def test_dlt645_slot_is_request_turnaround_and_reply():
    # Energy: 20 bytes out (4 FE + 16), 500 ms allowed turnaround, 24 bytes back (4 FE + 12 +
    # DI 4 + value 4); power: the same with a 3-byte value.
    assert slot_us(DLT645, 2400, items=1) == 44 * 4584 + 500000
    assert slot_us(DLT645, 2400) == (44 + 43) * 4584 + 2 * 500000
    assert slot_us(DLT645, 9600) == (44 + 43) * 1146 + 2 * 500000


def test_modbus_slot_has_the_gaps():
    # t3.5 + 8-byte request + 200 ms timeout + 9-byte reply, per register pair.
    assert slot_us(MODBUS, 9600, items=1) == 4011 + 17 * 1146 + 200000
    assert slot_us(MODBUS, 9600) == 2 * (4011 + 17 * 1146 + 200000)


def test_figures_for_1_to_16_meters():
    for n in range(1, 17):
        for baud in (2400, 9600):
            r = round_us(DLT645, baud, n)
            assert r == n * slot_us(DLT645, baud)
            # 16 meters read energy and power within 30 s at either rate (1.40 s / 1.10 s each)
            assert check(DLT645, baud, n, 30) == r
            assert check(MODBUS, baud, n, 10) == round_us(MODBUS, baud, n)
    assert meters_per_period(DLT645, 2400, 10) == 7  # 1.399 s a meter, energy and power
    assert meters_per_period(DLT645, 9600, 10) == 9  # 1.100 s
    assert meters_per_period(DLT645, 2400, 10, items=1) == 14  # 0.702 s, energy only
    assert meters_per_period(DLT645, 9600, 10, items=1) == 18
    assert meters_per_period(MODBUS, 9600, 10) == 22
    assert meters_per_period(MODBUS, 2400, 10) == 17


def test_forty_meters_at_2400_in_10_s_is_refused_by_name():
    try:
        check(DLT645, 2400, 40, 10)
    except ValueError as e:
        msg = str(e)
    else:
        raise AssertionError("40 meters accepted")
    assert msg == (
        "meters: 40 DL/T 645 meters at 2400 baud need 55.9 s per round, more than"
        " sample_period_s 10 (at most 7 fit)"
    ), msg


def test_bad_baud_and_count_refused():
    for args in ((DLT645, 1234, 4, 10), (DLT645, 2400, 0, 10), (MODBUS, 9600, 248, 60)):
        try:
            check(*args)
        except ValueError as e:
            assert str(e).startswith("meters: ")
        else:
            raise AssertionError(args)
