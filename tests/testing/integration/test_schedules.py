"""Scheduled tests from registry measures (real NATS events), their fulfilment, and the daily run."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from cordon.clock import local_date
from cordon.contracts.registry import MeasureReleased
from tests.serving import eventually, settled
from tests.testing.integration.helpers import (
    ELSEWHERE,
    GRID,
    LAB,
    OFFICIAL,
    id_number,
    measure,
    now,
    post_sample,
    publish,
    published_events,
    register_person,
)


async def schedules(client, status="due", headers=GRID, **params):
    response = await client.get("/api/v1/test-schedules", params={"status": status, **params}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_assigned_measure_schedules_tests_announced_once_each(testing):
    person_id = await register_person(testing, id_number())
    today = local_date(now())
    days = [today - timedelta(days=2), today, today + timedelta(days=3)]
    assigned = measure(person_id, days)
    await publish(testing.nats_url, assigned, assigned.measure_id)
    await settled(testing.nats_url, testing)
    due = await schedules(testing)
    assert [(s["due_on"], s["status"]) for s in due] == [(str(today), "due")]
    assert [s["due_on"] for s in await schedules(testing, "overdue")] == [str(days[0])]
    assert await schedules(testing, headers=ELSEWHERE) == []
    assert await schedules(testing, region_code="320400", headers=OFFICIAL)
    assert (await testing.get("/api/v1/test-schedules?region_code=110101", headers=GRID)).status_code == 404
    # Two replicas running at once, then a third time: each test is announced once.
    runs = await asyncio.gather(*(testing.post("/api/v1/test-schedules/run", headers=OFFICIAL) for _ in range(2)))
    counts = [r.json() for r in runs] + [(await testing.post("/api/v1/test-schedules/run", headers=OFFICIAL)).json()]
    assert sum(c["due"] for c in counts) == 1 and sum(c["overdue"] for c in counts) == 1
    assert (await testing.post("/api/v1/test-schedules/run", headers=GRID)).status_code == 403
    due_events = await published_events(testing, "testing.schedule.due")
    overdue_events = await published_events(testing, "testing.schedule.overdue")
    assert [e["data"]["due_on"] for e in due_events] == [str(today)]
    assert [e["data"]["due_on"] for e in overdue_events] == [str(days[0])]


async def test_reassigned_days_replace_open_ones_and_release_cancels(testing):
    person_id = await register_person(testing, id_number())
    today = local_date(now())
    first = measure(person_id, [today, today - timedelta(days=1)])
    await publish(testing.nats_url, first, first.measure_id)
    await settled(testing.nats_url, testing)
    assert [s["due_on"] for s in await schedules(testing)] == [str(today)]
    moved = measure(person_id, [today - timedelta(days=1), today - timedelta(days=5)], measure_id=first.measure_id)
    await publish(testing.nats_url, moved, moved.measure_id)

    async def moved_days():
        overdue = {s["due_on"] for s in await schedules(testing, "overdue")}
        return overdue == {str(today - timedelta(days=1)), str(today - timedelta(days=5))} and not await schedules(testing)

    await eventually(moved_days)
    released = measure(person_id, [], measure_id=first.measure_id, cls=MeasureReleased, released_on=today, reason="解除")
    await publish(testing.nats_url, released, released.measure_id)
    await eventually(lambda: _none_overdue(testing))


async def _none_overdue(client):
    return not await schedules(client, "overdue")


async def test_sample_on_or_after_the_due_day_fulfils_it(testing):
    number = id_number()
    person_id = await register_person(testing, number)
    today = local_date(now())
    assigned = measure(person_id, [today - timedelta(days=3), today + timedelta(days=1)])
    await publish(testing.nats_url, assigned, assigned.measure_id)
    await settled(testing.nats_url, testing)
    assert [s["due_on"] for s in await schedules(testing, "overdue")] == [str(today - timedelta(days=3))]
    await post_sample(testing, number=number)  # today: fulfils the past day, not tomorrow's
    assert await schedules(testing, "overdue") == []
    testing.app.state.clock = lambda: now() + timedelta(days=1)
    assert [s["due_on"] for s in await schedules(testing)] == [str(today + timedelta(days=1))]
    assert (await testing.get("/api/v1/test-schedules", headers=LAB)).status_code == 403
