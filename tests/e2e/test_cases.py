"""Cases and release through the gateway, every service running (docs/api.md, Cases and release): a positive
becomes a confirmed case (red, rule ``case``; the five and the county's officials told), is discharged into the
``discharged_case`` chain with its tests, whose quarantine stays active past its end until the release negative
arrives, then completes the same minute; a lab correction withdraws a case; a hand-assigned secondary contact has
its test days; a rule the policy does not let an official assign is 422 rule_unknown."""

from __future__ import annotations

from datetime import timedelta

from cordon.clock import local_date, utcnow
from services.registry import clockwork
from tests.e2e.stack import ADMIN_PASSWORD, running_stack
from tests.e2e.test_story import county_staff, id_number, token
from tests.serving import eventually, settled

D = timedelta


async def test_positive_case_discharge_and_release_on_the_negative(databases, nats_server, home):
    async with running_stack(databases, nats_server.url, home) as cordon:
        gw = cordon.gateway
        admin = await token(gw, "admin", ADMIN_PASSWORD)
        official, grid, lab = await county_staff(gw, admin)
        assert (await gw.put("/api/v1/regions/320413/roster", json={"grid_worker": "grid-jt"}, headers=official)).status_code == 200
        person = (await gw.post("/api/v1/persons", json={"id_number": id_number(21), "name": "陈静", "phone": "13812340021",
                                                         "region_code": "320413"}, headers=grid)).json()
        pid, today = person["id"], local_date(utcnow())

        async def code():
            return (await gw.get(f"/api/v1/persons/{pid}/health-code", headers=official)).json()

        async def measures():
            return (await gw.get(f"/api/v1/persons/{pid}/measures", headers=official)).json()["items"]

        async def result(barcode, outcome, **extra):
            body = {"barcode": barcode, "result": outcome, "tested_at": utcnow().isoformat(), "lab": "金坛检测中心", **extra}
            assert (await gw.post("/api/v1/results", json=body, headers=lab)).status_code == 201

        async def sample(barcode, collected_at):
            body = {"barcode": barcode, "id_number": id_number(21), "collected_at": collected_at.isoformat(), "site": "金坛采样点"}
            assert (await gw.post("/api/v1/samples", json=body, headers=lab)).status_code == 201

        # No case yet: discharge is refused.
        refused = await gw.post(f"/api/v1/persons/{pid}/case/discharge", json={"discharged_on": today.isoformat()}, headers=official)
        assert refused.status_code == 409 and refused.json()["code"] == "no_case"

        # A single-tube positive: red at once.
        await sample("C-001", utcnow() - D(hours=2))
        await result("C-001", "positive")

        async def red_positive():
            body = await code()
            return body["color"] == "red" and [r["rule"] for r in body["reasons"]] == ["positive"]

        await eventually(red_positive, timeout=30)

        # The CDC review: a confirmed case; the code stays red with rule `case`.
        review = {"classification": "confirmed", "reviewed_at": utcnow().isoformat(), "hospital": "常州市第三人民医院"}
        case = await gw.post(f"/api/v1/persons/{pid}/case", json=review, headers=official)
        assert case.status_code == 201 and case.json()["status"] == "open" and case.json()["classification"] == "confirmed"
        body = await code()
        assert body["color"] == "red" and "case" in [r["rule"] for r in body["reasons"]]
        again = await gw.post(f"/api/v1/persons/{pid}/case", json=review, headers=official)
        assert again.status_code == 409 and again.json()["code"] == "case_exists"

        async def told(username, kind):
            items = (await gw.get("/api/v1/notifications", params={"recipient": username, "kind": kind}, headers=admin)).json()["items"]
            return items or None

        # The responsible grid worker (from the roster) and the county's official are told.
        assert await eventually(lambda: told("grid-jt", "case_confirmed"), timeout=30)
        assert "常州市第三人民医院" in (await eventually(lambda: told("official-jt", "case_confirmed"), timeout=30))[0]["body"]

        # Discharged 13 days ago: the 14-day quarantine of the discharged_case chain ends today, then 7 days of
        # home monitoring, with the release test on its last day and the monitoring's tests.
        out = today - D(13)
        discharged = await gw.post(f"/api/v1/persons/{pid}/case/discharge", json={"discharged_on": out.isoformat()}, headers=official)
        assert discharged.status_code == 200 and discharged.json()["status"] == "discharged"
        chain = [(m["rule"], m["kind"], m["starts_on"], m["ends_on"], m["test_days"]) for m in await measures()]
        assert chain == [
            ("discharged_case", "centralized_quarantine", out.isoformat(), today.isoformat(), [today.isoformat()]),
            ("discharged_case", "home_health_monitoring", (out + D(14)).isoformat(), (out + D(20)).isoformat(),
             [(out + D(15)).isoformat(), (out + D(20)).isoformat(), (out + D(27)).isoformat()]),
        ]
        body = await code()
        assert body["color"] == "red" and [r["rule"] for r in body["reasons"]] == ["discharged_case"]  # no longer a case
        assert await eventually(lambda: told("official-jt", "case_discharged"), timeout=30)

        # Tomorrow, without the release negative: the quarantine stays active, release blocked, the code stays red.
        cordon.registry.app.state.clock = lambda: utcnow() + D(days=1)
        await clockwork.tick(cordon.registry.app)
        quarantine = next(m for m in await measures() if m["kind"] == "centralized_quarantine")
        assert quarantine["status"] == "active" and quarantine["release_blocked"] == "negative_test_missing"
        assert (await code())["color"] == "red"
        await clockwork.tick(cordon.registry.app)  # ticking again tells nobody again
        await settled(nats_server.url, *cordon.services, timeout=60)
        assert len(await told("grid-jt", "release_blocked")) == 1

        # The release negative arrives: the quarantine completes the same minute (the result handler).
        await sample("C-002", utcnow() - D(hours=1))
        await result("C-002", "negative")

        async def completed():
            m = next(m for m in await measures() if m["kind"] == "centralized_quarantine")
            return m if m["status"] == "completed" else None

        done = await eventually(completed, timeout=30)
        assert done["release_blocked"] is None


async def test_correction_withdraws_a_case_and_hand_assigned_rules(databases, nats_server, home):
    async with running_stack(databases, nats_server.url, home) as cordon:
        gw = cordon.gateway
        admin = await token(gw, "admin", ADMIN_PASSWORD)
        for user in (
            {"username": "official-jt", "password": "official-password", "role": "official", "regions": ["320413"]},
            {"username": "lab-jt", "password": "lab-password-12", "role": "lab", "regions": []},
        ):
            assert (await gw.post("/api/v1/auth/users", json=user, headers=admin)).status_code == 201
        official, lab = await token(gw, "official-jt", "official-password"), await token(gw, "lab-jt", "lab-password-12")
        first = (await gw.post("/api/v1/persons", json={"id_number": id_number(31), "name": "周敏", "region_code": "320413"}, headers=official)).json()
        second = (await gw.post("/api/v1/persons", json={"id_number": id_number(32), "name": "吴刚", "region_code": "320413"}, headers=official)).json()
        today = local_date(utcnow())

        # A hand-assigned secondary contact serves the close-contact chain with its test days.
        exposed = today - D(2)
        assigned = await gw.post(f"/api/v1/persons/{second['id']}/measures", json={"rule": "secondary_contact", "exposure_date": exposed.isoformat()}, headers=official)
        assert assigned.status_code == 201
        items = sorted(assigned.json()["items"], key=lambda m: m["starts_on"])
        assert [(m["rule"], m["kind"], m["test_days"]) for m in items] == [
            ("secondary_contact", "centralized_quarantine", [(exposed + D(13)).isoformat()]),
            ("secondary_contact", "home_health_monitoring",
             [(exposed + D(15)).isoformat(), (exposed + D(20)).isoformat(), (exposed + D(27)).isoformat()]),
        ]
        for rule in ("inbound", "discharged_case", "no_such_rule"):
            refused = await gw.post(f"/api/v1/persons/{second['id']}/measures", json={"rule": rule, "exposure_date": exposed.isoformat()}, headers=official)
            assert refused.status_code == 422 and refused.json()["code"] == "rule_unknown", rule

        # A positive, a confirmed case; the lab corrects the positive: the case is withdrawn and the code green.
        collected = utcnow() - D(hours=3)
        body = {"barcode": "W-001", "id_number": id_number(31), "collected_at": collected.isoformat(), "site": "金坛采样点"}
        assert (await gw.post("/api/v1/samples", json=body, headers=lab)).status_code == 201
        positive = {"barcode": "W-001", "result": "positive", "tested_at": utcnow().isoformat(), "lab": "金坛检测中心"}
        assert (await gw.post("/api/v1/results", json=positive, headers=lab)).status_code == 201

        async def color(pid):
            return (await gw.get(f"/api/v1/persons/{pid}/health-code", headers=official)).json()["color"]

        async def is_red():
            return await color(first["id"]) == "red"

        await eventually(is_red, timeout=30)
        review = {"classification": "asymptomatic", "reviewed_at": utcnow().isoformat()}
        assert (await gw.post(f"/api/v1/persons/{first['id']}/case", json=review, headers=official)).status_code == 201
        correction = {**positive, "result": "negative", "correction": True, "reason": "样本污染，复核阴性", "tested_at": utcnow().isoformat()}
        assert (await gw.post("/api/v1/results", json=correction, headers=lab)).status_code == 201

        async def is_green():
            return await color(first["id"]) == "green"

        await eventually(is_green, timeout=30)
        refused = await gw.post(f"/api/v1/persons/{first['id']}/case/discharge", json={"discharged_on": today.isoformat()}, headers=official)
        assert refused.status_code == 409 and refused.json()["code"] == "no_case"

        async def withdrawn():
            items = (await gw.get("/api/v1/notifications", params={"recipient": "official-jt", "kind": "case_withdrawn"}, headers=admin)).json()["items"]
            return items or None

        assert await eventually(withdrawn, timeout=30)
        trail = (await gw.get("/api/v1/audit", params={"entity": "case"}, headers=admin)).json()["items"]
        assert sorted(t["action"] for t in trail) == ["confirm", "withdraw"]
