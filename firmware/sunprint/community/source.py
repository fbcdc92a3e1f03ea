# The community as one source for the app (issue 18): the bus poller, the per-meter counters and
# the community Ledger, driven from the loop. Not yet built by board.build (docs/community.md).
#
#     src = CommunitySource(poller, meters, ledger, sample_period_s=30)
#     while True:                      # the app's loop, a few ms a pass
#         src.service(t, wall)         # never blocks; books a round when it ends
#
# service() starts a round every sample_period_s (monotonic seconds t), advances it by one
# poller step per call, and when the round ends books every meter read in it (add) and hands
# the community total to the Ledger (feed). It allocates nothing (tests/firmware/
# test_community_source.py); status() builds the status JSON's per-meter list (it allocates:
# call it when the status is asked for).

from sunprint.core.quality import NAMES, OK


class CommunitySource:
    def __init__(self, poller, meters, ledger, sample_period_s=30):
        if poller.n != meters.n:
            raise ValueError("community: the poller and the counters list different meters")
        self.poller = poller
        self.meters = meters
        self.ledger = ledger
        self.sample_period_s = sample_period_s
        self.rounds_booked = 0
        self.late_rounds = 0  # a period began before the last round ended: the bus is too slow
        self._next = -1

    def service(self, t, wall=-1):
        """Advance the bus by one step; returns True when a round was booked in this call."""
        p = self.poller
        if p.busy:
            if p.step():
                return False
            self._book(t, wall)
            return True
        if self._next < 0 or t >= self._next:
            if self._next >= 0 and t - self._next >= self.sample_period_s:
                self.late_rounds += 1
            self._next = t + self.sample_period_s
            p.begin_round()
            p.step()
        return False

    def _book(self, t, wall):
        p = self.poller
        m = self.meters
        i = 0
        while i < p.n:
            if p.fresh[i]:
                m.add(i, t, p.energy[i], wall)
            i += 1
        m.feed(self.ledger, t, wall)
        self.rounds_booked += 1

    def reporting(self):
        return self.poller.reporting()

    def power_mw(self):
        """The community's power now: the sum over meters whose last read was good, in mW."""
        p = self.poller
        total = 0
        i = 0
        while i < p.n:
            if p.flag[i] == OK:
                total += p.power[i] * p.power_mw_per_unit
            i += 1
        return total

    def status(self):
        """Every meter with its state, for the status JSON (allocates)."""
        p = self.poller
        m = self.meters
        out = []
        for i in range(p.n):
            a = p.addr
            out.append(
                {
                    "address": "".join("%02x" % a[6 * i + 5 - k] for k in range(6)),
                    "state": NAMES[p.flag[i]] if p.flag[i] < len(NAMES) else "?",
                    "register": p.energy[i],
                    "booked_wh": m.booked[i] * m.wh_per_count,
                    "silent": p.silent[i],
                    "wrong": p.wrong[i],
                    "resets": m.resets[i],
                    "implausible": m.implausible[i],
                }
            )
        return out
