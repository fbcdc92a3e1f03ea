"""Screens as data, and the number formats the sign shows.

A screen is a tuple of items for one panel size. Each item is
    (kind, x, y, font, align, arg)
kind "text" draws arg as is; kind "field" draws the text value named arg; kind "value" draws
the formatted value named arg as a number in `font` followed by its unit in the small font, on
a common baseline at y; kind "hline" draws a rule at y from x to arg. align "left" puts x at
the start, "right" puts x at the end. y is the baseline of the text.

Each panel size has named screens: "main" (power, today, CO2) and "carbon" (the emission
factor with its source, coal saved, trees equivalent).
"""

# Fonts are named by role; the app maps roles to BitmapFont objects.
SMALL = "small"
LARGE = "large"

SCREENS = {
    # Waveshare 2.9" V2 in landscape: three rows of label + value.
    (296, 128, "main"): (
        ("text", 6, 26, SMALL, "left", "PV power now"),
        ("value", 290, 32, LARGE, "right", "power_w"),
        ("hline", 4, 42, None, None, 292),
        ("text", 6, 68, SMALL, "left", "Energy today"),
        ("value", 290, 74, LARGE, "right", "today_kwh"),
        ("hline", 4, 84, None, None, 292),
        ("text", 6, 110, SMALL, "left", "CO\u2082 avoided"),
        ("value", 290, 116, LARGE, "right", "co2_kg"),
    ),
    (296, 128, "carbon"): (
        ("text", 6, 18, SMALL, "left", "Grid CO₂ factor"),
        ("field", 6, 35, SMALL, "left", "factor_source"),
        ("value", 290, 32, LARGE, "right", "factor"),
        ("hline", 4, 42, None, None, 292),
        ("text", 6, 68, SMALL, "left", "Standard coal saved"),
        ("value", 290, 74, LARGE, "right", "coal_kg"),
        ("hline", 4, 84, None, None, 292),
        ("text", 6, 102, SMALL, "left", "Trees equivalent"),
        ("field", 6, 119, SMALL, "left", "trees_note"),
        ("value", 290, 116, LARGE, "right", "trees"),
    ),
}


def screen_for(width, height, name="main"):
    try:
        return SCREENS[(width, height, name)]
    except KeyError:
        raise ValueError("no %r screen layout for a %dx%d panel" % (name, width, height))


def screen_names(width, height):
    return [k[2] for k in SCREENS if k[0] == width and k[1] == height]


def _three_digits(x):
    # Three significant digits for 1 <= x < 1000: 1.23, 12.3, 123.
    if x < 9.995:
        return "%.2f" % x
    if x < 99.95:
        return "%.1f" % x
    return "%d" % int(x + 0.5)


def format_power(watts):
    """(number, unit) for a power in W: W below 1 kW, then kW and MW with 3 digits."""
    if watts < 999.5:
        return "%d" % int(watts + 0.5) if watts > 0 else "0", "W"
    if watts < 999500:
        return _three_digits(watts / 1000), "kW"
    return _three_digits(watts / 1e6), "MW"


def format_energy_wh(wh):
    """(number, unit) for an energy in Wh: Wh below 1 kWh, then kWh and MWh."""
    if wh < 999.5:
        return "%d" % int(wh + 0.5) if wh > 0 else "0", "Wh"
    if wh < 999500:
        return _three_digits(wh / 1000), "kWh"
    return _three_digits(wh / 1e6), "MWh"


def format_mass_g(grams):
    """(number, unit) for a mass of CO2 in g: g below 1 kg, then kg and t."""
    if grams < 999.5:
        return "%d" % int(grams + 0.5) if grams > 0 else "0", "g"
    if grams < 999500:
        return _three_digits(grams / 1000), "kg"
    return _three_digits(grams / 1e6), "t"


def format_factor(dg_per_kwh):
    """(number, unit) of an emission factor given in 0.1 g CO2/kWh: 5306 -> 0.5306 kg/kWh."""
    return "%d.%04d" % (dg_per_kwh // 10000, dg_per_kwh % 10000), "kg/kWh"


def short_source(row):
    """The citation that fits a small sign: the publisher and the year, e.g. 'MEE/NBS 2023'."""
    return "%s %d" % (row[3].split(",")[0], row[1])


def format_trees(tenths):
    """(number, unit) of trees equivalent given in tenths of tree-years."""
    if tenths < 1000:
        return "%d.%d" % (tenths // 10, tenths % 10), "trees"
    return "%d" % ((tenths + 5) // 10), "trees"
