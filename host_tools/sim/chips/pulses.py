# S0 pulse sources for tests: a virtual clock, a pin an external signal drives, a pulse train
# made from a true power profile with contact bounce, glitches and missed pulses, and a model
# of the ESP32 PCNT unit (the subset of esp32.PCNT that sunprint.drivers.s0 uses).
#
# Portable Python: runs under CPython and inside the MicroPython unix port (no random module,
# no typing; randomness from a seeded LCG so both interpreters see the same pulses).
#
#     clock = VirtualClock()
#     pin = FakePin(clock)                       # idle high: the S0 transistor pulls it low
#     s0 = IrqS0(pin, ticks_ms=clock.ticks_ms)   # or PcntS0(pin, pcnt_factory=FakePCNT, ...)
#     train = PulseTrain([(3600000, 2000000)], bounce_ms=3, seed=7)   # 1 h at 2 kW
#     play(train.edges(), pin, clock, every_ms=10000, each=lambda t: ...)
#     s0.count() == train.pulses - train.missed
#
# Time is kept in integer nanoseconds: PCNT glitches are microseconds, pulses milliseconds.
# The drivers see only ticks_ms(), like on the device.

_NS_PER_MS = 1000000
_PJ_PER_KWH = 3600000000000000000  # mW * ns (pJ) per kWh


class VirtualClock:
    """A clock that moves only when told: ticks_ms() for the driver, advance() for the test.

    Kept as whole milliseconds plus the nanoseconds past them, both small ints on a 32-bit VM
    (as the ESP32's): a nanosecond count passes 2**30 after a second, and then every step and
    every ticks_ms() would allocate a big int inside the driver's call and count as its
    allocation. `ns` (the whole count) is for the models and the test, not the hot path.
    """

    def __init__(self, start_ms=0):
        self.ms = start_ms
        self.sub_ns = 0

    @property
    def ns(self):
        return self.ms * _NS_PER_MS + self.sub_ns

    def ticks_ms(self):
        return self.ms

    def ticks_us(self):
        return self.ms * 1000 + self.sub_ns // 1000

    def advance(self, ms):
        self.ms += ms

    def advance_ns(self, ns):
        sub = self.sub_ns + ns
        if sub >= _NS_PER_MS:
            self.ms += sub // _NS_PER_MS
            sub %= _NS_PER_MS
        self.sub_ns = sub

    def set_ns(self, ns):
        if ns < self.ns:
            raise ValueError("the clock does not go back")
        self.ms = ns // _NS_PER_MS
        self.sub_ns = ns % _NS_PER_MS


class Lcg:
    """Numerical Recipes' 32-bit LCG: the same numbers in every interpreter."""

    def __init__(self, seed=1):
        self.state = seed & 0xFFFFFFFF

    def next(self):
        self.state = (1664525 * self.state + 1013904223) & 0xFFFFFFFF
        return self.state

    def below(self, n):
        """An int in 0..n-1 (the high bits: the low bits of an LCG are poor)."""
        return ((self.next() >> 8) * n) >> 24


class FakePin:
    """An input pin driven by an external signal. irq() and value() as machine.Pin."""

    IRQ_RISING = 1  # the ESP32 port's values
    IRQ_FALLING = 2

    def __init__(self, clock, level=1):
        self.clock = clock
        self._level = level
        self._handler = None
        self._trigger = 0
        self.hard = False
        self._watcher = None  # a FakePCNT counting this pin
        self.edges = 0

    def value(self, v=None):
        if v is None:
            return self._level
        self.drive(v)
        return None

    def irq(self, handler=None, trigger=3, hard=False, **_kw):
        self._handler = handler
        self._trigger = trigger if handler is not None else 0
        self.hard = hard

    def watch(self, pcnt):
        self._watcher = pcnt

    def drive(self, level):
        """The external signal sets the line (at the clock's current time)."""
        if level == self._level:
            return
        self._level = level
        self.edges += 1
        w = self._watcher
        if w is not None:
            w._edge(level, self.clock.ns)
        if self._trigger & (self.IRQ_RISING if level else self.IRQ_FALLING):
            self._handler(self)  # type: ignore[misc]


class PulseTrain:
    """S0 pulses from a true power profile.

    segments: (duration_ms, power_mw) pairs, constant power in each. A pulse starts when the
    energy since the previous one reaches 1/counts_per_kwh kWh (as a meter's pulse output does),
    but never sooner than pulse_ms + gap_ms after the previous start. The line idles at `idle`
    and sits at the other level for pulse_ms.

    Faults, all seeded:
    - bounce_ms: each pulse edge chatters (1..3 extra bounces) for up to bounce_ms after it;
    - glitch_every_ms: a glitch to the pulse level of glitch_min_ns..glitch_max_ns, on average
      this often, only while the line idles (and clear of the pulses' bounce);
    - missed: indices of pulses the meter never puts out (0 = the first), or miss_every=n
      drops every n-th.
    After edges() is exhausted: pulses (true pulses), missed, glitches, energy_pj (true).
    """

    def __init__(
        self,
        segments,
        *,
        counts_per_kwh=1000,
        pulse_ms=30,
        gap_ms=30,
        idle=1,
        bounce_ms=0,
        glitch_every_ms=0,
        glitch_min_ns=200000,
        glitch_max_ns=4000000,
        missed=(),
        miss_every=0,
        seed=1,
        start_ms=0,
    ):
        self.segments = segments
        self.counts_per_kwh = counts_per_kwh
        self.pulse_ns = pulse_ms * _NS_PER_MS
        self.gap_ns = gap_ms * _NS_PER_MS
        self.idle = idle
        self.bounce_ns = bounce_ms * _NS_PER_MS
        self.glitch_every_ns = glitch_every_ms * _NS_PER_MS
        self.glitch_min_ns = glitch_min_ns
        self.glitch_max_ns = glitch_max_ns
        self.missed_set = missed
        self.miss_every = miss_every
        self.start_ns = start_ms * _NS_PER_MS
        self.rng = Lcg(seed)
        self.pulses = 0
        self.missed = 0
        self.glitches = 0
        self.energy_pj = 0
        self.end_ns = self.start_ns
        for duration_ms, mw in segments:
            self.energy_pj += duration_ms * _NS_PER_MS * mw
            self.end_ns += duration_ms * _NS_PER_MS

    def energy_mwh(self):
        """The true energy of the whole profile, in mWh (float)."""
        return self.energy_pj / 3600000000000

    def pulse_starts(self):
        """Start times (ns) of every true pulse, missed ones included."""
        per_pulse = _PJ_PER_KWH // self.counts_per_kwh
        min_period = self.pulse_ns + self.gap_ns
        t = self.start_ns
        acc = 0  # energy since the last pulse, mW * ns
        last = -min_period
        for duration_ms, mw in self.segments:
            seg_end = t + duration_ms * _NS_PER_MS
            while mw > 0:
                need = per_pulse - acc
                dt = (need + mw - 1) // mw  # ns until the next pulse's energy is in
                if t + dt > seg_end:
                    break
                t += dt
                acc = dt * mw - need  # the overshoot counts towards the next pulse
                start = t if t - last >= min_period else last + min_period
                last = start
                yield start
            acc += (seg_end - t) * mw
            t = seg_end

    def _chatter(self, t, level):
        # The edge at t, then 1..3 bounces back and forth within bounce_ns, ending at level.
        yield t, level
        if not self.bounce_ns:
            return
        n = 1 + self.rng.below(3)
        steps = 2 * n  # one bounce edge in each slot of bounce_ns / steps
        slot = self.bounce_ns // steps
        for i in range(steps):
            tb = t + 1000 + slot * i + self.rng.below(slot - 1000)
            yield tb, (level ^ 1) if i % 2 == 0 else level

    def _glitches(self, t0, t1):
        # Glitches in the idle stretch (t0, t1): to the pulse level and back.
        every = self.glitch_every_ns
        if not every:
            return
        t = self._next_glitch
        while t < t1:
            width = self.glitch_min_ns + self.rng.below(self.glitch_max_ns - self.glitch_min_ns + 1)
            if t > t0 and t + width < t1:
                self.glitches += 1
                yield t, self.idle ^ 1
                yield t + width, self.idle
            t += every // 2 + self.rng.below(every)
        self._next_glitch = t

    def edges(self):
        """(time_ns, level) of every edge, in time order."""
        active = self.idle ^ 1
        margin = self.bounce_ns + 2 * _NS_PER_MS
        self._next_glitch = self.start_ns + (
            self.rng.below(self.glitch_every_ns) if self.glitch_every_ns else 0
        )
        quiet_from = self.start_ns
        for start in self.pulse_starts():
            i = self.pulses
            self.pulses += 1
            if i in self.missed_set or (self.miss_every and i % self.miss_every == 0):
                self.missed += 1
                continue
            yield from self._glitches(quiet_from, start - margin)
            yield from self._chatter(start, active)
            yield from self._chatter(start + self.pulse_ns, self.idle)
            quiet_from = start + self.pulse_ns + margin
        yield from self._glitches(quiet_from, self.end_ns)


def play(edges, pin, clock, until_ms=-1, every_ms=0, each=None):
    """Drive pin with edges on the clock; every every_ms of virtual time call each(ms).

    until_ms: then go on to there (polls included), if the last edge was earlier.
    """
    every = every_ms * _NS_PER_MS
    next_poll = clock.ns + every if every else -1
    for t, level in edges:
        while every and next_poll <= t:
            clock.set_ns(next_poll)
            each(clock.ticks_ms())  # type: ignore[misc]
            next_poll += every
        clock.set_ns(t)
        pin.drive(level)
    end = until_ms * _NS_PER_MS
    while every and next_poll <= end:
        clock.set_ns(next_poll)
        each(clock.ticks_ms())  # type: ignore[misc]
        next_poll += every
    if end > clock.ns:
        clock.set_ns(end)


_NOARG = object()


class _FakeIrq:
    def __init__(self, pcnt):
        self._pcnt = pcnt

    def flags(self):
        # Get and clear, as the real one.
        p = self._pcnt
        f = p._flags
        p._flags = 0
        return f

    def trigger(self):
        return self._pcnt._trigger


class FakePCNT:
    """The esp32.PCNT subset PcntS0 uses: one channel, up-counting, filter, limits, IRQ.

    As the ESP32 (MicroPython >= 1.26, esp32_pcnt.c):
    - a 16-bit signed count; on reaching max (or min) it goes back to 0, and only a limit set
      below 32767 (above -32768) raises IRQ_MAX (IRQ_MIN);
    - filter: 0..1023 APB cycles of 12.5 ns; a level must hold that long to count;
    - the IRQ is soft: the handler runs later (run_pending(), as the scheduler would), and
      value() first runs it while flags are pending, so count and wrap agree. defer_irq=False
      runs it at once instead. The handler must read irq().flags() to clear them.
    Not modelled: the second channel, mode pins, thresholds, decrementing.
    """

    INCREMENT = 1
    DECREMENT = 2
    IGNORE = 0
    NORMAL = 0
    REVERSE = 1
    HOLD = 2
    IRQ_ZERO = 1
    IRQ_THRESHOLD0 = 2
    IRQ_THRESHOLD1 = 4
    IRQ_MIN = 8
    IRQ_MAX = 16

    defer_irq = True  # class-wide default; set on an instance to change one unit
    instances = []  # every unit made, for tests to reach the one a driver built

    def __init__(self, id, **kwargs):
        if not 0 <= id < 8:
            raise ValueError("invalid id")
        self.id = id
        self.pin = None
        self.rising = self.IGNORE
        self.falling = self.IGNORE
        self.filter = 0
        self.min = -32768
        self.max = 32767
        self._count = 0
        self._running = False
        self._handler = None
        self._trigger = 0
        self._flags = 0
        self._irq = _FakeIrq(self)
        self._raw = 1
        self._filtered = 1
        self._t_edge = 0
        self.handler_calls = 0
        FakePCNT.instances.append(self)
        self.init(**kwargs)

    def init(self, **kw):
        if kw.get("channel", 0) != 0:
            raise ValueError("channel: only channel 0 is modelled")
        if "pin" in kw:
            pin = kw["pin"]
            self.pin = pin
            pin.watch(self)
            self._raw = self._filtered = pin.value()
            self._t_edge = pin.clock.ns
        if "rising" in kw or "falling" in kw:
            if self.pin is None:
                raise ValueError("channel not initialised")
            self.rising = kw.get("rising", self.IGNORE)
            self.falling = kw.get("falling", self.IGNORE)
        if "filter" in kw:
            f = kw["filter"]
            if not 0 <= f <= 1023:
                raise ValueError("filter")
            self.filter = f
        clear = "value" in kw
        if clear and kw["value"] != 0:
            raise ValueError("value")
        if "min" in kw:
            if not -32768 <= kw["min"] < 0:
                raise ValueError("minimum")
            self.min = kw["min"]
            clear = True
        if "max" in kw:
            if not 0 < kw["max"] <= 32767:
                raise ValueError("maximum")
            self.max = kw["max"]
            clear = True
        if clear:
            self._count = 0

    def start(self):
        self._running = True

    def stop(self):
        self._running = False

    def deinit(self):
        self._running = False
        self._handler = None
        self._trigger = 0

    def irq(self, handler=_NOARG, trigger=IRQ_ZERO):
        if handler is not _NOARG:  # irq() alone only returns the IRQ object
            self._handler = handler
            self._trigger = trigger if handler is not None else 0
        return self._irq

    def value(self, v=None):
        if self._raw != self._filtered:  # an edge still in the filter: read the clock's ns
            self._settle(self.pin.clock.ns if self.pin is not None else 0)
        n = 0
        while self._flags and self._handler is not None:
            self._call()
            n += 1
            if n > 100:
                raise RuntimeError("PCNT IRQ handler does not clear irq().flags()")
        c = self._count
        if v is not None:
            if v != 0:
                raise ValueError("value")
            self._count = 0
        return c

    def run_pending(self):
        """What MicroPython's scheduler does between bytecodes: run a pending IRQ."""
        if self._flags and self._handler is not None:
            self._call()

    def _call(self):
        self.handler_calls += 1
        self._handler(self)  # type: ignore[misc]

    # --- the input path ---

    def _edge(self, level, t):
        self._settle(t)
        self._raw = level
        self._t_edge = t
        if not self.filter:
            self._settle(t)

    def _settle(self, t):
        # The filter: the raw level counts once it has held filter cycles (12.5 ns each).
        if self._raw == self._filtered or t - self._t_edge < self.filter * 25 // 2:
            return
        self._filtered = self._raw
        if not self._running:
            return
        action = self.rising if self._raw else self.falling
        if action == self.INCREMENT:
            self._step(1)
        elif action == self.DECREMENT:
            self._step(-1)

    def _step(self, d):
        c = self._count + d
        event = 0
        if c >= self.max:
            c = 0
            if self.max != 32767:
                event = self.IRQ_MAX
        elif c <= self.min:
            c = 0
            if self.min != -32768:
                event = self.IRQ_MIN
        if c == 0:
            event |= self.IRQ_ZERO
        self._count = c
        event &= self._trigger
        if event:
            self._flags |= event
            if not self.defer_irq:
                self._call()
