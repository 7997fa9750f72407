"""POST/GET /gatherings and the workflow, over real HTTP, on both databases."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from cordon import policy
from cordon.clock import utcnow
from cordon.contracts import registry
from tests.events.integration.helpers import (
    ADMIN,
    CITY_OFFICIAL,
    GRID,
    LAB,
    OFFICIAL,
    OTHER_GRID,
    OTHER_OFFICIAL,
    PLANS,
    body,
    file,
    iso,
    phone,
    publish,
    resident,
    vault,
)
from tests.serving import eventually, settled, stream_envelopes
from tests.tokens import bearer

API = "/api/v1/gatherings"


async def test_filing_computes_the_requirement_and_masks_the_organizer(events):
    organizer_phone = phone()
    meeting = await file(events, organizer={"name": "李四", "phone": organizer_phone})
    assert (meeting["requirement"], meeting["status"], meeting["warnings"]) == ("none", "recorded", [])
    assert meeting["organizer"] == {"name": "李四", "phone_masked": organizer_phone[:3] + "****" + organizer_phone[-4:]}
    assert organizer_phone not in str(meeting)
    assert meeting["exposure"] is False and meeting["checked_in"] == 0

    banquet = await file(events, kind="banquet", tables=6, expected_attendees=48)
    assert (banquet["requirement"], banquet["status"]) == ("filing", "filed")
    small_banquet = await file(events, kind="banquet", tables=4, expected_attendees=40)
    assert small_banquet["requirement"] == "none"
    wedding = await file(events, kind="wedding", expected_attendees=30)
    assert (wedding["requirement"], wedding["status"]) == ("filing", "filed")
    big = await file(events, kind="wedding", expected_attendees=120, **PLANS)
    assert (big["requirement"], big["status"]) == ("approval", "pending_approval")
    family = await file(events, kind="family", expected_attendees=11)
    assert family["status"] == "recorded" and [w["code"] for w in family["warnings"]] == ["family_gathering_large"]


async def test_the_date_is_the_china_day_and_times_keep_their_offset(events):
    # 17:30 UTC is 01:30 the next day in China.
    start = (utcnow() + timedelta(days=2)).replace(hour=17, minute=30, second=0, microsecond=0)
    g = await file(events, starts_at=start.isoformat(), ends_at=(start + timedelta(hours=2)).isoformat())
    assert g["gathering_on"] == (start + timedelta(hours=8)).date().isoformat()
    assert datetime.fromisoformat(g["starts_at"]) == start


async def test_filing_at_the_door_is_allowed_after_the_end_is_not(events):
    now = utcnow()
    under_way = await file(events, starts_at=iso(now - timedelta(hours=1)), ends_at=iso(now + timedelta(hours=1)))
    assert [w["code"] for w in under_way["warnings"]] == ["already_started"]
    ended = await events.post(API, json=body(starts_at=iso(now - timedelta(hours=3)), ends_at=iso(now - timedelta(minutes=1))), headers=GRID)
    assert ended.status_code == 422 and ended.json()["code"] == "gathering_ended"


async def test_every_filing_error_has_its_code(events):
    async def refused(status, code, headers=GRID, **fields):
        response = await events.post(API, json=body(**fields), headers=headers)
        assert (response.status_code, response.json()["code"]) == (status, code), response.text
        return response.json()

    too_big = await refused(422, "gathering_prohibited", expected_attendees=300, **PLANS)
    assert too_big["rule"] == "prohibited_from" and "300" in too_big["detail"]
    suspended = await refused(422, "gathering_prohibited", kind="fair", expected_attendees=20)
    assert suspended["rule"] == "suspended_kinds"
    no_plan = await refused(422, "prevention_plan_required", expected_attendees=50, prevention_plan="测温扫码")
    assert no_plan["missing"] == ["emergency_plan"]
    blank = await refused(422, "prevention_plan_required", expected_attendees=50, prevention_plan="  ", emergency_plan="")
    assert blank["missing"] == ["prevention_plan", "emergency_plan"]
    start = utcnow() + timedelta(days=1)
    backwards = await refused(422, "validation_error", starts_at=iso(start), ends_at=iso(start))
    assert backwards["errors"][0]["field"] == "ends_at"
    await refused(422, "validation_error", expected_attendees=0)
    await refused(422, "validation_error", expected_attendees=-5)
    tables = await refused(422, "validation_error", kind="meeting", tables=3)
    assert tables["errors"][0]["field"] == "tables"
    await refused(422, "validation_error", kind="banquet", tables=0)
    await refused(422, "validation_error", starts_at=start.replace(tzinfo=None).isoformat())
    await refused(422, "validation_error", kind="rave")
    await refused(422, "validation_error", expected_attendees="many")
    await refused(422, "phone_invalid", organizer={"name": "李四", "phone": "12345"})
    await refused(422, "region_code_invalid", venue={"address": "x", "region_code": "ABCDEF"})
    await refused(403, "region_forbidden", headers=OTHER_GRID)
    await refused(403, "forbidden", headers=LAB)
    await refused(401, "unauthenticated", headers={})
    malformed = await events.post(API, content=b"{not json", headers={**GRID, "content-type": "application/json"})
    assert malformed.status_code == 400


async def test_workflow_moves_publish_events_the_organiser_can_be_told_by(events, nats_server):
    organizer_phone = phone()
    owner = resident(events, organizer_phone)
    g = await file(events, headers=owner, organizer={"name": "王五", "phone": organizer_phone}, expected_attendees=80, **PLANS)
    gid = g["id"]
    move = lambda action, headers, **json: events.post(f"{API}/{gid}/{action}", json=json or None, headers=headers)  # noqa: E731

    assert (await move("approve", GRID)).status_code == 403
    assert (await move("approve", owner)).status_code == 403
    assert (await move("approve", OTHER_OFFICIAL)).status_code == 404
    assert (await move("reject", OFFICIAL)).json()["code"] == "validation_error"  # a rejection gives its reason
    approved = await move("approve", CITY_OFFICIAL, reason="方案齐全")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert approved.json()["decided_by"] == "official-cz" and approved.json()["decision_reason"] == "方案齐全"
    again = await move("reject", OFFICIAL, reason="late")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    assert again.json()["gathering_status"] == "approved"
    assert (await move("cancel", OTHER_GRID)).status_code == 404
    assert (await move("cancel", GRID)).status_code == 403  # a grid worker who did not file it
    cancelled = await move("cancel", owner, reason="改期")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancel_reason"] == "改期"
    assert (await move("cancel", owner)).json()["code"] == "invalid_transition"
    assert (await move("approve", OFFICIAL)).status_code == 409

    await settled(nats_server.url, events)
    sent = [e for e in await stream_envelopes(nats_server.url, "GATHERINGS") if e.nats_subject.startswith("gatherings.gathering.")]
    assert [e.type for e in sent] == [
        "gatherings.gathering.submitted.v1", "gatherings.gathering.approved.v1", "gatherings.gathering.cancelled.v1"]
    assert {e.subject for e in sent} == {gid}
    facts = [e.event() for e in sent]
    assert [f.status for f in facts] == ["pending_approval", "approved", "cancelled"]
    assert all(f.organizer_phone_index == vault(events).index("phone", organizer_phone) for f in facts)
    assert vault(events).decrypt(facts[0].organizer_phone_enc) == organizer_phone
    assert facts[1].by == "official-cz" and facts[2].reason == "改期"


async def test_reject_and_invalid_moves_from_each_starting_status(events):
    pending = await file(events, expected_attendees=60, **PLANS)
    rejected = await events.post(f"{API}/{pending['id']}/reject", json={"reason": "场地过小"}, headers=OFFICIAL)
    assert rejected.json()["status"] == "rejected"
    assert (await events.post(f"{API}/{pending['id']}/cancel", headers=OFFICIAL)).json()["code"] == "invalid_transition"
    for kind_fields in ({}, {"kind": "wedding"}):
        g = await file(events, **kind_fields)
        for action, json in (("approve", None), ("reject", {"reason": "x"})):
            response = await events.post(f"{API}/{g['id']}/{action}", json=json, headers=ADMIN)
            assert (response.status_code, response.json()["code"]) == (409, "invalid_transition")
        assert (await events.post(f"{API}/{g['id']}/cancel", headers=OFFICIAL)).json()["status"] == "cancelled"
    unknown = await events.post(f"{API}/{uuid.uuid4()}/approve", headers=OFFICIAL)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "gathering_not_found")
    assert (await events.post(f"{API}/not-a-uuid/approve", headers=OFFICIAL)).status_code == 422


async def test_reading_is_for_the_organiser_and_staff_in_region(events):
    organizer_phone = phone()
    by_staff = await file(events, headers=GRID, organizer={"name": "赵六", "phone": organizer_phone})
    path = f"{API}/{by_staff['id']}"
    for headers in (GRID, OFFICIAL, CITY_OFFICIAL, ADMIN, resident(events, organizer_phone)):
        assert (await events.get(path, headers=headers)).status_code == 200
    for headers in (OTHER_GRID, OTHER_OFFICIAL, resident(events, phone())):
        response = await events.get(path, headers=headers)
        assert (response.status_code, response.json()["code"]) == (404, "gathering_not_found")
    assert (await events.get(path, headers=LAB)).status_code == 403
    # A resident filing for a venue anywhere (they travel for weddings); its staff then see it.
    own = resident(events, phone())
    far = await file(events, headers=own, venue={"address": "吴江区", "region_code": "320509"})
    assert (await events.get(f"{API}/{far['id']}", headers=own)).status_code == 200
    assert (await events.get(f"{API}/{far['id']}", headers=GRID)).status_code == 404


async def test_lists_by_region_status_and_date_in_pages(events):
    base = (utcnow() + timedelta(days=3)).replace(hour=2, minute=0, second=0, microsecond=0)  # 10:00 in China
    owner_phone = phone()
    owner = resident(events, owner_phone)
    made = []
    for day in range(5):
        start = base + timedelta(days=day)
        made.append(await file(events, headers=owner if day < 2 else GRID, organizer={"name": "钱七", "phone": owner_phone if day == 4 else phone()},
                               starts_at=iso(start), ends_at=iso(start + timedelta(hours=2))))
    await file(events, headers=bearer("grid_worker", regions=["320412"]), venue={"address": "x", "region_code": "320412"})
    await file(events, headers=GRID, kind="wedding")

    async def ids(headers=GRID, **params):
        items, cursor, pages = [], None, 0
        while True:
            response = await events.get(API, params={**params, **({"cursor": cursor} if cursor else {})}, headers=headers)
            assert response.status_code == 200, response.text
            page = response.json()
            items += [g["id"] for g in page["items"]]
            pages += 1
            cursor = page["next_cursor"]
            if not cursor:
                return items, pages

    everything, _ = await ids()
    assert len(everything) == 6  # not the one in 320412
    assert set(g["id"] for g in made) <= set(everything)
    paged, pages = await ids(limit=2)
    assert paged == everything and pages == 3
    assert len((await ids(headers=CITY_OFFICIAL))[0]) == 7
    assert len((await ids(headers=ADMIN))[0]) == 7
    assert len((await ids(headers=CITY_OFFICIAL, region_code="320412"))[0]) == 1
    assert (await ids(status="filed"))[0] == [everything[i] for i in range(6) if everything[i] not in {g["id"] for g in made}]
    day1 = (base + timedelta(days=1) + timedelta(hours=8)).date().isoformat()
    day3 = (base + timedelta(days=3) + timedelta(hours=8)).date().isoformat()
    assert (await ids(**{"from": day1, "to": day3}))[0] == [g["id"] for g in made[1:4]]
    assert (await ids(**{"from": iso(base + timedelta(days=4))}))[0] == [made[4]["id"]]
    # The resident sees what they filed and what names their phone as the organiser's.
    mine, _ = await ids(headers=owner)
    assert mine == [made[0]["id"], made[1]["id"], made[4]["id"]]

    async def code(params, headers=GRID):
        response = await events.get(API, params=params, headers=headers)
        return response.status_code, response.json().get("code")

    assert await code({"region_code": "320412"}) == (403, "region_forbidden")
    assert await code({"region_code": "32041"}) == (422, "region_code_invalid")
    assert await code({"cursor": "garbage"}) == (400, "invalid_cursor")
    assert await code({"from": "yesterday"}) == (422, "validation_error")
    assert await code({"from": "2022-01-01T10:00:00"}) == (422, "validation_error")  # no offset
    assert await code({"status": "done"}) == (422, "validation_error")
    assert await code({"limit": 501}) == (422, "validation_error")
    assert await code({}, headers=LAB) == (403, "forbidden")


async def test_thresholds_follow_the_policy_the_registry_publishes(events, nats_server):
    assert (await file(events, expected_attendees=35))["requirement"] == "none"
    document = policy.default().model_dump(mode="json")
    document["gatherings"]["approval_from"] = 30
    await publish(nats_server.url, registry.PolicyChanged(policy_version=2, document=document, changed_by="admin"))

    async def needs_plans():
        response = await events.post(API, json=body(expected_attendees=35), headers=GRID)
        return response.status_code == 422 and response.json()["code"] == "prevention_plan_required"

    await eventually(needs_plans)


async def test_a_venue_must_be_a_place_of_the_tree(events, nats_server):
    """Every shipped county is known from the start; a village is known once the registry announces it."""
    village = "320413100201"
    unknown = await events.post("/api/v1/gatherings", json=body(venue={"address": "东门村村委会", "region_code": village}), headers=GRID)
    assert unknown.status_code == 422 and unknown.json()["code"] == "region_unknown", unknown.text
    assert unknown.json()["errors"] == [{"field": "venue.region_code", "message": "unknown"}]
    nowhere = await events.post("/api/v1/gatherings", json=body(venue={"address": "x", "region_code": "329999"}), headers=GRID)
    assert nowhere.status_code == 422 and nowhere.json()["code"] == "region_unknown"

    places = [registry.Place(code="320413100", name="金城镇", level="township", parent="320413"),
              registry.Place(code=village, name="东门村", level="village", parent="320413100")]
    await publish(nats_server.url, registry.RegionChanged(places=places, by="official-jt"))

    async def filed():
        answer = await events.post("/api/v1/gatherings", json=body(venue={"address": "东门村村委会", "region_code": village}), headers=GRID)
        return answer if answer.status_code == 201 else None
    assert (await eventually(filed)).json()["venue"]["region_code"] == village
