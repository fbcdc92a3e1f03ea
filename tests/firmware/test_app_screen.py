# The app's one screen-update path (issue 15 item 3): every App has a refresh plan (an LED
# panel's, or any panel without wear, is refresh.always_full()), renders each screen period,
# compares the frame with the panel's and refreshes as the plan says. CPython and MicroPython.
from app_rig import START, Panel, power_source

from sunprint.app import App
from sunprint.core.ledger import Ledger
from sunprint.ui.refresh import NONE, always_full

ROW = ("CN", 2023, 5306, "test")


class Drawing:
    # a renderer whose 8x8 picture is the power shown: a new value is a new frame
    width, height = 8, 8

    def __init__(self):
        self.fb_buffer = bytearray(8)
        self.renders = 0

    def render(self, values):
        self.renders += 1
        buf = self.fb_buffer
        text = values["power_w"][0]
        for i in range(8):
            buf[i] = ord(text[i]) if i < len(text) else 0


class Counting(Panel):
    def __init__(self):
        self.shows = []

    def begin_show(self, buf, full):
        self.shows.append(full)


def _run(app, t, seconds):
    end = t + seconds
    while t < end:
        wake = app.tick(t)
        while wake <= t:
            wake = app.tick(t)
        t += 10
    return t


def test_an_app_is_made_with_a_refresh_plan():
    try:
        App(
            source=power_source(),
            panel=Panel(),
            renderer=Drawing(),
            ledger=Ledger(),
            carbon_row=ROW,
        )
    except TypeError:
        return
    raise AssertionError("an App without a refresh plan")


def test_one_screen_update_path():
    app = App(
        source=power_source(),
        panel=Panel(),
        renderer=Drawing(),
        ledger=Ledger(),
        carbon_row=ROW,
        plan=always_full(),
    )
    assert not hasattr(app, "_shown")  # the plan-less path's cache of the values shown
    assert not hasattr(App, "_update_planned")


def test_always_full_shows_each_changed_picture_at_once_in_full_and_nothing_else():
    panel = Counting()
    source = power_source(1000000)
    renderer = Drawing()
    plan = always_full()
    app = App(
        source=source,
        panel=panel,
        renderer=renderer,
        ledger=Ledger(),
        carbon_row=ROW,
        plan=plan,
        screen_period_s=60,
    )
    t = _run(app, START, 600)  # 10 min at 1 kW: one picture
    assert panel.shows == [True] and renderer.renders == 10
    source.driver.mw = 2000000
    t = _run(app, t, 60)
    assert panel.shows == [True, True]  # the next screen period: at once, in full
    t = _run(app, t, 3600)
    assert panel.shows == [True, True]  # no refresh for nothing
    assert plan.fulls == 2 and plan.partial_refreshes == 0 and app.refreshes == 2
    assert plan.decide(t, t, False) == NONE
