"""Outbox rows are staged in the session and written at commit, in the order added, in one statement; a
savepoint that rolls back takes its own rows with it (a consumer's poison message publishes nothing), a
rolled-back or abandoned transaction leaves none, and only the transaction's commit wakes the relay
(SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import uuid

import nats
import pytest
from sqlalchemy import event, insert, select

from cordon import db
from cordon.bus import ConsumerSpec, outbox
from cordon.bus.consumer import Consumer
from cordon.bus.envelope import wrap
from cordon.bus.tables import dead_letter
from cordon.bus.tables import outbox as outbox_table
from tests.kernel.integration import noteapp
from tests.kernel.integration.noteapp import NoteCreated


@pytest.fixture
async def sessionmaker(databases):
    url = await databases.new("staging")
    await noteapp.create_schema(url)
    engine = db.create_engine(url)
    maker = db.create_sessionmaker(engine)
    maker.kw["info"] = {outbox.SOURCE: "notes"}
    yield maker
    await engine.dispose()


def _event(text: str) -> NoteCreated:
    return NoteCreated(note_id=uuid.uuid4(), text=text)


async def _texts(maker) -> list[str]:
    async with maker() as session:
        rows = (await session.execute(select(outbox_table.c.payload).order_by(outbox_table.c.seq))).scalars()
        return [json.loads(p)["data"]["text"] for p in rows]


async def test_rows_are_written_at_commit_in_order_and_a_rolled_back_savepoint_takes_its_own(sessionmaker):
    async with sessionmaker() as session:
        await outbox.add(session, _event("one"), key=1)
        try:
            async with session.begin_nested():
                await outbox.add(session, _event("lost"), key=2)
                async with session.begin_nested():
                    await outbox.add(session, _event("lost inside"), key=3)
                raise ValueError("the handler failed")
        except ValueError:
            pass
        async with session.begin_nested():
            await outbox.add_many(session, [(_event("two"), 4), (_event("three"), 5)])
        await outbox.add(session, _event("four"), key=6)
        await session.commit()
    assert await _texts(sessionmaker) == ["one", "two", "three", "four"]


async def test_a_rollback_or_an_abandoned_session_leaves_nothing_behind(sessionmaker):
    async with sessionmaker() as session:
        await outbox.add(session, _event("rolled back"), key=1)
        await session.rollback()
        await outbox.add(session, _event("kept"), key=2)
        await session.commit()
    async with sessionmaker() as session:
        await outbox.add(session, _event("abandoned"), key=3)
    async with sessionmaker() as session, session.begin():
        await outbox.add(session, _event("with begin()"), key=4)
    assert await _texts(sessionmaker) == ["kept", "with begin()"]


@pytest.fixture
async def store(databases):
    url = await databases.new("notes")
    await noteapp.create_schema(url)
    engine = db.create_engine(url)
    sessionmaker = db.create_sessionmaker(engine)
    sessionmaker.kw["info"] = {outbox.SOURCE: "cordon/notes"}
    yield engine, sessionmaker
    await engine.dispose()


def note(text: str) -> tuple[NoteCreated, uuid.UUID]:
    note_id = uuid.uuid4()
    return NoteCreated(note_id=note_id, text=text), note_id


async def written(engine) -> list[str]:
    """The committed outbox, in the relay's order: each event's text."""
    async with engine.connect() as conn:
        payloads = (await conn.execute(select(outbox_table.c.payload).order_by(outbox_table.c.seq))).scalars()
        return [json.loads(p)["data"]["text"] for p in payloads]


def outbox_inserts(engine) -> list[str]:
    """Every statement sent to the database that inserts into the outbox."""
    seen: list[str] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO OUTBOX"):
            seen.append(statement)

    return seen


async def test_events_are_written_at_commit_in_order_in_one_statement(store):
    engine, sessionmaker = store
    inserts = outbox_inserts(engine)
    texts = [f"n{i}" for i in range(120)]
    async with sessionmaker() as session:
        for text in texts[:50]:
            event_, key = note(text)
            await session.execute(insert(noteapp.note).values(id=key, text=text))
            await outbox.add(session, event_, key=key)
        await outbox.add_many(session, [note(text) for text in texts[50:119]])
        await outbox.add(session, note(texts[119])[0], key="last")
        assert inserts == []  # staged, not yet written
        await session.commit()
    assert await written(engine) == texts
    assert len(inserts) == 1  # one multi-row statement (or one executemany), not one round trip per event


async def test_a_rollback_drops_everything_staged(store):
    engine, sessionmaker = store
    async with sessionmaker() as session:
        await outbox.add(session, note("dropped")[0], key=1)  # staged before any statement
        await session.rollback()
        await outbox.add(session, note("kept")[0], key=2)
        await session.commit()
        await outbox.add_many(session, [note("dropped too"), note("and this")])
        await session.execute(insert(noteapp.note).values(id=uuid.uuid4(), text="x"))
        await session.rollback()
        await outbox.add(session, note("kept too")[0], key=3)
        await session.commit()
    async with sessionmaker() as session:
        await outbox.add(session, note("never committed")[0], key=4)
    async with sessionmaker() as session:
        await session.commit()  # a fresh session stages nothing from the closed one
    assert await written(engine) == ["kept", "kept too"]


async def test_savepoints_keep_what_they_release_and_drop_what_they_roll_back(store):
    engine, sessionmaker = store
    async with sessionmaker() as session, session.begin():
        await outbox.add(session, note("before")[0], key=0)
        async with session.begin_nested():
            await outbox.add(session, note("released")[0], key=1)
            with pytest.raises(ValueError):
                async with session.begin_nested():
                    await outbox.add_many(session, [note("inner rolled back"), note("inner too")])
                    raise ValueError("poison")
            await outbox.add(session, note("after the inner one")[0], key=2)
        with pytest.raises(ValueError):
            async with session.begin_nested():
                await outbox.add(session, note("outer rolled back")[0], key=3)
                async with session.begin_nested():
                    await outbox.add(session, note("released inside a rolled-back one")[0], key=4)
                raise ValueError("poison")
        await outbox.add(session, note("last")[0], key=5)
    assert await written(engine) == ["before", "released", "after the inner one", "last"]


async def test_a_poison_message_in_a_batch_publishes_nothing_and_the_good_ones_publish(store, nats_server):
    """A handler that publishes, then fails on the poison note: the batch is gone through again
    message by message, each in a savepoint; only the good notes' events reach the outbox."""
    engine, sessionmaker = store

    async def echo(session, event_: NoteCreated, envelope) -> None:
        await outbox.add(session, NoteCreated(note_id=uuid.uuid4(), text=f"echo {event_.text}"), key=event_.note_id)
        if event_.text == "poison":
            raise ValueError("cannot handle this note")

    spec = ConsumerSpec(name="echo-notes", stream="NOTES", handlers={NoteCreated.subject: echo})
    nc = await nats.connect(nats_server.url)
    try:
        js = nc.jetstream()
        await js.add_stream(name="NOTES", subjects=["notes.>"])
        for text in ["one", "poison", "two"]:
            event_, key = note(text)
            envelope = wrap(event_, source="cordon/notes", key=str(key))
            await js.publish(NoteCreated.subject, envelope.to_json(), headers={"Nats-Msg-Id": str(envelope.id)})
        consumer = Consumer(spec, sessionmaker=sessionmaker)
        await consumer.declare(js)
        sub = await js.pull_subscribe_bind(durable=spec.name, stream=spec.stream)
        msgs = await sub.fetch(3, timeout=5)
        assert len(msgs) == 3
        await consumer.handle_batch(msgs)
    finally:
        await nc.close()
    assert await written(engine) == ["echo one", "echo two"]
    async with engine.connect() as conn:
        assert (await conn.execute(select(dead_letter.c.error))).scalars().all() == ["ValueError: cannot handle this note"]


async def test_only_the_transactions_commit_wakes_the_relay(store):
    """A savepoint's release writes nothing yet, and a rolled-back savepoint leaves the transaction's own
    rows to write: the relay is woken once, by the commit that wrote them."""
    _, sessionmaker = store
    woken: list[int] = []
    sessionmaker.kw["info"][outbox.WAKE] = lambda: woken.append(1)
    async with sessionmaker() as session:
        await outbox.add(session, note("kept")[0], key=1)
        async with session.begin_nested():
            await outbox.add(session, note("released")[0], key=2)
        with pytest.raises(ValueError):
            async with session.begin_nested():
                await outbox.add(session, note("rolled back")[0], key=3)
                raise ValueError("poison")
        assert woken == []
        await session.commit()
        assert woken == [1]
        await session.execute(insert(noteapp.note).values(id=uuid.uuid4(), text="no event"))
        await session.commit()
    assert woken == [1]
