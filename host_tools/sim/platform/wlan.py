# The ESP32 port's `network` station interface, simulated: one WLAN that associates with an
# AccessPoint the simulation sets up. Shared by the virtual board's site network (sitenet.py)
# and the firmware tests' `network` stand-in (tests/firmware/network.py). Status codes as the
# ESP32 port's. connect() never blocks, as on the ESP32 (it starts the association); status()
# polls complete it. Portable Python: CPython and MicroPython.

STA_IF = 0
AP_IF = 1
STAT_IDLE = 1000
STAT_CONNECTING = 1001
STAT_GOT_IP = 1010
STAT_NO_AP_FOUND = 201
STAT_WRONG_PASSWORD = 202
STAT_CONNECT_FAIL = 203


class AccessPoint:
    """The access point in range: ssid; password (None: it takes any, and keeps none); up
    (False: out of range, or the link drops); delay (status() polls before a connect()
    completes); what the station reports (rssi, ifconfig, mac); connects (connect() calls)."""

    def __init__(self, ssid, password=None, rssi=-60, ifconfig=None, mac=b"\x24\x6f\x28\0\0\1"):
        self.ssid = ssid
        self.password = password
        self.up = True
        self.delay = 1
        self.connects = 0
        self.rssi = rssi
        self.ifconfig = ifconfig or ("192.168.4.20", "255.255.255.0", "192.168.4.1", "192.168.4.1")
        self.mac = mac


class Station:
    def __init__(self, ap):
        self.ap = ap
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

    def connect(self, ssid, password=None):
        if not self._active:
            raise OSError("STA must be active")
        ap = self.ap
        ap.connects += 1
        self._status = STAT_CONNECTING
        self._polls = 0
        # the password is compared, not kept (an access point that takes any sees none)
        self._ok = ap.password is None or password == ap.password
        self._ssid = ssid

    def disconnect(self):
        self._status = STAT_IDLE

    def _settle(self):
        ap = self.ap
        if self._status == STAT_CONNECTING:
            self._polls += 1
            if self._polls > ap.delay:
                if not ap.up or self._ssid != ap.ssid:
                    self._status = STAT_NO_AP_FOUND
                elif not self._ok:
                    self._status = STAT_WRONG_PASSWORD
                else:
                    self._status = STAT_GOT_IP
        elif self._status == STAT_GOT_IP and not ap.up:
            self._status = STAT_IDLE  # the link dropped (beacon timeout)

    def status(self, what=None):
        if what == "rssi":
            return self.ap.rssi
        if what is not None:
            raise ValueError("unknown status param")
        self._settle()
        return self._status

    def isconnected(self):
        self._settle()
        return self._status == STAT_GOT_IP

    def ifconfig(self):
        return self.ap.ifconfig

    def config(self, key):
        if key == "mac":
            return self.ap.mac
        if key == "ssid":
            return self._ssid or ""
        raise ValueError("unknown config param")
