"""The run-time piece of sunprint/board.py: the Unit that build() returns.

It lives apart from board.py because an object keeps the module of its class's methods on the
heap: board.py, the profile's construction, is boot-only and leaves the heap once the unit runs
(main.py), the Unit stays as long as the unit does. (Likewise sunprint/viewport.py, which only
a board with a picture smaller than its LED panel loads.)
"""


class Unit:
    """What build() made: panel, display (what the app draws on), buffer, fb, renderer, fonts,
    rotation, plan, driver, source, ledger, app, buses (name -> bus object), pins (field ->
    Pin). close() closes the font files."""

    def __init__(self):
        self.buses = {}
        self.pins = {}
        self.font_files = []

    def set_parts(self, panel, display, buffer, fb, driver, source, ledger, fonts, renderer):
        self.panel = panel
        self.display = display
        self.buffer = buffer
        self.fb = fb
        self.driver = driver
        self.source = source
        self.ledger = ledger
        self.fonts = fonts
        self.renderer = renderer

    def set_app(self, rotation, plan, carbon_row, app):
        self.rotation = rotation
        self.plan = plan
        self.carbon_row = carbon_row
        self.app = app

    def close(self):
        for f in self.font_files:
            f.close()
        self.font_files = []
