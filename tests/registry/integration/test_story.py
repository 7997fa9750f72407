"""The registry's story: a partner's record in an area that turns high puts a registered person under control."""

from __future__ import annotations

from datetime import timedelta

import orjson

from cordon.clock import local_date, utcnow
from tests.registry.integration.people import OFFICIAL, PARTNER, register
from tests.serving import settled, stream_events


async def test_high_risk_travel_story(registry, nats_server):
    person = await register(registry)
    today = local_date(utcnow())
    left = today - timedelta(days=3)
    push = {"record_id": "r-1", "phone": person["_phone"], "region_code": "420106",
            "first_seen": (left - timedelta(days=2)).isoformat(), "last_seen": left.isoformat()}
    pushed = await registry.post(
        "/api/v1/travel-records/batch", content=orjson.dumps(push) + b"\n",
        headers={**PARTNER, "content-type": "application/x-ndjson"},
    )
    assert pushed.json() == {"accepted": 1, "duplicates": 0, "rejected": [], "rejected_total": 0}
    # Not yet a risk area: nothing is assigned.
    assert (await registry.get(f"/api/v1/persons/{person['id']}/measures", headers=OFFICIAL)).json()["items"] == []

    marked = await registry.put("/api/v1/risk-areas/420106", json={"level": "high", "name": "武汉市江汉区"}, headers=OFFICIAL)
    assert marked.status_code == 200 and marked.json()["affected_people"] == 1

    measures = (await registry.get(f"/api/v1/persons/{person['id']}/measures", headers=OFFICIAL)).json()["items"]
    assert [(m["kind"], m["rule"], m["starts_on"], m["ends_on"], m["status"]) for m in measures] == [
        ("centralized_quarantine", "high_risk_travel", left.isoformat(), (left + timedelta(days=13)).isoformat(), "active"),
        ("home_health_monitoring", "high_risk_travel", (left + timedelta(days=14)).isoformat(),
         (left + timedelta(days=20)).isoformat(), "scheduled"),
    ]
    hhm_start = left + timedelta(days=14)
    assert measures[1]["test_days"] == [
        (hhm_start + timedelta(days=1)).isoformat(), (hhm_start + timedelta(days=6)).isoformat(),
        (left + timedelta(days=27)).isoformat(),
    ]
    code = (await registry.get(f"/api/v1/persons/{person['id']}/health-code", headers=OFFICIAL)).json()
    assert code["color"] == "red"
    assert code["reasons"][0]["rule"] == "high_risk_travel"
    assert code["reasons"][0]["until"] == (left + timedelta(days=13)).isoformat()

    # Idempotent: the same push again, and the same area again, add nothing.
    again = await registry.post(
        "/api/v1/travel-records/batch", content=orjson.dumps(push) + b"\n",
        headers={**PARTNER, "content-type": "application/x-ndjson"},
    )
    assert again.json()["duplicates"] == 1 and again.json()["accepted"] == 0
    await registry.put("/api/v1/risk-areas/420106", json={"level": "high"}, headers=OFFICIAL)
    assert len((await registry.get(f"/api/v1/persons/{person['id']}/measures", headers=OFFICIAL)).json()["items"]) == 2

    # The events went out through the outbox and JetStream.
    await settled(nats_server.url, registry)
    subjects = [subject for subject, _ in await stream_events(nats_server.url)]
    assert subjects.count("registry.measure.assigned") == 2
    assert {"registry.person.registered", "registry.riskarea.changed", "registry.healthcode.changed"} <= set(subjects)
    assert subjects.count("registry.healthcode.changed") == 1
