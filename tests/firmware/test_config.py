# The device config: schema, types, ranges, unknown keys, JSON syntax. Runs under CPython and
# MicroPython. Versions, migration, load() and dumps() are in test_config_migrate.py (two files:
# each must fit beside sunprint.core.config in an ESP32-sized heap).
import json

from config_cases import WIDER, config_error, config_text, with_factors

from sunprint.core import carbon, config


def _key_error(key, value):
    e = config_error(config_text(**{key: value}))
    assert e.key == key, (key, value, e.key, str(e))
    assert "'%s'" % key in str(e), str(e)
    return str(e)


def _validate_error(d, what):
    """The ConfigError config.validate(d) raises; what names the case if it raises none."""
    try:
        config.validate(d)
    except config.ConfigError as e:
        return e
    raise AssertionError(what + " accepted by validate")


def test_defaults_are_valid_and_complete():
    d = config.defaults()
    assert config.VERSION == 3 and d["version"] == 3
    assert sorted(d) == sorted([row[0] for row in config.SCHEMA])
    assert config.validate(d) is d
    assert config.parse('{"version": 3}') == d
    assert config.parse('{"version": 2}') == d
    assert config.defaults() is not config.defaults()
    assert d["tz_offset_min"] == 480 and d["carbon_region"] == "CN" and d["carbon_year"] == 2023
    assert d["coal_gce_per_kwh"] == 305.5 and d["tree_kg_co2_per_year"] == 18.3
    # null: the board profile's (config.unit_settings)
    assert d["language"] is None and d["sample_period_s"] is None
    assert d["screen_period_s"] is None


def test_schema_rows_are_data():
    for row in config.SCHEMA:
        key, kind, default, lo, hi, meaning = row
        kinds = ("int", "number", "str", "secret", "bool", "id", "enum", "region", "year")
        assert kind in kinds, row
        assert len(meaning) > 5, row
        if kind in ("int", "number") and default is not None:
            assert lo <= default <= hi, row
        if kind == "enum" and default is not None:
            assert default in hi, row


def test_given_values_override_defaults():
    d = config.parse(
        config_text(unit_id="zs-07", site="小榄镇 Xiaolan", persist_wh=50, language="zh")
    )
    assert d["unit_id"] == "zs-07" and d["site"] == "小榄镇 Xiaolan"
    assert d["persist_wh"] == 50 and d["language"] == "zh"
    assert d["sample_period_s"] is None  # a default: the board's


def test_every_key_rejects_a_wrong_type():
    wrong = {
        "int": "10",
        "year": "2023",
        "number": "305.5",
        "str": 5,
        "secret": 5,
        "bool": "true",
        "id": 5,
        "enum": 5,
        "region": ["CN"],
    }
    for row in config.SCHEMA:
        key, kind = row[0], row[1]
        if key == "version":
            continue
        msg = _key_error(key, wrong[kind])
        assert "expected a" in msg and "got " in msg, msg


def test_wrong_type_message():
    e = config_error(config_text(persist_wh="10"))
    assert str(e) == "config.json: key 'persist_wh': expected an integer, got \"10\"", str(e)
    assert e.key == "persist_wh"
    assert isinstance(e, ValueError)
    assert str(config_error(config_text(language=2))) == (
        "config.json: key 'language': expected a string, got 2"
    )


def test_every_numeric_key_rejects_below_min_and_above_max():
    checked = 0
    for row in config.SCHEMA:
        key, kind, lo, hi = row[0], row[1], row[3], row[4]
        if kind not in ("int", "number") or key == "version":
            continue
        step = 1 if kind == "int" else 0.5
        for bad in (lo - step, hi + step):
            msg = _key_error(key, bad)
            assert "is out of range %s..%s" % (lo, hi) in msg, msg
        for good in (lo, hi):
            # max_gap_s >= 2 * sample_period_s: the top half of sample_period_s is only
            # reachable with a max_gap_s beyond its range (see the cross-key test)
            if key == "sample_period_s" and good > 1800:
                good = 1800
            d = {"version": 3, "sample_period_s": 1, "max_gap_s": 3600, key: good}
            assert config.parse(json.dumps(d))[key] == good, (key, good)
        checked += 1
    assert checked == 10, checked


def test_out_of_range_message():
    e = config_error(config_text(persist_wh=5000))
    assert str(e) == "config.json: key 'persist_wh': 5000 is out of range 1..1000", str(e)
    msg = str(config_error(config_text(coal_gce_per_kwh=99.5)))
    assert msg == "config.json: key 'coal_gce_per_kwh': 99.5 is out of range 100..500", msg


def test_bool_is_not_an_int_nor_a_number():
    msg = _key_error("persist_wh", True)
    assert msg == "config.json: key 'persist_wh': expected an integer, got true", msg
    _key_error("carbon_year", False)
    _key_error("coal_gce_per_kwh", True)
    _key_error("version", True)


def test_ints_are_numbers_but_decimals_are_not_ints():
    d = config.parse(config_text(coal_gce_per_kwh=300, tree_kg_co2_per_year=20))
    assert d["coal_gce_per_kwh"] == 300 and d["tree_kg_co2_per_year"] == 20
    msg = _key_error("persist_interval_s", 600.0)
    assert "expected an integer, got 600.0" in msg, msg


def test_infinity_and_nan_are_rejected():
    # NaN and Infinity are not JSON (CPython's json would read them): syntax errors
    assert config_error('{"version": 2, "coal_gce_per_kwh": Infinity}').key is None
    msg = str(config_error('{"version": 2, "coal_gce_per_kwh": 1e400}'))
    assert "coal_gce_per_kwh" in msg and "out of range" in msg, msg
    d = config.defaults()
    d["tree_kg_co2_per_year"] = float("nan")
    e = _validate_error(d, "NaN")
    assert e.key == "tree_kg_co2_per_year" and "NaN" in str(e), str(e)


def test_enum_lists_the_allowed_values():
    msg = _key_error("language", "de")
    assert msg == 'config.json: key \'language\': "de" is not one of "zh", "en", "both"', msg
    for ok in ("zh", "en", "both"):
        assert config.parse(config_text(language=ok))["language"] == ok


def test_unit_id_length_and_characters():
    assert config.parse(config_text(unit_id="ZS_unit-07"))["unit_id"] == "ZS_unit-07"
    assert config.parse(config_text(unit_id="x" * 32))["unit_id"] == "x" * 32
    msg = _key_error("unit_id", "")
    assert '"" is 0 characters, allowed 1..32' in msg, msg
    msg = _key_error("unit_id", "x" * 33)
    assert "33 characters, allowed 1..32" in msg, msg
    msg = _key_error("unit_id", "zs 07")
    assert msg == (
        "config.json: key 'unit_id': \"zs 07\" has U+0020 at position 3; "
        "allowed: letters A-Z a-z, digits, '_' and '-'"
    ), msg
    msg = _key_error("unit_id", "小榄")
    assert "U+5C0F at position 1" in msg, msg
    _key_error("unit_id", "a.b")


def test_site_length_in_characters_and_no_control_characters():
    assert config.parse(config_text(site=""))["site"] == ""
    assert config.parse(config_text(site="榄" * 64))["site"] == "榄" * 64
    msg = _key_error("site", "榄" * 65)
    assert "65 characters, allowed 0..64" in msg and "..." in msg, msg
    msg = _key_error("site", "line\nbreak")
    assert "control character U+000A at position 5" in msg, msg


def test_region_and_year_come_from_carbon_factors():
    for row in carbon.FACTORS:
        d = config.parse(config_text(carbon_region=row[0], carbon_year=row[1]))
        assert (d["carbon_region"], d["carbon_year"]) == (row[0], row[1])
    msg = _key_error("carbon_region", "XX")
    assert '"XX" is not a region of carbon.FACTORS: "CN"' in msg, msg
    msg = _key_error("carbon_year", 1999)
    assert '1999 has no emission factor for carbon_region "CN"' in msg and "2023" in msg, msg


def test_region_and_year_follow_a_wider_factor_table():
    def check():
        d = config.parse(config_text(carbon_region="CN-South", carbon_year=2022))
        assert (d["carbon_region"], d["carbon_year"]) == ("CN-South", 2022)
        assert (
            config.parse(config_text(carbon_region="US", carbon_year=2023))["carbon_region"] == "US"
        )
        assert config.parse(config_text(carbon_year=2021))["carbon_year"] == 2021
        msg = _key_error("carbon_region", "cn-south")
        assert '"CN", "CN-South", "US"' in msg, msg
        e = config_error(config_text(carbon_region="US", carbon_year=2022))
        assert e.key == "carbon_year" and "years: 2023" in str(e), str(e)
        e = config_error(config_text(carbon_region="CN-South", carbon_year=2021))
        assert "years: 2022, 2023" in str(e), str(e)

    with_factors(WIDER, check)


def test_unknown_key_is_an_error_with_a_suggestion():
    e = config_error(config_text(persit_wh=10))
    assert e.key == "persit_wh"
    assert str(e) == "config.json: unknown key 'persit_wh' (did you mean 'persist_wh'?)", str(e)
    assert "did you mean 'language'?" in str(config_error(config_text(Language="en")))
    assert "did you mean 'sample_period_s'?" in str(config_error(config_text(sampel_period_s=10)))
    msg = str(config_error(config_text(brightness=3)))
    assert msg == "config.json: unknown key 'brightness'", msg
    msg = str(config_error(config_text(tz="+08:00")))
    assert "unknown key 'tz' (a version 1 key: version 2 has tz_offset_min)" in msg, msg
    # unknown keys are reported before bad values
    assert config_error(config_text(persist_wh=5000, zzz=1)).key == "zzz"


def test_broken_json_is_an_error_without_a_key():
    # some of these MicroPython's json module would read without complaint
    broken = (
        '{"version": 2, "persist_wh": }',
        '{"version" 2}',
        '{"version": 2 "site": "x"}',
        '{"version": 2, "site": [1 2]}',
        '{"version": 2,}',
        '{"version": 02}',
        '{"version": 2, "coal_gce_per_kwh": NaN}',
        '{"version": 2, "site": "a\\qb"}',
        '{"version": 2, "site": "open}',
        '{"version": 2} x',
        "{'version': 2}",
        '{"version": 2, "site": [[[[[[[[[[1]]]]]]]]]]}',
        "",
        "{",
    )
    for text in broken:
        e = config_error(text)
        assert e.key is None, text
        assert str(e).startswith("config.json: not valid JSON: line "), str(e)
    e = config_error("[1, 2]")
    assert e.key is None and str(e) == "config.json: expected a JSON object {...}, got [1, 2]"


def test_json_errors_say_line_and_column():
    text = '{\n  "version": 2,\n  "site": "小榄",\n  "persist_wh": ,\n}\n'
    msg = str(config_error(text))
    assert msg == "config.json: not valid JSON: line 4 column 17: expected a value " + (
        '(a number, "text", true, false, null, [...] or {...})'
    ), msg
    msg = str(config_error('{"version": 2,\n "site": "x",\n}'))
    assert msg.endswith("line 3 column 1: a ',' before '}' (JSON has no trailing commas)"), msg
    msg = str(config_error('{"version": 2, "site": "a\nb"}'))
    assert "line 1 column 26: a control character in a string" in msg, msg
    msg = str(config_error('{"version": 2, "site": "x",\n "persist_wh": 1 "max_gap_s": 300}'))
    assert msg.endswith("line 2 column 18: expected ',' or '}'"), msg


def test_a_key_given_twice_is_an_error():
    e = config_error('{"version": 2,\n "persist_wh": 10,\n "site": "",\n "persist_wh": 20}')
    assert e.key == "persist_wh"
    assert str(e) == "config.json: key 'persist_wh' appears twice (lines 2 and 4)", str(e)


def test_a_key_given_twice_is_found_whatever_its_spelling():
    # JSON escapes spell one key many ways; json.loads keeps the last, so keys are compared
    # as json.loads reads them, not as they are written
    e = config_error('{"version": 2, "site": "a",\n "\\u0073ite": "b"}')
    assert e.key == "site", e.key
    assert str(e) == "config.json: key 'site' appears twice (lines 1 and 2)", str(e)
    # "version" spelled another way would switch the file to version 1 without a word
    e = config_error('{"version": 2, "\\u0076ersion": 1}')
    assert e.key == "version" and "key 'version' appears twice" in str(e), str(e)
    e = config_error('{"version": 2, "a\\/b": 1, "a/b": 2}')
    assert e.key == "a/b" and "appears twice" in str(e), str(e)
    # different keys stay different
    msg = str(config_error('{"version": 2, "si\\u0074e": "x", "sitE": "y"}'))
    assert "unknown key 'sitE'" in msg, msg


def _ascii(text):
    # a message that may hold lone surrogates, printable by both interpreters' runners
    return "".join(c if ord(c) < 128 else "\\u%04x" % ord(c) for c in text)


def test_a_key_spelled_with_a_surrogate_pair_is_the_same_verdict_in_both_interpreters():
    # "\ud83d\ude00" is one character, U+1F600, as CPython's json reads it (MicroPython's
    # json leaves two lone surrogates): a key given both ways is given twice, in both
    e = config_error('{"version": 2, "\\ud83d\\ude00": 1,\n "\U0001f600": 2}')
    assert "appears twice (lines 1 and 2)" in str(e), _ascii(str(e))
    assert e.key == "\U0001f600", _ascii(e.key)
    e = config_error('{"version": 2, "x\\ud83d": 1, "x\\ud83d": 2}')  # a lone surrogate, twice
    assert "appears twice" in str(e), _ascii(str(e))
    e = config_error('{"version": 2, "\\ud83d\\u0041": 1, "\\ud83dA": 2}')  # not a pair
    assert "appears twice" in str(e), _ascii(str(e))


def test_an_error_quotes_at_most_60_characters_of_any_key_or_value():
    long = "k" * 600
    digits = "1" + "0" * 300
    cases = (
        '{"version": 2, "%s": 1}' % long,  # an unknown key
        '{"version": 2, "%s": 1, "%s": 2}' % (long, long),  # a key given twice
        '{"version": 2, "site": "%s"}' % long,
        '{"version": 2, "unit_id": "%s"}' % long,
        '{"version": 2, "unit_id": "%s!"}' % ("k" * 30),
        '{"version": 2, "language": "%s"}' % long,
        '{"version": 2, "carbon_region": "%s"}' % long,
        '{"version": %s}' % digits,
        '{"version": -%s}' % digits,
        '{"version": 2, "carbon_year": %s}' % digits,
        '{"version": 2, "persist_wh": %s}' % digits,
        '{"version": 1, "tz": "%s"}' % long,
        '{"version": 1, "factor_kg_per_kwh": %s}' % digits,
    )
    for text in cases:
        msg = str(config_error(text))
        assert "k" * 61 not in msg and "0" * 61 not in msg, (text[:40], len(msg), msg[:120])


def test_bytes_byte_order_mark_and_bad_utf8():
    good = config_text(site="小榄").encode()
    assert config.parse(good)["site"] == "小榄"
    assert config.parse(b"\xef\xbb\xbf" + good)["site"] == "小榄"
    assert config.parse("\ufeff" + config_text(site="x"))["site"] == "x"
    e = config_error(b'{"version": 2, "site": "\xff"}')
    assert e.key is None and "not UTF-8 text" in str(e), str(e)
    e = config_error(42)  # type: ignore[arg-type]
    assert e.key is None and "expected text" in str(e), str(e)


def test_the_file_name_is_in_the_message():
    try:
        config.parse("{", name="/flash/config.json")
    except config.ConfigError as e:
        assert str(e).startswith("/flash/config.json: not valid JSON"), str(e)
    else:
        raise AssertionError("no error")


def test_max_gap_must_be_at_least_twice_the_sample_period():
    assert config.parse(config_text(sample_period_s=150, max_gap_s=300))["max_gap_s"] == 300
    e = config_error(config_text(sample_period_s=200, max_gap_s=300))
    assert e.key == "max_gap_s" and "twice sample_period_s (200)" in str(e), str(e)


def test_validate_wants_a_complete_current_config():
    d = config.defaults()
    del d["site"]
    e = _validate_error(d, "a missing key")
    assert e.key == "site" and "key 'site' is missing" in str(e), str(e)
    d = config.defaults()
    d["version"] = 1
    e = _validate_error(d, "version 1")
    assert e.key == "version" and "migrate" in str(e), str(e)
