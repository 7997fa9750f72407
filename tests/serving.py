"""Serve an ASGI app with uvicorn on a loopback port inside the test's event loop: real HTTP, real lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import uvicorn

from cordon.natsserver import free_port, port_open


@contextlib.asynccontextmanager
async def serve(app) -> AsyncIterator[httpx.AsyncClient]:
    port = free_port()
    # proxy_headers off, as `cordon serve` runs every process: the gateway reads X-Forwarded-For itself.
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on",
                                           proxy_headers=False))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # raises the start-up error
                raise RuntimeError("server stopped during start-up")
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client
    finally:
        server.should_exit = True
        await task


async def eventually(predicate, *, timeout: float = 20.0, interval: float = 0.05):
    """Await ``predicate()`` until it returns a truthy value; that value, or AssertionError at the deadline."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {value!r})")
        await asyncio.sleep(interval)


def listening(process, port: int, what: str, *, timeout: float = 10.0, log: Path | None = None) -> None:
    """Wait until a server process the test started listens on loopback ``port``; AssertionError at once if it
    exited, or at the deadline, with the end of its ``log`` (where it wrote its output), if any."""
    deadline = time.monotonic() + timeout
    while not port_open(port):
        if process.poll() is not None or time.monotonic() > deadline:
            said = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
            raise AssertionError(f"{what} did not start (exit code {process.poll()}){': ' + said if said else ''}")
        time.sleep(0.02)


async def settled(nats_url: str, *services, timeout: float = 30.0) -> None:
    """Wait until everything published so far has been handled, then return.

    Handled means: each of ``services`` (clients from ``start_service``, or apps) has declared its
    streams and consumers and has no unsent outbox row, and every durable consumer of every stream
    has been delivered all its messages and has acknowledged each of them (a nak'd one holds the ack
    floor back); a test's own ephemeral readers are not waited for. The streams' last sequences must
    not move while this is checked, so an event the relay publishes in between, or one a handler
    stages for later, is waited for too. After it a test may assert exact counts and absences:
    nothing already set in motion is still on its way.
    """
    import nats

    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()

        async def quiet() -> bool:
            if not all(getattr(service, "app", service).state.bus.ready for service in services):
                return False  # its streams and consumers are not declared yet
            if await _unsent(services):
                return False
            before = await _last_sequences(js)
            for stream in before:
                for info in await js.consumers_info(stream):
                    if not info.config.durable_name:
                        continue  # a test's own reader, not a service
                    if info.num_pending or info.num_ack_pending or info.ack_floor.stream_seq != info.delivered.stream_seq:
                        return False
            return not await _unsent(services) and await _last_sequences(js) == before

        await eventually(quiet, timeout=timeout)
    finally:
        await nc.close()


async def stream_envelopes(url: str, stream: str, subject: str | None = None) -> list:
    """Every message of a stream (of one NATS subject, if given) as an Envelope, in stream order."""
    import nats

    from cordon.bus.envelope import Envelope

    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        try:
            info = await js.stream_info(stream)
        except nats.js.errors.NotFoundError:
            return []
        if not info.state.messages:
            return []
        found = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg(stream, seq)
            if subject is None or msg.subject == subject:
                found.append(Envelope.from_json(msg.data))
        return found
    finally:
        await nc.close()


async def stream_events(url: str, stream: str = "REGISTRY") -> list[tuple[str, dict]]:
    """Every message of a stream as (subject, CloudEvents data)."""
    return [(e.nats_subject, e.data) for e in await stream_envelopes(url, stream)]


async def _last_sequences(js) -> dict[str, int]:
    return {info.config.name: info.state.last_seq for info in await js.streams_info()}


async def _unsent(services) -> int:
    from sqlalchemy import func, select

    from cordon.bus.tables import outbox

    total = 0
    for service in services:
        app = getattr(service, "app", service)
        async with app.state.sessionmaker() as session:
            total += await session.scalar(select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None)))
    return total


@contextlib.asynccontextmanager
async def start_service(name: str, databases, nats_url: str | None, *, database_url: str | None = None,
                        **settings) -> AsyncIterator[httpx.AsyncClient]:
    """Migrate a fresh database for service ``name`` and serve it, ready on the bus; the client talks real HTTP to it.

    ``database_url``: serve another replica on that (already migrated) database instead."""
    from cordon import migrate, services

    url = database_url
    if url is None:
        url = await databases.new(name)
        await asyncio.to_thread(migrate.upgrade, name, url)
    app_module = importlib.import_module(services.app_path(name).split(":")[0])
    config = services.settings_class(name)(database_url=url, nats_url=nats_url, **settings)
    app = app_module.create_app(config)
    async with serve(app) as client:
        client.app_settings = config
        client.app = app  # for tests that set app.state.clock or run a task by hand
        if nats_url:  # its streams and consumers declared: what a test publishes next has a stream to land in
            await eventually(lambda: _async(app.state.bus.ready))
        yield client


async def _async(value):
    return value


@contextlib.asynccontextmanager
async def serve_aiohttp(app) -> AsyncIterator[str]:
    """An aiohttp web application (a fake of a provider's API) on a loopback port; yields its base URL."""
    from aiohttp import web

    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
