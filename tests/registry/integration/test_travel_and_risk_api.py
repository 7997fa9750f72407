"""Bulk travel pushes, declarations and risk areas through the API."""

from __future__ import annotations

from datetime import timedelta

import orjson

from cordon import pii
from cordon.clock import local_date, utcnow
from tests.registry.integration.people import ADMIN, GRID, OFFICIAL, PARTNER, id_number, phone, register
from tests.tokens import bearer

TODAY = local_date(utcnow())
NDJSON = {**PARTNER, "content-type": "application/x-ndjson"}


def record(rid: str, **fields) -> dict:
    last = TODAY - timedelta(days=2)
    return {"record_id": rid, "phone": phone(), "region_code": "420106",
            "first_seen": (last - timedelta(days=1)).isoformat(), "last_seen": last.isoformat(), **fields}


def ndjson(*lines) -> bytes:
    return b"\n".join(line if isinstance(line, bytes) else orjson.dumps(line) for line in lines) + b"\n"


async def test_malformed_batch_keeps_every_good_line_and_names_every_bad_one(registry):
    body = ndjson(
        record("ok-1"),
        b"{this is not json",
        record("bad-region", region_code="4201"),
        record("reversed", first_seen=TODAY.isoformat(), last_seen=(TODAY - timedelta(days=3)).isoformat()),
        {k: v for k, v in record("x").items() if k != "record_id"},
        record("no-person", phone=None) | {"phone": None},
        record("ok-2", id_number=id_number(), phone=None) | {"phone": None},
        b"",
        record("ok-3"),
    )
    result = (await registry.post("/api/v1/travel-records/batch", content=body, headers=NDJSON)).json()
    assert result["accepted"] == 3 and result["duplicates"] == 0
    assert [(r["line"], r["code"]) for r in result["rejected"]] == [
        (2, "invalid_json"), (3, "region_code_invalid"), (4, "dates_reversed"), (5, "record_id_missing"), (6, "person_missing"),
    ]
    assert result["rejected_total"] == 5


async def test_json_array_and_idempotence_per_partner(registry):
    records = [record(f"a-{i}") for i in range(5)]
    first = await registry.post("/api/v1/travel-records/batch", json=records, headers=PARTNER)
    assert first.json()["accepted"] == 5
    again = await registry.post("/api/v1/travel-records/batch", json=records, headers=PARTNER)
    assert again.json()["accepted"] == 0 and again.json()["duplicates"] == 5
    other_partner = bearer("partner", sub="partner-bigdata")
    assert (await registry.post("/api/v1/travel-records/batch", json=records, headers=other_partner)).json()["accepted"] == 5


async def test_bad_bodies_and_roles(registry):
    r = await registry.post("/api/v1/travel-records/batch", content=b"{oops", headers={**PARTNER, "content-type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "invalid_json"
    r = await registry.post("/api/v1/travel-records/batch", json={"record_id": "x"}, headers=PARTNER)
    assert r.status_code == 422 and r.json()["code"] == "invalid_body"
    r = await registry.post("/api/v1/travel-records/batch", content=b"<xml/>", headers={**PARTNER, "content-type": "application/xml"})
    assert r.status_code == 415
    r = await registry.post("/api/v1/travel-records/batch", content=ndjson(record("z")), headers={**GRID, "content-type": "application/x-ndjson"})
    assert r.status_code == 403


async def test_records_before_registration_are_matched_when_the_person_registers(registry):
    await registry.put("/api/v1/risk-areas/420106", json={"level": "medium"}, headers=OFFICIAL)
    number, mobile = id_number(), phone()
    pushed = await registry.post("/api/v1/travel-records/batch", content=ndjson(record("early", phone=mobile)), headers=NDJSON)
    assert pushed.json()["accepted"] == 1
    response = await registry.post(
        "/api/v1/persons", json={"id_number": number, "name": "后来", "phone": mobile, "region_code": "320413"}, headers=GRID
    )
    person = response.json()
    measures = (await registry.get(f"/api/v1/persons/{person['id']}/measures", headers=GRID)).json()["items"]
    assert [(m["kind"], m["rule"]) for m in measures] == [("home_health_monitoring", "medium_risk_travel")]
    assert (await registry.get(f"/api/v1/persons/{person['id']}/health-code", headers=GRID)).json()["color"] == "yellow"


async def test_push_into_an_existing_risk_area_assigns_at_once(registry):
    await registry.put("/api/v1/risk-areas/420106", json={"level": "high"}, headers=OFFICIAL)
    person = await register(registry)
    await registry.post("/api/v1/travel-records/batch", content=ndjson(record("now", phone=person["_phone"])), headers=NDJSON)
    code = (await registry.get(f"/api/v1/persons/{person['id']}/health-code", headers=GRID)).json()
    assert code["color"] == "red"


async def test_resident_declaration(registry):
    person = await register(registry)
    vault = pii.Vault.from_hex(registry.app_settings.pii_index_key, registry.app_settings.pii_encryption_key)
    resident = bearer("resident", sub="me", phone_index=vault.index("phone", person["_phone"]))
    await registry.put("/api/v1/risk-areas/110105", json={"level": "high"}, headers=OFFICIAL)
    last = TODAY - timedelta(days=1)
    declared = await registry.post(
        "/api/v1/me/travel-declarations",
        json={"region_code": "110105", "first_seen": (last - timedelta(days=2)).isoformat(), "last_seen": last.isoformat()},
        headers=resident,
    )
    assert declared.status_code == 201
    assert (await registry.get("/api/v1/me/health-code", headers=resident)).json()["color"] == "red"
    reversed_dates = await registry.post(
        "/api/v1/me/travel-declarations",
        json={"region_code": "110105", "first_seen": TODAY.isoformat(), "last_seen": last.isoformat()},
        headers=resident,
    )
    assert reversed_dates.status_code == 422 and reversed_dates.json()["code"] == "dates_reversed"


async def test_risk_area_list_and_rules(registry):
    assert (await registry.put("/api/v1/risk-areas/420106", json={"level": "high"}, headers=GRID)).status_code == 403
    assert (await registry.put("/api/v1/risk-areas/42010", json={"level": "high"}, headers=OFFICIAL)).json()["code"] == "region_code_invalid"
    assert (await registry.put("/api/v1/risk-areas/420106", json={"level": "extreme"}, headers=OFFICIAL)).status_code == 422
    # Any official may set any region: the list is national.
    assert (await registry.put("/api/v1/risk-areas/110105", json={"level": "medium", "name": "朝阳区"}, headers=OFFICIAL)).status_code == 200
    await registry.put("/api/v1/risk-areas/310101", json={"level": "low"}, headers=ADMIN)
    listed = (await registry.get("/api/v1/risk-areas", headers=bearer("resident", phone_index="p"))).json()["items"]
    assert [(a["region_code"], a["level"], a["name"]) for a in listed] == [("110105", "medium", "朝阳区")]
    everything = (await registry.get("/api/v1/risk-areas", params={"include_low": "true"}, headers=GRID)).json()["items"]
    assert len(everything) == 2
    first = (await registry.get("/api/v1/risk-areas", params={"include_low": "true", "limit": 1}, headers=GRID)).json()
    rest = (await registry.get("/api/v1/risk-areas", params={"include_low": "true", "cursor": first["next_cursor"]}, headers=GRID)).json()
    assert [a["region_code"] for a in first["items"] + rest["items"]] == ["110105", "310101"] and rest["next_cursor"] is None
    for bad in ("99999999999999999999", "garbage", "W10"):
        answer = await registry.get("/api/v1/risk-areas", params={"cursor": bad}, headers=GRID)
        assert answer.status_code == 400 and answer.json()["code"] == "invalid_cursor"
    assert (await registry.get("/api/v1/risk-areas")).status_code == 401


async def test_an_area_set_for_later_takes_effect_when_its_moment_comes(registry):
    person = await register(registry)
    await registry.post("/api/v1/travel-records/batch", content=ndjson(record("later", phone=person["_phone"])), headers=NDJSON)
    later = (utcnow() + timedelta(hours=2)).isoformat()
    await registry.put("/api/v1/risk-areas/420106", json={"level": "high", "effective_from": later}, headers=OFFICIAL)
    assert (await registry.get(f"/api/v1/persons/{person['id']}/health-code", headers=GRID)).json()["color"] == "green"
    from services.registry import clockwork

    app = registry.app
    app.state.clock = lambda: utcnow() + timedelta(hours=3)
    await clockwork.tick(app)
    assert (await registry.get(f"/api/v1/persons/{person['id']}/health-code", headers=GRID)).json()["color"] == "red"


async def test_the_ticker_runs_by_itself(databases, nats_server):
    from tests.serving import eventually, start_service

    async with start_service("registry", databases, nats_server.url, ticker_interval_s=0.2) as registry:
        person = await register(registry)
        await registry.post("/api/v1/travel-records/batch", content=ndjson(record("auto", phone=person["_phone"])), headers=NDJSON)
        soon = (utcnow() + timedelta(seconds=1)).isoformat()
        await registry.put("/api/v1/risk-areas/420106", json={"level": "high", "effective_from": soon}, headers=OFFICIAL)

        async def red():
            return (await registry.get(f"/api/v1/persons/{person['id']}/health-code", headers=GRID)).json()["color"] == "red"

        assert await eventually(red, timeout=15)


async def test_a_community_risk_area_and_the_county_and_city_rules(registry):
    """A high-risk community: a record inside it matches it; a county-level record of its county follows the
    county rule; a record in another county of its city, the city rule; re-evaluated at once, set-based."""
    for code, name in (("420106001", "积玉桥街道"), ("420106001002", "和平社区")):
        assert (await registry.put(f"/api/v1/regions/{code}", json={"name": name}, headers=ADMIN)).status_code == 200
    people = {}
    for key, region in (("community", "420106001002"), ("county", "420106"), ("other_county", "420111"), ("far", "110101")):
        people[key] = await register(registry)
        pushed = await registry.post("/api/v1/travel-records/batch", content=ndjson(record(f"c-{key}", phone=people[key]["_phone"], region_code=region)), headers=NDJSON)
        assert pushed.json()["accepted"] == 1
    area = await registry.put("/api/v1/risk-areas/420106001002", json={"level": "high"}, headers=OFFICIAL)
    assert area.status_code == 200 and area.json()["name"] == "和平社区" and area.json()["affected_people"] == 3

    async def rules(key):
        items = (await registry.get(f"/api/v1/persons/{people[key]['id']}/measures", headers=GRID)).json()["items"]
        return sorted((m["rule"], m["kind"]) for m in items)

    assert await rules("community") == [("high_risk_travel", "centralized_quarantine"), ("high_risk_travel", "home_health_monitoring")]
    assert await rules("county") == [("local_case_county_travel", "centralized_quarantine"), ("local_case_county_travel", "home_health_monitoring")]
    assert await rules("other_county") == [("risk_city_travel", "home_health_monitoring")]
    assert await rules("far") == []
    unnamed = await registry.put("/api/v1/risk-areas/420106001009", json={"level": "high"}, headers=OFFICIAL)
    assert unnamed.status_code == 422 and unnamed.json()["code"] == "region_unknown"


async def test_a_county_that_reported_local_cases(registry):
    near, next_county = await register(registry), await register(registry)
    for person, region in ((near, "320413"), (next_county, "320412")):
        await registry.post("/api/v1/travel-records/batch", content=ndjson(record(f"l-{region}", phone=person["_phone"], region_code=region)), headers=NDJSON)
    put = await registry.put("/api/v1/risk-areas/320413", json={"level": "low", "local_cases": True}, headers=OFFICIAL)
    assert put.status_code == 200 and put.json()["local_cases"] is True and put.json()["affected_people"] == 2
    measures = lambda p: registry.get(f"/api/v1/persons/{p['id']}/measures", headers=GRID)  # noqa: E731
    assert {m["rule"] for m in (await measures(near)).json()["items"]} == {"local_case_county_travel"}
    assert {m["rule"] for m in (await measures(next_county)).json()["items"]} == {"risk_city_travel"}
    listed = (await registry.get("/api/v1/risk-areas", headers=GRID)).json()["items"]
    assert [(a["region_code"], a["level"], a["local_cases"]) for a in listed] == [("320413", "low", True)]
