"""A stand-in for MicroPython's `network` module (the unix port has sockets but no `network`):
one station interface whose access point the test controls.

    import network
    network.AP.ssid, network.AP.password = "site", "pw"   # the access point in range
    network.AP.delay = 2        # status() polls before a connect() completes
    network.AP.up = False       # out of range (NO_AP_FOUND), or the link drops when up
    network.AP.reset()

Status codes as the ESP32 port's. A wrong password gives STAT_WRONG_PASSWORD after the delay.
connect() never blocks, as on the ESP32 (it starts the association). The passwords handed to
connect() are kept only to compare.
"""

STA_IF = 0
AP_IF = 1
STAT_IDLE = 1000
STAT_CONNECTING = 1001
STAT_GOT_IP = 1010
STAT_NO_AP_FOUND = 201
STAT_WRONG_PASSWORD = 202
STAT_CONNECT_FAIL = 203


class _AP:
    def reset(self):
        self.ssid = "site"
        self.password = "pw"
        self.up = True
        self.delay = 1
        self.connects = 0  # connect() calls seen


AP = _AP()
AP.reset()


class _WLAN:
    def __init__(self):
        self._active = False
        self._status = STAT_IDLE
        self._polls = 0
        self._ok = False
        self._ssid = None

    def active(self, on=None):
        if on is None:
            return self._active
        self._active = bool(on)
        if not on:
            self._status = STAT_IDLE
        return None

    def connect(self, ssid, password):
        if not self._active:
            raise OSError("STA must be active")
        AP.connects += 1
        self._status = STAT_CONNECTING
        self._polls = 0
        self._ok = ssid == AP.ssid and password == AP.password
        self._ssid = ssid

    def disconnect(self):
        self._status = STAT_IDLE

    def _settle(self):
        if self._status == STAT_CONNECTING:
            self._polls += 1
            if self._polls > AP.delay:
                if not AP.up or self._ssid != AP.ssid:
                    self._status = STAT_NO_AP_FOUND
                elif not self._ok:
                    self._status = STAT_WRONG_PASSWORD
                else:
                    self._status = STAT_GOT_IP
        elif self._status == STAT_GOT_IP and not AP.up:
            self._status = STAT_IDLE  # the link dropped (beacon timeout)

    def status(self, what=None):
        if what is not None:
            return -70
        self._settle()
        return self._status

    def isconnected(self):
        self._settle()
        return self._status == STAT_GOT_IP

    def ifconfig(self):
        return ("127.0.0.1", "255.0.0.0", "127.0.0.1", "127.0.0.1")

    def config(self, key):
        if key == "mac":
            return b"\x24\x6f\x28\xa1\xb2\xc3"
        raise ValueError("unknown config param")


_STA = _WLAN()


def WLAN(interface=STA_IF):  # noqa: N802 - the module's own name
    """The one station interface (the same object each call, as on the ESP32)."""
    return _STA


def reset():
    """A fresh radio and access point (a test's start, a unit's power cut)."""
    AP.reset()
    _STA.__init__()
