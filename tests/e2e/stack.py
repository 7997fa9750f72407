"""All of Cordon in the test's event loop: four services and the gateway over real HTTP on loopback,
one real nats-server, real databases (SQLite, or PostgreSQL with CORDON_TEST_POSTGRES_URL)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.serving import start_service

ADMIN_PASSWORD = "e2e-admin-password"


@dataclass
class Stack:
    gateway: httpx.AsyncClient
    registry: httpx.AsyncClient
    testing: httpx.AsyncClient
    events: httpx.AsyncClient
    notify: httpx.AsyncClient
    home: Path

    @property
    def services(self) -> tuple[httpx.AsyncClient, ...]:
        return self.gateway, self.registry, self.testing, self.events, self.notify

    def sms_sink(self) -> Path:
        return self.home / "outbox" / "sms.jsonl"


@contextlib.asynccontextmanager
async def running_stack(databases, nats_url: str, home: Path, **gateway_settings):
    common = {"home": home}
    async with contextlib.AsyncExitStack() as stack:
        registry = await stack.enter_async_context(start_service("registry", databases, nats_url, ticker_interval_s=0, **common))
        testing = await stack.enter_async_context(start_service("testing", databases, nats_url, **common))
        events = await stack.enter_async_context(start_service("events", databases, nats_url, **common))
        notify = await stack.enter_async_context(
            start_service("notify", databases, nats_url, escalation_poll_s=0.2, delivery_poll_s=0.1, **common)
        )
        urls = {f"{n}_url": str(c.base_url).rstrip("/") for n, c in
                (("registry", registry), ("testing", testing), ("events", events), ("notify", notify))}
        gateway = await stack.enter_async_context(
            start_service("gateway", databases, nats_url, admin_password=ADMIN_PASSWORD, **urls, **common, **gateway_settings)
        )
        yield Stack(gateway, registry, testing, events, notify, home)
