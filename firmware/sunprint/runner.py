"""The device runner: ticks the app (sunprint.app) in real time under asyncio, feeds the watchdog.

    runner = Runner(app, wdt=machine.WDT(timeout=30000), boot=safemode.RtcRecord(machine.RTC()))
    runner.start()  # asyncio.run(runner.run()): returns after stop() or Ctrl-C

One loop iteration (step()): read the clock; if the app's wake time has come, tick it; feed the
watchdog; return how long to sleep. The loop then sleeps with asyncio, never longer than half the
watchdog timeout, so an idle app (a tick due in 5 minutes) still feeds it in time.

The watchdog is fed only after a tick has returned. A tick that hangs (a bus that never answers,
a loop that never ends) never comes back to the loop, the watchdog is not fed, and the hardware
resets the chip; the boot counter (sunprint.safemode) then counts a crashed boot. A tick that
raises is caught, counted in app.faults["tick"] and the loop goes on; but after
`max_tick_failures` failing ticks in a row the runner stops feeding, so a tick that can never
succeed ends in a reset too (and three of those in safe mode) instead of a sign that is stuck.

Exceptions that are not `Exception` (KeyboardInterrupt, SystemExit, a test's simulated reset)
leave run(); KeyboardInterrupt and SystemExit persist the ledger first (app.shutdown), as stop()
does.

Time comes from a clock object (Clock below on the device; tests hand in a virtual one):
    now() -> int monotonic seconds (the app's `now`)
    wall() -> int wall-clock seconds since 2000-01-01 UTC (the app's `wall`)
    ticks_ms() -> int milliseconds (for the watchdog's bookkeeping)
    async sleep_ms(ms)
"""

import time

from sunprint.compat import EPOCH_2000_UNIX, const, ticks_diff, ticks_ms

try:
    import asyncio
except ImportError:  # a MicroPython build without asyncio
    import uasyncio as asyncio  # type: ignore[no-redef]

_asleep_ms = getattr(asyncio, "sleep_ms", None)


async def sleep_ms(ms):
    """asyncio.sleep_ms on MicroPython, asyncio.sleep(ms / 1000) on CPython."""
    if _asleep_ms is not None:
        await _asleep_ms(ms)
    else:
        await asyncio.sleep(ms / 1000)


# Unix time.time() counts from 1970; the ESP32's from 2000 (firmware time).
_WALL_OFFSET = EPOCH_2000_UNIX if time.gmtime(0)[0] == 1970 else 0
_NOTE_INTERVAL_S = const(60)  # at most one boot-record write a minute for app faults
_MAX_NOTES = const(16)  # and at most this many per boot (flash wear, when the record is a file)


class Clock:
    """The real clock: monotonic seconds from ticks_ms (wrap-safe, as long as it is read more
    often than every 6 days: the runner reads it every loop), starting at the wall time of
    boot so that now and wall agree until the wall clock is set or drifts."""

    def __init__(self):
        self._last = ticks_ms()
        self._ms = 0
        self._start = self.wall()

    def ticks_ms(self):
        return ticks_ms()

    def _advance(self):
        t = ticks_ms()
        self._ms += ticks_diff(t, self._last)
        self._last = t

    def now(self):
        self._advance()
        return self._start + self._ms // 1000

    def wall(self):
        return int(time.time()) - _WALL_OFFSET

    async def sleep_ms(self, ms):
        await sleep_ms(ms)


class Runner:
    def __init__(
        self,
        app,
        *,
        wdt=None,
        clock=None,
        poll_ms=50,
        wdt_timeout_ms=30000,
        boot=None,
        healthy_s=600,
        max_tick_failures=10,
        unit=None,
    ):
        self.app = app
        self.wdt = wdt  # machine.WDT-like (feed()), or None
        self.clock = clock if clock is not None else Clock()
        self.poll_ms = poll_ms  # sleep when the app wants to run again at once (panel busy)
        self.wdt_timeout_ms = wdt_timeout_ms
        self.max_sleep_ms = max(poll_ms, wdt_timeout_ms // 2)  # feed twice per timeout
        self.boot = boot  # a safemode record (read()/write(bytes)), or None
        self.healthy_s = healthy_s
        self.max_tick_failures = max_tick_failures
        self.ticks = 0
        self.tick_failures = 0  # in a row
        self.feeds = 0
        self.starving = False  # too many failing ticks: the watchdog is left to reset
        self.stopped = False
        self.healthy = False
        self.unit = unit  # what main.py built, for tests and a technician at the REPL
        self._stop = False
        self._wake = -1  # when the app wants its next tick; -1: at once
        self._started = -1
        self._noted = None  # the last reason written to the boot record
        self._noted_at = -1
        self._notes = 0

    def stop(self):
        """Ask run() to end after the current iteration, persisting the ledger."""
        self._stop = True

    def step(self):
        """One loop iteration: tick if due, feed the watchdog. Returns the ms to sleep."""
        clock = self.clock
        now = clock.now()
        if self._started < 0:
            self._started = now
        if now >= self._wake:
            try:
                wake = self.app.tick(now, clock.wall())
            except Exception as e:  # noqa: BLE001 - one bad tick must not stop the sign
                self._tick_failed(now, e)
                wake = now + 1  # try again in a second, not in a busy loop
            else:
                self.ticks += 1
                self.tick_failures = 0
            self._wake = wake
        if not self.starving:
            wdt = self.wdt
            if wdt is not None:
                wdt.feed()
            self.feeds += 1
        self._housekeeping(now)
        if self._wake <= now:
            return self.poll_ms
        ms = (self._wake - now) * 1000
        return ms if ms < self.max_sleep_ms else self.max_sleep_ms

    def _tick_failed(self, now, e):
        app = self.app
        faults = app.faults
        faults["tick"] = faults.get("tick", 0) + 1
        reason = "tick: %s" % (e,)
        try:
            app.last_fault = reason
        except AttributeError:
            pass
        self.tick_failures += 1
        if self.tick_failures >= self.max_tick_failures and not self.starving:
            self.starving = True
            self._note("%d ticks failed: %s" % (self.tick_failures, e), now, True)
        else:
            self._note(reason, now, False)

    def _note(self, reason, now, force):
        """Keep `reason` in the boot record: the next boot shows it if this one crashes."""
        boot = self.boot
        if boot is None or reason == self._noted:
            return
        if not force and (
            self._notes >= _MAX_NOTES
            or (self._noted_at >= 0 and now - self._noted_at < _NOTE_INTERVAL_S)
        ):
            return
        from sunprint.bootrec import note_fault  # not safemode: it left the heap after boot

        try:
            note_fault(boot, reason)
        except OSError:
            return
        self._noted = reason
        self._noted_at = now
        self._notes += 1

    def _housekeeping(self, now):
        if not self.healthy and self.boot is not None and now - self._started >= self.healthy_s:
            from sunprint.bootrec import mark_healthy

            try:
                mark_healthy(self.boot)
                self.healthy = True
            except OSError:
                pass
        fault = getattr(self.app, "last_fault", None)
        if fault is not None and fault != self._noted:
            self._note(fault, now, False)

    def shutdown(self):
        """Persist what is unsaved (app.shutdown). Never raises an Exception."""
        self.stopped = True
        try:
            self.app.shutdown(self.clock.now())
        except Exception as e:  # noqa: BLE001 - best effort on the way out
            self.app.faults["shutdown"] = self.app.faults.get("shutdown", 0) + 1
            self.app.last_fault = "shutdown: %s" % (e,)

    async def run(self):
        """Tick until stop() (then persist and return) or an exception that is not an
        Exception: KeyboardInterrupt and SystemExit persist and re-raise, anything else (a
        simulated reset in a test) leaves at once, as a reset would."""
        self._stop = False
        try:
            while not self._stop:
                ms = self.step()
                if self._stop:
                    break
                await self.clock.sleep_ms(ms)
        except (KeyboardInterrupt, SystemExit):
            self.shutdown()
            raise
        self.shutdown()

    def start(self):
        """Run the loop to its end (blocking): asyncio.run(self.run())."""
        asyncio.run(self.run())
