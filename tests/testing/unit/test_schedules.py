import uuid
from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

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


# --- recurring tests by tag ---------------------------------------------------------------

SINCE = date(2022, 3, 1)  # a Tuesday


def test_every_other_day_from_the_day_the_tag_was_set():
    days = schedules.periodic_days(since=SINCE, every_days=2, weekdays=[], start=date(2022, 3, 2), end=date(2022, 3, 9))
    assert days == [date(2022, 3, 3), date(2022, 3, 5), date(2022, 3, 7), date(2022, 3, 9)]
    assert schedules.periodic_days(since=SINCE, every_days=2, weekdays=[], start=date(2022, 2, 25), end=SINCE) == [SINCE]


def test_twice_a_week_on_named_weekdays_and_never_before_the_tag():
    days = schedules.periodic_days(since=SINCE, every_days=None, weekdays=[1, 4], start=date(2022, 2, 28), end=date(2022, 3, 10))
    assert days == [date(2022, 3, 3), date(2022, 3, 7), date(2022, 3, 10)]  # Thursday, Monday, Thursday


@given(st.integers(1, 14), st.integers(0, 60), st.integers(0, 30))
def test_periodic_days_keep_their_interval(every, offset, span):
    start = SINCE + timedelta(days=offset)
    days = schedules.periodic_days(since=SINCE, every_days=every, weekdays=[], start=start, end=start + timedelta(days=span))
    assert all(start <= d <= start + timedelta(days=span) and (d - SINCE).days % every == 0 for d in days)
    assert all((b - a).days == every for a, b in zip(days, days[1:]))
    assert len(days) >= span // every


def test_a_series_id_is_stable_per_person_and_tag():
    person = uuid.uuid4()
    assert schedules.series_id(person, "high_risk_post") == schedules.series_id(person, "high_risk_post")
    assert schedules.series_id(person, "high_risk_post") != schedules.series_id(person, "returnee")
