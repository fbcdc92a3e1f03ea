# S0 pulse input (IEC 62053-31): an energy meter's open-collector output, one pulse per
# 1/counts_per_kwh kWh, pulse >= 30 ms and pause >= 30 ms (so at most ~16.7 pulses/s).
#
# The pin is handed in (micropython-lib style), already an input with its pull-up: the board
# code builds it, the driver never imports machine. With the usual wiring the meter's
# transistor pulls the line low for the pulse (active_low=True).
#
# Two implementations, one interface:
#   count()   total pulses since construction, an int that only grows (across PCNT overflow)
#   poll()    a flag from sunprint.quality: OK, NO_ANSWER (the peripheral raised),
#             STUCK (the line has sat at the pulse level for stuck_ms: a short, or a pull-up
#             missing); it also updates the power estimate. Never raises.
#   read_mw() average power derived from the pulse rate (see below); OSError until known
#   counts_per_kwh, power_mw, ready
# The ledger takes count() through Ledger.add_counter (counter_survives_reboot=False: both
# counters restart at 0 with the chip). Energy comes from the count, never from read_mw().
#
# PcntS0: the ESP32 pulse counter (esp32.PCNT, MicroPython >= 1.26). Counts the pulse's
#   leading edge in hardware, so no pulse is lost to interrupt latency or a busy CPU.
#   - Overflow: the unit counts up to max=32000 and then resets to 0 (the ESP32 PCNT does not
#     wrap to the other limit). The IRQ_MAX event runs _wrap(), which adds one to a wrap
#     count; count() = wraps * 32000 + value(). PCNT.value() first runs any IRQ still pending
#     for the unit (its soft IRQ goes through the scheduler), so a wrap count read after
#     value() matches the value; the loop re-reads when a wrap lands in between (the same
#     scheme as upstream machine.Counter). No polling rate is needed: the IRQ only has to run
#     once per 32000 pulses (32 min even at the S0 maximum of 16.7 pulses/s); a wrap would
#     be lost only if the scheduler could not run the handler for that long. The hardware
#     itself counts far faster than any S0 output.
#   - Filter: `filter` counts 12.5 ns APB cycles, 1..1023, so at most 12.8 us: it removes
#     EMI spikes and the ringing of a long cable, nothing longer. A 30 ms pulse, or the
#     millisecond bounce of a reed-relay S0 output, is far beyond it: each bounce counts.
#     Solid-state (optocoupler) S0 outputs do not bounce; for a relay output use IrqS0.
# IrqS0: a pin interrupt on both edges with a software debounce, for any port.
#   - The handler (hard IRQ safe: no allocation, small ints only) reads the level and keeps a
#     debounced level: a change counts only once the new level has held for debounce_ms with
#     no further edge. A pulse is counted when the line is back at idle and settled, and only
#     if the pulse (first leading edge to first trailing edge) lasted >= min_width_ms. So
#     bounce on either edge is one pulse, a glitch shorter than debounce_ms never settles,
#     and a pulse shorter than min_width_ms is dropped (counted in `rejected`).
#     debounce_ms=10 leaves 20 ms of settled level in a minimum 30 ms pulse or pause, so up
#     to 20 ms of bounce per edge is absorbed; min_width_ms=25 is IEC's 30 ms less tick
#     resolution and IRQ latency. Fastest train it counts: ~25 ms on, ~10 ms off (28/s).
#   - The handler commits a pulse at the next edge; count() adds a completed pulse that is
#     still waiting for it, read-only and under a sequence number the handler bumps, so the
#     main thread never writes what the handler writes.
#   - A line at the pulse level when the driver starts counts as a pulse that starts then.
#
# Power (read_mw, power_mw): the average over a window of at least window_ms between two
# pulses (IrqS0: the pulses' own times, exact; PcntS0: the times of the polls that saw them).
# With no pulse for window_ms the power is at most one pulse over the quiet time, and 0 after
# 15 min. Integer mW, no big ints while window_ms <= 240000, polls come at least every 10 s
# and the power is below 2**30 mW (~1 MW); past that the ints grow (exact, but allocating).

from sunprint.compat import const, ticks_diff, ticks_ms
from sunprint.quality import NO_ANSWER, OK, STUCK

_PCNT_LIMIT = const(32000)  # the unit counts 0.._PCNT_LIMIT-1, then IRQ_MAX and back to 0
_FILTER_MAX_TICKS = const(1023)  # PCNT filter: 10 bits of APB cycles
_FILTER_MAX_NS = const(12787)  # 1023 * 12.5 ns
_SEQ_MASK = const(0x3FFFFFFF)  # keeps the handler's sequence number a small int
_MJ_PER_KWH = 3600000000  # not const: above 2**30, a big int on the ESP32 (used once)
_MAX_WINDOW_MS = const(240000)
_ZERO_AFTER_MS = const(900000)  # no pulse for 15 min: report 0 mW
_EAGAIN = const(11)
_LONG_AGO = const(0x3FFFFFFF)


def _since(now, then):
    # ms from then to now. ticks_diff is only right within half the ticks period (6.2 days
    # on the ESP32); a negative answer between two ordered times means longer than that.
    d = ticks_diff(now, then)
    return d if d >= 0 else _LONG_AGO


def _mw(n, dt_ms, mj):
    # n pulses of mj millijoules in dt_ms: n * mj * 1000 // dt_ms, in three small-int steps
    # (the product itself passes 2**30 easily). Needs dt_ms * 1000 and n * dt_ms < 2**30.
    q1 = mj // dt_ms
    r = (mj - q1 * dt_ms) * 1000
    q2 = r // dt_ms
    return n * 1000 * q1 + n * q2 + n * (r - q2 * dt_ms) // dt_ms


class _S0:
    # What both implementations share: the power estimate and the stuck-line check.

    def _setup(self, pin, counts_per_kwh, active_low, window_ms, stuck_ms, ticks):
        if not 0 < counts_per_kwh <= 1000000:
            raise ValueError("counts_per_kwh must be 1..1000000")
        if not 0 < window_ms <= _MAX_WINDOW_MS:
            raise ValueError("window_ms must be 1..%d" % _MAX_WINDOW_MS)
        self._pin = pin
        self.counts_per_kwh = counts_per_kwh
        self._mj = _MJ_PER_KWH // counts_per_kwh  # energy of one pulse, mJ
        self._active = 0 if active_low else 1
        self._window = window_ms
        self._stuck_ms = stuck_ms
        self._ticks = ticks
        self.power_mw = 0
        self.ready = False  # a power estimate exists
        self._started = False
        self._mark_c = 0  # window start: count and time
        self._mark_t = 0
        self._last_c = 0  # the latest count and when it was reached
        self._last_t = 0
        self._poll_c = -1
        self._held = False  # the line sat at the pulse level at the last poll
        self._held_t = 0

    def count(self):
        raise NotImplementedError

    def _count_time(self, c, now):
        # When the count reached c. PcntS0: the poll that saw it; IrqS0 knows better.
        return now

    def poll(self):
        now = self._ticks()
        try:
            c = self.count()
            level = self._pin.value()
        except OSError:
            return NO_ANSWER
        if not self._started:
            self._started = True
            self._mark_c = self._last_c = c
            self._mark_t = self._last_t = now
        elif c != self._last_c:
            self._last_t = self._count_time(c, now)
            self._last_c = c
        self._estimate(now)
        moved = c != self._poll_c
        self._poll_c = c
        if level != self._active or moved:
            self._held = False
            return OK
        if not self._held:
            self._held = True
            self._held_t = now
        elif _since(now, self._held_t) >= self._stuck_ms:
            return STUCK
        return OK

    def _estimate(self, now):
        dt = _since(self._last_t, self._mark_t)
        if self._last_c != self._mark_c and dt >= self._window:
            # The first pulse after a long quiet (the morning): ~0 until the next window.
            n = self._last_c - self._mark_c
            self.power_mw = _mw(n, dt, self._mj) if dt < _ZERO_AFTER_MS else 0
        else:
            quiet = _since(now, self._last_t)
            if quiet < self._window:
                return
            # Slower than a pulse per window: at most one pulse in the quiet time.
            bound = _mw(1, quiet, self._mj) if quiet < _ZERO_AFTER_MS else 0
            if self.ready and bound >= self.power_mw:
                return
            self.power_mw = bound
        self.ready = True
        self._mark_c = self._last_c
        self._mark_t = self._last_t

    def read_mw(self):
        """Average power in mW from the pulse rate; OSError until a window has passed."""
        if self.poll() == NO_ANSWER:
            raise OSError(_EAGAIN)
        if not self.ready:
            raise OSError(_EAGAIN)
        return self.power_mw


class PcntS0(_S0):
    """S0 input on an ESP32 PCNT unit. pcnt_factory stands in for esp32.PCNT in tests."""

    def __init__(
        self,
        pin,
        *,
        unit=0,
        filter_ns=_FILTER_MAX_NS,
        counts_per_kwh=1000,
        active_low=True,
        window_ms=60000,
        stuck_ms=10000,
        ticks_ms=ticks_ms,
        pcnt_factory=None,
    ):
        self._setup(pin, counts_per_kwh, active_low, window_ms, stuck_ms, ticks_ms)
        if pcnt_factory is None:
            import esp32  # only here: the module imports on every port

            pcnt_factory = esp32.PCNT
        # filter counts 80 MHz APB cycles (12.5 ns), rounded up so it is at least filter_ns.
        ticks = (filter_ns * 80 + 999) // 1000
        self.filter_ticks = ticks if ticks < _FILTER_MAX_TICKS else _FILTER_MAX_TICKS
        self._irq_max = pcnt_factory.IRQ_MAX
        self._wraps = 0
        inc = pcnt_factory.INCREMENT
        ign = pcnt_factory.IGNORE
        # Count the leading edge of the pulse: falling with active_low.
        p = pcnt_factory(unit, min=-_PCNT_LIMIT, max=_PCNT_LIMIT)
        p.init(
            channel=0,
            pin=pin,
            rising=ign if active_low else inc,
            falling=inc if active_low else ign,
            filter=self.filter_ticks,
            value=0,
        )
        p.irq(handler=self._wrap, trigger=self._irq_max)
        p.start()
        self._pcnt = p

    def _wrap(self, pcnt):
        # Reading flags() clears them: PCNT.value() loops until no IRQ is pending.
        if pcnt.irq().flags() & self._irq_max:
            self._wraps += 1

    def count(self):
        p = self._pcnt
        while True:
            w = self._wraps
            v = p.value()  # runs a pending wrap IRQ first
            if w == self._wraps:
                return w * _PCNT_LIMIT + v

    def deinit(self):
        self._pcnt.irq(handler=None)
        self._pcnt.deinit()


class IrqS0(_S0):
    """S0 input on a pin interrupt, debounced in software (any port, any pin)."""

    def __init__(
        self,
        pin,
        *,
        debounce_ms=10,
        min_width_ms=25,
        counts_per_kwh=1000,
        active_low=True,
        window_ms=60000,
        stuck_ms=10000,
        ticks_ms=ticks_ms,
        hard=True,
    ):
        self._setup(pin, counts_per_kwh, active_low, window_ms, stuck_ms, ticks_ms)
        self._debounce = debounce_ms
        self._min_width = min_width_ms
        now = ticks_ms()
        idle = 1 - self._active
        self._stable = idle  # debounced level
        self._raw = pin.value()  # level at the last edge
        self._t_edge = now  # time of the last edge
        self._t_burst = now  # first edge after the line was last quiet for debounce_ms
        self._t_start = now  # leading edge of the pulse in progress
        self._t_pulse = now  # leading edge of the last counted pulse
        self._count = 0
        self._seq = 0  # bumped by every edge: count() re-reads if it changed
        self._count_t = now
        self.rejected = 0  # pulses that settled but were shorter than min_width_ms
        trigger = pin.IRQ_FALLING | pin.IRQ_RISING
        if hard:
            pin.irq(handler=self._irq, trigger=trigger, hard=True)
        else:
            pin.irq(handler=self._irq, trigger=trigger)

    def _irq(self, pin):
        # Interrupt handler: small-int attribute updates only, nothing allocated.
        now = self._ticks()
        self._settle(now)
        d = ticks_diff(now, self._t_edge)
        if d >= self._debounce or d < 0:  # d < 0: more than 6.2 days ago
            self._t_burst = now  # the line was quiet: this edge starts a new burst
        self._raw = pin.value()
        self._t_edge = now
        self._seq = (self._seq + 1) & _SEQ_MASK

    def _settle(self, now):
        # The raw level has held since the last edge: long enough makes it the debounced one.
        raw = self._raw
        if raw == self._stable:
            return
        d = ticks_diff(now, self._t_edge)
        if 0 <= d < self._debounce:  # d < 0: more than 6.2 days ago, long settled
            return
        self._stable = raw
        if raw == self._active:
            self._t_start = self._t_burst
        elif ticks_diff(self._t_burst, self._t_start) >= self._min_width:
            self._count += 1
            self._t_pulse = self._t_start
        else:
            self.rejected += 1

    def count(self):
        while True:
            seq = self._seq
            n = self._count
            t = self._t_pulse
            # A pulse back at idle and settled, that the handler commits at the next edge.
            if (
                self._raw != self._stable
                and self._raw != self._active
                and _since(self._ticks(), self._t_edge) >= self._debounce
                and ticks_diff(self._t_burst, self._t_start) >= self._min_width
            ):
                n += 1
                t = self._t_start
            if seq == self._seq:
                self._count_t = t
                return n

    def _count_time(self, c, now):
        return self._count_t  # the leading edge of the latest pulse

    def deinit(self):
        self._pin.irq(handler=None)


def has_pcnt():
    """True when this port has esp32.PCNT (ESP32, MicroPython >= 1.26)."""
    try:
        import esp32
    except ImportError:
        return False
    return hasattr(esp32, "PCNT")


def select_s0(
    pin,
    *,
    bouncy=False,
    unit=0,
    filter_ns=_FILTER_MAX_NS,
    debounce_ms=10,
    min_width_ms=25,
    counts_per_kwh=1000,
    active_low=True,
    window_ms=60000,
    stuck_ms=10000,
    ticks_ms=ticks_ms,
    pcnt_factory=None,
):
    """PcntS0 when the port has a PCNT (or pcnt_factory is given), else IrqS0.

    bouncy=True (a mechanical or reed-relay S0 contact) always takes IrqS0: the PCNT filter
    (<= 12.8 us) cannot remove millisecond bounce.
    """
    if not bouncy and (pcnt_factory is not None or has_pcnt()):
        return PcntS0(
            pin,
            unit=unit,
            filter_ns=filter_ns,
            counts_per_kwh=counts_per_kwh,
            active_low=active_low,
            window_ms=window_ms,
            stuck_ms=stuck_ms,
            ticks_ms=ticks_ms,
            pcnt_factory=pcnt_factory,
        )
    return IrqS0(
        pin,
        debounce_ms=debounce_ms,
        min_width_ms=min_width_ms,
        counts_per_kwh=counts_per_kwh,
        active_low=active_low,
        window_ms=window_ms,
        stuck_ms=stuck_ms,
        ticks_ms=ticks_ms,
    )
