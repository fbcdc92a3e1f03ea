# The unit's network side, off by default (config.json's wifi_ssid and mqtt_host): Wi-Fi
# (wifi.py), a small non-blocking MQTT 3.1.1 client (mqtt.py) and the publisher of the
# sunprint/<unit_id>/ topics and Home Assistant discovery (publish.py). docs/mqtt.md.
