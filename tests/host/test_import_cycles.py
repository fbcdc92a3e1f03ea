"""No import circle among the project's modules (firmware/ and host_tools/): every `import` and
`from ... import` in a module, at its top or inside a function, is an arrow; a circle of arrows
is a design fault (ui/layout.py <-> ui/panels.py, ui/screens*.py was one: those now write the
font roles as private consts, checked against layout's by tests/host/test_screens.py)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _modules(root=ROOT):
    """Module name -> path, for firmware/ and host_tools/ under root."""
    mods = {}
    for base, top in ((root / "firmware", None), (root, "host_tools")):
        folder = base if top is None else base / top
        for path in folder.rglob("*.py"):
            if "__pycache__" in path.parts:
                continue
            rel = path.relative_to(base).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts.pop()
            if parts:
                mods[".".join(parts)] = path
    return mods


def _arrows(mods):
    arrows = {}
    for name, path in mods.items():
        is_pkg = path.name == "__init__.py"
        out = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    pkg = name.split(".") if is_pkg else name.split(".")[:-1]
                    pkg = pkg[: len(pkg) - node.level + 1]
                    base = ".".join(pkg + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                targets = [base] + [base + "." + a.name for a in node.names]
            else:
                continue
            for t in targets:
                if t in mods and t != name:
                    out.add(t)
        arrows[name] = out
    return arrows


def _circles(arrows):
    # Tarjan's strongly connected components: a component of more than one module is a circle
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(arrows[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(arrows):
        if v not in index:
            visit(v)
    return found


def test_no_import_circle():
    assert _circles(_arrows(_modules())) == []


def test_the_finder_sees_a_circle():
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_screens_and_panels_do_not_import_layout():
    arrows = _arrows(_modules())
    for leaf in ("panels", "screens400", "screens800", "screensled"):
        assert "sunprint.ui.layout" not in arrows["sunprint.ui." + leaf], leaf
