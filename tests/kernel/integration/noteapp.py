"""Two small services built on the kernel, for the bus tests: `notes` writes notes and publishes
`notes.note.created` through its outbox; `tally` consumes them into its own table.

`received` has no unique key on purpose: a handler that ran twice would leave two rows.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from fastapi import APIRouter, FastAPI
from pydantic import BaseModel
from sqlalchemy import Column, Integer, String, Table, Uuid, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from cordon import clock, contracts, db, deps
from cordon.app import create_service_app
from cordon.bus import ConsumerSpec, Transient, outbox
from cordon.bus.envelope import Envelope
from cordon.bus.tables import metadata as bus_metadata
from cordon.errors import Unprocessable
from cordon.settings import Settings

STREAMS = {"NOTES": ["notes.>"]}


@contracts.register
class NoteCreated(contracts.Event):
    subject: ClassVar[str] = "notes.note.created"
    note_id: uuid.UUID
    text: str


metadata = db.new_metadata()
note = Table("note", metadata, Column("id", Uuid, primary_key=True), Column("text", String(200), nullable=False))
received = Table(
    "received",
    metadata,
    Column("n", Integer, primary_key=True, autoincrement=True),
    Column("event_id", Uuid, nullable=False),
    Column("note_id", Uuid, nullable=False),
)


class NoteIn(BaseModel):
    text: str


router = APIRouter()


@router.post("/notes", status_code=201)
async def create_note(body: NoteIn, session: deps.SessionDep) -> dict:
    note_id = uuid.uuid4()
    await session.execute(insert(note).values(id=note_id, text=body.text))
    await outbox.add(session, NoteCreated(note_id=note_id, text=body.text), key=note_id)
    if body.text == "roll back":
        await session.rollback()
        raise Unprocessable("rolled back on request", code="rolled_back")
    await session.commit()
    return {"id": str(note_id)}


@router.get("/received")
async def list_received(session: deps.SessionDep) -> dict:
    rows = (await session.execute(select(received.c.event_id, received.c.note_id))).all()
    return {"count": len(rows), "events": [str(r.event_id) for r in rows], "notes": [str(r.note_id) for r in rows]}


class Faults:
    """Failures the tests switch on: transient ones for the first ``transient`` calls, poison for a text."""

    transient = 0
    poison_text = "poison"
    calls = 0
    handled_at: ClassVar[list] = []  # each handler call's clock.now()


async def on_note_created(session: AsyncSession, event: NoteCreated, envelope: Envelope) -> None:
    Faults.calls += 1
    Faults.handled_at.append(clock.now())
    if Faults.transient > 0:
        Faults.transient -= 1
        raise Transient("dependency away")
    if event.text == Faults.poison_text:
        raise ValueError("cannot handle this note")
    await session.execute(insert(received).values(event_id=envelope.id, note_id=event.note_id))


def make_settings(service: str, *, database_url: str, nats_url: str | None) -> Settings:
    cls = type(f"{service.capitalize()}Settings", (Settings,), {"service": service})
    return cls(database_url=database_url, nats_url=nats_url)


async def create_schema(database_url: str) -> None:
    engine = db.create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(bus_metadata.create_all)
        await conn.run_sync(metadata.create_all)
    await engine.dispose()


def notes_app(database_url: str, nats_url: str | None) -> FastAPI:
    return create_service_app(
        settings=make_settings("notes", database_url=database_url, nats_url=nats_url),
        routers=[router],
        streams=STREAMS,
    )


TALLY = ConsumerSpec(name="tally-notes", stream="NOTES", handlers={NoteCreated.subject: on_note_created})


def tally_app(database_url: str, nats_url: str | None) -> FastAPI:
    return create_service_app(
        settings=make_settings("tally", database_url=database_url, nats_url=nats_url),
        routers=[router],
        consumers=[TALLY],
        streams=STREAMS,
    )


async def count(session_or_engine, table=received) -> int:
    async with session_or_engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(table))).scalar_one()


def tally_from_env() -> FastAPI:
    """Factory for a tally process started by uvicorn (the kill -9 test)."""
    import os

    return tally_app(os.environ["TALLY_DATABASE_URL"], os.environ["TALLY_NATS_URL"])
