"""The gateway against an upstream that hangs and comes back (a real HTTP server on loopback), and a
streamed body that grows past its route's limit without declaring its length."""

from __future__ import annotations

import asyncio
import dataclasses

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route as StarletteRoute

from gateway import routes
from tests.gateway.integration.conftest import ADMIN_PASSWORD
from tests.serving import serve, start_service
from tests.tokens import bearer

OFFICIAL = bearer("official", regions=["320413"], username="o")
TIMEOUT_S = 0.5


def slow_upstream(state: dict) -> Starlette:
    """Stands in for the testing service: answers /api/v1/samples at once, or after ``state["delay"]`` seconds."""
    async def samples(request):
        state["calls"] += 1
        await asyncio.sleep(state["delay"])
        return JSONResponse({"items": [], "next_cursor": None})

    return Starlette(routes=[StarletteRoute("/api/v1/samples", samples)])


async def test_a_hanging_upstream_is_504_and_the_gateway_recovers_when_it_answers_again(databases, nats_server, registry, monkeypatch):
    # The samples route with a short timeout, so the test need not wait the real 30 s.
    short = tuple(dataclasses.replace(r, timeout_s=TIMEOUT_S) if r.pattern == ("samples",) else r for r in routes.ROUTES)
    monkeypatch.setattr(routes, "ROUTES", short)
    state = {"delay": 5.0, "calls": 0}
    async with serve(slow_upstream(state)) as upstream, start_service(
        "gateway", databases, nats_server.url, admin_password=ADMIN_PASSWORD,
        registry_url=str(registry.base_url).rstrip("/"), testing_url=str(upstream.base_url).rstrip("/"),
        events_url=str(upstream.base_url).rstrip("/"), notify_url=str(upstream.base_url).rstrip("/"),
    ) as gateway:
        breaker = gateway.app.state.upstreams["testing"].breaker
        breaker.cooldown_s = 1.0
        for _ in range(breaker.threshold):
            hung = await gateway.get("/api/v1/samples", headers=OFFICIAL)
            assert hung.status_code == 504 and hung.json()["code"] == "upstream_timeout", hung.text
            assert hung.headers["content-type"] == "application/problem+json"
        # Timed out five times in a row: the circuit opens, and the upstream is spared.
        calls = state["calls"]
        opened = await gateway.get("/api/v1/samples", headers=OFFICIAL)
        assert opened.status_code == 503 and opened.json()["code"] == "upstream_unavailable"
        assert state["calls"] == calls

        state["delay"] = 0.0  # the upstream answers again
        await asyncio.sleep(breaker.cooldown_s)
        trial = await gateway.get("/api/v1/samples", headers=OFFICIAL)  # the half-open trial goes through
        assert trial.status_code == 200 and trial.json() == {"items": [], "next_cursor": None}
        again = [await gateway.get("/api/v1/samples", headers=OFFICIAL) for _ in range(3)]
        assert [r.status_code for r in again] == [200, 200, 200] and breaker.failures == 0


async def test_a_streamed_body_past_the_limit_without_a_length_is_413(gateway):
    route = routes.resolve("/persons")
    chunk = b" " * 65536
    sent = {"bytes": 0}

    async def body():
        while sent["bytes"] <= route.max_body + len(chunk):
            sent["bytes"] += len(chunk)
            yield chunk

    response = await gateway.post("/api/v1/persons", content=body(), headers={**OFFICIAL, "content-type": "application/json"})
    assert "content-length" not in response.request.headers and response.request.headers["transfer-encoding"] == "chunked"
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large", response.text
    # The registry behind it is unharmed: the next request goes through.
    assert (await gateway.get("/api/v1/risk-areas", headers=OFFICIAL)).status_code == 200
