"""A long bulk write keeps the planner's statistics of the tables it grows (PostgreSQL's ANALYZE every so many rows,
when they are a fifth of the table)."""

from __future__ import annotations

from sqlalchemy import Integer, insert, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cordon.db import Statistics, create_engine, create_sessionmaker, is_postgres, new_metadata


class Base(DeclarativeBase):
    metadata = new_metadata()


class Grown(Base):
    __tablename__ = "grown_row"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)


async def _planner_rows(session) -> float | None:
    """What the planner believes the table holds: pg_class.reltuples, -1 until the table is first analyzed."""
    if not is_postgres(session):
        return None
    return (await session.execute(text("SELECT reltuples FROM pg_class WHERE relname = 'grown_row'"))).scalar()


async def test_statistics_are_taken_once_every_so_many_rows(databases):
    engine = create_engine(await databases.new("statistics"))
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    statistics = Statistics("grown_row", every=100)
    try:
        async with create_sessionmaker(engine)() as session:
            await session.execute(insert(Grown), [{"id": i} for i in range(60)])
            await statistics.grew(session, 60)
            before = await _planner_rows(session)
            await session.execute(insert(Grown), [{"id": i} for i in range(60, 120)])
            await statistics.grew(session, 60)  # 120 rows since the last look: past 100
            after = await _planner_rows(session)
            await session.execute(insert(Grown), [{"id": i} for i in range(120, 150)])
            await statistics.grew(session, 30)  # 30 since: not yet
            later = await _planner_rows(session)
            await session.execute(insert(Grown), [{"id": i} for i in range(150, 250)])
            await statistics.grew(session, 100)  # 130 since: past 100 and a fifth of 120
            grown = await _planner_rows(session)
            big = Statistics("grown_row", every=10)
            await session.execute(insert(Grown), [{"id": i} for i in range(250, 290)])
            await big.grew(session, 40)  # past 10, but less than a fifth of 250: left to autovacuum
            small_share = await _planner_rows(session)
            await session.commit()
    finally:
        await engine.dispose()
    if databases.backend == "postgres":
        assert (before, after, later, grown, small_share) == (-1, 120, 120, 250, 250)
    else:  # SQLite: nothing to do, and nothing goes wrong
        assert (before, after, later, grown, small_share) == (None,) * 5
