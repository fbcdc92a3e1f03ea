"""The site network of a virtual board (`sunprint sim board|unit --mqtt HOST:PORT`), as the
unit's code sees it: the `network` module (one station interface, the ESP32 port's status
codes) and `socket.getaddrinfo`, in the board's VM (installed by vboard_agent.py).

The site is the simulator's, not the user's: its access point has the SSID the unit's
config.json names and lets the unit in with whatever password it gives (the simulator does not
know the site's password and never sees it: the unit hands it to WLAN.connect, which keeps
nothing); its name service knows one name, the broker the config names (mqtt_host), and
answers it with the real broker's address from --mqtt. Any other name is not on the site
(OSError, as lwIP's lookup failure). So the unit's files are used as they are: nothing is
written to the flash to point the unit at the broker.

    site = ("site-ssid", "mqtt.site.lan", "127.0.0.1", 18830, b"\\x24\\x6f\\x28\\xa1\\xb2\\xc3")
"""

from host_tools.sim.platform.wlan import (  # noqa: F401 - the network module's names
    AP_IF,
    STA_IF,
    STAT_CONNECT_FAIL,
    STAT_CONNECTING,
    STAT_GOT_IP,
    STAT_IDLE,
    STAT_NO_AP_FOUND,
    STAT_WRONG_PASSWORD,
    AccessPoint,
    Station,
)

_EAI_NONAME = -202  # what the ESP32 port's getaddrinfo raises for a name lwIP cannot resolve

_site = {"host": None, "broker": None}
_AP = AccessPoint(None)  # takes any password: the simulator never sees the site's


def configure(ssid, host, broker_host, broker_port, mac=None):
    """The site: the access point's SSID, the broker's name on it and its real address."""
    _AP.ssid = ssid
    _site["host"] = host
    _site["broker"] = (broker_host, broker_port)
    if mac:
        _AP.mac = bytes(mac)


_STA = Station(_AP)


def WLAN(interface=STA_IF):  # noqa: N802 - the network module's own name
    """The one station interface (the same object each call, as on the ESP32)."""
    return _STA


def getaddrinfo_on_site(real_getaddrinfo):
    """socket.getaddrinfo as the site's name service answers it."""

    def getaddrinfo(host, port, *args):
        broker = _site["broker"]
        if broker is None or host != _site["host"]:
            raise OSError(_EAI_NONAME)
        return real_getaddrinfo(broker[0], broker[1], *args)

    return getaddrinfo
