"""Lab results per second through POST /results/batch (and samples per second through /samples/batch).

    .venv/bin/python -m bench.results_ingest [--tubes 3000] [--pool 10] [--batch 1000]

One run, everything started here and stopped here (see bench/README.md): a temporary PostgreSQL database,
a private nats-server (the relay publishes while the lab uploads, as in production), a private
CORDON_HOME, and the testing service as its own process (``python -m cordon serve testing``).

* samples: --tubes x --pool samples (valid ID numbers, pooled --pool to a tube) posted as NDJSON to
  POST /api/v1/samples/batch, --batch x --pool lines a request; samples/s;
* results: one result per tube (95 % negative, 5 % positive: each member pool_positive) posted as NDJSON
  to POST /api/v1/results/batch, --batch lines a request; tube results/s and person outcomes/s (each
  outcome is a sample update, a testing.result.recorded event in the outbox and a proof summary).
Then the relay's catch-up: the seconds until every outbox row is published.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402  the shared bench helpers
    ADMIN_URL,
    ServiceProcess,
    TempDatabase,
    id_number,  # noqa: E402
    keep_row,
    machine_info,
    machine_line,
    prepare_env,
    signed_token,
)


def bodies(lines: list[dict], per_request: int) -> list[bytes]:
    return [b"\n".join(orjson.dumps(x) for x in lines[i : i + per_request]) + b"\n" for i in range(0, len(lines), per_request)]


async def post_all(client, path: str, payloads: list[bytes], token: str) -> tuple[float, dict]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
    totals: dict = {"accepted": 0, "duplicates": 0, "rejected_total": 0}
    started = time.perf_counter()
    for payload in payloads:
        response = await client.post(path, content=payload, headers=headers)
        response.raise_for_status()
        answer = response.json()
        for key in ("accepted", "duplicates", "rejected_total"):
            totals[key] += answer[key]
        if answer["rejected"] and "first_rejected" not in totals:
            totals["first_rejected"] = answer["rejected"][0]
    return time.perf_counter() - started, totals


async def outbox_drained(url: str, timeout: float = 120) -> float:
    import asyncpg

    started = time.perf_counter()
    conn = await asyncpg.connect(url)
    try:
        while await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL"):
            if time.perf_counter() - started > timeout:
                return float("nan")
            await asyncio.sleep(0.2)
    finally:
        await conn.close()
    return time.perf_counter() - started


async def main(args) -> None:
    import httpx

    from cordon import migrate
    from cordon.natsserver import NatsServer

    tmp = Path(tempfile.mkdtemp(prefix="cordon-bench-results-"))
    env = prepare_env(tmp)
    database = TempDatabase(args.postgres_url)
    nats_server = NatsServer(store_dir=tmp / "nats").start()
    service = None
    rng = random.Random(20220301)
    collected = datetime.now(UTC) - timedelta(hours=3)
    samples = [
        {"barcode": f"B{i:09d}", "id_number": id_number(i), "collected_at": (collected + timedelta(seconds=i % 3600)).isoformat(),
         "site": "bench-site", "tube_id": f"T{i // args.pool:08d}"}
        for i in range(args.tubes * args.pool)
    ]
    tested = (collected + timedelta(hours=2)).isoformat()
    results = [
        {"tube_id": f"T{t:08d}", "result": "positive" if rng.random() < 0.05 else "negative", "tested_at": tested, "lab": "bench-lab"}
        for t in range(args.tubes)
    ]
    try:
        await database.create()
        info = machine_info(await database.server_version())
        await asyncio.to_thread(migrate.upgrade, "testing", database.url("postgresql+asyncpg"))
        env = {**env, "CORDON_TESTING_DATABASE_URL": database.url("postgresql+asyncpg"), "CORDON_NATS_URL": nats_server.url,
               "CORDON_LOG_LEVEL": "WARNING"}
        service = ServiceProcess("testing", env, tmp / "testing.log").start()
        await service.wait_ready()
        token = signed_token(Path(env["CORDON_HOME"]), "bench-lab", "lab", ["320000"], username="bench-lab")
        async with httpx.AsyncClient(base_url=service.base_url, timeout=300) as client:
            samples_s, samples_totals = await post_all(client, "/api/v1/samples/batch", bodies(samples, args.batch * args.pool), token)
            results_s, results_totals = await post_all(client, "/api/v1/results/batch", bodies(results, args.batch), token)
            again_s, again_totals = await post_all(client, "/api/v1/results/batch", bodies(results, args.batch), token)
        drained_s = await outbox_drained(database.url())
    finally:
        if service is not None:
            service.stop()
        nats_server.stop()
        await database.drop()
    people = len(samples)
    print(f"results ingest: {args.tubes:,} tubes of {args.pool} ({people:,} samples), {args.batch:,} tube results a request,"
          " NDJSON, one uvicorn worker, PostgreSQL, relay publishing to NATS meanwhile")
    rejected = samples_totals["rejected_total"] + results_totals["rejected_total"] + again_totals["rejected_total"]
    if rejected or samples_totals["accepted"] != people or results_totals["accepted"] != args.tubes:
        raise SystemExit(f"results ingest: lines rejected or not accepted, the figures do not stand: "
                         f"samples {samples_totals}, results {results_totals}, repeat {again_totals}")
    # Rates of what was accepted (equal to what was sent, as just checked).
    print(f"  samples  /samples/batch : {samples_totals['accepted'] / samples_s:9,.0f} samples/s   ({samples_totals})")
    print(f"  results  /results/batch : {results_totals['accepted'] / results_s:9,.0f} tube results/s = "
          f"{people / results_s:,.0f} person outcomes/s   ({results_totals})")
    print(f"  repeat of every result  : {args.tubes / again_s:9,.0f} tube results/s (all no-ops)   ({again_totals})")
    print(f"  relay: outbox empty {drained_s:.1f} s after the last answer")
    print(f"  {machine_line(info)}")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": info, "samples_s": samples_s, "results_s": results_s, "again_s": again_s}))
    if args.record:
        keep_row("bench/results_ingest.py", machine=info,
                 what=f"{args.tubes:,} pooled tubes of {args.pool} ({people:,} samples), NDJSON (PostgreSQL)",
                 cordon=f"{args.tubes / results_s:,.0f} tube results/s = {people / results_s:,.0f} person outcomes/s; "
                        f"samples {people / samples_s:,.0f}/s; a repeat of every result {args.tubes / again_s:,.0f}/s (no-ops)",
                 baseline="—", ratio="—")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tubes", type=int, default=3_000)
    parser.add_argument("--pool", type=int, default=10)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--postgres-url", default=os.environ.get("CORDON_BENCH_POSTGRES_URL", ADMIN_URL))
    parser.add_argument("--json")
    parser.add_argument("--record", action="store_true", help="keep the run's row for the README table (bench/results.json)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
