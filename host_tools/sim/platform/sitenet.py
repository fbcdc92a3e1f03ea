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

STA_IF = 0
AP_IF = 1
STAT_IDLE = 1000
STAT_CONNECTING = 1001
STAT_GOT_IP = 1010
STAT_NO_AP_FOUND = 201
STAT_WRONG_PASSWORD = 202
STAT_CONNECT_FAIL = 203
_EAI_NONAME = -202  # what the ESP32 port's getaddrinfo raises for a name lwIP cannot resolve

_site = {"ssid": None, "host": None, "broker": None, "mac": b"\x24\x6f\x28\x00\x00\x01"}


def configure(ssid, host, broker_host, broker_port, mac=None):
    """The site: the access point's SSID, the broker's name on it and its real address."""
    _site["ssid"] = ssid
    _site["host"] = host
    _site["broker"] = (broker_host, broker_port)
    if mac:
        _site["mac"] = bytes(mac)


class _WLAN:
    def __init__(self):
        self._active = False
        self._status = STAT_IDLE
        self._polls = 0
        self._ssid = None

    def active(self, on=None):
        if on is None:
            return self._active
        self._active = bool(on)
        if not on:
            self._status = STAT_IDLE
        return None

    def connect(self, ssid, password=None):
        # the password is not kept: the simulated access point takes any
        if not self._active:
            raise OSError("STA must be active")
        self._status = STAT_CONNECTING
        self._polls = 0
        self._ssid = ssid

    def disconnect(self):
        self._status = STAT_IDLE

    def _settle(self):
        if self._status == STAT_CONNECTING:
            self._polls += 1
            if self._polls > 1:  # associated after one poll: connect() itself never waits
                ok = self._ssid == _site["ssid"]
                self._status = STAT_GOT_IP if ok else STAT_NO_AP_FOUND

    def status(self, what=None):
        if what == "rssi":
            return -60
        if what is not None:
            raise ValueError("unknown status param")
        self._settle()
        return self._status

    def isconnected(self):
        self._settle()
        return self._status == STAT_GOT_IP

    def ifconfig(self):
        return ("192.168.4.20", "255.255.255.0", "192.168.4.1", "192.168.4.1")

    def config(self, key):
        if key == "mac":
            return _site["mac"]
        if key == "ssid":
            return self._ssid or ""
        raise ValueError("unknown config param")


_STA = _WLAN()


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
