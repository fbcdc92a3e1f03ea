"""The unit on MQTT (sunprint/net), on the 32-bit MicroPython unix port against a real broker
(Mosquitto on a loopback port, tests/host/mqtt_rig.py):

- mqtt_heap_<board>_<form>_32bit: the unit's peak live heap with Wi-Fi and MQTT on (the
  simulated network.WLAN, publishing every 60 s), as bench_unit measures it (boot and 900 s of
  simulated time), beside the same run with the network off (peer: the cost of MQTT);
- mqtt_alloc_per_publish_32bit: bytes allocated per state + status publish, connected, the
  lifetime rising each time (goal 0);
- mqtt_wifi_up_to_first_publish_32bit: ms from the link coming up to the first state message
  (connect, CONNACK, availability, discovery, state);
- mqtt_lifetime_decreases_fault_day: decreases of the lifetime the peer (paho-mqtt) received
  over the bundled day with a broker restart at 10:00, a Wi-Fi drop 12:00-12:10 and a power
  cut at 14:00 (goal 0).

    .venv/bin/python tests/bench/bench_mqtt.py      # BENCH_BOARDS=... as bench_unit
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "host"))
sys.path.insert(0, str(ROOT / "tests" / "bench"))

import bench_unit  # noqa: E402
import mp32  # noqa: E402

LOG = ROOT / "assets" / "logs" / "zhongshan-2024-10-15.csv"
UNIT = ROOT / "tests" / "host" / "mqtt_unit.py"
SPAN_S = 900
BOARDS = ("esp32-epd29-ina226", "esp32-max7219-s0", "esp32-ws2812-ina219", "esp32-epd29")
FORMS = ("frozen", "romfs")
BUDGET = 110000


def _tree(dest):
    # the firmware and the two test modules the VM scripts import (the simulated WLAN, the app
    # with a stand-in panel)
    fw = ROOT / "firmware"
    src = [(fw, p) for p in sorted(fw.rglob("*.py")) if "__pycache__" not in p.parts]
    tf = ROOT / "tests" / "firmware"
    src += [(tf, tf / "network.py"), (tf, tf / "app_rig.py")]
    # the stand-in's station is the simulator's (host_tools/sim/platform/wlan.py), package and all
    ht = ROOT / "host_tools"
    for p in ("__init__.py", "sim/__init__.py", "sim/platform/__init__.py", "sim/platform/wlan.py"):
        src.append((ROOT, ht / p))
    mp32.compile_files(src, dest)


def _config(port):
    return {
        "version": 3,
        "unit_id": "sp-bench",
        "wifi_ssid": "site",
        "wifi_password": "pw",
        "mqtt_host": "127.0.0.1",
        "mqtt_port": port,
        "mqtt_period_s": 60,
    }


# bench_unit's script with the `network` stand-in (tests/firmware/network.py) imported before
# the baseline: on the ESP32 `network` is built into the firmware (its module costs no heap, its
# WLAN object is the driver's), so the stand-in's classes and tables are the simulator's, as
# bench_unit counts the chip models and the fake machine (before this, they were charged to
# the unit: about 2 kB of the romfs figure).
_SCRIPT = bench_unit._SCRIPT.replace(
    "gc.collect()\nBASE = gc.mem_alloc()\n",
    "import network  # the simulator's: before the baseline\ngc.collect()\nBASE = gc.mem_alloc()\n",
    1,
)
assert _SCRIPT != bench_unit._SCRIPT, "bench_unit's baseline line moved"


def _states(peer):
    return sum(1 for t, _p, _r in peer.take() if t == "sunprint/sp-bench/state")


def heap_per_board(port, peer):
    """{(board, form): (peak off, peak on)}; each run with MQTT on must reach the peer"""
    bench_unit._app_binary()
    boards = os.environ.get("BENCH_BOARDS")
    boards = [b for b in BOARDS if not boards or b in boards.split(",")]
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        tree = tmp / "host-mpy"
        bench_unit._sim_tree(tree)
        tf = ROOT / "tests" / "firmware"
        mp32.compile_files([(tf, tf / "network.py")], tree)  # `import network` finds it
        mpy = tmp / "firmware-mpy"
        bench_unit._firmware_mpy(mpy)
        image = tmp / "firmware.romfs"
        bench_unit._romfs_image(mpy, image)
        images = {"frozen": tmp / "none", "romfs": image}
        for mode in ("off", "on"):
            run = tmp / mode
            run.mkdir()
            (run / "unit.py").write_text(_SCRIPT)
            if mode == "on":  # bench_unit reads the unit's config.json from this path
                (run / "no-config.json").write_text(json.dumps(_config(port)))
            for board in boards:
                for form in FORMS:
                    seen = _states(peer)
                    peak = bench_unit._run(run, tree, form, images[form], board, SPAN_S)[0]
                    out.setdefault((board, form), [0, 0])[mode == "on"] = peak
                    time.sleep(0.2)
                    if mode == "on" and _states(peer) == seen:
                        raise RuntimeError("%s %s: the unit published nothing" % (board, form))
    return out


_ALLOC = """
import gc, sys, time
import network
from app_rig import make_app
from sunprint.core.ledger import Ledger
from sunprint.net import mqtt
from sunprint.net.publish import start
from sunprint.store import OsFs
port = int(sys.argv[1])
network.reset()
app = make_app(None, Ledger())
app.ledger.hi[4] = 1234
cfg = {"unit_id": "sp-bench", "wifi_ssid": "site", "wifi_password": "pw",
       "mqtt_host": "127.0.0.1", "mqtt_port": port, "mqtt_user": "", "mqtt_password": "",
       "mqtt_period_s": 60, "mqtt_prefix": "sunprint", "mqtt_discovery": True}
net = start(app, network, cfg, OsFs(""))
now = 0
for _ in range(2000):
    net.tick(now)
    if net.client.state == mqtt.UP and net.published:
        break
    time.sleep_ms(2)
    now += 1
assert net.published, net.status()
N = 200
def loop(n):
    led = app.ledger
    for i in range(n):
        led.lo[4] += 1
        app.power_mw = i * 7
        net.publish_state(now)
gc.collect()
loop(10)
gc.collect()
gc.disable()
before = gc.mem_alloc()
loop(N)
used = gc.mem_alloc() - before
gc.enable()
print("ALLOC", used / N, net.client.faults)
"""


def alloc_per_publish(port):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        _tree(tmp / "tree")
        script = tmp / "alloc.py"
        script.write_text(_ALLOC)
        env = dict(os.environ, MICROPYPATH=os.pathsep.join([str(tmp / "tree"), ".frozen"]))
        proc = subprocess.run(
            [str(mp32.MICROPYTHON32), "-X", "heapsize=%d" % mp32.HEAPSIZE, str(script), str(port)],
            env=env,
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=120,
        )
        for ln in proc.stdout.splitlines():
            if ln.startswith("ALLOC "):
                return float(ln.split()[1]), int(ln.split()[2])
        raise RuntimeError(proc.stdout[-500:] + proc.stderr[-1500:])


def _unit(tmp, port, first, last, events, on_pause=None):
    env = dict(os.environ, MICROPYPATH=os.pathsep.join([str(tmp / "tree"), ".frozen"]))
    flash = tmp / "flash"
    flash.mkdir(exist_ok=True)
    from mqtt_rig import run_unit

    cmd = [str(mp32.MICROPYTHON32), "-X", "heapsize=%d" % mp32.HEAPSIZE, str(UNIT), str(LOG)]
    cmd += [str(flash), str(port), str(first), str(last), events, "", "", "W1fi-secret-7"]
    out, err, rc = run_unit(cmd, env, flash, on_pause, timeout=600)
    lines = [ln.strip() for ln in out]
    if rc != 0:
        raise RuntimeError("\n".join(lines[-5:]) + err[-1500:])
    return lines


def fault_day(broker):
    """(decreases of the received lifetime, state messages, ms Wi-Fi up -> first publish)"""
    from mqtt_rig import Peer

    peer = Peer(broker.port)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            _tree(tmp / "tree")
            events = "3600:pause,4320:wifi_down,4380:wifi_up"
            one = _unit(tmp, broker.port, 0, 5040, events, broker.restart)
            _unit(tmp, broker.port, 5041, 8640, "")  # the power was cut at 14:00
        time.sleep(0.5)
        messages = peer.take()
    finally:
        peer.close()
    up_ms = [int(ln.split()[2]) for ln in one if ln.startswith("UP ")][0]
    lifetimes = [
        Decimal(json.loads(p)["lifetime_kwh"])
        for t, p, _r in messages
        if t == "sunprint/sp-a1b2c3/state"
    ]
    decreases = sum(1 for a, b in zip(lifetimes, lifetimes[1:], strict=False) if b < a)
    return decreases, len(lifetimes), up_ms, lifetimes[-1] if lifetimes else None


def line(name, value, unit, goal=None, peer=None):
    text = "bench %s: %s %s" % (name, value, unit)
    if goal:
        text += " (goal %s)" % goal
    if peer:
        text += " peer %s: %s %s" % peer
    print(text, flush=True)


def bench_mqtt():
    from mqtt_rig import MOSQUITTO, Broker

    if not os.path.exists(MOSQUITTO):
        print("bench mqtt: skipped (mosquitto is not installed: make setup)", flush=True)
        return
    try:
        mp32.check()
        with Broker() as broker:
            used, faults = alloc_per_publish(broker.port)
            line("mqtt_alloc_per_publish_32bit", "%.1f" % used, "B", "<= 0")
            decreases, n, up_ms, last = fault_day(broker)
            line("mqtt_wifi_up_to_first_publish_32bit", up_ms, "ms")
            line(
                "mqtt_lifetime_decreases_fault_day",
                decreases,
                "decreases",
                "<= 0",
                ("state_messages", n, "(last lifetime %s kWh)" % last),
            )
            from mqtt_rig import Peer

            peer = Peer(broker.port)
            try:
                heaps = heap_per_board(broker.port, peer)
            finally:
                peer.close()
    except (RuntimeError, mp32.MissingVM) as e:
        print("bench mqtt: failed (%s)" % e, flush=True)
        return
    for (board, form), (off, on) in sorted(heaps.items()):
        name = board.replace("esp32-", "").replace("-", "_")
        line(
            "mqtt_heap_%s_%s_32bit" % (name, form),
            "%.1f" % (on / 1000),
            "kB",
            "<= %d" % (BUDGET // 1000),
            ("mqtt_off", "%.1f" % (off / 1000), "kB"),
        )


if __name__ == "__main__":
    bench_mqtt()
