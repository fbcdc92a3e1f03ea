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

_VERSION = VERSION.encode()
_BUF = const(1024)
_HEAD = const(128)  # room before a payload for the topic and the PUBLISH header
_WIFI_POLL_S = const(1)  # while the link is not up, the app is woken every second

# (key, name, unit, device_class, state_class, value key in the state JSON)
SENSORS = (
    ("power", "Power", "W", "power", "measurement", "power_w"),
    ("lifetime", "Energy total", "kWh", "energy", "total_increasing", "lifetime_kwh"),
    ("today", "Energy today", "kWh", "energy", None, "today_kwh"),
    ("co2", "CO2 avoided", "kg", "weight", "total_increasing", "co2_kg"),
    ("coal", "Coal saved", "kg", "weight", "total_increasing", "coal_kg"),
    ("factor", "Grid CO2 factor", "kg/kWh", None, None, "factor_kg_per_kwh"),
)


def _put(buf, i, b):
    # bytes b into buf at i; the index after them
    for c in b:
        buf[i] = c
        i += 1
    return i


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


_PERIODS = (
    (b',"today_kwh":', TODAY),
    (b',"yesterday_kwh":', YESTERDAY),
    (b',"month_kwh":', MONTH),
    (b',"year_kwh":', YEAR),
)


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
        client.publish(now, self.t_avail, buf, _HEAD, n, True)
        if self.discovery:
            for row in SENSORS:
                topic, payload = self.discovery_config(row)
                p = payload.encode()
                n = _put(buf, _HEAD, p)
                if not client.publish(now, topic.encode(), buf, _HEAD, n, True):
                    return
                p = payload = topic = None
            gc.collect()  # the texts made for discovery: gone before the steady state

    def discovery_config(self, row):
        """(topic, JSON payload) of one sensor's Home Assistant discovery config."""
        key, name, unit, dclass, sclass, field = row
        uid = self.uid
        parts = [
            '"name":"%s"' % name,
            '"unique_id":"%s_%s"' % (uid, key),
            '"object_id":"%s_%s"' % (self.unit_id.replace("-", "_"), key),
            '"state_topic":"%s"' % self.t_state.decode(),
            '"value_template":"{{ value_json.%s }}"' % field,
            '"unit_of_measurement":"%s"' % unit,
            '"availability_topic":"%s"' % self.t_avail.decode(),
        ]
        if dclass:
            parts.append('"device_class":"%s"' % dclass)
        if sclass:
            parts.append('"state_class":"%s"' % sclass)
        if key == "power":
            parts.append('"suggested_display_precision":0')
        device = '"device":{"identifiers":["%s"],"name":"sunprint %s","manufacturer":"sunprint"'
        device = device % (uid, self.unit_id)
        device += ',"model":"solar carbon sign","sw_version":"%s"' % VERSION
        if self.mac:
            m = self.mac
            mac = ":".join([m[i : i + 2] for i in range(0, 12, 2)])
            device += ',"connections":[["mac","%s"]]' % mac
        parts.append(device + "}")
        topic = "homeassistant/sensor/%s_%s/config" % (uid, key)
        return topic, "{" + ",".join(parts) + "}"

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
        app = self.app
        ledger = app.ledger
        hi, lo = ledger.hi, ledger.lo
        i = _put(buf, i, b"{")
        wall = ledger._last_wall  # firmware seconds (since 2000) of the last sample, -1: none
        if wall >= 0:
            # Unix seconds, as two small ints (a 32-bit port's small ints end at 2**30)
            hi_t = wall // 10000 + 94668
            lo_t = wall % 10000 + 4800
            if lo_t >= 10000:
                lo_t -= 10000
                hi_t += 1
            i = _put(buf, i, b'"t":')
            i = _put_uint(buf, i, hi_t)
            i = _put_uint(buf, i, lo_t, 4)
            buf[i] = 44
            i += 1
        i = _put(buf, i, b'"power_w":')
        mw = app.power_mw
        if mw < 0:
            buf[i] = 45
            i += 1
            mw = -mw
        i = _put_uint(buf, i, mw // 1000)
        buf[i] = 46
        i = _put_uint(buf, i + 1, mw % 1000, 3)
        # the periods only while the date is known (the ledger vouches for them); else null,
        # as the sign then shows lifetime with its clock-unknown mark
        vouched = ledger.vouched()
        for key, period in _PERIODS:
            i = _put(buf, i, key)
            if vouched:
                i = _put_fixed(buf, i, hi[ENERGY * 5 + period], lo[ENERGY * 5 + period])
            else:
                i = _put(buf, i, b"null")
        # The ever-increasing totals as the store last made them durable (app.durable): a power
        # cut restores at least that, so they never go backwards on the wire across reboots
        # (Home Assistant takes any decrease of a total_increasing sensor for a meter reset).
        # Without a store nothing survives a reboot: the live values.
        if app.store is not None:
            d = app.durable
            lh, ll, ch, cl, kh, kl = d[0], d[1], d[2], d[3], d[4], d[5]
        else:
            lh, ll = hi[ENERGY * 5 + LIFETIME], lo[ENERGY * 5 + LIFETIME]
            ch, cl = hi[CO2 * 5 + LIFETIME], lo[CO2 * 5 + LIFETIME]
            kh, kl = hi[COAL * 5 + LIFETIME], lo[COAL * 5 + LIFETIME]
        i = _put(buf, i, b',"lifetime_kwh":')
        i = _put_fixed(buf, i, lh, ll)
        i = _put(buf, i, b',"co2_kg":')
        i = _put_fixed(buf, i, ch, cl)
        i = _put(buf, i, b',"coal_kg":')
        i = _put_fixed(buf, i, kh, kl)
        i = _put(buf, i, b',"factor_kg_per_kwh":"')
        i = _put(buf, i, self._factor)
        i = _put(buf, i, b'","factor_source":"')
        i = _put(buf, i, self._source)
        return _put(buf, i, b'"}')

    def format_status(self, buf, i, now):
        """The status JSON into buf from i; the index after it. Allocates nothing."""
        self._texts()
        app = self.app
        i = _put(buf, i, b'{"firmware":"')
        i = _put(buf, i, _VERSION)
        i = _put(buf, i, b'","platform":"')
        i = _put(buf, i, self._platform)
        total = 0
        faults = app.faults
        for k in faults:
            total += faults[k]
        i = _put(buf, i, b'","faults":')
        i = _put_uint(buf, i, total)
        i = _put(buf, i, b',"fault_kinds":{')
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
            i = _put(buf, i, b'":')
            i = _put_uint(buf, i, faults[k])
        buf[i] = 125
        i = _put(buf, i + 1, b',"last_fault":')
        if app.last_fault is not self._fault_src:  # changes with a new fault, not per tick
            self._fault_src = app.last_fault
            self._fault_json = _json_text(app.last_fault)
        i = _put(buf, i, self._fault_json)
        i = _put(buf, i, b',"board":"')
        i = _put(buf, i, self._board)
        i = _put(buf, i, b'","lang":"')
        i = _put(buf, i, self._lang)
        rot = app.rotation
        if rot is not None:  # the screen the sign shows now (its rotation's current one)
            i = _put(buf, i, b'","screen":"')
            i = _put(buf, i, self._ascii(rot.name))
            i = _put(buf, i, b'","screen_lang":"')
            i = _put(buf, i, self._ascii(rot.lang))
        i = _put(buf, i, b'","mqtt_faults":')
        i = _put_uint(buf, i, self.client.faults if self.client is not None else 0)
        i = _put(buf, i, b',"wifi_drops":')
        i = _put_uint(buf, i, self.wifi.drops)
        i = _put(buf, i, b',"free_heap":')
        try:
            i = _put_uint(buf, i, gc.mem_free())  # type: ignore[attr-defined]
        except AttributeError:  # CPython
            i = _put(buf, i, b"null")
        i = _put(buf, i, b',"clock":')
        keeper = app.timekeeper
        src = getattr(keeper, "source", -1) if keeper is not None else -1
        if 0 <= src < len(self._clock_names):
            buf[i] = 34
            i = _put(buf, i + 1, self._clock_names[src])
            buf[i] = 34
            i += 1
        else:
            i = _put(buf, i, b"null")
        i = _put(buf, i, b',"uptime_s":')
        i = _put_uint(buf, i, now - self._started if self._started >= 0 else 0)
        return _put(buf, i, b"}")

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
# are in the fonts: sunprint.ui.layout.all_strings lists these for host_tools/fonts.py.
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


def start(app, network, config, flash, board="", lang="both"):
    """The Net of a config with wifi_ssid set, hooked into the app (app.net), or None.
    board, lang: the profile's name and the sign's language, published in status."""
    if not config["wifi_ssid"]:
        return None
    net = Net(app, network, config, flash, board=board, lang=lang)
    app.net = net
    return net
