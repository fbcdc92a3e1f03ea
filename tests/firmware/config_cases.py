# Shared by test_config.py and test_config_migrate.py (two files: each must fit beside
# sunprint.core.config in an ESP32-sized heap): a made-up factor table, a config.json text, and
# the one-line error a bad one gives. CPython and MicroPython.
import json

from sunprint.core import carbon, config

# A made-up factor table with several regions and years, where two rows share one factor
# (0.5703): tests swap it in for carbon.FACTORS, so they do not depend on the real rows.
WIDER = (
    ("CN", 2021, 5810, "test row"),
    ("CN", 2022, 5703, "test row"),
    ("CN", 2023, 5306, "test row"),
    ("CN-South", 2022, 3921, "test row"),
    ("CN-South", 2023, 5703, "test row"),
    ("US", 2023, 3710, "test row"),
)


def config_text(**changes):
    """A version 3 config.json with these keys."""
    d = {"version": 3}
    for k in changes:
        d[k] = changes[k]
    return json.dumps(d)


def config_error(text):
    """The ConfigError parsing text raises: one line, naming config.json."""
    try:
        config.parse(text)
    except config.ConfigError as e:
        msg = str(e)
        assert msg.startswith("config.json: "), msg
        assert "\n" not in msg, msg
        return e
    raise AssertionError("no ConfigError for %s" % text)


def with_factors(table, fn):
    """fn() with table as carbon.FACTORS."""
    saved = carbon.FACTORS
    carbon.FACTORS = table
    try:
        fn()
    finally:
        carbon.FACTORS = saved
