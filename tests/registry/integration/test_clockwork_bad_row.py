"""One impossible row must not stop the registry's clock.

A travel record dated 9999-12-31 (stored before the schemas bounded dates: the API refuses it
now, so the test writes the row itself) made the engine overflow; the area it lay in was never
recorded, and every tick failed from then on. Now the area still takes effect for everyone in
it when its moment comes, and the rest of the round runs.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from cordon.clock import utcnow
from services.registry import clockwork
from services.registry.models import TravelRecord
from tests.registry.integration.people import GRID, OFFICIAL, register
from tests.registry.integration.test_travel_and_risk_api import NDJSON, ndjson, record


async def test_a_far_future_row_does_not_stop_the_clock(registry):
    legacy, person = await register(registry), await register(registry)
    async with registry.app.state.sessionmaker() as session:
        session.add(TravelRecord(partner_id="legacy", record_id=str(uuid.uuid4()), person_id=uuid.UUID(legacy["id"]),
                                 region_code="420106", first_seen=date(9999, 12, 1), last_seen=date(9999, 12, 31),
                                 created_at=utcnow()))
        await session.commit()
    pushed = await registry.post("/api/v1/travel-records/batch", content=ndjson(record("now", phone=person["_phone"])), headers=NDJSON)
    assert pushed.json()["accepted"] == 1
    later = (utcnow() + timedelta(hours=2)).isoformat()
    assert (await registry.put("/api/v1/risk-areas/420106", json={"level": "high", "effective_from": later},
                               headers=OFFICIAL)).status_code == 200
    registry.app.state.clock = lambda: utcnow() + timedelta(hours=3)
    await clockwork.tick(registry.app)
    assert (await registry.get(f"/api/v1/persons/{person['id']}/health-code", headers=GRID)).json()["color"] == "red"
    # The same tick again: nothing left due, nothing raised.
    await clockwork.tick(registry.app)
    assert (await registry.get("/api/v1/risk-areas", headers=GRID)).status_code == 200
