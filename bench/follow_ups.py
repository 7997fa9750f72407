"""Follow-up duties at scale: a region with N people under home monitoring (default 100,000).

    .venv/bin/python -m bench.follow_ups [--people N] [--postgres-url URL]

On a temporary PostgreSQL database (created and dropped here): opens the day's follow-up
slots, then, just after the morning slot has ended, marks every morning slot missed and
stages one alert per person through the outbox (the clockwork's own functions, timed). The
baseline, in the same run: one bare UPDATE of the same rows back and forth, no alerts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bench.common import keep_row, machine, machine_info

CN = ZoneInfo("Asia/Shanghai")


async def main(people: int, pg_url: str, record: bool = False) -> None:
    os.environ.setdefault("CORDON_HOME", tempfile.mkdtemp(prefix="cordon-bench-"))
    import asyncpg

    from cordon import db, migrate
    from cordon.bus.outbox import SOURCE
    from cordon.policy import default
    from services.registry.service import follow_up_duties

    name = f"cordon_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(pg_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = pg_url.replace("postgresql://", "postgresql+asyncpg://", 1).rsplit("/", 1)[0] + "/" + name
    try:
        await asyncio.to_thread(migrate.upgrade, "registry", url)
        raw = await asyncpg.connect(pg_url.rsplit("/", 1)[0] + "/" + name)
        day = date(2026, 11, 23)
        stamp = datetime(2026, 11, 23, 1, 0, tzinfo=CN)
        ids = [uuid.uuid4() for _ in range(people)]
        t = time.perf_counter()
        await raw.copy_records_to_table(
            "person",
            columns=["id", "id_number_index", "id_number_enc", "id_number_masked", "name", "region_code", "tags", "language",
                     "is_case", "health_color", "health_reasons", "health_updated_at", "created_at", "updated_at", "created_by"],
            records=[(i, i.hex * 2, "x", "3204**********0000", "居民", "320413", "[]", "zh", False, "yellow", "[]", stamp, stamp, stamp, "bench")
                     for i in ids],
        )
        await raw.copy_records_to_table(
            "measure",
            columns=["id", "person_id", "kind", "rule", "starts_on", "ends_on", "status", "test_days", "created_at", "updated_at"],
            records=[(uuid.uuid4(), i, "home_health_monitoring", "medium_risk_travel", day - timedelta(days=2),
                      day + timedelta(days=4), "active", "[]", stamp, stamp) for i in ids],
        )
        staff = '{"grid_worker": "grid-1", "village_cadre": "cun-1", "township_cadre": "z", "doctor": "d", "police": "p"}'
        await raw.copy_records_to_table(
            "responsible_staff", columns=["person_id", "staff", "roster_region", "assigned_at", "assigned_by"],
            records=[(i, staff, "320413", stamp, "bench") for i in ids],
        )
        await raw.execute("ANALYZE")
        setup = time.perf_counter() - t

        engine = db.create_engine(url)
        sessionmaker = db.create_sessionmaker(engine)
        sessionmaker.kw["info"] = {SOURCE: "cordon/registry"}
        policy = default()
        morning = datetime(2026, 11, 23, 8, 30, tzinfo=CN)
        after_morning = datetime(2026, 11, 23, 12, 1, tzinfo=CN)

        t = time.perf_counter()
        async with sessionmaker() as session:
            opened = await follow_up_duties.open_today(session=session, now=morning, policy=policy)
            await session.commit()
        open_s = time.perf_counter() - t

        t = time.perf_counter()
        missed = 0
        async with sessionmaker() as session:
            while n := await follow_up_duties.mark_missed(session=session, now=after_morning):
                missed += n
                await session.commit()
        missed_s = time.perf_counter() - t
        alerts = await raw.fetchval("SELECT count(*) FROM outbox WHERE nats_subject = 'registry.followup.missed'")

        # Baseline: the same rows flipped by one bare UPDATE, no alerts (and back, to compare like with like).
        t = time.perf_counter()
        await raw.execute("UPDATE follow_up_slot SET status = 'due' WHERE status = 'missed'")
        await raw.execute("UPDATE follow_up_slot SET status = 'missed' WHERE status = 'due' AND ends_at <= $1", after_morning)
        bare_s = (time.perf_counter() - t) / 2
        await engine.dispose()
        await raw.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()

    print(f"Follow-up duties: {people:,} people under home monitoring in one region")
    print(f"machine: {machine()}; PostgreSQL {admin._server_version.major}")
    print(f"setup (COPY of people, measures, staff): {setup:.1f} s")
    print(f"open the day's slots:      {opened:,} slots in {open_s:.2f} s ({opened / open_s:,.0f}/s)")
    print(f"mark one slot missed:      {missed:,} slots in {missed_s:.2f} s, {alerts:,} alerts staged ({alerts / missed_s:,.0f} alerts/s)")
    print(f"baseline bare UPDATE:      {missed:,} rows in {bare_s:.2f} s; ratio (service / bare) {missed_s / bare_s:.1f}x the time")
    if record and alerts == missed == people:
        keep_row("bench/follow_ups.py", machine=machine_info(f"{admin._server_version.major}"),
                 what=f"{people:,} people under home monitoring (PostgreSQL)",
                 cordon=f"open {opened:,} slots {open_s:.1f} s; mark one slot's {missed:,} missed and stage {alerts:,} alerts "
                        f"{missed_s:.1f} s ({alerts / missed_s:,.0f} alerts/s)",
                 baseline=f"one bare `UPDATE` of the same rows {bare_s:.1f} s", ratio=f"{missed_s / bare_s:.1f}× the time")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--postgres-url", default="postgresql://127.0.0.1:5432/test")
    parser.add_argument("--record", action="store_true", help="keep the run's row for the README table (bench/results.json)")
    args = parser.parse_args()
    asyncio.run(main(args.people, args.postgres_url, args.record))
