"""A person's tests, newest first, paged by an opaque keyset cursor on (collected_at, id)."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cordon.errors import Unprocessable
from services.testing.models import Sample


def encode_cursor(*parts: object) -> str:
    return base64.urlsafe_b64encode("|".join(str(p) for p in parts).encode()).decode()


def decode_cursor(cursor: str, count: int) -> list[str]:
    try:
        parts = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
    except (ValueError, UnicodeDecodeError):
        parts = []
    if len(parts) != count:
        raise Unprocessable("The cursor is not one this list gave.", code="cursor_invalid")
    return parts


async def list_tests(
    *, session: AsyncSession, person_id: uuid.UUID, limit: int, cursor: str | None
) -> tuple[list[Sample], str | None]:
    query = select(Sample).where(Sample.person_id == person_id)
    if cursor:
        at, last = decode_cursor(cursor, 2)
        try:
            at, last = datetime.fromisoformat(at), uuid.UUID(last)
        except ValueError:
            raise Unprocessable("The cursor is not one this list gave.", code="cursor_invalid") from None
        query = query.where(or_(Sample.collected_at < at, and_(Sample.collected_at == at, Sample.id < last)))
    rows = (await session.execute(query.order_by(Sample.collected_at.desc(), Sample.id.desc()).limit(limit + 1))).scalars().all()
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(rows[-1].collected_at.isoformat(), rows[-1].id) if more else None)
