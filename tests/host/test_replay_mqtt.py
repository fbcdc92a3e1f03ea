"""`sunprint replay --mqtt HOST:PORT`: the replayed unit publishes to a real broker (Mosquitto,
tests/host/mqtt_rig.py) as a unit with MQTT on would; a paho-mqtt peer watches. A bad --mqtt
is one line naming the option, exit status 2."""

import json
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mqtt_rig import Broker, Peer  # noqa: E402

from host_tools.cli import main  # noqa: E402
from host_tools.paths import LOGS  # noqa: E402

DAY = LOGS / "zhongshan-2024-10-15.csv"


def _part(tmp_path, first, last):
    rows = [ln for ln in DAY.read_text().splitlines() if ln[:1].isdigit()][first:last]
    log = tmp_path / "part.csv"
    log.write_text("timestamp,power_w\n" + "\n".join(rows) + "\n")
    return log


def test_replay_publishes_to_a_broker(tmp_path, capsys):
    log = _part(tmp_path, 3600, 4200)  # 10:00 to 11:40
    with Broker() as broker:
        peer = Peer(broker.port)
        try:
            out = tmp_path / "out"
            argv = ["replay", str(log), "--board", "esp32-epd42-dlt645", "--out", str(out)]
            argv += ["--accounting-only", "--no-progress", "--mqtt", "127.0.0.1:%d" % broker.port]
            assert main(argv) == 0
            time.sleep(0.5)
            messages = peer.take()
        finally:
            peer.close()
    printed = capsys.readouterr().out
    states = [json.loads(p) for t, p, _r in messages if t == "sunprint/sunprint/state"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["mqtt"]["states_published"] == len(states) >= 90, (summary["mqtt"], len(states))
    assert "state messages to 127.0.0.1:%d" % broker.port in printed
    lifetimes = [Decimal(s["lifetime_kwh"]) for s in states]
    assert lifetimes == sorted(lifetimes) and lifetimes[-1] > 0
    assert any(t.startswith("homeassistant/sensor/sunprint_sunprint_") for t, _p, _r in messages)


def test_a_bad_mqtt_option_is_one_line_exit_2(tmp_path, capsys):
    log = _part(tmp_path, 3600, 3610)
    out = tmp_path / "out"
    for bad in ("localhost", "host:0", "host:http", ":1883"):
        argv = ["replay", str(log), "--board", "esp32-epd29", "--out", str(out), "--mqtt", bad]
        assert main(argv) == 2, bad
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "--mqtt" in err, err
        assert not out.exists()
