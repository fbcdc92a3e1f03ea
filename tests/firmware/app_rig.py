# Shared by the test_app_*.py files: the app with a stand-in panel and renderer.
from sunprint.app import App
from sunprint.core.ledger import Ledger

START = 782179200 - 8 * 3600 + 10 * 3600  # 2024-10-15 10:00 local, firmware seconds


class Panel:
    def begin_show(self, buf, full):
        pass

    def busy(self):
        return False

    def finish(self):
        pass


class Renderer:
    fb_buffer = bytearray(8)

    def render(self, values):
        pass


def make_app(source, ledger=None):
    return App(
        source=source,
        panel=Panel(),
        renderer=Renderer(),
        ledger=ledger or Ledger(),
        carbon_row=("CN", 2023, 5306, "test"),
    )


class Lcg:
    def __init__(self, seed):
        self.x = seed

    def next(self, n):
        self.x = (self.x * 1103515245 + 12345) & 0x7FFFFFFF
        return self.x % n
