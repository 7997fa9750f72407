"""Measures by hand, release, follow-ups, the clockwork, and the policy document."""

from __future__ import annotations

import uuid
from datetime import timedelta

import orjson

from cordon import pii, policy
from cordon.clock import local_date, utcnow
from cordon.contracts import testing
from tests.registry.integration.people import ADMIN, GRID, OFFICIAL, register
from tests.registry.integration.test_reactions import publish
from tests.serving import eventually, settled, stream_events
from tests.tokens import bearer

TODAY = local_date(utcnow())
D = timedelta


async def measures_of(registry, person) -> list[dict]:
    return (await registry.get(f"/api/v1/persons/{person['id']}/measures", headers=GRID)).json()["items"]


async def test_close_contact_by_hand_is_idempotent(registry):
    person = await register(registry)
    exposed = (TODAY - D(2)).isoformat()
    first = await registry.post(f"/api/v1/persons/{person['id']}/measures", json={"rule": "close_contact", "exposure_date": exposed}, headers=OFFICIAL)
    assert first.status_code == 201
    assert [(m["kind"], m["starts_on"]) for m in first.json()["items"]] == [
        ("centralized_quarantine", exposed), ("home_health_monitoring", (TODAY + D(12)).isoformat())]
    again = await registry.post(f"/api/v1/persons/{person['id']}/measures", json={"rule": "close_contact", "exposure_date": exposed}, headers=OFFICIAL)
    assert again.status_code == 201 and again.json()["items"] == []
    assert len(await measures_of(registry, person)) == 2
    past = await registry.post(f"/api/v1/persons/{person['id']}/measures", json={"rule": "close_contact", "exposure_date": (TODAY - D(40)).isoformat()}, headers=OFFICIAL)
    assert past.status_code == 422 and past.json()["code"] == "chain_in_past"
    assert (await registry.post(f"/api/v1/persons/{person['id']}/measures", json={"rule": "close_contact", "exposure_date": exposed}, headers=GRID)).status_code == 403


async def test_explicit_measure_extends_the_same_kind(registry):
    person = await register(registry)
    body = {"kind": "home_quarantine", "starts_on": TODAY.isoformat(), "days": 7, "reason": "社区研判"}
    created = (await registry.post(f"/api/v1/persons/{person['id']}/measures", json=body, headers=OFFICIAL)).json()["items"]
    assert [(m["kind"], m["rule"], m["ends_on"], m["status"], m["reason"]) for m in created] == [
        ("home_quarantine", "manual", (TODAY + D(6)).isoformat(), "active", "社区研判")]
    longer = {**body, "days": 10, "reason": "延长"}
    extended = (await registry.post(f"/api/v1/persons/{person['id']}/measures", json=longer, headers=OFFICIAL)).json()["items"]
    assert extended[0]["id"] == created[0]["id"] and extended[0]["ends_on"] == (TODAY + D(9)).isoformat()
    assert (await registry.get(f"/api/v1/persons/{person['id']}/health-code", headers=GRID)).json()["color"] == "yellow"
    bad = await registry.post(f"/api/v1/persons/{person['id']}/measures", json={**body, "kind": "spa"}, headers=OFFICIAL)
    assert bad.status_code == 422


async def test_release_and_its_transitions(registry):
    person = await register(registry)
    body = {"kind": "centralized_quarantine", "starts_on": TODAY.isoformat(), "days": 14, "reason": "研判"}
    measure = (await registry.post(f"/api/v1/persons/{person['id']}/measures", json=body, headers=OFFICIAL)).json()["items"][0]
    assert (await registry.get(f"/api/v1/persons/{person['id']}/health-code", headers=GRID)).json()["color"] == "red"
    assert (await registry.post(f"/api/v1/measures/{measure['id']}/release", json={"reason": "x"}, headers=GRID)).status_code == 403
    assert (await registry.post(f"/api/v1/measures/{measure['id']}/release", json={}, headers=OFFICIAL)).status_code == 422
    released = await registry.post(f"/api/v1/measures/{measure['id']}/release", json={"reason": "核酸阴性，解除"}, headers=OFFICIAL)
    assert released.json()["status"] == "released" and released.json()["released_on"] == TODAY.isoformat()
    assert (await registry.get(f"/api/v1/persons/{person['id']}/health-code", headers=GRID)).json()["color"] == "green"
    twice = await registry.post(f"/api/v1/measures/{measure['id']}/release", json={"reason": "again"}, headers=OFFICIAL)
    assert twice.status_code == 409 and twice.json()["code"] == "invalid_transition"
    outside = bearer("official", regions=["110101"])
    assert (await registry.post(f"/api/v1/measures/{measure['id']}/release", json={"reason": "x"}, headers=outside)).status_code == 404
    unknown = await registry.post("/api/v1/measures/00000000-0000-0000-0000-000000000000/release", json={"reason": "x"}, headers=OFFICIAL)
    assert unknown.status_code == 404 and unknown.json()["code"] == "measure_not_found"


async def test_re_evaluation_never_brings_back_a_released_measure(registry):
    person = await register(registry)
    body = {"rule": "close_contact", "exposure_date": (TODAY - D(1)).isoformat()}
    quarantine = (await registry.post(f"/api/v1/persons/{person['id']}/measures", json=body, headers=OFFICIAL)).json()["items"][0]
    await registry.post(f"/api/v1/measures/{quarantine['id']}/release", json={"reason": "转为居家"}, headers=OFFICIAL)
    await registry.patch(f"/api/v1/persons/{person['id']}", json={"address": "新地址"}, headers=GRID)  # re-evaluates
    await registry.post(f"/api/v1/persons/{person['id']}/measures", json=body, headers=OFFICIAL)
    kinds = [(m["kind"], m["status"]) for m in await measures_of(registry, person)]
    assert kinds == [("centralized_quarantine", "released"), ("home_health_monitoring", "scheduled")]


async def test_follow_up_fever_turns_yellow_and_a_normal_reading_clears_it(registry):
    person = await register(registry)
    body = {"kind": "daily_health_monitoring", "starts_on": TODAY.isoformat(), "days": 7, "reason": "x"}
    measure = (await registry.post(f"/api/v1/persons/{person['id']}/measures", json=body, headers=OFFICIAL)).json()["items"][0]
    code = lambda: registry.get(f"/api/v1/persons/{person['id']}/health-code", headers=GRID)  # noqa: E731
    assert (await code()).json()["color"] == "green"
    fever = await registry.post(f"/api/v1/measures/{measure['id']}/follow-ups", json={"temperature": 37.3, "symptoms": ["咳嗽"]}, headers=GRID)
    assert fever.status_code == 201
    assert (await code()).json()["color"] == "yellow"
    assert (await code()).json()["reasons"][0]["rule"] == "fever"
    await registry.post(f"/api/v1/measures/{measure['id']}/follow-ups", json={"temperature": 36.6}, headers=GRID)
    assert (await code()).json()["color"] == "green"
    assert (await registry.post(f"/api/v1/measures/{measure['id']}/follow-ups", json={"temperature": 50}, headers=GRID)).status_code == 422
    assert (await registry.post(f"/api/v1/measures/{measure['id']}/follow-ups", json={"temperature": 36.5}, headers=OFFICIAL)).status_code == 403
    await registry.post(f"/api/v1/measures/{measure['id']}/release", json={"reason": "done"}, headers=OFFICIAL)
    closed = await registry.post(f"/api/v1/measures/{measure['id']}/follow-ups", json={"temperature": 36.5}, headers=GRID)
    assert closed.status_code == 409 and closed.json()["code"] == "measure_not_active"


async def test_a_fever_flag_is_cleared_after_the_measure_ended(registry):
    """Every yellow has a way out: the reading that clears a fever can be recorded once the measure is over."""
    person = await register(registry)
    body = {"kind": "daily_health_monitoring", "starts_on": TODAY.isoformat(), "days": 7, "reason": "x"}
    measure = (await registry.post(f"/api/v1/persons/{person['id']}/measures", json=body, headers=OFFICIAL)).json()["items"][0]
    code = lambda: registry.get(f"/api/v1/persons/{person['id']}/health-code", headers=GRID)  # noqa: E731
    await registry.post(f"/api/v1/measures/{measure['id']}/follow-ups", json={"temperature": 38.1}, headers=GRID)
    await registry.post(f"/api/v1/measures/{measure['id']}/release", json={"reason": "期满"}, headers=OFFICIAL)
    after = (await code()).json()
    assert after["color"] == "yellow" and [(r["rule"], r["detail"]) for r in after["reasons"]] == [
        ("fever", "随访时体温38.1℃，请及时就医排查")]
    recheck = await registry.post(f"/api/v1/measures/{measure['id']}/follow-ups", json={"temperature": 36.4}, headers=GRID)
    assert recheck.status_code == 201
    assert (await code()).json() | {"updated_at": None} == {"person_id": person["id"], "color": "green", "reasons": [],
                                                             "updated_at": None}
    again = await registry.post(f"/api/v1/measures/{measure['id']}/follow-ups", json={"temperature": 36.4}, headers=GRID)
    assert again.status_code == 409 and again.json()["code"] == "measure_not_active"  # no fever left to clear


async def test_ticker_moves_measures_with_the_days(registry, nats_server):
    from services.registry import clockwork

    person = await register(registry)
    body = {"rule": "close_contact", "exposure_date": (TODAY - D(2)).isoformat()}
    await registry.post(f"/api/v1/persons/{person['id']}/measures", json=body, headers=OFFICIAL)
    registry.app.state.clock = lambda: utcnow() + D(13)  # quarantine over, monitoring begins
    await clockwork.tick(registry.app)
    # No release negative on file: the quarantine stays active past its end, and the code red.
    listed = await measures_of(registry, person)
    assert [(m["kind"], m["status"], m["release_blocked"]) for m in listed] == [
        ("centralized_quarantine", "active", "negative_test_missing"), ("home_health_monitoring", "active", None)]
    assert (await registry.get(f"/api/v1/persons/{person['id']}/health-code", headers=GRID)).json()["color"] == "red"
    await clockwork.tick(registry.app)  # announced once
    # The negative of its last day arrives: the quarantine completes.
    index = pii.Vault.from_hex(registry.app_settings.pii_index_key, registry.app_settings.pii_encryption_key).index(
        "id_number", person["_id_number"])
    negative = testing.ResultRecorded(
        sample_id=uuid.uuid4(), barcode="R-1", person_id=uuid.UUID(person["id"]), id_number_index=index, outcome="negative",
        collected_at=utcnow() + D(11), tested_at=utcnow() + D(11), lab="lab-1",
    )
    await publish(nats_server.url, negative)

    async def completed():
        return [(m["kind"], m["status"]) for m in await measures_of(registry, person)] == [
            ("centralized_quarantine", "completed"), ("home_health_monitoring", "active")]

    await eventually(completed)  # reads take the date from the app clock too
    await settled(nats_server.url, registry)
    subjects = [s for s, _ in await stream_events(nats_server.url)]
    assert subjects.count("registry.measure.completed") == 1 and subjects.count("registry.measure.release_blocked") == 1


async def test_policy_document_read_put_validate_and_announce(registry, nats_server):
    current = await registry.get("/api/v1/policies/active", headers=GRID)
    assert current.json()["version"] == 0 and current.json()["document"]["gatherings"]["prohibited_from"] == 300
    text = policy.DEFAULT_PATH.read_text(encoding="utf-8").replace("prohibited_from: 300", "prohibited_from: 100")
    put = await registry.put("/api/v1/policies/active", content=text.encode(), headers={**ADMIN, "content-type": "application/yaml"})
    assert put.status_code == 200 and put.json()["version"] == 1 and put.json()["changed_by"] == "admin"
    assert (await registry.get("/api/v1/policies/active", headers=OFFICIAL)).json()["document"]["gatherings"]["prohibited_from"] == 100
    broken = await registry.put("/api/v1/policies/active", content=b"rules: [", headers={**ADMIN, "content-type": "application/yaml"})
    assert broken.status_code == 422 and broken.json()["code"] == "policy_invalid"
    wrong = text.replace("approval_from: 50", "approval_from: 500")
    refused = await registry.put("/api/v1/policies/active", content=wrong.encode(), headers={**ADMIN, "content-type": "application/yaml"})
    assert refused.status_code == 422 and refused.json()["errors"]
    as_json = await registry.put("/api/v1/policies/active", content=orjson.dumps(put.json()["document"]), headers={**ADMIN, "content-type": "application/json"})
    assert as_json.json()["version"] == 2
    assert (await registry.put("/api/v1/policies/active", content=text.encode(), headers={**OFFICIAL, "content-type": "application/yaml"})).status_code == 403
    history = (await registry.get("/api/v1/policies", headers=OFFICIAL)).json()
    assert [h["version"] for h in history["items"]] == [2, 1] and history["next_cursor"] is None
    newest = (await registry.get("/api/v1/policies", params={"limit": 1}, headers=OFFICIAL)).json()
    older = (await registry.get("/api/v1/policies", params={"cursor": newest["next_cursor"]}, headers=OFFICIAL)).json()
    assert [h["version"] for h in newest["items"] + older["items"]] == [2, 1]
    await settled(nats_server.url, registry)
    changed = [data for s, data in await stream_events(nats_server.url) if s == "registry.policy.changed"]
    assert [c["policy_version"] for c in changed] == [1, 2]


async def test_an_inbound_home_quarantine_names_the_household_for_its_last_test(registry, nats_server):
    """The "+1": people registered at the same address in the same village are named with the test day."""
    for code, name in (("320413001", "东城街道"), ("320413001001", "华城社区"), ("320413001002", "南洲社区")):
        assert (await registry.put(f"/api/v1/regions/{code}", json={"name": name}, headers=ADMIN)).status_code == 200
    village, address = "320413001001", "华城路 1 号"
    mother = await register(registry, region=village, address="华城路1号")
    neighbour = await register(registry, region=village, address="华城路2号")
    elsewhere = await register(registry, region="320413001002", address=address)
    brother = await register(registry, region="320413001002", address="南洲路9号", household="JT-0001")  # linked explicitly
    entry = TODAY - timedelta(days=3)
    arrival = await register(registry, region=village, address=address, tags=["inbound"], entry_date=entry.isoformat(),
                             household="JT-0001")
    assert arrival["household"] == "JT-0001"
    await settled(nats_server.url, registry)
    assigned = {d["kind"]: d for s, d in await stream_events(nats_server.url)
                if s == "registry.measure.assigned" and d["person_id"] == arrival["id"]}
    home = assigned["home_quarantine"]
    assert sorted(home["household"]) == sorted([mother["id"], brother["id"]])
    assert home["household_test_days"] == [(entry + timedelta(days=20)).isoformat()]
    assert assigned["centralized_quarantine"]["household"] == []
    assert {neighbour["id"], elsewhere["id"]}.isdisjoint(home["household"])
