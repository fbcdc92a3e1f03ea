# A meter's energy register that glitches, resets or is swapped: a step is booked only if the
# power it implies is plausible; an implausible one is counted, never booked, and the register
# is re-anchored only once it stays consistent for several polls, the power integral filling
# the interval it could not vouch for. CPython and MicroPython.
from sunprint.core.ledger import LIFETIME, Ledger

TZ = 8 * 3600
START = 782179200 - TZ + 9 * 3600  # 2024-10-15 09:00 local, firmware seconds
P = 3600000  # 3.6 kW in mW: 10 Wh (one 0.01 kWh register count) every 10 s


def _meter_ledger(**kw):
    # As board.build makes it for esp32-epd42-dlt645: a 0.01 kWh register, 30 kW rated x 2.
    return Ledger(counter_per_kwh=100, counter_max_power_w=60000, **kw)


def _poll(led, t, count, mw=P):
    led.add_power(t, mw)
    led.add_counter(t, count)


def test_one_poll_glitch_books_nothing_extra():
    led = _meter_ledger()
    t = START
    for i in range(10):
        _poll(led, t + 10 * i, 5000 + i)
    _poll(led, t + 100, 1005000)  # the register glitches for one poll
    for i in range(11, 20):
        _poll(led, t + 10 * i, 5000 + i)
    # 19 counts of 10 Wh: what the meter really counted, not +10,000 kWh
    assert led.mwh(LIFETIME) == 190000, led.mwh(LIFETIME)
    assert led.counter_implausible == 1 and led.counter_resets == 0


def test_the_default_ledger_refuses_a_glitch_too():
    led = Ledger(counter_per_kwh=100)  # no limit given: the ledger's own max power
    t = START
    led.add_counter(t, 5000)
    led.add_counter(t + 10, 1005000)
    led.add_counter(t + 20, 5001)
    assert led.mwh(LIFETIME) == 10000, led.mwh(LIFETIME)
    assert led.counter_implausible == 1


def test_a_glitch_backwards_is_not_a_reset():
    led = _meter_ledger()
    t = START
    _poll(led, t, 5000)
    _poll(led, t + 10, 5001)
    _poll(led, t + 20, 7)  # one bad read
    _poll(led, t + 30, 5003)
    assert led.mwh(LIFETIME) == 30000, led.mwh(LIFETIME)
    assert led.counter_resets == 0 and led.counter_implausible == 1


def test_a_jump_that_stays_is_never_booked():
    # The register jumps by 10,000 kWh and counts on from there: a new anchor after a few
    # consistent polls; the jump's interval is what the power says.
    led = _meter_ledger()
    t = START
    for i in range(10):
        _poll(led, t + 10 * i, 5000 + i)
    for i in range(10, 30):
        _poll(led, t + 10 * i, 1005000 + i)
    assert led.counter_resets == 1
    assert led.counter_implausible >= 1
    assert 280000 <= led.mwh(LIFETIME) <= 290000, led.mwh(LIFETIME)  # 29 intervals of 10 Wh


def test_a_swapped_meter_is_reanchored_and_its_interval_filled_by_power():
    led = _meter_ledger()
    t = START
    for i in range(10):
        _poll(led, t + 10 * i, 123400 + i)
    booked = led.mwh(LIFETIME)
    for i in range(10, 20):
        _poll(led, t + 10 * i, 7 + i - 10)  # a new meter, from 7
    assert led.counter_resets == 1
    # 10 intervals: the one of the swap filled by power, the rest counted by the new meter
    assert led.mwh(LIFETIME) - booked == 100000, led.mwh(LIFETIME) - booked


def test_a_swap_of_a_pulse_counter_without_power_is_missing_time():
    led = Ledger(counter_per_kwh=1000, counter_max_power_w=10000, counter_survives_reboot=False)
    t = START
    for i in range(10):
        led.add_counter(t + 10 * i, 100 + 10 * i)  # 10 Wh per 10 s
    led.add_counter(t + 100, 60000)  # a burst of noise pulses: 59.8 kWh in 10 s
    for i in range(11, 20):
        led.add_counter(t + 10 * i, 60000 + 10 * (i - 10))
    assert led.counter_resets == 1
    # 9 intervals before, 9 in the new run; the burst's interval is lost and counted missing
    assert led.mwh(LIFETIME) == 180000, led.mwh(LIFETIME)
    assert led.missing_s == 10


def test_a_glitch_while_the_counter_is_silent_is_not_double_counted():
    led = _meter_ledger(max_gap_s=300)
    t = START
    _poll(led, t, 5000)
    for i in range(1, 40):  # the register glitches for 390 s, the power is good
        _poll(led, t + 10 * i, 900000 + (i % 2) * 50000)
    _poll(led, t + 400, 5040)  # and reads right again: 40 counts since the anchor
    assert led.mwh(LIFETIME) == 400000, led.mwh(LIFETIME)
    assert led.counter_resets == 0


def test_the_first_reading_after_a_reboot_is_judged_by_the_wall_clock():
    led = _meter_ledger()
    t = START
    _poll(led, t, 5000)
    _poll(led, t + 10, 5001)
    again = _meter_ledger()
    again.unpack(led.pack())
    again.resume()
    # an hour off at 3.6 kW: 360 counts, judged on the wall clock (the monotonic one restarted)
    again.add_power(5, P, t + 10 + 3600)
    again.add_counter(5, 5361, t + 10 + 3600)
    assert again.mwh(LIFETIME) == 3610000, again.mwh(LIFETIME)
    # and a glitch right after a reboot is refused
    third = _meter_ledger()
    third.unpack(again.pack())
    third.resume()
    third.add_power(5, P, t + 3620 + 10)
    third.add_counter(5, 9000000, t + 3620 + 10)
    third.add_power(15, P, t + 3620 + 20)
    third.add_counter(15, 5363, t + 3620 + 20)
    assert third.mwh(LIFETIME) == 3630000, third.mwh(LIFETIME)


def test_without_a_wall_clock_a_step_after_a_reboot_waits_for_confirmation():
    led = _meter_ledger()
    led.add_counter(100, 5000, 100)  # no wall clock set: 100 s after 2000-01-01
    again = _meter_ledger()
    again.unpack(led.pack())
    again.resume()
    again.add_counter(5, 9000000, 5)  # a glitch: nothing can judge it
    again.add_counter(15, 5010, 15)
    again.add_counter(25, 5011, 25)
    again.add_counter(35, 5012, 35)
    again.add_counter(45, 5013, 45)
    assert again.mwh(LIFETIME) == 130000, again.mwh(LIFETIME)


def test_state_packs_the_same_length_as_version_2():
    led = _meter_ledger()
    _poll(led, START, 5000)
    data = led.pack()
    # version 4 appends the date-unknown hold (52 bytes) to version 3's 425
    assert len(data) == 477 and data[0] == 4 and Ledger.state_size(data) == 477
    data = bytes([3]) + data[1:425]
    assert Ledger.state_size(data) == 425
    v2 = bytearray(data)
    v2[0] = 2
    v2[1 + 12 * 8 : 1 + 13 * 8] = b"\x01" + b"\x00" * 7  # v2's last_ok slot: 1
    again = _meter_ledger()
    again.unpack(bytes(v2))  # a record of the previous firmware restores
    assert again.mwh(LIFETIME) == led.mwh(LIFETIME)
    again.resume()
    again.add_counter(5, 5010, START + 100)  # no wall for the anchor in v2: confirmation
    again.add_counter(15, 5011, START + 110)
    again.add_counter(25, 5012, START + 120)
    assert again.mwh(LIFETIME) == 120000, again.mwh(LIFETIME)
