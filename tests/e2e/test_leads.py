"""Big-data leads through the gateway with every service running: a pushed phone nobody registered becomes one
lead in the village where the person is now (its grid worker sees it, the next village's does not);
registering the person closes it and starts the measures; an outcome closes another; lists with Chinese
headers import from XLSX and GBK CSV; an overdue lead alerts the county's officials once."""

from __future__ import annotations

from datetime import timedelta

import orjson

from cordon.clock import local_date, utcnow
from services.registry import clockwork
from tests.e2e.stack import ADMIN_PASSWORD, running_stack
from tests.e2e.test_story import id_number, token
from tests.registry.integration.test_leads import XLSX, xlsx
from tests.serving import eventually, settled

TOWNSHIP, VILLAGE, NEXT_VILLAGE = "320413100", "320413100201", "320413100202"


async def test_leads_from_push_to_registration_outcome_import_and_overdue(databases, nats_server, home):
    async with running_stack(databases, nats_server.url, home) as cordon:
        gw = cordon.gateway
        admin = await token(gw, "admin", ADMIN_PASSWORD)
        places = f"code,name\n{TOWNSHIP},金城镇\n{VILLAGE},东门村\n{NEXT_VILLAGE},西门村\n"
        assert (await gw.post("/api/v1/regions/import", content=places.encode(), headers={**admin, "content-type": "text/csv"})).status_code == 200
        users = [
            {"username": "cun-dm", "password": "village-password", "role": "grid_worker", "regions": [VILLAGE]},
            {"username": "cun-xm", "password": "village-password", "role": "grid_worker", "regions": [NEXT_VILLAGE]},
            {"username": "qu-jt", "password": "county-password", "role": "official", "regions": ["320413"]},
            {"username": "shi-cz", "password": "city-password", "role": "official", "regions": ["320400"]},
        ]
        for user in users:
            assert (await gw.post("/api/v1/auth/users", json=user, headers=admin)).status_code == 201
        here, nxt = await token(gw, "cun-dm", "village-password"), await token(gw, "cun-xm", "village-password")
        county = await token(gw, "qu-jt", "county-password")
        partner = (await gw.post("/api/v1/auth/partners", json={"name": "大数据局", "regions": [NEXT_VILLAGE]}, headers=admin)).json()
        assert (await gw.put("/api/v1/risk-areas/420106", json={"level": "high"}, headers=county)).status_code == 200

        today = local_date(utcnow())
        trip = {"region_code": "420106", "first_seen": (today - timedelta(days=3)).isoformat(),
                "last_seen": (today - timedelta(days=2)).isoformat()}
        stranger, leaver = "13700001111", "13700002222"
        lines = [{"record_id": "r1", "phone": stranger, "current_region_code": VILLAGE, **trip},
                 {"record_id": "r2", "phone": stranger, "current_region_code": VILLAGE, **trip, "region_code": "420106001"},
                 {"record_id": "r3", "phone": leaver, "current_region_code": VILLAGE, **trip},
                 {"record_id": "r4", "id_number": id_number(9), **trip}]  # no current place: the partner's village
        body = b"".join(orjson.dumps(line) + b"\n" for line in lines)
        pushed = await gw.post("/api/v1/travel-records/batch", content=body,
                               headers={"X-API-Key": partner["api_key"], "content-type": "application/x-ndjson"})
        assert pushed.status_code == 200 and pushed.json()["accepted"] == 4, pushed.text

        async def seen(headers, **params) -> list[dict]:
            response = await gw.get("/api/v1/leads", params=params, headers=headers)
            assert response.status_code == 200, response.text
            return response.json()["items"]

        mine = await seen(here)
        assert sorted(x["phone_masked"] for x in mine) == ["137****1111", "137****2222"]
        lead = next(x for x in mine if x["phone_masked"] == "137****1111")
        assert len(lead["reasons"]) == 2 and lead["region_code"] == VILLAGE and stranger not in str(mine)
        theirs = await seen(nxt)
        assert [x["region_code"] for x in theirs] == [NEXT_VILLAGE]
        assert (await gw.get(f"/api/v1/leads/{lead['id']}", headers=nxt)).status_code == 404

        # Found: the grid worker registers the person; the lead closes and the measures start.
        registered = await gw.post("/api/v1/persons", json={"id_number": id_number(1), "name": "归来", "phone": stranger,
                                                             "region_code": VILLAGE}, headers=here)
        assert registered.status_code == 201, registered.text
        person = registered.json()
        closed = (await gw.get(f"/api/v1/leads/{lead['id']}", headers=here)).json()
        assert (closed["status"], closed["outcome"], closed["person_id"]) == ("closed", "registered", person["id"])
        measures = (await gw.get(f"/api/v1/persons/{person['id']}/measures", headers=here)).json()["items"]
        assert {m["rule"] for m in measures} == {"high_risk_travel"} and len(measures) == 2

        # Another is closed with an outcome; a second outcome is refused.
        other = next(x for x in mine if x["phone_masked"] == "137****2222")
        url = f"/api/v1/leads/{other['id']}/outcome"
        done = await gw.post(url, json={"outcome": "left_area", "note": "已返回武汉"}, headers=here)
        assert done.status_code == 200 and done.json()["status"] == "closed", done.text
        again = await gw.post(url, json={"outcome": "not_found"}, headers=here)
        assert again.status_code == 409 and again.json()["code"] == "lead_closed"

        # Lists from elsewhere (协查函), with the headers real lists use.
        sheet = xlsx([["序号", "姓名", "身份证号", "手机号", "所在地", "原因"],
                      [1, "孙八", id_number(2), 13700003333, int(VILLAGE), "南京市协查"],
                      [2, "周九", id_number(3), None, NEXT_VILLAGE, "南京市协查"]])
        imported = await gw.post("/api/v1/leads/import", content=sheet, headers={**county, "content-type": XLSX})
        assert imported.status_code == 200 and imported.json()["accepted"] == 2, imported.text
        csv = f"姓名,身份证号,手机号,所在地,原因\n吴十,{id_number(4)},,{VILLAGE},武汉市协查\n".encode("gbk")
        gbk = await gw.post("/api/v1/leads/import", content=csv, headers={**county, "content-type": "text/csv"})
        assert gbk.status_code == 200 and gbk.json()["accepted"] == 1, gbk.text
        again = await gw.post("/api/v1/leads/import", content=csv, headers={**county, "content-type": "text/csv"})
        assert (again.json()["accepted"], again.json()["duplicates"]) == (0, 1)
        missing = await gw.post("/api/v1/leads/import", content="姓名,手机号\n张三,13700004444\n".encode(),
                                headers={**county, "content-type": "text/csv"})
        assert missing.status_code == 422 and missing.json()["code"] == "columns_missing"
        assert missing.json()["missing"] == ["region_code", "reason"]
        assert sorted(x["name"] for x in await seen(here, status="open")) == ["吴十", "孙八"]

        # Assignment: to a grid worker of the lead's village, not of the next one.
        sun = next(x for x in await seen(here, status="open") if x["name"] == "孙八")

        async def assigned():
            response = await gw.post(f"/api/v1/leads/{sun['id']}/assign", json={"username": "cun-dm"}, headers=county)
            return response if response.status_code == 200 else None

        assert (await eventually(assigned)).json()["assignee"] == "cun-dm"
        wrong = await gw.post(f"/api/v1/leads/{sun['id']}/assign", json={"username": "cun-xm"}, headers=county)
        assert wrong.status_code == 422 and wrong.json()["code"] == "assignee_out_of_region"

        # A day later the open leads are overdue: the county's officials are alerted, once each.
        later = utcnow() + timedelta(hours=24, minutes=5)
        await clockwork.overdue_leads(cordon.registry.app, later)
        await clockwork.overdue_leads(cordon.registry.app, later + timedelta(hours=1))
        open_now = await seen(county, status="open")
        assert len(open_now) == 4  # the partner's record, 孙八, 周九, 吴十

        async def alerts() -> list[dict]:
            response = await gw.get("/api/v1/notifications", params={"kind": "lead_overdue", "limit": 100}, headers=admin)
            return response.json()["items"]

        await eventually(lambda: _count(alerts, 4))
        await settled(nats_server.url, *cordon.services, timeout=60)
        told = await alerts()
        assert sorted(n["recipient"] for n in told) == ["qu-jt"] * 4 and {n["channel"] for n in told} == {"inbox"}
        assert all("逾期" in n["title"] for n in told)
        county_inbox = (await gw.get("/api/v1/notifications", params={"recipient": "shi-cz"}, headers=admin)).json()["items"]
        assert [n for n in county_inbox if n["kind"].startswith("lead_overdue")] == []  # the city only if nobody acknowledges


async def _count(read, n: int) -> bool:
    return len(await read()) >= n
