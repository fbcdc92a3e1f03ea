"""host_tools/sim/ is layered, and imports nothing above itself.

    chips/     chip, meter and bus models     -> nothing of sim
    platform/  machine, framebuf, flash, clock -> chips at most
    sim/*.py   the parts registry and the rig  -> chips, platform
    board/     virtual board, ROM, DevKitC     -> chips, platform, the rig

Above sim/ is the rest of host_tools (the CLI, boards.py, replay...): sim may use only the
leaf helpers in LEAVES (which themselves import nothing of host_tools but leaves and sim). Every
`import` counts, at a module's top or inside a function (test_import_cycles.py's arrows).
"""

from pathlib import Path

from test_import_cycles import _arrows, _modules

ROOT = Path(__file__).resolve().parents[2]

# Which layers each layer may import (its own included).
MAY_IMPORT = {
    "chips": {"chips"},
    "platform": {"chips", "platform"},
    "parts": {"chips", "platform", "parts"},
    "board": {"chips", "platform", "parts", "board"},
}
# host_tools modules below every layer: paths and tool locations, the app's identity, mpy-cross.
LEAVES = {"host_tools", "host_tools.paths", "host_tools.appid", "host_tools.mpycompile"}


def layer_of(module):
    """chips, platform, board, parts (sim/*.py) for a module of host_tools.sim; None outside."""
    parts = module.split(".")
    if parts[:2] != ["host_tools", "sim"]:
        return None
    if len(parts) > 3 and parts[2] in ("chips", "platform", "board"):
        return parts[2]
    if len(parts) == 3 and parts[2] in ("chips", "platform", "board"):
        return parts[2]  # the layer's own package
    return "parts"


def violations(root):
    """Each arrow that breaks the layering, as 'a -> b (why)'."""
    mods = _modules(root)
    arrows = _arrows(mods)
    bad = []
    for name in sorted(mods):
        layer = layer_of(name)
        if layer is None:
            continue
        for target in sorted(arrows[name]):
            to = layer_of(target)
            if to is None:
                if target not in LEAVES:
                    bad.append("%s -> %s (above sim)" % (name, target))
            elif to not in MAY_IMPORT[layer]:
                bad.append("%s -> %s (%s may not import %s)" % (name, target, layer, to))
    for leaf in sorted(LEAVES):
        for target in sorted(arrows[leaf]):
            if target not in LEAVES and layer_of(target) is None:
                bad.append("%s -> %s (a leaf sim may use imports the rest)" % (leaf, target))
    return bad


def test_sim_imports_nothing_above_it_and_each_layer_only_lower_ones():
    assert violations(ROOT) == []


def test_every_sim_module_is_in_a_layer():
    sim = ROOT / "host_tools" / "sim"
    loose = {p.name for p in sim.glob("*.py")} - {"__init__.py"}
    # The sim's own root holds only the parts registry and the rig that loops over it.
    assert loose <= {"parts.py", "rig.py"}, loose
    for layer in ("chips", "platform", "board"):
        assert (sim / layer / "__init__.py").is_file(), layer


def _tree(tmp_path, files):
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_the_check_sees_an_arrow_up_and_a_layer_inversion(tmp_path):
    # The check itself: a tree like the old one (the DevKitC's CLI in sim/ importing
    # host_tools.boards; a chip model importing the fake machine) is refused, line by line.
    root = _tree(
        tmp_path,
        {
            "host_tools/__init__.py": "",
            "host_tools/paths.py": "",
            "host_tools/appid.py": "",
            "host_tools/mpycompile.py": "from host_tools.paths import X\n",
            "host_tools/boards.py": "",
            "host_tools/sim/__init__.py": "",
            "host_tools/sim/rig.py": "from host_tools.sim.chips import ssd\n",
            "host_tools/sim/chips/__init__.py": "",
            "host_tools/sim/chips/ssd.py": "from host_tools.sim.platform import machine\n",
            "host_tools/sim/platform/__init__.py": "",
            "host_tools/sim/platform/machine.py": "from . import clock\n",
            "host_tools/sim/platform/clock.py": "import host_tools.sim.rig\n",
            "host_tools/sim/board/__init__.py": "",
            "host_tools/sim/board/device.py": (
                "from host_tools.sim import rig\nfrom host_tools import paths\n"
                "def cli():\n    from host_tools.boards import load_board\n"
            ),
        },
    )
    assert violations(root) == [
        "host_tools.sim.board.device -> host_tools.boards (above sim)",
        "host_tools.sim.chips.ssd -> host_tools.sim.platform (chips may not import platform)",
        "host_tools.sim.chips.ssd -> host_tools.sim.platform.machine"
        " (chips may not import platform)",
        "host_tools.sim.platform.clock -> host_tools.sim.rig (platform may not import parts)",
    ]
    (root / "host_tools/paths.py").write_text("from host_tools import boards\n")
    assert violations(root)[-1] == (
        "host_tools.paths -> host_tools.boards (a leaf sim may use imports the rest)"
    )
