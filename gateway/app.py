"""create_app() for the gateway."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI

from cordon.app import create_service_app
from cordon.settings import Settings
from gateway.routes import UPSTREAMS


class GatewaySettings(Settings):
    service = "gateway"

    registry_url: str = "http://127.0.0.1:8001"
    testing_url: str = "http://127.0.0.1:8002"
    events_url: str = "http://127.0.0.1:8003"
    notify_url: str = "http://127.0.0.1:8004"

    def upstream_url(self, name: str) -> str:
        return getattr(self, f"{name}_url")


async def _upstream_state(client: httpx.AsyncClient, url: str) -> dict:
    try:
        response = await client.get(f"{url}/readyz", timeout=2)
    except httpx.HTTPError as exc:
        return {"status": "unreachable", "error": type(exc).__name__}
    return {"status": "ok" if response.status_code == 200 else "unavailable"}


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()

    async def upstreams(app: FastAPI) -> dict:
        async with httpx.AsyncClient() as client:
            states = await asyncio.gather(*(_upstream_state(client, settings.upstream_url(n)) for n in UPSTREAMS))
        return dict(zip(UPSTREAMS, states))

    return create_service_app(
        settings=settings,
        readiness=upstreams,
        description="The one door to Cordon: auth, roles, routing and limits.",
    )
