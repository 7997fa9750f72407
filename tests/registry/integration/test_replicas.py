"""Two replicas of the registry on one database: their clockwork, run at the same moments, opens each
follow-up slot once, misses it once and escalates it once (SKIP LOCKED claims on PostgreSQL)."""

from __future__ import annotations

import asyncio

from services.registry import clockwork
from tests.registry.integration.people import GRID, OFFICIAL, register
from tests.registry.integration.test_accountability import ROSTER, at, events_of, put_under_monitoring
from tests.serving import start_service


async def test_two_registry_clockworks_never_double_a_slot_or_an_alert(databases, nats_server):
    async with start_service("registry", databases, nats_server.url, ticker_interval_s=0) as a, start_service(
        "registry", databases, nats_server.url, ticker_interval_s=0, database_url=a.app_settings.database_url,
    ) as b:
        at(a, 9), at(b, 9)
        await a.put("/api/v1/regions/320413/roster", json=ROSTER, headers=OFFICIAL)
        people = [await register(a) for _ in range(5)]
        for person in people:
            await put_under_monitoring(a, person)

        async def both(hour: int, minute: int = 0) -> None:
            await asyncio.gather(clockwork.accountability_tick(a.app, at(a, hour, minute)),
                                 clockwork.accountability_tick(b.app, at(b, hour, minute)))

        await both(9, 5)
        due = (await a.get("/api/v1/follow-ups", params={"status": "due", "limit": 500}, headers=GRID)).json()["items"]
        assert len(due) == 2 * len(people)  # morning and evening, once each
        await both(20, 1)  # both slots ended unreported
        missed = await events_of(a, nats_server.url, "registry.followup.missed")
        assert len(missed) == 2 * len(people) and len({(m["measure_id"], m["slot"]) for m in missed}) == len(missed)
        await both(22, 31)
        await both(23, 0)
        escalated = await events_of(a, nats_server.url, "registry.followup.escalated")
        assert len(escalated) == len({(e["measure_id"], e["slot"]) for e in escalated}) > 0
