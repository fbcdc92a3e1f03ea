# Faults for `sunprint replay` (host_tools/replay_core.py): the plan of what to inject when,
# and the judge of what each fault cost. Portable Python, as replay_core (CPython and, from
# .mpy, MicroPython).
#
#     plan = FaultPlan(events, sample_period_s, seed)    # events: dicts with kind, t, ...
#     plan.add(ta, pa, tb, pb)       # each segment of the log's power (the truth the bounds need)
#     judge = FaultJudge(plan, sample_period_s, persist_wh, display)
#     judge.cost(record, end_snapshot, frames, counts_per_kwh, peak_mw) -> summary's dict

_HALF_MJ_PER_MWH = 7200
_CUT_KINDS = ("power_cut", "rtc_lost", "ntp_late", "meter_clock")


class _Lcg:
    def __init__(self, seed):
        self.state = seed & 0xFFFFFFFF

    def below_million(self):
        self.state = (1664525 * self.state + 1013904223) & 0xFFFFFFFF
        return ((self.state >> 8) * 1000000) >> 24


class FaultPlan:
    """The faults to inject, in time order (events; next: the index of the first not yet
    started), the seeded draws of a bus_errors fault (hit(rate): reproducible), and the log's
    integral over each window a fault's bound needs (add() each segment; truth_between)."""

    def __init__(self, events, period, seed=1):
        self.events = sorted(events, key=lambda e: e["t"])
        self.next = 0
        self.period = period
        self._lcg = _Lcg(seed)
        # the log's integral over the windows the faults' bounds need: key -> [t0, t1, half_mJ]
        self.windows = {}
        for ev in self.events:
            for t0, t1 in self._windows_for(ev):
                self.windows[(t0, t1)] = [t0, t1, 0]

    def hit(self, rate):
        """Whether this reading fails, with probability rate (seeded)."""
        return self._lcg.below_million() < int(rate * 1000000)

    def _windows_for(self, ev):
        period = self.period
        t = ev["t"]
        kind = ev["kind"]
        if kind in _CUT_KINDS:
            return ((t, ev.get("until", t)),)
        if kind in ("dropout", "bus_errors"):
            return ((t - period, ev["until"] + period),)
        return ()

    def add(self, ta, pa, tb, pb):
        """The log's segment (ta, pa) -> (tb, pb), clipped to each window, as trapezoids."""
        if tb <= ta:
            return
        for w in self.windows.values():
            a = ta if ta > w[0] else w[0]
            b = tb if tb < w[1] else w[1]
            if b <= a:
                continue
            qa = pa + (pb - pa) * (a - ta) // (tb - ta)
            qb = pa + (pb - pa) * (b - ta) // (tb - ta)
            w[2] += ((qa if qa > 0 else 0) + (qb if qb > 0 else 0)) * (b - a)

    def truth_between(self, t0, t1):
        """The log's energy (mWh) in the window (t0, t1) a fault named."""
        w = self.windows.get((t0, t1))
        return 0 if w is None else w[2] // _HALF_MJ_PER_MWH


class FaultJudge:
    """What each injected fault cost against the log's own integral, the bound the firmware
    promises for it (the store's persist_wh at a power cut; the samples around a dropout),
    whether it held, and whether the unit recovered."""

    def __init__(self, plan, period, persist_wh, display):
        self.plan = plan
        self.period = period
        self.persist_wh = persist_wh
        self.display = display

    def cost(self, rec, end, frames, counts_per_kwh, peak_mw):
        """What the fault of `rec` cost against the log's integral, and whether the bound
        held. end: the snapshot at the end of the run; frames: the frames shown; counts_per_kwh:
        the sensor's counter resolution (0: none); peak_mw: the log's highest power."""
        ev = rec["event"]
        kind = ev["kind"]
        period = self.period
        before = rec["before"]
        out = {"kind": kind, "t": ev["t"]}
        for k in ("until", "rate", "seconds"):
            if k in ev:
                out[k] = ev[k]
        settled = rec["settled"]
        booked = settled["booked_mwh"] - before["booked_mwh"]
        truth = (settled["truth_half_mj"] - before["truth_half_mj"]) // _HALF_MJ_PER_MWH
        out["missing_s"] = settled["missing_s"] - before["missing_s"]
        out["flagged_samples"] = rec["flagged_rows"]
        # after the fault: what the ledger booked against the log, to the end of the run
        end = rec.get("next", end)
        after_booked = end["booked_mwh"] - settled["booked_mwh"]
        after_truth = (end["truth_half_mj"] - settled["truth_half_mj"]) // _HALF_MJ_PER_MWH
        out["after"] = {
            "from_t": settled["t"],
            "to_t": end["t"],
            "booked_wh": after_booked / 1000,
            "log_wh": after_truth / 1000,
            "missing_s": end["missing_s"] - settled["missing_s"],
        }
        stop = ev.get("until", ev["t"])
        out["frames_after"] = sum(1 for f in frames if f["t"] > stop)
        count_mwh = 1000000 // counts_per_kwh if counts_per_kwh else 0
        # energy of the two samples around any instant, at the highest power in the log
        slack = 2 * period * peak_mw // 3600 + count_mwh + 2
        if kind in ("rtc_lost", "ntp_late", "meter_clock", "rtc_drift"):
            for k in ("clock_source", "time_back_t", "applicable", "ppm", "meter_reading_ok"):
                if k in rec:
                    out[k] = rec[k]
        if kind in _CUT_KINDS:
            lost = rec["booked_before_cut_mwh"] - rec.get("booked_after_boot_mwh", 0)
            # the store's journal keeps less than persist_wh unsaved after every tick
            bound = self.persist_wh * 1000 + slack
            out["wh_lost_at_cut"] = lost / 1000
            out["bound_wh"] = bound / 1000
            out["off_s"] = rec.get("off_s", 0)
            out["store_status"] = rec.get("store_status")
            off_truth = self.plan.truth_between(ev["t"], ev.get("until", ev["t"]))
            out["wh_not_booked_while_off"] = off_truth / 1000
            held = 0 <= lost <= bound
        elif kind in ("dropout", "bus_errors"):
            window_truth = self.plan.truth_between(ev["t"] - period, ev["until"] + period)
            lost = truth - booked
            out["wh_not_booked"] = lost / 1000
            out["bound_wh"] = (window_truth + slack) / 1000
            if kind == "dropout":
                max_missing = ev["until"] - ev["t"] + 2 * period
            else:
                max_missing = 2 * period * rec["flagged_rows"]
            out["bound_missing_s"] = max_missing
            if kind == "bus_errors":
                out["through_driver"] = rec.get("through_driver", False)
                out["rows_beyond_the_sensor"] = rec.get("rows_beyond_the_sensor", 0)
            held = -slack <= lost <= window_truth + slack and out["missing_s"] <= max_missing
        else:  # clock_jump, meter_swap: nothing may be lost or counted twice
            lost = truth - booked
            out["wh_not_booked"] = lost / 1000
            out["bound_wh"] = slack / 1000
            if kind == "meter_swap":
                out["applicable"] = rec.get("applicable", False)
            held = -slack <= lost <= slack
        out["bound_held"] = held
        # recovered: frames go on after it, and energy is booked as the log says again
        diff = after_booked - after_truth
        if rec.get("overlapped"):
            out["recovered"] = None  # the next fault came before this one had settled
        else:
            frames_ok = out["frames_after"] > 0 or not self.display
            out["recovered"] = frames_ok and -slack <= diff <= slack
        return out
