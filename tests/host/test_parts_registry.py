"""The parts registry (firmware/sunprint/parts.py) is the one list of sensor types: the unit's
board.build makes each sensor through the driver family its row names, with the source kind its
row gives, and no type list of its own (board.py had _MODBUS_MAPS and magic kinds 0/1/2)."""

import ast
import json

from host_tools.paths import BOARDS, FIRMWARE, use_firmware

use_firmware()

from sunprint import board, parts  # noqa: E402
from sunprint.sources import MeterSource, PowerSource, PulseSource  # noqa: E402


def test_board_kinds_are_the_registrys():
    # board.py folds the kinds as private consts (parts leaves the heap after the check)
    assert (board._POWER, board._METER, board._PULSES) == (parts.POWER, parts.METER, parts.PULSES)


def test_every_sensor_row_names_a_family_board_builds():
    tree = ast.parse((FIRMWARE / "sunprint" / "board.py").read_text())
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "_driver")
    built = {
        n.comparators[0].value
        for n in ast.walk(fn)
        if isinstance(n, ast.Compare)
        and isinstance(n.left, ast.Name)
        and n.left.id == "family"
        and isinstance(n.comparators[0], ast.Constant)
    }
    assert {row[3] for row in parts.SENSORS} == built


def test_board_py_has_no_sensor_type_names():
    # a new sensor type of a known family is one registry row: board.py names no type but
    # where one family holds two chips (INA226 / INA219)
    text = (FIRMWARE / "sunprint" / "board.py").read_text()
    for row in parts.SENSORS:
        if row[3] in ("ina2xx", row[0]):  # a family of two chips, or named as its one type
            continue
        assert '"%s"' % row[0] not in text, row[0]


def test_each_bundled_profile_builds_the_source_its_row_names():
    from host_tools.paths import FONTS
    from host_tools.replay_core import Replay

    want = {parts.POWER: PowerSource, parts.METER: MeterSource, parts.PULSES: PulseSource}
    for path in sorted(BOARDS.glob("*.json")):
        profile = json.loads(path.read_text())
        if "community" in profile:
            continue  # its meters on a bus: tests/firmware/test_unit_board_epd42_community.py
        s = next(s for s in profile["sensors"] if s["role"] in parts.ROLES)
        core = Replay(profile, str(FONTS), display=False)
        assert type(core.unit.source) is want[parts.sensor(s["type"])[1]], path.name
        core.unit.close()
