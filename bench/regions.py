"""The place tree at national size: a village import against raw COPY, and a county-scoped person list.

    .venv/bin/python -m bench.regions [--places N] [--people N] [--villages N] [--requests N] [--json PATH] [--profile DIR]

One run, everything started here and stopped here (a temporary PostgreSQL database migrated with
``cordon.migrate.upgrade("registry", ...)`` and dropped at the end, a private nats-server and CORDON_HOME,
the registry as its own process, ``python -m cordon serve registry``):

* import: N places (default 600,000, the size of the national village list) as one CSV body
  (``code,name``: townships first, then their villages, under the shipped counties), streamed to
  POST /api/v1/regions/import with an admin token. Places/s from the request sent to its answer.
  Baseline: the same rows as the registry stores them (code, name, level, parent), asyncpg
  ``copy_records_to_table`` in batches of 5,000 (the import's chunk) into ``bench_copy``
  (``LIKE region INCLUDING ALL``). The ratio is printed (aim >= 0.3), with the registry's CPU seconds
  during the import; ``--profile DIR`` samples the registry with py-spy during the import.
* list: P people (default 1,000,000) loaded by COPY into one county (320413), spread over V villages
  (default 5,000); then GET /api/v1/persons?region_code=320413 (first page, 50 people) by the county's
  official, and GET /api/v1/persons by a village's grid worker (their own scope), R requests each, one at
  a time: p50 / p95 / p99 (aim: p95 < 50 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402  (after the path fix)
    ADMIN_URL,
    REPO,
    PySpy,
    ServiceProcess,
    TempDatabase,
    backend_cpu,
    cpu_seconds,
    in_private_home,
    keep_row,
    machine_info,
    machine_line,
    profile_json,
    profile_lines,
    progress,
    settle,
    signed_token,
    summarize_profile,
)

CHUNK = 5000
COUNTY = "320413"
DIVISIONS = REPO / "cordon" / "data" / "divisions.csv"


def make_places(n: int) -> list[tuple[str, str, str, str]]:
    """(code, name, level, parent): one township for every 120 places, then villages under them, townships first."""
    from cordon import regions

    with DIVISIONS.open(encoding="utf-8") as f:
        counties = [r["code"] for r in csv.DictReader(f) if regions.level(r["code"]) == "county"]
    townships = []
    for i in range(max(1, n // 120)):
        county, number = counties[i % len(counties)], 100 + i // len(counties)
        townships.append(f"{county}{number:03d}")
    rows = [(t, f"乡镇{t[-6:]}", "township", t[:6]) for t in townships]
    serial = 0
    while len(rows) < n:
        township = townships[serial % len(townships)]
        village = f"{township}{1 + serial // len(townships):03d}"
        rows.append((village, f"村{village[-9:]}", "village", township))
        serial += 1
    return rows


def csv_body(rows: list[tuple], lines_per_piece: int = 2000) -> tuple[list[bytes], int]:
    pieces = [b"code,name\n"]
    for start in range(0, len(rows), lines_per_piece):
        pieces.append("".join(f"{code},{name}\n" for code, name, _, _ in rows[start : start + lines_per_piece]).encode())
    return pieces, sum(len(p) for p in pieces)


async def import_places(service: ServiceProcess, pieces: list[bytes], token: str) -> tuple[float, dict]:
    import httpx

    async def body():
        for piece in pieces:
            yield piece

    headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/csv"}
    async with httpx.AsyncClient(timeout=httpx.Timeout(1800.0)) as client:
        t0 = time.perf_counter()
        response = await client.post(f"{service.base_url}/api/v1/regions/import", content=body(), headers=headers)
        seconds = time.perf_counter() - t0
    if response.status_code != 200:
        raise RuntimeError(f"import answered {response.status_code}: {response.text[:500]}")
    return seconds, response.json()


async def copy_baseline(db_url: str, rows: list[tuple]) -> float:
    import asyncpg

    conn = await asyncpg.connect(db_url, timeout=10)
    try:
        await conn.execute("CREATE TABLE bench_copy (LIKE region INCLUDING ALL)")
        t0 = time.perf_counter()
        for start in range(0, len(rows), CHUNK):
            async with conn.transaction():
                await conn.copy_records_to_table("bench_copy", records=rows[start : start + CHUNK], columns=("code", "name", "level", "parent"))
        return time.perf_counter() - t0
    finally:
        await conn.close()


async def load_people(db_url: str, people: int, villages: int, vault) -> list[str]:
    """``people`` persons in COUNTY, over ``villages`` village codes (loaded by COPY, as register_person stores them)."""
    from bench.health_code import load_people as copy_people
    from bench.health_code import make_people

    codes = [f"{COUNTY}{100 + v // 999:03d}{1 + v % 999:03d}" for v in range(villages)]
    rows = make_people(people, vault, datetime.now(UTC))
    rows = [row[:8] + (codes[i % villages],) + row[9:] for i, row in enumerate(rows)]
    await copy_people(db_url, rows)
    return codes


async def timed_gets(service: ServiceProcess, path: str, params: dict, token: str, n: int) -> list[float]:
    import httpx

    headers = {"Authorization": f"Bearer {token}"}
    times = []
    async with httpx.AsyncClient(timeout=30) as client:
        for i in range(n + 5):
            t0 = time.perf_counter()
            response = await client.get(f"{service.base_url}{path}", params=params, headers=headers)
            elapsed = time.perf_counter() - t0
            if response.status_code != 200 or len(response.json()["items"]) != 50:
                raise RuntimeError(f"list answered {response.status_code}: {response.text[:300]}")
            if i >= 5:  # five warm-up requests
                times.append(elapsed)
    return times


def quantiles(times: list[float]) -> dict:
    ordered = sorted(times)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return {"p50_ms": round(pick(0.50), 2), "p95_ms": round(pick(0.95), 2), "p99_ms": round(pick(0.99), 2),
            "mean_ms": round(statistics.fmean(times) * 1000, 2), "requests": len(times)}


async def run(args, tmp: Path, env: dict) -> dict:
    from cordon import migrate
    from cordon.natsserver import NatsServer
    from cordon.pii import Vault
    from cordon.settings import Settings

    settings = Settings()
    vault = Vault.from_hex(settings.pii_index_key, settings.pii_encryption_key)
    database = TempDatabase(args.postgres_url)
    machine = machine_info(await database.server_version())
    progress(f"generating {args.places:,} places")
    rows = make_places(args.places)
    pieces, body_bytes = csv_body(rows)
    nats = NatsServer(store_dir=tmp / "nats")
    service: ServiceProcess | None = None
    try:
        await database.create()
        await asyncio.to_thread(migrate.upgrade, "registry", database.url("postgresql+asyncpg"))
        nats.start()
        await nats.wait_jetstream()
        service_env = {**env, "CORDON_REGISTRY_DATABASE_URL": database.url("postgresql+asyncpg"), "CORDON_NATS_URL": nats.url,
                       "CORDON_LOG_LEVEL": "WARNING"}
        service = ServiceProcess("registry", service_env, tmp / "registry.log").start()
        await service.wait_ready()
        await settle(database.url())
        progress(f"importing {args.places:,} places ({body_bytes / 1e6:.1f} MB of CSV)")
        spy = None
        if args.profile:
            Path(args.profile).mkdir(parents=True, exist_ok=True)
            spy = PySpy(service.pid, Path(args.profile) / "regions_import.pyspy.txt")
            spy.start()
        cpu0, backends0 = cpu_seconds(service.pid), await backend_cpu(database.url(), database.name)
        import_s, answer = await import_places(service, pieces, signed_token(tmp / "home", subject="admin", role="admin", username="admin"))
        import_cpu, backends1 = cpu_seconds(service.pid) - cpu0, await backend_cpu(database.url(), database.name)
        backend_s = sum(cpu - backends0.get(pid, 0.0) for pid, cpu in backends1.items())
        profile = {}
        if spy:
            spy.stop()
            profile = summarize_profile(spy.out)
        service.stop()  # a quiet machine for the baseline
        await settle(database.url())
        progress("baseline COPY")
        copy_s = await copy_baseline(database.url(), rows)

        progress(f"loading {args.people:,} people in {args.villages:,} villages")
        villages = await load_people(database.url(), args.people, args.villages, vault)
        service = ServiceProcess("registry", service_env, tmp / "registry2.log").start()
        await service.wait_ready()
        progress(f"listing, {args.requests} requests each")
        official = signed_token(tmp / "home", subject="bench-official", role="official", regions=[COUNTY], username="bench-official")
        worker = signed_token(tmp / "home", subject="bench-grid", role="grid_worker", regions=[villages[0]], username="bench-grid")
        county_times = await timed_gets(service, "/api/v1/persons", {"region_code": COUNTY}, official, args.requests)
        village_times = await timed_gets(service, "/api/v1/persons", {}, worker, args.requests) if args.people >= 50 * args.villages else []
    finally:
        if service is not None:
            service.stop()
        nats.stop()
        await database.drop()
        progress("stopped and dropped")
    return {
        "places": args.places, "body_bytes": body_bytes, "machine": machine,
        "import_seconds": import_s, "import_cpu_s": import_cpu, "import_backend_cpu_s": backend_s, "profile": profile, "import_answer": {k: answer[k] for k in ("accepted", "duplicates", "rejected_total")},
        "copy_seconds": copy_s, "people": args.people, "villages": args.villages,
        "county_list": quantiles(county_times), "village_list": quantiles(village_times) if village_times else None,
    }


def report(out: dict) -> str:
    rate, copy_rate = out["places"] / out["import_seconds"], out["places"] / out["copy_seconds"]
    ratio = rate / copy_rate
    county = out["county_list"]
    lines = [
        f"Cordon place tree benchmark: {out['places']:,} places ({out['body_bytes'] / 1e6:.1f} MB of CSV); "
        f"{out['people']:,} people in {out['villages']:,} villages of {COUNTY}",
        machine_line(out["machine"]),
        "",
        f"{'run':<58} {'rows/s':>10} {'seconds':>8}",
        f"{'registry: POST /regions/import (CSV, one streamed request)':<58} {rate:>10,.0f} {out['import_seconds']:>8.2f}",
        f"{'baseline: asyncpg copy_records_to_table (same rows)':<58} {copy_rate:>10,.0f} {out['copy_seconds']:>8.2f}",
        f"ratio import / raw COPY: {ratio:.3f}  (aim >= 0.3: {'met' if ratio >= 0.3 else 'NOT met'})",
        f"CPU during the import: registry {out['import_cpu_s']:.2f} s ({out['import_cpu_s'] / out['places'] * 1e6:.1f} µs a place),"
        f" its PostgreSQL backends {out['import_backend_cpu_s']:.2f} s",
        f"import answer: {out['import_answer']}",
        "",
        f"GET /persons?region_code={COUNTY} (first page of 50), {county['requests']} requests one at a time: "
        f"p50 {county['p50_ms']} ms, p95 {county['p95_ms']} ms, p99 {county['p99_ms']} ms"
        f"  (aim p95 < 50 ms: {'met' if county['p95_ms'] < 50 else 'NOT met'})",
    ]
    if out["village_list"]:
        v = out["village_list"]
        lines.append(f"GET /persons by a village's grid worker: p50 {v['p50_ms']} ms, p95 {v['p95_ms']} ms, p99 {v['p99_ms']} ms")
    lines += profile_lines(out["profile"])
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.regions", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--places", type=int, default=600_000, help="places imported (default 600,000)")
    parser.add_argument("--people", type=int, default=1_000_000, help="people in the county (default 1,000,000)")
    parser.add_argument("--villages", type=int, default=5_000, help="villages they live in (default 5,000)")
    parser.add_argument("--requests", type=int, default=200, help="timed list requests of each kind (default 200)")
    parser.add_argument("--postgres-url", default=ADMIN_URL, help="admin database the temporary one is created from")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--profile", metavar="DIR", help="sample the registry with py-spy during the import into DIR")
    parser.add_argument("--record", action="store_true", help="keep the run's rows for the README table (bench/results.json)")
    args = parser.parse_args(argv)
    if min(args.places, args.people, args.villages, args.requests) < 1:
        parser.error("sizes must be positive")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    out = in_private_home(run, args)
    print(report(out))
    if args.json:
        Path(args.json).write_text(json.dumps({**out, "profile": profile_json(out["profile"])}, indent=2, default=str) + "\n")
    answer = out["import_answer"]
    ok = answer["accepted"] == out["places"] and answer["rejected_total"] == 0
    if ok and args.record and not args.profile:
        rate, copy_rate = out["places"] / out["import_seconds"], out["places"] / out["copy_seconds"]
        county, village = out["county_list"], out["village_list"]
        keep_row("bench/regions.py", machine=out["machine"],
                 what=f"{out['places']:,} places imported; {out['people']:,} people in {out['villages']:,} villages of one county (PostgreSQL)",
                 cordon=f"import {rate:,.0f} places/s; `GET /persons?region_code=<county>` first page p50 {county['p50_ms']} ms, "
                        f"p95 {county['p95_ms']} ms (aim < 50)" + (f"; a village's grid worker p95 {village['p95_ms']} ms" if village else ""),
                 baseline=f"raw COPY of the same rows {copy_rate:,.0f} rows/s", ratio=f"{rate / copy_rate:.2f} (aim 0.3)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
