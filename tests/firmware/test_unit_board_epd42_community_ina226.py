# The whole community unit with a local string beside the bus (esp32-epd42-community-ina226:
# the five homes' DL/T 645 meters and the community centre's own string on an INA226): its
# power is integrated into a register of its own and summed with the homes'; the status lists
# it as "local". The run of test_unit_board_epd42_community.py (a VM of its own: the unit's
# 15 KB frame buffer wants an unfragmented heap). CPython and MicroPython.
# micropython-heap: 110000 (an ESP32 without PSRAM: the panel, meter and INA226 models and the
# flash run on the host, host_tools/sim/board/modellink.py)
# micropython-vm: app (the deployed form: the app frozen into the 32-bit binary)
from repo import ROOT
from test_unit_board_epd42_community import run_day

BOARD_INA = ROOT + "/boards/esp32-epd42-community-ina226.json"


def test_a_local_string_beside_the_bus_is_summed_with_the_homes():
    run_day(BOARD_INA, 0.15)  # 15 % of home 1's 3 kWp: a 450 W string
