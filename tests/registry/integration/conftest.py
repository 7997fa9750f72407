from __future__ import annotations

import pytest

from tests.serving import start_service


@pytest.fixture
async def registry(databases, nats_server):
    async with start_service("registry", databases, nats_server.url) as client:
        yield client
