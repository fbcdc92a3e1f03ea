# Number formats and units on the sign. CPython and MicroPython.
from sunprint.ui.layout import format_energy_wh, format_mass_g, format_power, screen_for


def test_power_units():
    assert format_power(0) == ("0", "W")
    assert format_power(850.4) == ("850", "W")
    assert format_power(999.6) == ("1.00", "kW")
    assert format_power(3421) == ("3.42", "kW")
    assert format_power(12345) == ("12.3", "kW")
    assert format_power(2500000) == ("2.50", "MW")


def test_energy_units():
    assert format_energy_wh(12) == ("12", "Wh")
    assert format_energy_wh(41234) == ("41.2", "kWh")
    assert format_energy_wh(123456) == ("123", "kWh")
    assert format_energy_wh(1.5e6) == ("1.50", "MWh")


def test_mass_units():
    assert format_mass_g(530) == ("530", "g")
    assert format_mass_g(21880) == ("21.9", "kg")
    assert format_mass_g(999400) == ("999", "kg")
    assert format_mass_g(999600) == ("1.00", "t")


def test_screen_for_the_29_inch_panel():
    items = screen_for(296, 128)
    names = [it[5] for it in items if it[0] == "value"]
    assert names == ["power_w", "today_kwh", "co2_kg"]
    try:
        screen_for(100, 100)
    except ValueError as e:
        assert "100x100" in str(e)
    else:
        raise AssertionError("no error for an unknown panel")
