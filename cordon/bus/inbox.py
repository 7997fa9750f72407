"""The inbox: each consumer handles each event id once, its effects and the inbox row in one transaction."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cordon.bus.tables import dead_letter, inbox
from cordon.clock import utcnow
from cordon.db import dialect_insert, insert_or_ignore


async def claim(session: AsyncSession, *, consumer: str, event_id: uuid.UUID) -> bool:
    """Record that ``consumer`` handles ``event_id`` in this transaction; False if it already has."""
    values = {"consumer": consumer, "event_id": event_id, "handled_at": utcnow()}
    return await insert_or_ignore(session, inbox, values, conflict=["consumer", "event_id"])


async def claim_many(session: AsyncSession, *, consumer: str, event_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Claim a batch in one statement; the ids not handled before (the others are redeliveries)."""
    if not event_ids:
        return set()
    now = utcnow()
    rows = [{"consumer": consumer, "event_id": e, "handled_at": now} for e in dict.fromkeys(event_ids)]
    statement = dialect_insert(session, inbox).values(rows).on_conflict_do_nothing(index_elements=["consumer", "event_id"])
    return set((await session.execute(statement.returning(inbox.c.event_id))).scalars())


async def set_aside(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    consumer: str,
    event_id: str | None,
    nats_subject: str,
    payload: bytes,
    error: str,
    deliveries: int,
) -> None:
    """Keep a poison message for a person to look at (once per consumer and event)."""
    async with sessionmaker() as session, session.begin():
        await insert_or_ignore(
            session,
            dead_letter,
            {
                "consumer": consumer,
                "event_id": event_id,
                "nats_subject": nats_subject,
                "payload": payload.decode("utf-8", "replace"),
                "error": error[:2000],
                "deliveries": deliveries,
                "created_at": utcnow(),
            },
            conflict=["consumer", "event_id"],
        )
