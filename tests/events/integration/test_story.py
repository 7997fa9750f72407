"""Across services with real NATS: a banquet's positive guest puts the 39 others under home health monitoring."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from cordon.clock import utcnow
from tests.events.integration.helpers import GRID, file, iso, publish, vault
from tests.events.integration.test_exposure import result
from tests.registry.integration.people import GRID as REGISTRY_GRID
from tests.registry.integration.people import register
from tests.serving import settled, start_service


async def test_banquet_positive_to_39_gathering_exposure_measures(databases, nats_server):
    async with start_service("registry", databases, nats_server.url) as registry, \
            start_service("events", databases, nats_server.url) as events:
        people = await asyncio.gather(*(register(registry) for _ in range(40)))
        now = utcnow()
        banquet = await file(events, kind="banquet", tables=6, expected_attendees=40,
                             starts_at=iso(now - timedelta(hours=1)), ends_at=iso(now + timedelta(hours=3)))
        for person in people:
            response = await events.post(f"/api/v1/gatherings/{banquet['id']}/check-ins",
                                         json={"id_number": person["_id_number"]}, headers=GRID)
            assert response.status_code == 201
        positive = people[0]
        await publish(nats_server.url, result(vault(events).index("id_number", positive["_id_number"]),
                                              collected_at=utcnow(), person_id=uuid.UUID(positive["id"])))

        async def exposure_measures():
            answers = await asyncio.gather(*(
                registry.get(f"/api/v1/persons/{p['id']}/measures", headers=REGISTRY_GRID) for p in people))
            return [[m for m in a.json()["items"] if m["rule"] == "gathering_exposure"] for a in answers]

        await settled(nats_server.url, events, registry, timeout=60)
        measures = await exposure_measures()
        assert [len(m) for m in measures] == [0] + [2] * 39  # the positive person is a case, not an exposure
        # As close spacetime companions (紧密时空伴随者): 14 days of centralized quarantine, then monitoring.
        assert {(m[0]["kind"], m[1]["kind"]) for m in measures[1:]} == {("centralized_quarantine", "home_health_monitoring")}
        assert {m[0]["starts_on"] for m in measures[1:]} == {banquet["gathering_on"]}
