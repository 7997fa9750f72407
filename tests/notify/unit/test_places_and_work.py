"""Place labels for texts to staff, who may read a person's name in full, and the worklist's rules."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from services.notify.domain import places, recipients, work

NAMES = {"320000": "江苏省", "320400": "常州市", "320413": "金坛区", "320413100": "东城街道", "320413100201": "西门社区",
         "320413100201001": "第一网格"}


def test_a_village_reads_as_its_township_and_village():
    assert places.label("320413100201", NAMES) == "东城街道西门社区"
    assert places.label("320413100201001", NAMES) == "东城街道西门社区第一网格"
    assert places.label("320413100", NAMES) == "东城街道"


def test_a_county_or_above_reads_as_its_own_name():
    assert places.label("320413", NAMES) == "金坛区"
    assert places.label("320400", NAMES) == "常州市"


def test_an_unnamed_place_reads_as_what_is_known_above_it_and_its_code():
    assert places.label("320413100202", NAMES) == "东城街道（320413100202）"
    assert places.label("320413200201", NAMES) == "金坛区（320413200201）"
    assert places.label("320413200201", {}) == "320413200201"
    assert places.label("not-a-code", NAMES) == "not-a-code"


def test_wanted_names_every_place_above():
    assert places.wanted(["320413100201"]) == {"320413100201", "320413100", "320413", "320400", "320000"}


def test_staff_whose_places_hold_the_person_read_the_full_name():
    assert recipients.in_care(role="grid_worker", regions_held=["320413100201"], region_code="320413100201001")
    assert recipients.in_care(role="official", regions_held=["320413"], region_code="320413100201")
    assert recipients.in_care(role="admin", regions_held=[], region_code="320413100201")
    assert not recipients.in_care(role="grid_worker", regions_held=["320413100202"], region_code="320413100201")
    assert not recipients.in_care(role="lab", regions_held=["320413"], region_code="320413100201")
    assert not recipients.in_care(role="official", regions_held=["320413"], region_code=None)


def test_a_follow_up_shows_on_its_day_only_and_keeps_one_id():
    person, measure = uuid.uuid4(), uuid.uuid4()
    due_by = datetime(2022, 3, 1, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
    item = work.follow_up(person_id=person, region_code="320413100201", measure_id=measure, on=date(2022, 3, 1),
                          slot="morning", due_by=due_by)
    assert item.shown_from == datetime(2022, 2, 28, 16, 0, tzinfo=UTC) and item.shown_until == datetime(2022, 3, 1, 16, 0, tzinfo=UTC)
    assert item.title == "上午随访" and item.due_at == due_by and not item.overdue
    again = work.follow_up(person_id=person, region_code="320413100201", measure_id=measure, on=date(2022, 3, 1),
                           slot="morning", due_by=due_by, missed=True)
    assert again.id == item.id and again.overdue
    assert work.follow_up_id(person, date(2022, 3, 1), "evening") != item.id


def test_a_test_shows_from_its_day_until_closed_and_is_overdue_only_as_testing_says():
    item = work.test(schedule_id=uuid.uuid4(), person_id=uuid.uuid4(), region_code="320413100201", measure_id=uuid.uuid4(),
                     due_on=date(2022, 3, 2))
    assert item.shown_until is None and item.due_at == datetime(2022, 3, 2, 16, 0, tzinfo=UTC)
    late = datetime(2022, 3, 3, 1, 0, tzinfo=UTC)
    assert not work.is_overdue(kind="test", flagged=False, due_at=item.due_at, now=late)
    assert work.is_overdue(kind="test", flagged=True, due_at=item.due_at, now=late)
    assert work.is_overdue(kind="lead", flagged=False, due_at=item.due_at, now=late)
    assert not work.is_overdue(kind="lead", flagged=False, due_at=item.due_at, now=datetime(2022, 3, 2, 15, 0, tzinfo=UTC))


def test_a_line_reads_what_whom_where():
    assert work.reads("上午随访", person="张三", place="东城街道西门社区") == "上午随访：张三（东城街道西门社区）"
    assert work.reads("排查线索：138****1234", person=None, place="西门社区") == "排查线索：138****1234（西门社区）"
