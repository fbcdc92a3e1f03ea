"""Board profiles: boards/NAME.json, one per hardware build."""

import json

from host_tools.errors import UserError
from host_tools.paths import BOARDS

SUPPORTED_DISPLAYS = {"ssd1680": (296, 128)}


def board_names():
    return sorted(p.stem for p in BOARDS.glob("*.json"))


def load_board(name):
    """The profile of board `name` (a name in boards/ or a path to a JSON file), checked."""
    path = BOARDS / (name + ".json")
    if name.endswith(".json"):
        from pathlib import Path

        path = Path(name)
    if not path.is_file():
        raise UserError("unknown board %r (known: %s)" % (name, ", ".join(board_names()) or "none"))
    try:
        profile = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise UserError("%s:%d: not valid JSON: %s" % (path, e.lineno, e.msg)) from None
    display = profile.get("display")
    if not isinstance(display, dict) or "type" not in display:
        raise UserError("%s: missing key 'display.type'" % path)
    kind = display["type"]
    if kind not in SUPPORTED_DISPLAYS:
        raise UserError(
            "%s: display.type %r is not supported (supported: %s)"
            % (path, kind, ", ".join(sorted(SUPPORTED_DISPLAYS)))
        )
    size = (display.get("width"), display.get("height"))
    if size != SUPPORTED_DISPLAYS[kind]:
        raise UserError("%s: display.width/height %r do not match a %s panel" % (path, size, kind))
    return profile
