"""Throughput of the registry's streamed NDJSON travel push against raw asyncpg COPY.

    .venv/bin/python -m bench.travel_ingest [--records N] [--batch B] [--json PATH] [--profile DIR]

One run, everything started here and stopped here:

* a temporary PostgreSQL database ``cordon_bench_<hex>`` (created from --postgres-url, migrated with
  ``cordon.migrate.upgrade("registry", ...)``, dropped at the end), a private nats-server and a private
  CORDON_HOME (dev mode: the JWT and PII keys are generated there and shared by this process and the service);
* the registry service as a separate process (``python -m cordon serve registry``), as in production;
* Cordon: N generated travel records (valid mainland phones, region codes, dates within the last 14 days,
  unique record ids), pushed in requests of B records to POST /api/v1/travel-records/batch with a partner
  token, each body streamed from an async generator as application/x-ndjson. Records/s from the first
  request sent to the last answer received; the service's peak RSS (VmHWM, and VmRSS sampled).
* baseline: the same N rows as the service stores them (blind indexes computed beforehand, untimed),
  ``asyncpg.copy_records_to_table`` in batches of B into ``bench_copy`` (``LIKE travel_record INCLUDING ALL``:
  the same columns, constraints and indexes), one transaction per batch. Rows/s.

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


def make_records(n: int, batch: int, vault, now: datetime, seed: int = 20200123) -> Records:
    import orjson

    from cordon.clock import local_date

    rng = random.Random(seed)
    today = local_date(now)
    pieces: list[list[bytes]] = []
    rows: list[tuple] = []
    lines: list[bytes] = []
    body_bytes = 0
    current: list[bytes] = []
    for i in range(n):
        phone = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
        last = today - timedelta(days=rng.randrange(14))
        first = max(last - timedelta(days=rng.randrange(4)), today - timedelta(days=13))
        region = rng.choice(REGIONS)
        record_id = f"bench-{i:09d}-{rng.randrange(16**8):08x}"
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


async def run(args, tmp: Path, env: dict) -> dict:
    from cordon import migrate
    from cordon.natsserver import NatsServer
    from cordon.pii import Vault
    from cordon.settings import Settings

    settings = Settings()
    vault = Vault.from_hex(settings.pii_index_key, settings.pii_encryption_key)
    database = TempDatabase(args.postgres_url)
    machine = machine_info(await database.server_version())
    now = datetime.now(UTC)
    t = time.perf_counter()
    progress(f"generating {args.records:,} records")
    records = make_records(args.records, args.batch, vault, now)
    prepared_s = time.perf_counter() - t

    nats = NatsServer(store_dir=tmp / "nats")
    service: ServiceProcess | None = None
    profile: dict = {}
    try:
        await database.create()
        await asyncio.to_thread(migrate.upgrade, "registry", database.url("postgresql+asyncpg"))
        nats.start()
        await nats.wait_jetstream()
        service_env = {
            **env,
            "CORDON_REGISTRY_DATABASE_URL": database.url("postgresql+asyncpg"),
            "CORDON_NATS_URL": nats.url,
            "CORDON_LOG_LEVEL": "WARNING",
        }
        progress(f"database {database.name} migrated; starting the registry")
        service = ServiceProcess("registry", service_env, tmp / "registry.log").start()
        await service.wait_ready()
        progress(f"registry ready (pid {service.pid}); pushing")
        token = signed_token(tmp / "home")
        await settle(database.url())
        spy = None
        if args.profile:
            Path(args.profile).mkdir(parents=True, exist_ok=True)
            spy = PySpy(service.pid, Path(args.profile) / "travel_ingest.pyspy.txt")
            spy.start()
        try:
            cordon = await push(service, records, token, args.budget, database)
        finally:
            if spy:
                spy.stop()
        if spy and spy.out.exists():
            profile = summarize_profile(spy.out)
        import asyncpg

        conn = await asyncpg.connect(database.url(), timeout=10)
        try:
            cordon.stored = await conn.fetchval("SELECT count(*) FROM travel_record WHERE partner_id = $1", PARTNER)
        finally:
            await conn.close()
        progress(f"pushed in {cordon.seconds:.1f}s; stopping the registry")
        service.stop()  # a quiet machine for the baseline
        await settle(database.url())
        progress("baseline COPY")
        copy_s, copy_cpu_s = await copy_baseline(database.url(), records.rows, args.batch)
    finally:
        if service is not None:
            service.stop()
        nats.stop()
        await database.drop()
        progress("stopped and dropped")
    return {
        "records": args.records,
        "batch": args.batch,
        "body_bytes": records.body_bytes,
        "prepare_seconds": round(prepared_s, 2),
        "machine": machine,
        "service": cordon,
        "copy_seconds": copy_s,
        "copy_postgres_cpu_s": copy_cpu_s,
        "profiled": bool(args.profile),
        "profile": profile,
    }


def report(out: dict) -> str:
    s: ServiceRun = out["service"]
    copy_rate = out["records"] / out["copy_seconds"] if out["copy_seconds"] else 0.0
    ratio = s.rate / copy_rate if copy_rate else 0.0
    mb = out["body_bytes"] / 1e6
    lines = [
        f"Cordon travel ingest benchmark: {out['records']:,} records in requests of {out['batch']:,} "
        f"({mb:,.0f} MB of NDJSON){'  [PROFILED: py-spy attached]' if out['profiled'] else ''}",
        machine_line(out["machine"]),
        "",
        f"{'run':<58} {'rows/s':>10} {'seconds':>8}",
        f"{'registry service: POST /travel-records/batch (NDJSON)':<58} {s.rate:>10,.0f} {s.seconds:>8.2f}"
        + (f"  [time limit: {s.records:,} records sent]" if s.timed_out else ""),
        f"{'baseline: asyncpg copy_records_to_table (same rows)':<58} {copy_rate:>10,.0f} {out['copy_seconds']:>8.2f}",
        "",
        f"ratio service / raw COPY: {ratio:.3f}  (aim >= 0.5: {'met' if ratio >= 0.5 else 'NOT met'})",
        f"service RSS: {s.rss_start_mb:.0f} MB ready, peak {max(s.rss_peak_mb, s.rss_hwm_mb):.0f} MB (VmHWM {s.rss_hwm_mb:.0f} MB)",
        f"service answers: accepted {s.accepted:,}, duplicates {s.duplicates:,}, rejected {s.rejected:,}; rows stored {s.stored:,}"
        + ("" if s.stored == s.records == s.accepted else "  [WRONG: not every record sent was stored]"),
        f"per request: min {min(s.requests):.2f}s, max {max(s.requests):.2f}s" if s.requests else "",
        f"CPU during the push ({s.seconds:.1f}s): service {s.service_cpu_s:.1f}s ({100 * s.service_cpu_s / s.seconds:.0f}% of a core),"
        f" PostgreSQL backends {s.postgres_cpu_s:.1f}s, this client {s.client_cpu_s:.1f}s" if s.seconds else "",
        f"CPU during the COPY ({out['copy_seconds']:.1f}s): PostgreSQL backend {out['copy_postgres_cpu_s']:.1f}s",
    ]
    lines += profile_lines(out["profile"])
    return "\n".join(lines)


def to_json(out: dict) -> dict:
    s: ServiceRun = out["service"]
    copy_rate = out["records"] / out["copy_seconds"] if out["copy_seconds"] else 0.0
    return {
        **{k: v for k, v in out.items() if k not in ("service", "profile")},
        "service": {**asdict(s), "records_per_s": round(s.rate, 1)},
        "copy_rows_per_s": round(copy_rate, 1),
        "ratio": round(s.rate / copy_rate, 4) if copy_rate else None,
        "profile": profile_json(out["profile"]),
    }


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.travel_ingest", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="records pushed (default 1,000,000)")
    parser.add_argument("--batch", type=int, default=50_000, help="records per request and per baseline COPY (default 50,000)")
    parser.add_argument("--budget", type=float, default=240.0,
                        help="seconds after which no further request is sent (default 240); the rate counts what was sent")
    parser.add_argument("--postgres-url", default=ADMIN_URL, help="admin database the temporary one is created from")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--profile", metavar="DIR", help="sample the service with py-spy into DIR and list the hot frames")
    args = parser.parse_args(argv)
    if args.records < 1 or args.batch < 1:
        parser.error("--records and --batch must be positive")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    out = in_private_home(run, args)
    print(report(out))
    if args.json:
        Path(args.json).write_text(json.dumps(to_json(out), indent=2, default=str) + "\n")
    s = out["service"]
    return 0 if s.stored == s.records == s.accepted and not s.timed_out else 1


if __name__ == "__main__":
    sys.exit(main())
