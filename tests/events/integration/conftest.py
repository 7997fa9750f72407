from __future__ import annotations

import pytest

from tests.serving import start_service


@pytest.fixture
async def events(databases, nats_server):
    async with start_service("events", databases, nats_server.url) as client:
        yield client
