"""Emission factors and what PV energy avoids.

The factor table is data: region, year, grid emission factor in units of 0.1 g CO2 per kWh
(an int, so 0.5306 kg/kWh is 5306), and the source as it would be cited on the sign.
"""

# (region, year, 0.1 gCO2/kWh, source)
FACTORS = (
    (
        "CN",
        2023,
        5306,
        "MEE/NBS 2023 national grid average emission factor, 0.5306 kgCO2/kWh",
    ),
)

DEFAULT_REGION = "CN"
DEFAULT_YEAR = 2023


class CarbonError(ValueError):
    pass


def factor(region=DEFAULT_REGION, year=DEFAULT_YEAR):
    """The table row (region, year, dg_per_kwh, source) for region and year."""
    for row in FACTORS:
        if row[0] == region and row[1] == year:
            return row
    raise CarbonError("no emission factor for region %r year %r" % (region, year))


def co2_grams(kwh, mwh_remainder, dg_per_kwh):
    """Whole grams of CO2 avoided by kwh + mwh_remainder/10**6 kWh at dg_per_kwh (0.1 g/kWh)."""
    return (kwh * dg_per_kwh + mwh_remainder * dg_per_kwh // 1000000) // 10
