"""The registry's side of cases and release: a person's travel records, a policy change reaching people already
under control, the province rule lifted by the tests around the journey, and the case workflow's refusals."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta

from cordon import pii, policy
from cordon.clock import CHINA, local_date, utcnow
from cordon.contracts import testing
from tests.registry.integration.people import ADMIN, GRID, OFFICIAL, PARTNER, register
from tests.registry.integration.test_reactions import publish
from tests.serving import eventually, settled, stream_events
from tests.tokens import bearer

TODAY = local_date(utcnow())
D = timedelta
ELSEWHERE = bearer("official", regions=["110101"], username="official-bj")


async def measures_of(registry, person) -> list[dict]:
    return (await registry.get(f"/api/v1/persons/{person['id']}/measures", headers=GRID)).json()["items"]


async def test_a_persons_travel_records_latest_first_paged(registry):
    person = await register(registry)
    lines = [
        {"record_id": f"tr-{n}", "phone": person["_phone"], "region_code": "110101",
         "first_seen": (TODAY - D(n + 1)).isoformat(), "last_seen": (TODAY - D(n)).isoformat()}
        for n in (5, 1, 3)
    ]
    assert (await registry.post("/api/v1/travel-records/batch", json=lines, headers=PARTNER)).json()["accepted"] == 3
    first = (await registry.get(f"/api/v1/persons/{person['id']}/travel-records", params={"limit": 2}, headers=GRID)).json()
    rest = (await registry.get(f"/api/v1/persons/{person['id']}/travel-records", params={"cursor": first["next_cursor"]}, headers=GRID)).json()
    assert [r["last_seen"] for r in first["items"] + rest["items"]] == [(TODAY - D(n)).isoformat() for n in (1, 3, 5)]
    assert {r["source"] for r in first["items"]} == {"partner"} and rest["next_cursor"] is None
    hidden = await registry.get(f"/api/v1/persons/{person['id']}/travel-records", headers=ELSEWHERE)
    assert hidden.status_code == 404 and hidden.json()["code"] == "person_not_found"


async def test_a_policy_change_reaches_people_already_under_control(registry, nats_server):
    contact, bystander = await register(registry), await register(registry)
    exposed = TODAY - D(2)
    body = {"rule": "close_contact", "exposure_date": exposed.isoformat()}
    assert (await registry.post(f"/api/v1/persons/{contact['id']}/measures", json=body, headers=OFFICIAL)).status_code == 201
    before = {m["kind"]: m for m in await measures_of(registry, contact)}
    assert before["centralized_quarantine"]["ends_on"] == (exposed + D(13)).isoformat()
    text = policy.DEFAULT_PATH.read_text(encoding="utf-8")
    longer = text.replace(
        "  close_contact:\n    title: {zh: 密切接触者, en: Close contact}\n    trigger: {type: manual}\n    assignable: true\n"
        "    measures:\n      - {kind: centralized_quarantine, days: 14,",
        "  close_contact:\n    title: {zh: 密切接触者, en: Close contact}\n    trigger: {type: manual}\n    assignable: true\n"
        "    measures:\n      - {kind: centralized_quarantine, days: 21,",
    )
    assert longer != text
    put = await registry.put("/api/v1/policies/active", content=longer.encode(), headers={**ADMIN, "content-type": "application/yaml"})
    assert put.status_code == 200
    after = {m["kind"]: m for m in await measures_of(registry, contact)}
    # The open quarantine is the same measure, now 21 days; the monitoring that now overlaps it keeps its dates.
    assert after["centralized_quarantine"]["id"] == before["centralized_quarantine"]["id"]
    assert after["centralized_quarantine"]["ends_on"] == (exposed + D(20)).isoformat()
    assert await measures_of(registry, bystander) == []
    await settled(nats_server.url, registry)
    assigned = [d for s, d in await stream_events(nats_server.url) if s == "registry.measure.assigned"]
    assert [d["ends_on"] for d in assigned if d["measure_id"] == before["centralized_quarantine"]["id"]] == [
        (exposed + D(13)).isoformat(), (exposed + D(20)).isoformat()]
    # The same document again changes nothing.
    await registry.put("/api/v1/policies/active", content=longer.encode(), headers={**ADMIN, "content-type": "application/yaml"})
    await settled(nats_server.url, registry)
    assert len([s for s, _ in await stream_events(nats_server.url) if s == "registry.measure.assigned"]) == len(assigned)


async def test_the_province_rule_is_lifted_by_the_tests_around_the_journey(registry, nats_server):
    """宜昌 (420502) lies in 湖北, which reported local cases: three days of monitoring, until the negative from
    before leaving and the arrival test are on file."""
    person = await register(registry)
    left = TODAY - D(1)
    assert (await registry.put("/api/v1/risk-areas/420000", json={"level": "low", "local_cases": True}, headers=OFFICIAL)).status_code == 200
    line = {"record_id": "prov-1", "phone": person["_phone"], "region_code": "420502",
            "first_seen": (left - D(3)).isoformat(), "last_seen": left.isoformat()}
    assert (await registry.post("/api/v1/travel-records/batch", json=[line], headers=PARTNER)).json()["accepted"] == 1
    [monitoring] = await measures_of(registry, person)
    assert (monitoring["rule"], monitoring["kind"], monitoring["starts_on"], monitoring["ends_on"], monitoring["test_days"]) == (
        "local_case_province_travel", "home_health_monitoring", left.isoformat(), (left + D(2)).isoformat(),
        [TODAY.isoformat(), (left + D(2)).isoformat()])  # found a day late: the arrival test is today
    vault = pii.Vault.from_hex(registry.app_settings.pii_index_key, registry.app_settings.pii_encryption_key)
    index, pid = vault.index("id_number", person["_id_number"]), uuid.UUID(person["id"])
    proof = datetime.combine(left - D(1), time(9), tzinfo=CHINA)
    await publish(nats_server.url, testing.ResultRecorded(
        sample_id=uuid.uuid4(), barcode="P-1", person_id=pid, id_number_index=index, outcome="negative",
        collected_at=proof, tested_at=proof + D(hours=6), lab="lab-1"), key="proof")
    await settled(nats_server.url, registry)
    assert [m["status"] for m in await measures_of(registry, person)] == ["active"]  # the proof alone is not enough
    await publish(nats_server.url, testing.SampleCollected(
        sample_id=uuid.uuid4(), barcode="A-1", person_id=pid, id_number_index=index,
        collected_at=datetime.combine(TODAY, time(8), tzinfo=CHINA), site="金坛采样点"), key="arrival")

    async def lifted():
        [m] = await measures_of(registry, person)
        return m if m["status"] == "released" else None

    assert "免于居家健康监测" in (await eventually(lifted))["reason"]
    assert (await registry.get(f"/api/v1/persons/{person['id']}/health-code", headers=GRID)).json()["color"] == "green"


async def test_case_steps_are_for_officials_of_the_region_and_validated(registry):
    person = await register(registry)
    review = {"classification": "confirmed", "reviewed_at": utcnow().isoformat()}
    assert (await registry.post(f"/api/v1/persons/{person['id']}/case", json=review, headers=GRID)).status_code == 403
    assert (await registry.post(f"/api/v1/persons/{person['id']}/case", json=review, headers=ELSEWHERE)).status_code == 404
    bad = await registry.post(f"/api/v1/persons/{person['id']}/case", json={**review, "classification": "suspected"}, headers=OFFICIAL)
    assert bad.status_code == 422
    far = await registry.post(f"/api/v1/persons/{person['id']}/case/discharge", json={"discharged_on": "9999-12-31"}, headers=OFFICIAL)
    assert far.status_code == 422
    created = await registry.post(f"/api/v1/persons/{person['id']}/case", json=review, headers=OFFICIAL)
    assert created.status_code == 201 and created.json()["hospital"] is None
    code = (await registry.get(f"/api/v1/persons/{person['id']}/health-code", headers=GRID)).json()
    assert code["color"] == "red" and [r["rule"] for r in code["reasons"]] == ["case"]
    # Discharged long ago: the case closes, the chain lies wholly in the past, the code turns green.
    old = await registry.post(f"/api/v1/persons/{person['id']}/case/discharge",
                              json={"discharged_on": (TODAY - D(40)).isoformat()}, headers=OFFICIAL)
    assert old.status_code == 200 and old.json()["measures"] == []
    assert (await registry.get(f"/api/v1/persons/{person['id']}/health-code", headers=GRID)).json()["color"] == "green"
