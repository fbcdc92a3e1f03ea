"""A picture smaller than its LED panel, centred on it (board.build puts one between the app and
the panel when the profile's layout.picture is smaller than the display). A module of its own:
only such a board loads it.
"""


class Viewport:
    """Shows a smaller picture centred on a larger LED panel (a screen set drawn on a longer
    chain): begin_show copies the picture into the panel's buffer, row by row (MONO_HLSB) or
    page by page (MONO_VLSB), from preallocated memoryviews; nothing is allocated per frame."""

    def __init__(self, panel, width, height):
        pw, ph = panel.width, panel.height
        self.panel = panel
        self.width = width
        self.height = height
        self.BUFFER_FORMAT = fmt = panel.BUFFER_FORMAT
        x0 = (pw - width) // 2
        y0 = (ph - height) // 2
        if fmt == 0:  # MONO_VLSB: bytes are 8-pixel columns of a page
            y0 &= ~7
            if height % 8:
                raise ValueError("picture height must be a multiple of 8")
            self._runs = height // 8
            self._run = width
            self._dst = (y0 // 8) * pw + x0
            self._dst_step = pw
        else:  # MONO_HLSB: bytes are 8-pixel runs of a row
            x0 &= ~7
            if width % 8:
                raise ValueError("picture width must be a multiple of 8")
            self._runs = height
            self._run = width // 8
            self._dst = y0 * (pw // 8) + x0 // 8
            self._dst_step = pw // 8
        self.BUFFER_SIZE = width * height // 8
        self.full_buffer = bytearray(panel.BUFFER_SIZE)
        self._full = memoryview(self.full_buffer)

    def _copy(self, buf):
        src = memoryview(buf)
        run = self._run
        d = self._dst
        s = 0
        for _ in range(self._runs):
            self._full[d : d + run] = src[s : s + run]
            d += self._dst_step
            s += run

    def begin_show(self, buf, full=False):
        self._copy(buf)
        self.panel.begin_show(self.full_buffer, full)

    def show(self, buf, full=False):
        self._copy(buf)
        self.panel.show(self.full_buffer, full)

    def busy(self):
        return self.panel.busy()

    def finish(self):
        self.panel.finish()
