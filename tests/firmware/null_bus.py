# Buses and pins that answer nothing: what a test hands a driver when it checks what the driver
# sends, how it copes with silence, or what it allocates, without a chip model behind the bus.
# Shared by the driver and board tests (CPython and MicroPython; tests/host imports it too).


class SilentUART:
    """A UART that takes every write and never answers (machine.UART's write/flush/any/readinto)."""

    def write(self, buf):
        return len(buf)

    def flush(self):
        pass

    def any(self):
        return 0

    def readinto(self, buf, n=-1):
        return None


class CaptureUART(SilentUART):
    """A silent UART that records each request the driver writes, as bytes, in `out`."""

    def __init__(self):
        self.out = []

    def write(self, buf):
        self.out.append(bytes(buf))
        return len(buf)


class NullSPI:
    def write(self, buf):
        pass


class NullPin:
    """An output pin that takes every level, and an input pin that always reads `level`."""

    def __init__(self, level=0):
        self.level = level

    def value(self, v=None):
        return self.level


class HeldPin(NullPin):
    """A machine.Pin that keeps the level written to it (1, idle high, at first) and the IRQ
    handler it is given (never called)."""

    def __init__(self, level=1):
        NullPin.__init__(self, level)
        self.handler = None

    def value(self, v=None):
        if v is None:
            return self.level
        self.level = v
        return None

    def irq(self, handler=None, trigger=0, hard=False):
        self.handler = handler


class NoDeviceI2C:
    """An I2C bus with nothing on it: every transfer fails with ENODEV (19), as the port's."""

    def readfrom_mem_into(self, addr, reg, buf):
        raise OSError(19)

    def writeto_mem(self, addr, reg, buf):
        raise OSError(19)
