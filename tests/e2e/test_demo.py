"""`cordon seed --demo`, run as an operator runs it (a process of its own, talking to the gateway): it enters
a county through the API, and run again it adds nothing twice."""

from __future__ import annotations

import asyncio
import sys

from tests.e2e.stack import ADMIN_PASSWORD, running_stack
from tests.e2e.test_story import token
from tests.serving import settled


async def seed(base_url: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cordon", "seed", "--demo", "--url", base_url, "--admin-password", ADMIN_PASSWORD,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 600)
    return process.returncode, out.decode()


async def people_in(gw, headers, region: str) -> list[dict]:
    found, cursor = [], None
    while True:
        page = (await gw.get("/api/v1/persons", params={"region_code": region, "limit": 500, **({"cursor": cursor} if cursor else {})},
                             headers=headers)).json()
        found += page["items"]
        if not (cursor := page["next_cursor"]):
            return found


async def test_seed_demo_enters_a_county_once(databases, nats_server, home):
    async with running_stack(databases, nats_server.url, home) as cordon:
        gw = cordon.gateway
        code, out = await seed(str(gw.base_url))
        assert code == 0, out
        assert "演示数据已录入" in out and "people 160" in out, out
        county = await token(gw, "qu-official", "demo-password-1")
        people = await people_in(gw, county, "320413")
        assert len(people) == 160
        assert {p["region_code"][:12] for p in people} == {"320413001001", "320413001002", "320413100201", "320413100202"}
        assert {p["health_code"]["color"] for p in people} == {"green", "yellow", "red"}
        village = await token(gw, "grid-320413100201", "demo-password-1")
        assert {p["region_code"][:12] for p in await people_in(gw, village, "320413100201")} == {"320413100201"}
        reports = (await gw.get("/api/v1/daily-reports", params={"region_code": "320413"}, headers=county)).json()["items"]
        assert sorted(r["status"] for r in reports) == ["missing", "submitted", "submitted", "submitted"]
        gatherings = (await gw.get("/api/v1/gatherings", headers=county)).json()["items"]
        assert len(gatherings) == 2

        await settled(nats_server.url, *cordon.services, timeout=60)
        code, out = await seed(str(gw.base_url))
        assert code == 0, out
        assert len(await people_in(gw, county, "320413")) == 160
        assert len((await gw.get("/api/v1/gatherings", headers=county)).json()["items"]) == 2
