"""`--mqtt HOST:PORT` of `sunprint sim board` and `sim unit`, on the host's side: where the
broker the unit's config names really is (host_tools/sim/platform/sitenet.py is the site the unit sees).

The unit's config.json is read, never written: the simulated site is made to fit it (its access
point has the config's SSID, its name service answers the config's mqtt_host with HOST:PORT),
so the user's flash folder stays as it was. Nothing here reads or returns a password.
"""

import json
from pathlib import Path

DEFAULT_MQTT_PORT = 1883  # sunprint/core/config.py's default for mqtt_port
SIM_MAC = bytes.fromhex("246f28a1b2c3")  # the virtual board's station MAC (an Espressif OUI)


def parse_broker(text):
    """(host, port) from "HOST:PORT"; ValueError with a one-line reason."""
    host, sep, port = str(text).rpartition(":")
    host = host.strip("[]")  # [::1]:1883
    if not sep or not host:
        raise ValueError("expected HOST:PORT, e.g. 127.0.0.1:1883")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError("the port must be a number from 1 to 65535")
    return host, int(port)


def unit_broker(flash_dir):
    """(ssid, mqtt_host, mqtt_port) the unit's config names, or (None, why) where it names no
    broker. Reads config.json as the unit does, and its last good copy where config.json is
    absent or not a JSON object (the unit falls back to it)."""
    folder = Path(flash_dir)
    config = None
    for name in ("config.json", "config.good.json"):
        try:
            config = json.loads((folder / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(config, dict):
            break
        config = None
    if config is None:
        return None, "the unit has no config.json"
    ssid, host = config.get("wifi_ssid"), config.get("mqtt_host")
    if not isinstance(ssid, str) or not ssid:
        return None, "the unit's config.json has no wifi_ssid (its network is off)"
    if not isinstance(host, str) or not host:
        return None, "the unit's config.json has no mqtt_host (MQTT is off)"
    port = config.get("mqtt_port", DEFAULT_MQTT_PORT)
    if not isinstance(port, int) or isinstance(port, bool):
        port = DEFAULT_MQTT_PORT
    return (ssid, host, port), None


def site_for(flash_dir, broker, mac=None):
    """The agent's `site` tuple for a boot (sitenet.configure's arguments) and a note: the
    route in one line, or why the unit will not publish. No secret is in either."""
    found, why = unit_broker(flash_dir)
    if found is None:
        return None, "--mqtt: %s: the unit will not publish" % why
    ssid, host, port = found
    note = "--mqtt: the unit's broker %s:%d is %s:%d on the simulated site (Wi-Fi %r)" % (
        host,
        port,
        broker[0],
        broker[1],
        ssid,
    )
    return (ssid, host, broker[0], broker[1], bytes(mac or SIM_MAC)), note
