# Emission factors and CO2 avoided. Runs under CPython and MicroPython.
from sunprint.core import carbon


def test_china_2023_factor_is_sourced():
    region, year, dg, source = carbon.factor("CN", 2023)
    assert (region, year, dg) == ("CN", 2023, 5306)
    assert "MEE" in source and "0.5306" in source


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
