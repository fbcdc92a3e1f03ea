# The app with the refresh plan and screen rotation driving the SSD1680 driver into its
# controller model: after every refresh, full or window-partial, the glass shows exactly the
# picture the renderer drew. CPython and MicroPython.
# micropython-heap: 250000 (the controller model's RAM planes and decoder sit in the same VM;
# on a unit they are glass, not heap)
import framebuf
from app_rig import START, power_source
from repo import ROOT

from host_tools.sim.chips.ssd1680 import SSD1680Model
from sunprint.app import App
from sunprint.core.ledger import Ledger
from sunprint.drivers.ssd1680 import SSD1680
from sunprint.ui.font import BitmapFont
from sunprint.ui.layout import Rotation, fonts_for, screen_for
from sunprint.ui.refresh import RefreshPlan
from sunprint.ui.render import Renderer

FONTS = ROOT + "/assets/fonts/"


def _no_wait(ms):
    pass


def _glass_matches(model, fb):
    for y in range(128):
        for x in range(296):
            if model.landscape_pixel(x, y) != fb.pixel(x, y):
                return (x, y)
    return None


def test_every_refresh_shows_the_rendered_picture():
    model = SSD1680Model()
    panel = SSD1680(
        model.spi, cs=model.cs, dc=model.dc, rst=model.rst, busy=model.busy, sleep=_no_wait
    )
    buf = bytearray(panel.BUFFER_SIZE)
    fb = framebuf.FrameBuffer(buf, 296, 128, panel.BUFFER_FORMAT)
    fonts = {}
    files = []
    for role, name in fonts_for(296, 128).items():
        f = open(FONTS + name, "rb")
        files.append(f)
        fonts[role] = BitmapFont(f)
    rot = Rotation(296, 128, "both")
    renderer = Renderer(fb, buf, 296, 128, fonts, screen_for(296, 128), "both")
    source = power_source(0)
    app = App(
        source=source,
        panel=panel,
        renderer=renderer,
        ledger=Ledger(),
        carbon_row=("CN", 2023, 5306, "MEE/NBS, test"),
        plan=RefreshPlan(),
        rotation=rot,
        fmt=panel.BUFFER_FORMAT,
        screen_period_s=300,
    )
    t = START
    checked = 0
    seen = []
    while t < START + 4 * 3600:
        source.driver.mw = 2000000 + (t - START) * 100  # a rising afternoon
        wake = app.tick(t)
        while wake <= t:
            wake = app.tick(t)
        if app.refreshes > checked:
            checked = app.refreshes
            if checked <= 6 or checked % 10 == 0:
                assert _glass_matches(model, fb) is None, (checked, rot.name, rot.lang)
            seen.append(model.refreshes[-1])
        t += 10
    for f in files:
        f.close()
    assert checked >= 40
    assert "partial" in seen and seen[0] == "full"
    assert model.violations == [], model.violations


def test_the_refresh_count_survives_a_reboot():
    from host_tools.sim.platform.faultfs import FaultFS
    from sunprint.store import FileBackend, PersistPolicy, Store

    class Panel:
        def begin_show(self, buf, full):
            pass

        def busy(self):
            return False

        def finish(self):
            pass

    class Rend:
        width, height = 296, 128
        fb_buffer = bytearray(296 * 16)

        def render(self, values):
            # a picture that changes with the power: every screen period is a change
            self.fb_buffer[0] = (self.fb_buffer[0] + 1) & 0xFF

    def make(fs):
        app = App(
            source=power_source(0),
            panel=Panel(),
            renderer=Rend(),
            ledger=Ledger(),
            carbon_row=("CN", 2023, 5306, "test"),
            store=Store(FileBackend(fs)),
            policy=PersistPolicy(),
            plan=RefreshPlan(),
            fmt=0,
        )
        app.restore()
        return app

    fs = FaultFS()
    app = make(fs)
    t = START
    while t < START + 2 * 3600:
        app.source.driver.mw = 1000000 + t
        app.tick(t)
        t += 10
    app.shutdown(t)
    assert app.session.plan.partials > 5
    again = make(fs.reboot())
    assert again.session.plan.partials == app.session.plan.partials
    assert not again.session.plan.known  # the first refresh after a boot is full
