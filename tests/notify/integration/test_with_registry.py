"""The real registry and the real notify service on one nats-server: a high-risk traveller put under
control in a region with a roster makes each of its five staff hear, once, whom they answer for."""

from __future__ import annotations

from datetime import timedelta

import orjson

from cordon.clock import CHINA, utcnow
from services.notify.domain.templates import WORDS
from tests.notify.integration.conftest import notify_service, projected, publish, vault
from tests.notify.integration.people import REGION, user_created
from tests.registry.integration.people import register
from tests.serving import settled, start_service
from tests.tokens import bearer

ADMIN = bearer("admin", username="root")
OFFICIAL = bearer("official", regions=[REGION], username="o1")
PARTNER = bearer("partner", sub="partner-telecom")
ROSTER = {"township_cadre": "zhen-1", "village_cadre": "cun-1", "doctor": "doc-1", "police": "jing-1", "grid_worker": "grid-1"}


async def test_a_person_under_control_reaches_each_of_the_five_once(databases, nats_server, tmp_path):
    async with start_service("registry", databases, nats_server.url, ticker_interval_s=0) as registry, \
            notify_service(databases, nats_server.url, tmp_path / "home") as notify:
        v = vault(notify)
        users = [user_created(v, username, "grid_worker", [REGION]) for username in ROSTER.values()]
        await publish(nats_server.url, *users)
        await projected(notify, *users)

        put = await registry.put(f"/api/v1/regions/{REGION}/roster", json=ROSTER, headers=OFFICIAL)
        assert put.status_code == 200, put.text
        person = await register(registry, headers=OFFICIAL)
        # A high-risk traveller: a partner's record in 420106, which then turns high.
        left = (utcnow().astimezone(CHINA).date() - timedelta(days=2)).isoformat()
        record = {"record_id": "t-1", "phone": person["_phone"], "region_code": "420106", "first_seen": left, "last_seen": left}
        pushed = await registry.post("/api/v1/travel-records/batch", content=orjson.dumps(record) + b"\n",
                                     headers={**PARTNER, "content-type": "application/x-ndjson"})
        assert pushed.json()["accepted"] == 1
        marked = await registry.put("/api/v1/risk-areas/420106", json={"level": "high"}, headers=OFFICIAL)
        assert marked.json()["affected_people"] == 1

        async def notices(username: str) -> list[dict]:
            response = await notify.get("/api/v1/notifications", headers=ADMIN,
                                        params={"recipient": username, "kind": "staff_assigned"})
            assert response.status_code == 200, response.text
            return response.json()["items"]

        await settled(nats_server.url, registry, notify)
        for duty, username in ROSTER.items():
            [notice] = await notices(username)
            assert notice["channel"] == "inbox" and notice["count"] == 1 and notice["region_code"] == REGION
            assert "张*" in notice["body"] and person["name"] not in notice["body"]  # the name masked, as announced
            assert WORDS["duty"]["zh"][duty] in notice["body"]
