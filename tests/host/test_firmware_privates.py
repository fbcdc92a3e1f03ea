"""No firmware module reads or writes another class's private attributes (issue 15: publish.py
read the ledger's _last_wall, service.py set the app's _next_sample, the community bus reached
into the Modbus and DL/T 645 drivers' _uart and _idle_t). A name with a leading underscore is
its own module's business: an access `obj._name` (obj not self or cls) is allowed only where
the same module assigns self._name or defines _name, its class's friends in one file (the
store's slot functions, the DL/T 645 schedule's bus state)."""

import ast
from pathlib import Path

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"


def foreign_privates(text, name="<text>"):
    """(line, expression) of each private attribute of another module's object in text."""
    tree = ast.parse(text, name)
    own = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store):
            if isinstance(n.value, ast.Name) and n.value.id == "self":
                own.add(n.attr)
        elif isinstance(n, (ast.FunctionDef, ast.ClassDef)):
            own.add(n.name)
    found = []
    for n in ast.walk(tree):
        if not isinstance(n, ast.Attribute) or not n.attr.startswith("_"):
            continue
        if n.attr.startswith("__") or n.attr in own:
            continue
        if isinstance(n.value, ast.Name) and n.value.id in ("self", "cls"):
            continue
        found.append((n.lineno, ast.unparse(n)))
    return sorted(found)


def test_no_firmware_module_touches_another_modules_privates():
    found = [
        "%s:%d: %s" % (p.relative_to(FIRMWARE), line, expr)
        for p in sorted(FIRMWARE.rglob("*.py"))
        for line, expr in foreign_privates(p.read_text(encoding="utf-8"), str(p))
    ]
    assert not found, "another module's private attribute:\n" + "\n".join(found)


def test_the_check_sees_a_foreign_private_and_lets_a_friend_in_the_same_module_pass():
    text = (
        "class Store:\n"
        "    def __init__(self):\n"
        "        self._seq = 0\n"
        "def bump(store, ledger):\n"
        "    store._seq += 1\n"  # the module's own class: a friend
        "    return ledger._last_wall\n"  # another module's
    )
    assert foreign_privates(text) == [(6, "ledger._last_wall")]
