"""What opening big-data leads costs a partner push, on PostgreSQL.

    .venv/bin/python -m bench.leads [--records N] [--unmatched U] [--batch B] [--rounds R] [--json PATH]

One run, everything started here and stopped here (as bench/travel_ingest.py): a temporary PostgreSQL
database per push (migrated, dropped at the end), a private nats-server and CORDON_HOME, the registry as a
separate process, the records streamed as NDJSON to POST /api/v1/travel-records/batch with a partner token.

N records (default 200,000), one phone each. U of them (default 50,000, every fourth) lie in a high-risk
area (420106) and carry a ``current_region_code``; the others lie in counties far from it (no rule). Three
pushes of the very same records, each in a fresh database, interleaved per round:

* ``leads``: the U phones match nobody registered (the other N - U do): the push opens U leads (one per
  phone, in bulk per chunk). Records/s of the push and leads/s (U / the push's seconds).
* ``matched``: every phone is registered: the U records are matched and their people evaluated (measures
  assigned) instead. The baseline the aim names: leads cost < 25 % of this push's throughput.
* ``no_rule``: as ``leads`` with no risk area set: the U records match nobody and trigger nothing, so no lead
  opens. The same push minus exactly the work of opening leads: ``1 - leads / no_rule`` is that work's share.

The registered people are loaded by COPY before each push (untimed). Medians over the rounds, and the
load average at the start, are reported; a run on a loaded machine moves all three pushes alike.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402  (after the path fix)
    ADMIN_URL,
    LOAD_AT_START,
    RssSampler,
    ServiceProcess,
    TempDatabase,
    id_number,
    in_private_home,
    keep_row,
    machine_info,
    machine_line,
    progress,
    service_on_postgres,
    settle,
    signed_token,
)

RISK_REGION = "420106"
CURRENT = "320413100201"  # where the unknown people are now
FAR = ("110101", "110105", "310101", "310104", "320102", "320413", "330102", "440104", "510104", "650102")
LINES_PER_PIECE = 1000
SCENARIOS = ("leads", "matched", "no_rule")


@dataclass
class Records:
    pieces: list[list[bytes]]
    phones: list[str]
    unmatched: set[int]  # indexes of the phones that lie in the risk area


def make_records(n: int, unmatched: int, batch: int, now: datetime, seed: int) -> Records:
    import orjson

    from cordon.clock import local_date

    rng = random.Random(seed)
    today = local_date(now)
    every = max(1, n // unmatched) if unmatched else 0
    pieces, current, lines, phones, chosen = [], [], [], [], set()
    for i in range(n):
        phone = f"1{'3456789'[i % 7]}{i:09d}"  # unique per record
        phones.append(phone)
        last = today - timedelta(days=rng.randrange(1, 6))
        line = {"record_id": f"lead-bench-{seed}-{i:09d}", "phone": phone, "first_seen": (last - timedelta(days=1)).isoformat(),
                "last_seen": last.isoformat()}
        if every and i % every == 0 and len(chosen) < unmatched:
            chosen.add(i)
            line |= {"region_code": RISK_REGION, "current_region_code": CURRENT}
        else:
            line["region_code"] = rng.choice(FAR)
        lines.append(orjson.dumps(line) + b"\n")
        if len(lines) == LINES_PER_PIECE or (i + 1) % batch == 0 or i + 1 == n:
            current.append(b"".join(lines))
            lines = []
        if (i + 1) % batch == 0 or i + 1 == n:
            pieces.append(current)
            current = []
    return Records(pieces, phones, chosen)


def person_rows(phones: list[str], vault, now: datetime) -> list[tuple]:
    """``person`` rows for these phones, as register_person stores them (indexed, encrypted, masked)."""
    from cordon import pii

    rows = []
    for i, phone in enumerate(phones):
        birth = (date(1940, 1, 1) + timedelta(days=(i // 1000) % 27000)).strftime("%Y%m%d")
        first17 = f"320413{birth}{i % 1000:03d}"
        id_number = first17 + pii.id_check_character(first17)
        rows.append((
            uuid.uuid4(), vault.index("id_number", id_number), vault.encrypt(id_number), pii.mask_id_number(id_number),
            f"居民{i:06d}", vault.index("phone", phone), vault.encrypt(phone), pii.mask_phone(phone),
            "320413", None, "[]", None, "zh", False, None, None, None, None, "green", "[]", now, now, now, "bench",
        ))
    return rows


@dataclass
class Push:
    scenario: str
    records: int
    seconds: float
    accepted: int
    leads: int
    measured: int

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0

    @property
    def leads_rate(self) -> float:
        return self.leads / self.seconds if self.seconds else 0.0


async def _count(db_url: str, sql: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(db_url, timeout=10)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


async def one_push(scenario: str, number: int, args, tmp: Path, env: dict, nats, vault, now: datetime, records: Records,
                   people_all: list[tuple], unmatched_rows: set[int]) -> Push:
    import httpx

    from bench.health_code import load_people
    from cordon import migrate

    database = TempDatabase(args.postgres_url)
    service = None
    try:
        await database.create()
        await asyncio.to_thread(migrate.upgrade, "registry", database.url("postgresql+asyncpg"))
        people = people_all if scenario == "matched" else [r for i, r in enumerate(people_all) if i not in unmatched_rows]
        await load_people(database.url(), people)
        service_env = {**env, "CORDON_REGISTRY_DATABASE_URL": database.url("postgresql+asyncpg"),
                       "CORDON_NATS_URL": nats.url, "CORDON_LOG_LEVEL": "WARNING"}
        service = ServiceProcess("registry", service_env, tmp / f"registry-{scenario}-{number}.log").start()
        await service.wait_ready()
        home = tmp / "home"
        async with httpx.AsyncClient(timeout=httpx.Timeout(1800.0)) as client:
            if scenario != "no_rule":
                official = signed_token(home, "bench-official", "official", ["420000"], username="bench-official")
                put = await client.put(f"{service.base_url}/api/v1/risk-areas/{RISK_REGION}", json={"level": "high"},
                                       headers={"Authorization": f"Bearer {official}"})
                if put.status_code != 200:
                    raise RuntimeError(f"risk area: {put.status_code} {put.text[:300]}")
            await settle(database.url())
            progress(f"round {number + 1}: {scenario}: pushing {args.records:,} records ({len(people):,} people registered)")
            headers = {"Authorization": f"Bearer {signed_token(home)}", "Content-Type": "application/x-ndjson"}

            async def body(chunks):
                for chunk in chunks:
                    yield chunk

            accepted = 0
            t0 = time.perf_counter()
            for chunks in records.pieces:
                response = await client.post(f"{service.base_url}/api/v1/travel-records/batch", content=body(chunks), headers=headers)
                if response.status_code != 200:
                    raise RuntimeError(f"push answered {response.status_code}: {response.text[:300]}")
                accepted += response.json()["accepted"]
            seconds = time.perf_counter() - t0
        # The clockwork of the service may hold a batch of the push's records (skip_locked): the push answers
        # when its own claims run dry. Wait (untimed) until every record is evaluated before counting.
        for _ in range(600):
            if not await _count(database.url(), "SELECT count(*) FROM travel_record WHERE evaluated_at IS NULL"):
                break
            await asyncio.sleep(0.5)
        leads = await _count(database.url(), "SELECT count(*) FROM lead WHERE status = 'open'")
        measured = await _count(database.url(), "SELECT count(DISTINCT person_id) FROM measure")
        progress(f"round {number + 1}: {scenario}: {args.records / seconds:,.0f} records/s, {leads:,} leads, {measured:,} people measured")
        return Push(scenario, args.records, seconds, accepted, leads, measured)
    finally:
        if service is not None:
            service.stop()
        await database.drop()


async def run(args, tmp: Path, env: dict) -> dict:
    from cordon.natsserver import NatsServer
    from cordon.pii import Vault
    from cordon.settings import Settings

    settings = Settings()
    vault = Vault.from_hex(settings.pii_index_key, settings.pii_encryption_key)
    machine = machine_info(await TempDatabase(args.postgres_url).server_version())
    now = datetime.now(UTC)
    records = make_records(args.records, args.unmatched, args.batch, now, seed=7)
    progress(f"{args.records:,} records made; registering their people (untimed)")
    people = person_rows(records.phones, vault, now)
    nats = NatsServer(store_dir=tmp / "nats")
    rounds: list[list[Push]] = []
    try:
        nats.start()
        await nats.wait_jetstream()
        for number in range(args.rounds):
            chosen = [s for s in SCENARIOS if s in args.scenarios]
            order = chosen if number % 2 == 0 else list(reversed(chosen))
            pushes = {}
            for scenario in order:
                pushes[scenario] = await one_push(scenario, number, args, tmp, env, nats, vault, now, records, people, records.unmatched)
            rounds.append(pushes)
    finally:
        nats.stop()
        progress("stopped and dropped")
    return {"records": args.records, "unmatched": len(records.unmatched), "batch": args.batch, "machine": machine,
            "rounds": rounds, "scenarios": [s for s in SCENARIOS if s in args.scenarios]}


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def xlsx_import(args, tmp: Path, env: dict) -> dict:
    """--xlsx-mb: a list (协查函) of about that many megabytes written with openpyxl (write-only) to an unnamed
    temporary file, streamed to POST /api/v1/leads/import of the registry on a fresh PostgreSQL database; the
    service's RSS when ready, its largest seen and its high-water mark (VmHWM)."""
    import tempfile

    import httpx
    from openpyxl import Workbook

    machine = machine_info(await TempDatabase(args.postgres_url).server_version())
    with tempfile.TemporaryFile() as sheet:
        book = Workbook(write_only=True)
        ws = book.create_sheet()
        ws.append(["姓名", "身份证号", "手机号", "所在地", "原因"])
        rows, per_check = 0, 20_000
        while True:  # the size is known only once saved: estimate from the first rows' share
            for i in range(rows, rows + per_check):
                ws.append([f"协查人员{i}", id_number(i), f"139{i:08d}", CURRENT, f"外省协查函第{i // 1000}号：与确诊病例同乘航班"])
            rows += per_check
            if rows >= args.xlsx_rows:
                break
        book.save(sheet)
        size = sheet.tell()
        sheet.seek(0)
        progress(f"{rows:,} rows written, {size / 1e6:.1f} MB; importing")
        async with service_on_postgres("registry", TempDatabase(args.postgres_url), tmp, env) as service:
            official = signed_token(tmp / "home", "bench-official", "official", ["320000"], username="bench-official")

            async def body():
                while chunk := sheet.read(256 * 1024):
                    yield chunk

            ready_kb = RssSampler(service.pid).start_kb
            async with httpx.AsyncClient(timeout=httpx.Timeout(3600.0)) as client:
                with RssSampler(service.pid) as rss:
                    t0 = time.perf_counter()
                    response = await client.post(f"{service.base_url}/api/v1/leads/import", content=body(),
                                                 headers={"Authorization": f"Bearer {official}", "Content-Type": XLSX})
                    seconds = time.perf_counter() - t0
            if response.status_code != 200:
                raise RuntimeError(f"import answered {response.status_code}: {response.text[:300]}")
            answer = response.json()
    return {"rows": rows, "bytes": size, "seconds": seconds, "accepted": answer["accepted"],
            "duplicates": answer["duplicates"], "rejected": len(answer["rejected"]), "ready_kb": ready_kb,
            "peak_kb": rss.peak_kb, "hwm_kb": rss.hwm_kb, "machine": machine, "load": LOAD_AT_START[0]}


def xlsx_report(out: dict) -> str:
    return "\n".join([
        f"Cordon lead list import: {out['rows']:,} rows in one XLSX of {out['bytes'] / 1e6:.1f} MB; PostgreSQL",
        machine_line(out["machine"]),
        f"{out['rows'] / out['seconds']:,.0f} rows/s ({out['seconds']:.1f} s); accepted {out['accepted']:,}, "
        f"duplicates {out['duplicates']:,}, rejected {out['rejected']:,}",
        f"registry RSS: {out['ready_kb'] / 1024:.0f} MB ready, {out['peak_kb'] / 1024:.0f} MB largest seen, "
        f"VmHWM {out['hwm_kb'] / 1024:.0f} MB",
    ])


def summary(out: dict) -> dict:
    by = {s: statistics.median(r[s].rate for r in out["rounds"]) for s in out["scenarios"]}
    sm = {f"{s}_records_per_s": v for s, v in by.items()}
    if "leads" in by:
        sm["leads_per_s"] = statistics.median(r["leads"].leads_rate for r in out["rounds"])
        for other in ("matched", "no_rule"):
            if by.get(other):
                sm[f"cost_vs_{other}"] = 1 - by["leads"] / by[other]
    return sm


def correct(out: dict) -> bool:
    u = out["unmatched"]
    checks = {"leads": lambda p: p.leads == u and p.accepted == p.records, "matched": lambda p: p.leads == 0 and p.measured == u,
              "no_rule": lambda p: p.leads == 0 and p.accepted == p.records}
    return all(checks[s](p) for r in out["rounds"] for s, p in r.items())


def report(out: dict) -> str:
    sm = summary(out)
    lines = [
        f"Cordon leads benchmark: {out['records']:,} records pushed in requests of {out['batch']:,}, {out['unmatched']:,} of them "
        f"matching nobody and in a high-risk area; PostgreSQL; {len(out['rounds'])} round(s) of {', '.join(out['scenarios'])}",
        machine_line(out["machine"]),
        "",
        f"{'round':<6} {'scenario':<9} {'records/s':>10} {'seconds':>8} {'leads':>7} {'leads/s':>8} {'measured':>9}",
    ]
    for i, pushes in enumerate(out["rounds"]):
        for p in pushes.values():
            lines.append(f"{i + 1:<6} {p.scenario:<9} {p.rate:>10,.0f} {p.seconds:>8.1f} {p.leads:>7,} {p.leads_rate:>8,.0f} {p.measured:>9,}")
    lines.append("")
    lines.append("medians: " + "; ".join(f"{s} {sm[f'{s}_records_per_s']:,.0f} records/s" for s in out["scenarios"])
                 + (f"; {sm['leads_per_s']:,.0f} leads opened/s" if "leads_per_s" in sm else ""))
    if "cost_vs_matched" in sm:
        cost = sm["cost_vs_matched"]
        if cost >= 0:
            lines.append(f"against every record matched: leads cost {100 * cost:.1f} % of that push's throughput "
                         f"(aim < 25 %: {'met' if cost < 0.25 else 'NOT met'})")
        else:
            lines.append(f"against every record matched: the push with leads runs at {1 - cost:.1f}x that push's throughput "
                         "(aim: leads cost < 25 %: met; opening a lead is cheaper than evaluating a registered person)")
    if "cost_vs_no_rule" in sm:
        lines.append(f"against the same push opening no lead: opening the leads takes {100 * sm['cost_vs_no_rule']:.1f} % of its "
                     f"throughput (the work of the leads alone)")
    if not correct(out):
        lines.append("WRONG: a push did not open exactly one lead per unmatched phone, or the matched push did not evaluate them")
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.leads", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--records", type=int, default=200_000, help="records per push (default 200,000)")
    parser.add_argument("--unmatched", type=int, default=50_000, help="of them, matching nobody and in the risk area (default 50,000)")
    parser.add_argument("--batch", type=int, default=50_000, help="records per request (default 50,000)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of the three pushes (default 1)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help="which pushes, comma-separated (default all: leads,matched,no_rule); the matched push evaluates "
                             "every unmatched phone's person and is by far the slowest")
    parser.add_argument("--xlsx-rows", type=int, default=0,
                        help="instead: import one XLSX list of this many rows (about 2,000,000 for 50 MB), rounded up to 20,000 and report RSS")
    parser.add_argument("--postgres-url", default=ADMIN_URL, help="admin database the temporary ones are created from")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--record", action="store_true", help="keep the run's row for the README table (bench/results.json)")
    args = parser.parse_args(argv)
    if args.records < 1 or args.batch < 1 or args.rounds < 1 or not 0 < args.unmatched <= args.records:
        parser.error("--records, --batch, --rounds positive; --unmatched between 1 and --records")
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    if not args.scenarios or set(args.scenarios) - set(SCENARIOS):
        parser.error(f"--scenarios: some of {', '.join(SCENARIOS)}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.xlsx_rows:
        out = in_private_home(xlsx_import, args)
        print(xlsx_report(out))
        return 0 if out["accepted"] == out["rows"] else 1
    out = in_private_home(run, args)
    print(report(out))
    if args.json:
        Path(args.json).write_text(json.dumps({**{k: v for k, v in out.items() if k != "rounds"},
                                               "rounds": [{k: asdict(p) for k, p in r.items()} for r in out["rounds"]],
                                               **summary(out)}, indent=2, default=str) + "\n")
    ok = correct(out)
    if ok and args.record and {"leads", "matched"} <= set(out["scenarios"]):
        sm = summary(out)
        keep_row("bench/leads.py", machine=out["machine"],
                 what=f"{args.records:,} records pushed, {out['unmatched']:,} matching nobody (one lead each); PostgreSQL",
                 cordon=f"{sm['leads_records_per_s']:,.0f} records/s with {sm['leads_per_s']:,.0f} leads/s (median)",
                 baseline=f"the same push, every record matched: {sm['matched_records_per_s']:,.0f} records/s",
                 ratio=f"leads cost {100 * sm['cost_vs_matched']:.0f} % (aim < 25 %)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
