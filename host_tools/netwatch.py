"""`--mqtt HOST:PORT` for `sunprint replay`: the replayed unit publishes to a broker as a unit
with Wi-Fi and MQTT on would (firmware/sunprint/net), so a technician can watch it in Home
Assistant or `mosquitto_sub -t 'sunprint/#' -v`. The unit's own Net runs in the unit's app
tick; the network interface is a host stand-in that is always up (the host's own sockets).
A power cut in a scenario rebuilds the unit: its Net is built again on the flash that
survived (the kept lifetime goes along).
"""

import time

from host_tools.errors import UserError

_PACE_MS = 2000  # at most this long waiting for the broker after a row (a replay is fast)


def parse_mqtt(text):
    """'HOST:PORT' -> (host, port); UserError naming --mqtt otherwise."""
    host, sep, port = (text or "").rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise UserError("--mqtt: expected HOST:PORT (port 1..65535), got %r" % text)
    return host, int(port)


class _Link:
    def active(self, on=None):
        return True if on is None else None

    def isconnected(self):
        return True

    def status(self, what=None):
        return 1010

    def connect(self, ssid, password):
        pass

    def disconnect(self):
        pass

    def config(self, key):
        raise ValueError("no MAC on the host")  # the unit id names the device


class HostNetwork:
    """What the unit's `network` module gives Net: a station that is always connected."""

    STA_IF = 0

    def __init__(self):
        self._link = _Link()

    def WLAN(self, interface=0):  # noqa: N802 - the network module's name
        return self._link


class Watch:
    def __init__(self, core, host, port, cfg):
        self.core = core
        self.cfg = dict(cfg)
        self.cfg.update(wifi_ssid="host", mqtt_host=host, mqtt_port=port)
        self.network = HostNetwork()
        self.net = None
        self._app = None
        self.published = 0
        self.faults = 0

    def after_feed(self, t_unix):
        """Call after each core.feed: (re)attach the Net, give the broker time to answer."""
        from sunprint.compat import EPOCH_2000_UNIX
        from sunprint.net import mqtt
        from sunprint.net.publish import start

        unit = self.core.unit
        app = unit.app if unit is not None else None
        if app is None:
            return
        if app is not self._app:
            self._count()
            self._app = app
            self.net = start(app, self.network, self.cfg, self.core.fs)
        net = self.net
        if net is None or net.client is None:
            return
        now = t_unix - EPOCH_2000_UNIX
        end = time.monotonic() + _PACE_MS / 1000
        while net.client.state in (mqtt.TCP, mqtt.CONNACK) and time.monotonic() < end:
            time.sleep(0.005)
            net.tick(now)
        if net.client.state == mqtt.UP and net.published == 0:
            net.tick(now)  # connected: the first state goes at once

    def _count(self):
        net = self.net
        if net is not None:
            self.published += net.published
            self.faults += net.client.faults if net.client is not None else 0
            if net.client is not None:
                net.client.disconnect()

    def close(self):
        """(state messages published, MQTT faults) over the whole replay."""
        self._count()
        self.net = None
        return self.published, self.faults
