"""(a) NATS stopped during 1,000 writes across the services, and started again: every downstream effect
happens exactly once, counted per kind (0 lost, 0 doubled).

The writes, one after the other through real HTTP: 300 registrations (registry); nats-server stopped; 400
samples and 200 lab results (testing), 100 of them for ID numbers nobody has registered yet; nats-server
started again (same port, same store); the last 100 registrations. So the registry hears of those 100
results before or after their person is registered (it keeps them until then), and testing records them
before it knows the person (it tells them again once it does): each reaches its person once.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import nats
import pytest

from cordon.clock import utcnow
from tests.registry.integration.people import GRID, id_number, phone
from tests.testing.integration.helpers import LAB

PEOPLE = 400
EARLY = 300  # registered before the outage; the rest after the results
STOP_AFTER, START_AFTER = EARLY, 900
# Results: the last 100 people (not registered yet when their result is recorded) and the first 100; even ones positive.
RESULTS = list(range(EARLY, PEOPLE)) + list(range(0, 100))


async def consumers_idle(url: str, timeout: float = 60.0) -> None:
    """Until every durable consumer of every stream has nothing pending and nothing unacknowledged."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        deadline = time.monotonic() + timeout
        while True:
            busy = [
                (c.stream_name, c.name, c.num_pending, c.num_ack_pending)
                for stream in await js.streams_info()
                for c in await js.consumers_info(stream.config.name)
                if c.num_pending or c.num_ack_pending
            ]
            if not busy:
                return
            assert time.monotonic() < deadline, busy
            await asyncio.sleep(0.1)
    finally:
        await nc.close()


@pytest.mark.slow
async def test_nats_outage_during_1000_writes_every_effect_exactly_once(cluster, nats_server):
    started = time.monotonic()
    fast = {"relay_max_backoff_s": 1}
    # The clockwork on: a result and a registration that commit at the same moment miss each other (each
    # transaction blind to the other), and its sweep applies the result it kept.
    registry = await cluster.start("registry", ticker_interval_s=1, **fast)
    testing = await cluster.start("testing", **fast)
    await cluster.start("notify", delivery_poll_s=0.1, **fast)

    numbers = [id_number() for _ in range(PEOPLE)]
    collected = (utcnow() - timedelta(hours=2)).isoformat()
    tested = (utcnow() - timedelta(hours=1)).isoformat()
    registrations = [("registry", "/api/v1/persons", GRID,
                      {"id_number": n, "name": "王五", "phone": phone(), "region_code": "320413"}) for n in numbers]
    writes = (
        registrations[:EARLY]
        + [("testing", "/api/v1/samples", LAB,
            {"barcode": f"F{i:05d}", "id_number": n, "collected_at": collected, "site": "金坛区采样点"}) for i, n in enumerate(numbers)]
        + [("testing", "/api/v1/results", LAB,
            {"barcode": f"F{i:05d}", "result": "positive" if i % 2 == 0 else "negative", "tested_at": tested, "lab": "常州检测中心"})
           for i in RESULTS]
        + registrations[EARLY:]
    )
    assert len(writes) == 1000
    async with registry.client() as to_registry, testing.client() as to_testing:
        clients = {"registry": to_registry, "testing": to_testing}
        for count, (service, path, headers, body) in enumerate(writes, 1):
            response = await clients[service].post(path, json=body, headers=headers)
            assert response.status_code == 201, (count, response.text)
            if count == STOP_AFTER:
                nats_server.stop()
                outage = time.monotonic()
            elif count == START_AFTER:
                nats_server.start()
                print(f"NATS down for writes {STOP_AFTER + 1}-{START_AFTER} ({time.monotonic() - outage:.1f}s)")

    positives = sum(1 for i in RESULTS if i % 2 == 0)
    expected = {
        ("testing", "people known", "SELECT count(*) FROM person_ref"): PEOPLE,
        ("testing", "samples linked", "SELECT count(*) FROM sample WHERE person_id IS NOT NULL"): PEOPLE,
        ("notify", "people known", "SELECT count(*) FROM person_ref"): PEOPLE,
        ("registry", "people red", "SELECT count(*) FROM person WHERE health_color = 'red'"): positives,
        ("notify", "results told", "SELECT count(*) FROM notification WHERE kind LIKE 'result_%' AND channel = 'inbox'"):
            len(RESULTS),
        ("notify", "people told a result",
         "SELECT count(DISTINCT recipient) FROM notification WHERE kind LIKE 'result_%' AND channel = 'inbox'"): len(RESULTS),
        ("notify", "red codes told",
         "SELECT count(*) FROM notification WHERE kind = 'healthcode_changed' AND channel = 'inbox'"): positives,
    }
    counts = {}
    for (service, what, sql), want in expected.items():
        # Each count only grows: wait until it reaches what is wanted (or passes it: a double), then it is read.
        counts[(service, what)] = await cluster.until(service, sql, lambda n, want=want: (n or 0) >= want, timeout=180)
    # Settled: nothing left to publish anywhere, nothing left to deliver to any consumer; then read once more.
    for service in cluster.services:
        await cluster.until(service, "SELECT count(*) FROM outbox WHERE sent_at IS NULL", lambda n: n == 0)
    await consumers_idle(nats_server.url)
    dead = {s: await cluster.query(s, "SELECT count(*) FROM dead_letter") for s in cluster.services}
    for (service, what, sql) in expected:
        counts[(service, what)] = await cluster.query(service, sql)
    print(f"effects after the outage ({time.monotonic() - started:.1f}s):")
    for (service, what), n in counts.items():
        print(f"  {service:<9} {what:<22} {n}")
    print(f"  dead letters {dead}")
    assert {key: counts[key[:2]] for key in expected} == expected
    assert set(dead.values()) == {0}
