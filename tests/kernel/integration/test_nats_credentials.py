"""A process presents its NATS credentials (CORDON_NATS_USER and CORDON_NATS_PASSWORD): a server that asks
for them lets it in, and a wrong password keeps it out."""

from __future__ import annotations

import asyncio

import pytest

from cordon import migrate
from cordon.natsserver import NatsServer
from services.testing.app import TestingSettings, create_app
from tests.serving import serve, start_service


@pytest.fixture
def guarded_nats(tmp_path):
    server = NatsServer(store_dir=tmp_path / "nats", user="testing", password="nats-secret").start()
    yield server
    server.stop()


async def test_a_service_connects_with_its_credentials(databases, guarded_nats):
    async with start_service("testing", databases, guarded_nats.url, nats_user="testing", nats_password="nats-secret") as svc:
        assert svc.app.state.bus.ready
        assert (await svc.get("/readyz")).json()["checks"]["nats"] == "ok"


async def test_a_wrong_password_is_kept_out(databases, guarded_nats):
    url = await databases.new("testing")
    await asyncio.to_thread(migrate.upgrade, "testing", url)

    app = create_app(TestingSettings(database_url=url, nats_url=guarded_nats.url, nats_user="testing", nats_password="wrong"))
    async with serve(app) as svc:
        response = await svc.get("/readyz")
        assert response.status_code == 503 and response.json()["checks"]["nats"] == "unavailable"
        assert not app.state.bus.ready
