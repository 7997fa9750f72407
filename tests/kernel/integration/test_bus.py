"""The event bus against a real nats-server and a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime

import httpx
import nats
import pytest
from sqlalchemy import select

from cordon import db
from cordon.bus.envelope import wrap
from cordon.bus.tables import dead_letter, outbox
from cordon.natsserver import free_port
from tests.kernel.integration import noteapp
from tests.kernel.integration.noteapp import Faults, NoteCreated
from tests.serving import eventually, serve, settled


@pytest.fixture(autouse=True)
def _reset_faults():
    Faults.transient, Faults.calls = 0, 0
    Faults.handled_at.clear()
    yield
    Faults.transient, Faults.calls = 0, 0


@pytest.fixture
async def urls(databases):
    notes, tally = await databases.new("notes"), await databases.new("tally")
    await noteapp.create_schema(notes)
    await noteapp.create_schema(tally)
    return notes, tally


async def received(client) -> dict:
    return (await client.get("/api/v1/received")).json()


async def test_event_travels_from_commit_to_handler(urls, nats_server):
    notes_url, tally_url = urls
    apps = noteapp.notes_app(notes_url, nats_server.url), noteapp.tally_app(tally_url, nats_server.url)
    async with serve(apps[0]) as notes, serve(apps[1]) as tally:
        created = (await notes.post("/api/v1/notes", json={"text": "hello"})).json()
        await settled(nats_server.url, *apps)
        assert (await received(tally))["notes"] == [created["id"]]
        # The relay marked the row sent.
        engine = db.create_engine(notes_url)
        async with engine.connect() as conn:
            assert (await conn.execute(select(outbox.c.sent_at))).scalar_one() is not None
        await engine.dispose()


async def test_a_handler_reads_its_apps_replaceable_clock(urls, nats_server):
    notes_url, tally_url = urls
    moment = datetime(2030, 5, 1, 12, tzinfo=UTC)
    tally_app = noteapp.tally_app(tally_url, nats_server.url)
    async with serve(noteapp.notes_app(notes_url, nats_server.url)) as notes, serve(tally_app) as tally:
        tally_app.state.clock = lambda: moment
        await notes.post("/api/v1/notes", json={"text": "when?"})
        await eventually(lambda: _count_at_least(tally, 1))
        assert Faults.handled_at == [moment]


async def _count_at_least(client, n: int):
    body = await received(client)
    return body if body["count"] >= n else None


async def test_rolled_back_change_publishes_nothing(urls, nats_server):
    notes_url, tally_url = urls
    apps = noteapp.notes_app(notes_url, nats_server.url), noteapp.tally_app(tally_url, nats_server.url)
    async with serve(apps[0]) as notes, serve(apps[1]) as tally:
        refused = await notes.post("/api/v1/notes", json={"text": "roll back"})
        assert refused.status_code == 422 and refused.json()["code"] == "rolled_back"
        kept = (await notes.post("/api/v1/notes", json={"text": "kept"})).json()
        await settled(nats_server.url, *apps)
        seen = await received(tally)
        assert seen["notes"] == [kept["id"]]
    engine = db.create_engine(notes_url)
    assert await noteapp.count(engine, outbox) == 1
    await engine.dispose()


async def test_redelivered_event_runs_its_handler_once(urls, nats_server):
    _, tally_url = urls
    note_id = uuid.uuid4()
    envelope = wrap(NoteCreated(note_id=note_id, text="twice"), source="cordon/notes", key=str(note_id))
    app = noteapp.tally_app(tally_url, nats_server.url)
    async with serve(app) as tally:
        await eventually(lambda: _ready(tally))
        nc = await nats.connect(nats_server.url)
        js = nc.jetstream()
        # Two copies under different message ids, so the stream keeps both: the inbox must catch the second.
        for copy in ("a", "b"):
            await js.publish("notes.note.created", envelope.to_json(), headers={"Nats-Msg-Id": f"{envelope.id}-{copy}"})
        await nc.close()
        await settled(nats_server.url, app)
        seen = await received(tally)
    assert seen["count"] == 1 and seen["events"] == [str(envelope.id)]
    assert Faults.calls == 1


async def _ready(client):
    return (await client.get("/readyz")).status_code == 200


async def test_transient_failure_is_retried_then_handled(urls, nats_server):
    notes_url, tally_url = urls
    Faults.transient = 2
    apps = noteapp.notes_app(notes_url, nats_server.url), noteapp.tally_app(tally_url, nats_server.url)
    async with serve(apps[0]) as notes, serve(apps[1]) as tally:
        await notes.post("/api/v1/notes", json={"text": "flaky"})
        await settled(nats_server.url, *apps)  # redelivered after each nak (1 s, then 2 s), then acknowledged
        seen = await received(tally)
    assert seen["count"] == 1
    assert Faults.calls == 3  # two naks, then success


async def test_poison_message_is_terminated_and_set_aside(urls, nats_server):
    notes_url, tally_url = urls
    apps = noteapp.notes_app(notes_url, nats_server.url), noteapp.tally_app(tally_url, nats_server.url)
    async with serve(apps[0]) as notes, serve(apps[1]) as tally:
        await notes.post("/api/v1/notes", json={"text": Faults.poison_text})
        nc = await nats.connect(nats_server.url)
        await nc.publish("notes.note.created", b"{not json")  # undecodable: poison before any handler
        await nc.flush()
        await nc.close()
        await notes.post("/api/v1/notes", json={"text": "fine"})
        # Settled means acknowledged or terminated: a nak'd (to be redelivered) message would hold it back.
        await settled(nats_server.url, *apps)
        engine = db.create_engine(tally_url)
        async with engine.connect() as conn:
            letters = (await conn.execute(select(dead_letter))).all()
        await engine.dispose()
        metrics = (await tally.get("/metrics")).text
        # Terminated, not redelivered: a failed batch is gone through once more message by message,
        # so the poison's handler may have run twice, uncommitted, besides the good note's one call.
        assert Faults.calls <= 4
        assert (await received(tally))["count"] == 1
    assert sorted(r.error.split(":")[0] for r in letters) == ["ValueError", "undecodable"]
    assert 'cordon_bus_dead_letters_total{consumer="tally-notes"}' in metrics


@pytest.mark.slow
async def test_outage_loses_nothing_and_doubles_nothing(urls, nats_server):
    """NATS stopped: 1,000 commits all answered 2xx; NATS back: each event handled exactly once."""
    notes_url, tally_url = urls
    apps = noteapp.notes_app(notes_url, nats_server.url), noteapp.tally_app(tally_url, nats_server.url)
    async with serve(apps[0]) as notes, serve(apps[1]) as tally:
        await eventually(lambda: _ready(notes))
        await eventually(lambda: _ready(tally))
        nats_server.stop()
        sem = asyncio.Semaphore(16)

        async def post(i: int) -> int:
            async with sem:
                return (await notes.post("/api/v1/notes", json={"text": f"note {i}"})).status_code

        statuses = await asyncio.gather(*(post(i) for i in range(1000)))
        assert all(200 <= s < 300 for s in statuses), sorted(set(statuses))
        assert (await notes.get("/readyz")).status_code == 503  # honest while NATS is away
        nats_server.start()  # same port, same store
        await settled(nats_server.url, *apps, timeout=90)
        seen = await received(tally)
    assert seen["count"] == 1000
    assert len(set(seen["events"])) == 1000 and len(set(seen["notes"])) == 1000


@pytest.mark.slow
async def test_consumer_killed_mid_stream_resumes_without_loss(urls, nats_server):
    """kill -9 of the consumer process while events flow; a new process resumes from the durable position."""
    notes_url, tally_url = urls
    notes_app = noteapp.notes_app(notes_url, nats_server.url)
    async with serve(notes_app) as notes:
        writers = asyncio.gather(*(notes.post("/api/v1/notes", json={"text": f"n{i}"}) for i in range(300)))
        async with tally_process(tally_url, nats_server.url) as tally:
            await eventually(lambda: _count_at_least(tally, 30), timeout=30, interval=0.01)
            tally.process.kill()
            await asyncio.to_thread(tally.process.wait)
        assert all(r.status_code == 201 for r in await writers)
        async with tally_process(tally_url, nats_server.url) as tally:
            await settled(nats_server.url, notes_app, timeout=90)  # the tally process's consumer too
            seen = await received(tally)
    assert seen["count"] == 300 and len(set(seen["events"])) == 300


@contextlib.asynccontextmanager
async def tally_process(database_url: str, nats_url: str):
    port = free_port()
    env = dict(os.environ, TALLY_DATABASE_URL=database_url, TALLY_NATS_URL=nats_url, CORDON_LOG_LEVEL="WARNING")
    cmd = [sys.executable, "-m", "uvicorn", "tests.kernel.integration.noteapp:tally_from_env", "--factory"]
    process = subprocess.Popen([*cmd, "--port", str(port), "--log-level", "warning"], env=env)
    client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10)
    client.process = process
    try:
        await eventually(lambda: _up(client), timeout=30)
        yield client
    finally:
        await client.aclose()
        if process.poll() is None:
            process.terminate()
            await asyncio.to_thread(process.wait, 10)


async def _up(client) -> bool:
    try:
        return (await client.get("/readyz")).status_code == 200
    except httpx.HTTPError:
        return False


async def test_service_starts_and_takes_writes_with_nats_down(urls, tmp_path):
    from cordon.natsserver import NatsServer

    notes_url, tally_url = urls
    server = NatsServer(store_dir=tmp_path / "late-nats")  # not started yet
    notes_app = noteapp.notes_app(notes_url, server.url)
    async with serve(notes_app) as notes:
        assert (await notes.get("/readyz")).status_code == 503
        assert (await notes.post("/api/v1/notes", json={"text": "early"})).status_code == 201
        server.start()
        try:
            tally_app = noteapp.tally_app(tally_url, server.url)
            async with serve(tally_app) as tally:
                await settled(server.url, notes_app, tally_app)
                assert (await received(tally))["count"] == 1
        finally:
            with contextlib.suppress(Exception):
                server.stop()


async def test_relay_wakes_on_commit_not_only_on_its_poll(urls, nats_server, monkeypatch):
    """With the slow poll pushed out to an hour, an event still leaves right after its commit."""
    from cordon.bus import relay

    monkeypatch.setattr(relay, "POLL_S", 3600.0)
    notes_url, tally_url = urls
    apps = noteapp.notes_app(notes_url, nats_server.url), noteapp.tally_app(tally_url, nats_server.url)
    async with serve(apps[0]) as notes, serve(apps[1]) as tally:
        await notes.post("/api/v1/notes", json={"text": "first"})
        await eventually(lambda: _count_at_least(tally, 1), timeout=10)
        # The relay has passed over the outbox since: from here only a wake-up (or its hour-long poll)
        # starts another pass, and the next note can leave in no other way.
        await notes.post("/api/v1/notes", json={"text": "wake up"})
        await eventually(lambda: _count_at_least(tally, 2), timeout=10)
        await settled(nats_server.url, *apps)
        assert (await received(tally))["count"] == 2
