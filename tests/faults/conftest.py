"""Fault tests: Cordon's services as real processes (`cordon serve`, what the runner and the containers run),
killed with SIGKILL at points chosen by what is committed, on a real nats-server and real databases.

``cluster`` starts services one by one; ``Cluster.query`` reads a service's database from the outside, which
is how a test waits for the point it kills at (N rows committed) and counts the effects afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from cordon import migrate
from cordon.natsserver import free_port
from cordon.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


class Service:
    """One `cordon serve <name>` process on a loopback port; started again on the same port and database."""

    def __init__(self, name: str, env: dict[str, str], log: Path) -> None:
        self.name, self.env, self.log = name, env, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.kills = 0

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "cordon", "serve", self.name, "--port", str(self.port)],
                cwd=ROOT, env=self.env, stdout=out, stderr=out, start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, no commit of anything in flight."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.kills += 1

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    async def ready(self, timeout: float = 60.0) -> None:
        """Until /readyz answers 200 (its database and NATS reachable, consumers declared)."""
        deadline = time.monotonic() + timeout
        last = None
        async with httpx.AsyncClient(timeout=2) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise AssertionError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    response = await client.get(f"{self.url}/readyz")
                    last = response.text
                    if response.status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise AssertionError(f"{self.name} not ready within {timeout}s: {last}\n{self.log_tail()}")

    async def restart(self) -> None:
        self.start()
        await self.ready()

    def client(self, **kwargs) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=kwargs.pop("timeout", 120), **kwargs)

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:]) if self.log.exists() else ""


class Cluster:
    def __init__(self, databases, nats_url: str, home: Path) -> None:
        self.databases, self.nats_url, self.home = databases, nats_url, home
        self.services: dict[str, Service] = {}
        self.engines: dict[str, AsyncEngine] = {}

    async def start(self, name: str, **settings) -> Service:
        """Migrate a fresh database for ``name`` and start its process with ``settings`` (as CORDON_* variables)."""
        url = await self.databases.new(name)
        await asyncio.to_thread(migrate.upgrade, name, url)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CORDON_")}
        env.update({
            "CORDON_ENV": "dev", "CORDON_HOME": str(self.home), "CORDON_NATS_URL": self.nats_url,
            "CORDON_DATABASE_URL": url, "CORDON_LOG_LEVEL": "WARNING",
            # The test run's keys: its tokens verify, its blind indexes match.
            "CORDON_PII_INDEX_KEY": os.environ["CORDON_PII_INDEX_KEY"],
            "CORDON_PII_ENCRYPTION_KEY": os.environ["CORDON_PII_ENCRYPTION_KEY"],
            "CORDON_JWT_PUBLIC_KEY_FILE": str(Settings().jwt_public_key_file),
        })
        env.update({f"CORDON_{key.upper()}": str(value) for key, value in settings.items()})
        (self.home / "logs").mkdir(parents=True, exist_ok=True)
        service = Service(name, env, self.home / "logs" / f"{name}.log")
        self.services[name] = service
        self.engines[name] = create_async_engine(url, poolclass=NullPool)
        service.start()
        await service.ready()
        return service

    async def query(self, name: str, sql: str, **params):
        """The first column of the first row of ``sql`` on service ``name``'s database."""
        async with self.engines[name].connect() as conn:
            return (await conn.execute(text(sql), params)).scalar()

    async def rows(self, name: str, sql: str, **params) -> list:
        async with self.engines[name].connect() as conn:
            return (await conn.execute(text(sql), params)).all()

    async def until(self, name: str, sql: str, predicate, *, timeout: float = 120.0, interval: float = 0.05, **params):
        """Poll ``sql`` until ``predicate(value)``; the value. The way a test picks its moment: by what is committed."""
        deadline = time.monotonic() + timeout
        while True:
            value = await self.query(name, sql, **params)
            if predicate(value):
                return value
            if time.monotonic() > deadline:
                logs = "\n".join(f"--- {s.name}\n{s.log_tail()}" for s in self.services.values())
                raise AssertionError(f"{sql!r} on {name} stayed at {value!r} for {timeout}s\n{logs}")
            await asyncio.sleep(interval)

    async def close(self) -> None:
        for service in self.services.values():
            service.stop()
        for engine in self.engines.values():
            await engine.dispose()


@pytest.fixture
async def cluster(databases, nats_server):
    # The home (keys aside, the SMS sink and the logs) outside pytest's basetemp, which another session may prune.
    home = Path(tempfile.mkdtemp(prefix="cordon-faults-"))
    running = Cluster(databases, nats_server.url, home)
    try:
        yield running
    finally:
        await running.close()
        shutil.rmtree(home, ignore_errors=True)
