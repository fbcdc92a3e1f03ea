# Emission factors and CO2 avoided. Runs under CPython and MicroPython.
from sunprint.core import carbon


def test_china_2023_factor_is_sourced():
    region, year, dg, source = carbon.factor("CN", 2023)
    assert (region, year, dg) == ("CN", 2023, 5306)
    assert "MEE" in source and "2023" in source


def test_unknown_factor_is_an_error():
    try:
        carbon.factor("CN", 1999)
    except carbon.CarbonError as e:
        assert "1999" in str(e)
    else:
        raise AssertionError("no error for a missing factor")


def test_co2_of_one_kwh():
    assert carbon.co2_grams(1, 0, 5306) == 530


def test_co2_counts_the_mwh_remainder():
    # 0.5 kWh at 530.6 g/kWh = 265.3 g
    assert carbon.co2_grams(0, 500000, 5306) == 265
    # 1000 kWh -> 530.6 kg
    assert carbon.co2_grams(1000, 0, 5306) == 530600


def test_table_rows_of_the_issue():
    want = {
        ("CN", 2021): 5568,
        ("CN", 2022): 5366,
        ("CN", 2023): 5306,
        ("CN-South", 2022): 3869,
        ("CN-South", 2023): 4042,
        ("US", 2023): 3670,
    }
    for (region, year), dg in want.items():
        assert carbon.factor(region, year)[2] == dg
    for row in carbon.FACTORS:
        assert len(row) == 4 and row[1] >= 2000 and len(row[3]) > 10  # every row has a source


def test_factor_in_force_is_the_newest_not_after_the_year():
    assert carbon.in_force("CN", 2025)[1] == 2023
    assert carbon.in_force("CN", 2022)[1] == 2022
    assert carbon.in_force("CN-South", 2024)[2] == 4042
    try:
        carbon.in_force("CN-South", 2021)
    except carbon.CarbonError:
        pass
    else:
        raise AssertionError("a factor before the first published year")


def test_trees_are_tenths_of_tree_years():
    assert carbon.tree_years(18300) == 10  # 18.3 kg = one tree for a year
    assert carbon.tree_years(26000) == 14  # the bundled day's 26 kg: 1.4 tree-years
    assert "convention" in carbon.TREE_NOTE
    assert carbon.COAL_DG_PER_KWH == 3055
