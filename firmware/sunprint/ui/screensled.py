"""Screens of LED matrices, 64x8 and 32x8 (MAX7219 chains, WS2812 32x8): items as in
ui/layout.py, drawn in framebuf's built-in 8x8 font (8 px a character).

No words: an 8x8 icon says what the number is. 64x8 shows icon + "3.42kW" (at most 4
characters of number, 3 of unit; the decimal point is 4 px wide); 32x8 has room for 4
characters, so each value takes two screens: the icon with the unit, then the number. The
status screen (not in the rotation) shows "OK" or "E" and the number of faults.
"""

from sunprint.compat import const

# Font roles and panel modes as ui/layout.py names them, as consts private to this module:
# folded into the tables at compile time (constant objects, in flash when frozen), and no
# import of ui/layout.py, which imports this module (tests/host/test_screens.py checks them).
_BUILTIN8 = const("builtin8")

_V = const((_BUILTIN8, _BUILTIN8, 1))  # number and unit 1 px apart: "3.42kW"

_VALUES = (
    ("power", "sun", "power_w"),
    ("today", "bolt", "today_kwh"),
    ("total", "plug", "lifetime_kwh"),
    ("co2", "leaf", "co2_kg"),
    ("coal", "coal", "coal_kg"),
    ("trees", "tree", "trees"),
)

SCREENS = {}
for _name, _icon, _value in _VALUES:
    SCREENS[(64, 8, _name)] = (
        ("icon", 0, 0, 8, None, _icon),
        ("value", 64, 7, _V, "right", _value),
    )
    SCREENS[(32, 8, _name + "_unit")] = (
        ("icon", 0, 0, 8, None, _icon),
        ("unit", 32, 7, _BUILTIN8, "right", _value),
    )
    SCREENS[(32, 8, _name)] = (("number", 32, 7, _BUILTIN8, "right", _value),)

# The installer's screen: "OK", or "E" and the number of faults ("E3").
SCREENS[(64, 8, "status")] = (("field", 64, 7, _BUILTIN8, "right", "led_status"),)
SCREENS[(32, 8, "status")] = (("field", 32, 7, _BUILTIN8, "right", "led_status"),)
