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
