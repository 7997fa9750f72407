"""The transactional outbox: an event is a row written in the same transaction as the change."""

from __future__ import annotations

from sqlalchemy import event as sa_event
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from cordon import contracts
from cordon.bus.envelope import Envelope, wrap
from cordon.bus.tables import outbox
from cordon.observability import request_id_var

# Keys of Session.info: the sessionmaker carries the service's source and the
# relay's wake-up; ``add`` marks the session so its commit wakes the relay.
SOURCE, WAKE, DIRTY = "cordon.source", "cordon.outbox_wake", "cordon.outbox_dirty"


async def add(session: AsyncSession, event: contracts.Event, *, key: object) -> Envelope:
    """Stage ``event`` about aggregate ``key`` for publication when the session commits."""
    envelope = wrap(event, source=session.info[SOURCE], key=str(key), request_id=request_id_var.get())
    await session.execute(
        insert(outbox).values(
            event_id=envelope.id,
            nats_subject=envelope.nats_subject,
            payload=envelope.to_json().decode(),
            created_at=envelope.time,
        )
    )
    session.info[DIRTY] = True
    return envelope


async def add_many(session: AsyncSession, events: list[tuple[contracts.Event, object]]) -> list[Envelope]:
    """Stage many (event, key) pairs in one executemany: a lab batch publishes thousands at once."""
    if not events:
        return []
    source, request_id = session.info[SOURCE], request_id_var.get()
    envelopes = [wrap(event, source=source, key=str(key), request_id=request_id) for event, key in events]
    await session.execute(
        insert(outbox),
        [
            {"event_id": e.id, "nats_subject": e.nats_subject, "payload": e.to_json().decode(), "created_at": e.time}
            for e in envelopes
        ],
    )
    session.info[DIRTY] = True
    return envelopes


@sa_event.listens_for(Session, "after_commit")
def _wake_relay(session: Session) -> None:
    if session.info.pop(DIRTY, False) and (wake := session.info.get(WAKE)):
        wake()


@sa_event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(DIRTY, None)
