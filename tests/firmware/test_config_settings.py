# What a unit is built with: config.unit_settings(config, profile), the one rule main.py and
# `sunprint replay` share; and the version 2 -> 3 migration of the keys a board profile's layout
# also has. Runs under CPython and MicroPython.
import json

from sunprint.core import carbon, config

LED = {"layout": {"language": "en", "sample_period_s": 10, "screen_period_s": 5}}
EPD = {"layout": {"language": "both", "sample_period_s": 10, "screen_period_s": 300}}
BARE = {"display": {}, "sensors": []}  # a profile without a layout


def _settings(profile, **changes):
    d = {"version": 3}
    for k in changes:
        d[k] = changes[k]
    s, faults = config.unit_settings(config.parse(json.dumps(d)), profile)
    return s, faults


def test_the_defaults_build_what_the_profile_says():
    s, faults = _settings(LED)
    assert faults == []
    assert (s["sample_period_s"], s["screen_period_s"], s["language"]) == (10, 5, "en")
    s, _ = _settings(EPD)
    assert (s["sample_period_s"], s["screen_period_s"], s["language"]) == (10, 300, "both")
    s, _ = _settings(BARE)
    assert (s["sample_period_s"], s["screen_period_s"], s["language"]) == (10, 300, "both")
    assert s["tz_offset_s"] == 8 * 3600 and s["carbon_row"] == carbon.factor("CN", 2023)
    assert s["coal_dg_per_kwh"] == carbon.COAL_DG_PER_KWH == 3055
    assert s["tree_dg_co2_per_year"] == carbon.TREE_DG_CO2_PER_YEAR == 183000
    assert s["max_gap_s"] == 300 and s["persist_interval_s"] == 600 and s["persist_wh"] == 10


def test_config_json_wins_over_the_profile_layout():
    s, faults = _settings(LED, sample_period_s=20, screen_period_s=60, language="zh")
    assert faults == []
    assert (s["sample_period_s"], s["screen_period_s"], s["language"]) == (20, 60, "zh")
    s, _ = _settings(BARE, screen_period_s=7)
    assert s["screen_period_s"] == 7 and s["sample_period_s"] == 10


def test_every_other_key_is_config_json_alone():
    s, _ = _settings(
        EPD,
        tz_offset_min=60,
        carbon_region="US",
        carbon_year=2023,
        coal_gce_per_kwh=300.25,
        tree_kg_co2_per_year=21.7,
        max_gap_s=120,
        persist_interval_s=900,
        persist_wh=50,
    )
    assert s["tz_offset_s"] == 3600 and s["carbon_row"] == carbon.factor("US", 2023)
    assert s["coal_dg_per_kwh"] == 3002 or s["coal_dg_per_kwh"] == 3003  # 300.25 rounded
    assert s["tree_dg_co2_per_year"] == 217000
    assert s["max_gap_s"] == 120 and s["persist_interval_s"] == 900 and s["persist_wh"] == 50


def test_max_gap_below_twice_the_boards_period_is_raised_with_a_fault():
    slow = {"layout": {"sample_period_s": 100}}
    s, faults = _settings(slow, max_gap_s=150)
    assert s["max_gap_s"] == 200 and s["sample_period_s"] == 100
    assert faults == [
        "config.json: key 'max_gap_s': 150 is less than twice the board's "
        "sample_period_s (100); 200 used"
    ], faults
    s, faults = _settings(slow, max_gap_s=150, sample_period_s=60)
    assert faults == [] and s["max_gap_s"] == 150


def test_a_config_without_its_factor_row_gets_the_default_row_and_a_fault():
    d = config.defaults()
    d["carbon_year"] = 1990  # a config validated against another factor table
    s, faults = config.unit_settings(d, EPD)
    assert s["carbon_row"] == carbon.factor() and len(faults) == 1, faults
    assert faults[0].startswith("config.json: key 'carbon_year': ") and "1990" in faults[0]


def test_every_settings_fault_is_kept():
    # a factor row the table lacks AND max_gap_s below twice the board's period: two faults
    d = config.defaults()
    d["carbon_year"] = 1990
    d["max_gap_s"] = 150
    s, faults = config.unit_settings(d, {"layout": {"sample_period_s": 100}})
    assert s["carbon_row"] == carbon.factor() and s["max_gap_s"] == 200
    assert len(faults) == 2, faults
    assert faults[0].startswith("config.json: key 'carbon_year': "), faults
    assert faults[1].startswith("config.json: key 'max_gap_s': 150 "), faults


def test_version_2_layout_keys_at_their_old_defaults_mean_the_boards():
    # what `sunprint flash` wrote into every version 2 file: they did nothing then, and
    # still leave the board's value in force
    v2 = {"version": 2, "sample_period_s": 10, "screen_period_s": 300, "language": "both"}
    d = config.parse(json.dumps(v2))
    assert d["version"] == 3
    assert (d["sample_period_s"], d["screen_period_s"], d["language"]) == (None, None, None)
    s, _ = config.unit_settings(d, LED)
    assert (s["screen_period_s"], s["language"]) == (5, "en")
    # a value someone chose is kept, and now drives the unit
    d = config.parse(json.dumps({"version": 2, "screen_period_s": 30, "language": "zh"}))
    assert (d["screen_period_s"], d["language"]) == (30, "zh")
    d = config.parse('{"version": 1, "screen_period_s": 300, "tz": "+08:00"}')
    assert d["screen_period_s"] is None and d["tz_offset_min"] == 480
    # version 3 says what it means: 300 is 300
    assert config.parse('{"version": 3, "screen_period_s": 300}')["screen_period_s"] == 300


def test_null_is_only_for_the_layout_keys():
    assert config.parse('{"version": 3, "language": null}')["language"] is None
    for key in ("persist_wh", "max_gap_s", "coal_gce_per_kwh", "site", "carbon_region"):
        try:
            config.parse('{"version": 3, "%s": null}' % key)
        except config.ConfigError as e:
            assert e.key == key and "got null" in str(e), str(e)
        else:
            raise AssertionError("null accepted for " + key)
