"""One composition root (issue 15 item 2): every host tool that runs a whole unit builds it
with the firmware's board.boot(settings, profile, platform), as main.py does, never with
board.build plus its own restore and settings (a second root that drifts: the community
golden frames were built that way, with the time zone written out by hand)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _board_build_uses(path):
    # (line, text) of each import of sunprint.board.build and each call of board.build(...)
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "sunprint.board":
            if any(a.name == "build" for a in node.names):
                found.append((node.lineno, "from sunprint.board import build"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            f = node.func
            if f.attr == "build" and isinstance(f.value, ast.Name) and f.value.id == "board":
                found.append((node.lineno, "board.build(...)"))
    return found


def test_host_tools_boot_units_through_board_boot():
    tools = sorted((ROOT / "host_tools").rglob("*.py")) + sorted((ROOT / "tools").glob("*.py"))
    found = [
        "%s:%d: %s" % (p.relative_to(ROOT), line, text)
        for p in tools
        for line, text in _board_build_uses(p)
    ]
    assert not found, "build a unit with board.boot, not board.build:\n" + "\n".join(found)


def test_the_check_finds_a_second_root(tmp_path):
    # the check itself can fail: a tool that builds its unit with board.build is found
    bad = tmp_path / "tool.py"
    bad.write_text("from sunprint.board import build\nunit = build(profile, fake)\n")
    other = tmp_path / "other.py"
    other.write_text("from sunprint import board\nunit = board.build(profile, fake)\n")
    assert _board_build_uses(bad) == [(1, "from sunprint.board import build")]
    assert _board_build_uses(other) == [(2, "board.build(...)")]
