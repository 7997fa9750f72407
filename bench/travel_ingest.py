"""Throughput of the registry's streamed NDJSON travel push against raw asyncpg COPY.

    .venv/bin/python -m bench.travel_ingest [--records N] [--batch B] [--json PATH] [--profile DIR]

One run, everything started here and stopped here:

* a temporary PostgreSQL database ``cordon_bench_<hex>`` (created from --postgres-url, migrated with
  ``cordon.migrate.upgrade("registry", ...)``, dropped at the end), a private nats-server and a private
  CORDON_HOME (dev mode: the JWT and PII keys are generated there and shared by this process and the service);
* the registry service as a separate process (``python -m cordon serve registry``), as in production;
* the path a partner push takes: before each round, registered people are loaded (``--match``, default 1 %
  of the records carry the phone of one of them; COPY, untimed) and a high-risk area is set through the
  API (``--risk-region``, default 420106); half of the matched records lie in it, so the push ends by
  evaluating those people and assigning their measures, and the run counts the measures assigned;
* Cordon: N generated travel records (valid mainland phones, region codes, dates within the last 14 days,
  unique record ids), pushed in requests of B records to POST /api/v1/travel-records/batch with a partner
  token, each body streamed from an async generator as application/x-ndjson. Records/s from the first
  request sent to the last answer received (the evaluation included); the service's peak RSS.
* baseline: the same N rows as the service stores them (blind indexes computed beforehand, untimed),
  ``asyncpg.copy_records_to_table`` in batches of B into ``bench_copy`` (``LIKE travel_record INCLUDING ALL``:
  the same columns, constraints and indexes), one transaction per batch. Rows/s.
* ``--rounds R`` (default 3) repeats both, interleaved (service then baseline, then baseline then service,
  …), each round in a fresh database with its own people; the report gives every round and the medians,
  and the ratio of the medians, so a burst of other work on the machine moves one round, not the figure.

With --profile DIR the service is sampled by py-spy during the push (``pip install py-spy``) and the
functions of the ingest path are listed by their share of the samples; the figures of a profiled run
carry the sampler's overhead.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402  (after the path fix)
    ADMIN_URL,
    PySpy,
    RssSampler,
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

COLUMNS = ("partner_id", "record_id", "phone_index", "id_number_index", "region_code", "first_seen", "last_seen", "created_at")
PARTNER = "partner-bench"
LINES_PER_PIECE = 1000  # lines per chunk the request body generator yields
# County-level codes across several provinces (GB/T 2260).
REGIONS = (
    "110101", "110105", "110108", "310101", "310104", "310115", "320102", "320106", "320413", "320506",
    "330102", "330106", "340104", "350203", "370102", "420102", "420106", "440104", "440305", "440306",
    "500103", "510104", "510107", "610113", "650102",
)


# --- the records ---------------------------------------------------------------------------------


@dataclass
class Records:
    pieces: list[list[bytes]]  # per request: the body's chunks, LINES_PER_PIECE lines each
    rows: list[tuple]  # the rows the service stores, for the baseline
    body_bytes: int


def make_records(n: int, batch: int, vault, now: datetime, seed: int = 20200123, *, prefix: str = "bench",
                 matched_phones: tuple[str, ...] = (), risk_region: str | None = None) -> Records:
    """N records; ``matched_phones`` spread evenly among them (one record each), every other one in ``risk_region``."""
    import orjson

    from cordon.clock import local_date

    rng = random.Random(seed)
    today = local_date(now)
    pieces: list[list[bytes]] = []
    rows: list[tuple] = []
    lines: list[bytes] = []
    body_bytes = 0
    current: list[bytes] = []
    every = max(1, n // len(matched_phones)) if matched_phones else 0
    for i in range(n):
        phone = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
        last = today - timedelta(days=rng.randrange(14))
        first = max(last - timedelta(days=rng.randrange(4)), today - timedelta(days=13))
        region = rng.choice(REGIONS)
        j, k = divmod(i, every) if every else (0, 1)
        if k == 0 and j < len(matched_phones):
            phone = matched_phones[j]
            if j % 2 == 0 and risk_region:
                region = risk_region
        record_id = f"{prefix}-{i:09d}-{rng.randrange(16**8):08x}"
        lines.append(orjson.dumps({"record_id": record_id, "phone": phone, "region_code": region,
                                   "first_seen": first.isoformat(), "last_seen": last.isoformat()}) + b"\n")
        rows.append((PARTNER, record_id, vault.index("phone", phone), None, region, first, last, now))
        if len(lines) == LINES_PER_PIECE or (i + 1) % batch == 0 or i + 1 == n:
            chunk = b"".join(lines)
            body_bytes += len(chunk)
            current.append(chunk)
            lines = []
        if (i + 1) % batch == 0 or i + 1 == n:
            pieces.append(current)
            current = []
    return Records(pieces, rows, body_bytes)


# --- the runs ------------------------------------------------------------------------------------


@dataclass
class ServiceRun:
    records: int
    seconds: float
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    stored: int = 0
    rss_start_mb: float = 0.0
    rss_peak_mb: float = 0.0
    rss_hwm_mb: float = 0.0
    service_cpu_s: float = 0.0  # CPU the service process used during the push
    postgres_cpu_s: float = 0.0  # CPU of the PostgreSQL backends serving the benchmark's database
    client_cpu_s: float = 0.0  # CPU of this process (generating and sending the bodies)
    requests: list[float] = field(default_factory=list)  # seconds of each request
    timed_out: bool = False  # the budget ran out before every batch was sent

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


async def push(service: ServiceProcess, records: Records, token: str, budget: float, database: TempDatabase) -> ServiceRun:
    import httpx

    url = f"{service.base_url}/api/v1/travel-records/batch"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}

    async def body(chunks: list[bytes]):
        for chunk in chunks:
            yield chunk

    run = ServiceRun(records=len(records.rows), seconds=0.0)
    async with httpx.AsyncClient(timeout=httpx.Timeout(900.0)) as client:
        backends0 = await backend_cpu(database.url(), database.name)
        service0, client0 = cpu_seconds(service.pid), time.process_time()
        with RssSampler(service.pid) as rss:
            t0 = time.perf_counter()
            for number, chunks in enumerate(records.pieces):
                started = time.perf_counter()
                if started - t0 > budget:  # stop between requests; the rate counts what was sent
                    run.timed_out = True
                    run.records = sum(len(b"".join(c).splitlines()) for c in records.pieces[:number])
                    break
                response = await client.post(url, content=body(chunks), headers=headers)
                run.requests.append(time.perf_counter() - started)
                if response.status_code != 200:
                    raise RuntimeError(f"push answered {response.status_code}: {response.text[:500]}")
                answer = response.json()
                run.accepted += answer["accepted"]
                run.duplicates += answer["duplicates"]
                run.rejected += answer["rejected_total"]
            run.seconds = time.perf_counter() - t0
        run.service_cpu_s, run.client_cpu_s = cpu_seconds(service.pid) - service0, time.process_time() - client0
        backends1 = await backend_cpu(database.url(), database.name)
        run.postgres_cpu_s = sum(cpu - backends0.get(pid, 0.0) for pid, cpu in backends1.items())
    run.rss_start_mb, run.rss_peak_mb, run.rss_hwm_mb = rss.start_kb / 1024, rss.peak_kb / 1024, rss.hwm_kb / 1024
    return run


async def copy_baseline(db_url: str, rows: list[tuple], batch: int) -> tuple[float, float]:
    """Seconds to COPY ``rows`` in batches into a table shaped like travel_record (one transaction per batch),
    and the CPU seconds its PostgreSQL backend spent."""
    import asyncpg

    conn = await asyncpg.connect(db_url, timeout=10)
    try:
        await conn.execute("CREATE TABLE bench_copy (LIKE travel_record INCLUDING ALL)")
        backend = conn.get_server_pid()
        cpu0 = cpu_seconds(backend)
        t0 = time.perf_counter()
        for start in range(0, len(rows), batch):
            await conn.copy_records_to_table("bench_copy", records=rows[start : start + batch], columns=COLUMNS)
        seconds = time.perf_counter() - t0
        cpu = cpu_seconds(backend) - cpu0
        copied = await conn.fetchval("SELECT count(*) FROM bench_copy")
        if copied != len(rows):
            raise RuntimeError(f"baseline copied {copied} rows of {len(rows)}")
        return seconds, cpu
    finally:
        await conn.close()


# --- the whole run -------------------------------------------------------------------------------


@dataclass
class Round:
    service: ServiceRun
    copy_seconds: float
    copy_postgres_cpu_s: float
    people: int  # registered people loaded before the push
    expected_measured: int  # of them, people with a record in the high-risk area (each should be put under control)
    measured: int  # people with a measure after the push
    red: int  # people red after the push (the loaded ones include some red already)
    order: str  # "service first" or "baseline first"

    @property
    def copy_rate(self) -> float:
        return self.service.records / self.copy_seconds if self.copy_seconds else 0.0


async def _count(db_url: str, sql: str, *params) -> int:
    import asyncpg

    conn = await asyncpg.connect(db_url, timeout=10)
    try:
        return await conn.fetchval(sql, *params)
    finally:
        await conn.close()


async def set_risk_area(service: ServiceProcess, home: Path, region: str) -> None:
    import httpx

    token = signed_token(home, "bench-official", "official", [region[:2] + "0000"], username="bench-official")
    async with httpx.AsyncClient(timeout=30) as client:
        answer = await client.put(f"{service.base_url}/api/v1/risk-areas/{region}", json={"level": "high"},
                                  headers={"Authorization": f"Bearer {token}"})
    if answer.status_code != 200:
        raise RuntimeError(f"setting the risk area answered {answer.status_code}: {answer.text[:300]}")


async def one_round(number: int, args, tmp: Path, env: dict, nats, vault, now: datetime) -> Round:
    """A fresh database with its people and risk area, the service's push and the baseline COPY, in the
    round's order; the service is stopped while the baseline runs."""
    from bench.health_code import load_people, make_people
    from cordon import migrate

    matched = max(1, round(args.records * args.match)) if args.match > 0 else 0
    people = make_people(matched, vault, now, seed=1000 + number) if matched else []
    phones = tuple(vault.decrypt(row[6]) for row in people)
    records = make_records(args.records, args.batch, vault, now, seed=number, prefix=f"bench{number}",
                           matched_phones=phones, risk_region=args.risk_region)
    database = TempDatabase(args.postgres_url)
    service: ServiceProcess | None = None
    service_first = number % 2 == 0
    try:
        await database.create()
        await asyncio.to_thread(migrate.upgrade, "registry", database.url("postgresql+asyncpg"))
        if people:
            await load_people(database.url(), people)
        service_env = {**env, "CORDON_REGISTRY_DATABASE_URL": database.url("postgresql+asyncpg"),
                       "CORDON_NATS_URL": nats.url, "CORDON_LOG_LEVEL": "WARNING"}

        async def baseline() -> tuple[float, float]:
            await settle(database.url())
            progress(f"round {number + 1}: baseline COPY")
            return await copy_baseline(database.url(), records.rows, args.batch)

        if not service_first:
            copy_s, copy_cpu = await baseline()
        service = ServiceProcess("registry", service_env, tmp / f"registry-{number}.log").start()
        await service.wait_ready()
        await set_risk_area(service, tmp / "home", args.risk_region)
        await settle(database.url())
        progress(f"round {number + 1}: registry ready (pid {service.pid}); pushing {args.records:,} records, {matched:,} matching a person")
        spy = None
        if args.profile and number == 0:
            Path(args.profile).mkdir(parents=True, exist_ok=True)
            spy = PySpy(service.pid, Path(args.profile) / "travel_ingest.pyspy.txt")
            spy.start()
        try:
            pushed = await push(service, records, signed_token(tmp / "home"), args.budget, database)
        finally:
            if spy:
                spy.stop()
        if spy and spy.out.exists():
            args.profile_out = summarize_profile(spy.out)
        pushed.stored = await _count(database.url(), "SELECT count(*) FROM travel_record WHERE partner_id = $1", PARTNER)
        measured = await _count(database.url(), "SELECT count(DISTINCT person_id) FROM measure")
        red = await _count(database.url(), "SELECT count(*) FROM person WHERE health_color = 'red'")
        service.stop()
        if service_first:
            copy_s, copy_cpu = await baseline()
    finally:
        if service is not None:
            service.stop()
        await database.drop()
    expected = (len(phones) + 1) // 2  # matched records 0, 2, 4, … lie in the high-risk area
    progress(f"round {number + 1}: service {pushed.rate:,.0f} records/s, COPY {args.records / copy_s:,.0f} rows/s")
    return Round(pushed, copy_s, copy_cpu, len(people), expected, measured, red,
                 "service first" if service_first else "baseline first")


async def run(args, tmp: Path, env: dict) -> dict:
    from cordon.natsserver import NatsServer
    from cordon.pii import Vault
    from cordon.settings import Settings

    settings = Settings()
    vault = Vault.from_hex(settings.pii_index_key, settings.pii_encryption_key)
    machine = machine_info(await TempDatabase(args.postgres_url).server_version())
    now = datetime.now(UTC)
    args.profile_out = {}
    nats = NatsServer(store_dir=tmp / "nats")
    rounds: list[Round] = []
    try:
        nats.start()
        await nats.wait_jetstream()
        for number in range(args.rounds):
            rounds.append(await one_round(number, args, tmp, env, nats, vault, now))
    finally:
        nats.stop()
        progress("stopped and dropped")
    return {"records": args.records, "batch": args.batch, "match": args.match, "risk_region": args.risk_region,
            "machine": machine, "rounds": rounds,
            "profiled": bool(args.profile), "profile": args.profile_out}


def _median(values: list[float]) -> float:
    import statistics

    return statistics.median(values) if values else 0.0


def summary(out: dict) -> dict:
    rounds: list[Round] = out["rounds"]
    service = _median([r.service.rate for r in rounds])
    copy = _median([r.copy_rate for r in rounds])
    return {"service_records_per_s": service, "copy_rows_per_s": copy, "ratio": service / copy if copy else 0.0,
            "ratios": [r.service.rate / r.copy_rate if r.copy_rate else 0.0 for r in rounds]}


def correct(r: Round) -> bool:
    s = r.service
    return (s.stored == s.records == s.accepted and not s.timed_out and s.rejected == 0
            and r.measured >= r.expected_measured)


def report(out: dict) -> str:
    rounds: list[Round] = out["rounds"]
    sm = summary(out)
    lines = [
        f"Cordon travel ingest benchmark: {out['records']:,} records in requests of {out['batch']:,}, "
        f"{out['match']:.1%} matching a registered person (half of those in the high-risk area {out['risk_region']}), "
        f"{len(rounds)} interleaved rounds{'  [PROFILED: py-spy attached]' if out['profiled'] else ''}",
        machine_line(out["machine"]),
        "",
        f"{'round':<6} {'order':<15} {'service rec/s':>13} {'COPY rows/s':>12} {'ratio':>6} {'people':>7} {'measured':>9} {'RSS MB':>7}",
    ]
    for i, r in enumerate(rounds):
        s = r.service
        lines.append(f"{i + 1:<6} {r.order:<15} {s.rate:>13,.0f} {r.copy_rate:>12,.0f} {s.rate / r.copy_rate if r.copy_rate else 0:>6.3f}"
                     f" {r.people:>7,} {r.measured:>5,}/{r.expected_measured:<3,} {max(s.rss_peak_mb, s.rss_hwm_mb):>7.0f}"
                     + ("" if correct(r) else "  [WRONG: a record was not stored or a person in the risk area not put under control]")
                     + (f"  [time limit: {s.records:,} records sent]" if s.timed_out else ""))
    lines += [
        "",
        f"medians: service {sm['service_records_per_s']:,.0f} records/s (the push, its matching and its evaluation), "
        f"raw COPY {sm['copy_rows_per_s']:,.0f} rows/s",
        f"ratio of the medians service / raw COPY: {sm['ratio']:.3f}  (aim >= 0.5: {'met' if sm['ratio'] >= 0.5 else 'NOT met'}); "
        f"per round {', '.join(f'{x:.3f}' for x in sm['ratios'])}",
    ]
    s = rounds[0].service
    if s.seconds:
        lines.append(f"CPU in round 1's push ({s.seconds:.1f}s): service {s.service_cpu_s:.1f}s ({100 * s.service_cpu_s / s.seconds:.0f}% of a core),"
                     f" PostgreSQL backends {s.postgres_cpu_s:.1f}s, this client {s.client_cpu_s:.1f}s;"
                     f" COPY backend {rounds[0].copy_postgres_cpu_s:.1f}s")
    lines += profile_lines(out["profile"])
    return "\n".join(lines)


def to_json(out: dict) -> dict:
    sm = summary(out)
    return {
        **{k: v for k, v in out.items() if k not in ("rounds", "profile")},
        "rounds": [{**asdict(r), "copy_rows_per_s": round(r.copy_rate, 1), "service_records_per_s": round(r.service.rate, 1)}
                   for r in out["rounds"]],
        "median_records_per_s": round(sm["service_records_per_s"], 1),
        "median_copy_rows_per_s": round(sm["copy_rows_per_s"], 1),
        "ratio": round(sm["ratio"], 4),
        "profile": profile_json(out["profile"]),
    }


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.travel_ingest", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="records pushed per round (default 1,000,000)")
    parser.add_argument("--batch", type=int, default=50_000, help="records per request and per baseline COPY (default 50,000)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of service and baseline (default 3)")
    parser.add_argument("--match", type=float, default=0.01, help="share of records matching a registered person (default 0.01)")
    parser.add_argument("--risk-region", default="420106", help="the county set high-risk before the push (default 420106)")
    parser.add_argument("--budget", type=float, default=240.0,
                        help="seconds after which no further request is sent (default 240); the rate counts what was sent")
    parser.add_argument("--postgres-url", default=ADMIN_URL, help="admin database the temporary ones are created from")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--profile", metavar="DIR", help="sample the service with py-spy in round 1 into DIR and list the hot frames")
    parser.add_argument("--record", action="store_true", help="keep the run's row for the README table (bench/results.json)")
    args = parser.parse_args(argv)
    if args.records < 1 or args.batch < 1 or args.rounds < 1 or not 0 <= args.match <= 0.5:
        parser.error("--records, --batch and --rounds must be positive, --match between 0 and 0.5")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    out = in_private_home(run, args)
    print(report(out))
    if args.json:
        Path(args.json).write_text(json.dumps(to_json(out), indent=2, default=str) + "\n")
    ok = all(correct(r) for r in out["rounds"])
    if ok and args.record and not args.profile:
        sm = summary(out)
        peak = max(max(r.service.rss_peak_mb, r.service.rss_hwm_mb) for r in out["rounds"])
        keep_row("bench/travel_ingest.py", machine=out["machine"],
                 what=f"{args.records:,} records a round, {args.rounds} interleaved rounds, {args.match:.0%} matching registered "
                      f"people (half in a high-risk area); PostgreSQL, NDJSON in requests of {args.batch:,}",
                 cordon=f"{sm['service_records_per_s']:,.0f} records/s (median; push, matching and evaluation); peak RSS {peak:.0f} MB",
                 baseline=f"raw asyncpg COPY of the same rows: {sm['copy_rows_per_s']:,.0f} rows/s",
                 ratio=f"{sm['ratio']:.2f} (aim 0.5)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
