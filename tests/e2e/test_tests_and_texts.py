"""Through the gateway, every service running on real NATS: a gathering attended between sampling and a
positive result is an exposure; an arrival found late has a test due today; a high_risk_post person is tested
every other day; and every message a resident gets is a sentence they understand (the texts asserted)."""

from __future__ import annotations

from datetime import timedelta

from cordon.clock import local_date, utcnow
from tests.e2e.stack import ADMIN_PASSWORD, running_stack
from tests.e2e.test_story import county_staff, id_number, token
from tests.serving import eventually, settled

D = timedelta


def zh(day) -> str:
    return f"{day.month}月{day.day}日"


async def test_tests_on_arrival_recurring_tests_exposure_until_the_result_and_the_texts(databases, nats_server, home):
    async with running_stack(databases, nats_server.url, home) as cordon:
        gw = cordon.gateway
        admin = await token(gw, "admin", ADMIN_PASSWORD)
        official, grid, lab = await county_staff(gw, admin)
        today = local_date(utcnow())

        async def register(serial: int, **fields) -> dict:
            body = {"id_number": id_number(serial), "name": f"居民{serial}", "phone": f"1380000{serial:04d}", "region_code": "320413",
                    **fields}
            response = await gw.post("/api/v1/persons", json=body, headers=grid)
            assert response.status_code == 201, response.text
            return response.json() | {"_id": body["id_number"]}

        async def notices(person: dict, kind: str) -> list[dict]:
            params = {"recipient": person["id"], "channel": "inbox", "kind": kind}
            return (await gw.get("/api/v1/notifications", params=params, headers=admin)).json()["items"]

        async def due(status: str = "due") -> list[dict]:
            return (await gw.get("/api/v1/test-schedules", params={"status": status, "limit": 500}, headers=official)).json()["items"]

        # An arrival found three days late (entry on day 1 of centralized quarantine), a high-risk post, and a
        # measure set by hand.
        entry = today - D(3)
        arrival = await register(101, tags=["inbound"], entry_date=entry.isoformat())
        worker = await register(102, tags=["high_risk_post"])
        by_hand = await register(103)
        body = {"kind": "home_quarantine", "starts_on": today.isoformat(), "days": 7, "reason": "密接的同住人员"}
        assert (await gw.post(f"/api/v1/persons/{by_hand['id']}/measures", json=body, headers=official)).status_code == 201
        await settled(nats_server.url, *cordon.services, timeout=60)

        # The arrival's first-day test is not lost: a test is due today; the worker's series starts today.
        todays = {(s["person_id"], s["tag"]) for s in await due()}
        assert (arrival["id"], None) in todays and (worker["id"], "high_risk_post") in todays
        measures = (await gw.get(f"/api/v1/persons/{arrival['id']}/measures", headers=official)).json()["items"]
        quarantine = next(m for m in measures if m["kind"] == "centralized_quarantine")
        assert quarantine["test_days"] == [today.isoformat(), (entry + D(13)).isoformat()]  # day 1's test, today

        # Each measure of the chain is its own notice, in words: no rule key, no nested quotes.
        chain = {n["title"]: n["body"] for n in await notices(arrival, "measure_assigned")}
        assert chain == {
            "管控措施：集中隔离": f"因入境人员“14+7+7”，您需自{zh(entry)}起集中隔离，至{zh(entry + D(13))}止。"
                                 f"请于{zh(today)}、{zh(entry + D(13))}进行核酸检测。",
            "管控措施：居家隔离": f"因入境人员“14+7+7”，您需自{zh(entry + D(14))}起居家隔离，至{zh(entry + D(20))}止。"
                                 f"请于{zh(entry + D(20))}进行核酸检测。",
            "管控措施：日常健康监测": f"因入境人员“14+7+7”，您需自{zh(entry + D(21))}起日常健康监测，至{zh(entry + D(27))}止。"
                                   f"请于{zh(entry + D(27))}进行核酸检测。",
        }
        [manual] = await notices(by_hand, "measure_assigned")
        assert manual["body"] == f"因防控工作需要，您需自{zh(today)}起居家隔离，至{zh(today + D(6))}止。"
        code = (await gw.get(f"/api/v1/persons/{by_hand['id']}/health-code", headers=official)).json()
        assert [(r["rule"], r["detail"]) for r in code["reasons"]] == [("manual", f"居家隔离至{zh(today + D(6))}")]
        code = (await gw.get(f"/api/v1/persons/{arrival['id']}/health-code", headers=official)).json()
        assert code["reasons"][0]["detail"] == f"入境人员“14+7+7”，集中隔离至{zh(entry + D(13))}"

        # The day's run: under quarantine sampled at the door, the worker sent to a sampling site.
        assert (await gw.post("/api/v1/test-schedules/run", headers=admin)).status_code == 200
        await settled(nats_server.url, *cordon.services, timeout=60)
        [at_door] = await notices(arrival, "test_due")
        assert at_door["body"] == f"您今天（{zh(today)}）需进行核酸检测。工作人员将上门采样，请在家等候，不要外出。"
        [at_site] = await notices(worker, "test_due")
        assert at_site["body"] == f"您今天（{zh(today)}）需进行核酸检测。请就近前往采样点，采样时请佩戴口罩、保持间距。"

        # Every other day: nothing new tomorrow (today's is overdue), the next the day after.
        cordon.testing.app.state.clock = lambda: utcnow() + D(days=1)
        assert [s for s in await due() if s["person_id"] == worker["id"]] == []
        assert [s["due_on"] for s in await due("overdue") if s["person_id"] == worker["id"]] == [today.isoformat()]
        cordon.testing.app.state.clock = lambda: utcnow() + D(days=2)
        await gw.post("/api/v1/test-schedules/run", headers=admin)
        assert [s["due_on"] for s in await due() if s["person_id"] == worker["id"]] == [(today + D(2)).isoformat()]
        cordon.testing.app.state.clock = utcnow

        # Sampled, then at a banquet, then the positive result: the banquet is an exposure.
        positive, guest = await register(104), await register(105)
        sample = {"barcode": "E-001", "id_number": positive["_id"], "collected_at": (utcnow() - D(hours=2)).isoformat(),
                  "site": "金坛采样点"}
        assert (await gw.post("/api/v1/samples", json=sample, headers=lab)).status_code == 201
        now = utcnow()
        banquet = {
            "title": "寿宴", "kind": "banquet", "organizer": {"name": "李四", "phone": "13600000000"},
            "venue": {"address": "金坛区某村", "region_code": "320413"}, "starts_at": (now - D(hours=1)).isoformat(),
            "ends_at": (now + D(hours=3)).isoformat(), "expected_attendees": 40, "tables": 6,
        }
        gathering = (await gw.post("/api/v1/gatherings", json=banquet, headers=grid)).json()
        for who in (positive, guest):
            checked = await gw.post(f"/api/v1/gatherings/{gathering['id']}/check-ins", json={"id_number": who["_id"]}, headers=grid)
            assert checked.status_code == 201
        result = {"barcode": "E-001", "result": "positive", "tested_at": utcnow().isoformat(), "lab": "金坛检测中心"}
        assert (await gw.post("/api/v1/results", json=result, headers=lab)).status_code == 201

        async def exposed():
            return (await gw.get(f"/api/v1/gatherings/{gathering['id']}", headers=official)).json().get("exposure") is True

        await eventually(exposed, timeout=30)
        await settled(nats_server.url, *cordon.services, timeout=60)
        items = (await gw.get(f"/api/v1/persons/{guest['id']}/measures", headers=official)).json()["items"]
        assert {m["rule"] for m in items} == {"gathering_exposure"}
        [told] = await notices(positive, "result_positive")
        assert (told["title"], told["body"]) == (
            "核酸检测结果异常",
            f"您于{zh(local_date(utcnow() - D(hours=2)))}采集的核酸样本（条码E-001）检测结果异常。请原地等待并配合工作人员，"
            "不要外出，工作人员将尽快与您联系。")

        # Whatever a resident was told reads as a sentence: no key, no 阳性 before the review, no nested quotes.
        for person in (arrival, worker, by_hand, positive, guest):
            params = {"recipient": person["id"], "channel": "inbox", "limit": 500}
            for notice in (await gw.get("/api/v1/notifications", params=params, headers=admin)).json()["items"]:
                text = notice["title"] + notice["body"]
                assert "manual" not in text and "阳性" not in text and "{" not in text, text
                assert "““" not in text and "””" not in text and text.count("“") == text.count("”"), text
                assert notice["body"].endswith(("。", "以上为最新一条）")), text  # a sentence, or a fold of them
