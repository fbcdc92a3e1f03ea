"""Screens of a 400x300 panel (4.2" e-paper, SSD1683): items as in ui/layout.py.

Three rows of icon, label (Chinese above English) and a large number with its unit.
"""

from sunprint.compat import const

# Font roles and panel modes as ui/layout.py names them, as consts private to this module:
# folded into the tables at compile time (constant objects, in flash when frozen), and no
# import of ui/layout.py, which imports this module (tests/host/test_screens.py checks them).
_HUGE = const("huge")
_LARGE = const("large")
_SMALL = const("small")
_ZH = const("zh")

_L = (_SMALL, _ZH, 22)  # label: Chinese, English 22 px below
_S = (_SMALL, _ZH, 18)  # status label
_I = (_SMALL, _ZH, 0)  # one line: Chinese, then English
_V = (_HUGE, _LARGE, 6)  # big number, unit in bold 24 px


def _row(top, icon, label, name):
    # "today" is a field: while the date is unknown the app puts another label there
    return (
        ("icon", 8, top + 28, 32, None, icon),
        ("field", 50, top + 38, _L, "left", "today_label")
        if label == "today"
        else ("label", 50, top + 38, _L, "left", label),
        ("value", 392, top + 64, _V, "right", name),
    )


def _home_rows():
    # the per-home screen: 8 rows of a home's name (Chinese, then English) and its power now
    # and energy booked; a community of more homes shows them 8 at a time
    rows = ()
    for i in range(8):
        y = 62 + 30 * i
        rows += (
            ("field", 8, y, _I, "left", "home_n%d" % i),
            ("field", 392, y, _SMALL, "right", "home_v%d" % i),
        )
    return rows


def _status_row(top, label, name):
    return (
        ("label", 8, top + 18, _S, "left", label),
        ("field", 150, top + 27, _I, "left", name),
    )


SCREENS = {
    (400, 300, "main"): _row(0, "sun", "power", "power_w")
    + (("hline", 8, 96, None, None, 392),)
    + _row(100, "bolt", "today", "today_kwh")
    + (("hline", 8, 196, None, None, 392),)
    + _row(200, "plug", "total", "lifetime_kwh"),
    (400, 300, "carbon"): _row(0, "leaf", "co2", "co2_kg")
    + (("hline", 8, 84, None, None, 392),)
    + _row(84, "coal", "coal", "coal_kg")
    + (("hline", 8, 168, None, None, 392),)
    + _row(168, "tree", "trees", "trees")
    + (
        ("hline", 8, 252, None, None, 392),
        ("label", 8, 274, (_SMALL, _ZH, 20), "left", "factor"),
        ("value", 392, 274, (_LARGE, _SMALL, 4), "right", "factor"),
        ("field", 392, 294, _SMALL, "right", "factor_source"),
    ),
    (400, 300, "status"): (
        ("label", 8, 24, _I, "left", "status"),
        ("field", 392, 24, _SMALL, "right", "firmware"),
        ("hline", 8, 34, None, None, 392),
    )
    + _status_row(40, "unit_id", "unit_id")
    + (("field", 392, 58, _S, "right", "link"),)  # Wi-Fi / MQTT: "" when off; "both": stacked
    + _status_row(83, "sensor", "sensor")
    + _status_row(126, "last_fault", "last_fault")
    + _status_row(169, "persisted", "persisted")
    + (
        ("label", 8, 230, _S, "left", "factor"),
        ("value", 150, 239, (_SMALL, _SMALL, 3), "left", "factor"),
        ("field", 392, 239, _SMALL, "right", "factor_source"),
    )
    + _status_row(255, "heap", "heap")
    + (("field", 392, 282, _SMALL, "right", "clock"),),
    # The community sign (a profile with a community section): what the homes produce
    # together now, and how many of them are reporting ("在线户数 12/14").
    (400, 300, "homes"): (
        ("label", 8, 24, _I, "left", "title"),
        ("hline", 8, 34, None, None, 392),
    )
    + _row(30, "sun", "power", "power_w")
    + (("hline", 8, 118, None, None, 392),)
    + _row(118, "bolt", "today", "today_kwh")
    + (("hline", 8, 206, None, None, 392),)
    + (
        ("icon", 8, 234, 32, None, "plug"),
        ("field", 50, 244, _L, "left", "homes_label"),
        ("value", 392, 270, _V, "right", "homes"),
    ),
    # Each home's production: only on a sign whose profile opts in (community.per_home_screen:
    # a public sign shows no household's production by default; sunprint/parts.py checks it).
    (400, 300, "home"): (
        ("label", 8, 24, _I, "left", "title"),
        ("hline", 8, 34, None, None, 392),
    )
    + _home_rows(),
}
