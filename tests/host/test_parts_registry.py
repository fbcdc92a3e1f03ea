"""The parts registry (firmware/sunprint/parts.py) is the one list of part types: the unit's
board.build makes each display and sensor by the driver factory its row names, with the source
kind its row gives, and no type list of its own (board.py had _MODBUS_MAPS, magic kinds 0/1/2,
then a switch on driver families)."""

import ast
import json

from host_tools.paths import BOARDS, FIRMWARE, use_firmware

use_firmware()

from sunprint import board, parts  # noqa: E402
from sunprint.sources import MeterSource, PowerSource, PulseSource  # noqa: E402


def test_board_kinds_are_the_registrys():
    # board.py folds the kinds as private consts (parts leaves the heap after the check)
    assert (board._POWER, board._METER, board._PULSES) == (parts.POWER, parts.METER, parts.PULSES)


def test_every_row_names_its_driver_factory():
    # each type maps to the function that builds its driver (issue 15 item 1): board.build
    # calls it; a new part is one row and one factory, not a branch in board.py
    for row in parts.SENSORS:
        assert callable(row[3]), row[0]
    for row in parts.DISPLAYS:
        assert callable(row[4]), row[0]


def test_board_py_names_no_part_type_or_family():
    # board.build loops over the registry: no type name, and no switch on driver families
    text = (FIRMWARE / "sunprint" / "board.py").read_text()
    for row in parts.SENSORS + parts.DISPLAYS:
        assert '"%s"' % row[0] not in text, row[0]
    for family in ("ina2xx", "modbus", "dlt645", "s0"):
        assert '"%s"' % family not in text, family
    tree = ast.parse(text)
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert "family" not in names


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
