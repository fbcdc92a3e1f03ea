# An output pin of the host (machine.Pin's value() / on() / off() / pin(v)) as a chip model sees
# it: a model subclasses it and hears of each change of level in _changed(v). The e-paper models'
# CS / DC / RST (epdbus.OutPin) and the UARTs' DE pins (uart.FakePin, dlt645_meter.FakePin).
# Portable Python (CPython and the MicroPython unix port).


class OutputPin:
    def __init__(self, level=0):
        self._v = level

    def _changed(self, v):
        """The level went to v (0 or 1)."""

    def value(self, v=None):
        if v is None:
            return self._v
        v = 1 if v else 0
        if v != self._v:
            self._v = v
            self._changed(v)
        return None

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def __call__(self, v=None):
        return self.value(v)
