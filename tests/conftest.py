"""Shared fixtures: a real nats-server per test, a real database per test (SQLite, and PostgreSQL
when CORDON_TEST_POSTGRES_URL is set), and apps served by uvicorn on loopback."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import uuid
from pathlib import Path

# Before anything reads settings: a private home, and fixed keys, for the whole run. The home holds
# the run's JWT key pair; it is removed when the run ends (pytest_unconfigure), as pytest removes a
# passing test's tmp_path (tmp_path_retention_policy = "failed"): no key or password is left behind.
_HOME = Path(tempfile.mkdtemp(prefix="cordon-test-"))
os.environ["CORDON_HOME"] = str(_HOME)
os.environ["CORDON_ENV"] = "dev"
os.environ["CORDON_PII_INDEX_KEY"] = secrets.token_hex(32)
os.environ["CORDON_PII_ENCRYPTION_KEY"] = secrets.token_hex(32)
os.environ.pop("CORDON_NATS_URL", None)

import pytest  # noqa: E402

from cordon.natsserver import NatsServer  # noqa: E402

POSTGRES_URL = os.environ.get("CORDON_TEST_POSTGRES_URL")  # e.g. postgresql://127.0.0.1:5432/test

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def pytest_configure(config):
    config.addinivalue_line("markers", "postgres: runs against PostgreSQL (CORDON_TEST_POSTGRES_URL)")


def pytest_unconfigure(config):
    shutil.rmtree(_HOME, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    if POSTGRES_URL:
        return
    skip = pytest.mark.skip(reason="CORDON_TEST_POSTGRES_URL is not set")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def nats_server(tmp_path):
    server = NatsServer(store_dir=tmp_path / "nats").start()
    yield server
    server.stop()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


class Databases:
    """Fresh databases for one test, dropped afterwards."""

    def __init__(self, backend: str, tmp_path: Path) -> None:
        self.backend = backend
        self.tmp_path = tmp_path
        self.created: list[str] = []

    async def new(self, name: str) -> str:
        if self.backend == "sqlite":
            return f"sqlite+aiosqlite:///{self.tmp_path / (name + '.db')}"
        import asyncpg

        db = f"cordon_t_{name}_{uuid.uuid4().hex[:10]}"
        conn = await asyncpg.connect(POSTGRES_URL)
        try:
            await conn.execute(f'CREATE DATABASE "{db}"')
        finally:
            await conn.close()
        self.created.append(db)
        base = POSTGRES_URL.replace("postgresql://", "postgresql+asyncpg://", 1)
        return base.rsplit("/", 1)[0] + "/" + db

    async def drop_all(self) -> None:
        if not self.created:
            return
        import asyncpg

        conn = await asyncpg.connect(POSTGRES_URL)
        try:
            for db in self.created:
                await conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        finally:
            await conn.close()


@pytest.fixture
async def databases(backend, tmp_path):
    dbs = Databases(backend, tmp_path)
    yield dbs
    await dbs.drop_all()
