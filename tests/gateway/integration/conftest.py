from __future__ import annotations

import pytest

from cordon.natsserver import free_port
from tests.serving import start_service

ADMIN_PASSWORD = "admin-password-for-tests"


@pytest.fixture
async def registry(databases, nats_server):
    async with start_service("registry", databases, nats_server.url) as client:
        yield client


@pytest.fixture
async def gateway(databases, nats_server, registry):
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens: the circuit tests use it
    async with start_service(
        "gateway", databases, nats_server.url, admin_password=ADMIN_PASSWORD, registry_url=str(registry.base_url).rstrip("/"),
        testing_url=dead, events_url=dead, notify_url=dead,
    ) as client:
        yield client


async def login(gateway, username: str, password: str) -> dict:
    from tests.serving import eventually

    async def attempt():
        response = await gateway.post("/api/v1/auth/token", data={"username": username, "password": password})
        return response if response.status_code != 401 or username != "admin" else None

    response = await eventually(attempt)  # the first admin is created just after start
    assert response.status_code == 200, response.text
    return response.json()


async def admin_headers(gateway) -> dict:
    token = await login(gateway, "admin", ADMIN_PASSWORD)
    return {"Authorization": f"Bearer {token['access_token']}"}
