"""Screens as data, the labels in two languages, and the number formats the sign shows.

A screen is a tuple of items for one panel size. Each item is
    (kind, x, y, font, align, arg)
where y is the baseline of text (the top row for an icon), align is "left" (x is where the
text starts) or "right" (x is where it ends), and font is a font role (see below) or a tuple
of roles. The kinds:

- "text": draws arg as is in role `font`.
- "label": draws LABELS[arg] in the renderer's language. font is (en_role, zh_role, dy): in
  "en" the English text in en_role at y, in "zh" the Chinese text in zh_role at y; in "both"
  the Chinese at y and the English below it at y + dy, or, with dy == 0, the English on the
  same baseline after the Chinese.
- "field": draws the text value named arg; a value that is a pair (en, zh) is drawn like a
  label, a plain string in the first role.
- "value": draws the (number, unit) value named arg: the number in the number role, then
  after a gap the unit in the unit role, on one baseline. font is a role (unit in SMALL, 4 px
  gap) or (number_role, unit_role, gap). Right-aligned values keep the unit's right edge at x,
  so digits of equal advance don't jitter as they change.
- "number" / "unit": only the number / only the unit of value arg (LED panels).
- "icon": blits icon arg (ui/icons.py) with its top-left at (x, y); font is the icon size.
- "hline" / "vline": a rule at y from x to arg / at x from y to arg.

Font roles: SMALL (Latin labels and units), LARGE (numbers), ZH (Chinese labels), HUGE (big
numbers), UNIT (units beside big numbers), BUILTIN8 (framebuf's built-in 8x8 font, fixed
8 px advance, drawn with fb.text: LED panels). PANELS says which font file plays which role
on each panel size, the order of its screens, and how it shows two languages.

Screens of the 2.9" panel are in SCREENS here; the others live in one module per panel size
(ui/screens400.py, ui/screens800.py, ui/screensled.py) and are imported by screen_for() only
for the panel a unit has, so a unit keeps one panel's screens in RAM, not every panel's.
"""

from sunprint.compat import const
from sunprint.core.carbon import tree_years
from sunprint.core.ledger import CO2, COAL, LIFETIME

# Font roles; the app maps them to BitmapFont objects (PANELS gives the files).
# const(): inside this module the names are folded into the tables at compile time, so a
# table of constants is one constant object (in flash when the app is frozen), not tuples
# built on the heap at import.
SMALL = const("small")
LARGE = const("large")
ZH = const("zh")
HUGE = const("huge")
UNIT = const("unit")
BUILTIN8 = const("builtin8")

EN = const("en")
BOTH = const("both")  # and ZH ("zh") for Chinese
LANGUAGES = (EN, ZH, BOTH)

# How a panel shows two languages ("both"): one after the other as the screens rotate, or the
# Chinese above (or before) the English on every screen. LED screens have no words.
ALTERNATE = const("alternate")
STACKED = const("stacked")
NO_WORDS = const("none")

# key -> (English, Chinese). Chinese strings must use only glyphs the CJK font has (Noto
# Sans SC has no subscript two: "CO2" is written out there as 二氧化碳).
LABELS = {
    "power": ("PV power now", "光伏功率"),
    "today": ("Energy today", "今日发电"),
    "total": ("Total energy", "累计发电"),
    "co2": ("CO\u2082 avoided", "二氧化碳减排"),
    "coal": ("Standard coal saved", "节约标准煤"),
    "trees": ("Trees equivalent", "相当于植树"),
    "factor": ("Grid CO\u2082 factor", "电网排放因子"),
    "title": ("Community solar power", "社区光伏发电"),
    "basis": ("How we count", "计算依据"),
    "status": ("Unit status", "设备状态"),
    "unit_id": ("Unit", "设备编号"),
    "sensor": ("Sensor", "传感器"),
    "last_fault": ("Last fault", "最近故障"),
    "persisted": ("Last saved", "最近保存"),
    "heap": ("Free memory", "剩余内存"),
}

# Text templates the app fills in (app.carbon_values, ui/status.py): (English, Chinese).
TREES_NOTE = const(("at %s kg CO\u2082 a year each", "每棵树每年吸收%s kg"))
COAL_NOTE = const(("at %s g per kWh", "每度电%s克"))
SENSOR_OK = const(("OK", "正常"))
SENSOR_FAULTS = const(("%d faults", "故障%d次"))
NO_FAULT = const(("none", "无"))
SAVED_NEVER = const(("never", "从未"))
SAVED_AGO = const(("%d min ago", "%d分钟前"))
# In place of LABELS["today"] while the date is unknown: lifetime, marked (app.screen_values).
# (A constant, not a LABELS entry: a dict entry more would cost every unit heap.)
TOTAL_CLOCK = const(("Total, date unknown", "累计 时间未知"))
# The community sign's "homes" screen (community/source.py fills it): its label beside the
# homes reporting of the homes on the bus, shown as "12/14".
HOMES = const(("Homes reporting", "在线户数"))
# The per-home screen (only when the profile's community section opts in): a home's name.
HOME_N = const(("Home %d", "%d号户"))
TEMPLATES = (
    TREES_NOTE,
    COAL_NOTE,
    SENSOR_OK,
    SENSOR_FAULTS,
    NO_FAULT,
    SAVED_NEVER,
    SAVED_AGO,
    TOTAL_CLOCK,
    HOMES,
    HOME_N,
)

# Every unit the formats below produce; in Chinese "trees" reads 棵 (drawn in the ZH font),
# on an LED the tree icon says it.
# An energy unit ending in "?" marks a total shown where a period's was (the date unknown);
# an LED has room for the mark alone (ui/render.py draws just "?" there).
UNITS = (
    "W", "kW", "MW", "Wh", "kWh", "MWh", "g", "kg", "t", "trees", "k trees", "kg/kWh",
    "Wh?", "kWh?", "MWh?",
)  # fmt: skip
UNITS_ZH = {"trees": "棵", "k trees": "千棵"}
UNITS_LED = {"trees": "", "k trees": "k"}
DIGITS = "0123456789"
NUMBER_PUNCTUATION = " .,-+%:/"  # what numbers, dates and versions use

# PANELS, (width, height) -> ({role: font file}, screen names in rotation order, how "both"
# languages are shown), lives in ui/panels.py: only the boot needs it (the fonts to open, the
# rotation), and main.py lets that module leave the heap. `layout.PANELS` still reads it.


def __getattr__(name):
    if name == "PANELS":
        from sunprint.ui.panels import PANELS

        return PANELS
    raise AttributeError(name)


# Fallbacks for a board that loads fewer fonts: a missing role is drawn in another.
FALLBACK = {HUGE: LARGE, UNIT: LARGE}

_L = const((SMALL, ZH, 0))  # a label on the 2.9" panel: one language at a time

SCREENS = {
    # Waveshare 2.9" V2 in landscape: three rows of icon + label + value.
    (296, 128, "main"): (
        ("icon", 4, 13, 16, None, "sun"),
        ("label", 24, 26, _L, "left", "power"),
        ("value", 290, 32, LARGE, "right", "power_w"),
        ("hline", 4, 42, None, None, 292),
        ("icon", 4, 55, 16, None, "bolt"),
        ("field", 24, 68, _L, "left", "today_label"),
        ("value", 290, 74, LARGE, "right", "today_kwh"),
        ("hline", 4, 84, None, None, 292),
        ("icon", 4, 97, 16, None, "leaf"),
        ("label", 24, 110, _L, "left", "co2"),
        ("value", 290, 116, LARGE, "right", "co2_kg"),
    ),
    # The energy since the unit was installed, large.
    (296, 128, "total"): (
        ("icon", 4, 9, 16, None, "plug"),
        ("label", 24, 22, _L, "left", "total"),
        ("hline", 4, 32, None, None, 292),
        ("value", 290, 94, (HUGE, LARGE, 6), "right", "lifetime_kwh"),
    ),
    (296, 128, "carbon"): (
        ("label", 6, 18, _L, "left", "factor"),
        ("field", 6, 35, SMALL, "left", "factor_source"),
        ("value", 290, 32, LARGE, "right", "factor"),
        ("hline", 4, 42, None, None, 292),
        ("icon", 4, 55, 16, None, "coal"),
        ("label", 24, 68, _L, "left", "coal"),
        ("value", 290, 74, LARGE, "right", "coal_kg"),
        ("hline", 4, 84, None, None, 292),
        ("icon", 4, 88, 16, None, "tree"),
        ("label", 24, 102, _L, "left", "trees"),
        ("field", 6, 121, _L, "left", "trees_note"),
        ("value", 290, 116, LARGE, "right", "trees"),
    ),
    # The community sign (a profile with a community section): the homes' power now and
    # today, and how many are reporting ("在线户数 12/14"); no per-home screen (8 homes a page
    # do not fit 128 px).
    (296, 128, "homes"): (
        ("icon", 4, 13, 16, None, "sun"),
        ("label", 24, 26, _L, "left", "power"),
        ("value", 290, 32, LARGE, "right", "power_w"),
        ("hline", 4, 42, None, None, 292),
        ("icon", 4, 55, 16, None, "bolt"),
        ("field", 24, 68, _L, "left", "today_label"),
        ("value", 290, 74, LARGE, "right", "today_kwh"),
        ("hline", 4, 84, None, None, 292),
        ("icon", 4, 97, 16, None, "plug"),
        ("field", 24, 110, _L, "left", "homes_label"),
        ("value", 290, 116, LARGE, "right", "homes"),
    ),
    # For the installer: what the unit is and how it is doing.
    (296, 128, "status"): (
        ("label", 4, 16, _L, "left", "unit_id"),
        ("field", 104, 16, SMALL, "left", "unit_id"),
        ("field", 292, 16, SMALL, "right", "firmware"),
        ("label", 4, 37, _L, "left", "sensor"),
        ("field", 104, 37, _L, "left", "sensor"),
        ("field", 292, 37, _L, "right", "link"),
        ("label", 4, 58, _L, "left", "last_fault"),
        ("field", 104, 58, _L, "left", "last_fault"),
        ("label", 4, 79, _L, "left", "persisted"),
        ("field", 104, 79, _L, "left", "persisted"),
        ("label", 4, 100, _L, "left", "factor"),
        ("value", 104, 100, (SMALL, SMALL, 3), "left", "factor"),
        ("field", 292, 100, SMALL, "right", "factor_source"),
        ("label", 4, 121, _L, "left", "heap"),
        ("field", 104, 121, SMALL, "left", "heap"),
        ("field", 292, 121, SMALL, "right", "clock"),
    ),
}


def _panel_screens(width, height):
    """The screens of a panel size other than 2.9" (imported on first use), or None."""
    if width == 400 and height == 300:
        from sunprint.ui import screens400

        return screens400.SCREENS
    if width == 800 and height == 480:
        from sunprint.ui import screens800

        return screens800.SCREENS
    if height == 8 and width in (32, 64):
        from sunprint.ui import screensled

        return screensled.SCREENS
    return None


def screen_for(width, height, name="main"):
    key = (width, height, name)
    if key in SCREENS:
        return SCREENS[key]
    more = _panel_screens(width, height)
    if more is not None and key in more:
        return more[key]
    raise ValueError("no %r screen layout for a %dx%d panel" % (name, width, height))


def screen_names(width, height):
    """Every screen of a panel size: those in rotation, then the others (e.g. "status")."""
    names = []
    for table in (SCREENS, _panel_screens(width, height) or {}):
        for k in table:
            if k[0] == width and k[1] == height and k[2] not in names:
                names.append(k[2])
    from sunprint.ui.panels import PANELS

    rotation = PANELS[(width, height)][1] if (width, height) in PANELS else ()
    return [n for n in rotation if n in names] + [n for n in names if n not in rotation]


def all_screens():
    """Every screen of every panel size: {(width, height, name): items} (host side, tests)."""
    from sunprint.ui.panels import PANELS

    out = dict(SCREENS)
    for width, height in PANELS:
        out.update(_panel_screens(width, height) or {})
    return out


def fonts_for(width, height):
    """{role: font file name} for a panel size."""
    from sunprint.ui.panels import PANELS

    return PANELS[(width, height)][0]


def bound_names(screen):
    """The value names a screen shows, in item order: what decides whether it must be redrawn."""
    names = []
    for item in screen:
        if item[0] in ("field", "value", "number", "unit") and item[5] not in names:
            names.append(item[5])
    return tuple(names)


class Rotation:
    """Which screen, in which language, a panel shows; advance() once every screen period.

    In "both", a panel that can't show two languages at once (ALTERNATE) shows each screen in
    Chinese, then in English; a STACKED panel shows "both" on every screen. Attributes:
    `name` and `lang` (what to show now), `steps` (length of one full cycle).
    """

    def __init__(self, width, height, language=BOTH, names=None):
        if language not in LANGUAGES:
            raise ValueError("language must be one of %s, not %r" % ("/".join(LANGUAGES), language))
        from sunprint.ui.panels import PANELS  # boot-only

        fonts, rotation, mode = PANELS[(width, height)]
        self.names = tuple(names) if names else rotation
        if not self.names:
            raise ValueError("a rotation needs at least one screen")
        if mode == NO_WORDS:
            self.langs = (EN,)
        elif language == BOTH and (mode == ALTERNATE or ZH not in fonts):
            self.langs = (ZH, EN) if ZH in fonts else (EN,)
        else:
            self.langs = (language,)
        self.steps = len(self.names) * len(self.langs)
        self.step = 0
        self.name = self.names[0]
        self.lang = self.langs[0]

    def advance(self):
        """Go to the next screen; return its name (self.lang is its language)."""
        self.step = (self.step + 1) % self.steps
        self._set()
        return self.name

    def reset(self):
        self.step = 0
        self._set()

    def _set(self):
        n = len(self.langs)
        self.name = self.names[self.step // n]
        self.lang = self.langs[self.step % n]


def all_strings(lang=None):
    """Every string the layouts can show: labels, templates, units, fixed text, digits and
    number punctuation; lang "en" or "zh" for one language's (shared ones are in both).

    The font tool (host_tools/fonts.py) takes the glyph sets of the committed fonts from here.
    """
    out = []
    picks = (0, 1) if lang is None else ((0,) if lang == EN else (1,))
    for pair in LABELS.values():
        for i in picks:
            out.append(pair[i])
    for pair in TEMPLATES:
        for i in picks:
            out.append(pair[i])
    if lang in (None, EN):
        out.extend(UNITS)
        out.extend(v for v in UNITS_LED.values() if v)
    if lang in (None, ZH):
        out.extend(UNITS_ZH.values())
    from sunprint.ui.panels import PANELS

    for width, height in PANELS:
        for name in screen_names(width, height):
            for item in screen_for(width, height, name):
                if item[0] == "text":
                    in_zh = item[3] == ZH
                    if lang is None or in_zh == (lang == ZH):
                        out.append(item[5])
    out.append(DIGITS)
    out.append(NUMBER_PUNCTUATION)
    return out


# --- number formats ---------------------------------------------------------------------------

_TREES_K = const(100000)  # tenths of a tree: from 10 000 trees on, thousands


def _three_digits(x):
    # Three significant digits for 1 <= x < 1000: 1.23, 12.3, 123.
    if x < 9.995:
        return "%.2f" % x
    if x < 99.95:
        return "%.1f" % x
    return "%d" % int(x + 0.5)


# format_power, format_energy_wh and format_mass_g are one rule with other unit names, written
# out three times on purpose: one _scaled(x, units...) measured 0.1 kB more unit heap in the
# .mpy and ROMFS forms (a unit tuple declared const(): 0.4 kB more).
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


def format_tenths(tenths):
    """A count of tenths as text with one decimal: 183 -> "18.3" (the carbon notes' figures:
    tree-year kg, coal g/kWh; the sign and replay's summary.json format them alike)."""
    return "%d.%d" % (tenths // 10, tenths % 10)


def short_source(row):
    """The citation that fits a small sign: the publisher and the year, e.g. 'MEE/NBS 2023'."""
    return "%s %d" % (row[3].split(",")[0], row[1])


def format_trees(tenths):
    """(number, unit) of trees equivalent given in tenths of tree-years: one decimal below 100,
    whole trees below 10 000, then thousands ("12.3", "k trees"). At most 4 characters."""
    if tenths < 1000:
        return "%d.%d" % (tenths // 10, tenths % 10), "trees"
    if tenths < _TREES_K - 5:
        return "%d" % ((tenths + 5) // 10), "trees"
    return _three_digits(tenths / 10000), "k trees"


# ScreenValues' inputs: the number each group of texts was last formatted from, by name (an
# int-keyed list inside: comparing and storing an int allocates nothing).
_UNSET = const(-0x3FFFFFFF)  # nothing shown yet: every text is formatted
_POWER = const(0)  # power_w
_TODAY = const(1)  # today_kwh
_LIFETIME = const(2)  # lifetime_kwh
_CO2 = const(3)  # co2_kg, trees
_COAL = const(4)  # coal_kg
_FACTOR = const(5)  # factor, factor_source, and the notes with the next two
_COAL_FACTOR = const(6)
_VOUCHED = const(7)  # today_label, today_kwh's "?"
_INPUTS = const(8)


class ScreenValues:
    """The screen model: the values the screens show, as text by name in one dict (values,
    reused: a screen update builds no new dict), each text formatted again only when the
    number behind it changed (a string per screen update is garbage the GC must collect).
    Here beside the formatters: a module of its own would cost every unit its heap."""

    def __init__(self):
        self.values = {}
        self._seen = [_UNSET] * _INPUTS
        self._row = None  # the carbon.FACTORS row the notes were formatted from

    def forget_carbon(self):
        """New carbon factors: trees and the notes are formatted again."""
        self._seen[_CO2] = _UNSET
        self._row = None

    def update(self, power_mw, ledger, tree_dg_co2_per_year):
        """power_w, today_kwh, lifetime_kwh, co2_kg, coal_kg, trees and today_label from the
        power (mW) and the ledger (core.ledger.Ledger). A period's total is shown only when
        the ledger can vouch for it (the date is known): otherwise today_kwh is the lifetime
        total with its unit marked ("kWh?") and its label says so ("Total, date unknown")."""
        values = self.values
        seen = self._seen
        if power_mw != seen[_POWER]:
            seen[_POWER] = power_mw
            values["power_w"] = format_power(power_mw / 1000)
        vouched = 1 if ledger.vouched() else 0
        today = ledger.today_mwh if vouched else ledger.mwh(LIFETIME)
        if today != seen[_TODAY] or vouched != seen[_VOUCHED]:
            seen[_TODAY] = today
            text = format_energy_wh(today / 1000)
            if vouched:
                values["today_kwh"] = text
            else:
                values["today_kwh"] = (text[0], text[1] + "?")
        if vouched != seen[_VOUCHED]:
            seen[_VOUCHED] = vouched
            values["today_label"] = LABELS["today"] if vouched else TOTAL_CLOCK
        lifetime = ledger.mwh(LIFETIME)
        if lifetime != seen[_LIFETIME]:
            seen[_LIFETIME] = lifetime
            values["lifetime_kwh"] = format_energy_wh(lifetime / 1000)
        co2_g = ledger.grams(CO2, LIFETIME)
        if co2_g != seen[_CO2]:
            seen[_CO2] = co2_g
            values["co2_kg"] = format_mass_g(co2_g)
            values["trees"] = format_trees(tree_years(co2_g, tree_dg_co2_per_year))
        coal_g = ledger.grams(COAL, LIFETIME)
        if coal_g != seen[_COAL]:
            seen[_COAL] = coal_g
            values["coal_kg"] = format_mass_g(coal_g)
        return values

    def update_carbon(self, row, coal_dg_per_kwh, tree_dg_co2_per_year):
        """factor and factor_source (both from row, a carbon.FACTORS row), and what coal
        (0.1 gce/kWh) and trees (0.1 g CO2 per tree-year) are counted at: trees_note and
        coal_note, (English, Chinese) pairs."""
        values = self.values
        seen = self._seen
        if row[2] != seen[_FACTOR] or coal_dg_per_kwh != seen[_COAL_FACTOR] or row is not self._row:
            seen[_FACTOR] = row[2]
            seen[_COAL_FACTOR] = coal_dg_per_kwh
            self._row = row
            values["factor"] = format_factor(row[2])
            values["factor_source"] = short_source(row)
            kg = format_tenths(tree_dg_co2_per_year // 1000)  # from tenths of kg
            values["trees_note"] = (TREES_NOTE[0] % kg, TREES_NOTE[1] % kg)
            g = format_tenths(coal_dg_per_kwh)
            values["coal_note"] = (COAL_NOTE[0] % g, COAL_NOTE[1] % g)
        return values
