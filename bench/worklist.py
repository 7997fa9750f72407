"""The grid worker's worklist: GET /me/worklist for a village of 2,000 people, among many villages.

    .venv/bin/python -m bench.worklist [--people 2000] [--villages 50] [--requests 400] [--postgres-url URL] [--record]

On a temporary PostgreSQL database (created and dropped here) the notify service's worklist holds, for
the grid worker's village and for each of ``--villages`` other villages of the same township with as many
people: two follow-ups of today per person (the morning one missed), a scheduled test due for one person
in three, open leads for one in twenty, three unacknowledged alerts, and the closed items of the two days
before (four per person, kept as tombstones). The service runs in its own process (``cordon serve
notify``, one uvicorn worker, with its NATS); requests go one at a time over one keep-alive connection,
so each figure is a latency, not a throughput.

Measured, in the same run: the first page (50 items) of the village's grid worker, every page of it (500
a page), and the township official's first page (all villages); the baselines are the same first page's
query sent bare to PostgreSQL (asyncpg, prepared) and the service's own ``/healthz`` (the HTTP floor).
The aim (issue 14): the village's first page p95 under 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import (
    ADMIN_URL,
    ServiceProcess,
    TempDatabase,
    keep_row,
    machine,
    machine_info,
    prepare_env,
    progress,
    signed_token,
)

TOWNSHIP = "320413100"
AIM_MS = 50.0


def village(i: int) -> str:
    return f"{TOWNSHIP}{201 + i:03d}"


async def load(url: str, vault, *, people: int, villages: int, now: datetime) -> dict[str, int]:
    """COPY the worklist of every village (the grid worker's is village 0) and the people's projection."""
    import asyncpg

    from cordon.clock import CHINA, local_date
    from services.notify.domain import work

    today = local_date(now)
    rng = random.Random(14)
    conn = await asyncpg.connect(url)
    counts = {"open": 0, "closed": 0}
    try:
        await conn.copy_records_to_table("place_ref", columns=["code", "name", "updated_at"], records=[
            (TOWNSHIP, "金城镇", now), *((village(v), f"第{v + 1}村", now) for v in range(villages + 1))])
        for v in range(villages + 1):
            region = village(v)
            persons, items = [], []
            for p in range(people):
                person_id, measure_id = uuid.uuid4(), uuid.uuid4()
                name = f"居民{v:02d}{p:04d}"
                persons.append((person_id, region, uuid.uuid4().hex, None, None, None, name[0] + "*" * (len(name) - 1),
                                vault.encrypt(name), "zh", now))
                for back in (2, 1, 0):
                    day = today - timedelta(days=back)
                    for slot, ends in (("morning", 12), ("evening", 20)):
                        item = work.follow_up(person_id=person_id, region_code=region, measure_id=measure_id, on=day, slot=slot,
                                              due_by=datetime.combine(day, datetime.min.time(), CHINA) + timedelta(hours=ends),
                                              missed=slot == "morning")
                        items.append(_row(item, open_=back == 0, at=now))
                if p % 3 == 0:
                    items.append(_row(work.test(schedule_id=uuid.uuid4(), person_id=person_id, region_code=region,
                                                measure_id=measure_id, due_on=today), open_=True, at=now))
                if p % 20 == 0:
                    lead_id = uuid.uuid4()
                    items.append(_row(work.lead(lead_id=lead_id, region_code=region, due_at=now + timedelta(hours=rng.randint(1, 24)),
                                                opened_at=now - timedelta(hours=1), who="139****0001"), open_=True, at=now))
            for _ in range(3):
                items.append(_row(work.alert(alert_id=uuid.uuid4(), region_code=region, person_id=persons[0][0],
                                             due_at=now + timedelta(minutes=30), created_at=now - timedelta(minutes=5),
                                             title="【紧急】金城镇发现核酸阳性"), open_=True, at=now))
            await conn.copy_records_to_table("person_ref", columns=[
                "person_id", "region_code", "id_number_index", "phone_index", "phone_masked", "phone_enc", "name_masked",
                "name_enc", "language", "updated_at"], records=persons)
            await conn.copy_records_to_table("work_item", columns=list(COLUMNS), records=items)
            for row in items:
                counts["open" if row[2] else "closed"] += 1
            if v % 10 == 0:
                progress(f"village {v + 1} of {villages + 1} loaded")
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return counts


COLUMNS = ("id", "kind", "open", "region_code", "person_id", "lead_id", "measure_id", "notification_id", "due_at", "shown_from",
           "shown_until", "overdue", "title", "updated_at")


def _row(item, *, open_: bool, at: datetime) -> tuple:
    return (item.id, item.kind, open_, item.region_code, item.person_id, item.lead_id, item.measure_id, None, item.due_at,
            item.shown_from, item.shown_until, item.overdue, item.title, at)


def summary(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"p50": statistics.median(ordered), "p95": pick(0.95), "p99": pick(0.99), "n": len(ordered)}


async def timed(call, n: int) -> list[float]:
    for _ in range(min(20, n)):  # warm-up: connections, prepared statements, caches
        await call()
    out = []
    for _ in range(n):
        started = time.perf_counter()
        await call()
        out.append((time.perf_counter() - started) * 1000)
    return out


async def main(args) -> None:
    import asyncpg
    import httpx

    from cordon import migrate, pii
    from cordon.natsserver import NatsServer
    from cordon.settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix="cordon-bench-worklist-"))
    env = prepare_env(tmp)
    database = TempDatabase(args.postgres_url)
    nats_server = NatsServer(store_dir=tmp / "nats").start()
    service = None
    figures: dict[str, dict] = {}
    errors = 0
    try:
        await database.create()
        info = machine_info(await database.server_version())
        await asyncio.to_thread(migrate.upgrade, "notify", database.url("postgresql+asyncpg"))
        settings = Settings()
        vault = pii.Vault.from_hex(settings.pii_index_key, settings.pii_encryption_key)
        now = datetime.now(UTC)
        started = time.perf_counter()
        counts = await load(database.url(), vault, people=args.people, villages=args.villages, now=now)
        setup_s = time.perf_counter() - started
        progress(f"loaded {counts['open']:,} open and {counts['closed']:,} closed items in {setup_s:.1f} s")
        env = {**env, "CORDON_NOTIFY_DATABASE_URL": database.url("postgresql+asyncpg"), "CORDON_NATS_URL": nats_server.url,
               "CORDON_LOG_LEVEL": "WARNING"}
        service = ServiceProcess("notify", env, tmp / "notify.log").start()
        await service.wait_ready()
        home = Path(env["CORDON_HOME"])
        grid = {"Authorization": "Bearer " + signed_token(home, "bench-grid", "grid_worker", [village(0)], username="bench-grid")}
        official = {"Authorization": "Bearer " + signed_token(home, "bench-zhen", "official", [TOWNSHIP], username="bench-zhen")}

        async with httpx.AsyncClient(base_url=service.base_url, timeout=30) as client:
            async def get(path, headers=None, **params):
                nonlocal errors
                response = await client.get(path, params=params, headers=headers)
                if response.status_code != 200:
                    errors += 1
                    raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
                return response.json()

            first = await get("/api/v1/me/worklist", grid, limit=50)
            listed, cursor, pages = len(first["items"]), first["next_cursor"], 1
            while cursor:
                page = await get("/api/v1/me/worklist", grid, limit=500, cursor=cursor)
                listed, cursor, pages = listed + len(page["items"]), page["next_cursor"], pages + 1
            expected = args.people * 2 + len(range(0, args.people, 3)) + len(range(0, args.people, 20)) + 3
            if listed != expected:
                raise SystemExit(f"worklist: the village lists {listed} items, {expected} expected: the figures do not stand")

            async def walk():
                cursor = None
                while True:
                    page = await get("/api/v1/me/worklist", grid, limit=500, **({"cursor": cursor} if cursor else {}))
                    if not (cursor := page["next_cursor"]):
                        return

            progress("timing the village's first page")
            figures["village: first page (50)"] = summary(await timed(lambda: get("/api/v1/me/worklist", grid, limit=50), args.requests))
            figures["village: every page (500 a page)"] = summary(await timed(walk, max(20, args.requests // 10)))
            figures["township official: first page (50)"] = summary(
                await timed(lambda: get("/api/v1/me/worklist", official, limit=50), max(50, args.requests // 4)))
            figures["baseline: /healthz (HTTP floor)"] = summary(await timed(lambda: client.get("/healthz"), args.requests))
            figures["baseline: /me/notifications (empty inbox)"] = summary(
                await timed(lambda: get("/api/v1/me/notifications", grid, limit=50), args.requests))

        conn = await asyncpg.connect(database.url())
        try:
            query = await conn.prepare(
                "SELECT * FROM work_item WHERE open AND region_code BETWEEN $1 AND $2 AND shown_from <= $3"
                " AND (shown_until IS NULL OR shown_until > $3) ORDER BY due_at, id LIMIT 51")
            high = village(0) + "9" * (15 - len(village(0)))
            figures["baseline: the first page's query, bare SQL"] = summary(
                await timed(lambda: query.fetch(village(0), high, datetime.now(UTC)), args.requests))
        finally:
            await conn.close()
    finally:
        if service is not None:
            service.stop()
        nats_server.stop()
        await database.drop()
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)

    village_p95 = figures["village: first page (50)"]["p95"]
    bare_p95 = figures["baseline: the first page's query, bare SQL"]["p95"]
    print(f"worklist: {args.villages + 1} villages of {args.people:,} people ({counts['open']:,} open items, "
          f"{counts['closed']:,} closed kept as tombstones) loaded in {setup_s:.1f} s; the village lists {listed:,} items "
          f"in {pages} pages of 500 after the first")
    print(f"  {'request':46} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for name, f in figures.items():
        print(f"  {name:46} {f['n']:5d} {f['p50']:8.2f} {f['p95']:8.2f} {f['p99']:8.2f}")
    print(f"  the village's first page: p95 {village_p95:.1f} ms (aim < {AIM_MS:.0f} ms: {'met' if village_p95 < AIM_MS else 'NOT met'}); "
          f"{village_p95 / bare_p95:.1f}x the bare query's p95")
    print(f"  {machine()}")
    if errors:
        raise SystemExit(f"worklist: {errors} requests failed, the figures do not stand")
    if args.record:
        keep_row("bench/worklist.py", machine=info,
                 what=f"`GET /me/worklist` of a village of {args.people:,} people among {args.villages + 1} (PostgreSQL)",
                 cordon=f"first page p95 {village_p95:.1f} ms (p50 {figures['village: first page (50)']['p50']:.1f}); "
                        f"every page p95 {figures['village: every page (500 a page)']['p95']:.0f} ms",
                 baseline=f"the same query bare p95 {bare_p95:.1f} ms; `/healthz` p95 "
                          f"{figures['baseline: /healthz (HTTP floor)']['p95']:.1f} ms",
                 ratio=f"{village_p95 / bare_p95:.1f}× the bare query")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=2000, help="people in each village (the grid worker's and the others)")
    parser.add_argument("--villages", type=int, default=50, help="other villages of the township, each as large")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--postgres-url", default=ADMIN_URL)
    parser.add_argument("--record", action="store_true", help="keep the run's row for the README table (bench/results.json)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
