"""Keyset pages over a real database: every row once, in order, ties broken by the last column."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Integer, String, Uuid, insert, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cordon import paging
from cordon.db import UTCDateTime, create_engine, create_sessionmaker, new_metadata


class Base(DeclarativeBase):
    metadata = new_metadata()


class Row(Base):
    __tablename__ = "paged_row"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    rank: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(10))


T0 = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
async def session(databases):
    engine = create_engine(await databases.new("paging"))
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    rows = [{"id": uuid.uuid4(), "at": T0 + timedelta(minutes=i // 3), "rank": i, "label": f"r{i % 4}"} for i in range(23)]
    sessions = create_sessionmaker(engine)
    async with sessions() as session:
        await session.execute(insert(Row), rows)
        await session.commit()
        yield session
    await engine.dispose()


async def _all_pages(session, query, order, *, limit, descending=False) -> list[Row]:
    seen, cursor = [], None
    while True:
        page = await paging.keyset(session, query, order=order, limit=limit, cursor=cursor, descending=descending)
        assert len(page.items) <= limit
        seen += page.items
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


@pytest.mark.parametrize("limit", [1, 4, 23, 50])
@pytest.mark.parametrize("descending", [False, True])
async def test_pages_cover_every_row_once_in_order(session, limit, descending):
    order = (Row.at, Row.id)
    seen = await _all_pages(session, select(Row), order, limit=limit, descending=descending)
    every = list((await session.execute(select(Row))).scalars())
    expected = sorted(every, key=lambda r: (r.at, r.id), reverse=descending)
    assert [r.id for r in seen] == [r.id for r in expected]


async def test_several_columns_and_a_filter(session):
    query = select(Row.label, Row.rank).where(Row.label != "r0")
    seen = await _all_pages(session, query, (Row.label, Row.rank), limit=5)
    assert [(r.label, r.rank) for r in seen] == sorted((f"r{i % 4}", i) for i in range(23) if i % 4)


async def test_a_cursor_of_another_shape_is_refused(session):
    page = await paging.keyset(session, select(Row), order=(Row.rank,), limit=2, cursor=None)
    with pytest.raises(paging.CursorInvalid):
        await paging.keyset(session, select(Row), order=(Row.at, Row.id), limit=2, cursor=page.next_cursor)
