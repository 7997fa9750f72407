"""Outbox rows are staged in the session and written at commit, in the order added; a savepoint that rolls
back takes its own rows with it, a rolled-back or abandoned transaction leaves none (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select

from cordon import db
from cordon.bus import outbox
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
