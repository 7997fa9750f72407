"""The command office's figures at a million people: GET /stats/overview and /stats/by-place.

    .venv/bin/python -m bench.stats [--people 1000000] [--counties 13] [--requests 60] [--rounds 3] [--json PATH] [--record]

One run, everything started here and stopped here: a temporary PostgreSQL database (migrated, dropped at
the end), a private nats-server and CORDON_HOME, the registry as its own process.

* Setup (untimed): the stats read model as the registry's consumers leave it for N people spread over C
  counties of Jiangsu, each county 20 townships of 20 villages (default: 5,200 villages, ~190 people each):
  ``stats_person`` (one row a person, 90 % green, 8 % yellow, 2 % red, 3 % with an overdue test),
  ``stats_measure`` (a measure in force for every yellow and red person), the counters ``stats_count``
  recounted from those rows in one ``INSERT ... SELECT ... GROUP BY``, positives per village and day for 14
  days, a roster and (for 80 %) a report of the day per village, and every township and village named.
* Cordon, one request at a time (a person at a desk): a county official's ``/stats/overview`` and
  ``/stats/by-place`` of the county, the city's official's overview and by-place of the city (its
  counties), and an admin's overview of the whole country. R requests of each, after five warm-ups.
* Baseline, interleaved with the service in each round: ``GET /healthz`` of the same registry process
  through the same client: a bare endpoint, what the HTTP stack alone costs.
* p50 / p95 / p99 per request, medians over the rounds (aim: p95 < 100 ms), and the load average the run
  started at. The exit status is 1 if a request failed or a figure was wrong (the county's people must
  equal the people loaded into it).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402  (after the path fix)
    ADMIN_URL,
    TempDatabase,
    in_private_home,
    keep_row,
    machine_info,
    machine_line,
    progress,
    service_on_postgres,
    settle,
    signed_token,
)
from bench.health_code import COUNTIES  # noqa: E402

CHUNK = 50_000
TOWNSHIPS, VILLAGES = 20, 20  # per county, per township
KINDS = ("centralized_quarantine", "home_quarantine", "home_health_monitoring", "daily_health_monitoring")
PERSON_COLUMNS = ("person_id", "region_code", "color", "overdue_since", "id_number_index", "region_at", "color_at", "overdue_at")
MEASURE_COLUMNS = ("measure_id", "person_id", "kind", "status", "at")


def villages_of(county: str) -> list[str]:
    return [f"{county}{100 + t:03d}{200 + v:03d}" for t in range(TOWNSHIPS) for v in range(VILLAGES)]


async def load(db_url: str, people: int, counties: list[str], today) -> dict[str, int]:
    """The read model for ``people`` people; how many live in each county."""
    import asyncpg

    rng, now = random.Random(20200123), datetime.now(UTC)
    villages = [v for county in counties for v in villages_of(county)]
    per_county: dict[str, int] = {}
    conn = await asyncpg.connect(db_url, timeout=10)
    try:
        known = {r["code"] for r in await conn.fetch("SELECT code FROM region")}  # the migrations' provinces, cities, counties
        await conn.copy_records_to_table("region", columns=("code", "name", "level", "parent"), records=[row for row in (
            *((c[:4] + "00", f"市{c[:4]}", "city", c[:2] + "0000") for c in sorted({c[:4] + "00" for c in counties})),
            *((c, f"县{c}", "county", c[:4] + "00") for c in counties),
            *((f"{c}{100 + t:03d}", f"第{t + 1}镇", "township", c) for c in counties for t in range(TOWNSHIPS)),
            *((v, f"第{int(v[-3:]) - 199}村", "village", v[:9]) for v in villages),
        ) if row[0] not in known])
        for start in range(0, people, CHUNK):
            persons, measures = [], []
            for i in range(start, min(people, start + CHUNK)):
                village = villages[i % len(villages)]
                per_county[village[:6]] = per_county.get(village[:6], 0) + 1
                roll = rng.random()
                color = "green" if roll < 0.90 else "yellow" if roll < 0.98 else "red"
                overdue = today - timedelta(days=1) if rng.random() < 0.03 else None
                person_id = uuid.UUID(int=rng.getrandbits(128))
                persons.append((person_id, village, color, overdue, None, now, now, now if overdue else None))
                if color != "green":
                    measures.append((uuid.UUID(int=rng.getrandbits(128)), person_id, rng.choice(KINDS), "active", now))
            await conn.copy_records_to_table("stats_person", records=persons, columns=PERSON_COLUMNS)
            await conn.copy_records_to_table("stats_measure", records=measures, columns=MEASURE_COLUMNS)
            if start // CHUNK % 4 == 0:
                progress(f"  {start + len(persons):,} people in the read model")
        # The counters, recounted from the rows (what the consumers keep them equal to).
        await conn.execute("""
            INSERT INTO stats_count (region_code, metric, value)
            SELECT region_code, metric, count(*) FROM (
                SELECT region_code, 'people' AS metric FROM stats_person
                UNION ALL SELECT region_code, 'color.' || color FROM stats_person
                UNION ALL SELECT region_code, 'tests_overdue' FROM stats_person WHERE overdue_since IS NOT NULL
                UNION ALL SELECT p.region_code, 'measure.' || m.kind FROM stats_measure m JOIN stats_person p USING (person_id)
                          WHERE m.status = 'active'
            ) AS contributions GROUP BY region_code, metric""")
        daily = [(v, today - timedelta(days=d), "positives", rng.randint(1, 3)) for v in villages for d in range(14)
                 if rng.random() < 0.05]
        daily += [(v, today, "follow_ups_missed", rng.randint(1, 4)) for v in villages if rng.random() < 0.2]
        await conn.copy_records_to_table("stats_daily", records=daily, columns=("region_code", "on", "metric", "value"))
        await conn.copy_records_to_table("roster", columns=("region_code", "staff", "updated_at", "updated_by"),
                                         records=[(v, '{"grid_worker": "g"}', now, "bench") for v in villages])
        await conn.copy_records_to_table(
            "daily_report", columns=("region_code", "report_on", "zero", "counts", "note", "late", "submitted_at", "submitted_by"),
            records=[(v, today, True, "{}", None, rng.random() < 0.1, now, "bench") for v in villages if rng.random() < 0.8])
        for table in ("stats_person", "stats_measure", "stats_count", "stats_daily", "roster", "daily_report", "region"):
            await conn.execute(f"ANALYZE {table}")
    finally:
        await conn.close()
    return per_county


def quantiles(times: list[float]) -> dict:
    ordered = sorted(times)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return {"p50_ms": pick(0.50), "p95_ms": pick(0.95), "p99_ms": pick(0.99)}


async def timed(client, url: str, params: dict, token: str | None, n: int, check) -> list[float]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    times = []
    for i in range(n + 5):
        t0 = time.perf_counter()
        response = await client.get(url, params=params, headers=headers)
        elapsed = time.perf_counter() - t0
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:300]}")
        check(response.json())
        if i >= 5:
            times.append(elapsed)
    return times


async def run(args, tmp: Path, env: dict) -> dict:
    import httpx

    from cordon.clock import local_date

    database = TempDatabase(args.postgres_url)
    machine = machine_info(await database.server_version())
    counties = list(COUNTIES[:: max(1, len(COUNTIES) // args.counties)][: args.counties])
    county, city = counties[0], counties[0][:4] + "00"
    today = local_date(datetime.now(UTC))
    results: dict[str, list[dict]] = {}
    loaded: dict = {}

    async def load_model(url: str) -> None:
        progress(f"loading the read model of {args.people:,} people over {len(counties)} counties")
        t = time.perf_counter()
        loaded["per_county"] = await load(url, args.people, counties, today)
        loaded["setup_s"] = time.perf_counter() - t
        await settle(url)

    async with service_on_postgres("registry", database, tmp, env, load=load_model,
                                   settings={"CORDON_TICKER_INTERVAL_S": "0"}) as service:
        per_county, setup_s = loaded["per_county"], loaded["setup_s"]
        home = tmp / "home"
        tokens = {
            "county": signed_token(home, subject="bench-county", role="official", regions=[county], username="bench-county"),
            "city": signed_token(home, subject="bench-city", role="official", regions=[city], username="bench-city"),
            "admin": signed_token(home, subject="bench-admin", role="admin", username="bench-admin"),
        }
        in_city = sum(n for c, n in per_county.items() if c.startswith(city[:4]))

        def people_are(expected: int):
            def check(body: dict) -> None:
                if body["people"] != expected:
                    raise RuntimeError(f"overview counted {body['people']} people, {expected} were loaded")
            return check

        def places_are(expected: int, children: int):
            def check(body: dict) -> None:
                if sum(i["people"] for i in body["children"]) != expected or len(body["children"]) != children:
                    raise RuntimeError(f"by-place: {len(body['children'])} places, {sum(i['people'] for i in body['children'])} people")
            return check

        base = service.base_url
        cases = {
            "overview county": (f"{base}/api/v1/stats/overview", {"region_code": county}, "county", people_are(per_county[county])),
            "by-place county": (f"{base}/api/v1/stats/by-place", {"region_code": county}, "county",
                                places_are(per_county[county], TOWNSHIPS)),
            "overview city": (f"{base}/api/v1/stats/overview", {"region_code": city}, "city", people_are(in_city)),
            "by-place city": (f"{base}/api/v1/stats/by-place", {"region_code": city}, "city",
                              places_are(in_city, sum(1 for c in per_county if c.startswith(city[:4])))),
            "overview country": (f"{base}/api/v1/stats/overview", {}, "admin", people_are(args.people)),
        }
        async with httpx.AsyncClient(timeout=30) as client:
            for round_ in range(args.rounds):
                for key, (url, params, who, check) in cases.items():
                    progress(f"round {round_ + 1}/{args.rounds}: {key}")
                    order = ("service", "baseline") if round_ % 2 == 0 else ("baseline", "service")
                    for side in order:
                        if side == "service":
                            times = await timed(client, url, params, tokens[who], args.requests, check)
                            results.setdefault(key, []).append(quantiles(times))
                        else:
                            times = await timed(client, f"{base}/healthz", {}, None, args.requests, lambda body: None)
                            results.setdefault("baseline /healthz", []).append(quantiles(times))
    summary = {name: {k: statistics.median(r[k] for r in runs) for k in ("p50_ms", "p95_ms", "p99_ms")}
               for name, runs in results.items()}
    return {"people": args.people, "counties": len(counties), "county": county, "city": city,
            "villages": len(counties) * TOWNSHIPS * VILLAGES, "requests": args.requests, "rounds": args.rounds,
            "setup_seconds": round(setup_s, 1), "machine": machine, "summary": summary}


def report(out: dict) -> str:
    lines = [
        f"Cordon stats: {out['people']:,} people over {out['counties']} counties and {out['villages']:,} villages "
        f"(county {out['county']}, city {out['city']}), {out['requests']} requests of each one at a time, "
        f"{out['rounds']} interleaved rounds, medians",
        machine_line(out["machine"]),
        "",
        f"{'request':<44} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}",
    ]
    for name, m in out["summary"].items():
        lines.append(f"{name:<44} {m['p50_ms']:>8.1f} {m['p95_ms']:>8.1f} {m['p99_ms']:>8.1f}")
    worst = max(m["p95_ms"] for name, m in out["summary"].items() if not name.startswith("baseline"))
    lines += ["", f"worst stats p95: {worst:.1f} ms (aim < 100 ms); bare /healthz p95 "
                  f"{out['summary']['baseline /healthz']['p95_ms']:.1f} ms"]
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.stats", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--counties", type=int, default=13, help="counties the people live in (default 13)")
    parser.add_argument("--requests", type=int, default=60, help="requests of each kind per round (default 60)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres-url", default=ADMIN_URL)
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--record", action="store_true", help="keep this run's row for the README table (bench/results.json)")
    args = parser.parse_args(argv)
    if args.people < 1000 or not 1 <= args.counties <= len(COUNTIES) or args.requests < 1 or args.rounds < 1:
        parser.error("--people >= 1000, --counties 1..78, --requests and --rounds >= 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        out = in_private_home(run, args)
    except RuntimeError as exc:
        print(f"stats: {exc}", file=sys.stderr)
        return 1
    print(report(out))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, default=str) + "\n")
    if args.record:
        worst = max(m["p95_ms"] for name, m in out["summary"].items() if not name.startswith("baseline"))
        base = out["summary"]["baseline /healthz"]["p95_ms"]
        keep_row("stats", what=f"`bench/stats.py`: `GET /stats/overview` and `/stats/by-place` at {out['people']:,} people "
                 f"({out['villages']:,} villages), one request at a time",
                 cordon=f"worst p95 {worst:.1f} ms (county, city, country)", baseline=f"`GET /healthz` p95 {base:.1f} ms",
                 ratio=f"{worst / base:.1f}× the time (aim p95 < 100 ms)", machine=out["machine"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
