"""Grid accountability with a clock the test controls: rosters, five responsible staff, follow-up
duties missed and escalated, daily and zero reports, and an audit row for every change."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import orjson

from services.registry import clockwork
from tests.registry.integration.people import ADMIN, GRID, OFFICIAL, PARTNER, register
from tests.serving import eventually, settled, stream_events
from tests.tokens import bearer

CN = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 11, 23, tzinfo=CN)
ROSTER = {"township_cadre": "zhen-1", "village_cadre": "cun-1", "doctor": "doc-1", "police": "jing-1", "grid_worker": "grid-1"}
CITY_OFFICIAL = bearer("official", regions=["320400"], username="official-cz")


def at(registry, hour: int, minute: int = 0) -> datetime:
    moment = DAY.replace(hour=hour, minute=minute)
    registry.app.state.clock = lambda: moment
    return moment


async def events_of(registry, url, subject):
    """Every event of ``subject`` the registry has published, once all it has staged is out."""
    await settled(url, registry)
    return [data for s, data in await stream_events(url) if s == subject]


async def put_under_monitoring(registry, person) -> dict:
    body = {"kind": "home_health_monitoring", "starts_on": DAY.date().isoformat(), "days": 7, "reason": "研判"}
    response = await registry.post(f"/api/v1/persons/{person['id']}/measures", json=body, headers=OFFICIAL)
    assert response.status_code == 201, response.text
    return response.json()["items"][0]


async def test_roster_sets_five_responsible_staff_and_names_gaps(registry, nats_server):
    at(registry, 9)
    assert (await registry.put("/api/v1/regions/320413/roster", json=ROSTER, headers=GRID)).status_code == 403
    assert (await registry.put("/api/v1/regions/110101/roster", json=ROSTER, headers=OFFICIAL)).status_code == 404
    put = await registry.put("/api/v1/regions/320400/roster", json={**ROSTER, "doctor": None}, headers=CITY_OFFICIAL)
    assert put.status_code == 200 and put.json()["missing"] == ["doctor"]
    await registry.put("/api/v1/regions/320413/roster", json=ROSTER, headers=OFFICIAL)
    near = await register(registry)  # 320413 has its own roster
    far = await register(registry, region="320402", headers=CITY_OFFICIAL)  # falls back to the city's
    await put_under_monitoring(registry, near)
    await registry.post(f"/api/v1/persons/{far['id']}/measures", json={"kind": "home_quarantine", "starts_on": DAY.date().isoformat(), "days": 7, "reason": "x"}, headers=CITY_OFFICIAL)
    mine = (await registry.get(f"/api/v1/persons/{near['id']}/responsible-staff", headers=GRID)).json()
    assert mine["staff"] == ROSTER and mine["roster_region"] == "320413" and mine["missing"] == []
    theirs = (await registry.get(f"/api/v1/persons/{far['id']}/responsible-staff", headers=CITY_OFFICIAL)).json()
    assert theirs["roster_region"] == "320400" and theirs["missing"] == ["doctor"]
    assigned = await events_of(registry, nats_server.url, "registry.staff.assigned")
    assert sorted((a["person_id"], a["missing"]) for a in assigned) == sorted([(near["id"], []), (far["id"], ["doctor"])])
    changed = await registry.put(f"/api/v1/persons/{near['id']}/responsible-staff", json={**ROSTER, "grid_worker": "grid-2"}, headers=OFFICIAL)
    assert changed.json()["staff"]["grid_worker"] == "grid-2" and changed.json()["assigned_by"] == "official-jt"
    nobody = await register(registry)
    missing = await registry.get(f"/api/v1/persons/{nobody['id']}/responsible-staff", headers=GRID)
    assert missing.status_code == 404 and missing.json()["code"] == "responsible_staff_not_found"


async def follow_ups(registry, **params) -> list[dict]:
    """The grid worker's follow-up list, a page of one at a time: each page the bytes ``schemas.FollowUpSlotPage`` of
    the slots loaded whole would make (the list makes its bytes from plain rows)."""
    from cordon import paging
    from cordon.auth import Principal
    from services.registry import schemas
    from services.registry.models import FollowUpSlot
    from services.registry.service import follow_up_duties

    principal = Principal(subject="grid-1", role="grid_worker", regions=("320413",), username="grid-1")
    items, cursor = [], None
    while True:
        answer = await registry.get("/api/v1/follow-ups", params={**params, "limit": 1, **({"cursor": cursor} if cursor else {})},
                                    headers=GRID)
        assert answer.status_code == 200 and answer.headers["content-type"] == "application/json", answer.text
        async with registry.app.state.sessionmaker() as session:
            query = follow_up_duties.slot_selection(principal=principal, status=params.get("status", "due"),
                                                    region_code=params.get("region_code"))
            page = await paging.keyset(session, query, order=(FollowUpSlot.id,), limit=1, cursor=cursor)
        expected = schemas.FollowUpSlotPage(next_cursor=page.next_cursor, items=[
            schemas.FollowUpSlotRead(person_id=r.person_id, measure_id=r.measure_id, region_code=r.region_code, date=r.due_on,
                                     slot=r.slot, due_by=r.ends_at, status=r.status, done_at=r.done_at) for r in page.items])
        assert answer.content == expected.model_dump_json().encode()
        items += schemas.FollowUpSlotPage.model_validate(answer.json()).model_dump(mode="json")["items"]
        cursor = answer.json()["next_cursor"]
        if not cursor:
            return items


async def test_missed_evening_follow_up_alerts_the_grid_worker_then_escalates(registry, nats_server):
    at(registry, 9)
    await registry.put("/api/v1/regions/320413/roster", json=ROSTER, headers=OFFICIAL)
    person = await register(registry)
    measure = await put_under_monitoring(registry, person)
    await clockwork.accountability_tick(registry.app, at(registry, 9, 5))
    due = await follow_ups(registry, status="due")
    assert sorted(s["slot"] for s in due) == ["evening", "morning"]
    at(registry, 9, 30)
    done = await registry.post(f"/api/v1/measures/{measure['id']}/follow-ups", json={"temperature": 36.5}, headers=GRID)
    assert done.status_code == 201
    due = await follow_ups(registry, status="due")
    assert [s["slot"] for s in due] == ["evening"]

    await clockwork.accountability_tick(registry.app, at(registry, 20, 1))  # the evening slot has ended
    missed = await follow_ups(registry, status="missed", region_code="320413")
    assert [(s["slot"], s["status"]) for s in missed] == [("evening", "missed")]
    [alert] = await events_of(registry, nats_server.url, "registry.followup.missed")
    assert alert["notify"] == ["grid-1"] and alert["slot"] == "evening"

    await clockwork.accountability_tick(registry.app, at(registry, 21, 0))  # not yet two hours
    assert await events_of(registry, nats_server.url, "registry.followup.escalated") == []
    await clockwork.accountability_tick(registry.app, at(registry, 22, 1))
    [escalated] = await events_of(registry, nats_server.url, "registry.followup.escalated")
    assert escalated["notify"] == ["cun-1"] and escalated["region_code"] == "320413"
    await clockwork.accountability_tick(registry.app, at(registry, 23, 0))  # once only
    assert len(await events_of(registry, nats_server.url, "registry.followup.escalated")) == 1
    outside = bearer("grid_worker", regions=["110101"])
    assert (await registry.get("/api/v1/follow-ups", params={"status": "missed"}, headers=outside)).json()["items"] == []

    # The grid worker makes it up (请尽快补做): the late follow-up clears the missed slot.
    at(registry, 23, 10)
    late = await registry.post(f"/api/v1/measures/{measure['id']}/follow-ups", json={"temperature": 36.6}, headers=GRID)
    assert late.status_code == 201
    assert (await registry.get("/api/v1/follow-ups", params={"status": "missed"}, headers=GRID)).json()["items"] == []


async def test_units_that_do_not_report_are_reminded_then_listed_missing(registry, nats_server):
    at(registry, 9)
    await registry.put("/api/v1/regions/320413/roster", json=ROSTER, headers=OFFICIAL)
    await registry.put("/api/v1/regions/320412/roster", json={**ROSTER, "grid_worker": "grid-9"}, headers=CITY_OFFICIAL)
    today = DAY.date().isoformat()
    zero = await registry.post("/api/v1/daily-reports", json={"region_code": "320412", "date": today, "zero": True}, headers=CITY_OFFICIAL)
    assert zero.status_code == 201 and zero.json()["late"] is False
    again = await registry.post("/api/v1/daily-reports", json={"region_code": "320412", "date": today, "zero": True}, headers=CITY_OFFICIAL)
    assert again.status_code == 409 and again.json()["code"] == "report_exists"
    no_counts = await registry.post("/api/v1/daily-reports", json={"region_code": "320413", "date": today, "zero": False}, headers=GRID)
    assert no_counts.status_code == 422 and no_counts.json()["code"] == "counts_required"
    not_unit = await registry.post("/api/v1/daily-reports", json={"region_code": "320411", "date": today, "zero": True}, headers=CITY_OFFICIAL)
    assert not_unit.status_code == 404 and not_unit.json()["code"] == "unit_not_found"

    await clockwork.accountability_tick(registry.app, at(registry, 11, 59))  # before the reminder window
    await clockwork.accountability_tick(registry.app, at(registry, 12, 0))
    await clockwork.accountability_tick(registry.app, at(registry, 12, 30))
    reminders = await events_of(registry, nats_server.url, "registry.report.reminded")
    assert [(r["region_code"], r["notify"]) for r in reminders] == [("320413", ["grid-1", "cun-1"])]  # the zero report stopped 320412's

    await clockwork.accountability_tick(registry.app, at(registry, 14, 0))
    missing = await events_of(registry, nats_server.url, "registry.report.missing")
    assert [(m["region_code"], m["parent_region"]) for m in missing] == [("320413", "320400")]
    listed = (await registry.get("/api/v1/daily-reports", params={"date": today, "status": "missing"}, headers=CITY_OFFICIAL)).json()["items"]
    assert [i["region_code"] for i in listed] == ["320413"]

    at(registry, 15, 0)
    counts = {"returnees_screened": 3, "under_control": 1, "fever": 0, "tests_taken": 12}
    late = await registry.post("/api/v1/daily-reports", json={"region_code": "320413", "date": today, "zero": False, "counts": counts, "note": "补报"}, headers=GRID)
    assert late.status_code == 201 and late.json()["late"] is True
    submitted = (await registry.get("/api/v1/daily-reports", params={"date": today, "status": "submitted"}, headers=CITY_OFFICIAL)).json()["items"]
    assert {(i["region_code"], i["late"], i["zero"]) for i in submitted} == {("320412", False, True), ("320413", True, False)}
    # Without a date: today (China time); paged by region code.
    first = (await registry.get("/api/v1/daily-reports", params={"limit": 1}, headers=CITY_OFFICIAL)).json()
    rest = (await registry.get("/api/v1/daily-reports", params={"limit": 1, "cursor": first["next_cursor"]}, headers=CITY_OFFICIAL)).json()
    assert [(i["region_code"], i["date"]) for i in first["items"] + rest["items"]] == [("320412", today), ("320413", today)]
    assert rest["next_cursor"] is None
    await clockwork.accountability_tick(registry.app, at(registry, 16, 0))
    assert len(await events_of(registry, nats_server.url, "registry.report.missing")) == 1
    assert (await registry.get("/api/v1/daily-reports", params={"date": today}, headers=GRID)).status_code == 403


async def test_draft_counts_from_what_cordon_knows(registry):
    at(registry, 9)
    await registry.put("/api/v1/regions/320413/roster", json=ROSTER, headers=OFFICIAL)
    await register(registry, tags=["returnee"])
    person = await register(registry)
    measure = await put_under_monitoring(registry, person)
    at(registry, 10)
    await registry.post(f"/api/v1/measures/{measure['id']}/follow-ups", json={"temperature": 38.1}, headers=GRID)
    draft = await registry.get("/api/v1/daily-reports/draft", params={"region_code": "320413", "date": DAY.date().isoformat()}, headers=GRID)
    assert draft.json()["counts"] == {"returnees_screened": 1, "under_control": 1, "fever": 1, "tests_taken": 0}


# POSTs that change nothing: a gate verifies passes many times a second, and a verification
# neither reveals personal data (the name is masked) nor changes a record.
READS_BY_POST = {("POST", "/api/v1/health-code/verify")}


async def test_every_change_and_reveal_leaves_an_audit_record(registry, nats_server):
    """Walks the registry's routes: each that changes state (and each reveal) must write to the trail."""
    at(registry, 9)
    person = await register(registry)
    measure = await put_under_monitoring(registry, person)
    other = await register(registry)
    today = DAY.date().isoformat()
    from cordon import pii
    from services.registry.app import RegistrySettings  # noqa: F401  (the app under test is registry.app)

    s = registry.app_settings
    resident = bearer("resident", phone_index=pii.Vault.from_hex(s.pii_index_key, s.pii_encryption_key).index("phone", person["_phone"]))
    from cordon.contracts import auth
    from tests.registry.integration.test_reactions import publish

    await publish(nats_server.url, auth.UserCreated(user_id=person["id"], username="grid-1", role="grid_worker", regions=["320413"]))
    lead_list = "姓名,手机号,所在地,原因\n李四,13900002222,320413,协查\n李五,13900003333,320413,协查\n".encode()

    async def lead(number: int) -> str:
        return (await registry.get("/api/v1/leads", params={"status": "open"}, headers=OFFICIAL)).json()["items"][number]["id"]

    async def assign_lead():
        url = f"/api/v1/leads/{await lead(0)}/assign"

        async def done():
            response = await registry.post(url, json={"username": "grid-1"}, headers=OFFICIAL)
            return response if response.status_code == 200 else None

        return await eventually(done)  # once the gateway's user announcement is projected here

    async def close_lead():
        return await registry.post(f"/api/v1/leads/{await lead(1)}/outcome", json={"outcome": "not_found"}, headers=GRID)

    calls = {
        ("POST", "/api/v1/leads/import"): lambda: registry.post("/api/v1/leads/import", content=lead_list, headers={**OFFICIAL, "content-type": "text/csv"}),
        ("POST", "/api/v1/leads/{lead_id}/assign"): assign_lead,
        ("POST", "/api/v1/leads/{lead_id}/outcome"): close_lead,
        ("POST", "/api/v1/persons"): lambda: registry.post("/api/v1/persons", json={"id_number": __import__("tests.registry.integration.people", fromlist=["id_number"]).id_number(), "name": "新", "region_code": "320413"}, headers=GRID),
        ("PATCH", "/api/v1/persons/{person_id}"): lambda: registry.patch(f"/api/v1/persons/{person['id']}", json={"address": "x"}, headers=GRID),
        ("PUT", "/api/v1/risk-areas/{region_code}"): lambda: registry.put("/api/v1/risk-areas/420106", json={"level": "medium"}, headers=OFFICIAL),
        ("POST", "/api/v1/travel-records/batch"): lambda: registry.post("/api/v1/travel-records/batch", content=orjson.dumps({"record_id": "a1", "phone": "13900001111", "region_code": "420106", "first_seen": today, "last_seen": today}) + b"\n", headers={**PARTNER, "content-type": "application/x-ndjson"}),
        ("POST", "/api/v1/me/travel-declarations"): lambda: registry.post("/api/v1/me/travel-declarations", json={"region_code": "110105", "first_seen": today, "last_seen": today}, headers=resident),
        ("POST", "/api/v1/persons/{person_id}/measures"): lambda: registry.post(f"/api/v1/persons/{other['id']}/measures", json={"rule": "close_contact", "exposure_date": today}, headers=OFFICIAL),
        ("POST", "/api/v1/measures/{measure_id}/follow-ups"): lambda: registry.post(f"/api/v1/measures/{measure['id']}/follow-ups", json={"temperature": 36.4}, headers=GRID),
        ("POST", "/api/v1/measures/{measure_id}/release"): lambda: registry.post(f"/api/v1/measures/{measure['id']}/release", json={"reason": "r"}, headers=OFFICIAL),
        ("PUT", "/api/v1/policies/active"): lambda: registry.put("/api/v1/policies/active", content=__import__("cordon.policy", fromlist=["x"]).DEFAULT_PATH.read_bytes(), headers={**ADMIN, "content-type": "application/yaml"}),
        ("PUT", "/api/v1/regions/{region_code}/roster"): lambda: registry.put("/api/v1/regions/320413/roster", json=ROSTER, headers=OFFICIAL),
        ("PUT", "/api/v1/persons/{person_id}/responsible-staff"): lambda: registry.put(f"/api/v1/persons/{person['id']}/responsible-staff", json=ROSTER, headers=OFFICIAL),
        ("POST", "/api/v1/daily-reports"): lambda: registry.post("/api/v1/daily-reports", json={"region_code": "320413", "date": today, "zero": True}, headers=GRID),
        ("PUT", "/api/v1/regions/{code}"): lambda: registry.put("/api/v1/regions/320413100", json={"name": "金城镇"}, headers=OFFICIAL),
        ("POST", "/api/v1/regions/import"): lambda: registry.post("/api/v1/regions/import", content="code,name\n320413100201,东门村\n".encode(), headers={**ADMIN, "content-type": "text/csv"}),
        ("POST", "/api/v1/persons/{person_id}/case"): lambda: registry.post(f"/api/v1/persons/{other['id']}/case", json={"classification": "confirmed", "reviewed_at": DAY.isoformat()}, headers=OFFICIAL),
        ("POST", "/api/v1/persons/{person_id}/case/discharge"): lambda: registry.post(f"/api/v1/persons/{other['id']}/case/discharge", json={"discharged_on": today}, headers=OFFICIAL),
        ("GET", "/api/v1/persons/{person_id}?reveal=true"): lambda: registry.get(f"/api/v1/persons/{person['id']}", params={"reveal": "true"}, headers=OFFICIAL),
        ("GET", "/api/v1/persons/export?reveal=true"): lambda: registry.get("/api/v1/persons/export", params={"reveal": "true"}, headers=OFFICIAL),
        ("GET", "/api/v1/daily-reports/export"): lambda: registry.get("/api/v1/daily-reports/export", headers=OFFICIAL),
        ("GET", "/api/v1/leads/export"): lambda: registry.get("/api/v1/leads/export", headers=OFFICIAL),
    }
    changing = {
        (method.upper(), path)
        for path, item in registry.app.openapi()["paths"].items()
        for method in item
        if method not in ("get", "head")
    } - READS_BY_POST
    assert len(changing) >= 12 and {
        (m.upper(), p) for p, item in registry.app.openapi()["paths"].items() for m in item
    } >= READS_BY_POST
    assert changing <= {key for key in calls}, f"routes without an audit check: {changing - set(calls)}"
    for key, call in calls.items():
        before = (await registry.get("/api/v1/audit", params={"limit": 500}, headers=ADMIN)).json()["items"]
        response = await call()
        assert response.status_code < 300, (key, response.status_code, response.text)
        after = (await registry.get("/api/v1/audit", params={"limit": 500}, headers=ADMIN)).json()["items"]
        assert len(after) > len(before), f"{key} left no audit record"
    trail = (await registry.get("/api/v1/audit", params={"entity": "person", "entity_id": person["id"]}, headers=ADMIN)).json()["items"]
    assert {"create", "update", "reveal"} <= {t["action"] for t in trail}
    everything = (await registry.get("/api/v1/audit", params={"limit": 500}, headers=ADMIN)).text
    assert person["_id_number"] not in everything and person["_phone"] not in everything  # no personal data in clear
    page = await registry.get("/api/v1/audit", params={"limit": 2}, headers=ADMIN)
    assert len(page.json()["items"]) == 2 and page.json()["next_cursor"]
    assert (await registry.get("/api/v1/audit", headers=OFFICIAL)).status_code == 403
