"""Pool-positive people who took no single-tube retest by its deadline: told once each, whatever the replicas."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from cordon.bus import outbox
from cordon.contracts.testing import RetestOverdue
from cordon.db import skip_locked
from services.testing.domain import outcomes
from services.testing.models import PersonRef, Sample

BATCH = 500


async def escalate(*, session: AsyncSession, now: datetime) -> int:
    """Publish testing.retest.overdue for each pool-positive sample past its retest deadline with no later
    sample of the person; commits. The number told."""
    later = aliased(Sample)
    retested = exists().where(later.id_number_index == Sample.id_number_index, later.collected_at > Sample.collected_at)
    # The retested are left out here, not after the read: they are never marked, so a batch that held them
    # would read them again every round and could fill with them while the overdue wait behind.
    query = (
        select(Sample)
        .where(
            Sample.retest_due_by <= now, Sample.retest_due_by > now - outcomes.RETEST_LOOKBACK,
            Sample.status == "pool_positive", Sample.retest_overdue_at.is_(None), ~retested,
        )
        .order_by(Sample.retest_due_by, Sample.id)
        .limit(BATCH)
    )
    due = list((await session.execute(skip_locked(session, query))).scalars())
    if not due:
        await session.commit()
        return 0
    regions = dict((await session.execute(
        select(PersonRef.person_id, PersonRef.region_code).where(PersonRef.person_id.in_({s.person_id for s in due if s.person_id}))
    )).all())
    claimed = set((await session.execute(
        update(Sample).where(Sample.id.in_([s.id for s in due]), Sample.retest_overdue_at.is_(None))
        .values(retest_overdue_at=now).returning(Sample.id).execution_options(synchronize_session=False)
    )).scalars())
    await outbox.add_many(session, [
        (RetestOverdue(sample_id=s.id, person_id=s.person_id, id_number_index=s.id_number_index,
                       region_code=regions.get(s.person_id), collected_at=s.collected_at, retest_due_by=s.retest_due_by), s.id)
        for s in due if s.id in claimed
    ])
    await session.commit()
    return len(claimed)
