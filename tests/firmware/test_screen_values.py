# The screen model (ui/layout.py ScreenValues): texts by name, each formatted again only when
# the number behind it changed. CPython and MicroPython.
from sunprint.core.ledger import Ledger
from sunprint.ui.layout import TOTAL_CLOCK, ScreenValues

ROW = ("CN", 2023, 5306, "test")
TREE_DG = 220000


def test_a_text_is_formatted_again_only_when_its_number_changed():
    model, ledger = ScreenValues(), Ledger()
    values = model.update(1500000, ledger, TREE_DG)
    power, lifetime = values["power_w"], values["lifetime_kwh"]
    again = model.update(1500000, ledger, TREE_DG)
    assert again is values  # one dict, reused
    assert again["power_w"] is power and again["lifetime_kwh"] is lifetime  # not made again
    model.update(2500000, ledger, TREE_DG)
    assert values["power_w"] is not power and values["power_w"] != power
    assert values["lifetime_kwh"] is lifetime


class Unvouched(Ledger):
    """A ledger whose date is unknown (its periods cannot be vouched for)."""

    def vouched(self):
        return False


def test_an_unvouched_day_shows_the_lifetime_marked():
    model = ScreenValues()
    values = model.update(0, Ledger(), TREE_DG)
    assert values["today_label"] != TOTAL_CLOCK and not values["today_kwh"][1].endswith("?")
    model.update(0, Unvouched(), TREE_DG)
    assert values["today_label"] == TOTAL_CLOCK
    assert values["today_kwh"][1].endswith("?")


def test_new_carbon_factors_format_trees_and_notes_again():
    model, ledger = ScreenValues(), Ledger()
    model.update(0, ledger, TREE_DG)
    values = model.update_carbon(ROW, 3000, TREE_DG)
    note, trees = values["coal_note"], values["trees"]
    model.update_carbon(ROW, 3000, TREE_DG)
    assert values["coal_note"] is note  # nothing changed: nothing formatted
    model.forget_carbon()
    model.update(0, ledger, TREE_DG)
    model.update_carbon(ROW, 3000, TREE_DG)
    assert values["coal_note"] is not note and values["coal_note"] == note
    assert values["trees"] is not trees and values["trees"] == trees
