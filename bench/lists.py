"""Person lists at a million people: a county's red codes and everyone in it, first page and a deep cursor.

    .venv/bin/python -m bench.lists [--people 1000000] [--counties 13] [--requests 60] [--rounds 3] [--json PATH]

One run, everything started here and stopped here: a temporary PostgreSQL database (migrated with
``cordon.migrate.upgrade("registry", ...)``, dropped at the end), a private nats-server and CORDON_HOME, the
registry as its own process (``python -m cordon serve registry``).

* Setup (untimed): N people loaded with COPY into ``person`` and the health-code read model, as
  ``bench/health_code.py`` makes them (90 % green, 8 % yellow, 2 % red), spread evenly over C counties of
  Jiangsu (default 13, one a city: about 77,000 people and 1,500 red codes a county at a million).
* Cordon: ``GET /api/v1/persons?region_code=<county>&health_code=red`` and ``GET /api/v1/persons?region_code=<county>``
  by the county's official, one request at a time (a person at a desk, not a crowd): the first page (50
  people) and a deep page reached by following ``next_cursor`` (page 20 of the red list, page 200 of everyone,
  or the last one there is). R requests of each, after five warm-ups.
* Baseline, interleaved with the service in each round: the same page read straight from PostgreSQL with
  asyncpg (the statement the service's keyset page runs: the county's code range, the colour, ``id`` after
  the cursor, ``ORDER BY id LIMIT 51``): what the database alone costs.
* p50 / p95 / p99 per list and page, medians over the rounds (aim: p95 < 50 ms), and the load average the run
  started at. The exit status is 1 if a request failed or a page was short.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402  (after the path fix)
    ADMIN_URL,
    ServiceProcess,
    TempDatabase,
    in_private_home,
    machine_info,
    machine_line,
    progress,
    service_on_postgres,
    settle,
    signed_token,
)
from bench.health_code import CODE_COLUMNS, COUNTIES, PERSON_COLUMNS, code_rows  # noqa: E402

PAGE = 50
CHUNK = 50_000
DEEP = {"red": 20, "all": 200}  # the page a deep cursor reaches (or the last one there is)


def people_rows(start: int, n: int, counties: list[str], vault, now: datetime, rng: random.Random) -> list[tuple]:
    """Rows of ``person`` for people start..start+n, as register_person stores them (ID numbers and phones
    blind-indexed, masked; the ciphertexts are one placeholder: a list never decrypts)."""
    from bench.common import id_number
    from cordon import pii

    rows = []
    until = now.date().isoformat()
    for i in range(start, start + n):
        region = counties[i % len(counties)]
        number = id_number(i, region)
        phone = f"1{rng.choice('3456789')}{i:09d}"
        roll = rng.random()
        if roll < 0.02:
            color, reasons, case = "red", [{"rule": "case", "detail": "确诊或无症状感染者", "until": None}], True
        elif roll < 0.10:
            color, case = "yellow", False
            reasons = [{"rule": "medium_risk_travel", "detail": "居家健康监测（中风险地区旅居史）", "until": until}]
        else:
            color, reasons, case = "green", [], False
        rows.append((
            uuid.UUID(int=rng.getrandbits(128), version=4),
            vault.index("id_number", number), "bench", pii.mask_id_number(number), f"居民{i:07d}",
            vault.index("phone", phone), "bench", pii.mask_phone(phone),
            f"{region}001{1 + i % 200:03d}", None, "[]", None, "zh", case, now if case else None, None, None, None,
            color, json.dumps(reasons, ensure_ascii=False), now, now, now, "bench",
        ))
    return rows


async def load(db_url: str, people: int, counties: list[str], vault) -> None:
    import asyncpg

    now, rng = datetime.now(UTC), random.Random(20200123)
    conn = await asyncpg.connect(db_url, timeout=10)
    try:
        for start in range(0, people, CHUNK):
            rows = people_rows(start, min(CHUNK, people - start), counties, vault, now, rng)
            await conn.copy_records_to_table("person", records=rows, columns=PERSON_COLUMNS)
            await conn.copy_records_to_table("health_code", records=code_rows(rows), columns=CODE_COLUMNS)
            if start // CHUNK % 4 == 0:
                progress(f"  {start + len(rows):,} people loaded")
        await conn.execute("ANALYZE person")
        await conn.execute("ANALYZE health_code")
    finally:
        await conn.close()


def _county_range(county: str) -> tuple[str, str]:
    from cordon import regions

    prefix = regions.scope_prefix(county)
    return prefix, prefix + "9" * (regions.MAX_LENGTH - len(prefix))


class Lists:
    def __init__(self, service: ServiceProcess, db_url: str, token: str, county: str) -> None:
        self.service, self.db_url, self.token, self.county = service, db_url, token, county
        self.cursors: dict[str, str | None] = {}
        self.after: dict[str, str | None] = {}  # the id a deep page starts after (the baseline's cursor)

    def params(self, kind: str) -> dict:
        return {"region_code": self.county, **({"health_code": "red"} if kind == "red" else {})}

    async def prepare(self, client) -> dict[str, int]:
        """Follow next_cursor to the deep page of each list; the page reached."""
        reached = {}
        for kind, depth in DEEP.items():
            cursor, last_id, page = None, None, 1
            self.cursors[f"{kind}:first"], self.after[f"{kind}:first"] = None, None
            while page < depth:
                answer = await self.get(client, kind, cursor)
                if not answer["next_cursor"]:
                    break
                cursor, last_id, page = answer["next_cursor"], answer["items"][-1]["id"], page + 1
            self.cursors[f"{kind}:deep"], self.after[f"{kind}:deep"] = cursor, last_id
            reached[kind] = page
        return reached

    async def get(self, client, kind: str, cursor: str | None) -> dict:
        params = {**self.params(kind), **({"cursor": cursor} if cursor else {})}
        response = await client.get(f"{self.service.base_url}/api/v1/persons", params=params,
                                     headers={"Authorization": f"Bearer {self.token}"})
        if response.status_code != 200:
            raise RuntimeError(f"list answered {response.status_code}: {response.text[:300]}")
        return response.json()

    async def time_service(self, client, key: str, n: int) -> list[float]:
        kind = key.split(":")[0]
        times = []
        for i in range(n + 5):
            t0 = time.perf_counter()
            answer = await self.get(client, kind, self.cursors[key])
            elapsed = time.perf_counter() - t0
            if not answer["items"]:
                raise RuntimeError(f"{key}: an empty page")
            if i >= 5:
                times.append(elapsed)
        return times

    async def time_baseline(self, conn, key: str, n: int) -> list[float]:
        kind = key.split(":")[0]
        low, high = _county_range(self.county)
        after = uuid.UUID(self.after[key]) if self.after[key] else uuid.UUID(int=0)
        sql = ("SELECT * FROM person WHERE region_code BETWEEN $1 AND $2 AND id > $3"
               + (" AND health_color = 'red'" if kind == "red" else "") + f" ORDER BY id LIMIT {PAGE + 1}")
        times = []
        for i in range(n + 5):
            t0 = time.perf_counter()
            rows = await conn.fetch(sql, low, high, after)
            elapsed = time.perf_counter() - t0
            if not rows:
                raise RuntimeError(f"baseline {key}: no rows")
            if i >= 5:
                times.append(elapsed)
        return times


def quantiles(times: list[float]) -> dict:
    ordered = sorted(times)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return {"p50_ms": pick(0.50), "p95_ms": pick(0.95), "p99_ms": pick(0.99)}


async def run(args, tmp: Path, env: dict) -> dict:
    import asyncpg
    import httpx

    from cordon.pii import Vault
    from cordon.settings import Settings

    settings = Settings()
    vault = Vault.from_hex(settings.pii_index_key, settings.pii_encryption_key)
    database = TempDatabase(args.postgres_url)
    machine = machine_info(await database.server_version())
    counties = list(COUNTIES[:: max(1, len(COUNTIES) // args.counties)][: args.counties])
    county = counties[0]
    results: dict[str, list[dict]] = {}
    loaded: dict = {}

    async def load_model(url: str) -> None:
        progress(f"loading {args.people:,} people over {len(counties)} counties")
        t = time.perf_counter()
        await load(url, args.people, counties, vault)
        loaded["setup_s"] = time.perf_counter() - t
        await settle(url)

    async with service_on_postgres("registry", database, tmp, env, load=load_model,
                                   settings={"CORDON_TICKER_INTERVAL_S": "0"}) as service:
        setup_s = loaded["setup_s"]
        token = signed_token(tmp / "home", subject="bench-official", role="official", regions=[county], username="bench-official")
        lists = Lists(service, database.url(), token, county)
        conn = await asyncpg.connect(database.url())
        try:
            async with httpx.AsyncClient(timeout=30) as client:
                reached = await lists.prepare(client)
                progress(f"deep pages: {reached}")
                for round_ in range(args.rounds):
                    for key in ("red:first", "red:deep", "all:first", "all:deep"):
                        progress(f"round {round_ + 1}/{args.rounds}: {key}")
                        order = ("service", "baseline") if round_ % 2 == 0 else ("baseline", "service")
                        for who in order:
                            if who == "service":
                                times = await lists.time_service(client, key, args.requests)
                            else:
                                times = await lists.time_baseline(conn, key, args.requests)
                            results.setdefault(f"{who} {key}", []).append(quantiles(times))
        finally:
            await conn.close()
    summary = {name: {k: statistics.median(r[k] for r in runs) for k in ("p50_ms", "p95_ms", "p99_ms")}
               for name, runs in results.items()}
    return {"people": args.people, "counties": len(counties), "county": county, "requests": args.requests,
            "rounds": args.rounds, "deep_pages": reached, "setup_seconds": round(setup_s, 1), "machine": machine,
            "summary": summary}


def report(out: dict) -> str:
    lines = [
        f"Cordon person lists: {out['people']:,} people over {out['counties']} counties (county {out['county']}), "
        f"{out['requests']} requests of each page one at a time, {out['rounds']} interleaved rounds, medians",
        machine_line(out["machine"]),
        f"deep pages reached by following next_cursor: red list page {out['deep_pages']['red']}, "
        f"everyone page {out['deep_pages']['all']}",
        "",
        f"{'list and page':<52} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}",
    ]
    labels = {"red:first": "?region_code=<county>&health_code=red, first page",
              "red:deep": "?region_code=<county>&health_code=red, deep cursor",
              "all:first": "?region_code=<county>, first page", "all:deep": "?region_code=<county>, deep cursor"}
    for key, label in labels.items():
        for who in ("service", "baseline"):
            m = out["summary"][f"{who} {key}"]
            name = f"{'registry' if who == 'service' else 'asyncpg, same SQL'}: {label}"
            lines.append(f"{name:<52} {m['p50_ms']:>8.1f} {m['p95_ms']:>8.1f} {m['p99_ms']:>8.1f}")
    worst = max(out["summary"][f"service {k}"]["p95_ms"] for k in labels)
    lines += ["", f"worst registry p95: {worst:.1f} ms (aim < 50 ms)"]
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.lists", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--counties", type=int, default=13, help="counties the people live in (default 13)")
    parser.add_argument("--requests", type=int, default=60, help="requests of each page per round (default 60)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres-url", default=ADMIN_URL)
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--record", action="store_true", help="keep the run's row for the README table (bench/results.json)")
    args = parser.parse_args(argv)
    if args.people < 1000 or not 1 <= args.counties <= len(COUNTIES) or args.requests < 1 or args.rounds < 1:
        parser.error("--people >= 1000, --counties 1..78, --requests and --rounds >= 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        out = in_private_home(run, args)
    except RuntimeError as exc:
        print(f"lists: {exc}", file=sys.stderr)
        return 1
    print(report(out))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, default=str) + "\n")
    if args.record:
        record(out)
    return 0


def record(out: dict) -> None:
    from bench.common import keep_row

    m = out["summary"]
    pages = ("red:first", "red:deep", "all:first", "all:deep")
    worst = max(m[f"service {k}"]["p95_ms"] for k in pages)
    bare = max(m[f"baseline {k}"]["p95_ms"] for k in pages)
    keep_row("bench/lists.py", machine=out["machine"],
             what=f"`GET /persons?region_code=<county>&health_code=red` and everyone in the county, first page and a deep cursor, "
                  f"{out['people']:,} people (PostgreSQL)",
             cordon="p50/p95 ms: " + "; ".join(f"{k.replace(':', ' ')} {m[f'service {k}']['p50_ms']:.1f}/{m[f'service {k}']['p95_ms']:.1f}"
                                                for k in pages) + " (aim p95 < 50)",
             baseline=f"the same SQL through asyncpg: p95 ≤ {bare:.1f} ms",
             ratio=f"worst p95 {worst / bare:.1f}× the bare query's" if bare else "—")


if __name__ == "__main__":
    sys.exit(main())
