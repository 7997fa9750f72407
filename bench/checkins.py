"""Gathering check-ins under a crowd, and exposure detection across many gatherings.

    .venv/bin/python -m bench.checkins [--backend sqlite|postgres|both] [--bursts 3] [--gatherings 50] [--json PATH]

Everything is started here and stopped here: a private CORDON_HOME (dev keys), a private
nats-server, a fresh database per backend (a SQLite file, or a temporary PostgreSQL database
created from --postgres-url and dropped at the end), and the events service as a separate
process (``python -m cordon serve events``), as in production. The client is this process
(aiohttp, one connection per request in flight).

* burst: a banquet of 299 expected guests (the largest size the default policy allows) is filed
  and approved; then 299 distinct attendees check in at once (299 concurrent POST
  /gatherings/{id}/check-ins). Check-ins/s from the first request sent to the last answer; p50 and
  p99 latency. Repeated --bursts times on fresh gatherings. Baseline in the same run: the same
  299-request burst on GET /healthz of the same process (the HTTP floor of this client and server).
* exposure: one person checks in at --gatherings gatherings (each with 20 other attendees), all
  within the policy's 4-day window; a real ``testing.result.recorded`` positive envelope is
  published to JetStream, and the time until the last ``gatherings.exposure.detected`` has been
  read from JetStream (consumer, handler, commit, relay, publish) is the detection time.

The whole run is bounded by --budget seconds (default 150).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import REPO, keep_row, machine, machine_info, prepare_env  # noqa: E402

REGION = "320413"
CROWD = 299
OTHERS_PER_GATHERING = 20
PLANS = {"prevention_plan": "测温、扫码、戴口罩", "emergency_plan": "发热者隔离，报告指挥部"}


def id_numbers(count: int, start: int) -> list[str]:
    from cordon.pii import id_check_character

    out = []
    for n in range(start, start + count):
        first17 = f"{REGION}{19500101 + (n // 1000) * 10000}{n % 1000:03d}"
        out.append(first17 + id_check_character(first17))
    return out


def token(home: Path, role: str, **claims) -> str:
    import jwt

    from cordon.keys import ensure_jwt_keypair

    private, _ = ensure_jwt_keypair(home)
    now = int(time.time())
    body = {"sub": claims.pop("sub", str(uuid.uuid4())), "role": role, "iss": "cordon", "aud": "cordon",
            "iat": now, "exp": now + 3600, **claims}
    return jwt.encode(body, private.read_text(), algorithm="EdDSA")


class Service:
    """The events service in its own process."""

    def __init__(self, env: dict, log_path: Path) -> None:
        from cordon.natsserver import free_port

        self.port, self.env, self.log_path = free_port(), env, log_path
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, timeout: float = 60) -> None:
        import aiohttp

        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen([sys.executable, "-m", "cordon", "serve", "events", "--port", str(self.port)],
                                        env=self.env, cwd=REPO, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"events exited: {self.log_path.read_text(errors='replace')[-2000:]}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{self.url}/readyz") as r:
                        if r.status == 200:
                            return
                if time.monotonic() > deadline:
                    raise TimeoutError("events not ready")
                await asyncio.sleep(0.1)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


async def _timed(http, method: str, url: str, **kwargs) -> tuple[int, float]:
    started = time.perf_counter()
    async with http.request(method, url, **kwargs) as response:
        await response.read()
        return response.status, time.perf_counter() - started


async def burst(http, requests: list[tuple[str, str, dict]], in_flight: int | None = None) -> dict:
    """All ``requests`` at once (or at most ``in_flight`` at a time); rate and latencies."""
    gate = asyncio.Semaphore(in_flight or len(requests))

    async def one(method, url, kwargs):
        async with gate:
            return await _timed(http, method, url, **kwargs)

    started = time.perf_counter()
    answers = await asyncio.gather(*(one(m, u, kw) for m, u, kw in requests))
    seconds = time.perf_counter() - started
    latencies = sorted(t for _, t in answers)
    ok = sum(1 for status, _ in answers if 200 <= status < 300)
    if ok != len(requests):  # an error is no speed: the run does not stand
        raise SystemExit(f"checkins: {len(requests) - ok} of {len(requests)} requests failed: {sorted({s for s, _ in answers})}")
    return {
        "requests": len(requests), "seconds": round(seconds, 3), "per_s": round(ok / seconds, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 1),
        "statuses": sorted({s for s, _ in answers}),
    }


async def file(http, base: str, headers: dict, **fields) -> str:
    now = datetime.now(UTC)
    body = {"title": "bench", "kind": "meeting", "organizer": {"name": "李四", "phone": "13900000000"},
            "venue": {"address": "金坛区", "region_code": REGION}, "starts_at": (now - timedelta(hours=1)).isoformat(),
            "ends_at": (now + timedelta(hours=5)).isoformat(), "expected_attendees": 20, **fields}
    async with http.post(f"{base}/api/v1/gatherings", json=body, headers=headers) as r:
        assert r.status == 201, await r.text()
        return (await r.json())["id"]


async def run_backend(backend: str, args, home: Path, tmp: Path, nats_url: str, deadline: float) -> dict:
    import aiohttp
    import nats

    from cordon import migrate
    from cordon.bus import streams
    from cordon.bus.envelope import wrap
    from cordon.contracts import testing
    from cordon.pii import Vault
    from cordon.settings import Settings

    pg_name = None
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp / 'events-bench.db'}"
    else:
        import asyncpg
        from sqlalchemy.engine import make_url

        pg_name = f"cordon_bench_{secrets.token_hex(6)}"
        conn = await asyncpg.connect(args.postgres_url, timeout=10)
        await conn.execute(f'CREATE DATABASE "{pg_name}"')
        await conn.close()
        url = make_url(args.postgres_url).set(drivername="postgresql+asyncpg", database=pg_name).render_as_string(hide_password=False)
    await asyncio.to_thread(migrate.upgrade, "events", url)
    env = {**os.environ, "CORDON_EVENTS_DATABASE_URL": url, "CORDON_NATS_URL": nats_url}
    service = Service(env, tmp / f"events-{backend}.log")
    result: dict = {"backend": backend}
    try:
        await service.start()
        grid = {"Authorization": "Bearer " + token(home, "grid_worker", regions=[REGION], username="grid")}
        official = {"Authorization": "Bearer " + token(home, "official", regions=[REGION], username="official")}
        connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=2)  # under uvicorn's 5 s: no reuse of a closed one
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as http:
            base = service.url
            await burst(http, [("GET", f"{base}/healthz", {})] * 20)  # warm up connections and the process
            baseline = [await burst(http, [("GET", f"{base}/healthz", {})] * CROWD) for _ in range(args.bursts)]
            runs = []
            for n in range(args.bursts):
                if time.monotonic() > deadline:
                    break
                gid = await file(http, base, grid, kind="banquet", tables=30, expected_attendees=CROWD, **PLANS)
                async with http.post(f"{base}/api/v1/gatherings/{gid}/approve", headers=official) as r:
                    assert r.status == 200, await r.text()
                crowd = id_numbers(CROWD, 1000 + n * CROWD)
                runs.append(await burst(http, [
                    ("POST", f"{base}/api/v1/gatherings/{gid}/check-ins", {"json": {"id_number": p}, "headers": grid}) for p in crowd]))
                async with http.get(f"{base}/api/v1/gatherings/{gid}", headers=grid) as r:
                    assert (await r.json())["checked_in"] == CROWD
            gid = await file(http, base, grid, kind="banquet", tables=30, expected_attendees=CROWD, **PLANS)
            result["one_at_a_time"] = await burst(http, [
                ("POST", f"{base}/api/v1/gatherings/{gid}/check-ins", {"json": {"id_number": p}, "headers": grid})
                for p in id_numbers(100, 40_000)], in_flight=1)
            result["healthz_baseline"] = max(baseline, key=lambda b: b["per_s"])
            result["burst_runs"] = runs
            result["burst_best"] = max(runs, key=lambda b: b["per_s"]) if runs else None
            result["burst_median_per_s"] = statistics.median(r["per_s"] for r in runs) if runs else None

            # Exposure: one person at N gatherings, each with 20 others.
            positive = id_numbers(1, 50_000)[0]
            gathering_ids = await asyncio.gather(*(file(http, base, grid) for _ in range(args.gatherings)))
            requests = []
            for i, gid in enumerate(gathering_ids):
                people = [positive, *id_numbers(OTHERS_PER_GATHERING, 60_000 + i * OTHERS_PER_GATHERING)]
                requests += [("POST", f"{base}/api/v1/gatherings/{gid}/check-ins", {"json": {"id_number": p}, "headers": grid}) for p in people]
            setup = await burst(http, requests, in_flight=50)
            assert setup["statuses"] == [201], setup

        settings = Settings()
        vault = Vault.from_hex(settings.pii_index_key, settings.pii_encryption_key)
        event = testing.ResultRecorded(
            sample_id=uuid.uuid4(), barcode="BENCH", id_number_index=vault.index("id_number", positive), outcome="positive",
            collected_at=datetime.now(UTC) + timedelta(minutes=1), tested_at=datetime.now(UTC), lab="bench")
        envelope = wrap(event, source="cordon/bench", key="bench")
        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            await streams.declare(js)
            sub = await js.pull_subscribe("gatherings.exposure.detected", stream="GATHERINGS")
            started = time.perf_counter()
            await js.publish(envelope.nats_subject, envelope.to_json(), headers={"Nats-Msg-Id": str(envelope.id)})
            seen, first_s = 0, None
            while seen < args.gatherings and time.monotonic() < deadline:
                with contextlib.suppress(TimeoutError):
                    msgs = await sub.fetch(100, timeout=1)
                    for m in msgs:
                        await m.ack()
                    if msgs and first_s is None:
                        first_s = time.perf_counter() - started
                    seen += len(msgs)
            total = time.perf_counter() - started
            await sub.unsubscribe()
        finally:
            await nc.close()
        result["exposure"] = {"gatherings": args.gatherings, "events": seen, "first_s": round(first_s or 0, 3),
                              "all_s": round(total, 3), "setup_check_ins_per_s": setup["per_s"]}
    finally:
        service.stop()
        if pg_name:
            import asyncpg

            conn = await asyncpg.connect(args.postgres_url, timeout=10)
            await conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
            await conn.close()
    return result


def report(results: list[dict]) -> str:
    lines = [f"machine: {machine()}"]
    for r in results:
        b, h = r.get("burst_best"), r.get("healthz_baseline")
        lines.append(f"[{r['backend']}]")
        if b:
            lines.append(f"  burst of {CROWD} check-ins at once: best {b['per_s']}/s ({b['seconds']} s, p50 {b['p50_ms']} ms, "
                         f"p99 {b['p99_ms']} ms), median {r['burst_median_per_s']}/s over {len(r['burst_runs'])} bursts")
        o = r["one_at_a_time"]
        lines.append(f"  100 check-ins one at a time: {o['per_s']}/s (p50 {o['p50_ms']} ms, p99 {o['p99_ms']} ms)")
        lines.append(f"  baseline, same burst on GET /healthz: {h['per_s']}/s (p50 {h['p50_ms']} ms, p99 {h['p99_ms']} ms)")
        e = r["exposure"]
        lines.append(f"  exposure, 1 positive at {e['gatherings']} gatherings (21 attendees each): {e['events']} events, "
                     f"first after {e['first_s']} s, all after {e['all_s']} s")
    return "\n".join(lines)


async def amain(args) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="cordon-bench-checkins-"))
    try:
        return await run_all(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # the generated keys with it


async def run_all(args, tmp: Path) -> int:
    from cordon.natsserver import NatsServer

    prepare_env(tmp)
    os.environ["CORDON_LOG_LEVEL"] = "WARNING"
    deadline = time.monotonic() + args.budget
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    results = []
    for backend in backends:
        nats_server = NatsServer(store_dir=tmp / f"nats-{backend}").start()
        try:
            results.append(await asyncio.wait_for(
                run_backend(backend, args, tmp / "home", tmp, nats_server.url, deadline), max(10, deadline - time.monotonic() + 15)))
        except Exception:  # noqa: BLE001 - report and go on to the next backend
            import traceback

            print(f"[{backend}] failed:\n{traceback.format_exc()}", file=sys.stderr)
        finally:
            nats_server.stop()
    print(report(results))
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine(), "results": results}, indent=2))
    ok = len(results) == len(backends)
    if ok and args.record:
        for r in results:
            b, h, e = r.get("burst_best"), r["healthz_baseline"], r["exposure"]
            if b:
                keep_row(f"bench/checkins.py ({r['backend']})", machine=machine_info(),
                         what=f"a burst of {CROWD} check-ins at once ({r['backend']}); exposure of a positive at {e['gatherings']} gatherings",
                         cordon=f"median {r['burst_median_per_s']}/s over {len(r['burst_runs'])} bursts (best {b['per_s']}/s, p99 {b['p99_ms']} ms); "
                                f"all {e['events']} exposure events within {e['all_s']} s",
                         baseline=f"the same burst on `GET /healthz`: {h['per_s']}/s",
                         ratio=f"{r['burst_median_per_s'] / h['per_s']:.2f}" if h["per_s"] else "—")
    return 0 if ok else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.checkins", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--postgres-url", default=os.environ.get("CORDON_BENCH_POSTGRES_URL", "postgresql://127.0.0.1:5432/test"))
    parser.add_argument("--bursts", type=int, default=3)
    parser.add_argument("--gatherings", type=int, default=50)
    parser.add_argument("--budget", type=float, default=150)
    parser.add_argument("--json")
    parser.add_argument("--record", action="store_true", help="keep the run's rows for the README table (bench/results.json)")
    return asyncio.run(amain(parser.parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
