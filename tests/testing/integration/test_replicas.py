"""Two replicas of the testing service on one database: their daily runs, at the same moment and again,
announce each due and each overdue scheduled test once (the announcement marks and SKIP LOCKED claims)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from cordon.clock import local_date
from services.testing import clockwork
from tests.serving import settled, start_service
from tests.testing.integration.helpers import id_number, measure, now, publish, published_events, register_person


async def test_two_testing_replicas_announce_each_scheduled_test_once(databases, nats_server):
    async with start_service("testing", databases, nats_server.url) as a, start_service(
        "testing", databases, nats_server.url, database_url=a.app_settings.database_url,
    ) as b:
        a.nats_url = b.nats_url = nats_server.url
        today = local_date(now())
        people = [await register_person(a, id_number()) for _ in range(6)]
        for person_id in people:
            assigned = measure(person_id, [today - timedelta(days=1), today, today + timedelta(days=2)])
            await publish(nats_server.url, assigned, assigned.measure_id)
        await settled(nats_server.url, a, b)

        for _ in range(3):  # both at once, three times over
            await asyncio.gather(clockwork.announce(a.app), clockwork.announce(b.app))
        await settled(nats_server.url, a, b)

        due = await published_events(a, "testing.schedule.due")
        overdue = await published_events(a, "testing.schedule.overdue")
        assert sorted(e["data"]["person_id"] for e in due) == sorted(str(p) for p in people)
        assert sorted(e["data"]["person_id"] for e in overdue) == sorted(str(p) for p in people)
        assert {e["data"]["due_on"] for e in due} == {str(today)}
        assert {e["data"]["due_on"] for e in overdue} == {str(today - timedelta(days=1))}
