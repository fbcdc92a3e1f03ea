"""Screens of an 800x480 panel (7.5" e-paper, UC8179): items as in ui/layout.py.

The main screen shows all six values at once, two columns of three, under a title.
"""

from sunprint.compat import const

# Font roles and panel modes as ui/layout.py names them, as consts private to this module:
# folded into the tables at compile time (constant objects, in flash when frozen), and no
# import of ui/layout.py, which imports this module (tests/host/test_screens.py checks them).
_HUGE = const("huge")
_LARGE = const("large")
_SMALL = const("small")
_ZH = const("zh")

_T = (_LARGE, _ZH, 0)  # title: Chinese, then English in bold, one line
_L = (_SMALL, _ZH, 24)  # label: Chinese, English 24 px below
_N = (_SMALL, _ZH, 24)  # a note under a value
_V = (_HUGE, _LARGE, 8)  # big number, unit in bold 24 px


def _cell(x0, top, icon, label, name):
    # "today" is a field: while the date is unknown the app puts another label there
    return (
        ("icon", x0 + 20, top + 22, 32, None, icon),
        ("field", x0 + 64, top + 44, _L, "left", "today_label")
        if label == "today"
        else ("label", x0 + 64, top + 44, _L, "left", label),
        ("value", x0 + 380, top + 122, _V, "right", name),
    )


def _title(key):
    return (
        ("label", 20, 40, _T, "left", key),
        ("hline", 12, 58, None, None, 788),
    )


def _basis_row(top, icon, label, name, note):
    return (
        ("icon", 20, top + 20, 32, None, icon),
        ("label", 64, top + 42, _L, "left", label),
        ("value", 780, top + 60, _V, "right", name),
        ("field", 780, top + 100, _N, "right", note),
    )


def _homes_row(top, icon, label, name):
    # the homes screen: a full-width row, as _basis_row without its note; "today" is a field
    # (the app puts another label there while the date is unknown), as is homes_label
    return (
        ("icon", 20, top + 20, 32, None, icon),
        ("field", 64, top + 42, _L, "left", label)
        if label in ("today_label", "homes_label")
        else ("label", 64, top + 42, _L, "left", label),
        ("value", 780, top + 100, _V, "right", name),
    )


def _home_rows():
    # the per-home screen: 8 rows of a home's name (Chinese, then English) and its power now
    # and energy booked; a community of more homes shows them 8 at a time
    rows = ()
    for i in range(8):
        y = 104 + 48 * i
        rows += (
            ("field", 20, y, (_LARGE, _ZH, 0), "left", "home_n%d" % i),
            ("field", 780, y, _LARGE, "right", "home_v%d" % i),
        )
    return rows


def _status_row(top, label, name):
    return (
        ("label", 20, top + 26, (_SMALL, _ZH, 22), "left", label),
        ("field", 300, top + 38, (_LARGE, _ZH, 0), "left", name),
    )


SCREENS = {
    (800, 480, "main"): _title("title")
    + _cell(0, 60, "sun", "power", "power_w")
    + _cell(0, 200, "bolt", "today", "today_kwh")
    + _cell(0, 340, "plug", "total", "lifetime_kwh")
    + _cell(400, 60, "leaf", "co2", "co2_kg")
    + _cell(400, 200, "coal", "coal", "coal_kg")
    + _cell(400, 340, "tree", "trees", "trees")
    + (
        ("vline", 400, 72, None, None, 468),
        ("hline", 16, 200, None, None, 384),
        ("hline", 16, 340, None, None, 384),
        ("hline", 416, 200, None, None, 784),
        ("hline", 416, 340, None, None, 784),
    ),
    (800, 480, "carbon"): _title("basis")
    + _basis_row(60, "bolt", "factor", "factor", "factor_source")
    + (("hline", 16, 200, None, None, 784),)
    + _basis_row(200, "coal", "coal", "coal_kg", "coal_note")
    + (("hline", 16, 340, None, None, 784),)
    + _basis_row(340, "tree", "trees", "trees", "trees_note"),
    (800, 480, "status"): _title("status")
    + (("field", 788, 40, _LARGE, "right", "firmware"),)
    + _status_row(64, "unit_id", "unit_id")
    + (("field", 788, 102, (_LARGE, _ZH, 0), "right", "link"),)  # Wi-Fi / MQTT: "" when off
    + _status_row(132, "sensor", "sensor")
    + _status_row(200, "last_fault", "last_fault")
    + _status_row(268, "persisted", "persisted")
    + (
        ("label", 20, 362, (_SMALL, _ZH, 22), "left", "factor"),
        ("value", 300, 374, (_LARGE, _LARGE, 6), "left", "factor"),
        ("field", 788, 374, _LARGE, "right", "factor_source"),
    )
    + _status_row(404, "heap", "heap")
    + (("field", 788, 442, _LARGE, "right", "clock"),),
    # The community sign (a profile with a community section): what the homes produce
    # together now and today, and how many of them are reporting ("在线户数 12/14").
    (800, 480, "homes"): _title("title")
    + _homes_row(60, "sun", "power", "power_w")
    + (("hline", 16, 200, None, None, 784),)
    + _homes_row(200, "bolt", "today_label", "today_kwh")
    + (("hline", 16, 340, None, None, 784),)
    + _homes_row(340, "plug", "homes_label", "homes"),
    # Each home's production: only on a sign whose profile opts in (community.per_home_screen:
    # a public sign shows no household's production by default; sunprint/parts.py checks it).
    (800, 480, "home"): _title("title") + _home_rows(),
}
