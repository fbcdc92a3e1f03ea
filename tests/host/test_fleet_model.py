"""sunprint fleet without a broker: the topic schema (topics.py), the model's flags, bounds and
what it says it ignored, the registry join, and the page's escaping (Starlette's TestClient)."""

import json
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from host_tools import registry
from host_tools.fleet import model, topics
from host_tools.fleet.web import FleetApp

STATE = {
    "t": 1_729_000_000, "power_w": 812.5, "today_mwh": 12_345_678, "month_mwh": 99_000_000,
    "year_mwh": 999_000_000, "lifetime_mwh": 5_000_123_456, "co2_g": 2_653_065,
    "coal_g": 1_527_537, "factor_dg": 5306, "factor_source": "MEE/NBS 2023",
}  # fmt: skip
STATUS = {"firmware": "0.1.0", "app_version": "0.1.0", "board": "esp32-epd29-ina226",
          "lang": "both", "faults": {}, "last_fault": "", "free_heap": 52300,
          "clock_source": "ds3231 +2s"}  # fmt: skip


def feed(fleet, uid, kind, obj):
    payload = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    if kind == "state" and isinstance(obj, dict):
        payload = topics.state_payload(obj)
    fleet.on_message("sunprint/%s/%s" % (uid, kind), payload)


def test_state_round_trip_is_exact_to_the_mwh():
    payload = topics.state_payload(STATE)
    obj = json.loads(payload)
    assert obj["today_kwh"] == "12.345678" and obj["lifetime_kwh"] == "5000.123456"
    assert obj["co2_kg"] == "2653.065" and obj["factor_kg_per_kwh"] == "0.5306"
    fields, notes = topics.parse("state", payload)
    assert fields == STATE and notes == []


def test_the_fleet_reads_what_the_firmware_publishes():
    """The unit's own publisher (firmware/sunprint/net/publish.py, run here under CPython) makes
    the payloads; the fleet's parser takes every field without a note."""
    import sys

    from host_tools.paths import ROOT, use_firmware

    use_firmware()
    sys.path.insert(0, str(ROOT / "tests" / "firmware"))
    import network  # the simulated WLAN of the firmware tests
    from app_rig import make_app

    from sunprint.core.ledger import Ledger
    from sunprint.net.publish import Net

    led = Ledger()
    led.hi[0], led.lo[0] = 12, 345678  # today 12.345678 kWh
    led.hi[4], led.lo[4] = 5000, 123456  # lifetime
    led.hi[9], led.lo[9] = 2653, 65000  # CO2 lifetime, kg and mg
    led.last_wall = 782179200
    from sunprint.core.carbon import FACTORS

    app = make_app(None, led)
    app.carbon_row = FACTORS[2]  # CN 2023, 530.6 g/kWh
    app.power_mw = 812500
    app.fault("sensor", 'I2C "NACK"')
    cfg = {"unit_id": "sp-1", "wifi_ssid": "s", "wifi_password": "p", "mqtt_host": "",
           "mqtt_port": 1883, "mqtt_user": "", "mqtt_password": "", "mqtt_period_s": 60,
           "mqtt_prefix": "sunprint", "mqtt_discovery": True}  # fmt: skip
    from sunprint.ui.layout import Rotation

    app.rotation = Rotation(296, 128, "zh")
    app.rotation.advance()  # the sign now shows its second screen
    net = Net(app, network, cfg, None, board="esp32-epd29-ina226", lang="zh")
    buf = bytearray(1024)
    state = bytes(buf[128 : net.format_state(buf, 128)])
    status = bytes(buf[128 : net.format_status(buf, 128, 0)])
    fields, notes = topics.parse("state", state)
    assert notes == [], notes
    assert fields["today_mwh"] == 12_345_678 and fields["lifetime_mwh"] == 5_000_123_456
    assert fields["co2_g"] == 2_653_065 and fields["factor_dg"] == 5306
    assert fields["power_w"] == 812.5 and fields["t"] == 782179200 + 946684800
    fields, notes = topics.parse("status", status)
    assert notes == [], notes
    assert fields["board"] == "esp32-epd29-ina226" and fields["lang"] == "zh"
    assert fields["faults"] == {"sensor": 1} and fields["last_fault"] == 'sensor: I2C "NACK"'
    assert (fields["screen"], fields["screen_lang"]) == (app.rotation.name, "zh")
    f = model.Fleet()
    f.on_message("sunprint/sp-1/state", state)
    f.on_message("sunprint/sp-1/status", status)
    unit = f.units["sp-1"]
    assert not unit.flags and not unit.notes, (unit.flags, unit.notes)


@pytest.mark.parametrize(
    "payload, why",
    [
        (b"{nope", "not JSON"),
        (b"[1, 2]", "not an object"),
        (b"\xff\xfe", "not UTF-8"),
        (b'{"t": NaN}', "not JSON"),
        (b"x" * (topics.MAX_PAYLOAD + 1), "payload of"),
        (b"[" * 3000, "not JSON"),  # nested deeper than the parser recurses
        (b"", "empty payload"),
    ],
)
def test_a_malformed_payload_is_refused_whole(payload, why):
    with pytest.raises(topics.TopicError, match=why):
        topics.parse("state", payload)


def test_bad_values_are_left_out_and_said():
    fields, notes = topics.parse(
        "state",
        b'{"t": "soon", "power_w": true, "today_kwh": "1.2.3", "lifetime_kwh": "1.0000001",'
        b' "factor": 530.6, "extra": 1}',
    )
    assert fields == {"factor_dg": 5306, "lifetime_mwh": 1_000_000}
    text = " ".join(notes)
    assert "'t'" in text and "'power_w'" in text and "'today_kwh'" in text
    assert "more decimals" in text
    fields, notes = topics.parse(
        "status", b'{"lang": "fr", "faults": {"a": -1, "b": 2}, "free_heap": 1.5}'
    )
    assert fields == {"faults": {"b": 2}} and len(notes) == 3


def test_topics_that_are_not_unit_topics():
    for topic in ("sunprint/a", "sunprint/a/b/c", "other/a/state", "sunprint//state",
                  "sunprint/+/state", "sunprint/%s/state" % ("x" * 65), "sunprint/a/log"):  # fmt: skip
        with pytest.raises(topics.TopicError):
            topics.split(topic)
    assert topics.split("sunprint/<i>x&-1/state") == ("<i>x&-1", "state")


def test_nonsense_is_flagged():
    f = model.Fleet()
    feed(f, "u", "state", STATE)
    assert f.units["u"].flags == {}
    feed(f, "u", "state", dict(STATE, lifetime_mwh=STATE["lifetime_mwh"] - 1))
    feed(f, "u", "state", dict(STATE, factor_dg=5000))
    flags = {k: v[1] for k, v in f.units["u"].flags.items()}
    assert "lifetime went down: 5000.123456 -> 5000.123455 kWh" == flags["lifetime"]
    assert "500.0 g/kWh" in flags["factor"] and "not in the firmware's table" in flags["factor"]
    # a factor of the table with another row's source is flagged too; the table's own is not
    g = model.Fleet()
    feed(
        g,
        "v",
        "state",
        dict(
            STATE,
            factor_dg=3869,
            factor_source="MEE/NBS, China Southern grid regional emission factor 2022",
        ),
    )
    assert g.units["v"].flags == {}
    feed(g, "v", "state", dict(STATE, factor_dg=3869, factor_source="US EIA 2023"))
    assert "factor" in g.units["v"].flags


def test_fault_history_from_status_counts():
    f = model.Fleet()
    feed(f, "u", "state", STATE)
    feed(f, "u", "status", dict(STATUS, faults={"sensor": 1}, last_fault="sensor: ETIMEDOUT"))
    feed(f, "u", "status", dict(STATUS, faults={"sensor": 1}))
    feed(
        f,
        "u",
        "status",
        dict(STATUS, faults={"sensor": 3, "panel": 1}, last_fault="panel: busy timeout"),
    )
    got = [(what, n, last) for _, _, what, n, last in f.units["u"].faults]
    assert got == [("sensor", 1, "sensor: ETIMEDOUT"), ("sensor", 2, "panel: busy timeout"),
                   ("panel", 1, "panel: busy timeout")]  # fmt: skip


def test_ten_thousand_topics_from_one_client_stay_bounded():
    f = model.Fleet(max_units=100)
    tracemalloc.start()
    for i in range(10_000):
        feed(f, "flood-%05d" % i, "state", STATE)
        f.on_message("sunprint/flood-%05d/junk" % i, b"x")
        f.on_message("elsewhere/%d" % i, b"x")
    size, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(f.units) == 100
    assert f.ignored["more than 100 units: unit not kept"] == 9_900
    assert (
        f.ignored["unknown kind 'junk' (expected availability/state/status)".split(" (")[0]]
        == 10_000
    )
    assert f.ignored["not a unit topic"] == 10_000
    assert len(f.ignored_recent) == model.IGNORED_KEPT
    assert peak < 5_000_000, peak  # 100 units and counters, not 30,000 messages
    page = TestClient(FleetApp(f).app).get("/").text
    assert "9900 &times; more than 100 units: unit not kept" in page


def test_a_unit_id_with_html_is_escaped_everywhere():
    f = model.Fleet()
    uid = "<img src=x onerror=alert(1)>"
    feed(f, uid, "state", STATE)
    feed(f, uid, "status", dict(STATUS, last_fault="<script>alert(2)</script>", faults={"<b>": 1}))
    c = TestClient(FleetApp(f).app)
    for path in ("/", "/table", "/unit/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E"):
        r = c.get(path)
        assert r.status_code == 200
        assert "<img src=x" not in r.text and "<script>alert" not in r.text and "<b>" not in r.text
        assert "&lt;img src=x onerror=alert(1)&gt;" in r.text
    assert c.get("/unit/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E/sign.png").status_code == 200
    assert c.get("/unit/%3Cscript%3E").status_code == 404


def test_registry_join_and_bad_rows(tmp_path):
    path = tmp_path / "units.csv"
    ok = {"time": "2026-12-07T10:00:00", "port": "/dev/ttyUSB0", "mac": "24:0a:c4:12:34:56",
          "chip": "ESP32", "board": "esp32-epd29-ina226", "firmware_sha256": "ab" * 32,
          "app_version": "0.1.0", "config_hash": "cd" * 32, "result": "ok",
          "message": "flashed; config written (unit roof-7, MEE/NBS 2023)"}  # fmt: skip
    registry.append(path, ok)
    registry.append(path, dict(ok, mac="24:0a:c4:ab:cd:ef", message="flashed"))
    registry.append(path, dict(ok, mac="", message="no unit"))
    with open(path, "a") as fh:
        fh.write("too,few,fields\n")
        fh.write('"unterminated,quote\n')
    f = model.Fleet(registry_path=path)
    assert set(f.registry_rows) == {"roof-7", "sp-abcdef"}
    notes = "\n".join(f.registry_notes)
    assert "line 4: no unit id and no MAC" in notes and "line 5: 3 fields" in notes
    feed(f, "roof-7", "state", STATE)
    c = TestClient(FleetApp(f).app)
    units = {u["id"]: u for u in c.get("/api/units").json()["units"]}
    assert units["roof-7"]["cls"] == "online" and units["sp-abcdef"]["cls"] == "never"
    page = c.get("/unit/roof-7").text
    assert "24:0a:c4:12:34:56" in page and "cd" * 32 in page and "/dev/ttyUSB0" in page
    assert "Registry rows ignored" in c.get("/").text
    never = c.get("/unit/sp-abcdef")  # flashed, never seen: its page has the registry row
    assert never.status_code == 200 and "24:0a:c4:ab:cd:ef" in never.text
    assert "no picture" in never.text


def test_stale_after_the_configured_time():
    now = [1000.0]
    f = model.Fleet(stale_after_s=30, clock=lambda: now[0])
    feed(f, "u", "state", STATE)
    c = TestClient(FleetApp(f).app)
    assert c.get("/api/units").json()["units"][0]["cls"] == "online"
    now[0] += 31
    u = c.get("/api/units").json()["units"][0]
    assert u["cls"] == "stale" and u["seen"] == "31 s ago"
    assert (
        'stale</strong> when nothing came from it for\n<span id="stale-after">30</span> s'
        in c.get("/").text
    )


def test_day_plot_and_history_bounds():
    f = model.Fleet()
    for i in range(3000):  # 3000 readings 30 s apart: thinned to one a minute, a day at most
        feed(f, "u", "state", dict(STATE, t=STATE["t"] + 30 * i, today_mwh=1000 * i))
    u = f.units["u"]
    assert len(u.hist_t) <= model.HISTORY_POINTS
    assert all(b - a >= 30 for a, b in zip(u.hist_t, u.hist_t[1:], strict=False))
    feed(f, "u", "state", dict(STATE, t=STATE["t"] + 90_000, today_mwh=0))  # a new day
    assert len(u.hist_t) == 1
    r = TestClient(FleetApp(f).app).get("/unit/u/plot.png")
    assert r.status_code == 200 and r.content[:8] == b"\x89PNG\r\n\x1a\n"


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50),
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=12), kids, max_size=4)
    ),
    max_leaves=12,
)
_keys = st.sampled_from(["t", "power_w", "today_kwh", "lifetime_kwh", "co2_kg", "factor",
                         "factor_source", "faults", "board", "lang", "free_heap", "x"])  # fmt: skip


@settings(max_examples=100, deadline=None)
@given(kind=st.sampled_from(topics.KINDS), obj=st.dictionaries(_keys, _json_values, max_size=8),
       raw=st.binary(max_size=64))  # fmt: skip
def test_any_payload_is_parsed_or_refused_never_raises(kind, obj, raw):
    f = model.Fleet()
    for payload in (json.dumps(obj, allow_nan=True).encode(), raw):
        try:
            fields, notes = topics.parse(kind, payload)
        except topics.TopicError:
            pass
        else:
            assert isinstance(fields, dict) and all(isinstance(n, str) for n in notes)
        f.on_message("sunprint/u/%s" % kind, payload)  # and the model takes it, whatever it is
    assert set(f.units) <= {"u"}


_big = st.integers(min_value=-(10**18), max_value=10**18)


@settings(max_examples=25, deadline=None)
@given(power=st.floats(-1e15, 1e15), today=_big, life=_big, co2=_big, factor=st.integers(-(10**9), 10**9),
       source=st.text(max_size=30), last_fault=st.text(max_size=300), heap=st.integers(0, 10**12))  # fmt: skip
def test_any_published_numbers_draw_a_picture(
    power, today, life, co2, factor, source, last_fault, heap
):
    f = model.Fleet()
    c = TestClient(FleetApp(f).app)
    feed(f, "u", "status", dict(STATUS, last_fault=last_fault, free_heap=heap, faults={"x": 10**9}))
    feed(f, "u", "state", {"t": 1, "power_w": power, "today_mwh": today, "lifetime_mwh": life,
                           "co2_g": co2, "coal_g": co2, "factor_dg": factor, "factor_source": source})  # fmt: skip
    for screen, lang in (("main", "zh"), ("total", "en"), ("carbon", "zh"), ("status", "zh")):
        r = c.get("/unit/u/sign.png", params={"screen": screen, "lang": lang})
        assert r.status_code == 200 and r.content[:4] == b"\x89PNG"
    assert c.get("/unit/u").status_code == 200


def test_the_table_picture_is_the_screen_the_unit_shows_now():
    # issue 19: "what its panel shows right now": the unit's status names its current screen
    f = model.Fleet()
    c = TestClient(FleetApp(f).app)
    feed(f, "u", "status", dict(STATUS, screen="carbon", screen_lang="en"))
    feed(f, "u", "state", STATE)
    shown = c.get("/unit/u/sign.png").content
    assert shown == c.get("/unit/u/sign.png", params={"screen": "carbon", "lang": "en"}).content
    assert shown != c.get("/unit/u/sign.png", params={"screen": "main", "lang": "zh"}).content
    feed(f, "u", "status", dict(STATUS, screen="nope", screen_lang="en"))  # not in its rotation
    first = c.get("/unit/u/sign.png").content
    assert first == c.get("/unit/u/sign.png", params={"screen": "main", "lang": "zh"}).content
