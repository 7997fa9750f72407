"""Across services on real NATS: a positive tube of ten reaches ten people, and (with the registry
running) turns ten health codes yellow; a measure assigned in the registry schedules tests here."""

from __future__ import annotations

import uuid
from datetime import timedelta

from cordon.clock import local_date
from tests.registry.integration import people
from tests.serving import eventually, settled, start_service
from tests.testing.integration.helpers import GRID, id_number, now, post_result, post_sample, published_events, register_person


async def test_positive_tube_of_ten_publishes_ten_pool_positive_results(testing):
    numbers = [id_number() for _ in range(10)]
    person_ids = [await register_person(testing, n) for n in numbers[:5]]  # five known, five not yet
    for number in numbers:
        await post_sample(testing, number=number, tube="T-TEN")
    tested = now()
    assert (await post_result(testing, tube="T-TEN", result="positive", tested_at=tested)).status_code == 201
    events = await published_events(testing, "testing.result.recorded")
    data = [e["data"] for e in events]
    assert len(events) == 10 and {d["outcome"] for d in data} == {"pool_positive"}
    assert {d["person_id"] for d in data} - {None} == {str(p) for p in person_ids}
    assert {d["region_code"] for d in data if d["person_id"]} == {"320413"}
    assert all(e["type"] == "testing.result.recorded.v1" and e["source"] == "cordon/testing" for e in events)
    assert len({d["retest_due_by"] for d in data}) == 1


async def test_with_the_registry_ten_pool_positives_turn_ten_codes_yellow_and_measures_schedule_tests(databases, nats_server):
    async with start_service("registry", databases, nats_server.url) as registry, start_service(
        "testing", databases, nats_server.url
    ) as testing:
        persons = [await people.register(registry) for _ in range(10)]

        async def testing_knows_them():
            statuses = [(await testing.get(f"/api/v1/persons/{p['id']}/tests", headers=GRID)).status_code for p in persons]
            return statuses == [200] * 10

        await eventually(testing_knows_them, timeout=30)
        for person in persons:
            await post_sample(testing, number=person["_id_number"], tube="T-REG")
        assert (await post_result(testing, tube="T-REG", result="positive")).status_code == 201

        async def colors():
            answers = [(await registry.get(f"/api/v1/persons/{p['id']}/health-code", headers=people.GRID)).json() for p in persons]
            return [a.get("color") for a in answers] if all(a.get("color") == "yellow" for a in answers) else None

        assert await eventually(colors, timeout=30) == ["yellow"] * 10

        exposed = persons[0]["id"]
        assigned = await registry.post(
            f"/api/v1/persons/{exposed}/measures",
            json={"rule": "close_contact", "exposure_date": str(local_date(now()) - timedelta(days=1))},
            headers=people.OFFICIAL,
        )
        assert assigned.status_code == 201, assigned.text

        # Close-contact tests fall weeks ahead (not yet due): read the schedule from testing's own table.
        await settled(nats_server.url, registry, testing)
        days = await _scheduled_days(testing, exposed)
        # The release test on the quarantine's last day, days 2 and 7 of monitoring, and 7 days after.
        exposed_on = local_date(now()) - timedelta(days=1)
        assert days == [exposed_on + timedelta(days=n) for n in (13, 15, 20, 27)]


async def _scheduled_days(testing, person_id) -> list:
    from sqlalchemy import select

    from cordon import db
    from services.testing.models import TestSchedule

    engine = db.create_engine(testing.app_settings.database_url)
    async with engine.connect() as conn:
        rows = await conn.execute(select(TestSchedule.due_on).where(TestSchedule.person_id == uuid.UUID(person_id)))
        days = sorted(rows.scalars())
    await engine.dispose()
    return days


async def test_a_result_recorded_before_testing_knew_the_person_is_told_again_with_them(testing):
    number = id_number()
    sample = await post_sample(testing, number=number)
    assert (await post_result(testing, code=sample["barcode"], result="positive")).status_code == 201
    first = await published_events(testing, "testing.result.recorded")
    assert len(first) == 1 and first[0]["data"]["person_id"] is None and first[0]["data"]["relinked"] is False
    person_id = await register_person(testing, number)
    events = await published_events(testing, "testing.result.recorded")
    assert len(events) == 2
    again = events[1]["data"]
    assert (again["person_id"], again["region_code"], again["relinked"]) == (str(person_id), "320413", True)
    assert (again["sample_id"], again["outcome"], again["tested_at"]) == (
        first[0]["data"]["sample_id"], "positive", first[0]["data"]["tested_at"])
