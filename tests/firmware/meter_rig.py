# A board's meter stack as board.build makes it: the real driver (DL/T 645 or Modbus) on the
# rig's meter model behind its RS-485 line model, sources.MeterSource with the profile's health,
# and the Ledger with the board's limits, in the App, with a store on a flash that survives
# reboots. The display is swapped for a small LED chain (never looked at), so the unit fits the
# VM. Shared by test_meter_glitch.py and test_meter_property.py; CPython and MicroPython.
#
#     r = MeterRig("esp32-epd42-dlt645", energy_kwh=50.0)
#     r.step(3600)                    # 10 s pass at a power ramping to 3600 W, then a tick
#     r.step(3600, glitch_kwh=10050)  # the register reads 10050 kWh for this one poll
#     r.reboot(off_s=600)             # a clean shutdown, 10 minutes off, boot from the store
#     r.truth_mwh(), r.lifetime_mwh()
#
# The truth is the energy the simulated meter produced: power ramps linearly between polls, so
# it is the trapezoid of the powers, and the register counts exactly that (then truncates it to
# its resolution, as a register does).
import json

from repo import ROOT

from host_tools.sim.board import modellink
from host_tools.sim.platform import machine as fake
from host_tools.sim.platform.clock import Clock
from sunprint.board import build
from sunprint.core.ledger import LIFETIME
from sunprint.store import FileBackend, PersistPolicy, Store

START = 782179200 - 8 * 3600 + 9 * 3600  # 2024-10-15 09:00 local, firmware seconds


def accounting_profile(board):
    with open(ROOT + "/boards/" + board + ".json") as f:
        p = json.load(f)
    p["display"] = {
        "type": "max7219",
        "width": 32,
        "height": 8,
        "spi": {"id": 2, "sck": 18, "mosi": 23, "baudrate": 1000000},
        "pins": {"cs": 26},
        "options": {"modules": 4},
    }
    p["layout"] = {"language": "en", "sample_period_s": 10, "screen_period_s": 300}
    return p


def _no_wait(ms):
    pass


class MeterRig:
    def __init__(self, board, energy_kwh=1000.0, start=START):
        self.profile = accounting_profile(board)
        for s in self.profile["sensors"]:
            if s["role"] in ("pv_power", "pv_energy"):
                self.sensor_type = s["type"]
        self.clock = Clock(0)
        # in MicroPython the meter and line models and the flash run on the host
        self.rig = modellink.wire(self.profile, self.clock, fake)
        self.meter = self.rig.models["sensor"]
        self.line = self.rig.models["uart"]
        self.fs = modellink.flash()
        self.t = start
        self.power_w = 0
        self.truth_mj = 0  # energy produced since the start, mJ
        self.boots = 0
        self.set_register(energy_kwh)
        self.unit = None
        self.app = None
        self.boot()
        self._tick()  # the first reading: the ledger's baseline, where the truth starts

    # --- the meter ---

    def register(self):
        return self.meter.energy_kwh

    def set_register(self, kwh):
        if self.sensor_type == "dlt645":
            self.meter.energy_kwh = kwh
        else:
            self.meter.set(energy_kwh=kwh)

    def _power(self, w):
        if self.sensor_type == "dlt645":
            self.meter.power_w = w
        else:
            self.meter.set(power_w=w)

    def _produce(self, new_w, dt):
        # the power ramps from self.power_w to new_w over dt: the register counts the trapezoid
        self._power((self.power_w + new_w) / 2)
        self.meter.advance(dt)
        self.truth_mj += (self.power_w + new_w) * dt * 500
        self.power_w = new_w
        self._power(new_w)

    def line_fault(self):
        """The next poll's first reply is lost (three times: past the driver's retries)."""
        if self.sensor_type == "dlt645":
            from host_tools.sim.chips import dlt645_meter as dm

            self.line.inject(dm.NO_REPLY, 3)
        else:
            from host_tools.sim.chips import uart

            self.line.fault_once(uart.NO_REPLY)

    # --- the unit ---

    def boot(self):
        if self.unit is not None:
            self.unit.close()
            self.unit = self.app = None  # a reboot clears the RAM
        unit = build(
            self.profile,
            fake,
            store=Store(FileBackend(self.fs)),
            policy=PersistPolicy(600, 10),
            fonts_dir=ROOT + "/assets/fonts",
            sleep_ms=_no_wait,
            ticks_ms=self.rig.clock.ticks_ms,  # the bus driver on the virtual clock
            bus_sleep_ms=self.rig.clock.block_ms,
        )
        self.unit = unit
        self.app = unit.app
        self.app.restore()
        self.boots += 1
        self._boot_t = self.t - 1  # the monotonic clock starts again at each boot

    def reboot(self, off_s=0):
        """A clean shutdown (the ledger saved), off_s seconds with the meter counting on, and a
        boot from the store: a new monotonic clock, the same wall clock."""
        self.app.shutdown(self.t - self._boot_t)
        self.fs = self.fs.reboot()
        dt = off_s
        while dt > 0:
            step = 10 if dt > 10 else dt
            self._produce(self.power_w, step)
            dt -= step
        self.t += off_s
        self.boot()

    def step(self, new_w, dt=10, glitch_kwh=None):
        """dt seconds pass with the power ramping to new_w; then the app ticks once (a poll).
        With glitch_kwh the register reads that for this poll only."""
        self._produce(new_w, dt)
        self.t += dt
        if glitch_kwh is None:
            self._tick()
            return
        kept = self.register()
        self.set_register(glitch_kwh)
        try:
            self._tick()
        finally:
            self.set_register(kept)

    def _tick(self):
        now, wall = self.t - self._boot_t, self.t
        wake = self.app.tick(now, wall)
        while wake <= now:
            wake = self.app.tick(now, wall)

    # --- what to compare ---

    def lifetime_mwh(self):
        return self.app.ledger.mwh(LIFETIME)

    def truth_mwh(self):
        return self.truth_mj // 3600

    def close(self):
        if self.unit is not None:
            self.unit.close()
