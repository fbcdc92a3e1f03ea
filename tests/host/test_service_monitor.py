"""`sunprint monitor`'s unit side (sunprint/service.py monitor): each sample line's t is the
wall clock of the sample the unit logged, not a wall clock read after the step. A step that
crosses a second (a loaded unit) printed a t one later than the logged row, and test_logs'
monitor-vs-pulled-log check failed with a KeyError in a loaded full run."""

import json
import sys

from host_tools.paths import ROOT
from host_tools.sim.platform.faultfs import FaultFS

sys.path.insert(0, str(ROOT / "tests" / "firmware"))
from app_rig import START, make_app, power_source  # noqa: E402

from sunprint import runner as runner_mod  # noqa: E402
from sunprint import service  # noqa: E402
from sunprint.logwriter import SampleLogWriter  # noqa: E402


class _SlowClock:
    # the runner's clock on a loaded unit: every read of the wall is a second after the last
    # (the tick gets one second, whatever reads it after the step the next)
    def __init__(self):
        self._now = START
        self._wall = START

    def now(self):
        self._now += 1
        return self._now

    def wall(self):
        self._wall += 1
        return self._wall

    def ticks_ms(self):
        return self._now * 1000


def test_each_monitor_line_is_the_logged_samples_time(monkeypatch, capsys):
    app = make_app(power_source(180000))
    app.samplelog = log = SampleLogWriter(FaultFS(), flush_rows=1)
    logged = []
    append = log.append

    def note(now, power_mw, raw, flag):
        logged.append(now)
        return append(now, power_mw, raw, flag)

    log.append = note
    made = runner_mod.Runner
    monkeypatch.setattr(service, "_app", lambda: app)
    monkeypatch.setattr(service, "_watchdog", lambda: None)
    monkeypatch.setattr(runner_mod, "Runner", lambda app, wdt: made(app, clock=_SlowClock()))
    service.monitor(seconds=0.3, interval=1)
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("@sp {")]
    printed = [json.loads(ln[4:])["t"] for ln in lines]
    assert len(printed) >= 2 and printed == logged[: len(printed)], (printed, logged)
