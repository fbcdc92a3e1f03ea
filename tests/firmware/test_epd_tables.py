# The e-paper drivers' byte translation tables (sunprint.drivers.epd.table) are bytes constants
# written out in the source: each entry is what its rule says. CPython and MicroPython.
from sunprint.drivers.epd import INVERT, REVERSE, table


def _reversed_bits(b):
    v = 0
    for i in range(8):
        if b & (1 << i):
            v |= 0x80 >> i
    return v


def test_every_table_follows_its_rule():
    for kind in (0, INVERT, REVERSE, INVERT | REVERSE):
        t = table(kind)
        assert len(t) == 256
        for b in range(256):
            want = _reversed_bits(b) if kind & REVERSE else b
            if kind & INVERT:
                want ^= 0xFF
            assert t[b] == want, (kind, b, t[b], want)


def test_a_table_is_read_only():
    # a constant (in flash when the app is frozen): a driver cannot change it by mistake
    t = table(INVERT | REVERSE)
    try:
        t[0] = 1  # type: ignore[index]
    except TypeError:
        return
    raise AssertionError("the table is writable")
