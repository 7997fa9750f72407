from __future__ import annotations

import pytest

from tests.serving import eventually, start_service


@pytest.fixture
async def testing(databases, nats_server):
    async with start_service("testing", databases, nats_server.url) as client:
        await eventually(lambda: _ready(client))
        client.nats_url = nats_server.url
        yield client


async def _ready(client):
    return (await client.get("/readyz")).status_code == 200
