# A power profile played through a whole unit (test_unit_board_*.py): apart from unit_boot.py,
# as the tests that boot a unit without one (the community boards) have no heap to spare for it.
# CPython and MicroPython.
from unit_boot import run_until


def run_profile(runner, clock, start_s, profile, set_power, **run_kw):
    """A power profile ((minutes, W), ...) in turn from start_s: set_power(W), then the unit
    runs to that step's end (run_until, with run_kw its before, after or model). Returns the end
    time, firmware seconds."""
    t = start_s
    for minutes, w in profile:
        set_power(w)
        t += minutes * 60
        run_until(runner, clock, t, **run_kw)
    return t
