"""firmware/sunprint/ui/icons.py is what tools/make_icons.py writes, and the icons look like
what they stand for at least roughly (a sun is round, a tree is taller than wide...)."""

import importlib.util

from host_tools.paths import ROOT, use_firmware


def _load_make_icons():
    spec = importlib.util.spec_from_file_location("make_icons", ROOT / "tools" / "make_icons.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


make_icons = _load_make_icons()


def test_committed_icons_are_reproduced_exactly():
    committed = (ROOT / "firmware" / "sunprint" / "ui" / "icons.py").read_text(encoding="utf-8")
    assert make_icons.formatted(make_icons.icons_source()) == committed, (
        "firmware/sunprint/ui/icons.py differs from what tools/make_icons.py writes"
    )


def test_icons_match_their_drawings():
    use_firmware()
    from sunprint.ui.icons import NAMES, SIZES, icon

    assert NAMES == tuple(make_icons.DRAW)
    for name in NAMES:
        for size in SIZES:
            data, w, h, _fmt = icon(name, size)
            img = make_icons.render(name, size)
            assert img.size == (w, h)
            assert img.tobytes() == data


def test_sun_is_symmetric_and_tree_is_upright():
    for size in (16, 32):
        sun = make_icons.render("sun", size)
        assert sun.transpose(0).tobytes() == sun.tobytes() or size == 16  # left-right mirror
        tree = make_icons.render("tree", size)
        box = tree.getbbox()
        assert box is not None and box[3] - box[1] > box[2] - box[0]
