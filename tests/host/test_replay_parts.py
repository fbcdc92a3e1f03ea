"""Replay in three small parts (issue 15 item 2): the log feeder (replay_log.LogDriver), the
fault plan (replay_faults.FaultPlan: what to inject when, the seeded draws, the log's integral
over the windows the bounds need) and the judge of fault costs (replay_faults.FaultJudge)."""

from host_tools.paths import use_firmware

use_firmware()

from host_tools.replay_faults import FaultJudge, FaultPlan  # noqa: E402
from host_tools.replay_log import LogDriver  # noqa: E402


def test_the_plan_orders_the_events_and_integrates_the_log_over_each_window():
    plan = FaultPlan(
        [
            {"kind": "dropout", "t": 1000, "until": 1100},
            {"kind": "power_cut", "t": 500, "until": 600},
            {"kind": "clock_jump", "t": 50, "seconds": 3600},
        ],
        10,
    )
    assert [e["t"] for e in plan.events] == [50, 500, 1000]
    assert sorted(plan.windows) == [(500, 600), (990, 1110)]
    plan.add(400, 3600000, 700, 3600000)  # 3.6 kW from 400 s to 700 s: 100 s in the cut
    assert plan.truth_between(500, 600) == 100000  # mWh: 3.6 kW x 100 s = 100 Wh
    assert plan.truth_between(990, 1110) == 0
    assert plan.truth_between(1, 2) == 0


def test_the_plans_draws_are_seeded():
    a, b = FaultPlan([], 10, seed=7), FaultPlan([], 10, seed=7)
    draws = [a.hit(0.5) for _ in range(200)]
    assert draws == [b.hit(0.5) for _ in range(200)]
    assert 60 < sum(draws) < 140


def test_the_judge_holds_a_cut_to_the_persist_bound():
    plan = FaultPlan([{"kind": "power_cut", "t": 100}], 10)
    judge = FaultJudge(plan, 10, persist_wh=1, display=False)
    snap = {"t": 100, "booked_mwh": 0, "truth_half_mj": 0, "missing_s": 0}
    rec = {
        "event": plan.events[0],
        "before": snap,
        "settled": snap,
        "flagged_rows": 0,
        "booked_before_cut_mwh": 5000,
        "booked_after_boot_mwh": 4500,
    }
    out = judge.cost(rec, snap, [], 0, 0)
    assert out["wh_lost_at_cut"] == 0.5 and out["bound_wh"] == 1.002 and out["bound_held"]
    rec["booked_after_boot_mwh"] = 3000  # 2 Wh lost: more than persist_wh
    assert not judge.cost(rec, snap, [], 0, 0)["bound_held"]


def test_the_log_driver_counts_the_logs_energy_at_the_meters_resolution():
    log = LogDriver(1000)  # 1000 counts/kWh: a count is 1 Wh
    log.feed(0, 3600000, 0)
    log.feed(10, 3600000, 0)  # 3.6 kW for 10 s: 10 Wh
    assert log.count() == 10 and log.total_mwh() == 10000 and log.poll() == 0


def test_how_a_frame_is_drawn_follows_the_displays_family_in_the_registry():
    from host_tools.replay import picture_kind

    kinds = {t: picture_kind({"display": {"type": t}}) for t in ("ws2812", "max7219", "ssd1683")}
    assert kinds == {"ws2812": "led", "max7219": "led", "ssd1683": "epaper"}
