"""deploy/backup.sh and deploy/restore.sh against the real PostgreSQL server: a county entered through the
API (`cordon seed --demo`), backed up with pg_dump -Fc, restored into fresh databases, and every person,
measure and result found again there, and through a registry serving the restored database."""

from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import POSTGRES_URL, Databases
from tests.e2e.stack import running_stack
from tests.e2e.test_demo import seed
from tests.serving import settled, start_service
from tests.tokens import bearer

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SERVICES = ("registry", "testing", "events", "notify", "gateway")
# What must come back, row for row: (database, query).
KEPT = [
    ("registry", "SELECT id::text FROM person"),
    ("registry", "SELECT id::text || status FROM measure"),
    ("registry", "SELECT person_id::text || color FROM health_code"),
    ("testing", "SELECT id::text || target || result FROM test_result"),
    ("testing", "SELECT id::text FROM sample"),
    ("events", "SELECT id::text FROM gathering"),
    ("gateway", "SELECT username FROM user_account"),
    ("registry", "SELECT event_id::text FROM outbox WHERE sent_at IS NULL"),
]


class Prefixed(Databases):
    """The stack's databases named <prefix><service>, as backup.sh names them."""

    def __init__(self, prefix: str, tmp_path: Path) -> None:
        super().__init__("postgres", tmp_path)
        self.prefix = prefix

    async def new(self, name: str) -> str:
        conn = await asyncpg.connect(POSTGRES_URL)
        try:
            await conn.execute(f'CREATE DATABASE "{self.prefix}{name}"')
        finally:
            await conn.close()
        self.created.append(f"{self.prefix}{name}")
        return POSTGRES_URL.replace("postgresql://", "postgresql+asyncpg://", 1).rsplit("/", 1)[0] + f"/{self.prefix}{name}"


def libpq_env(prefix: str) -> dict[str, str]:
    hostport = POSTGRES_URL.split("://", 1)[1].split("/", 1)[0].rsplit("@", 1)[-1]
    host, _, port = hostport.partition(":")
    return {**os.environ, "PGHOST": host, "PGPORT": port or "5432", "CORDON_DB_PREFIX": prefix}


async def rows(prefix: str) -> dict[tuple[str, str], list[str]]:
    found = {}
    base = POSTGRES_URL.rsplit("/", 1)[0]
    for service, query in KEPT:
        conn = await asyncpg.connect(f"{base}/{prefix}{service}")
        try:
            found[(service, query)] = sorted(r[0] for r in await conn.fetch(query))
        finally:
            await conn.close()
    return found


@pytest.mark.postgres
@pytest.mark.slow
async def test_backup_then_restore_into_fresh_databases_finds_everything_again(nats_server, tmp_path, home):
    source, target = f"cordon_t_bk{secrets.token_hex(3)}_", f"cordon_t_rs{secrets.token_hex(3)}_"
    databases = Prefixed(source, tmp_path)
    restored = Prefixed(target, tmp_path)
    backup = tmp_path / "backup"
    try:
        async with running_stack(databases, nats_server.url, home) as cordon:
            code, out = await seed(str(cordon.gateway.base_url))
            assert code == 0, out
            await settled(nats_server.url, *cordon.services, timeout=120)
            before = await rows(source)

        done = subprocess.run(["sh", str(DEPLOY / "backup.sh"), str(backup)], env=libpq_env(source),
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        assert sorted(p.name for p in backup.iterdir()) == sorted(["MANIFEST", *(f"{s}.dump" for s in SERVICES)])
        manifest = (backup / "MANIFEST").read_text()
        assert "jetstream: not included" in manifest and all(f"\n{s} {source}{s} " in manifest for s in SERVICES)
        listed = subprocess.run(["pg_restore", "--list", str(backup / "registry.dump")], capture_output=True, text=True)
        assert "TABLE DATA public person" in listed.stdout  # custom format, readable by pg_restore

        restored.created = [f"{target}{s}" for s in SERVICES]  # dropped at the end, whatever happens
        done = subprocess.run(["sh", str(DEPLOY / "restore.sh"), str(backup)], env=libpq_env(target),
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        after = await rows(target)
        assert after == before
        assert len(before[("registry", "SELECT id::text FROM person")]) == 160
        assert before[("registry", "SELECT id::text || status FROM measure")] and before[("testing", "SELECT id::text || target || result FROM test_result")]

        # Restore never writes over data: a second run into the same databases is refused.
        again = subprocess.run(["sh", str(DEPLOY / "restore.sh"), str(backup)], env=libpq_env(target),
                               capture_output=True, text=True, timeout=120)
        assert again.returncode == 1 and "already has tables" in again.stderr

        # The registry serves the restored database: a person read back through its API.
        person = before[("registry", "SELECT id::text FROM person")][0]
        url = POSTGRES_URL.replace("postgresql://", "postgresql+asyncpg://", 1).rsplit("/", 1)[0] + f"/{target}registry"
        async with start_service("registry", restored, None, database_url=url, home=home, ticker_interval_s=0) as registry:
            answer = await registry.get(f"/api/v1/persons/{person}", headers=bearer("admin", home=home))
            assert answer.status_code == 200 and answer.json()["id"] == person
    finally:
        await databases.drop_all()
        await restored.drop_all()


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"
