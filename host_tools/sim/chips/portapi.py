# Small objects of the ESP32 port's API that both a chip model here and the model link's unit
# side (host_tools/sim/board/modellink.py) present to the driver: neopixel.NeoPixel's pixel
# buffer and esp32.PCNT's IRQ object. Kept apart from the models so that the unit's VM imports
# only these few lines. Portable Python (CPython and the MicroPython unix port).


class StripBuffer:
    """neopixel.NeoPixel as micropython-lib writes it, without write(): `buf` holds n * bpp
    bytes in the strip's byte order ORDER = GRB(W) (ORDER[i] is the byte offset of channel i of
    (r, g, b, w)); __setitem__/__getitem__/fill as the real class."""

    ORDER = (1, 0, 2, 3)  # G R B W

    def __init__(self, pin, n, bpp=3, timing=1):
        self.pin = pin
        self.n = n
        self.bpp = bpp
        self.timing = timing
        self.buf = bytearray(n * bpp)
        self.writes = 0

    def __len__(self):
        return self.n

    def __setitem__(self, i, v):
        o = i * self.bpp
        for c in range(self.bpp):
            self.buf[o + self.ORDER[c]] = v[c]

    def __getitem__(self, i):
        o = i * self.bpp
        return tuple(self.buf[o + self.ORDER[c]] for c in range(self.bpp))

    def fill(self, v):
        for i in range(self.n):
            self[i] = v


class PcntIrq:
    """esp32.PCNT's IRQ object: flags() gets and clears the counter's pending flags."""

    def __init__(self, pcnt):
        self._pcnt = pcnt

    def flags(self):
        p = self._pcnt
        f = p._flags
        p._flags = 0
        return f
