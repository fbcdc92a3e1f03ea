"""Golden frames: the golden log replayed on every board gives, frame for frame and pixel for
pixel, the PNGs committed in tests/golden/<board>/. `make golden` regenerates them on purpose
(tools/make_golden.py); look at the new frames before committing them."""

import sys

import pytest
from PIL import Image, ImageChops

from host_tools.paths import ROOT

sys.path.insert(0, str(ROOT / "tools"))
from make_golden import (  # noqa: E402
    BOARDS,
    CLOCK_BOARDS,
    CLOCK_FAULTS,
    CLOCK_SUFFIX,
    GOLDEN,
    golden_frames,
)


def differs(got, want):
    """None if the two pictures are the same pixel for pixel, else the box where they differ."""
    if got.size != want.size:
        return (0, 0) + got.size
    return ImageChops.difference(got.convert("RGB"), want.convert("RGB")).getbbox()


SETS = [(b, b, ()) for b in BOARDS] + [(b + CLOCK_SUFFIX, b, CLOCK_FAULTS) for b in CLOCK_BOARDS]


@pytest.mark.parametrize(("name", "board", "faults"), SETS, ids=[s[0] for s in SETS])
def test_frames_match_the_golden_ones(name, board, faults, tmp_path):
    want = sorted((GOLDEN / name).glob("*.png"))
    assert want, "no golden frames for %s: run `make golden`" % name
    got = golden_frames(board, tmp_path / "out", faults)
    assert [p.name for p in got] == [p.name for p in want]
    for g, w in zip(got, want, strict=True):
        a, b = Image.open(g), Image.open(w)
        assert a.size == b.size, g.name
        diff = differs(a, b)
        assert diff is None, "%s/%s differs from the golden frame in %s" % (name, g.name, diff)


def test_a_changed_pixel_is_caught(tmp_path):
    # The comparison above can fail: one pixel flipped in a copy of a golden frame differs.
    src = sorted((GOLDEN / "esp32-epd29").glob("*.png"))[0]
    img = Image.open(src).convert("RGB")
    x, y = img.width // 2, img.height // 2
    r, g, b = img.getpixel((x, y))
    img.putpixel((x, y), (255 - r, 255 - g, 255 - b))
    assert differs(img, Image.open(src)) == (x, y, x + 1, y + 1)
    assert differs(Image.open(src), Image.open(src)) is None
