"""Wi-Fi station: connect, reconnect with backoff, never block the tick.

tick(now) is called from the app's tick: it reads isconnected() and status() (a few
microseconds each) and, when a try is due, calls connect(), which on the ESP32 only starts the
association and returns. No loop waits for the link. Link states (state, STATE_NAMES):

  OFF          no SSID configured (Wi-Fi off, the radio never started)
  CONNECTING   connect() issued, waiting for the access point and an address
  UP           connected, with an address
  BAD_PASSWORD the access point refused the password (shown on the status screen)
  NO_AP        no access point with that SSID answered
  DOWN         any other failure, or a link that dropped: a retry after the backoff

The password is held in one attribute and handed to WLAN.connect only: never formatted,
printed or put in status.
"""

from sunprint.compat import const

OFF = const(0)
CONNECTING = const(1)
UP = const(2)
BAD_PASSWORD = const(3)
NO_AP = const(4)
DOWN = const(5)
STATE_NAMES = ("off", "connecting", "up", "bad password", "no access point", "down")

_CONNECT_TIMEOUT_S = const(30)  # a try that has neither succeeded nor failed by then: failed
_BACKOFF_MIN_S = const(2)
_BACKOFF_MAX_S = const(300)


class Wifi:
    def __init__(self, network, ssid, password):
        self._network = network
        self.ssid = ssid
        self._password = password
        self.state = OFF if not ssid else DOWN
        self.wlan = None
        self.ups = 0  # how many times the link came up
        self.drops = 0  # how many times an up link went down
        self.failures = 0  # connect tries that failed
        self.up_since = -1  # monotonic second the link last came up
        self.next_try = 0  # monotonic second of the next connect() when not up
        self._backoff = _BACKOFF_MIN_S
        self._started = 0
        n = network
        self._wrong = getattr(n, "STAT_WRONG_PASSWORD", -3)
        self._no_ap = getattr(n, "STAT_NO_AP_FOUND", -2)
        self._fail = getattr(n, "STAT_CONNECT_FAIL", -1)

    def mac(self):
        """The station MAC, 12 lower-case hex digits ("" when the port has none)."""
        wlan = self._wlan()
        try:
            raw = wlan.config("mac")
        except (AttributeError, OSError, ValueError):
            return ""
        return "".join(["%02x" % b for b in raw])

    def _wlan(self):
        wlan = self.wlan
        if wlan is None:
            net = self._network
            wlan = net.WLAN(net.STA_IF)
            wlan.active(True)
            self.wlan = wlan
        return wlan

    def tick(self, now):
        """Poll the link at monotonic second now; True when it is up."""
        if self.state == OFF:
            return False
        wlan = self._wlan()
        if wlan.isconnected():
            if self.state != UP:
                self.state = UP
                self.ups += 1
                self.up_since = now
                self._backoff = _BACKOFF_MIN_S
            return True
        state = self.state
        if state == UP:  # dropped: try again at once
            self.drops += 1
            self.state = DOWN
            self.next_try = now
        elif state == CONNECTING:
            st = wlan.status()
            if st == self._wrong:
                self._failed(now, BAD_PASSWORD)
            elif st == self._no_ap:
                self._failed(now, NO_AP)
            elif st == self._fail or now - self._started >= _CONNECT_TIMEOUT_S:
                self._failed(now, DOWN)
            return False
        if now >= self.next_try:
            try:
                wlan.connect(self.ssid, self._password)
            except OSError:
                self._failed(now, DOWN)
                return False
            self.state = CONNECTING
            self._started = now
        return False

    def _failed(self, now, state):
        self.failures += 1
        self.state = state
        self.next_try = now + self._backoff
        self._backoff = min(self._backoff * 2, _BACKOFF_MAX_S)
        wlan = self.wlan
        try:
            if wlan is not None:
                wlan.disconnect()  # stop the driver's own retries: ours have a backoff
        except OSError:
            pass

    @property
    def state_name(self):
        return STATE_NAMES[self.state]
