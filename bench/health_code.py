"""Latency and throughput of GET /persons/{id}/health-code against a bare uvicorn endpoint.

    .venv/bin/python -m bench.health_code [--people N] [--concurrency C] [--seconds S] [--json PATH] [--profile DIR]
                                          [--routes read me verify]

One run, everything started here and stopped here:

* a temporary PostgreSQL database ``cordon_bench_<hex>`` (migrated with ``cordon.migrate.upgrade``, dropped at
  the end), a private nats-server and a private CORDON_HOME (dev mode: the JWT and PII keys are generated there
  and used by this process and the service alike);
* N people bulk-loaded with COPY straight into the registry's ``person`` table, their blind indexes and
  ciphertexts made with ``cordon.pii.Vault`` under the service's keys (mostly green, some yellow and red with
  reasons), spread over the counties of one province;
* Cordon: the registry as a separate process (``python -m cordon serve registry``), driven with an official
  token whose region (the province) covers every person;
* baselines, on the same port options (``uvicorn.run`` as ``cordon serve`` calls it): a bare ASGI app that
  answers the same path with the bytes of one real health-code answer (driven with the GETs, and with the
  verify drive's POSTs, whose bodies it reads: the baseline of ``POST /health-code/verify``), and a bare
  FastAPI route returning the same JSON as a dict (so the framework's own share shows).

Each server is driven by the same load generator, a separate process (aiohttp, one session, C concurrent
workers requesting random people): W seconds of warm-up, then S seconds measured. Requests/s, p50, p99; the
server's and the load generator's CPU use during the window (the two share this machine's cores).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402  (shared helpers of the benchmarks)
    ADMIN_URL,
    REPO,
    PySpy,
    ServiceProcess,
    TempDatabase,
    backend_cpu,
    cpu_seconds,
    machine_info,
    machine_line,
    progress,
    signed_token,
)

PROVINCE = "320000"
COUNTIES = tuple(f"32{city:02d}{county:02d}" for city in range(1, 14) for county in (2, 4, 5, 6, 11, 13))
PATH = "/api/v1/persons/{}/health-code"
VERIFY_PATH = "/api/v1/health-code/verify"
PERSON_COLUMNS = (
    "id", "id_number_index", "id_number_enc", "id_number_masked", "name", "phone_index", "phone_enc", "phone_masked",
    "region_code", "address", "tags", "entry_date", "language", "is_case", "positive_at", "pool_positive_due_by",
    "overdue_since", "fever_celsius", "health_color", "health_reasons", "health_updated_at", "created_at",
    "updated_at", "created_by",
)


# --- people --------------------------------------------------------------------------------------


def make_people(n: int, vault, now: datetime, seed: int = 20200123) -> list[tuple]:
    """Rows for ``person``, as register_person would store them (PII indexed, encrypted and masked)."""
    from cordon import pii

    rng = random.Random(seed)
    rows = []
    until = (now + timedelta(days=7)).date().isoformat()
    for i in range(n):
        region = rng.choice(COUNTIES)
        birth = (date(1940, 1, 1) + timedelta(days=(i // 1000) % 27000)).strftime("%Y%m%d")
        first17 = f"{region}{birth}{i % 1000:03d}"  # (birth, serial) differs for every i: unique ID numbers
        id_number = first17 + pii.id_check_character(first17)
        phone = f"1{rng.choice('3456789')}{i:09d}"
        roll = rng.random()
        is_case = False
        if roll < 0.02:
            color, is_case = "red", True
            reasons = [{"rule": "case", "detail": "确诊或无症状感染者", "until": None}]
        elif roll < 0.10:
            color = "yellow"
            reasons = [{"rule": "travel_medium_risk", "detail": "居家健康监测（中风险地区旅居）", "until": until}]
        else:
            color, reasons = "green", []
        rows.append((
            uuid.UUID(int=rng.getrandbits(128), version=4),
            vault.index("id_number", id_number), vault.encrypt(id_number), pii.mask_id_number(id_number),
            f"居民{i:06d}",
            vault.index("phone", phone), vault.encrypt(phone), pii.mask_phone(phone),
            region, None, "[]", None, "zh", is_case, now if is_case else None, None, None, None,
            color, json.dumps(reasons, ensure_ascii=False), now, now, now, "bench",
        ))
    return rows


CODE_COLUMNS = ("person_id", "color", "reasons", "until", "version", "updated_at", "doc")


def code_rows(people: list[tuple]) -> list[tuple]:
    """The read model's rows (``health_code``) of ``people``, as the registry's one writer shapes them."""
    from services.registry.domain import code_view

    at = {name: i for i, name in enumerate(PERSON_COLUMNS)}
    rows = []
    for p in people:
        v = code_view.view(person_id=p[at["id"]], color=p[at["health_color"]], reasons=json.loads(p[at["health_reasons"]]),
                           version=0, updated_at=p[at["health_updated_at"]])
        rows.append((v.person_id, v.color, json.dumps(v.reasons, ensure_ascii=False), v.until, v.version, v.updated_at, v.doc))
    return rows


async def load_people(db_url: str, rows: list[tuple]) -> None:
    import asyncpg

    conn = await asyncpg.connect(db_url, timeout=10)
    try:
        await conn.copy_records_to_table("person", records=rows, columns=PERSON_COLUMNS)
        await conn.copy_records_to_table("health_code", records=code_rows(rows), columns=CODE_COLUMNS)
        await conn.execute("ANALYZE person")
        await conn.execute("ANALYZE health_code")
    finally:
        await conn.close()


# --- the load generator (a process of its own) ---------------------------------------------------


async def generate_load(config: dict) -> dict:
    import aiohttp

    base, ids, headers = config["base_url"], config["ids"], config["headers"]
    bodies, post_path = config.get("bodies"), config.get("path")  # POST these bodies instead of the GET
    header_list = config.get("header_list")  # GET ``path`` with one of these (a resident's own code)
    warmup, seconds, concurrency = config["warmup"], config["seconds"], config["concurrency"]
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    errors: dict[str, int] = {}
    sizes: set[int] = set()
    t_start = time.perf_counter()
    t_measure, t_end = t_start + warmup, t_start + warmup + seconds
    cpu0: list[float] = []
    completed = [0]  # every answer, warm-up included: the server's CPU per request is over the same span

    async def worker(seed: int) -> None:
        rng = random.Random(seed)
        while True:
            started = time.perf_counter()
            if started >= t_end:
                return
            if bodies:
                request = session.post(base + post_path, data=bodies[rng.randrange(len(bodies))],
                                       headers={**headers, "Content-Type": "application/json"})
            elif header_list:
                request = session.get(base + post_path, headers=header_list[rng.randrange(len(header_list))])
            else:
                request = session.get(base + PATH.format(ids[rng.randrange(len(ids))]), headers=headers)
            try:
                async with request as response:
                    body = await response.read()
                    status = response.status
            except (TimeoutError, aiohttp.ClientError) as exc:
                if started >= t_measure:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                continue
            done = time.perf_counter()
            completed[0] += 1
            if started >= t_measure and done <= t_end:
                latencies.append(done - started)
                statuses[str(status)] = statuses.get(str(status), 0) + 1
                sizes.add(len(body))

    async def mark() -> None:
        await asyncio.sleep(warmup)
        cpu0.append(time.process_time())

    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        marker = asyncio.create_task(mark())
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        await marker
    cpu = time.process_time() - cpu0[0]
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0.0

    ok = statuses.get("200", 0)
    return {
        "requests": len(latencies),
        "completed": completed[0],
        "ok": ok,
        "statuses": statuses,
        "errors": errors,
        "seconds": seconds,
        "rps": ok / seconds,
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": latencies[-1] * 1000 if latencies else 0.0,
        "body_sizes": sorted(sizes)[:5],
        "loadgen_cpu_pct": 100 * cpu / seconds,
    }


def run_loadgen(tmp: Path, label: str, base_url: str, ids: list[str], headers: dict, args, extra: dict | None = None) -> dict:
    config = {"base_url": base_url, "ids": ids, "headers": headers, "warmup": args.warmup,
              "seconds": args.seconds, "concurrency": args.concurrency, **(extra or {})}
    path = tmp / f"load-{label}.json"
    path.write_text(json.dumps(config))
    out = subprocess.run(
        [sys.executable, "-m", "bench.health_code", "--loadgen", str(path)],
        cwd=REPO, capture_output=True, text=True, timeout=args.warmup + args.seconds + 120,
    )
    if out.returncode != 0:
        raise RuntimeError(f"load generator failed ({label}):\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- the baseline servers (a process of their own) -----------------------------------------------


def bare_asgi_app(body: bytes):
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["method"] == "POST":  # the verify baseline: a real endpoint reads the body it is sent
            while (await receive()).get("more_body", False):
                pass
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def bare_fastapi_app(body: bytes):
    from fastapi import FastAPI

    template = json.loads(body)
    app = FastAPI()

    @app.get(PATH.format("{person_id}"))
    async def health_code(person_id: uuid.UUID) -> dict:
        return {**template, "person_id": str(person_id)}

    return app


def serve_bare(kind: str, port: int, body_file: Path) -> None:
    import uvicorn

    body = body_file.read_bytes()
    app = bare_asgi_app(body) if kind == "asgi" else bare_fastapi_app(body)
    # The options `cordon serve` gives uvicorn.
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, proxy_headers=True, access_log=False)


class BareServer(ServiceProcess):
    def __init__(self, kind: str, body_file: Path, log_path: Path) -> None:
        super().__init__("bare", dict(os.environ), log_path)
        self.kind, self.body_file = kind, body_file

    def start(self) -> BareServer:
        self._log = open(self.log_path, "wb")
        cmd = [sys.executable, "-m", "bench.health_code", "--serve-bare", self.kind, "--port", str(self.port),
               "--body-file", str(self.body_file)]
        self.process = subprocess.Popen(cmd, env=self.env, cwd=REPO, stdout=self._log, stderr=subprocess.STDOUT)
        return self

    async def wait_ready(self, timeout: float = 30.0) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as client:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"bare server exited with {self.process.returncode}:\n{self.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(self.base_url + PATH.format(uuid.uuid4()))).status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"bare server not ready within {timeout}s")
                await asyncio.sleep(0.1)


@dataclass
class Run:
    name: str
    result: dict
    server_cpu_pct: float = 0.0
    notes: list[str] = field(default_factory=list)
    round: int = 0
    cpu_us: float = 0.0  # the server's CPU per answer
    pg_cpu_us: float = 0.0  # the PostgreSQL backends' CPU per answer


async def drive(server: ServiceProcess, name: str, tmp: Path, ids: list[str], headers: dict, args, extra=None,
                round_: int = 0, database=None) -> Run:
    """The load generator against ``server``; the server's CPU use over the whole drive (warm-up included)."""
    pg0 = await backend_cpu(database.url(), database.name) if database else {}
    cpu0, t0 = cpu_seconds(server.pid), time.perf_counter()
    label = f"{round_}-" + "".join(c if c.isalnum() else "_" for c in name)
    result = await asyncio.to_thread(run_loadgen, tmp, label, server.base_url, ids, headers, args, extra)
    cpu1, t1 = cpu_seconds(server.pid), time.perf_counter()
    pg1 = await backend_cpu(database.url(), database.name) if database else {}
    run = Run(name, result, 100 * (cpu1 - cpu0) / (t1 - t0), round=round_)
    done = max(1, result.get("completed", 0))
    # CPU per answer: what the machine's load does not change much (a loaded machine stretches the time, not the work).
    run.cpu_us = 1e6 * (cpu1 - cpu0) / done
    run.pg_cpu_us = 1e6 * sum(pg1.get(pid, 0.0) - pg0.get(pid, 0.0) for pid in pg1) / done if database else 0.0
    if result["ok"] != result["requests"] or result["errors"]:
        run.notes.append(f"statuses {result['statuses']}, errors {result['errors']}")
    return run


async def verify_bodies(service: ServiceProcess, tmp: Path, ids: list[str]) -> tuple[list[str], list[dict]]:
    """Real passes of up to 200 people (each issued once, to a resident token), and those residents' headers."""
    import httpx

    bodies, residents = [], []
    async with httpx.AsyncClient(base_url=service.base_url, timeout=10) as client:
        for person_id in ids[:200]:
            resident = signed_token(tmp / "home", subject=f"r-{person_id}", role="resident", person_id=person_id)
            residents.append({"Authorization": f"Bearer {resident}"})
            issued = await client.get("/api/v1/me/health-code/pass", headers=residents[-1])
            if issued.status_code != 200:
                raise RuntimeError(f"pass answered {issued.status_code}: {issued.text[:300]}")
            bodies.append(json.dumps({"token": issued.json()["token"]}))
    return bodies, residents


# --- the whole run -------------------------------------------------------------------------------

BASELINE = "baseline: bare uvicorn ASGI app"
BASELINE_POST = "baseline: the same, POST of the passes"
CODE = "registry: GET /persons/{id}/health-code"
ME = "registry: GET /me/health-code"
VERIFY = "registry: POST /health-code/verify"
ORDINARY = "ordinary routes: GET /persons/{id}/health-code"
FASTAPI = "bare FastAPI route (same uvicorn)"


async def run(args, tmp: Path, env: dict) -> dict:
    import httpx

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
    progress(f"making {args.people:,} people")
    people = make_people(args.people, vault, now)
    ids = [str(row[0]) for row in people]
    token = signed_token(tmp / "home", subject="official-bench", role="official", regions=[PROVINCE], username="official-bench")
    headers = {"Authorization": f"Bearer {token}"}

    nats = NatsServer(store_dir=tmp / "nats")
    servers: list[ServiceProcess] = []
    runs: list[Run] = []
    profile: dict = {}
    try:
        await database.create()
        await asyncio.to_thread(migrate.upgrade, "registry", database.url("postgresql+asyncpg"))
        await load_people(database.url(), people)
        setup_s = time.perf_counter() - t
        del people
        nats.start()
        await nats.wait_jetstream()
        service_env = {
            **env,
            "CORDON_REGISTRY_DATABASE_URL": database.url("postgresql+asyncpg"),
            "CORDON_NATS_URL": nats.url,
            "CORDON_LOG_LEVEL": "WARNING",
            "CORDON_PASS_TTL_S": "3600",  # passes outlive every verify drive
            "CORDON_TICKER_INTERVAL_S": "0",  # no clockwork sweeps in the middle of a measurement
        }
        if args.pool_size:
            service_env["CORDON_HOT_POOL_SIZE"] = str(args.pool_size)
        progress(f"people loaded into {database.name}; starting the registry and the baselines")
        service = ServiceProcess("registry", service_env, tmp / "registry.log").start()
        servers.append(service)
        ordinary = None
        if args.with_ordinary:
            ordinary = ServiceProcess("registry", {**service_env, "CORDON_HOT_READS": "false"},
                                      tmp / "registry-ordinary.log").start()
            servers.append(ordinary)
        await service.wait_ready()
        if ordinary:
            await ordinary.wait_ready()
        async with httpx.AsyncClient(base_url=service.base_url, timeout=10) as client:
            answer = await client.get(PATH.format(ids[0]), headers=headers)
            if answer.status_code != 200:
                raise RuntimeError(f"health code answered {answer.status_code}: {answer.text[:300]}")
        body_file = tmp / "body.json"
        body_file.write_bytes(answer.content)
        bodies, residents = await verify_bodies(service, tmp, ids)
        bare = BareServer("asgi", body_file, tmp / "bare-asgi.log").start()
        servers.append(bare)
        await bare.wait_ready()
        fastapi = None
        if args.with_fastapi:
            fastapi = BareServer("fastapi", body_file, tmp / "bare-fastapi.log").start()
            servers.append(fastapi)
            await fastapi.wait_ready()

        spy = None
        if args.profile:
            Path(args.profile).mkdir(parents=True, exist_ok=True)
            spy = PySpy(service.pid, Path(args.profile) / "health_code.pyspy.txt")
            spy.start()
        hot = {"read": (CODE, service, None),
               "me": (ME, service, {"header_list": residents, "path": "/api/v1/me/health-code"}),
               "verify": (VERIFY, service, {"bodies": bodies, "path": VERIFY_PATH})}
        drives = [(BASELINE, bare, None), *(hot[route] for route in args.routes)]
        if "verify" in args.routes:  # the same POSTs to the bare app: the baseline of a route with a body
            drives.insert(1, (BASELINE_POST, bare, {"bodies": bodies, "path": VERIFY_PATH}))
        if ordinary:
            drives.append((ORDINARY, ordinary, None))
        if fastapi:
            drives.append((FASTAPI, fastapi, None))
        try:
            for round_ in range(args.rounds):
                # Baseline and service interleaved, the order turned each round: a load that comes and goes
                # on the shared machine falls on each of them alike.
                order = drives if round_ % 2 == 0 else [drives[0], *reversed(drives[1:])]
                for name, server, extra in order:
                    progress(f"round {round_ + 1}/{args.rounds}: {name}")
                    runs.append(await drive(server, name, tmp, ids, headers, args, extra, round_=round_,
                                            database=None if server is bare or server is fastapi else database))
        finally:
            if spy:
                spy.stop()
        if spy and spy.out.exists():
            from bench.common import summarize_profile

            profile = summarize_profile(spy.out)
    finally:
        for server in servers:
            server.stop()
        nats.stop()
        await database.drop()
        progress("stopped and dropped")
    return {
        "people": args.people,
        "concurrency": args.concurrency,
        "seconds": args.seconds,
        "warmup": args.warmup,
        "rounds": args.rounds,
        "body_bytes": len(answer.content),
        "setup_seconds": round(setup_s, 1),
        "machine": machine,
        "runs": runs,
        "profiled": bool(args.profile),
        "profile": profile,
    }


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def baseline_of(name: str, runs: list[Run]) -> str:
    """Each drive's baseline: a GET's is the bare app's GET, verify's the bare app sent the same POSTs."""
    if name == VERIFY and any(r.name == BASELINE_POST for r in runs):
        return BASELINE_POST
    return BASELINE


def summary(runs: list[Run]) -> dict[str, dict]:
    """Per server: median req/s, p50, p99, CPU, and the median of each round's ratio to that round's baseline."""
    out: dict[str, dict] = {}
    for name in dict.fromkeys(r.name for r in runs):
        mine = [r for r in runs if r.name == name]
        base = {r.round: r.result["rps"] for r in runs if r.name == baseline_of(name, runs)}
        out[name] = {
            "rps": _median([r.result["rps"] for r in mine]),
            "p50_ms": _median([r.result["p50_ms"] for r in mine]),
            "p99_ms": _median([r.result["p99_ms"] for r in mine]),
            "server_cpu_pct": _median([r.server_cpu_pct for r in mine]),
            "loadgen_cpu_pct": _median([r.result["loadgen_cpu_pct"] for r in mine]),
            "ratio": _median([r.result["rps"] / base[r.round] for r in mine if base.get(r.round)]),
            "cpu_us": _median([r.cpu_us for r in mine]),
            "pg_cpu_us": _median([r.pg_cpu_us for r in mine]),
            "rounds": [round(r.result["rps"]) for r in mine],
            "notes": sorted({n for r in mine for n in r.notes}),
        }
    return out


def report(out: dict) -> str:
    table = summary(out["runs"])
    lines = [
        f"Cordon health-code benchmark: {out['people']:,} people, concurrency {out['concurrency']}, "
        f"{out['rounds']} rounds of {out['seconds']}s measured after {out['warmup']}s warm-up per server, interleaved; "
        f"{out['body_bytes']}-byte answers{'  [PROFILED: py-spy attached]' if out['profiled'] else ''}",
        machine_line(out["machine"]),
        "",
        f"{'server (medians over the rounds)':<48} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'vs base':>8} "
        f"{'server CPU':>10} {'µs/req':>7} {'PG µs/req':>9} {'loadgen CPU':>11}  req/s per round",
    ]
    for name, m in table.items():
        lines.append(
            f"{name:<48} {m['rps']:>8,.0f} {m['p50_ms']:>8.1f} {m['p99_ms']:>8.1f} {m['ratio']:>8.3f} "
            f"{m['server_cpu_pct']:>9.0f}% {m['cpu_us']:>7.0f} {m['pg_cpu_us']:>9.0f} {m['loadgen_cpu_pct']:>10.0f}%  {m['rounds']}"
            + (f"  [{'; '.join(m['notes'])}]" if m["notes"] else "")
        )
    lines.append("")
    for name, label in ((CODE, "registry"), (ME, "me"), (VERIFY, "verify"), (ORDINARY, "ordinary routes")):
        if name in table:
            m, base = table[name], baseline_of(name, out["runs"])
            cpu_ratio = table[base]["cpu_us"] / m["cpu_us"] if m["cpu_us"] else 0.0
            lines.append(f"ratio {label} / bare uvicorn{' POST' if base == BASELINE_POST else ''} (median of the rounds' ratios): {m['ratio']:.3f}; by server CPU per "
                         f"answer {cpu_ratio:.3f} (one core: {1e6 / m['cpu_us'] if m['cpu_us'] else 0:,.0f} answers/s, "
                         f"PostgreSQL {m['pg_cpu_us']:.0f} µs each besides)")
    from bench.common import profile_lines

    lines += profile_lines(out["profile"])
    return "\n".join(lines)


def to_json(out: dict) -> dict:
    return {
        **{k: v for k, v in out.items() if k not in ("runs", "profile")},
        "summary": summary(out["runs"]),
        "runs": [asdict(r) for r in out["runs"]],
        "profile": __import__("bench.common", fromlist=["profile_json"]).profile_json(out["profile"]),
    }


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.health_code", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--people", type=int, default=100_000, help="people in the registry (default 100,000)")
    parser.add_argument("--concurrency", type=int, default=64, help="concurrent requests (default 64)")
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per server and round (default 8)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each driving every server once (default 3)")
    parser.add_argument("--pool-size", type=int, help="the registry's driver pool for the hot reads (default: its setting)")
    parser.add_argument("--with-ordinary", action="store_true",
                        help="also a second registry on the same database with the hot layer off (the ordinary routes)")
    parser.add_argument("--with-fastapi", action="store_true", help="also the bare FastAPI route (the framework's share)")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds first (default 2)")
    parser.add_argument("--postgres-url", default=ADMIN_URL, help="admin database the temporary one is created from")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--profile", metavar="DIR", help="sample the registry with py-spy into DIR and list the hot frames")
    parser.add_argument("--routes", nargs="+", choices=["read", "me", "verify"], default=["read", "me", "verify"],
                        help="the registry's routes to drive (default all three; one alone for a profile of it)")
    parser.add_argument("--record", action="store_true", help="keep the run's rows for the README table (bench/results.json)")
    # Internal: the separate processes this benchmark starts.
    parser.add_argument("--loadgen", metavar="CONFIG", help=argparse.SUPPRESS)
    parser.add_argument("--serve-bare", choices=["asgi", "fastapi"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--body-file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.people < 1 or args.concurrency < 1 or args.seconds <= 0 or args.warmup < 0 or args.rounds < 1:
        parser.error("--people, --concurrency and --seconds must be positive")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.loadgen:
        config = json.loads(Path(args.loadgen).read_text())
        try:
            import uvloop  # the loop uvicorn runs the servers on
        except ImportError:
            result = asyncio.run(generate_load(config))
        else:
            result = uvloop.run(generate_load(config))
        print(json.dumps(result))
        return 0
    if args.serve_bare:
        serve_bare(args.serve_bare, args.port, Path(args.body_file))
        return 0

    from bench.common import in_private_home

    out = in_private_home(run, args)
    print(report(out))
    if args.json:
        Path(args.json).write_text(json.dumps(to_json(out), indent=2, default=str) + "\n")
    ok = all(not r.notes for r in out["runs"])  # a request that failed voids the figures
    if ok and args.record and not args.profile:
        record(out)
    return 0 if ok else 1


def record(out: dict) -> None:
    """The README rows: each hot read beside the bare endpoint of the same run."""
    from bench.common import keep_row

    table = summary(out["runs"])
    for name, key in ((CODE, "read"), (ME, "me"), (VERIFY, "verify")):
        if name not in table:
            continue
        m, base = table[name], table[baseline_of(name, out["runs"])]
        sent = ", the same POSTs" if baseline_of(name, out["runs"]) == BASELINE_POST else ""
        cpu_ratio = base["cpu_us"] / m["cpu_us"] if m["cpu_us"] else 0.0
        keep_row(f"bench/health_code.py ({key})", machine=out["machine"],
                 what=f"`{name.removeprefix('registry: ')}` over {out['people']:,} people, {out['concurrency']} concurrent, "
                      f"{out['rounds']} interleaved rounds (PostgreSQL)",
                 cordon=f"{m['rps']:,.0f} req/s, p50 {m['p50_ms']:.0f} ms, p99 {m['p99_ms']:.0f} ms; {m['cpu_us']:.0f} µs of server "
                        f"CPU an answer (+{m['pg_cpu_us']:.0f} µs PostgreSQL)",
                 baseline=f"bare uvicorn ASGI app{sent} {base['rps']:,.0f} req/s, {base['cpu_us']:.0f} µs an answer",
                 ratio=f"{m['ratio']:.2f} (by CPU {cpu_ratio:.2f}; target ≥ 0.6)")


if __name__ == "__main__":
    sys.exit(main())
