"""`sunprint sim board --mqtt HOST:PORT` and `sunprint sim unit --mqtt HOST:PORT` (issue 17,
item 4): a simulated unit publishes to a real broker (Mosquitto, tests/host/mqtt_rig.py) whose
address its config does not name. The unit's config.json names a broker `mqtt.site.lan:1883`
on a Wi-Fi "site"; the simulator's site network (host_tools/sim/platform/sitenet.py) lets the unit in and
routes that name to the test's broker. A paho-mqtt peer checks discovery, state and status;
the user's flash files are byte-identical afterwards; no password in the tool's output.
"""

import hashlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mqtt_rig import Broker, Peer, need_mosquitto  # noqa: E402

from host_tools.paths import ROOT  # noqa: E402
from host_tools.sim.board.vboard import VirtualBoard  # noqa: E402

BOARD = "esp32-epd29-ina226"
SUNPRINT = str(ROOT / ".venv" / "bin" / "sunprint")
USER, PASSWORD, WIFI_PW = "sign", "Br0ker-secret-9", "W1fi-secret-7"
CONFIG = {
    "version": 3,
    "unit_id": "sp-sim017",
    "wifi_ssid": "site",
    "wifi_password": WIFI_PW,
    "mqtt_host": "mqtt.site.lan",  # not where the test's broker is: the sim routes it there
    "mqtt_port": 1883,
    "mqtt_user": USER,
    "mqtt_password": PASSWORD,
    "mqtt_period_s": 5,
}
BASE = "sunprint/sp-sim017/"
HA_FIELDS = ("name", "unique_id", "state_topic", "availability_topic", "device")


def _deployed_flash(folder, config):
    """A flash folder as a technician has it: the app deployed by `sunprint deploy` onto the
    unit image (the app frozen in: only boot.py, main.py, the profile and fonts are files),
    then their config.json."""
    folder.mkdir(parents=True, exist_ok=True)
    with VirtualBoard(folder, board=BOARD, firmware="unit") as vb:
        port = vb.serve_pty()
        cmd = [SUNPRINT, "deploy", "--port", port, "--board", BOARD, "--no-progress"]
        proc = subprocess.run(cmd + ["--no-restart"], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    if config is not None:
        (folder / "config.json").write_text(json.dumps(config))
    return folder


def _hashes(folder):
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _sim_command(kind, tmp_path, fs, broker_port):
    mqtt = ["--mqtt", "127.0.0.1:%d" % broker_port]
    if kind == "board":
        return [SUNPRINT, "sim", "board", "--flash", str(fs), "--board", BOARD,
                "--firmware", "unit", "--power", "300"] + mqtt  # fmt: skip
    # an ESP32 whose flash holds a bootable image (0x1000) and whose file system is fs
    from host_tools.sim.board.device import make_app_image

    image = tmp_path / "unit.bin"
    flash = bytearray(b"\xff" * (4 * 1024 * 1024))
    app = make_app_image(bytes(30_000))
    flash[0x1000 : 0x1000 + len(app)] = app
    image.write_bytes(bytes(flash))
    return [SUNPRINT, "sim", "unit", "--flash", str(image), "--fs", str(fs), "--board", BOARD,
            "--tcp"] + mqtt  # fmt: skip


def _wait(peer, done, timeout=90.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        messages = peer.take()
        if done(messages):
            return messages
        time.sleep(0.25)
    return peer.take()


def _published_all(messages):
    topics = {t for t, _p, _r in messages}
    states = [t for t, _p, _r in messages if t == BASE + "state"]
    return len(states) >= 2 and BASE + "status" in topics and BASE + "availability" in topics


@pytest.mark.parametrize("kind, uid", [("board", "246f28a1b2c3"), ("unit", "240ac4123456")])
def test_a_simulated_unit_publishes_to_the_broker_its_config_names(tmp_path, kind, uid):
    need_mosquitto()
    fs = _deployed_flash(tmp_path / "flash", CONFIG)
    before = _hashes(fs)
    with Broker(users={USER: PASSWORD}) as broker:
        peer = Peer(broker.port, USER, PASSWORD)
        proc = subprocess.Popen(
            _sim_command(kind, tmp_path, fs, broker.port),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            messages = _wait(peer, _published_all)
        finally:
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=30)
            peer.close()
    assert proc.returncode == 0, out + err
    assert _published_all(messages), (out, err, [t for t, _p, _r in messages])
    # the tool said where the unit's broker is, and never a password
    assert "the unit's broker mqtt.site.lan:1883 is 127.0.0.1:%d" % broker.port in err
    text = out + err + "".join(p.decode(errors="replace") for _t, p, _r in messages)
    assert PASSWORD not in text and WIFI_PW not in text
    # discovery: one device, Home Assistant's fields, unique ids from the unit's MAC
    configs = {
        t: json.loads(p)
        for t, p, _r in messages
        if t.startswith("homeassistant/sensor/") and t.endswith("/config")
    }
    life = configs["homeassistant/sensor/sunprint_%s_lifetime/config" % uid]
    assert (life["device_class"], life["state_class"], life["unit_of_measurement"]) == (
        "energy",
        "total_increasing",
        "kWh",
    )
    for c in configs.values():
        assert all(f in c for f in HA_FIELDS) and c["state_topic"] == BASE + "state"
        assert c["device"]["identifiers"] == ["sunprint_" + uid]
    state = json.loads([p for t, p, _r in messages if t == BASE + "state"][-1])
    assert "lifetime_kwh" in state and "power_w" in state
    status = json.loads([p for t, p, _r in messages if t == BASE + "status"][-1])
    assert status["board"] == BOARD
    avail = [p for t, p, _r in messages if t == BASE + "availability"]
    assert avail[0] == b"online"
    # the user's files are as they were: the route is the simulator's, not written anywhere
    after = _hashes(fs)
    for name in ("config.json", "boot.py", "main.py", "board.json"):
        assert after[name] == before[name], name
    for name, digest in before.items():
        if name.startswith("app/"):
            assert after.get(name) == digest, name


@pytest.mark.parametrize("kind", ["board", "unit"])
def test_a_config_without_mqtt_is_one_line_and_exit_2(tmp_path, kind):
    fs = tmp_path / "flash"
    fs.mkdir()
    config = {k: v for k, v in CONFIG.items() if k != "mqtt_host"}
    (fs / "config.json").write_text(json.dumps(config))
    before = _hashes(fs)
    cmd = _sim_command(kind, tmp_path, fs, 1883)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert "--mqtt" in line and "config.json" in line and "mqtt_host" in line, line
    assert WIFI_PW not in proc.stdout + proc.stderr and PASSWORD not in proc.stderr
    assert _hashes(fs) == before


@pytest.mark.parametrize("value", ["nohostport", "host:0", "host:http", ":1883"])
def test_a_bad_mqtt_value_is_one_line_and_exit_2(tmp_path, value):
    proc = subprocess.run(
        [SUNPRINT, "sim", "board", "--flash", str(tmp_path / "f"), "--mqtt", value],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("sunprint: --mqtt %s:" % value) or ("--mqtt %s" % value) in line, line


def test_the_site_name_service_knows_only_the_broker_name():
    """What the unit's getaddrinfo answers on the simulated site (sitenet, run here on CPython:
    the module is portable MicroPython)."""
    import socket

    from host_tools.sim.platform import sitenet

    sitenet.configure("site", "mqtt.site.lan", "127.0.0.1", 18830)
    lookup = sitenet.getaddrinfo_on_site(socket.getaddrinfo)
    assert lookup("mqtt.site.lan", 1883)[0][-1] == ("127.0.0.1", 18830)
    with pytest.raises(OSError):
        lookup("pool.ntp.org", 123)
    wlan = sitenet.WLAN(sitenet.STA_IF)
    wlan.active(True)
    wlan.connect("other", "x")
    assert not wlan.isconnected() and wlan.status() == sitenet.STAT_NO_AP_FOUND
    wlan.connect("site", "anything")
    wlan.status()
    assert wlan.isconnected()


def test_the_route_is_read_at_each_boot_from_the_units_config_never_written(tmp_path):
    """vboard_site.site_for, as the board calls it before each boot: no config yet (a deploy
    may write it), the last good copy where config.json is absent, a config with MQTT off; the
    note and the route hold no secret."""
    from host_tools.sim.board.vboard_site import site_for

    broker = ("127.0.0.1", 18830)
    site, note = site_for(tmp_path, broker)
    assert site is None and note == "--mqtt: the unit has no config.json: the unit will not publish"
    (tmp_path / "config.good.json").write_text(json.dumps(CONFIG))
    site, note = site_for(tmp_path, broker, b"\x01\x02\x03\x04\x05\x06")
    assert site == ("site", "mqtt.site.lan", "127.0.0.1", 18830, b"\x01\x02\x03\x04\x05\x06")
    assert note.endswith(
        "mqtt.site.lan:1883 is 127.0.0.1:18830 on the simulated site (Wi-Fi 'site')"
    )
    (tmp_path / "config.json").write_text(json.dumps(dict(CONFIG, wifi_ssid="")))
    site, note = site_for(tmp_path, broker)
    assert site is None and "no wifi_ssid" in note
    for text in (repr(site), note):
        assert PASSWORD not in text and WIFI_PW not in text
    assert json.loads((tmp_path / "config.good.json").read_text()) == CONFIG
