"""(b) kill -9 of the registry at three points of a 50,000-line travel push (people matched, area high-risk),
then the partner's retry: every matched person is evaluated, once.

The registry's clockwork is off here: the retry alone must make the push whole (the clockwork's sweep of
pending records is tested in tests/registry/integration/test_pending_effects.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from datetime import timedelta

import httpx
import orjson
import pytest

from cordon.clock import local_date, utcnow
from tests.registry.integration.people import GRID, OFFICIAL, register
from tests.tokens import bearer

LINES = 50_000
MATCHED = 50  # people matched per push, spread evenly through its lines
POINTS = (10_000, 30_000, LINES)  # rows of the push committed when the registry is killed
AREA = "420106"


def body(partner: int, people: list[dict]) -> bytes:
    last = local_date(utcnow()) - timedelta(days=2)
    dates = {"first_seen": (last - timedelta(days=1)).isoformat(), "last_seen": last.isoformat(), "region_code": AREA}
    step = LINES // len(people)
    lines = []
    for n in range(LINES):
        matched = n % step == step // 2 and n // step < len(people)
        phone = people[n // step]["_phone"] if matched else f"139{partner}{n:07d}"
        lines.append(orjson.dumps({"record_id": f"r{partner}-{n}", "phone": phone, **dates}))
    return b"\n".join(lines) + b"\n"


@pytest.mark.slow
async def test_kill_9_mid_push_then_the_retry_evaluates_every_matched_person(cluster):
    started = time.monotonic()
    registry = await cluster.start("registry", ticker_interval_s=0)
    pushes = []
    async with registry.client() as api:
        assert (await api.put(f"/api/v1/risk-areas/{AREA}", json={"level": "high"}, headers=OFFICIAL)).status_code == 200
        for partner, point in enumerate(POINTS):
            people = await asyncio.gather(*(register(api, headers=GRID) for _ in range(MATCHED)))
            headers = {**bearer("partner", sub=f"partner-{partner}"), "content-type": "application/x-ndjson"}
            pushes.append((partner, point, people, headers, body(partner, people)))

    print(f"registered {MATCHED * len(POINTS)} people in {time.monotonic() - started:.1f}s")
    red = "SELECT count(*) FROM person WHERE health_color = 'red'"
    for partner, point, _, headers, content in pushes:
        async with registry.client() as api:
            push = asyncio.create_task(api.post("/api/v1/travel-records/batch", content=content, headers=headers))
            committed = await cluster.until(
                "registry", "SELECT count(*) FROM travel_record WHERE partner_id = :p", lambda n, point=point: n >= point,
                p=f"partner-{partner}", interval=0.01,
            )
            registry.kill()
            with contextlib.suppress(httpx.HTTPError):
                await push
        await registry.restart()
        print(f"push {partner}: killed with {committed} of {LINES} rows committed; "
              f"people red so far {await cluster.query('registry', red)} of {MATCHED * (partner + 1)}")

    async with registry.client() as api:
        for partner, _, _, headers, content in pushes:
            again = (await api.post("/api/v1/travel-records/batch", content=content, headers=headers)).json()
            assert again["accepted"] + again["duplicates"] == LINES and not again["rejected"]
            print(f"retry {partner}: accepted {again['accepted']}, duplicates {again['duplicates']}")

    everyone = [person["id"] for _, _, people, _, _ in pushes for person in people]
    reds = await cluster.query("registry", red)
    quarantines = await cluster.rows(
        "registry", "SELECT person_id, count(*) FROM measure WHERE kind = 'centralized_quarantine' GROUP BY person_id")
    pending = await cluster.query("registry", "SELECT count(*) FROM travel_record WHERE evaluated_at IS NULL")
    print(f"after the retries: {reds} of {len(everyone)} matched people red; "
          f"{len(quarantines)} with a centralized quarantine, at most {max((n for _, n in quarantines), default=0)} each; "
          f"{pending} records pending; registry killed {registry.kills} times; {time.monotonic() - started:.1f}s")
    assert reds == len(everyone) == MATCHED * len(POINTS)
    assert sorted(str(uuid.UUID(str(pid))) for pid, _ in quarantines) == sorted(everyone) and {n for _, n in quarantines} == {1}
    assert pending == 0
