# The 4-wire SPI side of an e-paper controller model, as the host's driver sees it: the SPI bus,
# the CS / DC / RST output pins and the BUSY input. Shared by the SSD1680, SSD1683 and UC8179
# models.
# Portable Python (CPython and the MicroPython unix port).
#
# A model implements _edge(name, level) (an output pin changed), _poll_busy() (one read of BUSY,
# returns the pin level) and _spi_write(buf) (bytes clocked in; the model checks CS and DC).


class OutPin:
    """An output pin of the host (CS, DC, RST) as the controller sees it."""

    def __init__(self, model, name, level):
        self._model = model
        self._name = name
        self._v = level

    def value(self, v=None):
        if v is None:
            return self._v
        v = 1 if v else 0
        old = self._v
        self._v = v
        if old != v:
            self._model._edge(self._name, v)
        return None

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def __call__(self, v=None):
        return self.value(v)


class BusyPin:
    """The controller's BUSY output: each read is one poll."""

    def __init__(self, model):
        self._model = model

    def value(self, v=None):
        return self._model._poll_busy()

    def __call__(self, v=None):
        return self._model._poll_busy()


class SPI:
    def __init__(self, model):
        self._model = model

    def write(self, buf):
        self._model._spi_write(buf)


BAND_SHIFT = 4  # 16 rows per band


class Plane:
    """A 1-bit picture memory of `rows` rows of `xb` bytes, kept in bands of 16 rows so that no
    single block is large (MicroPython's ~110 KB heap fragments; a 15 KB bytearray may not fit
    where sixteen 800-byte ones do). bands[y >> 4][(y & 15) * xb + x] is byte x of row y."""

    def __init__(self, xb, rows):
        self.xb = xb
        self.rows = rows
        band = xb << BAND_SHIFT
        n = (rows + (1 << BAND_SHIFT) - 1) >> BAND_SHIFT
        self.bands = [bytearray(band) for _ in range(n)]

    def get(self, x, y):
        return self.bands[y >> BAND_SHIFT][(y & 15) * self.xb + x]

    def put(self, x, y, v):
        self.bands[y >> BAND_SHIFT][(y & 15) * self.xb + x] = v

    def write(self, x, y, mv, i, k):
        """Bytes mv[i:i+k] into row y from byte x (the run stays inside the row)."""
        o = (y & 15) * self.xb + x
        self.bands[y >> BAND_SHIFT][o : o + k] = mv[i : i + k]

    def clear(self):
        for b in self.bands:
            for i in range(len(b)):
                b[i] = 0

    def tobytes(self):
        """All rows in order, as one new bytearray."""
        out = bytearray(self.xb * self.rows)
        o = 0
        n = len(out)
        for b in self.bands:
            k = min(len(b), n - o)
            out[o : o + k] = b[:k]
            o += k
        return out


class Noise:
    """What a controller's RAM holds after it lost its content: not zeros (a driver that forgot
    to rewrite a RAM must show up in the picture), but the same bytes on every run (xorshift32,
    seeded by the caller)."""

    def __init__(self, seed=0x2545F491):
        self._s = seed & 0xFFFFFFFF or 1

    def fill(self, buf):
        s = self._s
        for i in range(len(buf)):
            s ^= (s << 13) & 0xFFFFFFFF
            s ^= s >> 17
            s ^= (s << 5) & 0xFFFFFFFF
            buf[i] = s & 0xFF
        self._s = s

    def fill_plane(self, plane):
        for band in plane.bands:
            self.fill(band)


def differential(shown, old, new):
    """One byte of the glass after a differential (partial) waveform: pixels whose old and new
    colours differ take the new colour; the others are not driven and keep what the glass shows.
    All three bytes are colours, 1 = black."""
    change = old ^ new
    return (shown & ~change | new & change) & 0xFF
