# Driving an e-paper controller model by its pins, one command at a time: the SSD1680 model's
# own tests (test_ssd1680_model.py) and the driver's (test_ssd1680.py); send and wait also for
# the SSD1683 and UC8179 models (test_epd_ssd1683.py, test_epd_uc8179.py). Both interpreters.


def send(m, cmd, data=None):
    # Drive the model's pins directly, one command and its parameters.
    m.dc.value(0)
    m.cs.value(0)
    m.spi.write(bytes((cmd,)))
    if data:
        m.dc.value(1)
        m.spi.write(data)
    m.cs.value(1)


def wait(m, busy=1):
    """Poll BUSY while it reads `busy` (1: the SSD16xx's BUSY high; 0: the UC8179's BUSY_N low);
    the polls it took (fewer than 1000)."""
    n = 0
    while m.busy.value() == busy:
        n += 1
        assert n < 1000
    return n


def wake(m):
    m.rst.value(0)
    m.rst.value(1)
    wait(m)
    send(m, 0x12)
    wait(m)


def refresh(m, mode=0xF7):
    send(m, 0x22, bytes((mode,)))
    send(m, 0x20)
    wait(m)
