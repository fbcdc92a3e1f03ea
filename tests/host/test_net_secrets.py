"""The Wi-Fi and MQTT passwords of config.json never leave the unit's config: not in the status
JSON, the status screen, the unit's log files and boot record, the faults, anything printed,
nor in what `sunprint replay --config` prints and writes. A bad password value is a one-line
error naming the key, exit status 2, without the value."""

import io
import json
import socket
import sys
from pathlib import Path

from host_tools.cli import main
from host_tools.paths import BOARDS, FONTS, LOGS, use_firmware

use_firmware()
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "firmware"))

WIFI_PW = "W1fi-Secret-in-config"
MQTT_PW = "Mqtt-Secret-in-config"
DAY = LOGS / "zhongshan-2024-10-15.csv"


def _closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _config(**kw):
    d = {
        "version": 3,
        "unit_id": "sp-a1b2c3",
        "wifi_ssid": "site",
        "wifi_password": WIFI_PW,
        "mqtt_host": "127.0.0.1",
        "mqtt_port": _closed_port(),
        "mqtt_user": "sign",
        "mqtt_password": MQTT_PW,
    }
    d.update(kw)
    return json.dumps(d)


def _secret_in(text):
    return WIFI_PW in text or MQTT_PW in text


class _Record:
    data = b""

    def read(self):
        return self.data

    def write(self, data):
        self.data = bytes(data)


def test_a_booted_unit_shows_and_logs_no_password(capsys):
    import main as unit_main
    import network  # tests/firmware/network.py: the simulated WLAN

    from host_tools.sim import rig as rigmod
    from host_tools.sim.platform import machine as fake
    from host_tools.sim.platform.faultfs import FaultFS
    from sunprint import status
    from sunprint.ui.status import status_values

    network.reset()
    network.AP.password = "not-the-configured-one"  # a wrong password: a fault on screen
    path = BOARDS / "esp32-epd29-ina226.json"
    profile = json.loads(path.read_text())
    clock = rigmod.Clock(782265600)
    rig = rigmod.wire(profile, clock, fake)
    text = _config()

    def open_file(p, mode="r"):
        if p == "/config.json":
            return io.StringIO(text)
        return open(p, mode)

    fs = FaultFS()
    record = _Record()
    runner = unit_main.main(
        fake,
        fs=fs,
        open_file=open_file,
        board_path=str(path),
        fonts_dir=str(FONTS),
        neopixel=rig.neopixel,
        esp32=rig.esp32,
        boot_record=record,
        clock=clock,
        sleep_ms=lambda ms: None,
        network=network,
        ticks_ms=clock.ticks_ms,  # the bus driver on the virtual clock
        bus_sleep_ms=clock.block_ms,
        run=False,
    )
    for _ in range(200):
        clock.advance_ms(runner.step())
    app = runner.app
    assert app.net is not None and app.net.wifi.state_name == "bad password"
    screen = status_values(app, "sp-a1b2c3", clock.now(), 50000)
    assert screen["link"] == ("WiFi pw?", "WiFi密码错")
    network.AP.password = WIFI_PW  # fixed on site: the unit connects, the broker is down
    for _ in range(400):
        clock.advance_ms(runner.step())
    assert app.net.wifi.state_name == "up" and app.faults.get("mqtt", 0) >= 1, app.faults
    outputs = [
        status.json(),
        repr(status_values(app, "sp-a1b2c3", clock.now(), 50000)),
        repr(app.faults),
        str(app.last_fault),
        repr(record.data),
        capsys.readouterr().out,
        capsys.readouterr().err,
    ]
    # every file on the unit's flash but its own config copy (it must keep the passwords)
    files = fs.listdir()
    assert "config.good.json" in files, files
    assert _secret_in(repr(fs.peek("config.good.json")))  # the check can see a password
    for name in files:
        if name != "config.good.json":
            outputs.append(repr(fs.peek(name)))
    assert json.loads(outputs[0])["net"]["wifi"] == "up"
    for out in outputs:
        assert not _secret_in(out), out[:300]


def test_replay_with_a_networked_config_prints_and_writes_no_password(tmp_path, capsys):
    cfg = tmp_path / "config.json"
    cfg.write_text(_config())
    out = tmp_path / "out"
    argv = ["replay", str(DAY), "--board", "esp32-epd29", "--out", str(out), "--no-progress"]
    assert main(argv + ["--accounting-only", "--config", str(cfg)]) == 0
    printed = capsys.readouterr()
    assert not _secret_in(printed.out + printed.err)
    for f in out.rglob("*"):
        if f.is_file():
            assert not _secret_in(f.read_bytes().decode("utf-8", "replace")), f


def test_a_bad_password_value_is_one_line_naming_the_key_without_the_value(tmp_path, capsys):
    cfg = tmp_path / "config.json"
    cfg.write_text(_config(mqtt_password=MQTT_PW + "x" * 64))
    out = tmp_path / "out"
    argv = ["replay", str(DAY), "--board", "esp32-epd29", "--out", str(out), "--no-progress"]
    assert main(argv + ["--accounting-only", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err.strip()
    assert "mqtt_password" in err and len(err.splitlines()) == 1, err
    assert not _secret_in(err) and not out.exists()
