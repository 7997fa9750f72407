"""The grid worker's day, through the gateway with every service running: their inbox names people and
places (a folded notice keeps every person), and /me/worklist lists the day's follow-ups, tests and alerts
of their own village and not of the next one; doing the work takes it off the list; a stranger pushed by a
partner is a lead on the list of the village where they are, until an outcome closes it."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from cordon import pii
from cordon.clock import CHINA, local_date, utcnow
from services.registry import clockwork as registry_clockwork
from services.testing import clockwork as testing_clockwork
from tests.e2e.stack import ADMIN_PASSWORD, running_stack
from tests.e2e.test_story import id_number, token
from tests.serving import eventually, settled
from tests.tokens import bearer

TOWNSHIP, VILLAGE, NEXT_VILLAGE = "320413100", "320413100201", "320413100202"
SLOTS = 2  # the default policy's follow-up slots a day (morning, evening)


async def test_a_grid_workers_inbox_and_worklist(databases, nats_server, home):
    async with running_stack(databases, nats_server.url, home) as cordon:
        gw = cordon.gateway
        today = local_date(utcnow())
        nine = datetime.combine(today, time(9, 0), CHINA)  # inside the morning follow-up slot
        clock = {"now": nine}
        for service in (cordon.registry, cordon.testing, cordon.notify):
            service.app.state.clock = lambda: clock["now"]

        admin = await token(gw, "admin", ADMIN_PASSWORD)
        csv = f"code,name\n{TOWNSHIP},金城镇\n{VILLAGE},东门村\n{NEXT_VILLAGE},西门村\n"
        imported = await gw.post("/api/v1/regions/import", content=csv.encode(), headers={**admin, "content-type": "text/csv"})
        assert imported.status_code == 200 and imported.json()["accepted"] == 3, imported.text
        for user in (
            {"username": "g-dm", "password": "dongmen-password", "role": "grid_worker", "regions": [VILLAGE]},
            {"username": "g-xm", "password": "ximen-password", "role": "grid_worker", "regions": [NEXT_VILLAGE]},
            {"username": "zhen", "password": "township-password", "role": "official", "regions": [TOWNSHIP]},
        ):
            assert (await gw.post("/api/v1/auth/users", json=user, headers=admin)).status_code == 201
        dongmen = await token(gw, "g-dm", "dongmen-password")
        ximen = await token(gw, "g-xm", "ximen-password")
        township = await token(gw, "zhen", "township-password")
        await settled(nats_server.url, *cordon.services)  # notify knows the staff and the places' names

        people = {}
        for serial, (name, region) in enumerate((("王建国", VILLAGE), ("李秀英", VILLAGE), ("赵强", NEXT_VILLAGE)), start=1):
            body = {"id_number": id_number(serial), "name": name, "phone": f"1390000{serial:04d}", "region_code": region}
            response = await gw.post("/api/v1/persons", json=body, headers=township)
            assert response.status_code == 201, response.text
            people[name] = response.json()
        wang, li, zhao = people["王建国"], people["李秀英"], people["赵强"]
        # Close contacts exposed 15 days ago: home health monitoring since yesterday, a test due today (its day 2).
        exposure = (today - timedelta(days=15)).isoformat()
        for person in people.values():
            assigned = await gw.post(f"/api/v1/persons/{person['id']}/measures", json={"rule": "close_contact", "exposure_date": exposure},
                                     headers=township)
            assert assigned.status_code == 201, assigned.text
        await settled(nats_server.url, *cordon.services)
        await registry_clockwork.tick(cordon.registry.app)  # today's follow-up slots
        await testing_clockwork.announce(cordon.testing.app)  # today's tests
        await settled(nats_server.url, *cordon.services)

        # The inbox: the notices of people put under control in the village fold into one, which keeps both people,
        # named in full for their own grid worker, and the place by name.
        inbox = await gw.get("/api/v1/me/notifications", headers=dongmen)
        assert inbox.status_code == 200, inbox.text
        assigned = [n for n in inbox.json()["items"] if n["kind"] == "staff_measure_assigned"]
        assert len(assigned) == 1, inbox.json()
        notice = assigned[0]
        assert notice["count"] >= 2 and notice["person_id"] == wang["id"] and notice["region_code"] == VILLAGE
        assert notice["place"] == "金城镇东门村"
        assert "金城镇东门村" in notice["body"] and VILLAGE not in notice["body"]
        assert [(p["person_id"], p["name"], p["place"]) for p in notice["people"]] == [
            (wang["id"], "王建国", "金城镇东门村"), (li["id"], "李秀英", "金城镇东门村")]
        assert {i["recipient"] for i in inbox.json()["items"]} == {"g-dm"}
        next_inbox = (await gw.get("/api/v1/me/notifications", headers=ximen)).json()["items"]
        assert {p["person_id"] for n in next_inbox for p in n["people"]} == {zhao["id"]}
        assert all("金城镇西门村" in n["body"] for n in next_inbox)
        # Read by its owner only.
        assert (await gw.post(f"/api/v1/me/notifications/{notice['id']}/read", headers=ximen)).status_code == 404
        read = await gw.post(f"/api/v1/me/notifications/{notice['id']}/read", headers=dongmen)
        assert read.status_code == 200 and read.json()["status"] == "read" and len(read.json()["people"]) == 2
        # The person's own inbox holds what was sent to them, never the staff's notices about them.
        s = cordon.registry.app_settings
        resident = bearer("resident", home=home, person_id=wang["id"],
                          phone_index=pii.Vault.from_hex(s.pii_index_key, s.pii_encryption_key).index("phone", "13900000001"))
        mine = (await gw.get("/api/v1/me/notifications", headers=resident)).json()
        assert "items" in mine, mine
        assert mine["items"] and {n["recipient"] for n in mine["items"]} == {wang["id"]}

        async def worklist(headers, **params) -> list[dict]:
            items, cursor = [], None
            while True:
                response = await gw.get("/api/v1/me/worklist", params={**params, **({"cursor": cursor} if cursor else {})},
                                        headers=headers)
                assert response.status_code == 200, response.text
                items += response.json()["items"]
                if not (cursor := response.json()["next_cursor"]):
                    return items

        def summary(items) -> list[tuple[str, str, bool]]:
            return sorted((i["kind"], i["person_id"], i["overdue"]) for i in items)

        # The worklist: each person's two follow-ups and their test, in the caller's village only.
        here = await worklist(dongmen, limit=2)  # paged
        assert summary(here) == sorted([("follow_up", p["id"], False) for p in (wang, li) for _ in range(SLOTS)]
                                       + [("test", p["id"], False) for p in (wang, li)])
        assert [i["due_at"] for i in here] == sorted(i["due_at"] for i in here)
        morning = next(i for i in here if i["kind"] == "follow_up" and i["person_id"] == wang["id"])
        assert morning["title"] == "上午随访：王建国（金城镇东门村）" and morning["place"] == "金城镇东门村"
        assert summary(await worklist(ximen)) == sorted([("follow_up", zhao["id"], False)] * SLOTS + [("test", zhao["id"], False)])
        assert len(await worklist(township)) == 3 * (SLOTS + 1)
        assert (await gw.get("/api/v1/me/worklist", headers=resident)).status_code == 403

        # A follow-up done takes its slot off; a test taken takes the test off.
        measures = (await gw.get(f"/api/v1/persons/{wang['id']}/measures", headers=dongmen)).json()["items"]
        measure = next(m for m in measures if m["kind"] == "home_health_monitoring")
        done = await gw.post(f"/api/v1/measures/{measure['id']}/follow-ups", json={"temperature": 36.5, "symptoms": []}, headers=dongmen)
        assert done.status_code == 201, done.text
        lab = bearer("lab", home=home)
        sample = {"barcode": "WL-0001", "id_number": id_number(2), "collected_at": nine.isoformat(), "site": "东门村采样点"}
        assert (await gw.post("/api/v1/samples", json=sample, headers=lab)).status_code == 201
        await settled(nats_server.url, *cordon.services)
        assert summary(await worklist(dongmen)) == sorted(
            [("follow_up", wang["id"], False)] + [("follow_up", li["id"], False)] * SLOTS + [("test", wang["id"], False)])

        # Past noon the morning slot not done is missed: still today's work, overdue.
        clock["now"] = datetime.combine(today, time(12, 30), CHINA)
        await registry_clockwork.tick(cordon.registry.app)
        await settled(nats_server.url, *cordon.services)
        assert summary(await worklist(dongmen)) == sorted(
            [("follow_up", wang["id"], False), ("follow_up", li["id"], True), ("follow_up", li["id"], False),
             ("test", wang["id"], False)])

        # A positive in the village: an alert on the worklists of the village and the township until acknowledged.
        positive = {"barcode": "WL-0002", "id_number": id_number(1), "collected_at": clock["now"].isoformat(), "site": "东门村采样点"}
        assert (await gw.post("/api/v1/samples", json=positive, headers=lab)).status_code == 201
        result = {"barcode": "WL-0002", "result": "positive", "tested_at": clock["now"].isoformat(), "lab": "金坛区疾控"}
        assert (await gw.post("/api/v1/results", json=result, headers=lab)).status_code == 201
        await settled(nats_server.url, *cordon.services)
        alerts = [i for i in await worklist(dongmen) if i["kind"] == "alert"]
        assert len(alerts) == 1 and alerts[0]["person_id"] == wang["id"] and alerts[0]["notification_id"]
        assert alerts[0]["title"] == "【紧急】金城镇东门村发现核酸阳性：王建国（金城镇东门村）"
        assert [i["id"] for i in await worklist(township) if i["kind"] == "alert"] == [alerts[0]["id"]]
        assert not [i for i in await worklist(ximen) if i["kind"] == "alert"]
        told = await eventually(lambda: _alert_notice(gw, township))
        assert told["place"] == "金城镇东门村" and [p["person_id"] for p in told["people"]] == [wang["id"]]
        ack = await gw.post(f"/api/v1/notifications/{alerts[0]['notification_id']}/ack", headers=township)
        assert ack.status_code == 200, ack.text
        assert not [i for i in await worklist(dongmen) if i["kind"] == "alert"]

        # The positive sample took today's test too; tomorrow, today's follow-ups are gone from the list as well
        # (the registry's lists keep them), and the next village's test, not taken, is still there.
        clock["now"] = datetime.combine(today + timedelta(days=1), time(7, 0), CHINA)
        assert await worklist(dongmen) == []
        assert summary(await worklist(ximen)) == [("test", zhao["id"], False)]


async def _alert_notice(gw, headers) -> dict | None:
    items = (await gw.get("/api/v1/me/notifications", headers=headers)).json()["items"]
    return next((n for n in items if n["kind"] == "positive_alert"), None)


async def test_a_pushed_stranger_is_a_lead_on_the_worklist_of_the_village_where_they_are(databases, nats_server, home):
    import orjson

    async with running_stack(databases, nats_server.url, home) as cordon:
        gw = cordon.gateway
        admin = await token(gw, "admin", ADMIN_PASSWORD)
        csv = f"code,name\n{TOWNSHIP},金城镇\n{VILLAGE},东门村\n{NEXT_VILLAGE},西门村\n"
        assert (await gw.post("/api/v1/regions/import", content=csv.encode(), headers={**admin, "content-type": "text/csv"})).status_code == 200
        for user in ({"username": "g-dm", "password": "dongmen-password", "role": "grid_worker", "regions": [VILLAGE]},
                     {"username": "g-xm", "password": "ximen-password", "role": "grid_worker", "regions": [NEXT_VILLAGE]},
                     {"username": "qu-jt", "password": "county-password", "role": "official", "regions": ["320413"]}):
            created = await gw.post("/api/v1/auth/users", json=user, headers=admin)
            assert created.status_code == 201, created.text
        dongmen, ximen = await token(gw, "g-dm", "dongmen-password"), await token(gw, "g-xm", "ximen-password")
        county = await token(gw, "qu-jt", "county-password")
        partner = (await gw.post("/api/v1/auth/partners", json={"name": "大数据局"}, headers=admin)).json()
        assert (await gw.put("/api/v1/risk-areas/420106", json={"level": "high"}, headers=county)).status_code == 200
        today = local_date(utcnow())
        record = {"record_id": "w1", "phone": "13700001111", "current_region_code": VILLAGE, "region_code": "420106",
                  "first_seen": (today - timedelta(days=3)).isoformat(), "last_seen": (today - timedelta(days=2)).isoformat()}
        pushed = await gw.post("/api/v1/travel-records/batch", content=orjson.dumps(record) + b"\n",
                               headers={"X-API-Key": partner["api_key"], "content-type": "application/x-ndjson"})
        assert pushed.status_code == 200 and pushed.json()["accepted"] == 1, pushed.text
        await settled(nats_server.url, *cordon.services)

        (lead,) = (await gw.get("/api/v1/leads", headers=dongmen)).json()["items"]
        listed = (await gw.get("/api/v1/me/worklist", headers=dongmen)).json()["items"]
        assert [(i["kind"], i["id"], i["lead_id"], i["person_id"], i["overdue"]) for i in listed] == [
            ("lead", lead["id"], lead["id"], None, False)]
        assert listed[0]["title"] == "排查线索：137****1111（金城镇东门村）" and listed[0]["place"] == "金城镇东门村"
        assert datetime.fromisoformat(listed[0]["due_at"]) == datetime.fromisoformat(lead["due_at"])
        assert (await gw.get("/api/v1/me/worklist", headers=ximen)).json()["items"] == []

        closed = await gw.post(f"/api/v1/leads/{lead['id']}/outcome", json={"outcome": "not_found", "note": "查无此人"}, headers=dongmen)
        assert closed.status_code == 200, closed.text
        await settled(nats_server.url, *cordon.services)
        assert (await gw.get("/api/v1/me/worklist", headers=dongmen)).json()["items"] == []
