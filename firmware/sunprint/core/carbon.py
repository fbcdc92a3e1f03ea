"""Emission factors, and what PV energy avoids: CO2, standard coal, trees.

The factor table is data: region, year, grid emission factor in units of 0.1 g CO2 per kWh (an
int, so 0.5306 kg/kWh is 5306), and the source as the sign cites it. Add a row only with a year
and a source. The ledger books CO2 and coal with the factor in force when the energy was
produced, so choosing another row later never rewrites history.
"""

# (region, year, 0.1 gCO2/kWh, source)
FACTORS = (
    ("CN", 2021, 5568, "MEE/NBS, China national electricity CO2 emission factor 2021"),
    ("CN", 2022, 5366, "MEE/NBS, China national grid average emission factor 2022"),
    ("CN", 2023, 5306, "MEE/NBS, China national electricity CO2 emission factor 2023"),
    ("CN-South", 2022, 3869, "MEE/NBS, China Southern grid regional emission factor 2022"),
    ("CN-South", 2023, 4042, "MEE/NBS, China Southern grid regional emission factor 2023"),
    ("US", 2023, 3670, "US EIA, CO2 per kWh of US electricity generation, all sources, 2023"),
)

DEFAULT_REGION = "CN"
DEFAULT_YEAR = 2023

# Standard coal saved: China's average coal consumption of coal-fired power supply, 2020
# (NDRC), 305.5 gce/kWh, in 0.1 gce/kWh.
COAL_DG_PER_KWH = 3055
COAL_SOURCE = "NDRC 2020, coal-fired power supply 305.5 gce/kWh"

# Trees: a convention, not a measurement: the CO2 one tree is taken to absorb in a year.
TREE_DG_CO2_PER_YEAR = 183000  # 18.3 kg in 0.1 g
TREE_NOTE = "convention: one tree absorbs 18.3 kg CO2 a year"


class CarbonError(ValueError):
    pass


def factor(region=DEFAULT_REGION, year=DEFAULT_YEAR):
    """The table row (region, year, dg_per_kwh, source) for exactly region and year."""
    for row in FACTORS:
        if row[0] == region and row[1] == year:
            return row
    raise CarbonError("no emission factor for region %r year %r" % (region, year))


def in_force(region, year):
    """The newest row of region published for a year <= `year` (the factor in force then)."""
    best = None
    for row in FACTORS:
        if row[0] == region and row[1] <= year and (best is None or row[1] > best[1]):
            best = row
    if best is None:
        raise CarbonError("no emission factor for region %r in or before %r" % (region, year))
    return best


def regions():
    seen = []
    for row in FACTORS:
        if row[0] not in seen:
            seen.append(row[0])
    return seen


def co2_grams(kwh, mwh_remainder, dg_per_kwh):
    """Whole grams of CO2 avoided by kwh + mwh_remainder/10**6 kWh at dg_per_kwh (0.1 g/kWh)."""
    return (kwh * dg_per_kwh + mwh_remainder * dg_per_kwh // 1000000) // 10


def tree_years(co2_g, dg_co2_per_tree_year=TREE_DG_CO2_PER_YEAR):
    """Trees-equivalent (tree-years of absorption) of co2_g grams, in tenths (an int)."""
    return co2_g * 100 // dg_co2_per_tree_year
