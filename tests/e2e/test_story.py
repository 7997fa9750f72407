"""The whole story, through the gateway, every service running on real NATS (docs/api.md):
users and a partner; a registered person; a travel push into an area that turns high; a red code
the person sees after an SMS login; a positive pooled tube of ten, a positive retest; a gathering
that becomes an exposure whose other attendees get measures and notifications; an unacknowledged
alert that escalates."""

from __future__ import annotations

import json
from datetime import timedelta

import orjson

from cordon import pii
from cordon.clock import local_date, utcnow
from tests.e2e.stack import ADMIN_PASSWORD, running_stack
from tests.serving import eventually, settled

D = timedelta


def id_number(serial: int, region: str = "320413") -> str:
    first17 = f"{region}19850101{serial:03d}"
    return first17 + pii.id_check_character(first17)


async def token(gateway, username: str, password: str) -> dict:
    async def attempt():
        response = await gateway.post("/api/v1/auth/token", data={"username": username, "password": password})
        return response if response.status_code == 200 else None

    body = (await eventually(attempt)).json()
    return {"Authorization": f"Bearer {body['access_token']}"}


COUNTY_STAFF = (
    {"username": "official-jt", "password": "official-password", "role": "official", "regions": ["320413"]},
    {"username": "grid-jt", "password": "grid-password-1", "role": "grid_worker", "regions": ["320413"]},
    {"username": "lab-jt", "password": "lab-password-12", "role": "lab", "regions": []},
)


async def county_staff(gw, admin: dict) -> tuple[dict, dict, dict]:
    """The county's official, grid worker and lab, created by the admin and signed in: their headers."""
    for user in COUNTY_STAFF:
        assert (await gw.post("/api/v1/auth/users", json=user, headers=admin)).status_code == 201
    official, grid, lab = [await token(gw, u["username"], u["password"]) for u in COUNTY_STAFF]
    return official, grid, lab


async def test_the_story(databases, nats_server, home):
    async with running_stack(databases, nats_server.url, home) as cordon:
        gw = cordon.gateway
        admin = await token(gw, "admin", ADMIN_PASSWORD)
        users = [
            {"username": "official-jt", "password": "official-password", "role": "official", "regions": ["320413"], "phone": "13900000001"},
            {"username": "official-cz", "password": "official-password", "role": "official", "regions": ["320400"], "phone": "13900000002"},
            {"username": "grid-jt", "password": "grid-password-1", "role": "grid_worker", "regions": ["320413"]},
            {"username": "lab-jt", "password": "lab-password-12", "role": "lab", "regions": []},
        ]
        for user in users:
            assert (await gw.post("/api/v1/auth/users", json=user, headers=admin)).status_code == 201
        partner_key = (await gw.post("/api/v1/auth/partners", json={"name": "运营商"}, headers=admin)).json()["api_key"]
        official, _city = await token(gw, "official-jt", "official-password"), await token(gw, "official-cz", "official-password")
        grid, lab = await token(gw, "grid-jt", "grid-password-1"), await token(gw, "lab-jt", "lab-password-12")

        # The grid worker registers the person, and nine neighbours who will share a pooled tube.
        phone = "13812345678"
        person = (await gw.post("/api/v1/persons", json={"id_number": id_number(1), "name": "张伟", "phone": phone, "region_code": "320413"}, headers=grid)).json()
        neighbours = []
        for n in range(2, 11):
            body = {"id_number": id_number(n), "name": f"邻居{n}", "phone": f"1370000{n:04d}", "region_code": "320413"}
            neighbours.append((await gw.post("/api/v1/persons", json=body, headers=grid)).json() | {"_id": body["id_number"], "_phone": body["phone"]})

        # The partner pushes a record in 420106, left three days ago; the official sets the area high.
        left = local_date(utcnow()) - D(3)
        line = {"record_id": "tel-1", "phone": phone, "region_code": "420106", "first_seen": (left - D(1)).isoformat(), "last_seen": left.isoformat()}
        pushed = await gw.post("/api/v1/travel-records/batch", content=orjson.dumps(line) + b"\n",
                               headers={"X-API-Key": partner_key, "content-type": "application/x-ndjson"})
        assert pushed.json()["accepted"] == 1
        assert (await gw.put("/api/v1/risk-areas/420106", json={"level": "high"}, headers=official)).status_code == 200
        measures = (await gw.get(f"/api/v1/persons/{person['id']}/measures", headers=official)).json()["items"]
        assert [(m["kind"], m["starts_on"], m["ends_on"]) for m in measures] == [
            ("centralized_quarantine", left.isoformat(), (left + D(13)).isoformat()),
            ("home_health_monitoring", (left + D(14)).isoformat(), (left + D(20)).isoformat()),
        ]
        code = (await gw.get(f"/api/v1/persons/{person['id']}/health-code", headers=official)).json()
        assert code["color"] == "red" and code["reasons"][0]["rule"] == "high_risk_travel"

        # The person logs in by SMS code (it reaches the sink through notify's sms channel) and sees it.
        assert (await gw.post("/api/v1/auth/sms-code", json={"phone": phone})).status_code == 202
        sms = await eventually(lambda: _latest_code(cordon.sms_sink(), phone), timeout=30)
        resident = (await gw.post("/api/v1/auth/resident-token", json={"phone": phone, "code": sms})).json()
        me = {"Authorization": f"Bearer {resident['access_token']}"}
        assert (await gw.get("/api/v1/me/health-code", headers=me)).json()["color"] == "red"

        # Before the result: the person attended a banquet of 6 tables with five others.
        now = utcnow()
        banquet = {
            "title": "寿宴", "kind": "banquet", "organizer": {"name": "李四", "phone": "13600000000"},
            "venue": {"address": "金坛区某村", "region_code": "320413"}, "starts_at": (now - D(hours=3)).isoformat(),
            "ends_at": (now + D(hours=3)).isoformat(), "expected_attendees": 40, "tables": 6,
        }
        gathering = (await gw.post("/api/v1/gatherings", json=banquet, headers=grid)).json()
        assert gathering["status"] == "filed" and gathering["requirement"] == "filing"
        await gw.post(f"/api/v1/gatherings/{gathering['id']}/check-ins", json={"phone": phone}, headers=grid)
        for other in neighbours[:5]:
            await gw.post(f"/api/v1/gatherings/{gathering['id']}/check-ins", json={"id_number": other["_id"]}, headers=grid)

        # The lab: a pooled tube of ten turns positive; ten people are pool-positive.
        collected = (utcnow() - D(minutes=30)).isoformat()
        everyone = [(id_number(1), person["id"])] + [(n["_id"], n["id"]) for n in neighbours]
        for i, (number, _) in enumerate(everyone):
            sample = {"barcode": f"B{i:03d}", "id_number": number, "collected_at": collected, "site": "金坛采样点", "tube_id": "T-0001"}
            assert (await gw.post("/api/v1/samples", json=sample, headers=lab)).status_code == 201
        result = {"tube_id": "T-0001", "result": "positive", "tested_at": utcnow().isoformat(), "lab": "金坛检测中心"}
        assert (await gw.post("/api/v1/results", json=result, headers=lab)).status_code == 201
        for _, pid in everyone:
            tests = (await gw.get(f"/api/v1/persons/{pid}/tests", headers=official)).json()["items"]
            assert tests[0]["status"] == "pool_positive"

        async def yellow(pid):
            return (await gw.get(f"/api/v1/persons/{pid}/health-code", headers=official)).json()["color"] == "yellow"

        for other in neighbours:
            await eventually(lambda: yellow(other["id"]))

        # A single-tube retest of the person is positive.
        retest = {"barcode": "R-001", "id_number": id_number(1), "collected_at": utcnow().isoformat(), "site": "金坛采样点"}
        assert (await gw.post("/api/v1/samples", json=retest, headers=lab)).status_code == 201
        positive = {"barcode": "R-001", "result": "positive", "tested_at": utcnow().isoformat(), "lab": "金坛检测中心"}
        assert (await gw.post("/api/v1/results", json=positive, headers=lab)).status_code == 201
        assert (await gw.get(f"/api/v1/persons/{person['id']}/tests", headers=official)).json()["items"][0]["status"] == "positive"

        # The banquet becomes an exposure; the other five get gathering_exposure and are told.
        async def exposed():
            return (await gw.get(f"/api/v1/gatherings/{gathering['id']}", headers=official)).json().get("exposure") is True

        await eventually(exposed, timeout=30)
        await settled(nats_server.url, *cordon.services, timeout=60)  # and all that follows from it, in every service
        for other in neighbours[:5]:
            items = (await gw.get(f"/api/v1/persons/{other['id']}/measures", headers=official)).json()["items"]
            assert [m["kind"] for m in items if m["rule"] == "gathering_exposure"] == ["centralized_quarantine", "home_health_monitoring"]
            params = {"recipient": other["id"], "channel": "inbox"}
            items = (await gw.get("/api/v1/notifications", params=params, headers=admin)).json()["items"]
            assert [n for n in items if "exposure" in n["kind"]]
        assert not [m for m in (await gw.get(f"/api/v1/persons/{person['id']}/measures", headers=official)).json()["items"]
                    if m["rule"] == "gathering_exposure"]

        # The positive alert reached the official of 320413; unacknowledged, it escalates to 320400.
        async def alerted(username, kind):
            items = (await gw.get("/api/v1/notifications", params={"recipient": username}, headers=admin)).json()["items"]
            return [n for n in items if n["kind"] == kind] or None

        assert await eventually(lambda: alerted("official-jt", "positive_alert"), timeout=30)
        assert not await alerted("official-cz", "alert_escalated")
        cordon.notify.app.state.clock = lambda: utcnow() + D(minutes=31)  # past the 30 minutes, unacknowledged
        assert await eventually(lambda: alerted("official-cz", "alert_escalated"), timeout=30)


def _latest_code(sink, phone):
    async def read():
        if not sink.exists():
            return None
        lines = [json.loads(line) for line in sink.read_text().splitlines() if line.strip()]
        bodies = [line["body"] for line in lines if line.get("to") == phone and line.get("kind") == "login_code"]
        if not bodies:
            return None
        import re

        found = re.findall(r"(?<!\d)(\d{6})(?!\d)", bodies[-1])
        return found[0] if found else None

    return read()
