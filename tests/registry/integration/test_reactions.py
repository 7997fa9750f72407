"""The registry reacting to other services' events, through real JetStream."""

from __future__ import annotations

import uuid
from datetime import UTC, timedelta

import nats

from cordon import pii
from cordon.bus import streams
from cordon.bus.envelope import wrap
from cordon.clock import local_date, utcnow
from cordon.contracts import events, testing
from tests.registry.integration.people import GRID, id_number, register
from tests.serving import eventually, settled

NOW = utcnow()
TODAY = local_date(NOW)


async def publish(url: str, event, key: str = "k") -> None:
    envelope = wrap(event, source="cordon/test", key=key)
    nc = await nats.connect(url)
    try:
        # The service declares the streams in the background after it starts: declaring them here
        # too (idempotent) means a publish never races that and finds no stream to answer it.
        await streams.declare(nc.jetstream())
        await nc.jetstream().publish(envelope.nats_subject, envelope.to_json(), headers={"Nats-Msg-Id": str(envelope.id)})
    finally:
        await nc.close()


def vault(registry) -> pii.Vault:
    return pii.Vault.from_hex(registry.app_settings.pii_index_key, registry.app_settings.pii_encryption_key)


def result(person, outcome: str, index: str, **fields) -> testing.ResultRecorded:
    return testing.ResultRecorded(
        sample_id=uuid.uuid4(), barcode=f"B{uuid.uuid4().hex[:8]}", tube_id="T1", person_id=person, id_number_index=index,
        outcome=outcome, collected_at=NOW - timedelta(hours=5), tested_at=NOW, lab="lab-1", **fields,
    )


async def color_of(registry, person_id) -> str:
    return (await registry.get(f"/api/v1/persons/{person_id}/health-code", headers=GRID)).json()["color"]


async def becomes(registry, person_id, color: str):
    async def check():
        return await color_of(registry, person_id) == color
    return await eventually(check)


async def test_pool_positive_then_negative_retest_then_positive(registry, nats_server):
    person = await register(registry)
    index = vault(registry).index("id_number", person["_id_number"])
    await publish(nats_server.url, result(None, "pool_positive", index, retest_due_by=NOW + timedelta(hours=12)))
    await becomes(registry, person["id"], "yellow")
    code = (await registry.get(f"/api/v1/persons/{person['id']}/health-code", headers=GRID)).json()
    assert code["reasons"][0]["rule"] == "pool_positive"
    await publish(nats_server.url, result(uuid.UUID(person["id"]), "negative", index))
    await becomes(registry, person["id"], "green")
    await publish(nats_server.url, result(uuid.UUID(person["id"]), "positive", index))
    await becomes(registry, person["id"], "red")


async def test_overdue_test_is_yellow_until_a_sample_is_taken(registry, nats_server):
    person = await register(registry)
    index = vault(registry).index("id_number", person["_id_number"])
    due = TODAY - timedelta(days=2)
    await publish(nats_server.url, testing.ScheduleOverdue(
        schedule_id=uuid.uuid4(), person_id=uuid.UUID(person["id"]), region_code="320413", measure_id=uuid.uuid4(), due_on=due))
    await becomes(registry, person["id"], "yellow")
    await publish(nats_server.url, testing.SampleCollected(
        sample_id=uuid.uuid4(), barcode="S1", person_id=uuid.UUID(person["id"]), id_number_index=index, collected_at=NOW, site="site-1"))
    await becomes(registry, person["id"], "green")


async def test_releasing_the_measure_clears_its_overdue_test(registry, nats_server):
    """Every yellow has a way out: a measure released early takes its overdue test with it (testing cancels it)."""
    from tests.registry.integration.people import OFFICIAL

    person = await register(registry)
    body = {"kind": "daily_health_monitoring", "starts_on": TODAY.isoformat(), "days": 7, "reason": "x"}
    measure = (await registry.post(f"/api/v1/persons/{person['id']}/measures", json=body, headers=OFFICIAL)).json()["items"][0]
    await publish(nats_server.url, testing.ScheduleOverdue(
        schedule_id=uuid.uuid4(), person_id=uuid.UUID(person["id"]), region_code="320413", measure_id=uuid.UUID(measure["id"]),
        due_on=TODAY - timedelta(days=1)))
    await becomes(registry, person["id"], "yellow")
    code = (await registry.get(f"/api/v1/persons/{person['id']}/health-code", headers=GRID)).json()
    day = TODAY - timedelta(days=1)
    assert [(r["rule"], r["detail"]) for r in code["reasons"]] == [
        ("test_overdue", f"应于{day.month}月{day.day}日完成的核酸检测已逾期，请尽快检测")]
    released = await registry.post(f"/api/v1/measures/{measure['id']}/release", json={"reason": "解除"}, headers=OFFICIAL)
    assert released.status_code == 200
    assert await color_of(registry, person["id"]) == "green"


async def test_gathering_exposure_assigns_the_spacetime_companion_chain_now_and_on_registration(registry, nats_server):
    attendee = await register(registry)
    v = vault(registry)
    late_id = id_number()
    on = TODAY - timedelta(days=1)
    event = events.ExposureDetected(
        gathering_id=uuid.uuid4(), title="寿宴", region_code="320413", gathering_on=on,
        positive_id_number_index="someone", sample_collected_at=NOW,
        attendees=[
            events.Attendee(phone_index=v.index("phone", attendee["_phone"]), checked_in_at=NOW),
            events.Attendee(id_number_index=v.index("id_number", late_id), checked_in_at=NOW),
        ],
    )
    await publish(nats_server.url, event)
    await publish(nats_server.url, event)  # a republish: the same trigger, nothing more
    await settled(nats_server.url, registry)  # both handled
    items = (await registry.get(f"/api/v1/persons/{attendee['id']}/measures", headers=GRID)).json()["items"]
    # As a close spacetime companion (紧密时空伴随者): 14 days of centralized quarantine, then 7 of monitoring.
    assert [(m["kind"], m["rule"], m["starts_on"], m["ends_on"]) for m in items] == [
        ("centralized_quarantine", "gathering_exposure", on.isoformat(), (on + timedelta(days=13)).isoformat()),
        ("home_health_monitoring", "gathering_exposure", (on + timedelta(days=14)).isoformat(), (on + timedelta(days=20)).isoformat())]
    assert items[0]["test_days"] == [(on + timedelta(days=13)).isoformat()]
    late = (await registry.post("/api/v1/persons", json={"id_number": late_id, "name": "后到", "region_code": "320413"}, headers=GRID)).json()
    later_items = (await registry.get(f"/api/v1/persons/{late['id']}/measures", headers=GRID)).json()["items"]
    assert [m["rule"] for m in later_items] == ["gathering_exposure", "gathering_exposure"]
    await becomes(registry, late["id"], "red")


async def test_gathering_decisions_and_result_corrections_reach_the_audit_trail(registry, nats_server):
    from datetime import datetime

    from tests.registry.integration.people import ADMIN

    gathering = uuid.uuid4()
    decision = events.GatheringApproved(
        gathering_id=gathering, title="婚宴", kind="wedding", region_code="320413", status="approved",
        requirement="approval", starts_at=datetime(2026, 1, 1, 10, tzinfo=UTC),
        ends_at=datetime(2026, 1, 1, 14, tzinfo=UTC), expected_attendees=80, by="official-jt",
    )
    await publish(nats_server.url, decision)
    corrected = result(None, "negative", "some-index", correction=True, correction_reason="录入错误")
    await publish(nats_server.url, corrected)

    async def trail():
        items = (await registry.get("/api/v1/audit", headers=ADMIN)).json()["items"]
        found = {(i["entity"], i["entity_id"], i["action"], i["actor"]) for i in items}
        wanted = {("gathering", str(gathering), "approve", "official-jt"), ("result", str(corrected.sample_id), "correct", "lab:lab-1")}
        return wanted <= found

    assert await eventually(trail)
