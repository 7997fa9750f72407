"""The person projection every consuming service keeps: the newest announcement wins, whatever the order."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import String, Uuid, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cordon import projections
from cordon.contracts.registry import PersonFacts
from cordon.db import UTCDateTime, create_engine, create_sessionmaker, new_metadata


class Base(DeclarativeBase):
    metadata = new_metadata()


class PersonRef(Base):
    __tablename__ = "person_ref"
    person_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    id_number_index: Mapped[str] = mapped_column(String(64), unique=True)
    region_code: Mapped[str] = mapped_column(String(6))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


T0 = datetime(2026, 3, 1, 8, tzinfo=UTC)


@pytest.fixture
async def sessions(databases):
    engine = create_engine(await databases.new("projections"))
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield create_sessionmaker(engine)
    await engine.dispose()


def facts(person_id, index="idx-1", region="320413") -> PersonFacts:
    return PersonFacts(person_id=person_id, region_code=region, id_number_index=index, id_number_masked="3204**********1234")


async def _rows(sessions):
    async with sessions() as session:
        return {(r.person_id, r.id_number_index, r.region_code, r.updated_at) for r in (await session.execute(select(PersonRef))).scalars()}


async def test_an_older_announcement_after_a_newer_one_changes_nothing(sessions):
    person = uuid.uuid4()
    async with sessions() as session:
        assert await projections.project_person(session, PersonRef, facts(person, region="320413"), at=T0 + timedelta(minutes=5))
        assert not await projections.project_person(session, PersonRef, facts(person, region="110105"), at=T0)
        assert not await projections.project_person(session, PersonRef, facts(person, region="110105"), at=T0 + timedelta(minutes=5))
        await session.commit()
    assert await _rows(sessions) == {(person, "idx-1", "320413", T0 + timedelta(minutes=5))}
    async with sessions() as session:
        assert await projections.project_person(session, PersonRef, facts(person, region="310101"), at=T0 + timedelta(minutes=6))
        await session.commit()
    assert await _rows(sessions) == {(person, "idx-1", "310101", T0 + timedelta(minutes=6))}


async def test_one_id_number_one_person_a_stale_holder_gives_way(sessions):
    old, new = uuid.uuid4(), uuid.uuid4()
    async with sessions() as session:
        await projections.project_person(session, PersonRef, facts(old), at=T0)
        await projections.project_person(session, PersonRef, facts(new), at=T0 + timedelta(seconds=1))
        await session.commit()
    assert await _rows(sessions) == {(new, "idx-1", "320413", T0 + timedelta(seconds=1))}
