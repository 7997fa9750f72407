"""Every service and the gateway: migrations up and down, health, readiness, metrics, problem+json."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import inspect

from cordon import db, migrate, services
from cordon.settings import SERVICES
from tests.kernel.integration import noteapp
from tests.serving import eventually, serve


async def table_names(url: str) -> set[str]:
    engine = db.create_engine(url)
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    await engine.dispose()
    return names


@pytest.mark.parametrize("service", SERVICES)
async def test_migrations_go_up_and_down(service, databases):
    url = await databases.new(service)
    await asyncio.to_thread(migrate.upgrade, service, url)
    assert {"outbox", "inbox", "dead_letter", "alembic_version"} <= await table_names(url)
    await asyncio.to_thread(migrate.upgrade, service, url)  # again: nothing to do, no error
    await asyncio.to_thread(migrate.downgrade, service, url, "base")
    assert await table_names(url) <= {"alembic_version"}


@pytest.mark.parametrize("service", SERVICES)
async def test_each_service_is_healthy_ready_and_measured(service, databases, nats_server):
    url = await databases.new(service)
    await asyncio.to_thread(migrate.upgrade, service, url)
    settings = services.settings_class(service)(database_url=url, nats_url=nats_server.url)
    module = __import__(services.app_path(service).split(":")[0], fromlist=["create_app"])
    async with serve(module.create_app(settings)) as client:
        assert (await client.get("/healthz")).json()["status"] == "ok"
        ready = await eventually(lambda: _ready(client))
        assert ready["checks"]["database"] == "ok" and ready["checks"]["nats"] == "ok"
        metrics = await client.get("/metrics")
        assert "cordon_http_requests_total" in metrics.text
        missing = await client.get("/api/v1/nowhere", headers={"X-Request-ID": "trace-me-1"})
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        assert missing.json()["code"] == "not_found"
        assert missing.headers["x-request-id"] == "trace-me-1"


async def _ready(client):
    response = await client.get("/readyz")
    body = response.json()
    if service_is_gateway(body):
        # Upstreams are not running here; the gateway's own checks must still pass.
        return body if body["checks"]["database"] == "ok" and body["checks"]["nats"] == "ok" else None
    return body if response.status_code == 200 else None


def service_is_gateway(body) -> bool:
    return body["service"] == "gateway"


async def test_gateway_readiness_names_each_upstream(databases, nats_server):
    from gateway.app import GatewaySettings, create_app

    url = await databases.new("gateway")
    await asyncio.to_thread(migrate.upgrade, "gateway", url)
    settings = GatewaySettings(database_url=url, nats_url=nats_server.url, registry_url="http://127.0.0.1:9")
    async with serve(create_app(settings)) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["registry"]["status"] == "unreachable"
    assert set(response.json()["checks"]) >= {"registry", "testing", "events", "notify"}


async def test_bad_input_gets_problem_json_not_500(databases):
    url = await databases.new("notes")
    await noteapp.create_schema(url)
    async with serve(noteapp.notes_app(url, None)) as client:
        bad_json = await client.post("/api/v1/notes", content=b"{oops", headers={"content-type": "application/json"})
        assert bad_json.status_code == 400 and bad_json.json()["code"] == "invalid_json"
        missing = await client.post("/api/v1/notes", json={})
        assert missing.status_code == 422
        body = missing.json()
        assert body["code"] == "validation_error" and body["errors"][0]["field"] == "text"
        assert {"type", "title", "status", "detail", "code", "errors"} <= body.keys()
        wrong_method = await client.delete("/api/v1/notes")
        assert wrong_method.status_code == 405 and wrong_method.json()["code"] == "method_not_allowed"
        generated = await client.get("/healthz")
        assert len(generated.headers["x-request-id"]) >= 16


@pytest.mark.parametrize("service", SERVICES)
async def test_models_match_migrations(service, databases):
    """The static migrations create exactly what models.py declares (an autogenerate diff is empty)."""
    import importlib

    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from cordon.bus.tables import metadata as bus_metadata
    from cordon.policy import replica

    url = await databases.new(service)
    await asyncio.to_thread(migrate.upgrade, service, url)
    models = importlib.import_module(f"{services.package(service)}.models")
    engine = db.create_engine(url)

    def diff(connection):
        names = set(inspect(connection).get_table_names())
        target = [bus_metadata, models.Base.metadata] + ([replica.metadata] if "policy_copy" in names else [])
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, target)

    async with engine.connect() as conn:
        differences = await conn.run_sync(diff)
    await engine.dispose()
    assert differences == [], "\n".join(map(repr, differences))
