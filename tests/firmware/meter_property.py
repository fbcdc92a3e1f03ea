# The meter stack's property, shared by tests/firmware/test_meter_property.py (seeded, both
# interpreters) and tests/host/test_meter_hypothesis.py (hypothesis picks the events):
#
#   whatever the register does (one-poll glitches, glitches that last, meter resets and swaps),
#   whatever the line does (replies lost past the driver's retries) and however often the unit
#   reboots (a clean shutdown, minutes off while the meter counts on), the lifetime total never
#   decreases and never exceeds the energy the simulated meter produced, plus one count of the
#   register's resolution per register run (the first, and each re-anchor after a reset or swap:
#   a register truncates, so its first reading may sit just below a count).
#
# Not covered, by design: a forward glitch, or a swap to a meter whose register sits just above
# the old one, small enough to be plausible (at most twice the rated power over the time since
# the last trusted reading) cannot be told from production, and the ledger books it; check()
# moves a glitch or a swap that would land there to _BAND_KWH above the register (and above the
# ledger's anchor: a glitch that stayed for three polls is a new level the ledger trusts).
from meter_rig import MeterRig

# What can happen before a poll (run() takes a list of (event, argument) pairs, one per poll):
POWER = 0  # only the power changes (argument: the new power, W)
GLITCH = 1  # the register reads argument (kWh) for this poll only
GLITCH_RUN = 2  # ... for this poll and the next two (a level that stays, then goes)
RESET = 3  # the meter's register is cleared (argument ignored)
SWAP = 4  # another meter in its place, its register at argument (kWh)
LINE = 5  # the replies to this poll are lost
REBOOT = 6  # a clean shutdown, argument seconds off, a boot from the store

COUNT_MWH = {"esp32-epd42-dlt645": 10000, "esp32-epd75-ddsu666": 1000}
_BAND_KWH = 1000.0  # beyond any plausible step here: 60 kW for an hour's reboot is 60 kWh


def check(board, events, energy_kwh=1234.56):
    """Run the events through the board's meter stack; assert the property after every poll.
    Returns (booked mWh, truth mWh, the ledger) at the end."""
    r = MeterRig(board, energy_kwh=energy_kwh)
    count = COUNT_MWH[board]
    try:
        shown = r.lifetime_mwh()
        glitch_left = 0
        glitch_kwh = 0.0
        for event, arg in events:
            anchor_kwh = r.app.ledger.counter_anchor * count / 1000000
            if event == GLITCH or event == GLITCH_RUN:
                glitch_kwh = _beyond_the_band(arg, r.register(), anchor_kwh)
                glitch_left = 1 if event == GLITCH else 3
            elif event == RESET:
                r.set_register(0.0)
            elif event == SWAP:
                r.set_register(_beyond_the_band(arg, r.register(), anchor_kwh))
            elif event == LINE:
                r.line_fault()
            elif event == REBOOT:
                r.reboot(off_s=arg)
            new_w = arg if event == POWER else r.power_w
            if glitch_left:
                glitch_left -= 1
                r.step(new_w, glitch_kwh=glitch_kwh)
            else:
                r.step(new_w)
            got = r.lifetime_mwh()
            assert got >= shown, ("decreased", shown, got, event)
            ledger = r.app.ledger
            slack = (ledger.counter_resets + 1) * count
            assert got <= r.truth_mwh() + slack, (got, r.truth_mwh(), slack, event)
            shown = got
        return r.lifetime_mwh(), r.truth_mwh(), r.app.ledger
    finally:
        r.close()


def _beyond_the_band(kwh, register, anchor):
    moved = True
    while moved:
        moved = False
        for ref in (register, anchor):
            if ref <= kwh < ref + _BAND_KWH:
                kwh = ref + _BAND_KWH
                moved = True
    return kwh


class Rng:
    # xorshift32: the same numbers in both interpreters, and no bias between successive calls
    def __init__(self, seed):
        self.x = seed & 0xFFFFFFFF or 1

    def next(self, n):
        x = self.x
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.x = x
        return x % n


def random_events(seed, n, max_w):
    """n polls of a random day: a power random walk, and now and then every kind of trouble.
    A generator: the events are made as the run takes them (1500 of them at once would take
    the heap of a unit-sized VM)."""
    rng = Rng(seed)
    w = max_w // 2
    for _ in range(n):
        w += rng.next(801) - 400
        w = 0 if w < 0 else max_w if w > max_w else w
        roll = rng.next(1000)
        if roll < 30:
            yield (GLITCH, rng.next(99999999) / 100)  # anywhere in the register
        elif roll < 40:
            yield (GLITCH, rng.next(5000) / 100)  # far below: a bit or digit lost
        elif roll < 44:
            yield (GLITCH_RUN, rng.next(99999999) / 100)
        elif roll < 47:
            yield (RESET, 0)
        elif roll < 50:
            yield (SWAP, rng.next(409500) / 100)  # < 4096 kWh: a float32 to 0.25 Wh
        elif roll < 80:
            yield (LINE, 0)
        elif roll < 84:
            yield (REBOOT, rng.next(900))
        else:
            yield (POWER, w)
