# Shared by the test_app_*.py files: the app with a stand-in panel and renderer, and a
# stand-in sensor driver under a real sources.PowerSource.
from sunprint.app import App
from sunprint.core.ledger import Ledger
from sunprint.quality import OK
from sunprint.sources import PowerSource
from sunprint.ui.refresh import always_full

START = 782179200 - 8 * 3600 + 10 * 3600  # 2024-10-15 10:00 local, firmware seconds


class Panel:
    def begin_show(self, buf, full):
        pass

    def busy(self):
        return False

    def finish(self):
        pass


class Driver:
    """A sensor driver as sources.PowerSource reads one: poll() returns a quality flag
    (sunprint/quality.py), power_mw keeps the last good reading. Set `mw` for what the next
    good poll reads, `flag` for what the next poll says (quality.NO_ANSWER: a dead bus)."""

    def __init__(self, mw=1000000):
        self.mw = mw
        self.flag = OK
        self.power_mw = 0

    def poll(self):
        if self.flag == OK:
            self.power_mw = self.mw
        return self.flag


def power_source(mw=1000000):
    """The app's source over a stand-in driver reading `mw` (source.driver.mw to change it)."""
    return PowerSource(Driver(mw))


class Renderer:
    # an 8x8 frame (MONO_VLSB) that never changes: the plan's first full refresh, then none
    fb_buffer = bytearray(8)
    width = 8
    height = 8

    def render(self, values):
        pass


def make_app(source, ledger=None):
    return App(
        source=source,
        panel=Panel(),
        renderer=Renderer(),
        ledger=ledger or Ledger(),
        carbon_row=("CN", 2023, 5306, "test"),
        plan=always_full(),
    )


class Lcg:
    def __init__(self, seed):
        self.x = seed

    def next(self, n):
        self.x = (self.x * 1103515245 + 12345) & 0x7FFFFFFF
        return self.x % n
