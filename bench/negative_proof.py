"""Negative-proof checks per second (the question every gate asks) beside a bare uvicorn JSON endpoint.

    .venv/bin/python -m bench.negative_proof [--samples 1000000] [--people 100000] [--seconds 10]

One run, everything started here and stopped here (see bench/README.md):

* a temporary PostgreSQL database (from --postgres-url, migrated with ``cordon.migrate.upgrade("testing")``,
  dropped at the end), a private nats-server and a private CORDON_HOME;
* setup (untimed): --samples samples of --people registry people (``person_ref``) loaded with asyncpg
  COPY, and the per-person ``proof`` summary built from them with one INSERT ... SELECT (what the
  service keeps up to date on each result);
* the testing service as its own process (``python -m cordon serve testing``, one uvicorn worker);
* the ceiling: a bare uvicorn app answering a constant JSON document (same uvicorn, one worker);
* the load: a separate process (aiohttp, uvloop) keeping --concurrency requests in flight for --seconds
  after a warm-up, each ``GET /api/v1/persons/{random person}/negative-proof?within_hours=48`` with a
  staff token (the bare endpoint: ``GET /proof``). Requests/s, p50 and p99 latency, errors.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402  the shared bench helpers
    ADMIN_URL,
    REPO,
    ServiceProcess,
    TempDatabase,
    keep_row,
    machine_info,
    machine_line,
    prepare_env,
    signed_token,
)

BARE = "bare uvicorn JSON endpoint"
SERVICE = "testing: GET /persons/{id}/negative-proof"
ORDINARY = "ordinary route (fast path off)"
STATUSES = ("negative",) * 85 + ("pending",) * 10 + ("invalid",) * 3 + ("pool_positive",) * 2


# --- the bare ceiling ----------------------------------------------------------------------------


async def bare_app(scope, receive, send):
    """The least an HTTP JSON endpoint can cost on this stack: uvicorn + a constant body."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = b'{"valid":true,"collected_at":"2022-03-01T10:00:00Z","barcode":"B1","within_hours":48}'
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


# --- the load generator (its own process) --------------------------------------------------------


async def load(urls: list[str], token: str | None, concurrency: int, seconds: float, warmup: float) -> dict:
    import aiohttp

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + warmup + seconds
    measure_from = time.perf_counter() + warmup
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def worker(seed: int) -> None:
            nonlocal errors
            rng = random.Random(seed)
            while (start := time.perf_counter()) < stop_at:
                async with session.get(rng.choice(urls)) as response:
                    await response.read()
                    ok = response.status == 200
                if start >= measure_from:
                    latencies.append(time.perf_counter() - start)
                    errors += not ok

        await asyncio.gather(*(worker(i) for i in range(concurrency)))
    latencies.sort()
    n = len(latencies)
    return {
        "requests": n,
        "rps": (n - errors) / seconds,  # only successful answers count as throughput
        "p50_ms": latencies[n // 2] * 1000 if n else None,
        "p99_ms": latencies[min(n - 1, int(n * 0.99))] * 1000 if n else None,
        "errors": errors,
    }


def loadgen_main(args) -> None:
    import uvloop

    spec = json.loads(sys.stdin.read())
    result = uvloop.run(load(spec["urls"], spec.get("token"), args.concurrency, args.seconds, args.warmup))
    print(json.dumps(result))


def run_load(urls: list[str], token: str | None, args) -> dict:
    cmd = [sys.executable, "-m", "bench.negative_proof", "--loadgen", "--concurrency", str(args.concurrency),
           "--seconds", str(args.seconds), "--warmup", str(args.warmup)]
    done = subprocess.run(cmd, input=json.dumps({"urls": urls, "token": token}), capture_output=True, text=True,
                          cwd=REPO, timeout=args.seconds + args.warmup + 60)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- setup ---------------------------------------------------------------------------------------


async def load_data(url: str, people: int, samples: int) -> list[uuid.UUID]:
    """person_ref, sample (COPY) and proof (INSERT ... SELECT) as the service would hold them."""
    import asyncpg

    now = datetime.now(UTC)
    rng = random.Random(20220301)
    person_ids = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(people)]
    indexes = [hashlib.sha256(f"id_number:{i}".encode()).hexdigest() for i in range(people)]
    conn = await asyncpg.connect(url)
    try:
        await conn.copy_records_to_table(
            "person_ref",
            records=((pid, idx, "3204**********0001", None, "320413", now) for pid, idx in zip(person_ids, indexes)),
            columns=("person_id", "id_number_index", "id_number_masked", "phone_index", "region_code", "updated_at"),
        )

        def rows():
            for i in range(samples):
                person = i % people
                status = STATUSES[rng.randrange(len(STATUSES))]
                collected = now - timedelta(minutes=rng.randrange(10 * 24 * 60))
                tested = collected + timedelta(hours=6) if status != "pending" else None
                yield (uuid.UUID(int=rng.getrandbits(128), version=4), f"B{i:09d}", indexes[person], "3204**********0001",
                       person_ids[person], collected, "bench-site", f"T{i // 10:08d}", status, tested,
                       "bench-lab" if tested else None, None, now, "bench")

        await conn.copy_records_to_table(
            "sample", records=rows(),
            columns=("id", "barcode", "id_number_index", "id_number_masked", "person_id", "collected_at", "site", "tube_id",
                     "status", "tested_at", "lab", "retest_due_by", "created_at", "created_by"),
        )
        await conn.execute(
            """INSERT INTO proof (id_number_index, latest_negative_collected_at, latest_negative_barcode,
                                  latest_positive_collected_at, updated_at)
               SELECT id_number_index,
                      max(collected_at) FILTER (WHERE status = 'negative'),
                      (array_agg(barcode ORDER BY collected_at DESC) FILTER (WHERE status = 'negative'))[1],
                      max(collected_at) FILTER (WHERE status IN ('positive', 'pool_positive')),
                      now()
               FROM sample GROUP BY id_number_index"""
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return person_ids


async def main(args) -> None:
    from cordon import migrate
    from cordon.natsserver import NatsServer, free_port

    tmp = Path(tempfile.mkdtemp(prefix="cordon-bench-proof-"))
    env = prepare_env(tmp)
    database = TempDatabase(args.postgres_url)
    nats_server = NatsServer(store_dir=tmp / "nats").start()
    service = bare = ordinary = None
    figures: dict[str, list[dict]] = {}
    try:
        await database.create()
        info = machine_info(await database.server_version())
        await asyncio.to_thread(migrate.upgrade, "testing", database.url("postgresql+asyncpg"))
        started = time.perf_counter()
        person_ids = await load_data(database.url(), args.people, args.samples)
        setup_s = time.perf_counter() - started
        env = {**env, "CORDON_TESTING_DATABASE_URL": database.url("postgresql+asyncpg"), "CORDON_NATS_URL": nats_server.url,
               "CORDON_LOG_LEVEL": "WARNING"}
        service = ServiceProcess("testing", env, tmp / "testing.log").start()
        await service.wait_ready()
        port = free_port()
        bare = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "bench.negative_proof:bare_app", "--port", str(port), "--log-level", "warning",
             "--no-access-log"], cwd=REPO, env=env,
        )
        token = signed_token(Path(env["CORDON_HOME"]), "bench-gate", "official", ["320000"], username="bench-gate")
        sample_ids = random.Random(7).sample(person_ids, min(len(person_ids), 20000))
        urls = [f"{service.base_url}/api/v1/persons/{p}/negative-proof?within_hours=48" for p in sample_ids]
        check = await _get(urls[0], token)
        drives = [(BARE, [f"http://127.0.0.1:{port}/proof"], None), (SERVICE, urls, token)]
        if args.with_ordinary:
            ordinary = ServiceProcess("testing", {**env, "CORDON_HOT_READS": "false"}, tmp / "testing-ordinary.log").start()
            await ordinary.wait_ready()
            drives.append((ORDINARY, [u.replace(service.base_url, ordinary.base_url) for u in urls], token))
        time.sleep(0.5)
        for round_ in range(args.rounds):
            # Baseline and service interleaved, the order turned each round (the machine is shared).
            order = drives if round_ % 2 == 0 else list(reversed(drives))
            for name, targets, bearer in order:
                print(f"  round {round_ + 1}/{args.rounds}: {name}", file=sys.stderr, flush=True)
                figures.setdefault(name, []).append(run_load(targets, bearer, args))
    finally:
        if bare is not None:
            bare.terminate()
            bare.wait(10)
        for process in (service, ordinary):
            if process is not None:
                process.stop()
        nats_server.stop()
        await database.drop()
        shutil.rmtree(tmp, ignore_errors=True)
    base_per_round = [f["rps"] for f in figures[BARE]]
    print(f"negative proof: {args.samples:,} samples of {args.people:,} people loaded in {setup_s:.1f} s; "
          f"concurrency {args.concurrency}; {args.rounds} interleaved rounds of {args.seconds:g} s measured after "
          f"{args.warmup:g} s warm-up per server, one uvicorn worker each; medians over the rounds")
    print(f"  a sample answer: {check}")
    print(f"  {'endpoint':48} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'vs bare':>8}  req/s per round")
    ratios = {}
    for name, runs in figures.items():
        rps = statistics.median(f["rps"] for f in runs)
        ratios[name] = statistics.median(f["rps"] / b for f, b in zip(runs, base_per_round) if b)
        print(f"  {name:48} {rps:9,.0f} {statistics.median(f['p50_ms'] for f in runs):8.2f} "
              f"{statistics.median(f['p99_ms'] for f in runs):8.2f} {sum(f['errors'] for f in runs):7d} {ratios[name]:8.3f}"
              f"  {[round(f['rps']) for f in runs]}")
    print(f"  ratio service / bare endpoint (median of the rounds' ratios): {ratios[SERVICE]:.3f}")
    print(f"  {machine_line(info)}")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": info, "figures": figures, "ratios": ratios, "setup_s": setup_s}, indent=2))
    failed = {name: sum(f["errors"] for f in runs) for name, runs in figures.items() if any(f["errors"] for f in runs)}
    if failed:
        raise SystemExit(f"negative proof: requests failed, the figures do not stand: {failed}")
    if args.record:
        service = figures[SERVICE]
        keep_row("bench/negative_proof.py", machine=info,
                 what=f"`GET /persons/{{id}}/negative-proof?within_hours=48` over {args.samples:,} samples of {args.people:,} people, "
                      f"{args.concurrency} concurrent, {args.rounds} interleaved rounds (PostgreSQL)",
                 cordon=f"{statistics.median(f['rps'] for f in service):,.0f} req/s, p99 {statistics.median(f['p99_ms'] for f in service):.0f} ms",
                 baseline=f"bare uvicorn JSON endpoint {statistics.median(base_per_round):,.0f} req/s",
                 ratio=f"{ratios[SERVICE]:.2f} (target ≥ 0.6)")


async def _get(url: str, token: str) -> str:
    import httpx

    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(url, headers={"Authorization": f"Bearer {token}"})
    if response.status_code != 200:
        raise RuntimeError(f"{response.status_code} {response.text}")
    return response.text


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of every server (default 3)")
    parser.add_argument("--with-ordinary", action="store_true",
                        help="also a second testing process with the fast path off (the ordinary route)")
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--postgres-url", default=os.environ.get("CORDON_BENCH_POSTGRES_URL", ADMIN_URL))
    parser.add_argument("--json")
    parser.add_argument("--record", action="store_true", help="keep the run's row for the README table (bench/results.json)")
    parser.add_argument("--loadgen", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.loadgen:
        loadgen_main(arguments)
    else:
        asyncio.run(main(arguments))
