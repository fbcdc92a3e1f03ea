import gc

from refresh_sim import MIDNIGHT, Week

from sunprint.ui.refresh import (
    BOOT,
    CHANGE,
    COUNT,
    FULL,
    IDLE,
    NIGHTLY,
    NONE,
    OVERDUE,
    PARTIAL,
    WAIT,
    RefreshPlan,
)

NOON = MIDNIGHT + 12 * 3600  # 2024-10-14 12:00 local (UTC+8)
ONE_AM = MIDNIGHT + 86400 + 3600  # the next night's quiet window opens


def _shown(plan, now, wall, changed=True):
    # decide(), and record the refresh if there is one, as the app does.
    kind = plan.decide(now, wall, changed)
    plan.done(kind, now, wall)
    return kind


def test_first_refresh_is_full_then_partials_never_closer_than_the_interval():
    plan = RefreshPlan()
    assert _shown(plan, 100, NOON) == FULL and plan.reason == BOOT
    assert _shown(plan, 110, NOON + 10) == NONE and plan.reason == WAIT
    assert _shown(plan, 279, NOON + 179, False) == NONE and plan.reason == WAIT
    # The change at 110 was deferred, not lost: shown once the interval has passed.
    assert _shown(plan, 280, NOON + 180, False) == PARTIAL and plan.reason == CHANGE
    assert plan.partials == 1
    assert plan.ready_at() == 460


def test_nothing_changed_means_no_refresh_outside_the_quiet_hours():
    plan = RefreshPlan()
    _shown(plan, 0, NOON)
    for k in range(1, 200):
        assert plan.decide(k * 60, NOON + k * 60, False) == NONE  # 12:01 .. 15:19
    assert plan.reason == IDLE


def test_a_full_after_partials_before_full_partials():
    plan = RefreshPlan(partials_before_full=30)
    now = 0
    assert _shown(plan, now, NOON) == FULL
    kinds = []
    for _ in range(61):
        now += 180
        kinds.append(_shown(plan, now, NOON + now))
    assert kinds[:30] == [PARTIAL] * 30
    assert kinds[30] == FULL and kinds[31:61] == [PARTIAL] * 30
    assert plan.partials == 30


def test_count_reason_is_reported():
    plan = RefreshPlan(partials_before_full=2)
    _shown(plan, 0, NOON)
    _shown(plan, 200, NOON + 200)
    _shown(plan, 400, NOON + 400)
    assert _shown(plan, 600, NOON + 600) == FULL and plan.reason == COUNT


def test_nightly_full_runs_in_quiet_hours_even_without_a_change():
    plan = RefreshPlan()
    t = NOON
    _shown(plan, t - MIDNIGHT, t)
    _shown(plan, t - MIDNIGHT + 600, t + 600)  # a partial: some ghosting to clear
    # 00:59: nothing; 01:00: the nightly full, once; 02:00 a change is a partial again.
    t = ONE_AM - 60
    assert _shown(plan, t - MIDNIGHT, t, False) == NONE
    t = ONE_AM
    assert _shown(plan, t - MIDNIGHT, t, False) == FULL and plan.reason == NIGHTLY
    assert plan.partials == 0
    t = ONE_AM + 600
    assert _shown(plan, t - MIDNIGHT, t, False) == NONE
    t = ONE_AM + 3600
    assert _shown(plan, t - MIDNIGHT, t, True) == PARTIAL
    t = ONE_AM + 7200
    assert _shown(plan, t - MIDNIGHT, t, False) == NONE  # one nightly full per window
    # NTP steps the wall clock back a minute: still the same night, no second full.
    t = ONE_AM + 7200
    assert _shown(plan, t - MIDNIGHT + 60, t, False) == NONE


def test_nightly_full_is_skipped_when_the_panel_is_clean_and_the_next_night_is_soon_enough():
    # A full at 22:00 and nothing since: 01:00 skips it (the next night is 27 h after that
    # full, within full_every_s + full_wait_s), the night after does it.
    plan = RefreshPlan()
    t = MIDNIGHT + 22 * 3600
    _shown(plan, t - MIDNIGHT, t)
    for h in range(1, 5):
        t = ONE_AM + (h - 1) * 3600
        assert plan.decide(t - MIDNIGHT, t, False) == NONE
    t = ONE_AM + 86400
    assert _shown(plan, t - MIDNIGHT, t, False) == FULL and plan.reason == NIGHTLY
    # With a week between fulls, clean nights are skipped until the last one that meets it.
    plan = RefreshPlan(full_every_s=7 * 86400, full_wait_s=0)
    _shown(plan, 0, ONE_AM - 3600)
    nights = []
    for d in range(8):
        t = ONE_AM + d * 86400
        now = t - ONE_AM + 3600
        if plan.decide(now, t, False) == FULL:
            nights.append(d)
            plan.done(FULL, now, t)
    assert nights == [6], nights


def test_quiet_hours_follow_the_local_time_and_may_wrap_midnight():
    plan = RefreshPlan(quiet_start_h=23, quiet_end_h=2, tz_offset_s=0)
    t = MIDNIGHT + 12 * 3600
    _shown(plan, 0, t)
    _shown(plan, 300, t + 300)  # a partial
    utc_2330 = (MIDNIGHT + 28800) + 23 * 3600 + 1800  # 23:30 UTC of that day
    assert plan.decide(utc_2330 - t, utc_2330, False) == FULL and plan.reason == NIGHTLY
    plan = RefreshPlan(quiet_start_h=3, quiet_end_h=3)  # no quiet hours at all
    _shown(plan, 0, MIDNIGHT)
    _shown(plan, 300, MIDNIGHT + 300)
    for k in range(1, 24):
        assert plan.decide(k * 3600, MIDNIGHT + k * 3600, False) == NONE


def test_overdue_full_when_the_quiet_hours_were_missed():
    # The wall clock is not set (2000): no quiet hours; the full comes at 24 h + 6 h all the same.
    plan = RefreshPlan()
    wall = 3600 * 24 * 9
    _shown(plan, 0, wall)
    _shown(plan, 600, wall + 600)
    assert plan.decide(30 * 3600 - 1, wall + 30 * 3600 - 1, False) == NONE
    assert plan.decide(30 * 3600, wall + 30 * 3600, False) == FULL and plan.reason == OVERDUE


def test_a_full_due_by_time_waits_for_the_night_while_changes_are_partials():
    plan = RefreshPlan()
    t = MIDNIGHT + 6 * 3600  # the full at 06:00, just after the quiet window
    _shown(plan, 0, t)
    # 24 h later (06:00 the next day) it is due by time, not by count: changes stay partials
    # until the cap of 30 h (12:00), as long as the count allows.
    kinds = []
    for k in range(20):
        now = 86400 + 600 * k
        kinds.append(_shown(plan, now, t + now))
    assert kinds == [PARTIAL] * 20


def test_state_survives_a_reboot():
    plan = RefreshPlan()
    _shown(plan, 50, NOON)
    for k in range(1, 8):
        _shown(plan, 50 + 180 * k, NOON + 180 * k)
    data = plan.pack()
    assert len(data) == 16 and data[0] == 1
    # Reboot 60 s after the last refresh: a new monotonic base, the same wall clock.
    again = RefreshPlan()
    again.unpack(data)
    assert again.partials == 7 and again.known
    assert again.last_wall == NOON + 180 * 7 and again.last_full_wall == NOON
    wall = NOON + 180 * 7 + 60
    assert again.decide(5, wall, True) == NONE and again.reason == WAIT
    assert again.decide(124, wall + 119, True) == NONE
    assert again.decide(125, wall + 120, True) == PARTIAL  # known picture: no boot full
    # A panel the app cannot redraw: the next refresh is full.
    again = RefreshPlan()
    again.unpack(data)
    again.forget()
    assert again.decide(1000, wall + 995, True) == FULL and again.reason == BOOT


def test_a_wall_clock_behind_the_record_counts_the_interval_from_boot():
    plan = RefreshPlan()
    _shown(plan, 0, NOON)
    data = plan.pack()
    for wall in (NOON - 3600, 3600 * 24 * 9):  # an hour behind; an RTC back in 2000
        again = RefreshPlan()
        again.unpack(data)
        assert again.decide(7, wall, True) == NONE
        assert again.decide(186, wall + 179, True) == NONE
        assert again.decide(187, wall + 180, True) == PARTIAL


def test_monotonic_time_going_back_restarts_the_interval():
    # A device whose `now` is its RTC: a jump back must not shorten the interval.
    plan = RefreshPlan()
    _shown(plan, NOON, NOON)
    assert plan.decide(NOON - 500, NOON - 500, True) == NONE
    assert plan.decide(NOON - 321, NOON - 321, True) == NONE
    assert plan.decide(NOON - 320, NOON - 320, True) == PARTIAL


def test_unpack_rejects_bad_records():
    plan = RefreshPlan()
    good = plan.pack()
    for bad in (b"", good[:15], good + b"\x00", b"\x02" + good[1:]):
        try:
            plan.unpack(bad)
        except ValueError:
            pass
        else:
            raise AssertionError(bad)
    fresh = RefreshPlan()
    fresh.unpack(good)
    assert not fresh.known and fresh.last_wall == -1 and fresh.last_full_wall == -1
    assert fresh.decide(0, NOON, True) == FULL and fresh.reason == BOOT


def test_picture_id_round_trips():
    plan = RefreshPlan()
    plan.done(FULL, 0, NOON, 0xDEADBEEF)
    again = RefreshPlan()
    again.unpack(plan.pack())
    assert again.picture == 0xDEADBEEF


def _decides(plan, n, t0):
    # Locals only: a new global would count as allocation.
    k = 0
    now = t0
    for i in range(n):
        now += 60
        k += plan.decide(now, NOON + now, (i & 3) == 0)
        if k > 100000:
            k = 0
    return k


def test_decide_allocates_nothing():
    if not hasattr(gc, "mem_alloc"):
        return  # CPython: no allocation counter
    plan = RefreshPlan()
    plan.done(FULL, 0, NOON)
    _decides(plan, 10, 0)
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()  # type: ignore[attr-defined]
        _decides(plan, 2000, 1000)
        used = gc.mem_alloc() - before  # type: ignore[attr-defined]
    finally:
        gc.enable()
    assert used == 0, used


def test_week_with_a_change_every_minute_and_quiet_spells():
    week = Week().run().check_days()
    # Undisturbed: every night's full lands in its quiet window, every day has 1 to 24.
    assert week.window_full == [True] * 7
    for d in range(7):
        assert 1 <= week.fulls[d] <= 24, week.fulls
    assert week.min_gap == 180 and week.max_run == 30
    assert week.deferred > 0  # changes inside the interval were shown later
    # Day 0 changes every minute: a refresh every 180 s, every 31st full, plus the night's.
    assert week.refreshes[0] == 480 and week.fulls[0] == 16
    assert week.refreshes[5] == 2 and week.fulls[5] == 1  # the static day: midnight + night


def test_week_with_reboots_at_random_points():
    for seed in (3, 11):
        week = Week(reboot_odds=1500, seed=seed).run().check_days()
        assert week.reboots >= 20, week.reboots
        assert week.min_gap >= 180 and week.max_run <= 30


def test_week_with_reboots_and_wall_clock_jumps():
    week = Week(reboot_odds=2000, jumps=True, seed=5).run().check_days()
    assert week.reboots >= 10
    assert week.min_gap >= 180 and week.max_run <= 30
