"""The relay with replicas and outages, on a real nats-server and a real database: two relays on one
database never publish a row twice (PostgreSQL claims with FOR UPDATE SKIP LOCKED); NATS dying in the
middle of a publish batch loses and doubles nothing once it is back; the retry backoff stays under its cap."""

from __future__ import annotations

import asyncio
import uuid

import nats
import pytest
from sqlalchemy import func, insert, select

from cordon import db
from cordon.bus import streams
from cordon.bus.relay import Relay
from cordon.bus.tables import outbox
from cordon.clock import utcnow
from tests.kernel.integration import noteapp
from tests.serving import eventually

N = 2000


async def outbox_with(url: str, n: int) -> db.AsyncEngine:
    await noteapp.create_schema(url)
    engine = db.create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(insert(outbox), [
            {"event_id": uuid.uuid4(), "nats_subject": "notes.note.created", "payload": "{}", "created_at": utcnow()}
            for _ in range(n)])
    return engine


async def unsent(engine) -> int:
    async with engine.connect() as conn:
        return await conn.scalar(select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None)))


async def stream_count(js) -> int:
    return (await js.stream_info("NOTES")).state.messages


def relay(engine, js, name: str, **kwargs) -> Relay:
    connected = asyncio.Event()
    connected.set()
    return Relay(service=name, sessionmaker=db.create_sessionmaker(engine), jetstream=lambda: js, connected=connected, **kwargs)


async def test_two_relays_on_one_database_publish_each_row_once(databases, nats_server):
    engine = await outbox_with(await databases.new("relays"), N)
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await streams.declare(js, noteapp.STREAMS)
    published = {"a": 0, "b": 0}

    async def drain(name: str) -> None:
        one = relay(engine, js, f"relay-{name}", batch=100)
        while True:
            count = await one.publish_pending()
            published[name] += count
            if not count and not await unsent(engine):
                return

    try:
        await asyncio.gather(drain("a"), drain("b"))
        assert await unsent(engine) == 0
        assert await stream_count(js) == N  # the stream holds each event once
        if databases.backend == "postgres":
            # Each row claimed by one relay only: not one publish more than there are rows, and both worked.
            assert published["a"] + published["b"] == N and min(published.values()) > 0, published
        # On SQLite one relay per file is the rule: two may send a row twice, and the stream's
        # duplicate window (Nats-Msg-Id = event id) is then what keeps it once.
    finally:
        await nc.close()
        await engine.dispose()


@pytest.mark.slow
async def test_nats_dying_in_a_publish_batch_loses_and_doubles_nothing(databases, nats_server):
    engine = await outbox_with(await databases.new("outage"), N)
    nc = await nats.connect(nats_server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    js = nc.jetstream()
    await streams.declare(js, noteapp.STREAMS)
    one = relay(engine, js, "relay-outage", batch=N, max_backoff_s=0.5)
    task = asyncio.create_task(one.run())
    try:
        await eventually(lambda: _at_least(js, 1), interval=0.001)  # the batch is on its way
        nats_server.stop()
        nats_server.start()  # same port, same store
        await eventually(lambda: _none_unsent(engine), timeout=60)
        await eventually(lambda: _at_least(js, N), timeout=30)
        assert await stream_count(js) == N  # every row once: the republished ones dropped as duplicates
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await nc.close()
        await engine.dispose()


async def _at_least(js, n: int) -> bool:
    try:
        return await stream_count(js) >= n
    except Exception:  # the server is restarting
        return False


async def _none_unsent(engine) -> bool:
    return await unsent(engine) == 0


async def test_the_relay_backs_off_doubling_up_to_its_cap(databases, monkeypatch):
    engine = await outbox_with(await databases.new("backoff"), 1)
    waits: list[float] = []
    real_sleep = asyncio.sleep

    async def recorded_sleep(seconds, *args):
        waits.append(seconds)
        if len(waits) >= 12:
            raise asyncio.CancelledError
        await real_sleep(0)

    one = relay(engine, None, "relay-backoff", max_backoff_s=0.4)  # never connected to NATS: every pass fails
    from cordon.bus import relay as relay_module

    monkeypatch.setattr(relay_module.asyncio, "sleep", recorded_sleep)
    try:
        with pytest.raises(asyncio.CancelledError):
            await one.run()
    finally:
        monkeypatch.undo()
        await engine.dispose()
    assert waits[:5] == [0.05, 0.1, 0.2, 0.4, 0.4] and set(waits[5:]) == {0.4}
    assert await unsent(engine) == 1  # nothing marked sent that was not
