"""Which fonts, which screens in which order, and how two languages are shown, per panel size.

Boot-only: board.build opens the fonts (fonts_for) and makes the rotation (layout.Rotation)
from this table, the host checks profiles against it; then main.py lets this module leave the
heap, the dicts with it. ui/layout.py reads it on demand (layout.PANELS is this table).
"""

from sunprint.compat import const

# Font roles and panel modes as ui/layout.py names them, as consts private to this module:
# folded into the tables at compile time (constant objects, in flash when frozen), and no
# import of ui/layout.py, which imports this module (tests/host/test_screens.py checks them).
_ALTERNATE = const("alternate")
_HUGE = const("huge")
_LARGE = const("large")
_NO_WORDS = const("none")
_SMALL = const("small")
_STACKED = const("stacked")
_ZH = const("zh")

# (width, height) -> ({role: font file in assets/fonts}, screen names in rotation order,
# how "both" languages are shown). A board profile may map roles to other files.
PANELS = {
    (296, 128): (
        {_SMALL: "sans12.bin", _LARGE: "sans24b.bin", _ZH: "cjk16.bin", _HUGE: "num48b.bin"},
        ("main", "total", "carbon"),
        _ALTERNATE,
    ),
    (400, 300): (
        {_SMALL: "sans16.bin", _LARGE: "sans24b.bin", _ZH: "cjk16.bin", _HUGE: "num48b.bin"},
        ("main", "carbon"),
        _STACKED,
    ),
    (800, 480): (
        {_SMALL: "sans16.bin", _LARGE: "sans24b.bin", _ZH: "cjk24.bin", _HUGE: "num48b.bin"},
        ("main", "carbon"),
        _STACKED,
    ),
    (64, 8): ({}, ("power", "today", "total", "co2", "coal", "trees"), _NO_WORDS),
    (32, 8): (
        {},
        (
            "power_unit",
            "power",
            "today_unit",
            "today",
            "total_unit",
            "total",
            "co2_unit",
            "co2",
            "coal_unit",
            "coal",
            "trees_unit",
            "trees",
        ),
        _NO_WORDS,
    ),
}
