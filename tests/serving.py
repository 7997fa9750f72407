"""Serve an ASGI app with uvicorn on a loopback port inside the test's event loop: real HTTP, real lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from typing import AsyncIterator

import httpx
import uvicorn

from cordon.natsserver import free_port


@contextlib.asynccontextmanager
async def serve(app) -> AsyncIterator[httpx.AsyncClient]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on"))
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


@contextlib.asynccontextmanager
async def start_service(name: str, databases, nats_url: str | None, **settings) -> AsyncIterator[httpx.AsyncClient]:
    """Migrate a fresh database for service ``name`` and serve it; the client talks real HTTP to it."""
    from cordon import migrate, services

    url = await databases.new(name)
    await asyncio.to_thread(migrate.upgrade, name, url)
    app_module = importlib.import_module(services.app_path(name).split(":")[0])
    config = services.settings_class(name)(database_url=url, nats_url=nats_url, **settings)
    app = app_module.create_app(config)
    async with serve(app) as client:
        client.app_settings = config
        client.app = app  # for tests that set app.state.clock or run a task by hand
        yield client


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
