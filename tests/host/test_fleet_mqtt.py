"""sunprint fleet on a real Mosquitto: three simulated units publish (paho-mqtt, the provisional
schema of host_tools/fleet/topics.py) to a broker started on a free loopback port, and the
fleet command, run as its own process, shows them; bad input never takes the page down."""

import json
import socket
import time

import pytest
from fleet_units import Broker, FleetProcess, SimUnit, client

from host_tools import registry

STALE_S = 3
CAP = "more than 100 units: unit not kept"


@pytest.fixture(scope="module")
def broker():
    b = Broker()
    yield b
    b.stop()


@pytest.fixture(scope="module")
def registry_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("reg") / "units.csv"
    row = {"time": "2026-12-07T09:00:00", "port": "/dev/ttyUSB0", "mac": "24:0a:c4:00:00:01",
           "chip": "ESP32", "board": "esp32-epd29-ina226", "firmware_sha256": "ab" * 32,
           "app_version": "0.1.0", "config_hash": "cd" * 32, "result": "ok",
           "message": "flashed; config written (unit roof-1, MEE/NBS 2023)"}  # fmt: skip
    registry.append(path, row)
    registry.append(
        path, dict(row, mac="24:0a:c4:00:00:09", message="flashed", port="/dev/ttyUSB1")
    )
    with open(path, "a") as f:
        f.write("garbage,row\n")
    return path


@pytest.fixture(scope="module")
def fleet(broker, registry_csv):
    p = FleetProcess(broker.port, "--registry", str(registry_csv), "--stale-after", str(STALE_S),
                     "--max-units", "100")  # fmt: skip
    yield p
    rc, out, err = p.stop()
    assert "Traceback" not in err, err


@pytest.fixture(scope="module")
def units(broker, fleet):
    us = [SimUnit(broker.port, "roof-1"), SimUnit(broker.port, "roof-2", lang="en"),
          SimUnit(broker.port, "hall-3", board="esp32-max7219-s0", lang="en")]  # fmt: skip
    for i, u in enumerate(us):
        u.publish_status()
        u.step(600, 100.0 * (i + 1))
    yield us
    for u in us:
        u.close()


def by_id(snapshot):
    return {u["id"]: u for u in snapshot["units"]}


def test_three_units_and_the_registry(fleet, units):
    snap = fleet.wait_for(lambda s: all(by_id(s).get(u.id, {}).get("power") for u in units))
    rows = by_id(snap)
    assert rows["roof-1"]["power"] == "100.0 W" and rows["hall-3"]["power"] == "300.0 W"
    assert rows["roof-2"]["lifetime"] == "1000.033 kWh"  # 1000 kWh + 200 W for 10 min
    assert rows["roof-1"]["cls"] == "online" and rows["roof-1"]["clock"] == "ds3231 +2s"
    assert rows["sp-000009"]["cls"] == "never"  # flashed, never seen: listed
    want = "line 4: 2 fields, not %d (ignored)" % len(registry.FIELDS)
    assert want in " ".join(snap["registry_notes"])
    status, ctype, body = fleet.get("unit/roof-1/sign.png")
    assert status == 200 and ctype == "image/png" and body[:4] == b"\x89PNG"
    page = fleet.get("unit/roof-1")[2].decode()
    assert "24:0a:c4:00:00:01" in page and "ab" * 32 in page


def test_faults_with_time(fleet, units):
    u = units[0]
    u.publish_status(faults={"sensor": 2}, last_fault="sensor: [Errno 110] ETIMEDOUT")
    fleet.wait_for(lambda s: by_id(s)["roof-1"]["faults"] == "sensor 2")
    page = fleet.get("unit/roof-1")[2].decode()
    assert "+2" in page and "sensor: [Errno 110] ETIMEDOUT" in page


def test_malformed_json_and_html_ids_keep_the_page_up(broker, fleet, units):
    c = client(broker.port, "bad-client")
    try:
        c.publish("sunprint/roof-2/state", b'{"power_w": 1,', qos=1).wait_for_publish(5)
        c.publish("sunprint/roof-2/status", b"\xff\xfe", qos=1).wait_for_publish(5)
        evil = "<script>alert(1)<\\script>"
        c.publish("sunprint/%s/state" % evil, b'{"power_w": 5, "t": 1}', qos=1).wait_for_publish(5)
        snap = fleet.wait_for(lambda s: s["ignored"].get("not JSON") and s["ignored"].get("payload is not UTF-8")
                              and evil in by_id(s))  # fmt: skip
        assert by_id(snap)["roof-2"]["power"] == "200.0 W"  # the last good state still shown
        html = fleet.get("")[2].decode()
        assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;\\script&gt;" in html
        assert "not JSON" in html
        page = fleet.get("unit/roof-2")[2].decode()
        assert "state: not JSON" in page  # said on the unit's page too
    finally:
        c.disconnect()
        c.loop_stop()


def test_stale_and_last_will(broker, fleet, units):
    u = units[2]
    u.step(10, 50.0)
    snap = fleet.wait_for(lambda s: by_id(s)["hall-3"]["power"] == "50.0 W")
    assert by_id(snap)["hall-3"]["cls"] == "online"
    dropped = SimUnit(broker.port, "drop-4")  # the fifth unit
    dropped.publish_state()
    fleet.wait_for(lambda s: "drop-4" in by_id(s))
    dropped.close(clean=False)  # the connection drops: the broker publishes the last will
    fleet.wait_for(lambda s: by_id(s)["drop-4"]["state"] == "offline", 10)
    snap = fleet.wait_for(lambda s: by_id(s)["hall-3"]["cls"] == "stale", STALE_S + 5)
    assert by_id(snap)["hall-3"]["state"] == "stale (online)"


def test_bad_command_lines_exit_2(tmp_path, capsys):
    from host_tools import cli

    other = tmp_path / "not-a-registry.csv"
    other.write_text("name,age\nx,1\n")
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    busy = "127.0.0.1:%d" % taken.getsockname()[1]
    for args in (["--mqtt", "nohost"], ["--mqtt", "h:1", "--listen", "x:99999"],
                 ["--mqtt", "h:1", "--registry", str(other)], ["--mqtt", "h:1", "--stale-after", "0"],
                 ["--mqtt", "h:1", "--listen", busy]):  # fmt: skip
        assert cli.main(["fleet", *args]) == 2, args
        err = capsys.readouterr().err
        assert err.startswith("sunprint fleet: error: ") and err.count("\n") == 1, err
    assert other.read_text() == "name,age\nx,1\n"
    taken.close()


def test_no_broker_the_page_stays_up_and_says_so():
    from fleet_units import free_port

    p = FleetProcess(free_port())  # nothing listens there
    try:
        html = p.get("")[2].decode()
        assert "connecting to 127.0.0.1" in html or "disconnected" in html
        assert p.units()["units"] == []
    finally:
        rc, out, err = p.stop()
    assert "Traceback" not in err, err


def test_registry_bad_rows_said_on_the_page(fleet):
    html = fleet.get("")[2].decode()
    assert "Registry rows ignored" in html
    assert "2 fields, not %d" % len(registry.FIELDS) in html
    assert json.loads(fleet.get("api/units")[2])["registry_notes"]


def test_ten_thousand_topics_from_one_client(broker, fleet, units):
    """Last in this file: the fleet is full after it."""
    c = client(broker.port, "flood-client")
    try:
        t0 = time.monotonic()
        for i in range(10_000):
            c.publish("sunprint/flood-%05d/state" % i, b'{"power_w": 1}', qos=0)
        c.publish("sunprint/flood-done/availability", b"online", qos=1).wait_for_publish(10)
        # 100 units at most: the 5 units before and 95 of the flood; the rest counted as ignored
        snap = fleet.wait_for(lambda s: s["ignored"].get(CAP, 0) >= 9_905, 30)
        took = time.monotonic() - t0
        n_units = len([u for u in snap["units"] if u["cls"] != "never"])
        assert n_units == 100
        # every flood message is either a kept unit's or counted as ignored
        kept = sum(1 for u in snap["units"] if u["id"].startswith("flood-"))
        assert kept == 95 and snap["ignored"][CAP] == 9_905 + 1  # and flood-done
        assert fleet.get("")[0] == 200 and took < 30
    finally:
        c.disconnect()
        c.loop_stop()
