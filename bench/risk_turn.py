"""A risk area turning high with its travellers registered: every one's measures assigned and code red.

    .venv/bin/python -m bench.risk_turn [--travellers N] [--json PATH] [--record]

One run, everything started here and stopped here (a temporary PostgreSQL database migrated with
``cordon.migrate.upgrade("registry", ...)`` and dropped at the end, a private nats-server and CORDON_HOME,
the registry as its own process, ``python -m cordon serve registry``):

* N people (default 100,000), green, each with one travel record in 420106 that left 1-13 days ago,
  loaded by COPY (untimed; the records already matched and evaluated, as a push leaves them);
* Cordon: an official sets 420106 high (``PUT /api/v1/risk-areas/420106``). The registry evaluates every
  traveller of the area in that request's transaction, so the time is the request's: from sent to
  answered. Then the run checks that every traveller has measures and a red code (the aim: < 10 s);
* baseline: the same writes in bare SQL on the same database: the measures the service made copied into
  a table of the same shape (``INSERT ... SELECT``) and the travellers' person and read-model rows
  rewritten with their new colour (``UPDATE``), in one transaction. The ratio is baseline / Cordon.

The exit status is 1 when a traveller was left without measures or without a red code.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402  (after the path fix)
    ADMIN_URL,
    PySpy,
    TempDatabase,
    cpu_seconds,
    in_private_home,
    keep_row,
    machine_info,
    machine_line,
    profile_json,
    profile_lines,
    progress,
    run_vault,
    service_on_postgres,
    settle,
    signed_token,
    summarize_profile,
)

AREA = "420106"
HOME_COUNTY = "320413"


def green(rows: list[tuple]) -> list[tuple]:
    """People rows (bench.health_code.PERSON_COLUMNS) made green and in one county: nobody under control yet."""
    out = []
    for row in rows:
        row = list(row)
        row[8], row[13], row[14], row[18], row[19] = HOME_COUNTY, False, None, "green", "[]"
        out.append(tuple(row))
    return out


async def load_travel(db_url: str, people: list[tuple], now: datetime) -> None:
    import asyncpg

    from cordon.clock import local_date

    rng = random.Random(20200123)
    today = local_date(now)
    rows = []
    for i, person in enumerate(people):
        last = today - timedelta(days=1 + rng.randrange(13))
        rows.append(("partner-bench", f"turn-{i:07d}", person[5], None, AREA, last - timedelta(days=2), last, now, person[0], now))
    conn = await asyncpg.connect(db_url, timeout=10)
    try:
        await conn.copy_records_to_table("travel_record", records=rows, columns=(
            "partner_id", "record_id", "phone_index", "id_number_index", "region_code", "first_seen", "last_seen",
            "created_at", "person_id", "evaluated_at"))
        await conn.execute("ANALYZE travel_record")
    finally:
        await conn.close()


async def counts(db_url: str) -> tuple[int, int, int]:
    """(people with a measure, people red, read-model rows red)."""
    import asyncpg

    conn = await asyncpg.connect(db_url, timeout=10)
    try:
        return (await conn.fetchval("SELECT count(DISTINCT person_id) FROM measure"),
                await conn.fetchval("SELECT count(*) FROM person WHERE health_color = 'red'"),
                await conn.fetchval("SELECT count(*) FROM health_code WHERE color = 'red'"))
    finally:
        await conn.close()


async def bare_writes(db_url: str) -> tuple[float, int]:
    """Seconds for the same writes in bare SQL, in one transaction; the measures written."""
    import asyncpg

    conn = await asyncpg.connect(db_url, timeout=10)
    try:
        await conn.execute("CREATE TABLE bench_measure (LIKE measure INCLUDING ALL)")
        t0 = time.perf_counter()
        async with conn.transaction():
            written = await conn.execute("INSERT INTO bench_measure SELECT * FROM measure")
            await conn.execute("UPDATE person SET health_color = health_color, health_reasons = health_reasons,"
                               " health_updated_at = health_updated_at WHERE health_color = 'red'")
            await conn.execute("UPDATE health_code SET color = color, reasons = reasons, doc = doc WHERE color = 'red'")
        return time.perf_counter() - t0, int(written.split()[-1])
    finally:
        await conn.close()


async def run(args, tmp: Path, env: dict) -> dict:
    import httpx

    from bench.health_code import load_people, make_people

    database = TempDatabase(args.postgres_url)
    machine = machine_info(await database.server_version())
    now = datetime.now(UTC)
    progress(f"generating {args.travellers:,} travellers")
    people = green(make_people(args.travellers, run_vault(), now))

    async def load(url: str) -> None:
        await load_people(url, people)
        await load_travel(url, people, now)
        people.clear()

    async with service_on_postgres("registry", database, tmp, env, load=load) as service:
        await settle(database.url())
        token = signed_token(tmp / "home", "bench-official", "official", ["420000", HOME_COUNTY], username="bench-official")
        progress(f"setting {AREA} high")
        spy = None
        if args.profile:
            Path(args.profile).mkdir(parents=True, exist_ok=True)
            spy = PySpy(service.pid, Path(args.profile) / "risk_turn.pyspy.txt")
            spy.start()
        cpu0 = cpu_seconds(service.pid)
        async with httpx.AsyncClient(timeout=httpx.Timeout(900.0)) as client:
            t0 = time.perf_counter()
            answer = await client.put(f"{service.base_url}/api/v1/risk-areas/{AREA}", json={"level": "high"},
                                      headers={"Authorization": f"Bearer {token}"})
            turn_s = time.perf_counter() - t0
        service_cpu = cpu_seconds(service.pid) - cpu0
        profile = {}
        if spy:
            spy.stop()
            profile = summarize_profile(spy.out)
        if answer.status_code != 200:
            raise RuntimeError(f"PUT answered {answer.status_code}: {answer.text[:300]}")
        measured, red, red_codes = await counts(database.url())
        progress(f"turned in {turn_s:.1f}s: {measured:,} under control, {red:,} red")
        service.stop()
        await settle(database.url())
        progress("baseline: the same writes in bare SQL")
        bare_s, measures = await bare_writes(database.url())
    return {"travellers": args.travellers, "machine": machine, "turn_seconds": turn_s, "service_cpu_s": service_cpu,
            "measured": measured, "red": red, "red_codes": red_codes, "measures": measures, "bare_seconds": bare_s,
            "profile": profile}


def correct(out: dict) -> bool:
    return out["measured"] == out["red"] == out["red_codes"] == out["travellers"]


def report(out: dict) -> str:
    n = out["travellers"]
    return "\n".join([
        f"Cordon risk-area turn benchmark: {AREA} set high with {n:,} registered travellers in it (PostgreSQL)",
        machine_line(out["machine"]),
        "",
        f"registry: PUT /risk-areas/{AREA} answered in {out['turn_seconds']:.2f} s ({n / out['turn_seconds']:,.0f} people/s; "
        f"service CPU {out['service_cpu_s']:.1f} s)  (aim < 10 s: {'met' if out['turn_seconds'] < 10 else 'NOT met'})",
        f"  then: {out['measured']:,} people under control ({out['measures']:,} measures), {out['red']:,} red, "
        f"{out['red_codes']:,} red in the read model" + ("" if correct(out) else "  [WRONG: not every traveller]"),
        f"baseline: the same writes in bare SQL in {out['bare_seconds']:.2f} s",
        f"ratio bare / Cordon: {out['bare_seconds'] / out['turn_seconds']:.3f}",
        *profile_lines(out["profile"]),
    ])


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.risk_turn", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--travellers", type=int, default=100_000, help="registered travellers in the area (default 100,000)")
    parser.add_argument("--postgres-url", default=ADMIN_URL, help="admin database the temporary one is created from")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--profile", metavar="DIR", help="sample the service with py-spy during the turn into DIR")
    parser.add_argument("--record", action="store_true", help="keep the run's row for the README table (bench/results.json)")
    args = parser.parse_args(argv)
    if args.travellers < 1:
        parser.error("--travellers must be positive")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    out = in_private_home(run, args)
    print(report(out))
    if args.json:
        Path(args.json).write_text(json.dumps({**out, "profile": profile_json(out["profile"])}, indent=2, default=str) + "\n")
    if correct(out) and args.record and not args.profile:
        keep_row("bench/risk_turn.py", machine=out["machine"],
                 what=f"a risk area set high with {out['travellers']:,} registered travellers in it (PostgreSQL)",
                 cordon=f"every traveller's measures and red code in {out['turn_seconds']:.1f} s (aim < 10 s)",
                 baseline=f"the same writes in bare SQL {out['bare_seconds']:.1f} s",
                 ratio=f"{out['bare_seconds'] / out['turn_seconds']:.2f}")
    return 0 if correct(out) else 1


if __name__ == "__main__":
    sys.exit(main())
