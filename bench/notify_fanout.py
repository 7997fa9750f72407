"""A broadcast to 100,000 registered people: notifications created and delivered per second, and memory.

    .venv/bin/python -m bench.notify_fanout [--people N] [--database postgres|sqlite] [--timeout S]

Starts everything it needs in private temp dirs and stops it at the end: a nats-server, a
provider stand-in process on loopback (tests/notify/integration/provider_stub.py, always 200),
and the notify service as its own uvicorn process with CORDON_SMS_PROVIDER_URL set, so every
SMS goes out over real HTTP. person_ref is bulk-loaded directly (COPY on PostgreSQL); then one
POST /notifications/broadcast (channels inbox + sms) and GET .../broadcasts/{id} every 0.25 s:

* created/s: notifications written by the fan-out (inbox + sms), until it reports fanned_out;
* delivered/s: SMS notifications `sent` through the provider, until none is queued;
* peak RSS of the service process (VmHWM), sampled RSS while it works.

Baseline, same run: the same provider driven by a bare aiohttp client (concurrency 100), the
ceiling one HTTP hop on this machine allows.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("CORDON_BENCH_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _rss_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


async def _postgres_available() -> bool:
    import asyncpg
    try:
        conn = await asyncio.wait_for(asyncpg.connect(POSTGRES_URL), 3)
    except Exception:
        return False
    await conn.close()
    return True


async def _new_database(backend: str, tmp: Path) -> tuple[str, str | None]:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp / 'notify.db'}", None
    import asyncpg
    name = f"cordon_bench_notify_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(POSTGRES_URL)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    return POSTGRES_URL.replace("postgresql://", "postgresql+asyncpg://", 1).rsplit("/", 1)[0] + "/" + name, name


async def _drop_database(name: str | None) -> None:
    if name:
        import asyncpg
        conn = await asyncpg.connect(POSTGRES_URL)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


async def _load_people(url: str, n: int, region: str) -> float:
    """person_ref rows straight into the table (the benchmark's setup, not what it measures)."""
    from cordon import clock, db, pii
    from cordon.settings import Settings

    s = Settings()
    vault = pii.Vault.from_hex(s.pii_index_key, s.pii_encryption_key)
    now = clock.utcnow()
    started = time.perf_counter()
    rows = []
    for i in range(n):
        phone = f"139{i:08d}"
        rows.append((uuid.uuid4(), region, uuid.uuid4().hex, vault.index("phone", phone), pii.mask_phone(phone),
                     vault.encrypt(phone), "张*", "zh" if i % 10 else "en", now))
    columns = ["person_id", "region_code", "id_number_index", "phone_index", "phone_masked", "phone_enc", "name_masked",
               "language", "updated_at"]
    if url.startswith("postgresql"):
        import asyncpg
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
        await conn.copy_records_to_table("person_ref", records=rows, columns=columns)
        await conn.close()
    else:
        from sqlalchemy import insert

        from services.notify.models import PersonRef
        engine = db.create_engine(url)
        async with engine.begin() as conn:
            for start in range(0, n, 5000):
                await conn.execute(insert(PersonRef), [dict(zip(columns, r)) for r in rows[start:start + 5000]])
        await engine.dispose()
    return time.perf_counter() - started


async def _baseline(provider: str, requests: int = 20000, concurrency: int = 100) -> float:
    import aiohttp
    import orjson
    limit = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:
        async def one(i):
            async with limit:
                body = orjson.dumps({"to": "13900000001", "body": "x", "id": str(i)})
                async with http.post(f"{provider}/sms", data=body, headers={"Idempotency-Key": f"b{i}"}) as r:
                    await r.read()
        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(requests)))
        return requests / (time.perf_counter() - started)


async def run(args) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="cordon-bench-notify-"))
    os.environ.update(CORDON_HOME=str(tmp / "home"), CORDON_ENV="dev",
                      CORDON_PII_INDEX_KEY=secrets.token_hex(32), CORDON_PII_ENCRYPTION_KEY=secrets.token_hex(32))
    from bench.bus import machine_info
    from cordon import migrate
    from cordon.natsserver import NatsServer, free_port

    backend = args.database or ("postgres" if await _postgres_available() else "sqlite")
    processes: list[subprocess.Popen] = []
    nats_server = NatsServer(store_dir=tmp / "nats").start()
    pg_name = None
    try:
        url, pg_name = await _new_database(backend, tmp)
        await asyncio.to_thread(migrate.upgrade, "notify", url)
        region = "320413"
        load_s = await _load_people(url, args.people, region)

        provider_port = free_port()
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "tests.notify.integration.provider_stub", str(provider_port), "--mode", "ok"], cwd=ROOT))
        provider = f"http://127.0.0.1:{provider_port}"
        service_port = free_port()
        env = {**os.environ, "CORDON_NOTIFY_DATABASE_URL": url, "CORDON_NATS_URL": nats_server.url,
               "CORDON_SMS_PROVIDER_URL": f"{provider}/sms", "CORDON_LOG_LEVEL": "WARNING"}
        service = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "services.notify.app:create_app", "--factory", "--host", "127.0.0.1",
             "--port", str(service_port), "--log-level", "warning", "--no-access-log"], cwd=ROOT, env=env)
        processes.append(service)
        for _ in range(200):
            if _port_open(service_port) and _port_open(provider_port):
                break
            await asyncio.sleep(0.1)
        baseline = await _baseline(provider)

        import httpx

        from tests.tokens import bearer
        official = bearer("official", regions=[region], username="bench", ttl=3600)
        rss_idle = _rss_kb(service.pid, "VmRSS")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{service_port}", timeout=30) as client:
            started = time.perf_counter()
            response = await client.post("/api/v1/notifications/broadcast", headers=official,
                                         json={"region_code": region, "title": "全员核酸检测", "body": "明日8:00起全员核酸检测，请带好身份证。"})
            assert response.status_code == 202, response.text
            broadcast_id = response.json()["id"]
            created_s = delivered_s = None
            progress: dict = {}
            deadline = started + args.timeout
            while time.perf_counter() < deadline:
                await asyncio.sleep(0.25)
                progress = (await client.get(f"/api/v1/notifications/broadcasts/{broadcast_id}", headers=official)).json()
                elapsed = time.perf_counter() - started
                if created_s is None and progress["status"] == "fanned_out":
                    created_s = elapsed
                if created_s is not None and progress["notifications"].get("queued", 0) == 0:
                    delivered_s = elapsed
                    break
        counts = progress.get("notifications", {})
        created = sum(counts.values())
        sms_sent = counts.get("sent", 0) - args.people  # inbox entries are sent when written
        return {
            "backend": backend,
            "people": args.people,
            "setup_load_s": round(load_s, 1),
            "notifications_created": created,
            "fan_out_s": round(created_s, 2) if created_s else None,
            "created_per_s": round(created / created_s) if created_s else None,
            "sms_delivered": sms_sent,
            "delivery_s": round(delivered_s, 2) if delivered_s else None,
            # Timed out: the rate over the time allowed (the run is capped so the whole benchmark stays < 3 min).
            "delivered_per_s": round(sms_sent / (delivered_s or args.timeout)),
            "timed_out": delivered_s is None,
            "service_rss_idle_mb": round(rss_idle / 1024, 1),
            "service_peak_rss_mb": round(_rss_kb(service.pid, "VmHWM") / 1024, 1),
            "baseline_provider_req_per_s": round(baseline),
            "machine": machine_info(),
        }
    finally:
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        nats_server.stop()
        await _drop_database(pg_name)
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--database", choices=("postgres", "sqlite"))
    parser.add_argument("--timeout", type=float, default=115.0, help="seconds for the broadcast to finish")
    parser.add_argument("--record", action="store_true", help="keep the run's row for the README table (bench/results.json)")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    machine = result.pop("machine")
    if args.record and not result["timed_out"] and result["notifications_created"] >= args.people:
        from bench.common import keep_row
        from bench.common import machine_info as common_machine

        keep_row("bench/notify_fanout.py", machine=common_machine(),
                 what=f"a broadcast to {args.people:,} people ({result['backend']})",
                 cordon=f"{result['created_per_s']:,} notifications created/s; {result['delivered_per_s']:,} SMS delivered/s "
                        f"through a loopback provider; service peak RSS {result['service_peak_rss_mb']:.0f} MB",
                 baseline=f"the loopback provider alone {result['baseline_provider_req_per_s']:,} req/s",
                 ratio=f"{result['delivered_per_s'] / result['baseline_provider_req_per_s']:.2f} (delivery)")
    for key, value in result.items():
        print(f"{key:>28}: {value}")
    print(f"{'machine':>28}: {machine['cpu']}, {machine['usable_cores']} cores usable, Python {machine['python']}, "
          f"{machine['nats_server']}, {machine['platform']}")


if __name__ == "__main__":
    main()
