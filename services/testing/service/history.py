"""A person's tests, newest first, paged on (collected_at, id)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cordon import paging
from services.testing.models import Sample


async def list_tests(
    *, session: AsyncSession, person_id: uuid.UUID, limit: int, cursor: str | None
) -> paging.Page[Sample]:
    query = select(Sample).where(Sample.person_id == person_id)
    order = (Sample.collected_at, Sample.id)
    return await paging.keyset(session, query, order=order, limit=limit, cursor=cursor, descending=True)
