# The meter stack (the real DL/T 645 and Modbus drivers on the meter models, MeterSource with
# the profile's health, the ledger with the board's limits, the app and its store) under random
# register glitches, resets, swaps, line faults and reboots: the lifetime total never decreases
# and never exceeds what the meter produced (see meter_property.py for the stated tolerance).
# Seeded: the same events in CPython and MicroPython.
# micropython-heap: 110000 (an ESP32 without PSRAM: both boards' meter and line models and
# the flash run on the host, host_tools/sim/board/modellink.py; in the VM beside them they took
# 1300000, and 1000000 failed at the second board's boot)
# micropython-vm: app (the deployed form: the app frozen into the 32-bit binary)
# micropython-fresh-vm: each (a unit powers on with an empty heap)
from meter_property import check, random_events

POLLS = 1500


def _run(board, seed, max_w):
    booked, truth, ledger = check(board, random_events(seed, POLLS, max_w))
    # and it books the truth but for the intervals nothing could vouch for
    assert booked >= truth * 9 // 10, (booked, truth)
    assert ledger.counter_implausible > 0 and ledger.counter_resets > 0
    return booked, truth


def test_dlt645_stack_never_overbooks_and_never_decreases():
    _run("esp32-epd42-dlt645", 7, 20000)


def test_modbus_stack_never_overbooks_and_never_decreases():
    _run("esp32-epd75-ddsu666", 1, 6000)
