"""Fuzzing the one profile check (firmware/sunprint/parts.py, run by `sunprint boards check` and
by the unit at boot) against the unit itself: bundled profiles with random fields changed,
removed or added. Whatever the check accepts must build with board.build on the fake machine
with the chip and panel models (host_tools.sim.rig) and run a few ticks; whatever it refuses
gets one line that names a field. And the file reader: random bytes, cut or spliced files give
a profile or a one-line error, never a traceback."""

import copy
import json
import math
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from host_tools import boards
from host_tools.errors import UserError
from host_tools.paths import FONTS, use_firmware

use_firmware()

NAME = "boards/x.json"
START = 782265600  # 2024-10-15 08:00 local (UTC+8), firmware seconds
PROFILES = {
    n: json.loads((boards.BOARDS / (n + ".json")).read_text()) for n in boards.board_names()
}
# the community board's meters are in its community section (test_community_profile.py)
SENSOR_PROFILES = {n: p for n, p in PROFILES.items() if p["sensors"]}
FIELD = re.compile(
    r"^boards/x\.json: (\(profile\)|[A-Za-z_][A-Za-z0-9_]*(\[\d+\])?(\.[^ :]+)*): \S"
)

# Values a person or a broken tool might write anywhere, and the schema's own edges.
HOSTILE = [
    None, True, False, 0, 1, -1, 2, 3, 7, 8, 16, 23, 24, 32, 64, 255, 256, 1000, 100000,
    2**31, 10**30, -(10**30), 0.5, 1e-300, -0.0, 1e6, 1e7, math.inf, -math.inf, math.nan,
    "", "x", "\u00b2\u00b3", "0" * 13, "forward", "combined", "energy", "energy_export",
    "top-left", "none", "even", "both", "sans16.bin", "../x.bin", [], ["x"], [[0, 8]],
    [[7, 60], [3, 8]], [0, 255, 60], [64, 8], [32, 8], {}, {"a": 1}, {"small": "sans12.bin"},
]  # fmt: skip


def _paths(obj, prefix=()):
    """Every (path) to a value in the profile, containers included."""
    out = []
    items = (
        obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    )
    for k, v in items:
        out.append(prefix + (k,))
        out.extend(_paths(v, prefix + (k,)))
    return out


def _schema_values():
    """{option name: its legal values and the ones just outside}, from the schema rows."""
    from sunprint import parts

    values = {}
    for row in parts.DISPLAYS + parts.SENSORS:
        for opt in row[-1]:
            a, b = opt[2], opt[3]
            v = values.setdefault(opt[0], [])
            if isinstance(a, tuple):
                v.extend(a)
            elif isinstance(a, (int, float)) and isinstance(b, (int, float)):
                v.extend(
                    (a, b, a - 1, b + 1, a + (b - a) // 2 if isinstance(a, int) else (a + b) / 2)
                )
    w = [-1000000, -1000001, -5, 0, 0.5, 1, 800, 999999.5, 1000000, 1000001]
    for key in ("min_w", "max_w", "max_step_w", "offset_w"):
        values[key] = w
    values["stuck_after"] = [0, 1, 30, 100000, 100001]
    values["gain"] = [0.01, 0.00999, 1, 1.0, 100, 100.5]
    return values


SCHEMA = _schema_values()
VALUES = HOSTILE + [x for v in SCHEMA.values() for x in v]


@st.composite
def mutated(draw):
    name = draw(st.sampled_from(sorted(PROFILES)))
    p = copy.deepcopy(PROFILES[name])
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(p)
        path = draw(st.sampled_from(paths))
        obj = p
        for k in path[:-1]:
            obj = obj[k]
        how = draw(st.sampled_from(("set", "set", "set", "delete", "add")))
        if how == "delete":
            del obj[path[-1]]
        elif how == "add" and isinstance(obj, dict):
            obj[draw(st.sampled_from(("bogus", "rated_w", "options", "calib", "health", "de")))] = (
                draw(st.sampled_from(VALUES))
            )
        elif SCHEMA.get(path[-1]) and draw(st.booleans()):  # near the field's own edges
            obj[path[-1]] = draw(st.sampled_from(SCHEMA[path[-1]]))
        else:
            obj[path[-1]] = copy.deepcopy(draw(st.sampled_from(VALUES)))
    return name, p


def _legal(opt):
    """A strategy for values the option's own schema row allows."""
    from sunprint import parts

    name, rule, a, b = opt
    rule &= 15
    if rule == parts._INT:
        return st.integers(a, b)
    if rule == parts._NUM:
        return st.floats(a, b, allow_nan=False) | st.integers(math.ceil(a), math.floor(b))
    if rule == parts._ONE_OF:
        return st.sampled_from(a)
    if rule == parts._BOOL:
        return st.booleans()
    if rule == parts._DIGITS:
        return st.text("0123456789", min_size=1, max_size=a)
    if rule == parts._RGB:
        return st.lists(st.integers(0, 255), min_size=3, max_size=3)
    hours = st.lists(st.integers(0, 23), min_size=1, max_size=24, unique=True).map(sorted)
    return hours.flatmap(
        lambda hs: st.lists(st.integers(0, 255), min_size=len(hs), max_size=len(hs)).map(
            lambda bs: [[h, v] for h, v in zip(hs, bs, strict=True)]
        )
    )


@st.composite
def legal_options(draw):
    """A bundled profile whose part options, health and calib are set to values each field's
    own rule allows (they may still clash with each other: the check then names one)."""
    from sunprint import parts

    name = draw(st.sampled_from(sorted(SENSOR_PROFILES)))
    p = copy.deepcopy(SENSOR_PROFILES[name])
    sensor = p["sensors"][0]
    for where, row in (
        (p["display"], parts.display(p["display"]["type"])),
        (sensor, parts.sensor(sensor["type"])),
    ):
        opts = where.setdefault("options", {})
        for opt in row[-1]:
            if draw(st.booleans()):
                opts[opt[0]] = draw(_legal(opt))
    if draw(st.booleans()):
        w = st.floats(-1e6, 1e6, allow_nan=False)
        sensor["health"] = {
            k: draw(w) for k in ("min_w", "max_w", "max_step_w") if draw(st.booleans())
        }
    if draw(st.booleans()):
        sensor["calib"] = {
            "gain": draw(st.floats(0.01, 100)),
            "offset_w": draw(st.floats(-1e6, 1e6)),
        }
    return name, p


def _no_wait(ms):
    pass


def _boot_and_tick(profile):
    from host_tools.sim import rig as rigmod
    from host_tools.sim.platform import machine as fake
    from sunprint.board import build

    clock = rigmod.Clock(START)
    rig = rigmod.wire(profile, clock, fake)
    unit = build(
        profile,
        fake,
        neopixel=rig.neopixel,
        esp32=rig.esp32,
        fonts_dir=str(FONTS),
        sleep_ms=_no_wait,
        ticks_ms=clock.ticks_ms,
        bus_sleep_ms=clock.block_ms,
    )
    try:
        rig.set_power(50.0)
        for _ in range(4):
            t = clock.now()
            wake = unit.app.tick(t)
            n = 0
            while wake <= t and n < 50:
                wake = unit.app.tick(t)
                n += 1
            clock.advance_ms(1000 * max(1, min(wake - t, 30)))
            rig.update()
    finally:
        unit.close()


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutated())
def test_accepted_profiles_boot_and_refused_ones_name_the_field(case):
    name, profile = case
    try:
        boards.validate(copy.deepcopy(profile), NAME)
    except UserError as e:
        msg = str(e)
        assert "\n" not in msg and len(msg) < 300, msg
        assert FIELD.match(msg), msg
        return
    _boot_and_tick(profile)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(legal_options())
def test_legal_option_values_boot_or_name_the_clash(case):
    test_accepted_profiles_boot_and_refused_ones_name_the_field.hypothesis.inner_test(case)


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_every_bundled_profile_boots_on_the_rig(name):
    boards.validate(PROFILES[name], NAME)
    _boot_and_tick(copy.deepcopy(PROFILES[name]))


_BYTES = [(boards.BOARDS / (n + ".json")).read_bytes() for n in sorted(PROFILES)]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(_BYTES),
    st.integers(0, 3000),
    st.integers(0, 40),
    st.binary(max_size=40) | st.sampled_from([b"[" * 500, b"9" * 5000, b'"chip": 1, "chip": 2']),
)
def test_any_bytes_read_as_a_profile_or_one_line(data, at, cut, splice):
    data = data[:at] + splice + data[at + cut :]
    try:
        profile = boards.parse_board(data, NAME)
    except UserError as e:
        msg = str(e)
        assert msg.startswith(NAME) and "\n" not in msg and len(msg) < 300, msg
        return
    try:
        boards.validate(profile, NAME)
    except UserError as e:
        assert "\n" not in str(e), str(e)
