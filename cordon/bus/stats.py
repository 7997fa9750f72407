"""What an operator watches on the bus tables every service has: the outbox backlog and the dead letters.

One query each, shared by the `cordon` CLI (outbox status, dead-letters list) and the gauges of /metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cordon.bus.tables import dead_letter, outbox


@dataclass(frozen=True)
class Backlog:
    unsent: int  # outbox rows not yet acknowledged by JetStream
    oldest: datetime | None  # the oldest unsent row's commit time
    failing: int  # unsent rows whose last publish attempt failed

    def oldest_age_s(self, now: datetime) -> float:
        return max((now - self.oldest).total_seconds(), 0.0) if self.oldest else 0.0


async def backlog(session: AsyncSession) -> Backlog:
    unsent = outbox.c.sent_at.is_(None)
    row = (
        await session.execute(
            select(func.count(), func.min(outbox.c.created_at), func.count(outbox.c.last_error)).where(unsent)
        )
    ).one()
    # min() keeps its column's type (UTCDateTime): an aware UTC time on SQLite as on PostgreSQL.
    return Backlog(unsent=row[0], oldest=row[1], failing=row[2])


async def dead_letters_by_consumer(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(dead_letter.c.consumer, func.count()).group_by(dead_letter.c.consumer))
    return {consumer: count for consumer, count in rows}
