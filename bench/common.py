"""Helpers every benchmark shares: the machine and its load, a private CORDON_HOME, a temporary PostgreSQL
database, a service in its own process, CPU and memory readings, signed tokens, and py-spy profiles."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import platform
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ADMIN_URL = "postgresql://127.0.0.1:5432/test"  # the server temporary benchmark databases are created on


def id_number(i: int, region: str = "320413") -> str:
    """A valid 18-character resident ID number with a real birth date, distinct for each i < 30,000,000."""
    from cordon.pii import id_check_character

    born = date(1940, 1, 1) + timedelta(days=i % 30000)
    first17 = f"{region}{born:%Y%m%d}{i // 30000 % 1000:03d}"
    return first17 + id_check_character(first17)


# The load on the machine when the benchmark started (this module is imported at its start):
# other work sharing the cores skews every figure, so each script prints it.
LOAD_AT_START = os.getloadavg()


def machine() -> str:
    """CPU model, cores, Python, and the load average the run started at, as one line."""
    return machine_line(machine_info()).splitlines()[0].removeprefix("machine: ")


_T0 = time.monotonic()


def progress(message: str) -> None:
    """A line on stderr, so a slow phase shows while the run goes on (the report goes to stdout)."""
    print(f"[{time.monotonic() - _T0:7.1f}s] {message}", file=sys.stderr, flush=True)


def in_private_home(run, args):
    """``run(args, home, env)`` in a fresh private CORDON_HOME, removed afterwards (keys included).

    SIGTERM (``kill``, ``pkill``) or SIGINT (Ctrl-C, or sent to a run started in the background, where the
    shell ignores it) cancels the run, whose ``finally`` blocks stop the services and nats-server it started
    and drop its database, instead of leaving them behind."""
    tmp = Path(tempfile.mkdtemp(prefix="cordon-bench-"))

    async def stoppable():
        loop, task = asyncio.get_running_loop(), asyncio.current_task()
        for stop in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(stop, task.cancel)
        return await run(args, tmp, prepare_env(tmp))

    try:
        return asyncio.run(stoppable())
    except asyncio.CancelledError:
        raise SystemExit("stopped: the services it started are stopped and its database dropped") from None
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
        info["load_average"] = [round(x, 2) for x in LOAD_AT_START]  # other work on the machine skews figures
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


def signed_token(home: Path, subject: str = "partner-bench", role: str = "partner", regions=(), ttl: int = 3600, **claims) -> str:
    """Signed like tests/tokens.py: EdDSA with the run's dev key."""
    import uuid

    import jwt

    from cordon.keys import ensure_jwt_keypair

    private, _ = ensure_jwt_keypair(home)
    now = int(time.time())
    body = {"sub": subject or str(uuid.uuid4()), "role": role, "regions": list(regions), "iss": "cordon", "aud": "cordon",
            "iat": now, "exp": now + ttl, **claims}
    return jwt.encode(body, private.read_text(), algorithm="EdDSA")


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


async def settle(db_url: str) -> None:
    """A checkpoint before each timed run, so neither pays for the other's dirty pages."""
    import asyncpg

    conn = await asyncpg.connect(db_url, timeout=10)
    try:
        with contextlib.suppress(asyncpg.PostgresError):
            await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


# --- the README's table --------------------------------------------------------------------------

RESULTS = REPO / "bench" / "results.json"


def keep_row(key: str, *, what: str, cordon: str, baseline: str, ratio: str, machine: dict) -> dict:
    """A benchmark's row of the README table, from the run that just ended: kept in ``bench/results.json``
    under ``key`` (the newest run replaces the row), with the run's date and the load it started at.
    ``python -m bench.table --write`` writes the README's table from that file. Scripts call this only
    for a run whose answers were all correct (``--record``)."""
    import json
    from datetime import UTC, datetime

    load = machine.get("load_average") or [round(x, 2) for x in LOAD_AT_START]
    row = {"what": what, "cordon": cordon, "baseline": baseline, "ratio": ratio, "load": load[0],
           "date": datetime.now(UTC).date().isoformat(),
           "machine": machine_line({k: v for k, v in machine.items() if k != "load_average"}).splitlines()[0],
           "code": machine.get("code", "")}
    rows = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    rows[key] = row
    RESULTS.write_text(json.dumps(dict(sorted(rows.items())), indent=2, ensure_ascii=False) + "\n")
    progress(f"row {key!r} kept in {RESULTS.relative_to(REPO)}")
    return row


def run_vault():
    """The PII vault of this run's private CORDON_HOME (the keys prepare_env generated)."""
    from cordon.pii import Vault
    from cordon.settings import Settings

    settings = Settings()
    return Vault.from_hex(settings.pii_index_key, settings.pii_encryption_key)


@contextlib.asynccontextmanager
async def service_on_postgres(service: str, database: TempDatabase, tmp: Path, env: dict, *, load=None, log: str | None = None,
                              settings: dict | None = None, nats=None):
    """``database`` created and migrated for ``service``, ``load(db_url)`` run on it (untimed), a private
    nats-server, and the service in its own process (with ``settings``: more CORDON_ variables), ready; yields the
    ServiceProcess. On exit the service and NATS are stopped and the database dropped, whatever happened.
    Services that talk to each other share one bus: pass a started ``nats`` (a NatsServer), left running here."""
    from cordon import migrate
    from cordon.natsserver import NatsServer

    own_nats = nats is None
    if own_nats:
        nats = NatsServer(store_dir=tmp / f"nats-{secrets.token_hex(3)}")
    process: ServiceProcess | None = None
    try:
        await database.create()
        await asyncio.to_thread(migrate.upgrade, service, database.url("postgresql+asyncpg"))
        if load is not None:
            await load(database.url())
        if own_nats:
            nats.start()
            await nats.wait_jetstream()
        service_env = {**env, f"CORDON_{service.upper()}_DATABASE_URL": database.url("postgresql+asyncpg"),
                       "CORDON_NATS_URL": nats.url, "CORDON_LOG_LEVEL": "WARNING", **(settings or {})}
        process = ServiceProcess(service, service_env, tmp / (log or f"{service}.log")).start()
        await process.wait_ready()
        yield process
    finally:
        if process is not None:
            process.stop()
        if own_nats:
            nats.stop()
        await database.drop()
        progress(f"{service} stopped, its database dropped")
