# The device config: format versions, migration from version 1, the device rule load(), and
# dumps(). Runs under CPython and MicroPython.
import json

from config_cases import WIDER, config_error, config_text, with_factors

from sunprint.core import carbon, config


def test_version_is_required_and_checked():
    e = config_error('{"persist_wh": 10}')
    assert e.key == "version" and "key 'version' is missing" in str(e), str(e)
    e = config_error('{"version": 7}')
    assert e.key == "version"
    assert str(e) == "config.json: version 7 is newer than this firmware (3)", str(e)
    e = config_error('{"version": 0}')
    assert e.key == "version" and "not a format version (1..3)" in str(e), str(e)
    assert config_error('{"version": "2"}').key == "version"
    assert config_error('{"version": 2.0}').key == "version"


def test_migrate_v1_time_zones():
    cases = (
        ("+08:00", 480),
        ("-05:00", -300),
        ("+05:30", 330),
        ("-03:30", -210),
        ("+05:45", 345),
        ("+00:00", 0),
        ("-00:30", -30),
        ("+14:00", 840),
        ("-12:00", -720),
    )
    for tz, minutes in cases:
        d = config.parse(json.dumps({"version": 1, "tz": tz}))
        assert d["tz_offset_min"] == minutes, (tz, d["tz_offset_min"])
        assert d["version"] == 3 and "tz" not in d
    for bad in ("8", "+8:00", "08:00", "+08:60", "+15:00", "-12:30", "+08-00", "UTC+8", 8):
        e = config_error(json.dumps({"version": 1, "tz": bad}))
        assert e.key == "tz", (bad, str(e))
        assert "key 'tz'" in str(e), str(e)


def test_migrate_v1_factor_and_other_keys():
    v1 = {"version": 1, "tz": "+08:00", "factor_kg_per_kwh": 0.5306, "unit_id": "zs-01"}
    d = config.parse(json.dumps(v1))
    assert (d["carbon_region"], d["carbon_year"]) == ("CN", 2023)
    assert d["unit_id"] == "zs-01" and d["tz_offset_min"] == 480
    assert "factor_kg_per_kwh" not in d
    assert v1["version"] == 1 and "tz" in v1  # migrate copies, never edits its argument
    m = config.migrate(v1)
    assert m["version"] == 3 and m["carbon_year"] == 2023 and "site" not in m
    assert config.migrate({"version": 2, "site": "x"}) == {"version": 3, "site": "x"}
    assert config.migrate({"version": 3, "site": "x"}) == {"version": 3, "site": "x"}
    # a version 1 file without them takes the defaults
    assert config.parse('{"version": 1}') == config.defaults()


def test_migrate_v1_maps_every_factor_of_the_table():
    for row in carbon.FACTORS:
        d = config.parse(json.dumps({"version": 1, "factor_kg_per_kwh": row[2] / 10000}))
        got = carbon.factor(d["carbon_region"], d["carbon_year"])
        assert got[2] == row[2], (row, got)
        if len([r for r in carbon.FACTORS if r[2] == row[2]]) == 1:
            assert got == row, (row, got)


def test_migrate_v1_unknown_factor_names_the_key():
    for bad in (0.6, 0.53, "0.5306", True, -1, 0):
        e = config_error(json.dumps({"version": 1, "factor_kg_per_kwh": bad}))
        assert e.key == "factor_kg_per_kwh", (bad, str(e))
        assert "key 'factor_kg_per_kwh'" in str(e), str(e)
    msg = str(config_error('{"version": 1, "factor_kg_per_kwh": 0.6}'))
    assert "matches no row of carbon.FACTORS" in msg and "CN 2023: 0.5306" in msg, msg


def test_migrate_v1_rejects_version_2_keys():
    e = config_error('{"version": 1, "tz_offset_min": 480}')
    assert e.key == "tz_offset_min" and "not a version 1 key" in str(e), str(e)


def test_migrate_v1_factor_with_a_wider_table():
    def check():
        def row(f):
            d = config.parse(json.dumps({"version": 1, "factor_kg_per_kwh": f}))
            return d["carbon_region"], d["carbon_year"]

        assert row(0.581) == ("CN", 2021)
        assert row(0.3921) == ("CN-South", 2022)
        assert row(0.371) == ("US", 2023)
        # 0.5703 is CN 2022 and CN-South 2023: the national grid wins
        assert row(0.5703) == ("CN", 2022)

    with_factors(WIDER, check)
    table = (("CN-South", 2022, 4000, "t"), ("CN-South", 2023, 4000, "t"), ("US", 2023, 5306, "t"))

    def latest():
        d = config.parse('{"version": 1, "factor_kg_per_kwh": 0.4}')
        assert (d["carbon_region"], d["carbon_year"]) == ("CN-South", 2023)

    with_factors(table, latest)


def _raiser(exc):
    def read():
        raise exc

    return read


def test_load_no_file_on_first_boot_gives_defaults_and_no_fault():
    def read():
        with open("no-such-config.json") as f:
            return f.read()

    assert config.load(read) == (config.defaults(), None)
    assert config.load(_raiser(OSError(2))) == (config.defaults(), None)


def test_load_a_file_gone_keeps_the_previous_config_and_reports():
    prev = config.parse(config_text(unit_id="prev"))
    cfg, fault = config.load(_raiser(OSError(2)), prev)
    assert cfg is prev
    assert fault == "config.json: missing; the previous config stays in use", fault


def test_load_a_good_file():
    with open("config.json", "w") as f:
        f.write(config_text(unit_id="zs-02", persist_wh=20))

    def read():
        with open("config.json") as f:
            return f.read()

    cfg, fault = config.load(read)
    assert fault is None and cfg["unit_id"] == "zs-02" and cfg["persist_wh"] == 20


def test_load_a_bad_file_keeps_the_previous_config_and_reports():
    prev = config.parse(config_text(unit_id="prev"))
    bad = config_text(persist_wh=5000)
    cfg, fault = config.load(lambda: bad, prev)
    assert cfg is prev
    assert fault == "config.json: key 'persist_wh': 5000 is out of range 1..1000", fault
    cfg, fault = config.load(lambda: bad)
    assert cfg == config.defaults() and fault is not None
    cfg, fault = config.load(lambda: "{", prev)
    assert cfg is prev and fault.startswith("config.json: not valid JSON"), fault
    assert "\n" not in fault


def test_load_never_raises():
    prev = config.defaults()
    for read in (_raiser(OSError(5)), _raiser(ValueError("bad\nbytes")), _raiser(KeyError("k"))):
        cfg, fault = config.load(read, prev)
        assert cfg is prev and fault.startswith("config.json: "), fault
        assert "\n" not in fault, fault
    cfg, fault = config.load(_raiser(OSError(5)))
    assert cfg == config.defaults() and "cannot read" in fault, fault
    cfg, fault = config.load(lambda: 42)  # not text at all
    assert cfg == config.defaults() and fault is not None


def test_dumps_is_canonical_and_round_trips():
    text = config.dumps(config.defaults())
    assert text == (
        "{\n"
        '  "carbon_region": "CN",\n'
        '  "carbon_year": 2023,\n'
        '  "clock_sources": null,\n'
        '  "coal_gce_per_kwh": 305.5,\n'
        '  "language": null,\n'
        '  "max_gap_s": 300,\n'
        '  "mqtt_discovery": true,\n'
        '  "mqtt_host": "",\n'
        '  "mqtt_password": "",\n'
        '  "mqtt_period_s": 60,\n'
        '  "mqtt_port": 1883,\n'
        '  "mqtt_prefix": "sunprint",\n'
        '  "mqtt_user": "",\n'
        '  "ntp_host": "pool.ntp.org",\n'
        '  "persist_interval_s": 600,\n'
        '  "persist_wh": 10,\n'
        '  "sample_period_s": null,\n'
        '  "screen_period_s": null,\n'
        '  "site": "",\n'
        '  "tree_kg_co2_per_year": 18.3,\n'
        '  "tz_offset_min": 480,\n'
        '  "unit_id": "sunprint",\n'
        '  "version": 3,\n'
        '  "wifi_password": "",\n'
        '  "wifi_ssid": ""\n'
        "}\n"
    ), text
    assert config.parse(text) == config.defaults()
    d = config.parse(
        config_text(site='小榄 "east" \\ gate', coal_gce_per_kwh=300, tz_offset_min=-210)
    )
    text = config.dumps(d)
    assert '"site": "小榄 \\"east\\" \\\\ gate",' in text, text
    assert config.parse(text) == d
    assert config.dumps(config.parse(text)) == text


def test_dumps_refuses_an_invalid_config():
    d = config.defaults()
    d["persist_wh"] = 0
    try:
        config.dumps(d)
    except config.ConfigError as e:
        assert e.key == "persist_wh"
    else:
        raise AssertionError("dumps wrote an invalid config")
