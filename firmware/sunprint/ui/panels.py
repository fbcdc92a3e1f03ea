"""Which fonts, which screens in which order, and how two languages are shown, per panel size.

Boot-only: board.build opens the fonts (fonts_for) and makes the rotation (layout.Rotation)
from this table, the host checks profiles against it; then main.py lets this module leave the
heap, the dicts with it. ui/layout.py reads it on demand (layout.PANELS is this table).
"""

from sunprint.ui.layout import ALTERNATE, HUGE, LARGE, NO_WORDS, SMALL, STACKED, ZH

# (width, height) -> ({role: font file in assets/fonts}, screen names in rotation order,
# how "both" languages are shown). A board profile may map roles to other files.
PANELS = {
    (296, 128): (
        {SMALL: "sans12.bin", LARGE: "sans24b.bin", ZH: "cjk16.bin", HUGE: "num48b.bin"},
        ("main", "total", "carbon"),
        ALTERNATE,
    ),
    (400, 300): (
        {SMALL: "sans16.bin", LARGE: "sans24b.bin", ZH: "cjk16.bin", HUGE: "num48b.bin"},
        ("main", "carbon"),
        STACKED,
    ),
    (800, 480): (
        {SMALL: "sans16.bin", LARGE: "sans24b.bin", ZH: "cjk24.bin", HUGE: "num48b.bin"},
        ("main", "carbon"),
        STACKED,
    ),
    (64, 8): ({}, ("power", "today", "total", "co2", "coal", "trees"), NO_WORDS),
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
        NO_WORDS,
    ),
}
