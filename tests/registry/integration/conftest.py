from __future__ import annotations

import pytest

from tests.serving import start_service


@pytest.fixture
async def registry(databases, nats_server):
    # No clockwork of its own: tests move the clock and tick by hand (one test runs it for real).
    async with start_service("registry", databases, nats_server.url, ticker_interval_s=0) as client:
        yield client
