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
from tests.serving import eventually, serve


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
    async with serve(noteapp.notes_app(notes_url, nats_server.url)) as notes, serve(
        noteapp.tally_app(tally_url, nats_server.url)
    ) as tally:
        created = (await notes.post("/api/v1/notes", json={"text": "hello"})).json()
        seen = await eventually(lambda: _count_at_least(tally, 1))
        assert seen["notes"] == [created["id"]]
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
    async with serve(noteapp.notes_app(notes_url, nats_server.url)) as notes, serve(
        noteapp.tally_app(tally_url, nats_server.url)
    ) as tally:
        refused = await notes.post("/api/v1/notes", json={"text": "roll back"})
        assert refused.status_code == 422 and refused.json()["code"] == "rolled_back"
        kept = (await notes.post("/api/v1/notes", json={"text": "kept"})).json()
        seen = await eventually(lambda: _count_at_least(tally, 1))
        await asyncio.sleep(0.5)  # time enough for a stray event to arrive, were there one
        seen = await received(tally)
        assert seen["notes"] == [kept["id"]]
    engine = db.create_engine(notes_url)
    assert await noteapp.count(engine, outbox) == 1
    await engine.dispose()


async def test_redelivered_event_runs_its_handler_once(urls, nats_server):
    _, tally_url = urls
    note_id = uuid.uuid4()
    envelope = wrap(NoteCreated(note_id=note_id, text="twice"), source="cordon/notes", key=str(note_id))
    async with serve(noteapp.tally_app(tally_url, nats_server.url)) as tally:
        await eventually(lambda: _ready(tally))
        nc = await nats.connect(nats_server.url)
        js = nc.jetstream()
        # Two copies under different message ids, so the stream keeps both: the inbox must catch the second.
        for copy in ("a", "b"):
            await js.publish("notes.note.created", envelope.to_json(), headers={"Nats-Msg-Id": f"{envelope.id}-{copy}"})
        await eventually(lambda: _all_acked(js, 2))
        await nc.close()
        seen = await received(tally)
    assert seen["count"] == 1 and seen["events"] == [str(envelope.id)]
    assert Faults.calls == 1


async def _all_acked(js, n: int) -> bool:
    info = await js.consumer_info("NOTES", noteapp.TALLY.name)
    return info.ack_floor.stream_seq >= n and info.num_ack_pending == 0


async def _ready(client):
    return (await client.get("/readyz")).status_code == 200


async def test_transient_failure_is_retried_then_handled(urls, nats_server):
    notes_url, tally_url = urls
    Faults.transient = 2
    async with serve(noteapp.notes_app(notes_url, nats_server.url)) as notes, serve(
        noteapp.tally_app(tally_url, nats_server.url)
    ) as tally:
        await notes.post("/api/v1/notes", json={"text": "flaky"})
        seen = await eventually(lambda: _count_at_least(tally, 1), timeout=30)
    assert seen["count"] == 1
    assert Faults.calls == 3  # two naks, then success


async def test_poison_message_is_terminated_and_set_aside(urls, nats_server):
    notes_url, tally_url = urls
    async with serve(noteapp.notes_app(notes_url, nats_server.url)) as notes, serve(
        noteapp.tally_app(tally_url, nats_server.url)
    ) as tally:
        await notes.post("/api/v1/notes", json={"text": Faults.poison_text})
        nc = await nats.connect(nats_server.url)
        await nc.publish("notes.note.created", b"{not json")  # undecodable: poison before any handler
        await nc.flush()
        await nc.close()
        await notes.post("/api/v1/notes", json={"text": "fine"})
        await eventually(lambda: _count_at_least(tally, 1))
        engine = db.create_engine(tally_url)
        letters = await eventually(lambda: _dead_letters(engine, 2))
        await engine.dispose()
        metrics = (await tally.get("/metrics")).text
        # Terminated, not redelivered: no further calls once set aside (a failed batch is gone
        # through once more message by message, so its handler may have run twice, uncommitted).
        calls = Faults.calls
        await asyncio.sleep(1.5)  # past the first redelivery delay
        assert Faults.calls == calls <= 4
        assert (await received(tally))["count"] == 1
    assert sorted(r.error.split(":")[0] for r in letters) == ["ValueError", "undecodable"]
    assert 'cordon_bus_dead_letters_total{consumer="tally-notes"}' in metrics


async def _dead_letters(engine, n):
    async with engine.connect() as conn:
        rows = (await conn.execute(select(dead_letter))).all()
    return rows if len(rows) >= n else None


@pytest.mark.slow
async def test_outage_loses_nothing_and_doubles_nothing(urls, nats_server):
    """NATS stopped: 1,000 commits all answered 2xx; NATS back: each event handled exactly once."""
    notes_url, tally_url = urls
    async with serve(noteapp.notes_app(notes_url, nats_server.url)) as notes, serve(
        noteapp.tally_app(tally_url, nats_server.url)
    ) as tally:
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
        seen = await eventually(lambda: _count_at_least(tally, 1000), timeout=90, interval=0.25)
        await asyncio.sleep(1.0)  # a late duplicate would land now
        seen = await received(tally)
    assert seen["count"] == 1000
    assert len(set(seen["events"])) == 1000 and len(set(seen["notes"])) == 1000


@pytest.mark.slow
async def test_consumer_killed_mid_stream_resumes_without_loss(urls, nats_server):
    """kill -9 of the consumer process while events flow; a new process resumes from the durable position."""
    notes_url, tally_url = urls
    async with serve(noteapp.notes_app(notes_url, nats_server.url)) as notes:
        writers = asyncio.gather(*(notes.post("/api/v1/notes", json={"text": f"n{i}"}) for i in range(300)))
        async with tally_process(tally_url, nats_server.url) as tally:
            await eventually(lambda: _count_at_least(tally, 30), timeout=30, interval=0.01)
            tally.process.kill()
            await asyncio.to_thread(tally.process.wait)
        assert all(r.status_code == 201 for r in await writers)
        async with tally_process(tally_url, nats_server.url) as tally:
            await eventually(lambda: _count_at_least(tally, 300), timeout=60)
            await asyncio.sleep(0.5)
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
    async with serve(noteapp.notes_app(notes_url, server.url)) as notes:
        assert (await notes.get("/readyz")).status_code == 503
        assert (await notes.post("/api/v1/notes", json={"text": "early"})).status_code == 201
        server.start()
        try:
            async with serve(noteapp.tally_app(tally_url, server.url)) as tally:
                seen = await eventually(lambda: _count_at_least(tally, 1), timeout=30)
                assert seen["count"] == 1
        finally:
            with contextlib.suppress(Exception):
                server.stop()


async def test_relay_wakes_on_commit_not_only_on_its_poll(urls, nats_server, monkeypatch):
    """With the slow poll pushed out to an hour, an event still leaves right after its commit."""
    from cordon.bus import relay

    monkeypatch.setattr(relay, "POLL_S", 3600.0)
    notes_url, tally_url = urls
    async with serve(noteapp.notes_app(notes_url, nats_server.url)) as notes, serve(
        noteapp.tally_app(tally_url, nats_server.url)
    ) as tally:
        await eventually(lambda: _ready(notes))
        await asyncio.sleep(0.2)  # the relay is now waiting on its (hour-long) poll
        await notes.post("/api/v1/notes", json={"text": "wake up"})
        seen = await eventually(lambda: _count_at_least(tally, 1), timeout=10)
    assert seen["count"] == 1
