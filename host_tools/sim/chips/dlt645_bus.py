# Several DL/T 645-2007 meters on one simulated RS-485 line (issue 18: the community sign).
#
# Portable Python (CPython and the MicroPython unix port), like dlt645_meter.py, whose meter model
# and line timing it reuses: BusSerial is a FakeSerial whose request reaches EVERY meter on the
# line. Each DLT645MeterModel answers only what is addressed to it (its 12 digits, or AA
# wildcards in the top bytes; the 99..99 broadcast never gets a reply: DL/T 645-2007 frame
# rules as the model implements and tests/host/test_dlt645_crosscheck.py checks against PyPI
# dlt645). What the master hears:
# - no meter answers: silence (a timeout);
# - one answers: its reply, after the line's latency, one byte time per byte;
# - two or more answer at once (two meters set to one address, or the AA wildcard on a shared
#   line): a collision. RS-485 drivers fighting over the line give garbage; it is modelled as
#   the bytewise AND of the replies (the idle/mark state is 1, either driver pulls a bit to 0),
#   which breaks the checksum: the master must see a bad frame, never a value.
# Faults per address (set_fault(address, kind) / clear_fault(address)):
#   SILENT        the meter does not answer (dead, unpowered, cable cut to it);
#   WRONG_ADDRESS it answers with another address in its frame (a corrupted address byte);
#   BUS_ERRORS    its replies arrive with a byte flipped (noise on its stub): checksum error;
#   COLLIDE       a second device answers to its address at the same time.
# A swap (meter replaced: same address, register elsewhere) is DLT645MeterModel.swap().

from host_tools.sim.chips.dlt645_meter import (
    DLT645MeterModel,
    FakeSerial,
    build_frame,
    parse_frame,
    wire_address,
)

SILENT = "silent"
WRONG_ADDRESS = "wrong address"
BUS_ERRORS = "bus errors"
COLLIDE = "collide"
BUS_FAULTS = (SILENT, WRONG_ADDRESS, BUS_ERRORS, COLLIDE)


def collide(replies):
    """What the master hears when these replies overlap: their bytewise AND, as long as the
    longest."""
    n = 0
    for r in replies:
        if len(r) > n:
            n = len(r)
    out = bytearray(b"\xff" * n)
    for r in replies:
        for i in range(len(r)):
            out[i] &= r[i]
    return bytes(out)


class BusSerial(FakeSerial):
    """A machine.UART-like line with several meter models on it (one per address)."""

    def __init__(self, meters, clock=None, baudrate=2400, latency_ms=40, de=None, seed=12345):
        FakeSerial.__init__(
            self, None, clock, baudrate=baudrate, latency_ms=latency_ms, de=de, seed=seed
        )
        self.meters = list(meters)
        self._bus_faults = {}  # wire address -> kind
        self.collisions = 0  # requests answered by more than one device
        self.unanswered = 0  # requests no device answered

    def meter(self, address):
        w = wire_address(address)
        for m in self.meters:
            if m.address == w:
                return m
        raise KeyError(address)

    def set_fault(self, address, kind):
        if kind not in BUS_FAULTS:
            raise ValueError(kind)
        self._bus_faults[wire_address(address)] = kind

    def clear_fault(self, address):
        self._bus_faults.pop(wire_address(address), None)

    def advance(self, seconds):
        for m in self.meters:
            m.advance(seconds)

    def set_powers(self, watts):
        """Every meter's power now (W, in line order): one call for a remote rig."""
        for i in range(len(watts)):
            self.meters[i].power_w = watts[i]

    def _answer(self, data):
        # every meter on the line hears the request (FakeSerial._settle hands it here)
        try:
            target = parse_frame(data)[0]
        except ValueError:
            target = None
        replies = []
        for m in self.meters:
            kind = self._bus_faults.get(m.address)
            if kind == SILENT and target == m.address:
                m.ignored += 1
                continue
            reply = m.feed(data)
            if reply is None:
                continue
            if kind == WRONG_ADDRESS:
                a, c, d = parse_frame(reply)
                other = bytearray(a)
                other[0] ^= 0x01
                head = 0
                while reply[head] == 0xFE:
                    head += 1
                reply = build_frame(bytes(other), c, d, head)
            elif kind == BUS_ERRORS:
                r = bytearray(reply)
                r[len(r) // 2] ^= 0x24
                reply = bytes(r)
            elif kind == COLLIDE:
                twin = DLT645MeterModel(
                    m.address, energy_kwh=m.energy_kwh + 123.45, power_w=m.power_w + 500
                )
                replies.append(twin.feed(data))
            replies.append(reply)
        if not replies:
            self.unanswered += 1
            return None
        if len(replies) > 1:
            self.collisions += 1
            return collide(replies)
        return replies[0]
