"""What the gateway's hop costs: the same requests through the gateway and straight to the registry.

    .venv/bin/python -m bench.gateway [--seconds S] [--concurrency C] [--records N]
                                      [--database sqlite|postgres] [--rounds R] [--people P]
                                      [--profile-seconds D] [--profile-out PATH] [--json PATH]

Everything is started here and stopped here, in a private temp dir (removed at the end):

* a nats-server (JetStream, store in the temp dir); a fresh registry database and a fresh gateway
  database, both migrated (``cordon.migrate.upgrade``): SQLite files in the temp dir, or with
  ``--database postgres`` two temporary databases on 127.0.0.1:5432 (trust auth) created and dropped
  via asyncpg;
* the registry and the gateway as separate processes, as in production
  (``python -m cordon serve <name> --host 127.0.0.1 --port P``, CORDON_LOG_LEVEL=WARNING). The
  gateway's rate limits are raised far above the load so that they never refuse (the bucket check
  still runs on every request); every other setting is the default;
* P people (default 1,000) registered through the registry API; the run then waits until the
  gateway's ``gateway-persons`` consumer has projected them, so that it does not compete with the load.

Then, in the same run:

1. GET /api/v1/persons/{id}/health-code with one official JWT, from a load generator in a separate
   process (asyncio + aiohttp, uvloop, C workers on a keep-alive pool, each cycling through the people):
   a 1 s warm-up, then S seconds measured; R rounds (default 2) alternating direct and gateway, pooled.
   Requests/s = answers completed in the windows / their seconds; p50/p99 of those answers' latency
   (the median round's). Per request and per process: CPU time (/proc/PID/stat utime+stime) and time
   runnable but waiting for a core (/proc/PID/task/*/schedstat), which shows how contended the cores were.
2. POST /api/v1/travel-records/batch: N NDJSON records (generated before the clock starts, a fresh
   record_id prefix per path) in one request with a partner JWT, the body streamed from an async
   generator (chunked, no Content-Length, so the gateway streams it too). Records/s from the first
   byte sent to the answer; the gateway's peak RSS during the push (VmHWM, reset via
   /proc/PID/clear_refs just before) against its RSS before it: a body held whole would add its size.
   Direct, gateway, direct again: each push lands on a larger table, so the gateway's push is compared
   with the two direct ones around it (the third is left out when the budget is short).
3. The gateway process sampled by py-spy (``py-spy record --nonblocking --format raw``, attached by
   pid) for D seconds under the same GET load; each sample is charged to the innermost frame that
   matches a category (JWT verification, routing, the aiohttp client, Starlette, middleware, logging...),
   plus the top self-time frames. py-spy counts every non-idle sample, including time the process
   was runnable but preempted, so on a contended machine the shares lean towards the calls that wake
   another process (socket writes); the waiting time is printed next to the CPU time to judge that.
4. With the services stopped, the gateway's own per-request steps (decode_token, routes.resolve, the
   rate-limit checks, the header copies, the Response, the middleware's bookkeeping...) timed in this
   process with thread CPU time, and the gateway's whole ASGI app called in-process with only the
   upstream exchange stubbed, against the gateway's CPU per request from 1: what is left is the HTTP
   machinery (uvicorn, the aiohttp client, the event loop, the socket system calls). Two what-ifs are
   timed the same way, patched in this process only: a verified-token cache in front of decode_token,
   and the proxy route matched before FastAPI's own routes.

The machine is shared (two cores; the load generator, the gateway and the registry all compete for
them, and so does any other work running at the time): the load average before the run is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import platform
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

REPO = common.REPO
POSTGRES_ADMIN_URL = common.ADMIN_URL
API = "/api/v1"
WARMUP_S = 1.0
READY_TIMEOUT_S = 60.0
PROJECTION_TIMEOUT_S = 30.0
REGISTER_BUDGET_S = 60.0  # registering stops here (and the run goes on with those registered): SQLite writes are serial
STOP_GRACE_S = 10.0
LINES_PER_PIECE = 1000  # NDJSON lines per chunk the push body generator yields
PEOPLE_REGION = "110101"  # every person lives here; the official's token covers 110000
REGIONS = ("110101", "110105", "310101", "320102", "330106", "420102", "440305", "510104")
UNLIMITED_RATE = "1000000000"
CLK_TCK = os.sysconf("SC_CLK_TCK")
RATIO_TARGET = 0.60


# --- the machine and the code measured -----------------------------------------------------------


def machine_info() -> dict:
    """The machine (bench/common.py), with the HTTP libraries the hop runs on."""
    import aiohttp
    import uvicorn

    libs = {"aiohttp": aiohttp.__version__, "uvicorn": uvicorn.__version__}
    with contextlib.suppress(ImportError):
        import uvloop

        libs["uvloop"] = uvloop.__version__
    return {**common.machine_info(), "libs": libs, "platform": platform.platform()}


# --- environment, databases, tokens ---------------------------------------------------------------


def prepare_env(tmp: Path) -> None:
    """A private CORDON_HOME in dev mode; the dev keys are made before any process reads its settings."""
    for name in list(os.environ):
        if name.startswith("CORDON_"):
            os.environ.pop(name)
    os.environ["CORDON_HOME"] = str(tmp / "home")
    os.environ["CORDON_ENV"] = "dev"
    os.environ["CORDON_LOG_LEVEL"] = "WARNING"
    from cordon.keys import dev_secrets

    dev_secrets(tmp / "home")


class Databases:
    """The registry's and the gateway's fresh databases: SQLite files in the temp dir, or temporary PostgreSQL ones."""

    def __init__(self, backend: str, tmp: Path, admin_url: str) -> None:
        self.backend, self.tmp, self.admin_url = backend, tmp, admin_url
        self.created: list[str] = []

    async def new(self, role: str) -> str:
        if self.backend == "sqlite":
            path = self.tmp / "db" / f"{role}.db"
            path.parent.mkdir(parents=True, exist_ok=True)
            return f"sqlite+aiosqlite:///{path}"
        import asyncpg
        from sqlalchemy.engine import make_url

        name = f"cordon_bench_gw_{role}_{secrets.token_hex(4)}"
        conn = await asyncpg.connect(self.admin_url, timeout=10)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        self.created.append(name)
        return make_url(self.admin_url).set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)

    async def drop_all(self) -> None:
        if not self.created:
            return
        import asyncpg

        conn = await asyncpg.connect(self.admin_url, timeout=10)
        try:
            while self.created:
                await conn.execute(f'DROP DATABASE IF EXISTS "{self.created.pop()}" WITH (FORCE)')
        finally:
            await conn.close()

    async def describe(self) -> str:
        if self.backend == "sqlite":
            import sqlite3

            return f"sqlite {sqlite3.sqlite_version} (files in a temp dir)"
        import asyncpg

        conn = await asyncpg.connect(self.admin_url, timeout=10)
        try:
            version = await conn.fetchval("SHOW server_version")
        finally:
            await conn.close()
        return f"postgres {version} on 127.0.0.1:5432 (temporary databases)"


def mint(role: str, *, regions: tuple[str, ...] = (), ttl: int = 3600) -> str:
    """A token signed with the run's dev key, as the gateway signs them."""
    import jwt

    from cordon.keys import ensure_jwt_keypair
    from cordon.settings import Settings

    private, _ = ensure_jwt_keypair(Settings().home)
    now = int(time.time())
    claims = {"sub": str(uuid.uuid4()), "role": role, "regions": list(regions), "iss": "cordon", "aud": "cordon",
              "iat": now, "exp": now + ttl, "username": f"bench-{role}"}
    return jwt.encode(claims, private.read_text(), algorithm="EdDSA")


# --- the processes ---------------------------------------------------------------------------------


@dataclass
class Child:
    """One service process (`python -m cordon serve NAME`), its log in the temp dir."""

    name: str
    port: int
    log: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, env: dict[str, str]) -> Child:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "cordon", "serve", self.name, "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C reaches this process only; it stops the children itself
            )
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def cpu_seconds(self) -> float:
        """utime + stime of the process so far (all its threads)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def sched_seconds(self) -> tuple[float, float]:
        """(on a CPU, runnable but waiting for one) so far, summed over the process's threads (/proc/PID/task/*/schedstat)."""
        on_cpu = waiting = 0
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = (task / "schedstat").read_text().split()
                on_cpu += int(fields[0])
                waiting += int(fields[1])
        return on_cpu / 1e9, waiting / 1e9

    def memory_kb(self) -> dict[str, int]:
        out = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1])
        return out

    def reset_peak(self) -> bool:
        """Reset VmHWM to the current RSS (Linux >= 4.0); False where not allowed."""
        try:
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")
            return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


async def wait_ready(child: Child, path: str, timeout: float = READY_TIMEOUT_S) -> None:
    import aiohttp

    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while True:
            if not child.alive():
                raise RuntimeError(f"{child.name} exited with {child.process.returncode}:\n{child.tail()}")
            with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                async with session.get(child.url + path, timeout=aiohttp.ClientTimeout(total=2)) as r:
                    if r.status == 200:
                        return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{child.name} not ready on {path} within {timeout:.0f}s:\n{child.tail()}")
            await asyncio.sleep(0.1)


# --- data -------------------------------------------------------------------------------------------


def id_number(i: int) -> str:
    return common.id_number(i, PEOPLE_REGION)


def person_phone(i: int) -> str:
    return f"139{i:08d}"


async def register_people(registry_url: str, token: str, count: int, concurrency: int = 8) -> list[str]:
    """Register ``count`` people through POST /persons (fewer if REGISTER_BUDGET_S runs out); their ids."""
    import aiohttp

    ids: list[str] = []
    queue = iter(range(count))
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + REGISTER_BUDGET_S

    async def worker(session: aiohttp.ClientSession) -> None:
        for i in queue:
            if time.monotonic() > deadline:
                return
            body = {"id_number": id_number(i), "name": f"Bench Person {i}", "phone": person_phone(i),
                    "region_code": PEOPLE_REGION, "language": "zh"}
            async with session.post(f"{registry_url}{API}/persons", json=body, headers=headers) as r:
                if r.status != 201:
                    raise RuntimeError(f"registering person {i}: {r.status} {(await r.text())[:300]}")
                ids.append((await r.json())["id"])

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    return ids


async def projected(gateway_url: str) -> int:
    """Events the gateway's person projection has handled so far (from its /metrics)."""
    import aiohttp

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        async with session.get(f"{gateway_url}/metrics") as r:
            text = await r.text()
    total = 0.0
    for line in text.splitlines():
        if line.startswith("cordon_bus_handled_total{") and 'consumer="gateway-persons"' in line and "retried" not in line:
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


def travel_pieces(records: int, prefix: str, seed: int) -> list[bytes]:
    """``records`` NDJSON travel records in pieces of LINES_PER_PIECE lines; one in 50 names a registered person's phone."""
    import orjson

    rng = random.Random(seed)
    today = date.today()
    pieces, lines = [], []
    for i in range(records):
        first = today - timedelta(days=rng.randrange(14))
        last = min(first + timedelta(days=rng.randrange(4)), today)
        phone = person_phone(rng.randrange(1000)) if i % 50 == 0 else f"13{rng.randrange(10**9):09d}"
        lines.append(orjson.dumps({"record_id": f"{prefix}-{i:08d}", "phone": phone, "region_code": rng.choice(REGIONS),
                                   "first_seen": first.isoformat(), "last_seen": last.isoformat()}))
        if len(lines) == LINES_PER_PIECE:
            pieces.append(b"\n".join(lines) + b"\n")
            lines = []
    if lines:
        pieces.append(b"\n".join(lines) + b"\n")
    return pieces


# --- the load generator (runs in a process of its own: `python -m bench.gateway --load SPEC`) -----------


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[k]


def own_wait_seconds() -> float:
    """Seconds this process's threads have been runnable but waiting for a CPU."""
    total = 0
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += int((task / "schedstat").read_text().split()[1])
    return total / 1e9


def say_marker(marker: str) -> None:
    sys.stdout.write(marker + "\n")
    sys.stdout.flush()


async def load_get(spec: dict) -> dict:
    """C workers GET the health codes until the window closes; answers completed in the window count."""
    import aiohttp

    c, seconds, warmup = spec["concurrency"], spec["seconds"], spec["warmup"]
    urls = [f"{spec['base']}{API}/persons/{pid}/health-code" for pid in spec["ids"]]
    headers = {"Authorization": f"Bearer {spec['token']}"}
    latencies: list[float] = []
    statuses: collections.Counter = collections.Counter()
    connector = aiohttp.TCPConnector(limit=c, limit_per_host=c, keepalive_timeout=60)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, skip_auto_headers=("User-Agent",)) as session:
        start = time.perf_counter()
        t0, t1 = start + warmup, start + warmup + seconds
        cpu = {}

        async def markers() -> None:
            await asyncio.sleep(max(t0 - time.perf_counter(), 0))
            cpu["t0"], cpu["w0"] = time.process_time(), own_wait_seconds()
            say_marker("START")
            await asyncio.sleep(max(t1 - time.perf_counter(), 0))
            cpu["t1"], cpu["w1"] = time.process_time(), own_wait_seconds()
            say_marker("END")

        async def worker(k: int) -> None:
            i = k
            while True:
                began = time.perf_counter()
                if began >= t1:
                    return
                url = urls[i % len(urls)]
                i += c
                try:
                    async with session.get(url, headers=headers) as r:
                        await r.read()
                        status: int | str = r.status
                except (TimeoutError, aiohttp.ClientError) as exc:
                    status = type(exc).__name__
                done = time.perf_counter()
                if t0 <= done <= t1:
                    latencies.append(done - began)
                    statuses[status] += 1

        await asyncio.gather(markers(), *(worker(k) for k in range(c)))
    latencies.sort()
    ok = statuses.get(200, 0)
    return {
        "requests": len(latencies),
        "ok": ok,
        "errors": {str(k): v for k, v in statuses.items() if k != 200},
        "seconds": seconds,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "mean_ms": (sum(latencies) / len(latencies) * 1000) if latencies else float("nan"),
        "loadgen_cpu_s": cpu.get("t1", 0) - cpu.get("t0", 0),
        "loadgen_wait_s": cpu.get("w1", 0) - cpu.get("w0", 0),
    }


async def load_push(spec: dict) -> dict:
    """One streamed NDJSON push; the body is generated before the clock starts."""
    import aiohttp

    pieces = travel_pieces(spec["records"], spec["prefix"], spec["seed"])
    size = sum(len(p) for p in pieces)

    async def body():
        for piece in pieces:
            yield piece

    headers = {"Authorization": f"Bearer {spec['token']}", "Content-Type": "application/x-ndjson"}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=spec["timeout"])) as session:
        cpu0 = time.process_time()
        say_marker("START")
        t0 = time.perf_counter()
        async with session.post(f"{spec['base']}{API}/travel-records/batch", data=body(), headers=headers) as r:
            text = await r.text()
            status = r.status
        t1 = time.perf_counter()
        say_marker("END")
        cpu1 = time.process_time()
    answer = {}
    with contextlib.suppress(ValueError):
        answer = json.loads(text)
    return {
        "status": status, "seconds": t1 - t0, "bytes": size, "records": spec["records"],
        "accepted": answer.get("accepted"), "duplicates": answer.get("duplicates"),
        "rejected_total": answer.get("rejected_total"),
        "answer": text[:300] if status != 200 else "", "loadgen_cpu_s": cpu1 - cpu0,
    }


def load_main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    result = asyncio.run(load_get(spec) if spec["mode"] == "get" else load_push(spec))
    say_marker("RESULT " + json.dumps(result))
    return 0


# --- driving the load generator and watching the services ---------------------------------------------


@dataclass
class Window:
    """What a load-generator run saw: its result, and the services' CPU and memory over the measured window."""

    result: dict
    cpu_s: dict[str, float] = field(default_factory=dict)  # service -> CPU seconds in the window
    wait_s: dict[str, float] = field(default_factory=dict)  # service -> seconds runnable but waiting for a CPU
    rss_kb: dict[str, dict[str, int]] = field(default_factory=dict)  # service -> before / peak / sampled_peak


async def drive(spec: dict, tmp: Path, children: dict[str, Child], *, on_start=None, sample_rss: bool = False,
                timeout: float = 600.0) -> Window:
    """Run the load generator on ``spec``; snapshot the children's CPU at its START and END markers."""
    spec_path = tmp / f"load-{secrets.token_hex(4)}.json"
    spec_path.write_text(json.dumps(spec))
    log = (tmp / "loadgen.log").open("ab")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.gateway", "--load", str(spec_path),
        cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=log, start_new_session=True,
    )
    window = Window(result={})
    cpu0: dict[str, float] = {}
    wait0: dict[str, float] = {}
    sampler: asyncio.Task | None = None
    sampled: dict[str, int] = {}

    async def sample() -> None:
        while True:
            for name, child in children.items():
                with contextlib.suppress(OSError):
                    sampled[name] = max(sampled.get(name, 0), child.memory_kb().get("VmRSS", 0))
            await asyncio.sleep(0.02)

    try:
        async with asyncio.timeout(timeout):
            while line := (await proc.stdout.readline()).decode().strip():
                if line == "START":
                    if sample_rss:
                        for name, child in children.items():
                            window.rss_kb[name] = {"before": child.memory_kb().get("VmRSS", 0), "reset": child.reset_peak()}
                        sampler = asyncio.create_task(sample())
                    cpu0 = {name: child.cpu_seconds() for name, child in children.items()}
                    wait0 = {name: child.sched_seconds()[1] for name, child in children.items()}
                    if on_start is not None:
                        on_start()
                elif line == "END":
                    window.cpu_s = {name: child.cpu_seconds() - cpu0.get(name, 0.0) for name, child in children.items()}
                    window.wait_s = {name: child.sched_seconds()[1] - wait0.get(name, 0.0) for name, child in children.items()}
                    if sampler is not None:
                        sampler.cancel()
                        for name, child in children.items():
                            window.rss_kb[name]["peak"] = child.memory_kb().get("VmHWM", 0)
                            window.rss_kb[name]["sampled_peak"] = sampled.get(name, 0)
                elif line.startswith("RESULT "):
                    window.result = json.loads(line[7:])
            await proc.wait()
    finally:
        if sampler is not None:
            sampler.cancel()
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        log.close()
        spec_path.unlink(missing_ok=True)
    if not window.result:
        raise RuntimeError(f"the load generator failed (exit {proc.returncode}); see its log:\n"
                           + (tmp / "loadgen.log").read_text(errors="replace")[-2000:])
    for child in children.values():
        if not child.alive():
            raise RuntimeError(f"{child.name} died during the load:\n{child.tail()}")
    return window


# --- profile -----------------------------------------------------------------------------------------------

# Each sample goes to the innermost frame matching one of these (checked in this order for each frame).
CATEGORIES: list[tuple[str, re.Pattern]] = [
    ("JWT verify (cordon.auth.decode_token: PyJWT, PEM load, Ed25519)",
     re.compile(r"([(/]jwt/|[(/]cryptography/|^decode_token \(cordon/auth\.py)")),
    ("rate limits (gateway.limits.RateLimiter)", re.compile(r"^(check|take) \(gateway/limits\.py")),
    ("routing (gateway.routes.resolve)", re.compile(r"\(gateway/routes\.py")),
    ("metrics (prometheus_client)", re.compile(r"[(/]prometheus_client/")),
    ("logging", re.compile(r"[(/]logging/")),
    ("request-id + metrics middleware (cordon.observability)", re.compile(r"\(cordon/observability\.py|[(/]uuid\.py")),
    ("security-headers middleware (gateway.limits)", re.compile(r"\(gateway/limits\.py")),
    ("proxy: copy request headers (_request_headers)", re.compile(r"^_request_headers \(gateway/proxy\.py")),
    ("aiohttp client (request, pool, response parse)", re.compile(r"[(/](aiohttp|multidict|yarl|propcache|aiohappyeyeballs)/")),
    ("proxy.forward own code (headers out, timeouts, breaker)", re.compile(r"\(gateway/proxy\.py")),
    ("gateway _proxy handler own code", re.compile(r"\(gateway/app\.py")),
    ("Starlette request/response objects (Request, Headers, Response)",
     re.compile(r"[(/]starlette/(requests|responses|datastructures|background)\.py")),
    ("Starlette/FastAPI app, routing, exception middleware", re.compile(r"[(/](starlette|fastapi)/")),
    ("uvicorn HTTP server (httptools protocol, ASGI glue)", re.compile(r"[(/]uvicorn/")),
    ("database / NATS (background: consumer, aiosqlite, asyncpg)", re.compile(r"[(/](sqlalchemy|aiosqlite|asyncpg|nats)/|\(cordon/bus/")),
    ("asyncio / event loop", re.compile(r"[(/]asyncio/|uvloop")),
]
OTHER = "other"
FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")
SITE = re.compile(r".*?/(?:site-packages|lib/python3\.\d+)/")


def short_frame(frame: str) -> str:
    """'func (/…/site-packages/aiohttp/client.py:123)' -> 'func (aiohttp/client.py)'; repo paths made relative."""
    m = FRAME.match(frame)
    if not m:
        return frame
    path = m.group("file")
    path = SITE.sub("", path)
    path = path.replace(str(REPO) + "/", "")
    return f"{m.group('func')} ({path})"


def summarise_profile(folded: Path) -> dict:
    """Category shares (innermost matching frame), top self-time frames and inclusive shares of key functions."""
    categories: collections.Counter = collections.Counter()
    leaves: collections.Counter = collections.Counter()
    inclusive: collections.Counter = collections.Counter()
    total = 0
    for raw in folded.read_text(errors="replace").splitlines():
        stack, _, count = raw.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [short_frame(f) for f in stack.split(";")]
        total += n
        leaves[frames[-1]] += n
        for f in set(frames):
            inclusive[f] += n
        category = None
        for frame in reversed(frames):
            for name, pattern in CATEGORIES:
                if pattern.search(frame):
                    category = name
                    break
            if category:
                break
        categories[category or OTHER] += n
    key = [f for f in inclusive if re.search(r"\((gateway|cordon)/", f)]
    return {
        "samples": total,
        "categories": categories.most_common(),
        "leaves": leaves.most_common(15),
        "inclusive": sorted(((f, inclusive[f]) for f in key), key=lambda x: -x[1])[:15],
    }


# --- what the gateway's own steps cost, measured in this process -----------------------------------------


def component_costs(token: str, person_id: str, gateway_db: str) -> dict:
    """(step, CPU µs per call, calls per proxied GET) for the gateway's own per-request work, as it does it,
    and the µs per request of its whole ASGI app with the upstream exchange stubbed.

    Thread CPU time (time.thread_time), best of 3, warm caches: a floor, immune to waiting for a core.
    """
    import logging
    import uuid as uuid_mod

    import jwt
    from cryptography.hazmat.primitives.serialization import load_pem_public_key
    from fastapi import FastAPI
    from multidict import CIMultiDict, CIMultiDictProxy
    from starlette.requests import Request
    from starlette.responses import Response

    from cordon import observability
    from cordon.auth import ALGORITHM, decode_token
    from cordon.settings import Settings
    from gateway import limits, proxy, routes

    settings = Settings()
    pem = settings.jwt_public_key
    key = load_pem_public_key(pem.encode())
    head, payload, sig = token.encode().split(b".")
    signed, signature = head + b"." + payload, jwt.utils.base64url_decode(sig)
    path = f"persons/{person_id}/health-code"
    authorization = f"Bearer {token}"
    scope = {
        "type": "http", "http_version": "1.1", "method": "GET", "scheme": "http", "root_path": "",
        "path": f"{API}/{path}", "raw_path": f"{API}/{path}".encode(), "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8000"), (b"authorization", authorization.encode()), (b"accept", b"*/*"),
                    (b"accept-encoding", b"gzip, deflate")],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000), "path_params": {"path": path},
    }
    answered = CIMultiDictProxy(CIMultiDict([
        ("date", "Mon, 01 Jan 2024 00:00:00 GMT"), ("server", "uvicorn"), ("content-length", "150"),
        ("content-type", "application/json"), ("x-request-id", uuid_mod.uuid4().hex),
    ]))
    body = b'{"person_id":"%s","color":"green","reasons":[],"updated_at":"2024-01-01T00:00:00Z"}' % person_id.encode()
    limiter = limits.RateLimiter(1e9, 2e9)
    telemetry = FastAPI()._native_telemetry
    log = logging.getLogger("cordon.gateway.http")
    log.setLevel(logging.WARNING)  # as CORDON_LOG_LEVEL=WARNING leaves it
    template = f"{API}/{{path:path}}"

    def bookkeeping() -> None:  # RequestContextMiddleware's own work per request
        given = Request(scope).headers.get(observability.REQUEST_ID_HEADER, "")
        rid = given if observability._VALID_REQUEST_ID.match(given) else uuid_mod.uuid4().hex
        reset = observability.request_id_var.set(rid)
        observability.REQUESTS.labels("gateway", "GET", template, "200").inc()
        observability.LATENCY.labels("gateway", "GET", template).observe(0.003)
        log.info("%s %s %d %.1fms", "GET", template, 200, 3.0)
        observability.request_id_var.reset(reset)

    steps = [
        ("JWT verify: cordon.auth.decode_token, PEM text as the key (as now)",
         lambda: decode_token(token, public_key=pem, issuer="cordon", audience="cordon"), 1),
        ("  of which parsing the PEM (PyJWT prepare_key -> load_pem_public_key)", lambda: load_pem_public_key(pem.encode()), 1),
        ("  of which the Ed25519 signature check itself (cryptography)", lambda: key.verify(signature, signed), 1),
        ("  the same verify with a key object loaded once",
         lambda: jwt.decode(token, key, algorithms=[ALGORITHM], issuer="cordon", audience="cordon",
                            options={"require": ["exp", "sub", "role"]}), 1),
        ("routing: gateway.routes.resolve", lambda: routes.resolve(path), 1),
        ("rate limits: RateLimiter.check (per IP, per principal)", lambda: limiter.check("127.0.0.1"), 2),
        ("request headers: Request(scope) + proxy._request_headers", lambda: proxy._request_headers(Request(scope), authorization), 1),
        ("response: header filter + Starlette Response(body, headers)",
         lambda: Response(body, status_code=200, headers={k: v for k, v in answered.items() if k.lower() not in proxy.HOP_BY_HOP}), 1),
        ("middleware: request id, 2 Prometheus metrics, disabled log call", bookkeeping, 1),
        ("FastAPI native telemetry check (os.environ lookups)", telemetry.enabled, 1),
    ]
    out = []
    for name, fn, calls in steps:
        fn()
        best = float("inf")
        for _ in range(3):
            n, t0 = 0, time.thread_time()
            while (elapsed := time.thread_time() - t0) < 0.1:
                for _ in range(50):
                    fn()
                n += 50
            best = min(best, elapsed / n)
        out.append((name, best * 1e6, calls))
    return {"steps": out, "asgi_app_us": asgi_app_cost(scope, answered, body, gateway_db)}


def asgi_app_cost(scope: dict, answered, body: bytes, gateway_db: str) -> dict[str, float]:
    """Thread-CPU µs per request through the gateway's real ASGI app, called in-process with only the aiohttp
    exchange replaced: what the gateway spends above uvicorn's HTTP parsing and below the upstream socket.
    The app runs its real lifespan on the run's gateway database, without NATS.

    Also two what-ifs, patched in this process only (no file is touched): a verified-token cache in front of
    decode_token, and the proxy route matched before FastAPI's own routes. A what-if that no longer fits the
    code is reported as missing.
    """
    from starlette.responses import Response

    from gateway import app as gateway_app
    from gateway import proxy

    def build(proxy_first: bool = False):
        # ERROR: the lifespan's JSON logging goes to this process's stderr; "no NATS" is expected here.
        settings = gateway_app.GatewaySettings(database_url=gateway_db, nats_url=None, log_level="ERROR",
                                               rate_per_ip=1e9, rate_per_principal=1e9,
                                               registry_url="http://127.0.0.1:9", testing_url="http://127.0.0.1:9",
                                               events_url="http://127.0.0.1:9", notify_url="http://127.0.0.1:9")
        app = gateway_app.create_app(settings)
        if proxy_first:
            catch_all = [r for r in app.router.routes if getattr(r, "path", "") == f"{API}/{{path:path}}"]
            if len(catch_all) != 1:
                raise LookupError("no single proxy route")
            if app.router.routes.index(catch_all[0]) == 0:
                raise LookupError("the proxy route is already first")
            app.router.routes.remove(catch_all[0])
            app.router.routes.insert(0, catch_all[0])
        return app

    async def forward(request, route, upstream, authorization):  # proxy.forward minus session.request and read
        upstream.breaker.retry_after(time.monotonic())
        request.headers.get("content-length")
        upstream.url + request.url.path + (f"?{request.url.query}" if request.url.query else "")
        proxy._request_headers(request, authorization)
        proxy.aiohttp.ClientTimeout(total=route.timeout_s, connect=3)
        upstream.breaker.success()
        headers = {k: v for k, v in answered.items() if k.lower() not in proxy.HOP_BY_HOP}
        return Response(body, status_code=200, headers=headers)

    real_decode = getattr(gateway_app, "decode_token", None)
    verified: dict[str, object] = {}

    def cached_decode(token: str, **kwargs):  # the suggested cache: a hit is a dict lookup (expiry check omitted)
        principal = verified.get(token)
        if principal is None:
            if real_decode is None:
                raise LookupError("gateway.app no longer calls decode_token")
            principal = verified[token] = real_decode(token, **kwargs)
        return principal

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    statuses: collections.Counter = collections.Counter()

    async def send(message):
        if message["type"] == "http.response.start":
            statuses[message["status"]] += 1

    async def measure(app) -> float:
        best = float("inf")
        async with app.router.lifespan_context(app):
            # Its start-up tasks (the first-admin check) finish first: they touch the database.
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            if others:
                await asyncio.wait(others, timeout=5)
            for _ in range(4):
                n, t0 = 0, time.thread_time()
                while (elapsed := time.thread_time() - t0) < 0.2:
                    for _ in range(20):
                        await app(dict(scope), receive, send)
                    n += 20
                best = min(best, elapsed / n)
        return best * 1e6

    variants = {
        "as now": (False, real_decode),
        "with a verified-token cache": (False, cached_decode),
        "with the proxy route matched first": (True, real_decode),
        "with both": (True, cached_decode),
    }
    loop = None
    with contextlib.suppress(ImportError):
        import uvloop

        loop = uvloop.new_event_loop()
    loop = loop or asyncio.new_event_loop()
    out: dict[str, float] = {}
    real_forward = proxy.forward
    proxy.forward = forward  # in this process only
    try:
        for name, (proxy_first, decode) in variants.items():
            try:
                if decode is not real_decode:
                    if real_decode is None:
                        raise LookupError("gateway.app no longer calls decode_token")
                    gateway_app.decode_token = decode
                statuses.clear()
                out[name] = loop.run_until_complete(measure(build(proxy_first)))
                if set(statuses) != {200}:
                    raise RuntimeError(f"the in-process gateway answered {dict(statuses)}")
            except Exception as exc:
                if name == "as now":
                    raise
                out[name] = float("nan")
                print(f"[bench] what-if {name!r} skipped: {type(exc).__name__}: {exc}", file=sys.stderr)
            finally:
                if real_decode is not None:
                    gateway_app.decode_token = real_decode
    finally:
        proxy.forward = real_forward
        loop.close()
    return out


def py_spy() -> str | None:
    return shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")


# --- the whole run -----------------------------------------------------------------------------------------


@dataclass
class ReadRun:
    path: str  # "direct" | "gateway"
    requests: int
    ok: int
    errors: dict
    seconds: float
    p50_ms: float
    p99_ms: float
    cpu_us_per_req: dict[str, float]  # process -> CPU µs per request in the window
    wait_us_per_req: dict[str, float]  # process -> µs per request runnable but waiting for a CPU

    @property
    def rate(self) -> float:
        """Successful (200) answers per second: an error is no throughput."""
        return self.ok / self.seconds if self.seconds else 0.0


@dataclass
class PushRun:
    path: str
    records: int
    bytes: int
    seconds: float
    status: int
    accepted: int | None
    duplicates: int | None
    rejected_total: int | None
    rss_kb: dict[str, dict[str, int]]
    cpu_s: dict[str, float]
    answer: str = ""

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


def read_run(path: str, w: Window) -> ReadRun:
    r = w.result
    n = max(r["requests"], 1)
    cpu = {"loadgen": r["loadgen_cpu_s"], **w.cpu_s}
    wait = {"loadgen": r["loadgen_wait_s"], **w.wait_s}
    return ReadRun(path=path, requests=r["requests"], ok=r["ok"], errors=r["errors"], seconds=r["seconds"], p50_ms=r["p50_ms"],
                   p99_ms=r["p99_ms"], cpu_us_per_req={k: v / n * 1e6 for k, v in cpu.items()},
                   wait_us_per_req={k: v / n * 1e6 for k, v in wait.items()})


def pooled(runs: list[ReadRun]) -> ReadRun:
    """Several rounds of one path as one: totals over total time; the median round's p50/p99."""
    if len(runs) == 1:
        return runs[0]
    n = sum(r.requests for r in runs)
    mid = sorted(runs, key=lambda r: r.rate)[len(runs) // 2]
    errors: collections.Counter = collections.Counter()
    for r in runs:
        errors.update(r.errors)
    cpu = {k: sum(r.cpu_us_per_req[k] * r.requests for r in runs) / max(n, 1) for k in runs[0].cpu_us_per_req}
    wait = {k: sum(r.wait_us_per_req[k] * r.requests for r in runs) / max(n, 1) for k in runs[0].wait_us_per_req}
    return ReadRun(runs[0].path, n, sum(r.ok for r in runs), dict(errors), sum(r.seconds for r in runs), mid.p50_ms, mid.p99_ms,
                   cpu, wait)


async def run(args, tmp: Path) -> dict:
    from cordon import migrate
    from cordon.natsserver import NatsServer, free_port

    machine = machine_info()
    out: dict = {"args": {k: v for k, v in vars(args).items() if k != "deadline"}, "machine": machine, "code": common.code_revision(("gateway", "cordon", "services/registry"))}
    databases = Databases(args.database, tmp, args.postgres_url)
    out["database"] = await databases.describe()
    nats = None
    children: dict[str, Child] = {}
    try:
        registry_db, gateway_db = await databases.new("registry"), await databases.new("gateway")
        t = time.perf_counter()
        await asyncio.to_thread(migrate.upgrade, "registry", registry_db)
        await asyncio.to_thread(migrate.upgrade, "gateway", gateway_db)
        nats = NatsServer(store_dir=tmp / "nats", log_file=tmp / "nats.log").start()
        await nats.wait_jetstream()

        base_env = dict(os.environ, CORDON_NATS_URL=nats.url)
        registry = Child("registry", free_port(), tmp / "registry.log")
        registry.start(dict(base_env, CORDON_REGISTRY_DATABASE_URL=registry_db))
        children["registry"] = registry
        await wait_ready(registry, "/readyz")
        gateway = Child("gateway", free_port(), tmp / "gateway.log")
        closed = f"http://127.0.0.1:{free_port()}"  # the other upstreams: not running, not called here
        gateway.start(dict(base_env, CORDON_GATEWAY_DATABASE_URL=gateway_db, CORDON_REGISTRY_URL=registry.url,
                           CORDON_TESTING_URL=closed, CORDON_EVENTS_URL=closed, CORDON_NOTIFY_URL=closed,
                           CORDON_RATE_PER_IP=UNLIMITED_RATE, CORDON_RATE_PER_PRINCIPAL=UNLIMITED_RATE))
        children["gateway"] = gateway
        await wait_ready(gateway, "/healthz")

        admin = mint("admin")
        official = mint("official", regions=("110000",))
        partner = mint("partner")
        t_people = time.perf_counter()
        ids = await register_people(registry.url, admin, args.people)
        registered_s = time.perf_counter() - t_people
        deadline = time.monotonic() + PROJECTION_TIMEOUT_S
        while (seen := await projected(gateway.url)) < len(ids) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        out["setup"] = {"seconds": time.perf_counter() - t, "people": len(ids), "register_s": registered_s,
                        "projected": seen}

        targets = {"direct": registry.url, "gateway": gateway.url}
        # 1. reads
        rounds: dict[str, list[ReadRun]] = {"direct": [], "gateway": []}
        for _ in range(args.rounds):
            for path, base in targets.items():
                spec = {"mode": "get", "base": base, "token": official, "ids": ids, "concurrency": args.concurrency,
                        "seconds": args.seconds, "warmup": WARMUP_S}
                watched = children if path == "gateway" else {"registry": registry}
                rounds[path].append(read_run(path, await drive(spec, tmp, watched, timeout=args.seconds + 60)))
        out["reads"] = {path: pooled(runs) for path, runs in rounds.items()}
        out["read_rounds"] = rounds

        # 2. the NDJSON push: direct, gateway, direct again. Each push lands on a larger table, so the gateway's
        # is compared with the mean of the two direct ones around it (the third is left out if time is short).
        pushes = {}
        plan = [("direct", registry.url, "d1"), ("gateway", gateway.url, "g"), ("direct again", registry.url, "d2")]
        for seed, (path, base, prefix) in enumerate(plan):
            left = args.deadline - time.monotonic() - (args.profile_seconds + 25 if args.profile_seconds > 0 else 15)
            if path == "direct again" and left < 2 * pushes["direct"].seconds + 10:
                out["push_skipped"] = f"{path}: {left:.0f} s of the budget left"
                break
            spec = {"mode": "push", "base": base, "token": partner, "records": args.records, "prefix": prefix,
                    "seed": seed, "timeout": max(left, 60)}
            w = await drive(spec, tmp, children, sample_rss=True, timeout=spec["timeout"] + 30)
            r = w.result
            pushes[path] = PushRun(path=path, records=r["records"], bytes=r["bytes"], seconds=r["seconds"], status=r["status"],
                                   accepted=r["accepted"], duplicates=r["duplicates"], rejected_total=r["rejected_total"],
                                   rss_kb=w.rss_kb, cpu_s=w.cpu_s, answer=r["answer"])
        out["pushes"] = pushes

        # 3. the profile of the gateway under the GET load
        if args.profile_seconds > 0:
            out["profile"] = await profile(args, tmp, gateway, registry, official, ids)

        # 4. with the services stopped (less competition for the cores), on the gateway's database.
        # A thread: it runs an event loop of its own.
        stop(children, nats)
        out["components"] = await asyncio.to_thread(component_costs, official, ids[0], gateway_db)
    finally:
        stop(children, nats)
        await databases.drop_all()
    return out


def stop(children: dict[str, Child], nats) -> None:
    """Stop the services, then NATS (each stop is a no-op the second time)."""
    for child in reversed(list(children.values())):
        child.stop()
    if nats is not None:
        nats.stop()


async def profile(args, tmp: Path, gateway: Child, registry: Child, token: str, ids: list[str]) -> dict:
    binary = py_spy()
    if binary is None:
        return {"error": "py-spy not found: .venv/bin/pip install py-spy"}
    folded = tmp / "gateway.folded"
    spy_log = (tmp / "py-spy.log").open("wb")
    holder: dict[str, subprocess.Popen] = {}

    def start_spy() -> None:
        holder["spy"] = subprocess.Popen(
            [binary, "record", "--pid", str(gateway.pid), "--duration", str(int(args.profile_seconds)), "--rate", "200",
             "--nonblocking", "--format", "raw", "--output", str(folded)],
            stdout=spy_log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    spec = {"mode": "get", "base": gateway.url, "token": token, "ids": ids, "concurrency": args.concurrency,
            "seconds": args.profile_seconds, "warmup": WARMUP_S}
    try:
        w = await drive(spec, tmp, {"gateway": gateway, "registry": registry}, on_start=start_spy,
                        timeout=args.profile_seconds + 60)
        spy = holder.get("spy")
        if spy is not None:
            try:
                await asyncio.to_thread(spy.wait, 30)
            except subprocess.TimeoutExpired:
                spy.send_signal(signal.SIGINT)  # py-spy writes what it has on SIGINT
                await asyncio.to_thread(spy.wait, 10)
    finally:
        spy = holder.get("spy")
        if spy is not None and spy.poll() is None:
            spy.kill()
            spy.wait()
        spy_log.close()
    if not folded.exists():
        return {"error": "py-spy wrote no profile:\n" + (tmp / "py-spy.log").read_text(errors="replace")[-1500:]}
    if args.profile_out:
        Path(args.profile_out).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(folded, args.profile_out)
    summary = summarise_profile(folded)
    run_ = read_run("gateway (profiled)", w)
    summary["run"] = run_
    return summary


# --- the report -----------------------------------------------------------------------------------------


def mb(kb: int) -> str:
    return f"{kb / 1024:,.1f}"


def report(out: dict) -> str:
    m, args = out["machine"], out["args"]
    cores = f"{m['cores']} cores" + (f" ({m['usable_cores']} usable)" if m["usable_cores"] != m["cores"] else "")
    libs = ", ".join(f"{k} {v}" for k, v in m["libs"].items())
    load = f"{m['load_average'][0]:.2f} / {m['load_average'][1]:.2f}" if m.get("load_average") else "unknown"
    s = out["setup"]
    lines = [
        "Cordon gateway benchmark: the gateway hop against straight to the registry",
        f"machine:  {m['cpu']}, {cores}, Python {m['python']} ({libs})",
        f"load:     {load} (1- / 5-minute load average before the run; other work on the machine skews the figures)",
        f"code:     {out['code']}",
        f"database: {out['database']}",
        f"setup:    {s['people']:,} people registered via the registry API in {s['register_s']:.1f} s"
        + (f" (time limit: {args['people']:,} asked)" if s["people"] < args["people"] else "")
        + f"; gateway projection {s['projected']:,}/{s['people']:,}; ready after {s['seconds']:.1f} s."
        " Gateway rate limits raised (never refuse).",
        "",
        f"1. GET {API}/persons/{{id}}/health-code, official JWT, {args['concurrency']} concurrent, "
        f"{args['seconds']:g} s measured x {args['rounds']} round(s) after {WARMUP_S:g} s warm-up, load generator in its own process",
        f"   {'':<44} {'CPU µs per request':^28}   {'waiting for a core, µs/req':^28}",
        f"   {'path':<9} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6}   "
        f"{'loadgen':>8} {'registry':>9} {'gateway':>8}   {'loadgen':>8} {'registry':>9} {'gateway':>8}",
    ]
    reads: dict[str, ReadRun] = out["reads"]

    def per(values: dict, name: str) -> str:
        return f"{values[name]:,.0f}" if name in values else "-"

    for r in reads.values():
        errors = sum(r.errors.values())
        cpu, wait = r.cpu_us_per_req, r.wait_us_per_req
        lines.append(f"   {r.path:<9} {r.rate:>8,.0f} {r.p50_ms:>7.1f} {r.p99_ms:>7.1f} {errors:>6}   "
                     f"{per(cpu, 'loadgen'):>8} {per(cpu, 'registry'):>9} {per(cpu, 'gateway'):>8}   "
                     f"{per(wait, 'loadgen'):>8} {per(wait, 'registry'):>9} {per(wait, 'gateway'):>8}")
    d, g = reads["direct"], reads["gateway"]
    ratio = g.rate / d.rate if d.rate else 0.0
    verdict = "meets" if ratio >= RATIO_TARGET else "MISSES"
    lines.append(f"   gateway/direct: throughput {ratio:.2f} ({verdict} the >= {RATIO_TARGET:.2f} target), "
                 f"p50 x{g.p50_ms / d.p50_ms:.2f}, p99 x{g.p99_ms / d.p99_ms:.2f}")
    n_cores = m["usable_cores"] or 2
    ceilings = {}
    for path, r in reads.items():
        cpu = r.cpu_us_per_req
        bounds = [1e6 / v for v in cpu.values() if v > 0]  # each process: one event loop, at most one core
        if sum(cpu.values()) > 0:
            bounds.append(n_cores * 1e6 / sum(cpu.values()))  # all of them together: the machine's cores
        ceilings[path] = min(bounds) if bounds else float("nan")
    lines.append(f"   CPU-bound ceilings from these costs (each process <= 1 core, together <= {n_cores} cores, nothing else running): "
                 f"direct {ceilings['direct']:,.0f}, gateway {ceilings['gateway']:,.0f} req/s, "
                 f"ratio {ceilings['gateway'] / ceilings['direct']:.2f}")
    if len(out["read_rounds"]["direct"]) > 1:
        for path, runs in out["read_rounds"].items():
            lines.append(f"   rounds {path}: " + ", ".join(f"{r.rate:,.0f}" for r in runs) + " req/s")
    for r in reads.values():
        if r.errors:
            lines.append(f"   {r.path} errors: {r.errors}")

    pushes: dict[str, PushRun] = out["pushes"]
    p0 = next(iter(pushes.values()))
    lines += [
        "",
        f"2. POST {API}/travel-records/batch, partner JWT: {p0.records:,} NDJSON records ({p0.bytes / 1e6:,.1f} MB) "
        f"in one streamed (chunked) request; direct, gateway, direct again (each on a larger table)",
        f"   {'path':<12} {'records/s':>10} {'seconds':>8} {'accepted':>9}  {'gateway RSS MB before -> peak (+growth)':>40}"
        f"  {'registry peak MB':>16}  {'CPU s: registry':>15} {'gateway':>7}",
    ]
    for p in pushes.values():
        gw, rg = p.rss_kb.get("gateway", {}), p.rss_kb.get("registry", {})
        peak = max(gw.get("peak", 0), gw.get("sampled_peak", 0)) if gw.get("reset") else gw.get("sampled_peak", 0)
        rg_peak = max(rg.get("peak", 0), rg.get("sampled_peak", 0)) if rg.get("reset") else rg.get("sampled_peak", 0)
        gw_text = f"{mb(gw.get('before', 0))} -> {mb(peak)} (+{mb(peak - gw.get('before', 0))})"
        accepted = "?" if p.accepted is None else f"{p.accepted:,}"
        lines.append(f"   {p.path:<12} {p.rate:>10,.0f} {p.seconds:>8.2f} {accepted:>9}  {gw_text:>40}  {mb(rg_peak):>16}"
                     f"  {p.cpu_s.get('registry', 0):>15.2f} {p.cpu_s.get('gateway', 0):>7.2f}")
        if p.status != 200 or p.accepted != p.records:
            lines.append(f"   {p.path}: WRONG: status {p.status}, accepted {p.accepted}, duplicates {p.duplicates}, "
                         f"rejected {p.rejected_total} {p.answer}")
    pg = pushes["gateway"]
    directs = [p for name, p in pushes.items() if name.startswith("direct")]
    direct_rate = sum(p.records for p in directs) / sum(p.seconds for p in directs)
    push_ratio = pg.rate / direct_rate if direct_rate else 0.0
    gw_cpu_us = pg.cpu_s.get("gateway", 0) / max(pg.records, 1) * 1e6
    against = "the two direct pushes" if len(directs) > 1 else "the direct push"
    lines.append(f"   gateway/direct: records/s {push_ratio:.2f} (against {against}, {direct_rate:,.0f} records/s); "
                 f"the gateway spent {gw_cpu_us:.2f} µs CPU per record")
    lines.append(f"   ({pg.cpu_s.get('gateway', 0) / max(pg.bytes / 1e6, 1e-9) * 1000:.1f} ms per MB; /proc counts in 10 ms ticks)")
    if out.get("push_skipped"):
        lines.append(f"   skipped: {out['push_skipped']}")

    prof = out.get("profile")
    if prof:
        lines.append("")
        if "error" in prof:
            lines.append(f"3. profile: {prof['error']}")
        else:
            r: ReadRun = prof["run"]
            per_req = r.cpu_us_per_req.get("gateway", 0)
            waiting = r.wait_us_per_req.get("gateway", 0)
            total = max(prof["samples"], 1)
            lines += [
                f"3. Gateway profile: py-spy (200 Hz, --nonblocking) for {args['profile_seconds']:g} s under the same GET load "
                f"({r.rate:,.0f} req/s while sampled, {prof['samples']:,} samples)",
                f"   gateway per request: {per_req:,.0f} µs on a CPU, {waiting:,.0f} µs runnable but waiting for a core. py-spy counts",
                "   every non-idle sample, so time spent preempted is charged to the frame that was running (often a socket",
                "   write that woke the peer); the µs/req column spreads the on-CPU time over the shares.",
                f"   {'where the gateway time goes (innermost matching frame)':<66} {'share':>6} {'µs/req':>7}",
            ]
            for name, n in prof["categories"]:
                lines.append(f"   {name:<66} {n / total:>6.1%} {n / total * per_req:>7.0f}")
            lines.append("   top self time (leaf frames):")
            for frame, n in prof["leaves"][:12]:
                lines.append(f"     {n / total:>6.1%}  {frame}")
            lines.append("   inclusive, gateway/ and cordon/ code:")
            for frame, n in prof["inclusive"][:12]:
                lines.append(f"     {n / total:>6.1%}  {frame}")
            if args.get("profile_out"):
                lines.append(f"   folded stacks kept in {args['profile_out']} (open in https://www.speedscope.app)")

    components = out.get("components")
    if components:
        gw_us = g.cpu_us_per_req.get("gateway", 0)
        lines += [
            "",
            "4. The gateway's own steps per proxied GET, CPU µs measured in this process (thread CPU time, best of 3,",
            f"   warm caches: a floor), against the {gw_us:,.0f} µs of gateway CPU per request measured in run 1",
            f"   {'step':<72} {'µs/call':>8} {'calls':>5} {'µs/req':>7} {'share':>6}",
        ]
        own = 0.0

        def row(name: str, us: float | str, calls: int | str, per_req: float, counted: bool = True) -> str:
            share = f"{per_req / gw_us:>6.1%}" if gw_us and counted else ""
            us_text = f"{us:>8.1f}" if isinstance(us, float) else f"{us:>8}"
            return f"   {name:<72} {us_text} {calls:>5} {per_req:>7.1f} {share:>6}"

        for name, us, calls in components["steps"]:
            counted = not name.startswith("  ")
            own += us * calls if counted else 0.0
            lines.append(row(name, us, calls, us * calls, counted))
        apps = components["asgi_app_us"]
        whole = apps["as now"]
        lines += [
            row("sum of the steps above (as the code is now)", "", "", own),
            row("whole gateway ASGI app in-process, upstream exchange stubbed (includes the above)", "", "", whole),
            row("  its Starlette/FastAPI routing, middleware and response plumbing (whole - steps)", "", "", whole - own)
            + ("  (negative: the app no longer runs all these steps)" if whole < own else ""),
            row("the rest: uvicorn HTTP server, aiohttp client exchange, event loop, syscalls", "", "", gw_us - whole),
            "   what-ifs, the same in-process app patched in this process only (no file changed):",
        ]
        for name, us in apps.items():
            if name != "as now":
                lines.append(row(f"  whole app {name}", "", "", us, counted=False)
                             + (f"  {us - whole:+.0f} µs/req" if us == us else "  (did not fit the code)"))
    return "\n".join(lines)


def to_json(out: dict) -> dict:
    def plain(value):
        if isinstance(value, (ReadRun, PushRun)):
            return {**asdict(value), "rate": value.rate}
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value

    return plain(out)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.gateway", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per GET run (default 10)")
    parser.add_argument("--concurrency", type=int, default=64, help="concurrent GET workers (default 64)")
    parser.add_argument("--records", type=int, default=200_000, help="NDJSON records per push (default 200,000)")
    parser.add_argument("--people", type=int, default=1000, help="people registered before the runs (default 1,000)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="direct/gateway GET pairs, alternated, pooled (default 2: the machine's other load drifts)")
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--postgres-url", default=POSTGRES_ADMIN_URL, help="admin database the temporary ones are created from")
    parser.add_argument("--profile-seconds", type=float, default=10.0, help="py-spy the gateway this long under load (0: skip)")
    parser.add_argument("--profile-out", metavar="PATH", help="keep the folded py-spy stacks here")
    parser.add_argument("--budget", type=float, default=290.0, help="time limit of the whole run, seconds (default 290)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--record", action="store_true", help="keep the run's rows for the README table (bench/results.json)")
    parser.add_argument("--load", metavar="SPEC", help=argparse.SUPPRESS)  # internal: run as the load generator
    args = parser.parse_args(argv)
    if not args.load and (args.seconds <= 0 or args.concurrency < 1 or args.records < 1 or args.people < 1 or args.rounds < 1):
        parser.error("--seconds, --concurrency, --records, --people and --rounds must be positive")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.load:
        return load_main(args.load)
    args.deadline = time.monotonic() + args.budget
    tmp = Path(tempfile.mkdtemp(prefix="cordon-bench-gw-"))

    def on_term(signum, frame):  # SIGTERM cleans up like Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        prepare_env(tmp)
        out = asyncio.run(asyncio.wait_for(run(args, tmp), args.budget))
    except KeyboardInterrupt:
        print("interrupted: processes stopped, temp files removed", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(report(out))
    if args.json:
        Path(args.json).write_text(json.dumps(to_json(out), indent=2, default=str) + "\n")
    reads, pushes = out["reads"], out["pushes"]
    failed = any(r.errors or r.requests == 0 for r in reads.values()) or any(
        p.status != 200 or p.accepted != p.records for p in pushes.values()
    )
    if args.record and not failed:
        record(out)
    return 1 if failed else 0


def record(out: dict) -> None:
    """The README rows of a correct run: the read through the gateway and straight, and the push."""
    machine = {**out["machine"], "code": out["code"]}
    reads, pushes, a = out["reads"], out["pushes"], out["args"]
    d, g = reads["direct"], reads["gateway"]
    common.keep_row("bench/gateway.py (read)", machine=machine,
                    what=f"`GET /persons/{{id}}/health-code` through the gateway, {a['concurrency']} concurrent ({a['database']})",
                    cordon=f"{g.rate:,.0f} req/s, p99 {g.p99_ms:.0f} ms", baseline=f"straight to the registry {d.rate:,.0f} req/s, p99 {d.p99_ms:.0f} ms",
                    ratio=f"{g.rate / d.rate:.2f} (target ≥ {RATIO_TARGET:.2f})")
    pg, pd = pushes["gateway"], pushes["direct"]
    common.keep_row("bench/gateway.py (push)", machine=machine,
                    what=f"{a['records']:,}-record NDJSON travel push through the gateway ({a['database']})",
                    cordon=f"{pg.rate:,.0f} records/s", baseline=f"straight to the registry {pd.rate:,.0f} records/s",
                    ratio=f"{pg.rate / pd.rate:.2f}")


if __name__ == "__main__":
    sys.exit(main())
