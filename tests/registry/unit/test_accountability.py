from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from cordon.policy import default
from services.registry.domain import accountability
from services.registry.domain.accountability import (
    is_late,
    missing_duties,
    reminder_due,
    report_deadline,
    resolve_roster,
    slot_for,
    slots_of_day,
)

CN = ZoneInfo("Asia/Shanghai")
FOLLOW = default().follow_ups
FULL = {"township_cadre": "t", "village_cadre": "v", "doctor": "d", "police": "p", "grid_worker": "g"}


def test_most_specific_roster_wins():
    rosters = {"320400": {"grid_worker": "city"}, "320413": {"grid_worker": "county"}, "320000": {"grid_worker": "prov"}}
    assert resolve_roster("320413", rosters) == ("320413", {"grid_worker": "county"})
    assert resolve_roster("320412", rosters) == ("320400", {"grid_worker": "city"})
    assert resolve_roster("320100", rosters) == ("320000", {"grid_worker": "prov"})
    assert resolve_roster("110101", rosters) is None


def test_missing_duties():
    duties = default().rosters.duties
    assert duties == list(FULL)
    assert missing_duties(FULL, duties) == []
    assert missing_duties({**FULL, "doctor": None, "police": ""}, duties) == ["doctor", "police"]
    six = [*duties, "volunteer"]  # 六包一: the policy names the duties
    assert missing_duties(FULL, six) == ["volunteer"]


def test_roster_fall_back_down_to_the_grid():
    rosters = {"320413100": {"grid_worker": "town"}, "320413100201": {"grid_worker": "village"}}
    assert resolve_roster("320413100201001", rosters) == ("320413100201", {"grid_worker": "village"})
    assert resolve_roster("320413100202", rosters) == ("320413100", {"grid_worker": "town"})
    assert resolve_roster("320413101201", rosters) is None


def test_two_slots_a_day_in_china_time():
    slots = slots_of_day(date(2022, 1, 5), FOLLOW, CN)
    assert [(s.name, s.starts_at.astimezone(UTC).hour, s.ends_at.astimezone(UTC).hour) for s in slots] == [
        ("morning", 0, 4), ("evening", 8, 12)]


@pytest.mark.parametrize(
    "local,expected",
    [
        ("2022-01-05T07:30", ("2022-01-05", "morning")),  # early counts
        ("2022-01-05T08:00", ("2022-01-05", "morning")),
        ("2022-01-05T11:59", ("2022-01-05", "morning")),
        ("2022-01-05T12:00", ("2022-01-05", "evening")),  # morning has ended: the next slot
        ("2022-01-05T19:59", ("2022-01-05", "evening")),
        ("2022-01-05T20:00", None),  # late for the evening, too early to count for tomorrow
        ("2022-01-06T00:30", ("2022-01-06", "morning")),  # after midnight in China is the next day
    ],
)
def test_slot_a_follow_up_fulfils(local, expected):
    moment = datetime.fromisoformat(local).replace(tzinfo=CN)
    slot = slot_for(moment.astimezone(UTC), FOLLOW, CN)
    assert (None if slot is None else (slot.on.isoformat(), slot.name)) == expected


def test_utc_evening_is_the_next_china_morning():
    # 2022-01-05 23:30 UTC is 2022-01-06 07:30 in China.
    slot = slot_for(datetime(2022, 1, 5, 23, 30, tzinfo=UTC), FOLLOW, CN)
    assert slot.on == date(2022, 1, 6) and slot.name == "morning"


def test_report_deadline_lateness_and_reminder_window():
    on = date(2022, 1, 5)
    deadline = report_deadline(on, time(14, 0), CN)
    assert deadline == datetime(2022, 1, 5, 6, 0, tzinfo=UTC)
    assert not is_late(deadline, on, time(14, 0), CN)
    assert is_late(deadline + timedelta(seconds=1), on, time(14, 0), CN)
    before = timedelta(minutes=120)
    assert not reminder_due(deadline - timedelta(minutes=121), on, time(14, 0), before, CN)
    assert reminder_due(deadline - timedelta(minutes=120), on, time(14, 0), before, CN)
    assert reminder_due(deadline - timedelta(seconds=1), on, time(14, 0), before, CN)
    assert not reminder_due(deadline, on, time(14, 0), before, CN)


# --- every yellow has a way out ---------------------------------------------------------------

def test_a_late_follow_up_makes_up_a_missed_slot_but_not_one_still_running():
    ends = datetime(2022, 3, 1, 12, 0, tzinfo=UTC)
    assert accountability.makes_up("missed", ends, ends + timedelta(hours=3))
    assert accountability.makes_up("escalated", ends, ends + timedelta(hours=3))
    assert not accountability.makes_up("due", ends, ends - timedelta(hours=1))
    assert not accountability.makes_up("done", ends, ends + timedelta(hours=1))


def test_a_fever_can_be_rechecked_after_the_measure():
    assert accountability.may_follow_up(active=True, fever=False)
    assert accountability.may_follow_up(active=False, fever=True)
    assert not accountability.may_follow_up(active=False, fever=False)


def test_release_keeps_only_the_overdue_of_measures_still_held():
    since, cutoff = date(2022, 3, 2), date(2022, 3, 5)
    assert accountability.overdue_after_release(since, [], cutoff) is None
    assert accountability.overdue_after_release(since, [date(2022, 3, 1), date(2022, 3, 6)], cutoff) is None
    assert accountability.overdue_after_release(since, [date(2022, 3, 4), date(2022, 3, 3)], cutoff) == date(2022, 3, 3)
    assert accountability.overdue_after_release(None, [date(2022, 3, 3)], cutoff) is None
