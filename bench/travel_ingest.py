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
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

REPO = Path(__file__).resolve().parent.parent
ADMIN_URL = "postgresql://127.0.0.1:5432/test"
COLUMNS = ("partner_id", "record_id", "phone_index", "id_number_index", "region_code", "first_seen", "last_seen", "created_at")
PARTNER = "partner-bench"
LINES_PER_PIECE = 1000  # lines per chunk the request body generator yields
# County-level codes across several provinces (GB/T 2260).
REGIONS = (
    "110101", "110105", "110108", "310101", "310104", "310115", "320102", "320106", "320413", "320506",
    "330102", "330106", "340104", "350203", "370102", "420102", "420106", "440104", "440305", "440306",
    "500103", "510104", "510107", "610113", "650102",
)


# --- shared with bench.health_code ---------------------------------------------------------------

_T0 = time.monotonic()


def progress(message: str) -> None:
    """A line on stderr, so a slow phase shows while the run goes on (the report goes to stdout)."""
    print(f"[{time.monotonic() - _T0:7.1f}s] {message}", file=sys.stderr, flush=True)


def in_private_home(run, args):
    """``run(args, home, env)`` in a fresh private CORDON_HOME, removed afterwards (keys included)."""
    tmp = Path(tempfile.mkdtemp(prefix="cordon-bench-"))
    try:
        return asyncio.run(run(args, tmp, prepare_env(tmp)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def prepare_env(tmp: Path) -> dict:
    """A private CORDON_HOME in dev mode (keys generated there); the environment the service gets."""
    for name in list(os.environ):
        if name.startswith("CORDON_") and name.endswith("_DATABASE_URL") or name in ("CORDON_NATS_URL", "CORDON_DATABASE_URL"):
            os.environ.pop(name)
    os.environ["CORDON_HOME"] = str(tmp / "home")
    os.environ["CORDON_ENV"] = "dev"
    from cordon.keys import dev_secrets

    dev_secrets(tmp / "home")  # the PII keys and the JWT pair, before either process reads settings
    return dict(os.environ)


def machine_info(pg_version: str | None = None) -> dict:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    info = {"cpu": cpu, "cores": os.cpu_count(), "usable_cores": usable, "python": platform.python_version()}
    with contextlib.suppress(OSError):
        info["load_average"] = [round(x, 2) for x in os.getloadavg()]  # other work on the machine skews figures
    if pg_version:
        info["postgresql"] = pg_version
    info["code"] = code_revision()
    return info


def code_revision(paths=("cordon", "services/registry")) -> str:
    """The commit measured, flagged when the code under ``paths`` has uncommitted changes (read-only git)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", *paths], cwd=REPO, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if head.returncode != 0:
        return "unknown"
    return head.stdout.strip() + (f" + uncommitted changes in {', '.join(paths)}" if dirty.stdout.strip() else "")


def machine_line(m: dict) -> str:
    cores = f"{m['cores']} cores" + (f" ({m['usable_cores']} usable)" if m["usable_cores"] != m["cores"] else "")
    pg = f", PostgreSQL {m['postgresql']}" if m.get("postgresql") else ""
    load = f"; load average at start {m['load_average'][0]:.2f}" if m.get("load_average") else ""
    code = f"\ncode:    {m['code']}" if m.get("code") else ""
    return f"machine: {m['cpu']}, {cores}, Python {m['python']}{pg}{load}{code}"


class TempDatabase:
    """One PostgreSQL database created for the run and dropped (WITH FORCE) at its end."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.name: str | None = None

    async def create(self) -> str:
        import asyncpg

        name = f"cordon_bench_{secrets.token_hex(6)}"
        conn = await asyncpg.connect(self.admin_url, timeout=10)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        self.name = name
        return name

    def url(self, driver: str = "postgresql") -> str:
        from sqlalchemy.engine import make_url

        return make_url(self.admin_url).set(drivername=driver, database=self.name).render_as_string(hide_password=False)

    async def server_version(self) -> str:
        import asyncpg

        conn = await asyncpg.connect(self.admin_url, timeout=10)
        try:
            return await conn.fetchval("SHOW server_version")
        finally:
            await conn.close()

    async def drop(self) -> None:
        if self.name is None:
            return
        import asyncpg

        conn = await asyncpg.connect(self.admin_url, timeout=10)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await conn.close()
        self.name = None


def read_status_kb(pid: int, key: str) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


class ServiceProcess:
    """A service run as production runs it: ``python -m cordon serve <name>`` in its own process."""

    def __init__(self, service: str, env: dict, log_path: Path) -> None:
        from cordon.natsserver import free_port

        self.service, self.env, self.log_path = service, env, log_path
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self._log = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> ServiceProcess:
        self._log = open(self.log_path, "wb")
        cmd = [sys.executable, "-m", "cordon", "serve", self.service, "--port", str(self.port)]
        self.process = subprocess.Popen(cmd, env=self.env, cwd=REPO, stdout=self._log, stderr=subprocess.STDOUT)
        return self

    def log_tail(self, n: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        return ""

    async def wait_ready(self, timeout: float = 60.0) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as client:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.service} exited with {self.process.returncode}:\n{self.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{self.base_url}/readyz")).status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{self.service} not ready within {timeout}s:\n{self.log_tail()}")
                await asyncio.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown (lifespan exit)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (0 if it is gone)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    return 0.0


async def backend_cpu(db_url: str, database: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend connected to ``database`` (the server runs on this machine)."""
    import asyncpg

    conn = await asyncpg.connect(db_url, timeout=10)
    try:
        pids = [r["pid"] for r in await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", database)]
    finally:
        await conn.close()
    return {pid: cpu_seconds(pid) for pid in pids}


class RssSampler:
    """The largest VmRSS seen every ``interval`` seconds; VmHWM (the kernel's high-water mark) alongside."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid, self.interval = pid, interval
        self.start_kb = read_status_kb(pid, "VmRSS") or 0
        self.peak_kb = self.start_kb
        self._task: asyncio.Task | None = None

    async def _run(self) -> None:
        while True:
            rss = read_status_kb(self.pid, "VmRSS")
            if rss:
                self.peak_kb = max(self.peak_kb, rss)
            await asyncio.sleep(self.interval)

    def __enter__(self) -> RssSampler:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc) -> None:
        if self._task:
            self._task.cancel()
        self.hwm_kb = read_status_kb(self.pid, "VmHWM") or self.peak_kb


def signed_token(home: Path, subject: str = PARTNER, role: str = "partner", regions=(), ttl: int = 3600, **claims) -> str:
    """Signed like tests/tokens.py: EdDSA with the run's dev key."""
    import uuid

    import jwt

    from cordon.keys import ensure_jwt_keypair

    private, _ = ensure_jwt_keypair(home)
    now = int(time.time())
    body = {"sub": subject or str(uuid.uuid4()), "role": role, "regions": list(regions), "iss": "cordon", "aud": "cordon",
            "iat": now, "exp": now + ttl, **claims}
    return jwt.encode(body, private.read_text(), algorithm="EdDSA")


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


async def settle(db_url: str) -> None:
    """A checkpoint before each timed run, so neither pays for the other's dirty pages."""
    import asyncpg

    conn = await asyncpg.connect(db_url, timeout=10)
    try:
        with contextlib.suppress(asyncpg.PostgresError):
            await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


# --- profile -------------------------------------------------------------------------------------


class PySpy:
    """py-spy sampling a running process into raw (collapsed) stacks; stopped with SIGINT."""

    def __init__(self, pid: int, out: Path, rate: int = 200) -> None:
        exe = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
        if not exe:
            raise RuntimeError("--profile needs py-spy: .venv/bin/pip install py-spy")
        self.out = out
        self.cmd = [exe, "record", "--pid", str(pid), "--format", "raw", "--rate", str(rate), "--nonblocking", "-o", str(out)]
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(1.0)  # attached
        if self.process.poll() is not None:
            raise RuntimeError(f"py-spy failed: {self.process.stderr.read().decode(errors='replace')[-500:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


_FRAME = re.compile(r"^(?P<name>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")
_WAITING = ("Condition.wait", "Queue.get", "EpollSelector.select", "select (selectors.py)", "_worker (concurrent")
_WRAPPERS = ("cordon/cli.py", "cordon/__main__.py", "cordon/observability.py")


def _frame(raw: str) -> str:
    match = _FRAME.match(raw)
    if not match:
        return raw
    file = match["file"].replace(str(REPO) + "/", "").rsplit("site-packages/", 1)[-1]
    return f"{match['name']} ({file})"


def summarize_profile(path: Path, top: int = 15) -> dict:
    """From py-spy's raw output: the repository's functions by share of the busy samples (inclusive and
    self), and the hottest leaf functions anywhere. Samples of threads waiting for work are left out."""
    inclusive: collections.Counter = collections.Counter()
    leaves: collections.Counter = collections.Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_frame(f) for f in stack.split(";")]
        if any(w in frames[-1] for w in _WAITING):
            continue
        n = int(count)
        total += n
        for frame in set(frames):
            inclusive[frame] += n
        leaves[frames[-1]] += n
    if not total:
        return {"samples": 0, "repository": [], "leaves": []}
    ours = [f for f, _ in inclusive.most_common() if (f.endswith("py)") and (" (services/" in f or " (cordon/" in f))
            and not any(w in f for w in _WRAPPERS)]
    return {
        "samples": total,
        "repository": [(f, 100 * inclusive[f] / total, 100 * leaves[f] / total) for f in ours[:top]],
        "leaves": [(f, 100 * c / total) for f, c in leaves.most_common(top)],
    }


def profile_lines(profile: dict) -> list[str]:
    if not profile or not profile.get("samples"):
        return []
    lines = ["", f"py-spy: {profile['samples']:,} busy samples of the service process.",
             "  repository functions (share of samples: inclusive, self):"]
    lines += [f"  {inc:5.1f}% {own:5.1f}%  {frame}" for frame, inc, own in profile["repository"]]
    lines.append("  hottest leaf functions (self):")
    lines += [f"  {own:5.1f}%         {frame}" for frame, own in profile["leaves"]]
    return lines


def profile_json(profile: dict) -> dict:
    if not profile:
        return {}
    return {
        "samples": profile["samples"],
        "repository": [{"frame": f, "inclusive_pct": round(i, 2), "self_pct": round(o, 2)} for f, i, o in profile["repository"]],
        "leaves": [{"frame": f, "self_pct": round(o, 2)} for f, o in profile["leaves"]],
    }


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
