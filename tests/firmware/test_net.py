# The network side (sunprint/net): Wi-Fi manager on the simulated network.WLAN
# (tests/firmware/network.py), the MQTT client against a closed port, the publisher's exact
# formatting, its lifetime that never goes backwards, and that no password shows anywhere.
# CPython and MicroPython (a real broker: tests/host/test_mqtt_broker.py).
import json

import network
from app_rig import make_app

from sunprint.core.ledger import Ledger
from sunprint.net import mqtt, wifi
from sunprint.net.publish import Net
from sunprint.status import status
from sunprint.ui.status import status_values

WIFI_PW = "wifi-Pa55-secret"
MQTT_PW = "mqtt-Pa55-secret"
T0 = 782179200  # 2024-10-15 00:00 UTC, firmware time


def _cfg(**kw):
    # the network keys of a parsed config.json (tests/firmware/test_net_config.py)
    d = {
        "unit_id": "sp-a1b2c3",
        "wifi_ssid": "site",
        "wifi_password": WIFI_PW,
        "mqtt_host": "127.0.0.1",
        "mqtt_port": 1,
        "mqtt_user": "sign",
        "mqtt_password": MQTT_PW,
        "mqtt_period_s": 60,
        "mqtt_prefix": "sunprint",
        "mqtt_discovery": True,
    }
    d.update(kw)
    return d


class OsFs:
    # the flash as store.OsFs has it, in the current folder (that module is 6 KB of heap)
    def __init__(self, root=""):
        pass

    def open(self, path, mode):
        return open(path, mode)

    def exists(self, path):
        import os

        try:
            os.stat(path)
        except OSError:
            return False
        return True


def test_wifi_connects_without_blocking_and_reconnects_with_backoff():
    network.reset()
    network.AP.delay = 2
    w = wifi.Wifi(network, "site", "pw")
    assert w.mac() == "246f28a1b2c3"
    assert not w.tick(0) and w.state == wifi.CONNECTING
    ups = [w.tick(t) for t in range(1, 5)]
    assert ups[-1] and w.state == wifi.UP and w.ups == 1
    network.AP.up = False  # out of range
    assert not w.tick(10) and w.drops == 1 and w.state == wifi.CONNECTING
    t = 11
    while w.state == wifi.CONNECTING:
        w.tick(t)
        t += 1
    assert w.state == wifi.NO_AP
    tries = network.AP.connects
    for t2 in range(t, t + 40):  # backoff: 2, 4, 8, 16 s ... not a try each tick
        w.tick(t2)
    assert network.AP.connects - tries < 8
    network.AP.up = True
    for t3 in range(t + 40, t + 400):
        if w.tick(t3):
            break
    assert w.state == wifi.UP and w.ups == 2


def test_wrong_wifi_password_shows_on_the_status_screen_and_json_never_the_password():
    network.reset()
    app = make_app(None, Ledger())
    flash = OsFs("")
    net = Net(app, network, _cfg(wifi_password="wrong-" + WIFI_PW), flash)
    app.net = net
    for t in range(5):
        net.tick(T0 + t)
    assert net.wifi.state == wifi.BAD_PASSWORD
    v = status_values(app, "sp-a1b2c3", T0, 50000)
    assert v["link"] == ("WiFi pw?", "WiFi密码错")
    text = json.dumps(status(app, "sp-a1b2c3", T0))
    assert json.loads(text)["net"]["wifi"] == "bad password"
    assert WIFI_PW not in text and MQTT_PW not in text
    # between tries (the backoff) the app is not woken every second for the network
    assert net.wake >= net.wifi.next_try > T0 + 4
    # off: no link row, no "net" in the status JSON
    off = make_app(None, Ledger())
    assert status_values(off, "u", T0, 50000)["link"] == ""
    assert status(off, "u", T0)["net"] is None


def test_a_broker_that_is_down_costs_a_counter_and_a_backoff():
    c = mqtt.Client("u", "127.0.0.1", 1, will_topic=b"sunprint/u/availability")
    tries = 0
    for t in range(0, 120):
        before = c.faults
        c.tick(t)
        if c.state == mqtt.TCP:
            tries += 1
            for _ in range(200):  # the refusal arrives (poll, no blocking wait)
                c.tick(t)
                if c.state != mqtt.TCP:
                    break
        assert c.state != mqtt.UP
        assert c.faults - before <= 1
    assert c.faults >= 3 and c.last_error in ("connection refused", "no TCP connection")
    assert tries < 10  # 2, 4, 8, 16, 32, 64 s apart: not one per tick
    assert not c.publish(200, b"t", bytearray(64), 32, 33)


def _ledger_with(mwh):
    led = Ledger()
    led.hi[4] = mwh // 1000000
    led.lo[4] = mwh % 1000000
    led.hi[0] = 1
    led.lo[0] = 2345
    return led


def test_state_is_exact_decimal_json_from_the_integer_ledger():
    app = make_app(None, _ledger_with(12345000007))
    app.power_mw = 4321987
    net = Net(app, network, _cfg(), OsFs(""))
    buf = bytearray(1024)
    n = net.format_state(buf, 128)
    d = json.loads(bytes(buf[128:n]).decode())
    assert d["lifetime_kwh"] == "12345.000007" and d["today_kwh"] == "1.002345"
    assert d["power_w"] == 4321.987 and d["factor_kg_per_kwh"] == "0.5306"
    assert d["yesterday_kwh"] == "0.000000" and d["factor_source"] == "CN 2023: test"
    n = net.format_status(buf, 128, T0)
    s = json.loads(bytes(buf[128:n]).decode())
    assert s["firmware"] and s["faults"] == 0 and s["clock"] is None


def test_status_names_the_board_language_and_fault_kinds_and_state_its_time():
    app = make_app(None, _ledger_with(5000000))
    app.fault("sensor", 'I2C "NACK"\nretry')
    app.fault("sensor", 'I2C "NACK"\nretry')
    app.fault("store", "full")
    app.ledger.last_wall = 782179200 + 3600
    net = Net(app, network, _cfg(), OsFs(""), board="esp32-epd29-ina226", lang="zh")
    buf = bytearray(1024)
    s = json.loads(bytes(buf[128 : net.format_status(buf, 128, T0)]).decode())
    assert s["board"] == "esp32-epd29-ina226" and s["lang"] == "zh"
    assert s["fault_kinds"] == {"sensor": 2, "store": 1} and s["faults"] == 3
    assert s["last_fault"] == "store: full"
    d = json.loads(bytes(buf[128 : net.format_state(buf, 128)]).decode())
    assert d["t"] == 1728867600  # Unix seconds of 2024-10-14 01:00 UTC
    app.fault("sensor", "x" * 400 + '"')  # a long text is cut, still JSON
    s = json.loads(bytes(buf[128 : net.format_status(buf, 128, T0)]).decode())
    assert s["last_fault"].startswith("sensor: xxx") and len(s["last_fault"]) < 200


def test_periods_are_null_while_the_date_is_unknown():
    # a unit back from a power cut with no time source: the ledger holds the energy for the
    # periods (wall clock in 2000) and cannot vouch for today; lifetime is still published
    led = Ledger()
    for k in range(361):
        led.add_power(k * 10, 1000000, 100 + k * 10)  # 1 kW for an hour, wall clock 2000
    assert not led.vouched()
    net = Net(make_app(None, led), network, _cfg(), OsFs(""))
    buf = bytearray(1024)
    d = json.loads(bytes(buf[128 : net.format_state(buf, 128)]).decode())
    assert d["today_kwh"] is None and d["month_kwh"] is None and d["year_kwh"] is None
    assert d["lifetime_kwh"] == "1.000000"


def test_discovery_is_stable_and_carries_home_assistant_fields():
    app = make_app(None, Ledger())
    net = Net(app, network, _cfg(), OsFs(""))
    rows = {}
    from sunprint.net.discovery import SENSORS, config

    for row in SENSORS:
        topic, payload = config(net, row)
        rows[row[0]] = (topic, json.loads(payload))
    topic, p = rows["lifetime"]
    assert topic == "homeassistant/sensor/sunprint_246f28a1b2c3_lifetime/config"
    assert p["unique_id"] == "sunprint_246f28a1b2c3_lifetime"
    assert p["state_class"] == "total_increasing" and p["device_class"] == "energy"
    assert p["unit_of_measurement"] == "kWh" and p["state_topic"] == "sunprint/sp-a1b2c3/state"
    assert p["device"]["identifiers"] == ["sunprint_246f28a1b2c3"]
    assert rows["power"][1]["state_class"] == "measurement"
    assert "state_class" not in rows["today"][1]


def test_publishing_allocates_nothing_in_the_steady_state():
    try:
        import gc

        gc.mem_alloc  # noqa: B018 - MicroPython only
    except AttributeError:
        return  # CPython: no heap figures
    app = make_app(None, _ledger_with(1234567890))
    app.fault("sensor", 'bus "down"')  # fault kinds and the last fault's text are published
    app.ledger.last_wall = 782179200
    net = Net(app, network, _cfg(), OsFs(""))
    buf = net.buf
    net.format_state(buf, 128)
    net.format_status(buf, 128, T0)
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    for i in range(20):
        app.power_mw = 1000 * i + 7
        app.ledger.lo[4] += 1  # lifetime rises: the kept value is written too
        net.format_state(buf, 128)
        net.format_status(buf, 128, T0 + i)
    used = gc.mem_alloc() - before
    gc.enable()
    assert used == 0, used


class _Wire:
    # a socket stand-in that keeps what was written (MicroPython's write(buf, off, n) and
    # CPython's send)
    def __init__(self):
        self.data = bytearray()

    def readinto(self, buf):
        return None

    def write(self, buf, off=0, n=-1):
        self.data.extend(bytes(buf[off : off + n]))
        return n

    def close(self):
        pass


def test_publish_frames_a_short_and_a_long_message_as_mqtt_3_1_1_says():
    c = mqtt.Client("u", "127.0.0.1", 1)
    c.state = mqtt.UP
    wire = _Wire()
    c._sock = wire
    buf = bytearray(600)
    buf[100:102] = b"on"
    assert c.publish(0, b"a/b", buf, 100, 102, True)
    # retained QoS 0 PUBLISH, remaining length 2 + 3 + 2, topic length 3
    assert bytes(wire.data) == b"\x31\x07\x00\x03a/bon", bytes(wire.data)
    wire.data = bytearray()
    for k in range(100, 400):
        buf[k] = 120
    assert c.publish(0, b"t", buf, 100, 400, False)
    rem = 300 + 1 + 2
    want = bytes([0x30, (rem & 0x7F) | 0x80, rem >> 7, 0, 1]) + b"t" + b"x" * 300
    assert bytes(wire.data) == want
