"""The unit on MQTT: Wi-Fi (wifi.py), the client (mqtt.py) and what it publishes.

Topics, under <prefix>/<unit_id>/ (config.json mqtt_prefix, default "sunprint"):

  state         retained, every mqtt_period_s and at once after each connect: JSON
                {"t": Unix seconds of the last sample (left out before the first),
                "power_w": 1234.567, "today_kwh": "1.234567", "yesterday_kwh": ...,
                "month_kwh", "year_kwh", "lifetime_kwh", "co2_kg", "coal_kg",
                "factor_kg_per_kwh": "0.5306", "factor_source": "CN 2023: ..."}. Energies and
                masses are exact decimal strings of the ledger's integer mWh and mg (6 decimals).
                While the date is unknown (the ledger holds energy for the periods) today,
                yesterday, month and year are null: the sign then shows lifetime only.
  status        retained, with each state: {"firmware", "platform", "faults" (all kinds),
                "fault_kinds" ({kind: count}), "last_fault" (text or null), "board" (the
                profile's name), "lang" (zh, en or both), "screen" and "screen_lang" (what
                the sign shows now), "mqtt_faults", "wifi_drops", "free_heap", "clock" (the time source or null),
                "uptime_s"}
  availability  retained "online" after each connect; the broker's last will is "offline".

Home Assistant discovery (config.json mqtt_discovery, default on), retained, after each
connect: homeassistant/sensor/<uid>_<key>/config for power (W, device_class power,
state_class measurement), lifetime energy (kWh, energy, total_increasing: the Energy
dashboard's source), energy today (kWh, energy, no state_class: a period sum that HA would
otherwise book as a meter reset every midnight; HA derives days, months and years from the
lifetime sensor itself), CO2 and coal avoided (kg, weight, total_increasing) and the grid
factor. One device per unit, uid = "sunprint_" + the Wi-Fi MAC (unit_id when the port has
none): stable across reflashes.

Lifetime, CO2 and coal never go backwards on the wire: they are published as the store last
made them durable (App.durable, set at each record or journal entry and at restore), which a
power cut cannot take back; they lag the live ledger by at most what the store has not yet
saved (persist_wh). No file of the publisher's own: no flash writes beyond the store's.

Steady state: state and status are formatted into one preallocated bytearray (no str is
built); the client sends from it. Connect-time work (CONNECT, discovery) may allocate.
"""

import gc

from sunprint import VERSION
from sunprint.compat import const
from sunprint.core.ledger import CO2, COAL, ENERGY, LIFETIME, MONTH, TODAY, YEAR, YESTERDAY
from sunprint.net import mqtt, wifi
from sunprint.net.putbytes import put as _put

_VERSION = VERSION.encode()
_BUF = const(1024)
_HEAD = const(128)  # room before a payload for the topic and the PUBLISH header
_WIFI_POLL_S = const(1)  # while the link is not up, the app is woken every second


def _put_uint(buf, i, n, width=1):
    # the decimal digits of n >= 0 (a small int), at least width of them
    d = 1
    w = 1
    while d * 10 <= n:
        d *= 10
        w += 1
    while w < width:
        buf[i] = 48
        i += 1
        w += 1
    while d:
        buf[i] = 48 + n // d % 10
        i += 1
        d //= 10
    return i


def _put_fixed(buf, i, hi, lo):
    # "hi.llllll": a total of hi units and lo millionths, as a JSON string
    buf[i] = 34
    i = _put_uint(buf, i + 1, hi)
    buf[i] = 46
    i = _put_uint(buf, i + 1, lo, 6)
    buf[i] = 34
    return i + 1


def _json_text(text, limit=192):
    """A str (or None) as a JSON string's bytes, cut to at most `limit` bytes (a fault's text:
    the status payload shares one buffer)."""
    if text is None:
        return b"null"
    out = bytearray(b'"')
    for c in text:
        if len(out) > limit - 8:  # room for the longest escape and the closing quote
            break
        n = ord(c)
        if c == '"' or c == "\\":
            out += b"\\" + c.encode()
        elif n < 32:
            out += b"\\u%04x" % n
        else:
            out += c.encode()
    out += b'"'
    return bytes(out)


# The state and status JSON as templates: one bytes constant each (on a unit that imports the
# app from ROMFS or .mpy every constant is an object on the heap: one template costs what one
# key would). Bytes below 0x10 are fields, filled by Net._state_field / _status_field.
_STATE = (
    b'{\x01"power_w":\x02,"today_kwh":\x03,"yesterday_kwh":\x04,"month_kwh":\x05'
    b',"year_kwh":\x06,"lifetime_kwh":\x07,"co2_kg":\x08,"coal_kg":\x09'
    b',"factor_kg_per_kwh":"\x0a","factor_source":"\x0b"}'
)
_STATUS = (
    b'{"firmware":"\x01","platform":"\x02","faults":\x03,"fault_kinds":{\x04}'
    b',"last_fault":\x05,"board":"\x06","lang":"\x07\x08","mqtt_faults":\x09'
    b',"wifi_drops":\x0a,"free_heap":\x0b,"clock":\x0c,"uptime_s":\x0d}'
)
_FIELD = const(16)  # template bytes below this are fields
_PERIODS = (TODAY, YESTERDAY, MONTH, YEAR)  # the state's fields 3..6
_TOTALS = (ENERGY * 5 + LIFETIME, CO2 * 5 + LIFETIME, COAL * 5 + LIFETIME)  # 7..9, live


class Net:
    def __init__(self, app, network, config, flash, *, clock_now=None, board="", lang="both"):
        self.app = app
        self._board = board.encode()  # the profile's name: [a-z0-9-], no JSON escaping
        self._lang = lang.encode()  # the sign's language setting: zh, en or both
        self._kinds = {}  # fault kind -> its name as bytes (made once per kind)
        self._fault_src = None  # app.last_fault as last escaped, and its JSON bytes
        self._fault_json = b"null"
        self.wifi = wifi.Wifi(network, config["wifi_ssid"], config["wifi_password"])
        unit = config["unit_id"]
        self.unit_id = unit
        self.period_s = config["mqtt_period_s"]
        self.discovery = config["mqtt_discovery"]
        mac = self.wifi.mac()
        self.mac = mac
        self.uid = "sunprint_" + (mac if mac else unit)
        base = "%s/%s/" % (config["mqtt_prefix"], unit)
        self.base = base
        self.t_state = (base + "state").encode()
        self.t_status = (base + "status").encode()
        self.t_avail = (base + "availability").encode()
        self.client = None
        if config["mqtt_host"]:
            self.client = mqtt.Client(
                self.uid,
                config["mqtt_host"],
                config["mqtt_port"],
                config["mqtt_user"],
                config["mqtt_password"],
                will_topic=self.t_avail,
            )
        self.buf = bytearray(_BUF)
        self.published = 0  # state messages sent
        self.first_publish_s = -1  # seconds from Wi-Fi up to the first state publish
        self.wake = 0
        self._next_pub = 0
        self._was_up = False
        self._faults_seen = 0
        self._started = -1
        self._source_row = None
        self._source = b""
        self._factor = b""
        self._clock_names = ()
        self._platform = b""

    # --- the tick ---

    def tick(self, now):
        """Poll Wi-Fi and the broker, publish when due. Never raises; returns nothing (the
        app reads self.wake: when this wants the next tick)."""
        try:
            self._tick(now)
        except Exception as e:  # noqa: BLE001 - the network never stops the sign
            self.app.fault("net", e)
            self.wake = now + 1

    def _tick(self, now):
        if self._started < 0:
            self._started = now
        up = self.wifi.tick(now)
        client = self.client
        if not up or client is None:
            if client is not None and client.state != mqtt.IDLE:
                client.drop()  # the link is gone: start again when it is back
            self._was_up = False
            w = self.wifi
            if w.state == wifi.CONNECTING:
                self.wake = now + _WIFI_POLL_S
            elif w.state == wifi.OFF:
                self.wake = now + 3600
            else:  # waiting out the backoff: no need to wake before the next try
                self.wake = max(now + _WIFI_POLL_S, w.next_try)
            return
        connected = client.tick(now)
        if client.faults != self._faults_seen:
            self._faults_seen = client.faults
            self.app.fault("mqtt", client.last_error)
        if not connected:
            self._was_up = False
            self.wake = now + 1
            return
        if not self._was_up:  # a new connection: announce, then publish at once
            self._was_up = True
            self._announce(now)
            self._next_pub = now
        if now >= self._next_pub:
            self._next_pub = now + self.period_s
            if self.publish_state(now) and self.first_publish_s < 0:
                self.first_publish_s = now - self.wifi.up_since
        self.wake = self._next_pub

    # --- what is published ---

    def _announce(self, now):
        client, buf = self.client, self.buf
        if client is None:
            return
        n = _put(buf, _HEAD, b"online")
        if not client.publish(now, self.t_avail, buf, _HEAD, n, True) or not self.discovery:
            return
        # Discovery is connect-time only: its module leaves the heap once sent (as main.py's
        # boot-only modules do), with what it made.
        from sunprint.net import discovery

        discovery.announce(self, now, _HEAD)
        discovery = None
        _leave("sunprint.net", "discovery")

    def _ascii(self, name):
        # a screen or language name as bytes, made once per name (the names are few)
        b = self._kinds.get(name)
        if b is None:
            b = self._kinds[name] = name.encode()
        return b

    def publish_state(self, now):
        """Format and send state and status; True when state was sent."""
        client = self.client
        if client is None:
            return False
        buf = self.buf
        n = self.format_state(buf, _HEAD)
        if not client.publish(now, self.t_state, buf, _HEAD, n, True):
            return False
        self.published += 1
        n = self.format_status(buf, _HEAD, now)
        client.publish(now, self.t_status, buf, _HEAD, n, True)
        return True

    def _texts(self):
        # the factor and its source as bytes: made again only when the app's row changes
        row = self.app.carbon_row
        if row is not self._source_row:
            self._source_row = row
            self._source = ("%s %s: %s" % (row[0], row[1], row[3])).replace('"', "'").encode()
            dg = row[2]  # 0.1 g per kWh
            self._factor = ("%d.%04d" % (dg // 10000, dg % 10000)).encode()
            import sys

            v = sys.implementation.version
            self._platform = ("%s %d.%d.%d" % (sys.implementation.name, v[0], v[1], v[2])).encode()
            keeper = self.app.timekeeper
            names = getattr(keeper, "names", ()) if keeper is not None else ()
            self._clock_names = tuple([nm.encode() for nm in names])

    def format_state(self, buf, i):
        """The state JSON into buf from i; the index after it. Allocates nothing."""
        self._texts()
        for c in _STATE:
            if c < _FIELD:
                i = self._state_field(c, buf, i)
            else:
                buf[i] = c
                i += 1
        return i

    def _state_field(self, c, buf, i):
        app = self.app
        ledger = app.ledger
        if c == 1:  # "t": Unix seconds of the last sample, left out before the first
            wall = ledger.last_wall  # firmware seconds (since 2000), -1: none
            if wall < 0:
                return i
            # as two small ints (a 32-bit port's small ints end at 2**30)
            hi_t = wall // 10000 + 94668
            lo_t = wall % 10000 + 4800
            if lo_t >= 10000:
                lo_t -= 10000
                hi_t += 1
            i = _put(buf, i, b'"t":')
            i = _put_uint(buf, i, hi_t)
            i = _put_uint(buf, i, lo_t, 4)
            buf[i] = 44
            return i + 1
        if c == 2:  # power, W with three decimals from integer mW
            mw = app.power_mw
            if mw < 0:
                buf[i] = 45
                i += 1
                mw = -mw
            i = _put_uint(buf, i, mw // 1000)
            buf[i] = 46
            return _put_uint(buf, i + 1, mw % 1000, 3)
        hi, lo = ledger.hi, ledger.lo
        if c <= 6:
            # the periods only while the date is known (the ledger vouches for them); else
            # null, as the sign then shows lifetime with its clock-unknown mark
            if not ledger.vouched():
                return _put(buf, i, b"null")
            k = ENERGY * 5 + _PERIODS[c - 3]
            return _put_fixed(buf, i, hi[k], lo[k])
        if c <= 9:
            # The ever-increasing totals as the store last made them durable (app.durable): a
            # power cut restores at least that, so they never go backwards on the wire across
            # reboots (Home Assistant takes any decrease of a total_increasing sensor for a
            # meter reset). Without a store nothing survives a reboot: the live values.
            if app.store is not None:
                k = (c - 7) * 2
                return _put_fixed(buf, i, app.durable[k], app.durable[k + 1])
            k = _TOTALS[c - 7]
            return _put_fixed(buf, i, hi[k], lo[k])
        return _put(buf, i, self._factor if c == 10 else self._source)

    def format_status(self, buf, i, now):
        """The status JSON into buf from i; the index after it. Allocates nothing."""
        self._texts()
        for c in _STATUS:
            if c < _FIELD:
                i = self._status_field(c, buf, i, now)
            else:
                buf[i] = c
                i += 1
        return i

    def _status_field(self, c, buf, i, now):
        app = self.app
        faults = app.faults
        if c == 1:
            return _put(buf, i, _VERSION)
        if c == 2:
            return _put(buf, i, self._platform)
        if c == 3:  # faults of every kind
            total = 0
            for k in faults:
                total += faults[k]
            return _put_uint(buf, i, total)
        if c == 4:  # {kind: count}
            kinds = self._kinds
            first = True
            for k in faults:
                name = kinds.get(k)
                if name is None:  # a kind never seen before: its bytes once
                    name = kinds[k] = k.encode()
                if not first:
                    buf[i] = 44
                    i += 1
                first = False
                buf[i] = 34
                i = _put(buf, i + 1, name)
                buf[i] = 34
                buf[i + 1] = 58
                i = _put_uint(buf, i + 2, faults[k])
            return i
        if c == 5:
            if app.last_fault is not self._fault_src:  # changes with a new fault, not per tick
                self._fault_src = app.last_fault
                self._fault_json = _json_text(app.last_fault)
            return _put(buf, i, self._fault_json)
        if c == 6:
            return _put(buf, i, self._board)
        if c == 7:
            return _put(buf, i, self._lang)
        if c == 8:  # the screen the sign shows now (its rotation's current one)
            rot = app.rotation
            if rot is None:
                return i
            i = _put(buf, i, b'","screen":"')
            i = _put(buf, i, self._ascii(rot.name))
            i = _put(buf, i, b'","screen_lang":"')
            return _put(buf, i, self._ascii(rot.lang))
        if c == 9:
            return _put_uint(buf, i, self.client.faults if self.client is not None else 0)
        if c == 10:
            return _put_uint(buf, i, self.wifi.drops)
        if c == 11:
            try:
                return _put_uint(buf, i, gc.mem_free())  # type: ignore[attr-defined]
            except AttributeError:  # CPython
                return _put(buf, i, b"null")
        if c == 12:  # the time source's name or null
            keeper = app.timekeeper
            src = getattr(keeper, "source", -1) if keeper is not None else -1
            if 0 <= src < len(self._clock_names):
                buf[i] = 34
                i = _put(buf, i + 1, self._clock_names[src])
                buf[i] = 34
                return i + 1
            return _put(buf, i, b"null")
        return _put_uint(buf, i, now - self._started if self._started >= 0 else 0)

    def status(self):
        """The status JSON's "net": link states and counters (never the credentials)."""
        c = self.client
        return {
            "wifi": self.wifi.state_name,
            "ssid": self.wifi.ssid,
            "wifi_drops": self.wifi.drops,
            "mqtt": c.state_name if c is not None else "off",
            "mqtt_faults": c.faults if c is not None else 0,
            "mqtt_error": c.last_error if c is not None else None,
            "published": self.published,
            "topic": self.base,
        }

    def screen_text(self):
        """The status screen's link text (LINK_TEXTS)."""
        w = self.wifi.state
        if w == wifi.UP:
            c = self.client
            if c is None:
                return LINK_WIFI_OK
            return LINK_MQTT_OK if c.state == mqtt.UP else LINK_MQTT_DOWN
        return LINK_TEXTS[w]


# The status screen's link text, (English, Chinese) as the screens' other fields: short (the
# 2.9" has room for about 8 characters beside the sensor row); "WiFi" and "MQTT" are written so
# in Chinese too. By wifi state (wifi.STATE_NAMES), then MQTT's once Wi-Fi is up. The glyphs
# are in the fonts: host_tools/fonts.py (sign_chars) adds these to the glyph sets.
LINK_WIFI_OK = const(("WiFi ok", "WiFi已连"))
LINK_MQTT_OK = const(("MQTT ok", "MQTT已连"))
LINK_MQTT_DOWN = const(("MQTT --", "MQTT断开"))
LINK_TEXTS = (
    "",  # off: no link text (Net exists only with wifi_ssid set)
    ("WiFi ..", "WiFi连接中"),
    LINK_WIFI_OK,
    ("WiFi pw?", "WiFi密码错"),  # the access point refused the password
    ("WiFi AP?", "WiFi无热点"),  # no access point with that SSID
    ("WiFi --", "WiFi断开"),
    LINK_MQTT_OK,
    LINK_MQTT_DOWN,
)


def _leave(package, leaf):
    # drop module package.leaf from sys.modules and its package, then collect
    import sys

    sys.modules.pop(package + "." + leaf, None)
    parent = sys.modules.get(package)
    if parent is not None:
        try:
            delattr(parent, leaf)
        except (AttributeError, KeyError):  # MicroPython: KeyError
            pass
    gc.collect()


def start(app, network, config, flash, board="", lang="both"):
    """The Net of a config with wifi_ssid set, hooked into the app (app.net), or None.
    board, lang: the profile's name and the sign's language, published in status."""
    if not config["wifi_ssid"]:
        return None
    net = Net(app, network, config, flash, board=board, lang=lang)
    app.net = net
    return net
