"""A stand-in for MicroPython's `network` module (the unix port has sockets but no `network`):
one station interface whose access point the test controls.

    import network
    network.AP.ssid, network.AP.password = "site", "pw"   # the access point in range
    network.AP.delay = 2        # status() polls before a connect() completes
    network.AP.up = False       # out of range (NO_AP_FOUND), or the link drops when up
    network.reset()

Status codes as the ESP32 port's. A wrong password gives STAT_WRONG_PASSWORD after the delay.
connect() never blocks, as on the ESP32 (it starts the association). The passwords handed to
connect() are only compared. The station is the simulator's (host_tools/sim/platform/wlan.py,
which the virtual board's site network uses too).
"""

from host_tools.sim.platform.wlan import *  # noqa: F403 - the network module's names
from host_tools.sim.platform.wlan import STA_IF, AccessPoint, Station

# the test's access point: ssid, password, rssi, ifconfig, mac (up, delay and connects: reset)
_SITE = (
    "site",
    "pw",
    -70,
    ("127.0.0.1", "255.0.0.0", "127.0.0.1", "127.0.0.1"),
    b"\x24\x6f\x28\xa1\xb2\xc3",
)
AP = AccessPoint(*_SITE)
_STA = Station(AP)


def WLAN(interface=STA_IF):  # noqa: N802 - the module's own name
    """The one station interface (the same object each call, as on the ESP32)."""
    return _STA


def reset():
    """A fresh radio and access point (a test's start, a unit's power cut)."""
    AP.__init__(*_SITE)
    _STA.__init__(AP)
