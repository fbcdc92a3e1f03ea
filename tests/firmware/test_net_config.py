# config.json's network keys (sunprint/net): off by default, one-line errors naming the key,
# never quoting a password. CPython and MicroPython.
from sunprint.core import config

WIFI_PW = "wifi-Pa55-secret"
MQTT_PW = "mqtt-Pa55-secret"


def _err(text):
    try:
        config.parse(text)
    except config.ConfigError as e:
        return e
    raise AssertionError("no error for %s" % text)


def test_network_is_off_by_default():
    d = config.defaults()
    assert d["wifi_ssid"] == "" and d["mqtt_host"] == "" and d["mqtt_discovery"] is True
    assert config.parse('{"version": 3}')["mqtt_port"] == 1883


def test_bad_network_keys_are_one_line_errors_naming_the_key_never_the_secret():
    e = _err('{"version": 3, "wifi_ssid": "s", "wifi_password": 12345678}')
    assert e.key == "wifi_password" and "12345678" not in str(e) and "\n" not in str(e)
    long_pw = "x" * 65 + "SECRETTAIL"
    e = _err('{"version": 3, "wifi_ssid": "s", "mqtt_password": "%s"}' % long_pw)
    assert e.key == "mqtt_password" and "SECRETTAIL" not in str(e) and "xxxx" not in str(e)
    e = _err('{"version": 3, "wifi_ssid": "s", "wifi_password": "a\\u0001hidden"}')
    assert e.key == "wifi_password" and "hidden" not in str(e)
    e = _err('{"version": 3, "mqtt_port": 70000}')
    assert e.key == "mqtt_port" and "70000" in str(e)
    e = _err('{"version": 3, "mqtt_discovery": "yes"}')
    assert e.key == "mqtt_discovery"
    e = _err('{"version": 3, "mqtt_host": "broker.lan"}')
    assert e.key == "mqtt_host" and "wifi_ssid" in str(e)
    e = _err('{"version": 3, "mqtt_period_s": 1}')
    assert e.key == "mqtt_period_s"
    # a good config round-trips
    d = config.defaults()
    d.update(wifi_ssid="site", wifi_password=WIFI_PW, mqtt_host="10.0.0.2")
    d.update(mqtt_user="sign", mqtt_password=MQTT_PW)
    assert config.parse(config.dumps(d)) == d


def test_ntp_host_is_host_or_host_port():
    assert config.defaults()["ntp_host"] == "pool.ntp.org"
    assert config.ntp_port("pool.ntp.org") == ("pool.ntp.org", 123)
    assert config.ntp_port("127.0.0.1:11123") == ("127.0.0.1", 11123)
    for bad in ("ntp.lan:0", "ntp.lan:70000", ":123", "ntp.lan:12a", "ntp.lan:"):
        e = _err('{"version": 3, "wifi_ssid": "s", "ntp_host": "%s"}' % bad)
        assert e.key == "ntp_host" and "\n" not in str(e), bad


def _board(sources=None):
    p = {"sensors": [{"type": "ina226", "role": "pv_power", "i2c": {}}]}
    if sources is not None:
        p["clock"] = {"sources": sources}
    return p


def test_ntp_is_a_time_source_of_every_board_with_wifi():
    wifi = '"wifi_ssid": "site", "wifi_password": "pw"'
    cases = (
        # config.json's keys, the board's sources -> the order, faults
        ("", None, ()),
        (wifi, None, ("ntp",)),
        (wifi, ["ds3231"], ("ntp", "ds3231")),
        (wifi, ["ds3231", "ntp"], ("ds3231", "ntp")),
        (wifi + ', "ntp_host": ""', ["ds3231", "ntp"], ("ds3231",)),
        (wifi + ', "clock_sources": "ds3231,ntp"', ["ds3231"], ("ds3231", "ntp")),
        (wifi + ', "clock_sources": "ds3231"', ["ds3231"], ("ds3231",)),
        ('"ntp_host": "ntp.lan"', ["ds3231"], ("ds3231",)),  # no Wi-Fi: no NTP
    )
    for keys, sources, want in cases:
        cfg = config.parse('{"version": 3%s}' % ((", " + keys) if keys else ""))
        s, faults = config.unit_settings(cfg, _board(sources))
        assert s["clock_sources"] == want and faults == [], (keys, sources, s["clock_sources"])
    # naming ntp without Wi-Fi is a fault: the board's order is used
    cfg = config.parse('{"version": 3, "clock_sources": "ntp,ds3231"}')
    s, faults = config.unit_settings(cfg, _board(["ds3231"]))
    assert s["clock_sources"] == ("ds3231",) and len(faults) == 1 and "ntp" in faults[0]
