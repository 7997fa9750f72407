from datetime import UTC, date, datetime

from services.testing import clockwork
from services.testing.domain import schedules

D = date(2022, 3, 10)


def test_plan_adds_new_days_cancels_dropped_open_ones_keeps_fulfilled():
    existing = {date(2022, 3, 1): "fulfilled", date(2022, 3, 5): "open", date(2022, 3, 7): "cancelled", date(2022, 3, 9): "open"}
    plan = schedules.plan(existing, [date(2022, 3, 1), date(2022, 3, 7), date(2022, 3, 9), date(2022, 3, 12)])
    assert plan.add == [date(2022, 3, 12)]
    assert plan.reopen == [date(2022, 3, 7)]
    assert plan.cancel == [date(2022, 3, 5)]


def test_plan_of_the_same_days_changes_nothing():
    plan = schedules.plan({D: "open"}, [D])
    assert plan.add == plan.reopen == plan.cancel == []


def test_sample_on_or_after_the_due_day_fulfils_it_before_does_not():
    assert schedules.fulfils(D, D)
    assert schedules.fulfils(D, date(2022, 3, 11))
    assert not schedules.fulfils(D, date(2022, 3, 9))


def test_standing_upcoming_due_overdue():
    assert schedules.standing(D, today=date(2022, 3, 9), overdue_after_days=1) == "upcoming"
    assert schedules.standing(D, today=D, overdue_after_days=1) == "due"
    assert schedules.standing(D, today=date(2022, 3, 11), overdue_after_days=1) == "overdue"
    assert schedules.standing(D, today=date(2022, 3, 11), overdue_after_days=2) == "due"
    assert schedules.overdue_cutoff(date(2022, 3, 11), 1) == D


def test_daily_run_wakes_just_after_china_midnight():
    # 15:59:00 UTC is 23:59:00 in China: the next day starts in 60 s.
    assert clockwork.seconds_to_next_day(datetime(2022, 3, 10, 15, 59, tzinfo=UTC)) == 60 + clockwork.AFTER_MIDNIGHT.total_seconds()
