"""Places down to the grid, through the gateway with every service running: users at township and
village level, a village worker who sees their village and not the next, a township official who
sees all its villages (people, measures, gatherings), people living in villages, and a move to
another county that keeps the person's history."""

from __future__ import annotations

from services.registry import schemas
from tests.e2e.stack import ADMIN_PASSWORD, running_stack
from tests.e2e.test_story import id_number, token
from tests.serving import settled

TOWNSHIP, OTHER_TOWNSHIP = "320413100", "320413101"
VILLAGE, NEXT_VILLAGE, FAR_VILLAGE = "320413100201", "320413100202", "320413101201"


async def test_scoping_at_every_level(databases, nats_server, home):
    async with running_stack(databases, nats_server.url, home) as cordon:
        gw = cordon.gateway
        admin = await token(gw, "admin", ADMIN_PASSWORD)
        csv = f"code,name\n{TOWNSHIP},金城镇\n{VILLAGE},东门村\n{NEXT_VILLAGE},西门村\n{OTHER_TOWNSHIP},薛埠镇\n{FAR_VILLAGE},上阮村\n"
        imported = await gw.post("/api/v1/regions/import", content=csv.encode(), headers={**admin, "content-type": "text/csv"})
        assert imported.status_code == 200 and imported.json()["accepted"] == 5, imported.text
        assert (await gw.get(f"/api/v1/regions/{VILLAGE}", headers=admin)).json()["parent"] == TOWNSHIP

        users = [
            {"username": "cun-dm", "password": "village-password", "role": "grid_worker", "regions": [VILLAGE]},
            {"username": "zhen-jc", "password": "township-password", "role": "official", "regions": [TOWNSHIP]},
            {"username": "qu-jt", "password": "county-password", "role": "official", "regions": ["320413"]},
            {"username": "shi-cz", "password": "city-password", "role": "official", "regions": ["320400"]},
        ]
        for user in users:
            created = await gw.post("/api/v1/auth/users", json=user, headers=admin)
            assert created.status_code == 201, created.text
        bad = await gw.post("/api/v1/auth/users", json={**users[0], "username": "x-bad", "regions": ["3204131"]}, headers=admin)
        assert bad.status_code == 422
        village = await token(gw, "cun-dm", "village-password")
        township = await token(gw, "zhen-jc", "township-password")
        county = await token(gw, "qu-jt", "county-password")
        city = await token(gw, "shi-cz", "city-password")

        async def register(serial: int, region: str, headers) -> dict:
            body = {"id_number": id_number(serial), "name": f"居民{serial}", "phone": f"1370000{serial:04d}", "region_code": region}
            response = await gw.post("/api/v1/persons", json=body, headers=headers)
            assert response.status_code == 201, response.text
            return response.json()

        here = await register(1, VILLAGE, village)
        nxt = await register(2, NEXT_VILLAGE, county)
        far = await register(3, FAR_VILLAGE, county)
        unknown = await gw.post("/api/v1/persons", json={"id_number": id_number(4), "name": "无", "region_code": "320413100299"}, headers=county)
        assert unknown.status_code == 422 and unknown.json()["code"] == "region_unknown"
        not_mine = await gw.post("/api/v1/persons", json={"id_number": id_number(5), "name": "邻", "region_code": NEXT_VILLAGE}, headers=village)
        assert not_mine.status_code == 403

        async def listed(headers, **params) -> set[str]:
            """The people a list shows, a page of one at a time through the gateway: each page of the schema's shape,
            each item what reading that person answers (the list makes its bytes itself, the read through its model)."""
            seen, cursor = [], None
            while True:
                response = await gw.get("/api/v1/persons", params={**params, "limit": 1, **({"cursor": cursor} if cursor else {})},
                                        headers=headers)
                assert response.status_code == 200, response.text
                page = schemas.PersonPage.model_validate(response.json())
                for item in response.json()["items"]:
                    assert item == (await gw.get(f"/api/v1/persons/{item['id']}", headers=headers)).json()
                seen += [p.id for p in page.items]
                cursor = page.next_cursor
                if not cursor:
                    break
            assert len(seen) == len(set(seen))
            return {str(i) for i in seen}

        assert await listed(village) == {here["id"]}
        assert await listed(township) == {here["id"], nxt["id"]}
        assert await listed(township, region_code=NEXT_VILLAGE) == {nxt["id"]}
        assert await listed(county) == {here["id"], nxt["id"], far["id"]}
        assert await listed(county, region_code=TOWNSHIP) == {here["id"], nxt["id"]}
        assert (await gw.get("/api/v1/persons", params={"region_code": NEXT_VILLAGE}, headers=village)).status_code == 403
        assert (await gw.get(f"/api/v1/persons/{nxt['id']}", headers=village)).status_code == 404
        assert (await gw.get(f"/api/v1/persons/{far['id']}", headers=township)).status_code == 404

        # Measures (registry) follow the person's place.
        quarantine = {"kind": "home_quarantine", "starts_on": "2030-01-01", "days": 7, "reason": "排查"}
        for person in (here, nxt):
            assert (await gw.post(f"/api/v1/persons/{person['id']}/measures", json=quarantine, headers=township)).status_code == 201
        assert (await gw.get(f"/api/v1/persons/{here['id']}/measures", headers=village)).status_code == 200
        assert (await gw.get(f"/api/v1/persons/{nxt['id']}/measures", headers=village)).status_code == 404

        # Gatherings (events) at a village venue, once events has heard of the villages.
        await settled(nats_server.url, *cordon.services, timeout=60)
        def gathering(region: str) -> dict:
            return {"title": "村民会议", "kind": "meeting", "organizer": {"name": "赵", "phone": "13600001111"},
                    "venue": {"address": "村委会", "region_code": region}, "starts_at": "2030-01-01T09:00:00+08:00",
                    "ends_at": "2030-01-01T11:00:00+08:00", "expected_attendees": 20}

        mine = (await gw.post("/api/v1/gatherings", json=gathering(VILLAGE), headers=village)).json()
        theirs = (await gw.post("/api/v1/gatherings", json=gathering(NEXT_VILLAGE), headers=township)).json()
        seen = lambda r: {g["id"] for g in r.json()["items"]}  # noqa: E731
        assert seen(await gw.get("/api/v1/gatherings", headers=village)) == {mine["id"]}
        assert seen(await gw.get("/api/v1/gatherings", headers=township)) == {mine["id"], theirs["id"]}
        assert (await gw.get(f"/api/v1/gatherings/{theirs['id']}", headers=village)).status_code == 404

        # A person registered in the wrong county moves (转出/转入): an official who sees both does it.
        wrong = await register(6, "320412", city)
        refused = await gw.patch(f"/api/v1/persons/{wrong['id']}", json={"region_code": NEXT_VILLAGE}, headers=county)
        assert refused.status_code == 404  # the county official cannot see where the person is now
        moved = await gw.patch(f"/api/v1/persons/{wrong['id']}", json={"region_code": NEXT_VILLAGE}, headers=city)
        assert moved.status_code == 200 and moved.json()["region_code"] == NEXT_VILLAGE, moved.text
        assert wrong["id"] in await listed(township)
        assert (await gw.get(f"/api/v1/persons/{wrong['id']}", headers=village)).status_code == 404
        trail = (await gw.get("/api/v1/audit", params={"entity": "person", "entity_id": wrong["id"]}, headers=admin)).json()["items"]
        assert {"create", "move"} <= {t["action"] for t in trail}
