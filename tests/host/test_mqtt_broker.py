"""The unit's MQTT side against a real broker (Mosquitto, tests/host/mqtt_rig.py): the
firmware's client runs inside the 32-bit MicroPython unix port (heap 110000) with the
simulated network.WLAN; a paho-mqtt peer on the host checks what arrives. A part of the bundled
day (rows 3600..4800: 10:00 to 13:20, 10 s apart) with a broker restart, a Wi-Fi drop and a
unit power cut in the middle: the published lifetime never decreases; no password in anything
the unit printed or published; the discovery payloads carry what Home Assistant needs.
"""

import json
import sys
from decimal import Decimal
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mp32  # noqa: E402
from conftest import micropython_env  # noqa: E402
from mqtt_rig import Broker, Peer, run_unit  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
LOG = ROOT / "assets" / "logs" / "zhongshan-2024-10-15.csv"
SCRIPT = Path(__file__).resolve().parent / "mqtt_unit.py"
USER, PASSWORD, WIFI_PW = "sign", "Br0ker-secret-9", "W1fi-secret-7"
BASE = "sunprint/sp-a1b2c3/"
UID = "sunprint_246f28a1b2c3"
# what Home Assistant's MQTT sensor needs of a discovery config, and the device's
HA_FIELDS = ("name", "unique_id", "state_topic", "availability_topic", "device")


def _unit(flash, port, first, last, events="", password=PASSWORD, wifi_pw=WIFI_PW, on_pause=None):
    """Run one power-up of the unit in the VM; (stdout lines, stderr)."""
    mp32.check()
    env = micropython_env(app_frozen=False)
    cmd = [
        str(mp32.MICROPYTHON32),
        "-X",
        "heapsize=%d" % mp32.HEAPSIZE,
        str(SCRIPT),
        str(LOG),
        str(flash),
        str(port),
        str(first),
        str(last),
        events,
        USER,
        password,
        wifi_pw,
    ]
    out, err, rc = run_unit(cmd, env, flash, on_pause, timeout=120)
    assert rc == 0, "\n".join(out[-20:]) + err[-2000:]
    return out, err


def _end(out):
    for line in out:
        if line.startswith("END "):
            return json.loads(line[4:])
    raise AssertionError("no END line: %s" % out[-5:])


def _states(messages):
    return [json.loads(p) for t, p, _r in messages if t == BASE + "state"]


@pytest.fixture
def broker():
    with Broker(users={USER: PASSWORD}) as b:
        yield b


def test_a_unit_publishes_through_a_fault_day_and_lifetime_never_decreases(broker, tmp_path):
    peer = Peer(broker.port, USER, PASSWORD)
    printed = []
    try:
        # power-up 1: a broker restart at 10:33, a Wi-Fi drop 11:06 to 11:16
        events = "3800:pause,4000:wifi_down,4060:wifi_up"
        out, err = _unit(tmp_path, broker.port, 3600, 4300, events, on_pause=broker.restart)
        printed += out + [err]
        end1 = _end(out)
        # the power is cut at 11:56; power-up 2 goes on to 13:20
        out, err = _unit(tmp_path, broker.port, 4310, 4800)
        printed += out + [err]
        end2 = _end(out)
        import time

        time.sleep(0.5)
        messages = peer.take()
    finally:
        peer.close()
    states = _states(messages)
    assert len(states) > 150, len(states)
    lifetimes = [Decimal(s["lifetime_kwh"]) for s in states]
    decreases = sum(1 for a, b in zip(lifetimes, lifetimes[1:], strict=False) if b < a)
    assert decreases == 0, lifetimes
    assert lifetimes[-1] > lifetimes[0] > 0
    # every energy is an exact 6-decimal string of the integer ledger
    for s in states[:3]:
        for k in ("today_kwh", "month_kwh", "year_kwh", "lifetime_kwh", "co2_kg", "coal_kg"):
            assert isinstance(s[k], str) and len(s[k].split(".")[1]) == 6, (k, s[k])
    # the faults were seen and retried, and cost no stalled tick
    assert end1["mqtt_faults"] >= 1 and end1["wifi_drops"] == 1, end1
    # (the whole app tick, a ledger save's file writes too, on a shared machine: a tick that
    # waited for the network would take the 10 s connect timeout)
    assert end1["max_tick_us"] < 1000000 and end2["max_tick_us"] < 1000000, (end1, end2)
    assert end2["published"] > 0
    # the last will: the broker said "offline" when the power went (and at the end of the
    # second power-up), "online" when the unit was back
    avail = [p for t, p, _r in messages if t == BASE + "availability"]
    assert b"offline" in avail and b"online" in avail[avail.index(b"offline") :], avail
    assert avail[-1] == b"offline", avail
    # the broker restart, the Wi-Fi drop, the end of each power-up: each time the unit
    # vanished without a DISCONNECT and the broker published its will: never two "online" in
    # a row (a unit that said DISCONNECT on a lost link left "online" standing)
    assert avail.count(b"offline") >= 4, avail
    assert not [a for a, b in zip(avail, avail[1:], strict=False) if a == b == b"online"], avail
    # no password anywhere the unit printed or published
    text = "\n".join(printed) + "".join(p.decode(errors="replace") for _t, p, _r in messages)
    assert PASSWORD not in text and WIFI_PW not in text
    # discovery: retained, one device, HA's fields, unique ids from the MAC
    configs = {
        t: json.loads(p)
        for t, p, r in messages
        if t.startswith("homeassistant/sensor/") and t.endswith("/config")
    }
    assert "homeassistant/sensor/%s_lifetime/config" % UID in configs
    for t, c in configs.items():
        for field in HA_FIELDS:
            assert field in c, (t, field)
        assert c["unique_id"].startswith(UID + "_") and c["device"]["identifiers"] == [UID]
        assert c["state_topic"] == BASE + "state"
        assert "{{ value_json." in c["value_template"]
    life = configs["homeassistant/sensor/%s_lifetime/config" % UID]
    assert (life["device_class"], life["state_class"], life["unit_of_measurement"]) == (
        "energy",
        "total_increasing",
        "kWh",
    )
    power = configs["homeassistant/sensor/%s_power/config" % UID]
    assert (power["device_class"], power["state_class"], power["unit_of_measurement"]) == (
        "power",
        "measurement",
        "W",
    )


def test_refused_credentials_are_a_flagged_fault_and_a_retry(broker, tmp_path):
    out, err = _unit(tmp_path, broker.port, 3600, 3700, password="wrong-" + PASSWORD)
    end = _end(out)
    assert end["published"] == 0 and end["mqtt_faults"] >= 2, end
    assert end["mqtt_error"].startswith("CONNACK: refused"), end
    assert PASSWORD not in "\n".join(out) + err


def test_wrong_wifi_password_never_reaches_the_broker(broker, tmp_path):
    out, err = _unit(tmp_path, broker.port, 3600, 3650, wifi_pw="not-" + WIFI_PW)
    end = _end(out)
    assert end["wifi"] == "bad password" and end["published"] == 0, end
    assert WIFI_PW not in "\n".join(out) + err
